//! `cargo xtask contract`: every Accounts v1 operation of the SDK, checked against Twilio's
//! OpenAPI document by a pinned Prism (CONTRACT.md §11).
//!
//! 1. `prism mock` on a temporary copy of the spec (plus only the three form `encoding`
//!    objects, and our own fragment for the Compliance Signals check, merged in by
//!    `crate::spec_extension`): each of the 21 operations with every optional parameter set
//!    and with none;
//!    Prism must accept every request (a 4xx fails, with Prism's problem+json printed) and the
//!    SDK must decode every response.
//! 2. The same mock with `Prefer: dynamic=true`: random schema-valid responses, many per
//!    operation, every one must decode.
//! 3. `prism proxy --errors` in front of the in-process `twilio-emulator`: every operation on
//!    its success path; a response that breaks the spec (Prism's 500 with `sl-violations`)
//!    fails.

mod calls;
pub(crate) mod observe;
mod ops;
mod report;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::prism::{self, Prism, TempDir};
use crate::{Result, cmd, spec_extension, spec_patch};

use observe::Exchange;
use ops::Op;
use report::Report;

/// Options of `cargo xtask contract`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Dynamic (`Prefer: dynamic=true`) calls per operation.
    pub(crate) dynamic_runs: usize,
    /// Print every request and response status of the mock and proxy runs.
    pub(crate) verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dynamic_runs: 30,
            verbose: false,
        }
    }
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--dynamic-runs" => {
                    options.dynamic_runs = crate::parse_count("--dynamic-runs", iter.next())?;
                }
                "--verbose" | "-v" => options.verbose = true,
                other => return Err(format!("contract: unknown option `{other}`")),
            }
        }
        Ok(options)
    }
}

/// A call that takes longer than this fails (Prism and the emulator answer in milliseconds).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    let bin = prism::ensure_installed()?;

    let temp = TempDir::new("contract")?;
    let spec = temp.path().join("twilio_accounts_v1.json");
    let vendored_path = crate::workspace_root().join("spec/twilio_accounts_v1.json");
    let vendored = std::fs::read_to_string(&vendored_path)
        .map_err(|e| format!("could not read {}: {e}", vendored_path.display()))?;
    let mut copy: serde_json::Value = serde_json::from_str(&spec_patch::patched_copy(&vendored)?)
        .map_err(|e| format!("the patched spec is not JSON: {e}"))?;
    spec_extension::merge_all(&mut copy)?;
    let text = serde_json::to_string_pretty(&copy)
        .map_err(|e| format!("could not serialize the spec copy: {e}"))?;
    std::fs::write(&spec, text).map_err(|e| format!("could not write {}: {e}", spec.display()))?;
    println!(
        "    spec copy {} (vendored spec + form encodings for Items, Items, Permissions \
         + our fragment {})",
        spec.display(),
        spec_extension::FRAGMENTS.join(", ")
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("could not start a tokio runtime: {e}"))?;
    let mut report = Report::default();

    {
        let mock = Prism::start("prism mock", &bin, |port| mock_args(port, &spec))?;
        runtime.block_on(calls::mock_checks(mock.base_url(), options, &mut report))?;
    }
    // A proxy set-up failure still shows the mock results first.
    let proxy_setup = runtime.block_on(calls::proxy_checks(&bin, &spec, options, &mut report));
    drop(runtime);

    println!("\n{}", report.render());
    println!(
        "    Prism {} · {} dynamic responses per operation · {}",
        prism::PRISM_VERSION,
        options.dynamic_runs,
        cmd::human(started.elapsed())
    );
    proxy_setup?;
    if report.passed() {
        println!(
            "    contract check passed: all {} operations (20 of Twilio's spec, 1 of our extension)",
            Op::ALL.len()
        );
        return Ok(());
    }
    eprintln!("\ncontract failures:");
    for failure in report.failures() {
        eprintln!("  - {failure}");
    }
    let not_run = report.not_run();
    for (op, check) in &not_run {
        eprintln!("  - {} [{}]: not run", op.id(), check.label());
    }
    Err(format!(
        "the contract check failed: {} failure(s), {} check(s) not run (listed above)",
        report.failures().len(),
        not_run.len()
    ))
}

fn mock_args(port: u16, spec: &Path) -> Vec<String> {
    vec![
        "mock".into(),
        "-h".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        spec.display().to_string(),
    ]
}

fn proxy_args(port: u16, spec: &Path, upstream: &str) -> Vec<String> {
    vec![
        "proxy".into(),
        "-h".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "--errors".into(),
        spec.display().to_string(),
        upstream.to_owned(),
    ]
}

