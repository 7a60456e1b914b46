//! `cargo xtask ci`: exactly what CI runs, in order, failing fast.

use std::time::{Duration, Instant};

use crate::{Result, cmd, contract, layering};

/// Options of `cargo xtask ci`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Leave out the Prism contract check (local iteration only; CI never sets it).
    pub(crate) skip_contract: bool,
    /// Options passed on to the contract step.
    pub(crate) contract: contract::Options,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut skip_contract = false;
        let mut contract_args = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--skip-contract" => skip_contract = true,
                "--dynamic-runs" => {
                    contract_args.push(arg.clone());
                    contract_args.push(iter.next().cloned().ok_or("--dynamic-runs needs a value")?);
                }
                other => return Err(format!("ci: unknown option `{other}`")),
            }
        }
        Ok(Self {
            skip_contract,
            contract: contract::Options::parse(&contract_args)?,
        })
    }
}

/// The names of the steps, in the order they run.
pub(crate) const STEPS: [&str; 6] = ["fmt", "clippy", "test", "doc", "layering", "contract"];

pub(crate) fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    let mut timings: Vec<(&str, Duration)> = Vec::new();

    timings.push((
        STEPS[0],
        cmd::run_step(STEPS[0], &mut cmd::cargo(["fmt", "--all", "--", "--check"]))?,
    ));
    timings.push((
        STEPS[1],
        cmd::run_step(
            STEPS[1],
            &mut cmd::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
        )?,
    ));
    timings.push((
        STEPS[2],
        cmd::run_step(
            STEPS[2],
            &mut cmd::cargo(["test", "--workspace", "--all-features"]),
        )?,
    ));
    let mut doc = cmd::cargo(["doc", "--workspace", "--no-deps", "--all-features"]);
    doc.env("RUSTDOCFLAGS", "-Dwarnings");
    timings.push((STEPS[3], cmd::run_step(STEPS[3], &mut doc)?));

    println!("\n==> [{}] cargo tree checks", STEPS[4]);
    let layering_started = Instant::now();
    layering::run()?;
    timings.push((STEPS[4], layering_started.elapsed()));

    if options.skip_contract {
        println!("\n==> [{}] skipped (--skip-contract)", STEPS[5]);
    } else {
        println!("\n==> [{}] cargo xtask contract", STEPS[5]);
        let contract_started = Instant::now();
        contract::run(&options.contract).map_err(|e| format!("step `contract` failed: {e}"))?;
        timings.push((STEPS[5], contract_started.elapsed()));
    }

    println!("\n==> ci passed in {}", cmd::human(started.elapsed()));
    for (step, took) in timings {
        println!("    {step:<10} {}", cmd::human(took));
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
        assert!(!default.skip_contract);
        assert_eq!(default.contract, contract::Options::default());

        let o = Options::parse(&args(&["--skip-contract", "--dynamic-runs", "5"])).unwrap();
        assert!(o.skip_contract);
        assert_eq!(o.contract.dynamic_runs, 5);

        assert!(Options::parse(&args(&["--dynamic-runs"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }
}
