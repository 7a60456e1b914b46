//! The `msrv` step of `ci`: the workspace builds with the `rust-version` it declares.
//!
//! The toolchain is that version from rustup (installed with the minimal profile when
//! missing). When rustup is absent, or the install fails (no network to the toolchain
//! host), the step is skipped with a loud notice instead of failing CI: the declared MSRV
//! is then simply not verified on that machine, and the notice says so.

use std::process::Command;

use crate::{Result, cmd, metadata};

/// How the step ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Verified,
    Skipped(String),
}

/// Runs the step; `Ok(Verdict::Skipped(..))` after printing the notice.
pub(crate) fn run() -> Result<Verdict> {
    match verify()? {
        Verdict::Verified => Ok(Verdict::Verified),
        Verdict::Skipped(why) => {
            let bar = "!".repeat(78);
            println!(
                "\n{bar}\n!! [msrv] SKIPPED: {why}\n!! The declared rust-version was NOT verified on this machine.\n{bar}"
            );
            Ok(Verdict::Skipped(why))
        }
    }
}

fn verify() -> Result<Verdict> {
    let meta = metadata::workspace()?;
    let version = meta.rust_version.clone().ok_or(
        "no rust-version declared: set `rust-version` in [workspace.package] and inherit it",
    )?;
    println!("    declared rust-version: {version}");

    let rustup_works = Command::new("rustup")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !rustup_works {
        return Ok(Verdict::Skipped(format!(
            "rustup is not installed, so Rust {version} cannot be installed"
        )));
    }
    let installed = rustup(&version)
        .args(["rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        let mut install = Command::new("rustup");
        install.args([
            "toolchain",
            "install",
            &version,
            "--profile",
            "minimal",
            "--no-self-update",
        ]);
        if cmd::run_step("msrv", &mut install).is_err() {
            return Ok(Verdict::Skipped(format!(
                "`rustup toolchain install {version}` failed (no network to the toolchain host?)"
            )));
        }
    }

    // Every crate, library and binaries, all features, with the locked dependency versions:
    // what a user on that toolchain builds. (Tests and benches use dev-dependencies that may
    // need a newer compiler; they are not part of what the MSRV promises.)
    let mut build = rustup(&version);
    build.args([
        "cargo",
        "build",
        "--workspace",
        "--all-features",
        "--locked",
    ]);
    // Its own target directory: another compiler's artifacts would only evict the main ones.
    build.env("CARGO_TARGET_DIR", meta.target_directory.join("msrv"));
    cmd::run_step("msrv", &mut build)?;
    Ok(Verdict::Verified)
}

/// `rustup run VERSION …`, started in the workspace root, free of the variables through
/// which the outer cargo would pick its own compiler.
fn rustup(version: &str) -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", version])
        .current_dir(crate::workspace_root())
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO")
        .env_remove("RUSTC_WRAPPER")
        .env("RUSTUP_TOOLCHAIN", version);
    command
}
