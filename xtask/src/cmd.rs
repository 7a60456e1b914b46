//! Running external commands with a readable trace and a clear failure message.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// A `cargo` command for the toolchain that runs xtask (`$CARGO`, else `cargo` on `PATH`),
/// started in the workspace root and inheriting the environment (so its target directory is
/// the checkout's, or whatever `CARGO_TARGET_DIR` says).
pub(crate) fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(crate::workspace_root());
    command
}

/// Renders a command line for messages (`RUSTDOCFLAGS=-Dwarnings cargo doc ...`).
pub(crate) fn display(command: &Command) -> String {
    let mut out = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            out.push_str(&format!(
                "{}={} ",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    let program = std::path::Path::new(command.get_program());
    let program = program
        .file_name()
        .map_or_else(|| program.to_string_lossy(), |name| name.to_string_lossy());
    out.push_str(&program);
    for arg in command.get_args() {
        out.push(' ');
        out.push_str(&arg.to_string_lossy());
    }
    out
}

/// Runs `command` with inherited stdio as the step `step`; fails with a message naming the
/// step, the command line and the exit status.
pub(crate) fn run_step(step: &str, command: &mut Command) -> Result<Duration> {
    let line = display(command);
    println!("\n==> [{step}] {line}");
    let started = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("step `{step}` could not start `{line}`: {e}"))?;
    let took = started.elapsed();
    if status.success() {
        println!("==> [{step}] ok ({})", human(took));
        Ok(took)
    } else {
        Err(format!(
            "step `{step}` failed ({status}) after {}: {line}",
            human(took)
        ))
    }
}

/// Runs `command` and captures its stdout; stderr is passed through.
pub(crate) fn output(step: &str, command: &mut Command) -> Result<String> {
    let line = display(command);
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("step `{step}` could not start `{line}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("step `{step}` failed ({}): {line}", out.status));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("step `{step}`: `{line}` printed non-UTF-8"))
}

/// `1m 05.2s` / `3.4s` / `120ms`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        let secs = d.as_secs_f64();
        let minutes = (secs / 60.0).floor();
        format!("{minutes:.0}m {:04.1}s", secs - minutes * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_program_and_args() {
        let mut c = Command::new("/usr/bin/cargo");
        c.env("RUSTDOCFLAGS", "-Dwarnings")
            .args(["doc", "--no-deps"]);
        assert_eq!(display(&c), "RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(120)), "120ms");
        assert_eq!(human(Duration::from_millis(3_400)), "3.4s");
        assert_eq!(human(Duration::from_millis(65_200)), "1m 05.2s");
    }

    #[test]
    fn failing_step_names_the_step() {
        let mut c = Command::new("false");
        let err = run_step("demo", &mut c).unwrap_err();
        assert!(err.starts_with("step `demo` failed"), "{err}");
        let mut missing = Command::new("/nonexistent/definitely-not-here");
        let err = run_step("demo", &mut missing).unwrap_err();
        assert!(err.contains("could not start"), "{err}");
    }
}
