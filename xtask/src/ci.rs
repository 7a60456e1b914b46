//! `cargo xtask ci`: exactly what CI runs, in order, failing fast.

use std::time::{Duration, Instant};

use crate::{
    Result, cmd, contract, guides, hygiene, layering, moto, msrv, openbao, package, tinyproxy,
    twilio_node,
};

/// The names of the steps, in the order they run (the cheapest first).
pub(crate) const STEPS: [&str; 12] = [
    "hygiene",
    "fmt",
    "clippy",
    "test",
    "doc",
    "layering",
    "features",
    "guides",
    "package",
    "msrv",
    "contract",
    "twilio-node",
];

/// Options of `cargo xtask ci`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Steps left out (local iteration only; refused when `CI=true`).
    pub(crate) skip: Vec<&'static str>,
    /// Options passed on to the contract step.
    pub(crate) contract: contract::Options,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut skip = Vec::new();
        let mut contract_args = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--skip-contract" => skip.push("contract"),
                "--skip" => {
                    let name = iter.next().ok_or("--skip needs a step name")?;
                    let step = STEPS.iter().find(|s| *s == name).ok_or_else(|| {
                        format!(
                            "--skip: unknown step `{name}` (steps: {})",
                            STEPS.join(", ")
                        )
                    })?;
                    skip.push(*step);
                }
                "--dynamic-runs" => {
                    contract_args.push(arg.clone());
                    contract_args.push(iter.next().cloned().ok_or("--dynamic-runs needs a value")?);
                }
                other => return Err(format!("ci: unknown option `{other}`")),
            }
        }
        Ok(Self {
            skip,
            contract: contract::Options::parse(&contract_args)?,
        })
    }
}

/// Runs step `name`.
fn run_one(name: &str, options: &Options) -> Result<()> {
    match name {
        "hygiene" => {
            println!("\n==> [hygiene] README commands, no credentials or build output in git");
            hygiene::run()
        }
        "fmt" => cmd::run_step(name, &mut cmd::cargo(["fmt", "--all", "--", "--check"])).map(drop),
        "clippy" => cmd::run_step(
            name,
            &mut cmd::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
        )
        .map(drop),
        "test" => {
            // Tests start real servers: OpenBao for the Vault store, moto for the AWS Secrets
            // Manager store, tinyproxy for the transport's proxy tests. Installed first
            // (pinned, into .tools/), found by path.
            let bao = openbao::ensure_installed()?;
            let moto = moto::ensure_installed()?;
            let proxy = tinyproxy::ensure_installed()?;
            let mut test = cmd::cargo(["test", "--workspace", "--all-features"]);
            test.env(openbao::ENV, bao);
            test.env(moto::ENV, moto);
            test.env(tinyproxy::ENV, proxy);
            cmd::run_step(name, &mut test).map(drop)
        }
        "doc" => {
            let mut doc = cmd::cargo(["doc", "--workspace", "--no-deps", "--all-features"]);
            doc.env("RUSTDOCFLAGS", "-Dwarnings");
            cmd::run_step(name, &mut doc).map(drop)
        }
        "layering" => {
            println!("\n==> [layering] cargo tree checks");
            layering::run()
        }
        "features" => {
            // The transport and the endpoint crate without the built-in HTTPS client: they
            // build, and the endpoint crate's tests that need no default client pass.
            cmd::run_step(
                name,
                &mut cmd::cargo([
                    "build",
                    "-p",
                    "twilio-transport",
                    "-p",
                    "twilio-accounts",
                    "--no-default-features",
                ]),
            )?;
            cmd::run_step(
                name,
                // Unit and integration tests; the doctests show the default client.
                &mut cmd::cargo([
                    "test",
                    "-p",
                    "twilio-accounts",
                    "--no-default-features",
                    "--lib",
                    "--tests",
                ]),
            )?;
            // The command line as installed: default features, no test hook (the `test` step
            // builds it with `test-hooks`, for the crash tests).
            cmd::run_step(
                name,
                &mut cmd::cargo(["test", "-p", "twilio-rotate", "--test", "cli"]),
            )
            .map(drop)
        }
        "guides" => {
            println!("\n==> [guides] every page's examples with its own [dependencies] block");
            guides::run()
        }
        "package" => {
            println!("\n==> [package] every publishable crate tests itself from its .crate");
            package::run()
        }
        "msrv" => {
            println!("\n==> [msrv] the workspace builds with the declared rust-version");
            msrv::run().map(drop)
        }
        "contract" => {
            println!("\n==> [contract] cargo xtask contract");
            contract::run(&options.contract).map_err(|e| format!("step `contract` failed: {e}"))
        }
        "twilio-node" => {
            println!("\n==> [twilio-node] cargo xtask twilio-node");
            twilio_node::run().map_err(|e| format!("step `twilio-node` failed: {e}"))
        }
        other => Err(format!("no such step `{other}`")),
    }
}

