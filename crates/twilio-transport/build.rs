//! Records the compiler version for the `User-Agent` header (`rust/<version>`), or "unknown",
//! and the whole base `User-Agent` value, so that it can be a static header value.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TWILIO_TRANSPORT_RUSTC_VERSION={version}");
    // The target's OS and architecture, as `std::env::consts::{OS, ARCH}` name them.
    let cfg = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or_else(|| "unknown".to_owned())
    };
    println!(
        "cargo:rustc-env=TWILIO_TRANSPORT_USER_AGENT=twilio-rust/{} ({} {}) rust/{version}",
        cfg("CARGO_PKG_VERSION"),
        cfg("CARGO_CFG_TARGET_OS"),
        cfg("CARGO_CFG_TARGET_ARCH"),
    );
}
