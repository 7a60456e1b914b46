//! Installing a pinned Debian `tinyproxy` for the transport's proxy tests.
//!
//! The tests need a real HTTP proxy (CONNECT tunnels, Basic proxy authentication, refused
//! tunnels). Debian's `tinyproxy-bin` package is fetched with `apt-get download` at a pinned
//! version and unpacked with `dpkg -x` into `.tools/tinyproxy` (ignored by git): nothing is
//! installed system-wide and no daemon is started. The tests start their own instances and
//! find the executable through [`ENV`], which the `test` and `package` steps set.

use std::path::PathBuf;
use std::process::Command;

use crate::{Result, cmd};

/// The variable the transport's tests read for the `tinyproxy` executable.
pub(crate) const ENV: &str = "TWILIO_TEST_TINYPROXY";
/// The pinned Debian package version (bookworm).
const VERSION: &str = "1.11.1-2.1+deb12u1";
const PACKAGE: &str = "tinyproxy-bin";

fn install_dir() -> PathBuf {
    crate::workspace_root().join(".tools").join("tinyproxy")
}

/// Makes sure the pinned tinyproxy is unpacked and returns the path of its executable. Fails
/// loudly when `apt-get` or `dpkg` is missing or the download fails.
pub(crate) fn ensure_installed() -> Result<PathBuf> {
    let dir = install_dir();
    let bin = dir.join("usr").join("bin").join("tinyproxy");
    let marker = dir.join("VERSION");
    if bin.is_file() && std::fs::read_to_string(&marker).ok().as_deref() == Some(VERSION) {
        println!(
            "    tinyproxy {VERSION} already unpacked in {}",
            dir.display()
        );
        return Ok(bin);
    }
    let download = dir.join("download");
    std::fs::create_dir_all(&download)
        .map_err(|e| format!("cannot create {}: {e}", download.display()))?;
    let needs = format!(
        "(the transport's proxy tests need Debian's apt-get and dpkg to fetch {PACKAGE}={VERSION}; \
         run `apt-get update` once if the package lists are empty)"
    );
    let mut fetch = Command::new("apt-get");
    fetch
        .args(["download", &format!("{PACKAGE}={VERSION}")])
        .current_dir(&download);
    if cmd::run_step("test: apt-get download tinyproxy", &mut fetch).is_err() {
        // A fresh machine may have no package lists yet.
        let mut update = Command::new("apt-get");
        update.args(["update", "-qq"]);
        cmd::run_step("test: apt-get update", &mut update).map_err(|e| format!("{e}\n{needs}"))?;
        cmd::run_step("test: apt-get download tinyproxy", &mut fetch)
            .map_err(|e| format!("{e}\n{needs}"))?;
    }
    let deb = std::fs::read_dir(&download)
        .map_err(|e| format!("cannot read {}: {e}", download.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PACKAGE) && n.ends_with(".deb"))
        })
        .ok_or_else(|| {
            format!(
                "apt-get download left no {PACKAGE} .deb in {}",
                download.display()
            )
        })?;
    let mut unpack = Command::new("dpkg");
    unpack.arg("-x").arg(&deb).arg(&dir);
    cmd::run_step("test: dpkg -x tinyproxy", &mut unpack).map_err(|e| format!("{e}\n{needs}"))?;
    if !bin.is_file() {
        return Err(format!(
            "{} holds no usr/bin/tinyproxy after unpacking",
            dir.display()
        ));
    }
    std::fs::write(&marker, VERSION)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    let _ = std::fs::remove_dir_all(&download);
    Ok(bin)
}

/// `cargo xtask tinyproxy`: installs it and prints the line that points the tests at it.
pub(crate) fn run() -> Result<()> {
    let bin = ensure_installed()?;
    println!("export {ENV}={}", bin.display());
    Ok(())
}