/// Judges one SDK call of `op` from its result and what went over the wire: the SDK must
/// have succeeded, at least one request must have been sent, every request must be a call
/// of `op`, and no exchange may carry a Prism error status or `sl-violations`.
pub(crate) fn verdict<T, E>(op: Op, sdk: &Result<T, E>, exchanges: &[Exchange]) -> Result<()>
where
    E: std::error::Error,
{
    let mut problems = Vec::new();
    if exchanges.is_empty() {
        problems.push("no request was sent".to_owned());
    }
    for exchange in exchanges {
        if !op.matches(&exchange.method, &exchange.path_and_query) {
            let (_, method, path) = op.spec();
            problems.push(format!(
                "sent {} {} instead of {method} {path}",
                exchange.method, exchange.path_and_query
            ));
        }
        if let Some(problem) = exchange.problem() {
            problems.push(problem);
        }
    }
    if let Err(e) = sdk {
        let mut message = format!("SDK error: {}", error_chain(e));
        // The body the SDK could not use (Prism's dynamic responses are random: keep it).
        if let Some(last) = exchanges.last().filter(|e| e.problem().is_none()) {
            message.push_str(&format!(
                "\n      {} {} answered {}: {}",
                last.method, last.path_and_query, last.status, last.response_body
            ));
        }
        problems.insert(0, message);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

/// `outer: cause: root cause`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("response did not decode")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("field `sid`: bad prefix")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    fn exchange(method: &str, path: &str, status: u16) -> Exchange {
        Exchange {
            method: method.into(),
            path_and_query: path.into(),
            request_body: String::new(),
            status,
            violations: None,
            response_body: String::new(),
        }
    }

    #[test]
    fn a_clean_call_passes() {
        let ok: Result<(), Outer> = Ok(());
        let ex = [exchange("GET", "/v1/Credentials/AWS?PageSize=50", 200)];
        assert_eq!(verdict(Op::ListCredentialAws, &ok, &ex), Ok(()));
    }

    #[test]
    fn sdk_errors_show_their_causes() {
        let err: Result<(), Outer> = Err(Outer(Inner));
        let ex = [exchange("GET", "/v1/Credentials/AWS", 200)];
        let why = verdict(Op::ListCredentialAws, &err, &[]).unwrap_err();
        assert_eq!(
            why,
            "SDK error: response did not decode: field `sid`: bad prefix\n    no request was sent"
        );
        let mut ex = ex;
        ex[0].response_body = r#"{"credentials":[{"sid":"XX"}]}"#.into();
        let why = verdict(Op::ListCredentialAws, &err, &ex).unwrap_err();
        assert_eq!(
            why,
            "SDK error: response did not decode: field `sid`: bad prefix\n      \
             GET /v1/Credentials/AWS answered 200: {\"credentials\":[{\"sid\":\"XX\"}]}"
        );
    }

    #[test]
    fn wrong_operation_missing_request_and_prism_errors_fail() {
        let ok: Result<(), Outer> = Ok(());
        assert!(
            verdict(Op::ListCredentialAws, &ok, &[])
                .unwrap_err()
                .contains("no request")
        );
        let wrong = [exchange("POST", "/v1/Credentials/AWS", 201)];
        assert!(
            verdict(Op::ListCredentialAws, &ok, &wrong)
                .unwrap_err()
                .contains("instead of GET /v1/Credentials/AWS")
        );
        let rejected = [exchange("GET", "/v1/Credentials/AWS?PageSize=0", 422)];
        assert!(
            verdict(Op::ListCredentialAws, &ok, &rejected)
                .unwrap_err()
                .contains("HTTP 422")
        );
    }

    #[test]
    fn prism_arguments() {
        let spec = Path::new("/tmp/s.json");
        assert_eq!(
            mock_args(4010, spec).join(" "),
            "mock -h 127.0.0.1 -p 4010 /tmp/s.json"
        );
        assert_eq!(
            proxy_args(4011, spec, "http://127.0.0.1:9").join(" "),
            "proxy -h 127.0.0.1 -p 4011 --errors /tmp/s.json http://127.0.0.1:9"
        );
    }

    #[test]
    fn parses_options() {
        assert_eq!(Options::parse(&[]).unwrap().dynamic_runs, 30);
        let o = Options::parse(&["--dynamic-runs".to_owned(), "3".to_owned()]).unwrap();
        assert_eq!(o.dynamic_runs, 3);
        assert!(!o.verbose);
        assert!(Options::parse(&["-v".to_owned()]).unwrap().verbose);
        assert!(Options::parse(&["--x".to_owned()]).is_err());
    }
}
