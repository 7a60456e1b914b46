//! The crash matrix: `twilio-rotate rotate` runs as a real process and is killed with SIGKILL
//! at every step boundary, during the create, the promotion and the final check (with the
//! emulator's latency), and at 20 random instants (seeded: `CRASH_SEED`). After each kill,
//! `twilio-rotate resume` must end in `Rotated` or `Unchanged`; the store's `current` must
//! authenticate against the emulator and be its primary token; every token the emulator
//! accepts must be in the store; and no token may appear in any output.
//!
//! The pause comes from the `test-hooks` feature (`TWILIO_ROTATE_PAUSE_AT`), which only this
//! test's build turns on (`required-features` in Cargo.toml): the installed binary has none.
//!
//! Both sides are real processes: each case starts its own `twilio-emulator --test-endpoints`
//! (built once per test binary with `cargo build`, wherever the target directory is), reads
//! its state through the opt-in test endpoints — `GET /__emulator/tokens` names its tokens by
//! fingerprint only, `PUT /__emulator/latency?ms=N` changes its latency — and kills it when
//! the case ends, even on a panic.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use twilio_accounts::{Client, Credentials};
use twilio_store::{FileTokenStore, TokenRecord, TokenStore};

#[path = "support/emulator.rs"]
mod emulator;
#[path = "support/running.rs"]
mod running;
#[allow(dead_code)]
#[path = "support/temp_dir.rs"]
mod temp_dir;
use emulator::EmulatorProcess;
use running::Running;
use temp_dir::TempDir;

const ROTATE: &str = env!("CARGO_BIN_EXE_twilio-rotate");

fn command(store: &Path, emulator: &EmulatorProcess) -> Command {
    let mut cmd = Command::new(ROTATE);
    cmd.arg("--store")
        .arg(store)
        .arg("--base-url")
        .arg(&emulator.base_url)
        .arg("--json")
        .env_remove("TWILIO_ACCOUNT_SID")
        .env_remove("TWILIO_AUTH_TOKEN")
        .env_remove("TWILIO_ROTATE_STORE")
        .env_remove("TWILIO_ROTATE_BASE_URL")
        .env_remove("TWILIO_ROTATE_PAUSE_AT");
    cmd
}

fn init(store: &Path, emulator: &EmulatorProcess) {
    let output = command(store, emulator)
        .arg("init")
        .env("TWILIO_ACCOUNT_SID", &emulator.account_sid)
        .env("TWILIO_AUTH_TOKEN", &emulator.first_token)
        .output()
        .unwrap();
    assert!(output.status.success(), "init failed: {:?}", output.status);
}

/// Starts `rotate --grace 0` with the pause seam set to `pause_at`.
fn spawn_rotate(store: &Path, emulator: &EmulatorProcess, pause_at: Option<&str>) -> Running {
    let mut cmd = command(store, emulator);
    cmd.args(["rotate", "--grace", "0"]);
    if let Some(pause_at) = pause_at {
        cmd.env("TWILIO_ROTATE_PAUSE_AT", pause_at);
    }
    Running::spawn(cmd)
}

fn resume(store: &Path, emulator: &EmulatorProcess) -> Output {
    command(store, emulator)
        .args(["resume", "--grace", "0"])
        .output()
        .unwrap()
}

async fn load(store: &Path) -> TokenRecord {
    FileTokenStore::open(store)
        .unwrap()
        .load()
        .await
        .unwrap()
        .unwrap()
}

