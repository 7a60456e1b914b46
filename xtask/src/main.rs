//! Project automation for the Twilio Accounts v1 SDK workspace.
//!
//! ```text
//! cargo xtask ci [--skip STEP]... [--skip-contract] [--dynamic-runs N]
//! cargo xtask contract [--dynamic-runs N] [--verbose]
//! cargo xtask bench [--only NAME] [-- ARGS...]
//! cargo xtask layering | guides | package | msrv | twilio-node | openbao | moto | tinyproxy
//! ```
//!
//! * `ci` runs exactly what CI runs, in order, and stops at the first failing step
//!   (repository hygiene: the README's two commands and no credentials in git; formatting,
//!   clippy, tests, rustdoc, dependency layering, builds and tests without default features,
//!   the guides' examples with their own dependency blocks, every crate tested from its
//!   packed `.crate`, the build with the declared MSRV, the Prism contract check, the
//!   twilio-node proof).
//! * `contract` checks every Accounts v1 operation of the SDK against Twilio's OpenAPI
//!   document (plus our own fragment for the Compliance Signals check) with a pinned Prism (`prism mock`, dynamic responses, and `prism proxy --errors`
//!   in front of the in-process emulator).
//! * `twilio-node` runs the official twilio-node 6.3.1 SDK's Compliance Signals check
//!   against the emulator binary and checks that our client reads back the same values.
//! * `bench` runs the workspace's benchmark targets and prints their output.
//! * `tinyproxy` unpacks the pinned Debian tinyproxy that the transport's proxy tests start
//!   (the `test` and `package` steps of `ci` do it first and pass its path in
//!   `TWILIO_TEST_TINYPROXY`).
//!
//! Commands spawned by `ci` and `bench` inherit the environment, so they build into the
//! checkout's normal target directory (or whatever `CARGO_TARGET_DIR` says).

mod bench;
mod ci;
mod cmd;
mod contract;
mod docs_rs;
mod guides;
mod hygiene;
mod layering;
mod metadata;
mod moto;
mod msrv;
mod openbao;
mod package;
mod pip;
mod prism;
mod spec_extension;
mod spec_patch;
mod tinyproxy;
mod twilio_node;

use std::path::PathBuf;
use std::process::ExitCode;

/// The error every command returns: a message meant for a human, naming what failed.
pub(crate) type Result<T, E = String> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  ci         run every CI step in order, stopping at the first failure:
             hygiene, fmt, clippy, test, doc, layering, features, guides, package,
             msrv, contract, twilio-node
               --skip STEP         leave out STEP (repeatable; local iteration only,
                                   refused when CI=true)
               --skip-contract     same as --skip contract
               --dynamic-runs N    Prism dynamic responses per operation (default 30)
  contract   check all 21 Accounts v1 operations of the SDK against the OpenAPI spec
             (and our fragment for the one beyond it) with Prism (mock, dynamic mock,
             proxy in front of the emulator)
               --dynamic-runs N    Prism dynamic responses per operation (default 30)
               --verbose, -v       print every request of the mock and proxy runs
  bench      run the workspace's benchmark targets (missing ones are skipped with a note)
               --only NAME         run only the bench target NAME
               -- ARGS...          pass ARGS to every benchmark binary
  layering   only the dependency-layering checks of `ci`
  guides     only the `guides` step of `ci`: the README, each crate's README and every
             guide run their examples with exactly their own [dependencies] block
  package    only the `package` step of `ci`: every publishable crate is packed and runs
             `cargo test` from its unpacked .crate, in publish order
  msrv       only the `msrv` step of `ci`: the workspace builds with the declared
             rust-version (installed with rustup when missing; skipped, loudly, when that
             is impossible)
  twilio-node
             run twilio-node 6.3.1's Compliance Signals check against the emulator
             binary (pinned, npm ci into .tools/twilio-node) and compare with our client
  openbao    install the pinned OpenBao server for the Vault store's tests into
             .tools/openbao (as `ci` does) and print the TWILIO_TEST_BAO=... line that
             `cargo test -p twilio-store --features vault --test vault` needs
  moto       install the pinned moto[server] (an AWS emulator) for the AWS Secrets Manager
             tests into .tools/moto (as `ci` does) and print the TWILIO_TEST_MOTO=... line
             (the path of a `moto_server` launcher) that those tests need
  tinyproxy  unpack the pinned Debian tinyproxy the transport's proxy tests run (into
             .tools/tinyproxy; `test` and `package` do it themselves) and print the
             `export TWILIO_TEST_TINYPROXY=...` line that points the tests at it
  help       print this message
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return Err("no command given".to_owned());
    };
    match command.as_str() {
        "ci" => ci::run(&ci::Options::parse(rest)?),
        "contract" => contract::run(&contract::Options::parse(rest)?),
        "bench" => bench::run(&bench::Options::parse(rest)?),
        "layering" if rest.is_empty() => layering::run(),
        "guides" if rest.is_empty() => guides::run(),
        "package" if rest.is_empty() => package::run(),
        "msrv" if rest.is_empty() => msrv::run().map(drop),
        "twilio-node" if rest.is_empty() => twilio_node::run(),
        "openbao" if rest.is_empty() => openbao::ensure_installed().map(|bao| {
            println!("{}={}", openbao::ENV, bao.display());
        }),
        "moto" if rest.is_empty() => moto::ensure_installed().map(|launcher| {
            println!("{}={}", moto::ENV, launcher.display());
        }),
        "tinyproxy" if rest.is_empty() => tinyproxy::run(),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            Err(format!("unknown command `{other}`"))
        }
    }
}

/// The workspace root (the directory holding the root `Cargo.toml`).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), PathBuf::from)
}

/// Parses the value following a `--flag` as a positive integer.
pub(crate) fn parse_count(flag: &str, value: Option<&String>) -> Result<usize> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} expects a positive integer, got `{value}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_count_accepts_positive_integers_only() {
        let v = |s: &str| s.to_owned();
        assert_eq!(parse_count("--n", Some(&v("30"))), Ok(30));
        assert!(parse_count("--n", Some(&v("0"))).is_err());
        assert!(parse_count("--n", Some(&v("-1"))).is_err());
        assert!(parse_count("--n", Some(&v("x"))).is_err());
        assert_eq!(
            parse_count("--n", None),
            Err("--n needs a value".to_owned())
        );
    }

    #[test]
    fn workspace_root_holds_the_vendored_spec() {
        assert!(
            workspace_root()
                .join("spec/twilio_accounts_v1.json")
                .is_file()
        );
        assert!(workspace_root().join("Cargo.toml").is_file());
    }

    #[test]
    fn unknown_commands_are_errors() {
        assert!(run(&["frobnicate".to_owned()]).is_err());
        assert!(run(&[]).is_err());
    }
}
