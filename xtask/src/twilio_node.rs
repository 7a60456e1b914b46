//! `cargo xtask twilio-node` (a step of `cargo xtask ci`): the Compliance Signals check
//! proved against the official SDK.
//!
//! No OpenAPI document Twilio has published describes `POST /v1/ComplianceSignals/Check`;
//! twilio-node 6.3.1 is the only reference. So this step installs exactly that version
//! (`xtask/twilio-node/package.json` and its `package-lock.json`, `npm ci` into
//! `.tools/twilio-node`), starts the `twilio-emulator` binary on 127.0.0.1 (a fixed clock,
//! then `--force-quiet-hours on`), runs `client.accounts.v1.complianceSignalsCheck.create()`
//! for every case of [`cases`] through `xtask/twilio-node/compliance_signals.js`, and checks:
//!
//! 1. what twilio-node reads back is what the case expects (quiet hours on and off, a
//!    sending window set and null, a location the table does not know, Twilio 400s);
//! 2. our client (`twilio-accounts`), given the same case, reads back the same values, or,
//!    for input it checks itself, refuses it before sending, naming the field.
//!
//! Fails loudly (never skips) when node or npm is missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use twilio_accounts::compliance_signals::{Channel, Signal, UseCase};
use twilio_accounts::{Client, E164, Error};
use twilio_transport::{Credentials, RetryConfig};
use twilio_types::{AccountSid, AuthToken};

use crate::{Result, cmd, prism};

/// The twilio-node version the proof pins (also in `xtask/twilio-node/package.json`).
pub(crate) const TWILIO_NODE_VERSION: &str = "6.3.1";
/// The fixed clock of the emulator: 12:00 in California, 15:00 in New York.
pub(crate) const CLOCK: &str = "2026-11-28T20:00:00Z";
const ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// A local test credential of the emulator process (not 32 hex digits, so it never looks
/// like a real Twilio token).
const TOKEN: &str = "twilio-node-proof-local-token";
/// How long the emulator binary may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The committed package folder, `xtask/twilio-node`.
fn package_dir() -> PathBuf {
    crate::workspace_root().join("xtask").join("twilio-node")
}

/// The install folder, `<workspace>/.tools/twilio-node`.
fn install_dir() -> PathBuf {
    crate::workspace_root().join(".tools").join("twilio-node")
}

/// What a case must read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expect {
    /// A 201 answer with these quiet-hours values.
    Answer {
        active: bool,
        reason: &'static str,
        use_case: Option<&'static str>,
        state: Option<&'static str>,
        window: Option<(&'static str, &'static str)>,
    },
    /// A Twilio 400 (code 20001) whose message mentions `mentions`. Our client either sends
    /// the request and must read the same error (`refused_by_us: None`) or refuses it before
    /// sending, naming that field.
    Error {
        mentions: &'static str,
        refused_by_us: Option<&'static str>,
    },
}

/// One call of the proof.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// The twilio-node `create()` argument (the JSON body, camelCase).
    pub(crate) params: Value,
    /// Whether it runs against the emulator started with `--force-quiet-hours on`.
    pub(crate) forced: bool,
    pub(crate) expect: Expect,
}

