//! `cargo xtask bench`: runs the workspace's benchmark targets and prints their output.

use serde_json::Value;

use crate::{Result, cmd};

/// The benchmarks, as `(package, bench target)`, in the order they run.
pub(crate) const BENCHES: [(&str, &str); 7] = [
    ("twilio-types", "sid_parse"),
    ("twilio-transport", "stack_vs_hyper"),
    ("twilio-accounts", "decode"),
    ("twilio-accounts", "full_call"),
    ("twilio-accounts", "wire"),
    ("twilio-emulator", "throughput"),
    ("twilio-webhooks", "validate"),
];

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// Run only this bench target.
    pub(crate) only: Option<String>,
    /// Arguments for every benchmark binary (after `--`).
    pub(crate) passthrough: Vec<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--only" => {
                    let name = iter.next().ok_or("--only needs a bench target name")?;
                    if !BENCHES.iter().any(|(_, bench)| bench == name) {
                        return Err(format!(
                            "--only: unknown bench target `{name}` (known: {})",
                            BENCHES.map(|(_, b)| b).join(", ")
                        ));
                    }
                    options.only = Some(name.clone());
                }
                "--" => {
                    options.passthrough = iter.cloned().collect();
                    break;
                }
                other => return Err(format!("bench: unknown option `{other}`")),
            }
        }
        Ok(options)
    }
}

pub(crate) fn run(options: &Options) -> Result<()> {
    let metadata = cmd::output(
        "bench",
        &mut cmd::cargo(["metadata", "--no-deps", "--format-version", "1"]),
    )?;
    let available = bench_targets(&metadata)?;
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    for (package, bench) in BENCHES {
        if options.only.as_deref().is_some_and(|only| only != bench) {
            continue;
        }
        if !available.iter().any(|(p, b)| p == package && b == bench) {
            println!(
                "\n==> [bench {bench}] skipped: package `{package}` has no bench target `{bench}` yet"
            );
            skipped.push(bench);
            continue;
        }
        let mut command = cmd::cargo(["bench", "-p", package, "--bench", bench]);
        if !options.passthrough.is_empty() {
            command.arg("--").args(&options.passthrough);
        }
        let took = cmd::run_step(&format!("bench {bench}"), &mut command)?;
        ran.push((bench, took));
    }
    println!("\n==> bench summary");
    for (bench, took) in &ran {
        println!("    {bench:<16} ran ({})", cmd::human(*took));
    }
    for bench in &skipped {
        println!("    {bench:<16} skipped (target does not exist yet)");
    }
    Ok(())
}

/// `(package, bench target)` pairs from `cargo metadata --format-version 1` output.
pub(crate) fn bench_targets(metadata: &str) -> Result<Vec<(String, String)>> {
    let value: Value = serde_json::from_str(metadata)
        .map_err(|e| format!("could not parse `cargo metadata` output: {e}"))?;
    let packages = value["packages"]
        .as_array()
        .ok_or("`cargo metadata` output has no `packages` array")?;
    let mut out = Vec::new();
    for package in packages {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bench = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"));
            if let (true, Some(target_name)) = (is_bench, target["name"].as_str()) {
                out.push((name.to_owned(), target_name.to_owned()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn finds_bench_targets_only() {
        let metadata = r#"{"packages":[
            {"name":"twilio-types","targets":[
                {"name":"twilio_types","kind":["lib"]},
                {"name":"sid_parse","kind":["bench"]}]},
            {"name":"twilio-emulator","targets":[
                {"name":"twilio-emulator","kind":["bin"]},
                {"name":"throughput","kind":["test"]}]}
        ],"workspace_members":[]}"#;
        assert_eq!(
            bench_targets(metadata).unwrap(),
            [("twilio-types".to_owned(), "sid_parse".to_owned())]
        );
        assert!(bench_targets("not json").is_err());
        assert!(bench_targets("{}").is_err());
    }

    #[test]
    fn parses_options() {
        assert_eq!(Options::parse(&[]).unwrap(), Options::default());
        let o = Options::parse(&args(&["--only", "sid_parse", "--", "--quick", "x"])).unwrap();
        assert_eq!(o.only.as_deref(), Some("sid_parse"));
        assert_eq!(o.passthrough, ["--quick", "x"]);
        assert!(Options::parse(&args(&["--only", "nope"])).is_err());
        assert!(Options::parse(&args(&["--only"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }
}
