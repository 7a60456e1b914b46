//! The command line as an operator meets it: the interface, exit codes, `--json`, `init`'s
//! refusals, the hand-off grace of `complete`, and no token in any output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use twilio_emulator::Emulator;

const BIN: &str = env!("CARGO_BIN_EXE_twilio-rotate");

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "twilio-rotate-cli-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn store(&self) -> PathBuf {
        self.0.join("store.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(store: &Path, emulator: &Emulator, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--store")
        .arg(store)
        .arg("--base-url")
        .arg(emulator.base_url())
        .args(args)
        .env_remove("TWILIO_ACCOUNT_SID")
        .env_remove("TWILIO_AUTH_TOKEN")
        .env_remove("TWILIO_ROTATE_PAUSE_AT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let value = serde_json::from_str(lines.next().unwrap_or("")).unwrap_or_else(|e| {
        panic!("not one JSON object ({e}): {output:?}");
    });
    assert!(lines.next().is_none(), "more than one line: {stdout}");
    value
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn help_documents_the_interface_and_the_exit_codes() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "--store",
        "--base-url",
        "--json",
        "init",
        "stage",
        "complete",
        "rotate",
        "resume",
        "status",
        "Exit codes",
        "0  done",
        "1  failed",
        "2  usage",
        "3  needs attention",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let rotate = Command::new(BIN)
        .args(["rotate", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&rotate.stdout).contains("--grace"));
    let complete = Command::new(BIN)
        .args(["complete", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&complete.stdout).contains("--force"));

    let bad = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let missing = Command::new(BIN).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let bad_grace = Command::new(BIN)
        .args(["rotate", "--grace", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad_grace.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reads_only_the_environment_and_never_overwrites() {
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = TempDir::new();
    let store = dir.store();
    let token = emulator.auth_token();
    let sid = emulator.account_sid();

    let no_env = run(&store, &emulator, &["--json", "init"], &[]);
    assert_eq!(no_env.status.code(), Some(2));
    assert!(
        json(&no_env)["error"]
            .as_str()
            .unwrap()
            .contains("TWILIO_ACCOUNT_SID")
    );
    let bad_sid = run(
        &store,
        &emulator,
        &["init"],
        &[("TWILIO_ACCOUNT_SID", "XX1"), ("TWILIO_AUTH_TOKEN", "x")],
    );
    assert_eq!(bad_sid.status.code(), Some(2));
    assert!(!store.exists());

    let env = [
        ("TWILIO_ACCOUNT_SID", sid.as_str()),
        ("TWILIO_AUTH_TOKEN", token.expose_secret()),
    ];
    let first = run(&store, &emulator, &["--json", "init"], &env);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert_eq!(json(&first)["store"]["phase"], "Idle");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&store).unwrap();
    let second = run(&store, &emulator, &["init"], &env);
    assert_eq!(second.status.code(), Some(2));
    assert!(text(&second).contains("already exists"), "{second:?}");
    assert_eq!(std::fs::read(&store).unwrap(), before, "not overwritten");
    assert!(!text(&first).contains(token.expose_secret()));
    assert!(!text(&second).contains(token.expose_secret()));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_complete_status_and_resume_with_exit_codes_and_no_token_in_output() {
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = TempDir::new();
    let store = dir.store();
    let old = emulator.auth_token();
    let sid = emulator.account_sid();
    let mut outputs = Vec::new();

    // Without a store: a configuration error.
    let none = run(&store, &emulator, &["--json", "status"], &[]);
    assert_eq!(none.status.code(), Some(2));
    outputs.push(none);

    let init = run(
        &store,
        &emulator,
        &["init"],
        &[
            ("TWILIO_ACCOUNT_SID", sid.as_str()),
            ("TWILIO_AUTH_TOKEN", old.expose_secret()),
        ],
    );
    assert_eq!(init.status.code(), Some(0));
    outputs.push(init);

    let stage = run(&store, &emulator, &["--json", "stage"], &[]);
    assert_eq!(stage.status.code(), Some(0), "{stage:?}");
    let staged = json(&stage);
    assert_eq!(staged["state"], "Staged");
    assert_eq!(staged["command"], "stage");
    assert!(staged["steps"].as_array().unwrap().len() >= 3);
    let new = emulator.secondary_auth_token().expect("a secondary token");
    outputs.push(stage);

    // Status while staged: both tokens work; needs attention (3).
    let status = run(&store, &emulator, &["--json", "status"], &[]);
    assert_eq!(status.status.code(), Some(3));
    let seen = json(&status);
    assert_eq!(seen["store"]["phase"], "Staged");
    assert_eq!(seen["twilio"]["current"], "works");
    assert_eq!(seen["twilio"]["pending"], "works");
    outputs.push(status);

    // A second stage is refused: a rotation is in progress.
    let again = run(&store, &emulator, &["stage"], &[]);
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    outputs.push(again);

    // Too early for complete: nothing changes (1).
    let early = run(&store, &emulator, &["--json", "complete"], &[]);
    assert_eq!(early.status.code(), Some(1), "{early:?}");
    let refused = json(&early);
    assert_eq!(refused["failed_step"], "hand_off_grace");
    assert_eq!(refused["state"], "Staged");
    assert_eq!(emulator.auth_token().expose_secret(), old.expose_secret());
    outputs.push(early);

    let forced = run(&store, &emulator, &["--json", "complete", "--force"], &[]);
    assert_eq!(forced.status.code(), Some(0), "{forced:?}");
    let completed = json(&forced);
    assert_eq!(completed["state"], "Rotated");
    assert_eq!(completed["store"]["phase"], "Idle");
    assert_eq!(completed["store"]["current"], completed["new_token"]);
    assert_eq!(completed["store"]["previous"], seen["store"]["current"]);
    assert_eq!(emulator.auth_token().expose_secret(), new.expose_secret());
    outputs.push(forced);

    let status = run(&store, &emulator, &["status"], &[]);
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    assert!(text(&status).contains("previous"));
    outputs.push(status);

    // Nothing to resume: idempotent.
    for _ in 0..2 {
        let resume = run(&store, &emulator, &["--json", "resume"], &[]);
        assert_eq!(resume.status.code(), Some(0));
        assert_eq!(json(&resume)["state"], "Unchanged");
        outputs.push(resume);
    }

    // A whole rotation in one command, with the new token read back from the store.
    let rotate = run(&store, &emulator, &["rotate", "--grace", "0"], &[]);
    assert_eq!(rotate.status.code(), Some(0), "{rotate:?}");
    let newest = emulator.auth_token();
    outputs.push(rotate);

    for output in &outputs {
        let all = text(output);
        for token in [&old, &new, &newest] {
            assert!(!all.contains(token.expose_secret()), "token in {all}");
        }
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_another_account_or_a_malformed_store_is_a_configuration_error() {
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = TempDir::new();
    let store = dir.store();
    let init = run(
        &store,
        &emulator,
        &["init"],
        &[
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001"),
            ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
        ],
    );
    assert_eq!(init.status.code(), Some(0));
    // The emulator does not know this account: the check fails, nothing is created.
    let rotate = run(&store, &emulator, &["rotate", "--grace", "0"], &[]);
    assert_eq!(rotate.status.code(), Some(1), "{rotate:?}");
    assert!(emulator.secondary_auth_token().is_none());

    std::fs::write(&store, "not a record").unwrap();
    let malformed = run(&store, &emulator, &["status"], &[]);
    assert_eq!(malformed.status.code(), Some(2), "{malformed:?}");
    emulator.shutdown().await;
}