fn params(extra: Value) -> Value {
    let mut p = json!({"signals": ["QUIET_HOURS"], "to": "+14155552671", "countryIsoCode": "US"});
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

fn answer(
    active: bool,
    reason: &'static str,
    use_case: Option<&'static str>,
    state: Option<&'static str>,
    window: Option<(&'static str, &'static str)>,
) -> Expect {
    Expect::Answer {
        active,
        reason,
        use_case,
        state,
        window,
    }
}

/// The table of cases (the emulator's clock is [`CLOCK`]).
pub(crate) fn cases() -> Vec<Case> {
    let case = |name, params, expect| Case {
        name,
        params,
        forced: false,
        expect,
    };
    vec![
        case(
            "quiet hours on: marketing scheduled at 22:30 in California",
            params(json!({"useCase": "MARKETING", "sendAt": "2026-11-29T06:30:00Z"})),
            answer(
                true,
                "QUIET_HOURS_ACTIVE",
                Some("non-essential"),
                Some("CA"),
                Some(("2026-11-29T16:00:00Z", "2026-11-30T05:00:00Z")),
            ),
        ),
        case(
            "quiet hours off: marketing now, noon in California",
            params(json!({"useCase": "MARKETING", "channel": "SMS"})),
            answer(
                false,
                "OUTSIDE_QUIET_HOURS",
                Some("non-essential"),
                Some("CA"),
                Some(("2026-11-28T20:00:00Z", "2026-11-29T05:00:00Z")),
            ),
        ),
        case(
            "sendingWindow null: a one-time password at night is exempt",
            params(json!({"useCase": "OTP", "channel": "RCS", "sendAt": "2026-11-29T06:30:00Z"})),
            answer(
                false,
                "USE_CASE_EXEMPT",
                Some("essential"),
                Some("CA"),
                None,
            ),
        ),
        case(
            "a body without use case, a New York ZIP, sendAt with an offset",
            params(
                json!({"body": "Weekend sale: 20% off", "zipCode": "10001-1234",
                          "sendAt": "2026-11-28T21:30:00-05:00"}),
            ),
            answer(
                true,
                "QUIET_HOURS_ACTIVE",
                Some("non-essential"),
                Some("NY"),
                Some(("2026-11-29T13:00:00Z", "2026-11-30T02:00:00Z")),
            ),
        ),
        case(
            "an area code the emulator cannot place",
            params(json!({"to": "+19995550100", "useCase": "EVENTS"})),
            answer(false, "LOCATION_UNKNOWN", None, None, None),
        ),
        case(
            "validation error: sendAt in the past",
            params(json!({"useCase": "MARKETING", "sendAt": "2026-11-28T19:00:00Z"})),
            Expect::Error {
                mentions: "sendAt",
                refused_by_us: None,
            },
        ),
        case(
            "validation error: to is not E.164",
            params(json!({"to": "4155552671", "useCase": "MARKETING"})),
            Expect::Error {
                mentions: "to",
                refused_by_us: Some("to"),
            },
        ),
        case(
            "validation error: neither body nor useCase",
            params(json!({})),
            Expect::Error {
                mentions: "body or useCase",
                refused_by_us: Some("body"),
            },
        ),
        case(
            "validation error: a body over 1600 characters",
            params(json!({"body": "x".repeat(1601)})),
            Expect::Error {
                mentions: "body",
                refused_by_us: Some("body"),
            },
        ),
        Case {
            name: "forced on (--force-quiet-hours on) at noon",
            params: params(json!({"useCase": "MARKETING"})),
            forced: true,
            expect: answer(
                true,
                "FORCED_BY_EMULATOR",
                Some("non-essential"),
                Some("CA"),
                None,
            ),
        },
    ]
}

/// Checks one result as twilio-node (or our client, normalised alike) read it.
pub(crate) fn check_expected(expect: &Expect, got: &Value) -> Result<()> {
    match expect {
        Expect::Answer {
            active,
            reason,
            use_case,
            state,
            window,
        } => {
            let quiet = &got["ok"]["signals"]["quietHours"];
            let expected = json!({
                "isActive": active,
                "reason": reason,
                "evaluatedUseCase": use_case,
                "location": {"countryIsoCode": "US", "stateCode": state},
                "sendingWindow": window.map(|(start, end)| json!({"startAt": start, "endAt": end})),
            });
            if *quiet == expected {
                Ok(())
            } else {
                Err(format!("expected quietHours {expected}, got {got}"))
            }
        }
        Expect::Error { mentions, .. } => {
            let error = &got["error"];
            let message = error["message"].as_str().unwrap_or_default();
            if error["status"] == 400 && error["code"] == 20001 && message.contains(mentions) {
                Ok(())
            } else {
                Err(format!(
                    "expected a 400 with code 20001 mentioning `{mentions}`, got {got}"
                ))
            }
        }
    }
}

pub(crate) fn run() -> Result<()> {
    let modules = ensure_installed()?;
    let emulator_bin = build_emulator()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start a tokio runtime: {e}"))?;

    let cases = cases();
    let mut failures = Vec::new();
    for forced in [false, true] {
        let selected: Vec<&Case> = cases.iter().filter(|c| c.forced == forced).collect();
        let mut args = vec!["--compliance-clock", CLOCK];
        if forced {
            args.extend(["--force-quiet-hours", "on"]);
        }
        let emulator = EmulatorProcess::start(&emulator_bin, &args)?;
        let node = run_node(&modules, emulator.base_url(), &selected)?;
        for (case, node_result) in selected.iter().zip(&node) {
            let ours = runtime.block_on(our_call(emulator.base_url(), &case.params));
            let verdict = compare(case, node_result, &ours);
            match &verdict {
                Ok(()) => println!("    ok      {}", case.name),
                Err(_) => println!("    FAILED  {}", case.name),
            }
            if let Err(why) = verdict {
                failures.push(format!("{}: {why}", case.name));
            }
        }
    }
    if failures.is_empty() {
        println!(
            "    twilio-node {TWILIO_NODE_VERSION} and twilio-accounts agree on all {} cases",
            cases.len()
        );
        Ok(())
    } else {
        Err(format!(
            "the twilio-node proof failed:\n  - {}",
            failures.join("\n  - ")
        ))
    }
}

/// Judges one case: twilio-node's result against the expectation, ours against twilio-node's.
pub(crate) fn compare(case: &Case, node: &Value, ours: &Ours) -> Result<()> {
    if node["name"] != case.name {
        return Err(format!("twilio-node answered for {} instead", node["name"]));
    }
    check_expected(&case.expect, node).map_err(|e| format!("twilio-node: {e}"))?;
    match (&case.expect, ours) {
        (
            Expect::Error {
                refused_by_us: Some(field),
                ..
            },
            Ours::Refused(ours_field),
        ) if field == ours_field => Ok(()),
        (
            Expect::Error {
                refused_by_us: Some(field),
                ..
            },
            other,
        ) => Err(format!(
            "our client should refuse `{field}` before sending, got {other:?}"
        )),
        (_, Ours::Read(value)) => {
            let node_view = node.get("ok").or_else(|| node.get("error"));
            let our_view = value.get("ok").or_else(|| value.get("error"));
            if node_view == our_view && node_view.is_some() {
                Ok(())
            } else {
                Err(format!("our client read {value}, twilio-node read {node}"))
            }
        }
        (_, other) => Err(format!("our client: {other:?}")),
    }
}

/// What our client did with a case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ours {
    /// It sent the request and read `{"ok": …}` or `{"error": …}`, shaped as twilio-node's.
    Read(Value),
    /// It refused the input before sending, naming this field.
    Refused(String),
    /// Anything else (transport failure, decode error).
    Failed(String),
}