/// CI (`CI=true`, as `.ci/run` is run) never leaves a step out.
fn check_skips(ci_env: Option<&str>, skip: &[&str]) -> Result<()> {
    let in_ci = ci_env.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if in_ci && !skip.is_empty() {
        return Err(format!(
            "CI=true: every step runs in CI, refusing to skip {}",
            skip.join(", ")
        ));
    }
    Ok(())
}

pub(crate) fn run(options: &Options) -> Result<()> {
    check_skips(std::env::var("CI").ok().as_deref(), &options.skip)?;
    let started = Instant::now();
    let mut timings: Vec<(&str, Option<Duration>)> = Vec::new();
    // Steps that ran but could not verify on this machine (said loudly, not a failure).
    let mut unverified: Vec<String> = Vec::new();
    for step in STEPS {
        if options.skip.contains(&step) {
            println!("\n==> [{step}] SKIPPED (--skip {step}); CI runs it");
            timings.push((step, None));
            continue;
        }
        let step_started = Instant::now();
        if step == "msrv" {
            println!("\n==> [msrv] the workspace builds with the declared rust-version");
            if let msrv::Verdict::Skipped(why) = msrv::run()? {
                unverified.push(format!("msrv: {why}"));
            }
        } else {
            run_one(step, options)?;
        }
        timings.push((step, Some(step_started.elapsed())));
    }

    let skipped = timings.iter().filter(|(_, t)| t.is_none()).count();
    if skipped == 0 {
        println!("\n==> ci passed in {}", cmd::human(started.elapsed()));
    } else {
        println!(
            "\n==> ci passed in {} with {skipped} step(s) SKIPPED: not a full CI run",
            cmd::human(started.elapsed())
        );
    }
    for (step, took) in timings {
        let took = took.map_or_else(|| "skipped".to_owned(), cmd::human);
        println!("    {step:<10} {took}");
    }
    for note in unverified {
        println!("    NOT VERIFIED on this machine: {note}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_options() {
        let default = Options::parse(&[]).unwrap();
        assert!(default.skip.is_empty());
        assert_eq!(default.contract, contract::Options::default());

        let o = Options::parse(&args(&["--skip-contract", "--dynamic-runs", "5"])).unwrap();
        assert_eq!(o.skip, ["contract"]);
        assert_eq!(o.contract.dynamic_runs, 5);

        let o = Options::parse(&args(&["--skip", "fmt", "--skip", "doc"])).unwrap();
        assert_eq!(o.skip, ["fmt", "doc"]);

        assert!(Options::parse(&args(&["--skip", "lint"])).is_err());
        assert!(Options::parse(&args(&["--skip"])).is_err());
        assert!(Options::parse(&args(&["--dynamic-runs"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn ci_never_skips() {
        assert!(check_skips(Some("true"), &["contract"]).is_err());
        assert!(check_skips(Some("1"), &["fmt"]).is_err());
        assert!(check_skips(Some("true"), &[]).is_ok());
        assert!(check_skips(None, &["contract"]).is_ok());
        assert!(check_skips(Some("false"), &["contract"]).is_ok());
    }

    /// The cheap `hygiene` step passes on this workspace, and every step can be named
    /// in `--skip`.
    #[test]
    fn hygiene_step_passes_and_steps_are_skippable() {
        let options = Options::parse(&[]).unwrap();
        assert_eq!(run_one("hygiene", &options), Ok(()));
        for step in STEPS {
            assert!(Options::parse(&args(&["--skip", step])).is_ok(), "{step}");
        }
    }

    #[test]
    fn unknown_steps_are_refused() {
        let options = Options::parse(&[]).unwrap();
        assert_eq!(
            run_one("lint", &options),
            Err("no such step `lint`".to_owned())
        );
    }
}
