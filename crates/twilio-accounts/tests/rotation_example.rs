//! The main job: `cargo run -p twilio-accounts --example rotate_auth_token`, and the
//! long-running service that follows the store (`--example follow_store`). Runs the example
//! programs as a user would, with and without `TWILIO_*` variables, and checks what they say,
//! their exit status, and that they never print a token.
//!
//! `cargo test` builds the examples next to the test binaries; when this test is run on its
//! own and the example is missing or older than its source, it builds it first.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The example binary `name`: `target/<profile>/examples/<name>`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let source = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (modified(&path), modified(source.as_ref())) {
        (Some(built), Some(written)) => built < written,
        (built, _) => built.is_none(),
    };
    if stale {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "twilio-accounts", "--example", name])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the example failed");
    }
    assert!(path.exists(), "{} missing", path.display());
    path
}

/// Runs the example `rotate_auth_token` with no `TWILIO_*` variable except `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_example("rotate_auth_token", args, env)
}

/// Runs the example `name` with no `TWILIO_*` variable except `env`.
fn run_example(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(example(name));
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TWILIO_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("run the example")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs of 32 or more hex digits other than an `AC…` SID: a token would be one.
fn token_like(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let run = &text[start..start + len];
        let sid = len == 34 && run.starts_with("AC");
        if len >= 32 && !sid {
            found.push(text[start..start + len].to_owned());
        }
        start += len.max(1);
    }
    found
}

#[test]
fn without_credentials_it_rotates_against_the_emulator_and_proves_the_old_token_is_refused() {
    let output = run(&[], &[]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for expected in [
        "against the in-process Twilio Accounts emulator",
        "1. [ok] create a secondary token",
        "2. [ok] verify the secondary token",
        "3. [ok] switch the client to the new token",
        "4. [ok] promote the secondary token",
        "5. [ok] verify the new primary token",
        "result after",
        ": refused, HTTP 401 (Twilio error 20003)",
        ": accepted (the rotated client keeps working)",
        "secondary slot empty",
        "done: the account's Auth Token was rotated and the old token no longer works.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // Each step shows when it started and how long it took.
    assert_eq!(out.matches(", took ").count(), 5, "{out}");
    // Tokens appear only as fingerprints.
    assert!(token_like(&out).is_empty(), "{out}");
}

#[test]
fn with_credentials_but_without_live_it_changes_nothing_and_says_how() {
    // A made-up account: a rotation attempt would print its steps (and fail).
    let output = run(
        &[],
        &[
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001"),
            ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
        ],
    );
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("Nothing was changed"), "{out}");
    assert!(out.contains("--live --write-token"), "{out}");
    assert!(out.contains("--emulator"), "{out}");
    assert!(!out.contains("0123456789abcdef0123456789abcdef"), "{out}");
    assert!(!out.contains("rotating the Auth Token of"), "{out}");
}

#[test]
fn live_without_a_token_file_refuses_before_touching_the_account() {
    let output = run(
        &["--live"],
        &[
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001"),
            ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
        ],
    );
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("--live needs --write-token FILE"), "{out}");
    assert!(!out.contains("rotating the Auth Token"), "{out}");
}

#[test]
fn the_token_detector_finds_tokens_but_not_sids() {
    assert_eq!(
        token_like("token 0123456789abcdef0123456789abcdef."),
        ["0123456789abcdef0123456789abcdef"]
    );
    assert!(token_like("account AC0123456789abcdef0123456789abcdef, fp 6b073927").is_empty());
}

#[test]
fn the_service_following_the_store_keeps_working_through_a_rotation_and_exits() {
    let output = run_example("follow_store", &[], &[]);
    let text = text(&output);
    assert!(output.status.success(), "{text}");
    let switches: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("service: now authenticating"))
        .collect();
    assert_eq!(switches.len(), 2, "the old token, then the new one: {text}");
    let summary = text
        .lines()
        .find(|l| l.starts_with("rotated to "))
        .unwrap_or_else(|| panic!("no summary: {text}"));
    assert!(summary.contains(", 0 failed,"), "{summary}");
    let new = summary["rotated to ".len()..].split(';').next().unwrap();
    assert!(switches[1].ends_with(new), "{text}");
    assert!(token_like(&text).is_empty(), "a token was printed: {text}");
}

#[test]
fn the_service_following_the_store_refuses_bad_arguments() {
    let output = run_example("follow_store", &["--stor", "x"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("usage:"));
    let missing = run_example(
        "follow_store",
        &["--store", "/nonexistent/tokens.json"],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).starts_with("error: "), "{}", text(&missing));
}