/// One cheap authenticated read (the first page of AWS credentials) with the store's
/// `current` token; `Err` says why it failed.
async fn authenticates(record: &TokenRecord, emulator: &EmulatorProcess) -> Result<(), String> {
    let credentials =
        Credentials::from_auth_token(record.account_sid, record.current.token().clone())
            .map_err(|e| e.to_string())?;
    let client = Client::builder()
        .credentials(credentials)
        .base_url(&emulator.base_url)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .credentials()
        .aws()
        .list()
        .page_size(1)
        .send()
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// After a kill and a resume: the invariant holds. `killed_output` is what the killed
/// process printed.
async fn check_after_resume(
    case: &str,
    store: &Path,
    emulator: &EmulatorProcess,
    killed_output: &str,
) {
    let output = resume(store, emulator);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let json: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{case}: resume printed no JSON ({e}): {:?} {stderr}",
            output.status
        )
    });
    assert_eq!(output.status.code(), Some(0), "{case}: {json}");
    let state = json["state"].as_str().unwrap();
    assert!(
        state == "Rotated" || state == "Unchanged",
        "{case}: resume ended in {state}"
    );
    eprintln!("{case}: resume ended in {state}");
    let record = load(store).await;
    assert!(
        record.pending.is_none(),
        "{case}: still pending after resume"
    );
    // The store's current authenticates, and it is the emulator's primary.
    if let Err(error) = authenticates(&record, emulator).await {
        panic!("{case}: the store's current does not authenticate: {error}");
    }
    let accepted = emulator.accepted();
    assert_eq!(
        record.current.fingerprint().to_string(),
        accepted.primary,
        "{case}: the store's current is not the emulator's primary"
    );
    // Every token the emulator accepts is in the store.
    let stored: Vec<String> = record
        .tokens()
        .map(|(_, t)| t.fingerprint().to_string())
        .collect();
    for fingerprint in std::iter::once(&accepted.primary).chain(&accepted.secondary) {
        assert!(
            stored.contains(fingerprint),
            "{case}: the emulator accepts {fingerprint}, the store holds only {stored:?}"
        );
    }
    // A second resume has nothing to do.
    let again = resume(store, emulator);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{case}: second resume {:?}",
        again.status
    );
    // Tokens never reach any output: the killed process's, both resumes'.
    let all = format!(
        "{killed_output}{stdout}{stderr}{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    let tokens = record
        .tokens()
        .map(|(_, t)| t.token().expose_secret().to_owned())
        .chain([emulator.first_token.clone()]);
    for token in tokens {
        assert!(!all.contains(&token), "{case}: a token in the output");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_step_boundary_resume_restores_the_invariant() {
    for checkpoint in [
        "creating",
        "created",
        "pending_stored",
        "staged",
        "promoting",
        "promoted",
        "recorded",
    ] {
        let emulator = EmulatorProcess::start(Duration::ZERO);
        let dir = TempDir::new(checkpoint);
        init(&dir.path("store.json"), &emulator);
        let rotation = spawn_rotate(&dir.path("store.json"), &emulator, Some(checkpoint));
        assert!(rotation.wait_for_marker(), "{checkpoint}: no marker");
        let output = rotation.kill();
        check_after_resume(checkpoint, &dir.path("store.json"), &emulator, &output).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_the_create_the_promotion_and_the_final_check() {
    // With 300 ms of latency per request, a kill 150 ms after the marker lands while the
    // next request is in flight.
    for checkpoint in ["creating", "promoting", "recorded"] {
        let emulator = EmulatorProcess::start(Duration::from_millis(300));
        let dir = TempDir::new(checkpoint);
        init(&dir.path("store.json"), &emulator);
        let marker = format!("{checkpoint}@mark");
        let rotation = spawn_rotate(&dir.path("store.json"), &emulator, Some(&marker));
        assert!(rotation.wait_for_marker(), "{checkpoint}: no marker");
        std::thread::sleep(Duration::from_millis(150));
        let output = rotation.kill();
        emulator.set_latency(Duration::ZERO);
        // Let the request the killed process left in flight finish on the server.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let case = format!("during {checkpoint}");
        check_after_resume(&case, &dir.path("store.json"), &emulator, &output).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_instants_resume_restores_the_invariant() {
    let latency = Duration::from_millis(15);
    // How long a whole rotation takes here: the kills are spread over it.
    let whole = {
        let emulator = EmulatorProcess::start(latency);
        let dir = TempDir::new("timing");
        init(&dir.path("store.json"), &emulator);
        let started = Instant::now();
        let (code, _, _) = spawn_rotate(&dir.path("store.json"), &emulator, None).wait();
        assert_eq!(code, Some(0), "an uninterrupted rotation succeeds");
        started.elapsed()
    };

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7711_2026_u64);
    let mut rng = fastrand::Rng::with_seed(seed);
    let window = u64::try_from(whole.as_micros()).unwrap_or(u64::MAX);
    for run in 0..20 {
        let emulator = EmulatorProcess::start(latency);
        let dir = TempDir::new("random");
        init(&dir.path("store.json"), &emulator);
        let delay = Duration::from_micros(rng.u64(0..=window));
        let rotation = spawn_rotate(&dir.path("store.json"), &emulator, None);
        std::thread::sleep(delay);
        let output = rotation.kill();
        emulator.set_latency(Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let phase = load(&dir.path("store.json")).await.phase;
        let case = format!(
            "seed {seed} run {run}: killed after {delay:?} of {whole:?} in phase {phase:?}"
        );
        check_after_resume(&case, &dir.path("store.json"), &emulator, &output).await;
    }
}
