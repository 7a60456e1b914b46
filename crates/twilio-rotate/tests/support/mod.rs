//! What the command-line tests share: running the real `twilio-rotate` binary with a clean
//! environment, and reading what it printed.

use std::process::{Command, Output, Stdio};

#[allow(dead_code)] // not every test binary makes directories
pub(crate) mod temp_dir;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_twilio-rotate");

/// `twilio-rotate ARGS` with none of its own, Twilio's or Vault's variables inherited, then
/// `env`.
pub(crate) fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null());
    for name in [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_ROTATE_STORE",
        "TWILIO_ROTATE_BASE_URL",
        "TWILIO_ROTATE_PAUSE_AT",
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_NAMESPACE",
        "VAULT_CACERT",
    ] {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Everything a run printed: stdout, then stderr.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