/// The same case through `twilio-accounts`.
async fn our_call(base_url: &str, params: &Value) -> Ours {
    let client = match our_client(base_url) {
        Ok(client) => client,
        Err(e) => return Ours::Failed(e),
    };
    let text = |name: &str| params.get(name).and_then(Value::as_str);
    let mut b = client.compliance_signals_check().create();
    for signal in params["signals"].as_array().into_iter().flatten() {
        b = b.signal(Signal::from(signal.as_str().unwrap_or_default()));
    }
    if let Some(to) = text("to") {
        match E164::parse(to) {
            Ok(to) => b = b.to(to),
            Err(_) => return Ours::Refused("to".to_owned()),
        }
    }
    if let Some(country) = text("countryIsoCode") {
        b = b.country_iso_code(country);
    }
    if let Some(body) = text("body") {
        b = b.body(body);
    }
    if let Some(use_case) = text("useCase") {
        b = b.use_case(UseCase::from(use_case));
    }
    if let Some(channel) = text("channel") {
        b = b.channel(Channel::from(channel));
    }
    if let Some(zip) = text("zipCode") {
        b = b.zip_code(zip);
    }
    if let Some(at) = text("sendAt") {
        match OffsetDateTime::parse(at, &Rfc3339) {
            Ok(at) => b = b.send_at(at),
            Err(e) => return Ours::Failed(format!("sendAt {at}: {e}")),
        }
    }
    match b.send().await {
        Ok(answer) => Ours::Read(json!({ "ok": our_view(&answer) })),
        Err(Error::Api(e)) => Ours::Read(json!({"error": {
            "status": e.status().as_u16(),
            "code": e.code(),
            "message": e.message(),
        }})),
        Err(Error::Build(e)) => Ours::Refused(e.field().unwrap_or_default().to_owned()),
        Err(other) => Ours::Failed(crate::contract::error_chain(&other)),
    }
}

