//! What the command-line tests share: running the real `twilio-rotate` binary with a clean
//! environment, and reading what it printed.

use std::process::{Command, Output, Stdio};

#[allow(dead_code)] // not every test binary makes directories
pub(crate) mod temp_dir;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_twilio-rotate");

/// `twilio-rotate ARGS` with none of its own, Twilio's, Vault's or AWS's variables inherited
/// (and no shared AWS config files or instance metadata), then `env`.
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
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        cmd.env_remove(name);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs of the binary whose outputs are kept, to be searched for secrets at the end.
#[allow(dead_code)] // not every test binary checks runs this way
#[derive(Default)]
pub(crate) struct Runs {
    outputs: Vec<String>,
}

#[allow(dead_code)]
impl Runs {
    /// Runs `args` with `env`: asserts the exit code and that each of `must` is in the output.
    pub(crate) fn run(
        &mut self,
        args: &[&str],
        env: &[(&str, &str)],
        code: i32,
        must: &[&str],
    ) -> Output {
        let output = command(args, env).output().expect("run twilio-rotate");
        let all = text(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {all}");
        for word in must {
            assert!(
                all.contains(word),
                "{args:?}: `{word}` missing from:\n{all}"
            );
        }
        self.outputs.push(all);
        output
    }

    /// Asserts that no output holds any of `secrets`.
    pub(crate) fn assert_none_holds(&self, secrets: &[String]) {
        for output in &self.outputs {
            for secret in secrets {
                assert!(!output.contains(secret.as_str()), "a secret in:\n{output}");
            }
        }
    }
}

/// Everything a run printed: stdout, then stderr.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
