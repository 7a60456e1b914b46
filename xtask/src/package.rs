//! The `package` step of `ci`: every publishable crate, packed as `cargo publish` would
//! pack it, tests itself from its unpacked `.crate`, in publish order.
//!
//! The crates come from `cargo metadata` (every workspace member that may be published), so a
//! new crate is covered the day it joins the workspace. Each is packed with `cargo package`,
//! unpacked under the target directory, and `cargo test` runs inside it with the other
//! unpacked crates standing in for their crates.io releases (`[patch.crates-io]` on the
//! command line). A test, doctest or example that reads a file outside its package, a file
//! missing from the package's `include`, or a README the manifest names but does not ship
//! fails here, as it would for a user who downloads the crate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::metadata::{self, Package};
use crate::{Result, cmd};

/// Files a crate keeps a copy of for its packaged tests, with the workspace original.
const COPIES: &[(&str, &str)] = &[
    (
        "crates/twilio-accounts/tests/spec/twilio_accounts_v1.json",
        "spec/twilio_accounts_v1.json",
    ),
    (
        "crates/twilio-accounts/tests/spec/extensions/compliance_signals.json",
        "spec/extensions/compliance_signals.json",
    ),
];

/// Fails unless every crate-local copy is byte-identical to its workspace original.
pub(crate) fn check_copies(root: &Path) -> Result<()> {
    for (copy, original) in COPIES {
        let read =
            |p: &str| std::fs::read(root.join(p)).map_err(|e| format!("cannot read {p}: {e}"));
        if read(copy)? != read(original)? {
            return Err(format!(
                "{copy} differs from {original}: copy the workspace file over it (`cp {original} {copy}`)"
            ));
        }
        println!("    {copy} is identical to {original}");
    }
    Ok(())
}

pub(crate) fn run() -> Result<()> {
    let root = crate::workspace_root();
    check_copies(&root)?;
    let meta = metadata::workspace()?;
    let names: Vec<&str> = meta.publishable.iter().map(|p| p.name.as_str()).collect();
    println!("    publish order: {}", names.join(" -> "));

    // Packed without cargo's own verification build: the tests below build every package.
    let mut pack = cmd::cargo(["package", "--no-verify", "--allow-dirty", "--offline"]);
    for name in &names {
        pack.args(["-p", name]);
    }
    cmd::run_step("package", &mut pack)?;

    let unpacked_root = meta.target_directory.join("xtask-package");
    let _ = std::fs::remove_dir_all(&unpacked_root);
    std::fs::create_dir_all(&unpacked_root)
        .map_err(|e| format!("cannot create {}: {e}", unpacked_root.display()))?;
    let mut unpacked = Vec::new();
    for package in &meta.publishable {
        let dir = unpack(package, &meta.target_directory, &unpacked_root)?;
        unpacked.push((package, dir));
    }

    // The other unpacked crates stand in for their crates.io releases, offline, through a
    // cargo config beside them, so that a `cargo` a test runs itself (the crash matrix builds
    // the emulator binary) resolves the same way as the `cargo test` that runs it.
    let mut config = String::from("[net]\noffline = true\n\n[patch.crates-io]\n");
    for (other, other_dir) in &unpacked {
        let _ = writeln!(
            config,
            "{} = {{ path = {:?} }}",
            other.name,
            other_dir.display().to_string()
        );
    }
    let config_dir = unpacked_root.join(".cargo");
    std::fs::create_dir_all(&config_dir)
        .and_then(|()| std::fs::write(config_dir.join("config.toml"), config))
        .map_err(|e| format!("cannot write {}/config.toml: {e}", config_dir.display()))?;

    let lock = root.join("Cargo.lock");
    // Tests start real servers, as in the `test` step: the transport's proxy tests a proxy (see
    // `tinyproxy`), the Vault store's tests OpenBao (see `openbao`), the AWS Secrets Manager
    // store's tests moto (see `moto`).
    let proxy = crate::tinyproxy::ensure_installed()?;
    let bao = crate::openbao::ensure_installed()?;
    let moto = crate::moto::ensure_installed()?;
    for (package, dir) in &unpacked {
        // A package without a lock file resolves as the workspace did.
        if !dir.join("Cargo.lock").exists() {
            std::fs::copy(&lock, dir.join("Cargo.lock"))
                .map_err(|e| format!("cannot copy Cargo.lock into {}: {e}", dir.display()))?;
        }
        let mut test = cmd::cargo(["test", "--offline", "--all-features", "--manifest-path"]);
        test.arg(dir.join("Cargo.toml"));
        test.env("CARGO_TARGET_DIR", &meta.target_directory)
            .env(crate::tinyproxy::ENV, &proxy)
            .env(crate::openbao::ENV, &bao)
            .env(crate::moto::ENV, &moto)
            .current_dir(dir);
        cmd::run_step(&format!("package: {}", package.name), &mut test)?;
    }
    Ok(())
}

/// Unpacks `target/package/NAME-VERSION.crate` into `into`; returns the crate's directory.
fn unpack(package: &Package, target: &Path, into: &Path) -> Result<PathBuf> {
    let file = format!("{}-{}", package.name, package.version);
    let archive = target.join("package").join(format!("{file}.crate"));
    let mut tar = Command::new("tar");
    // `-m`: the files get the time of unpacking, so cargo never takes an earlier build of an
    // earlier unpacking (same paths) for fresh.
    tar.arg("-xzmf").arg(&archive).arg("-C").arg(into);
    cmd::output("package", &mut tar)?;
    let dir = into.join(&file);
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        format!(
            "{} holds no readable {file}/Cargo.toml: {e}",
            archive.display()
        )
    })?;
    // Unpacked under the target directory, which may lie inside this workspace (it does on
    // CI's fresh clone): an empty `[workspace]` makes the crate its own root, as it is when a
    // user builds it from crates.io.
    std::fs::write(&manifest, format!("{text}\n[workspace]\n"))
        .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_local_copies_match_the_workspace() {
        assert_eq!(check_copies(&crate::workspace_root()), Ok(()));
    }

    #[test]
    fn a_differing_copy_is_an_error() {
        let dir = std::env::temp_dir().join(format!("xtask-copies-{}", std::process::id()));
        for (copy, original) in COPIES {
            for (path, text) in [(copy, "a"), (original, "b")] {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
        }
        let err = check_copies(&dir).unwrap_err();
        assert!(err.contains("differs"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