fn our_client(base_url: &str) -> Result<Client> {
    let account = AccountSid::parse(ACCOUNT).map_err(|e| e.to_string())?;
    let token = AuthToken::new(TOKEN).map_err(|e| e.to_string())?;
    let credentials = Credentials::from_auth_token(account, token).map_err(|e| e.to_string())?;
    // xtask builds the SDK without its default HTTPS client: plain HTTP/1.1 to 127.0.0.1
    // through the contract check's hyper-util transport.
    Client::builder()
        .credentials(credentials)
        .base_url(base_url)
        .retry(RetryConfig::disabled())
        .transport(crate::contract::observe::Observed::new(false))
        .build()
        .map_err(|e| crate::contract::error_chain(&e))
}

/// Our typed answer, written back in the wire's shape so it compares with twilio-node's.
fn our_view(answer: &twilio_accounts::model::ComplianceSignalsCheck) -> Value {
    let Some(signals) = &answer.signals else {
        return json!({"signals": null});
    };
    let Some(q) = &signals.quiet_hours else {
        return json!({"signals": {"quietHours": null}});
    };
    let time = |t: &Option<OffsetDateTime>| t.as_ref().map(twilio_types::timestamp::format);
    json!({"signals": {"quietHours": {
        "isActive": q.is_active,
        "reason": q.reason,
        "evaluatedUseCase": q.evaluated_use_case.as_ref().map(|c| c.as_str()),
        "location": q.location.as_ref().map(|l| json!({
            "countryIsoCode": l.country_iso_code,
            "stateCode": l.state_code,
        })),
        "sendingWindow": q.sending_window.as_ref().map(|w| json!({
            "startAt": time(&w.start_at),
            "endAt": time(&w.end_at),
        })),
    }}})
}

/// Runs the Node script for `cases`; returns its `results`, one per case, in order.
fn run_node(modules: &Path, base_url: &str, cases: &[&Case]) -> Result<Vec<Value>> {
    let temp = prism::TempDir::new("twilio-node")?;
    let input = temp.path().join("cases.json");
    let payload = json!({
        "baseUrl": base_url,
        "accountSid": ACCOUNT,
        "authToken": TOKEN,
        "cases": cases.iter().map(|c| json!({"name": c.name, "params": c.params})).collect::<Vec<_>>(),
    });
    std::fs::write(&input, payload.to_string())
        .map_err(|e| format!("could not write {}: {e}", input.display()))?;
    let script = package_dir().join("compliance_signals.js");
    let output = Command::new("node")
        .arg(&script)
        .arg(modules)
        .arg(&input)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run node {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "node {} failed ({}):\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let value: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "the Node script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    if value["twilioNodeVersion"] != TWILIO_NODE_VERSION {
        return Err(format!(
            "the Node script ran twilio-node {}, expected {TWILIO_NODE_VERSION}",
            value["twilioNodeVersion"]
        ));
    }
    let results = value["results"].as_array().cloned().unwrap_or_default();
    if results.len() != cases.len() {
        return Err(format!(
            "the Node script answered {} of {} cases",
            results.len(),
            cases.len()
        ));
    }
    Ok(results)
}

/// Installs the pinned twilio-node with `npm ci` from the committed lock file (unless the
/// install folder already holds that lock and version); returns its `node_modules`.
fn ensure_installed() -> Result<PathBuf> {
    let dir = install_dir();
    let modules = dir.join("node_modules");
    let node = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!("`node` not found ({e}); the twilio-node proof needs Node.js and npm")
        })?;
    prism::check_node_version(&String::from_utf8_lossy(&node.stdout))?;
    let lock = package_dir().join("package-lock.json");
    let committed_lock =
        std::fs::read(&lock).map_err(|e| format!("could not read {}: {e}", lock.display()))?;
    let installed_version = std::fs::read_to_string(modules.join("twilio").join("package.json"))
        .ok()
        .and_then(|text| prism::package_version(&text));
    let installed_lock = std::fs::read(dir.join("package-lock.json")).ok();
    if installed_version.as_deref() == Some(TWILIO_NODE_VERSION)
        && installed_lock.as_deref() == Some(committed_lock.as_slice())
    {
        println!(
            "    twilio-node {TWILIO_NODE_VERSION} already installed in {}",
            dir.display()
        );
        return Ok(modules);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(package_dir().join(file), dir.join(file))
            .map_err(|e| format!("could not copy {file} to {}: {e}", dir.display()))?;
    }
    let mut install = Command::new("npm");
    install
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir);
    cmd::run_step("twilio-node: npm ci", &mut install).map_err(|e| {
        format!("{e}\n(the twilio-node proof needs npm and access to the npm registry)")
    })?;
    let installed = std::fs::read_to_string(modules.join("twilio").join("package.json"))
        .ok()
        .and_then(|text| prism::package_version(&text));
    if installed.as_deref() == Some(TWILIO_NODE_VERSION) {
        Ok(modules)
    } else {
        Err(format!(
            "npm ci finished but {} holds twilio {installed:?}, expected {TWILIO_NODE_VERSION}",
            dir.display()
        ))
    }
}

/// Builds the `twilio-emulator` binary and returns its path, as cargo reports it (wherever
/// the target directory is).
fn build_emulator() -> Result<PathBuf> {
    let mut build = cmd::cargo([
        "build",
        "--quiet",
        "--package",
        "twilio-emulator",
        "--bin",
        "twilio-emulator",
        "--message-format=json-render-diagnostics",
    ]);
    let line = cmd::display(&build);
    let output = build
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if !output.status.success() {
        return Err(format!("`{line}` failed ({})", output.status));
    }
    executable_from_messages(&String::from_utf8_lossy(&output.stdout), "twilio-emulator")
        .ok_or_else(|| format!("`{line}` reported no twilio-emulator executable"))
}

/// The `executable` of the `compiler-artifact` message for binary `name`.
pub(crate) fn executable_from_messages(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// The emulator binary, running; killed (and reaped) on drop.
#[derive(Debug)]
struct EmulatorProcess {
    child: Child,
    base_url: String,
}

/// The base URL in the emulator's `… listening on http://127.0.0.1:PORT` line.
pub(crate) fn announced_url(line: &str) -> Option<&str> {
    const MARKER: &str = "listening on ";
    let start = line.find(MARKER)? + MARKER.len();
    line[start..]
        .split_whitespace()
        .next()
        .filter(|url| url.starts_with("http://127.0.0.1:"))
}

impl EmulatorProcess {
    fn start(bin: &Path, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--account-sid",
                ACCOUNT,
                "--auth-token",
                TOKEN,
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("the emulator has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps reading until the process ends, so it never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = announced_url(&line) {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let mut process = Self {
            child,
            base_url: String::new(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                println!("    twilio-emulator {} listening on {url}", args.join(" "));
                process.base_url = url;
                Ok(process)
            }
            Err(_) => Err(format!(
                "{} did not announce its address within {}",
                bin.display(),
                cmd::human(START_TIMEOUT)
            )),
        }
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_what_the_issue_asks() {
        let cases = cases();
        let answers: Vec<&Expect> = cases
            .iter()
            .map(|c| &c.expect)
            .filter(|e| matches!(e, Expect::Answer { .. }))
            .collect();
        let has = |f: &dyn Fn(&Expect) -> bool| answers.iter().any(|e| f(e));
        assert!(has(&|e| matches!(
            e,
            Expect::Answer {
                active: true,
                window: Some(_),
                ..
            }
        )));
        assert!(has(&|e| matches!(
            e,
            Expect::Answer {
                active: false,
                window: Some(_),
                ..
            }
        )));
        assert!(has(&|e| matches!(e, Expect::Answer { window: None, .. })));
        assert!(cases.iter().any(|c| matches!(
            c.expect,
            Expect::Error {
                refused_by_us: None,
                ..
            }
        )));
        assert!(cases.iter().any(|c| matches!(
            c.expect,
            Expect::Error {
                refused_by_us: Some(_),
                ..
            }
        )));
        assert!(cases.iter().any(|c| c.forced));
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.dedup();
        assert_eq!(names.len(), cases.len());
    }

    #[test]
    fn the_package_pins_the_version() {
        let package: Value =
            serde_json::from_str(include_str!("../twilio-node/package.json")).unwrap();
        assert_eq!(package["dependencies"]["twilio"], TWILIO_NODE_VERSION);
        let lock: Value =
            serde_json::from_str(include_str!("../twilio-node/package-lock.json")).unwrap();
        assert_eq!(
            lock["packages"]["node_modules/twilio"]["version"],
            TWILIO_NODE_VERSION
        );
    }

    fn quiet(active: bool, window: Value) -> Value {
        json!({"name": "n", "ok": {"signals": {"quietHours": {
            "isActive": active, "reason": "QUIET_HOURS_ACTIVE", "evaluatedUseCase": "non-essential",
            "location": {"countryIsoCode": "US", "stateCode": "CA"}, "sendingWindow": window}}}})
    }

    fn case(expect: Expect) -> Case {
        Case {
            name: "n",
            params: json!({}),
            forced: false,
            expect,
        }
    }

    #[test]
    fn judges_answers_and_disagreements() {
        let expect = answer(
            true,
            "QUIET_HOURS_ACTIVE",
            Some("non-essential"),
            Some("CA"),
            Some(("a", "b")),
        );
        let node = quiet(true, json!({"startAt": "a", "endAt": "b"}));
        let ours = Ours::Read(json!({"ok": node["ok"].clone()}));
        assert_eq!(compare(&case(expect.clone()), &node, &ours), Ok(()));
        // twilio-node reading something else fails…
        let wrong = quiet(false, json!({"startAt": "a", "endAt": "b"}));
        assert!(
            compare(&case(expect.clone()), &wrong, &ours)
                .unwrap_err()
                .contains("twilio-node")
        );
        // …and so does our client disagreeing with it.
        let differs = Ours::Read(json!({"ok": quiet(true, Value::Null)["ok"].clone()}));
        assert!(
            compare(&case(expect.clone()), &node, &differs)
                .unwrap_err()
                .contains("our client read")
        );
        assert!(compare(&case(expect), &node, &Ours::Refused("to".into())).is_err());
    }

    #[test]
    fn judges_errors() {
        let node = json!({"name": "n", "error": {"status": 400, "code": 20001, "message": "Invalid parameter to: x"}});
        let refused = case(Expect::Error {
            mentions: "to",
            refused_by_us: Some("to"),
        });
        assert_eq!(
            compare(&refused, &node, &Ours::Refused("to".into())),
            Ok(())
        );
        assert!(compare(&refused, &node, &Ours::Refused("body".into())).is_err());
        let sent = case(Expect::Error {
            mentions: "to",
            refused_by_us: None,
        });
        let same = Ours::Read(json!({"error": node["error"].clone()}));
        assert_eq!(compare(&sent, &node, &same), Ok(()));
        let other =
            Ours::Read(json!({"error": {"status": 400, "code": 20001, "message": "other"}}));
        assert!(compare(&sent, &node, &other).is_err());
        let not_400 =
            json!({"name": "n", "error": {"status": 500, "code": 20500, "message": "to"}});
        assert!(compare(&sent, &not_400, &same).is_err());
    }

    #[test]
    fn reads_cargo_and_emulator_output() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"twilio-types"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"twilio-emulator"},"executable":"/t/debug/twilio-emulator"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executable_from_messages(messages, "twilio-emulator"),
            Some(PathBuf::from("/t/debug/twilio-emulator"))
        );
        assert_eq!(executable_from_messages(messages, "xtask"), None);
        assert_eq!(
            announced_url("Twilio Accounts v1 emulator listening on http://127.0.0.1:4010"),
            Some("http://127.0.0.1:4010")
        );
        assert_eq!(announced_url("listening on http://0.0.0.0:1"), None);
        assert_eq!(announced_url("Press Ctrl-C to stop."), None);
    }
}
