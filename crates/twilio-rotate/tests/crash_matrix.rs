//! The crash matrix: `twilio-rotate rotate` runs as a real process and is killed with SIGKILL
//! at every step boundary, during the promotion and the final check (with the emulator's
//! latency), and at 20 random instants. After each kill, `twilio-rotate resume` must end in
//! `Rotated` or `Unchanged`, the store's `current` must be the emulator's primary token, and
//! no token the emulator accepts may be missing from the store.
//!
//! The emulator runs in this test process (so its state can be read directly); the rotation
//! runs in its own process, which is the one that dies.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use twilio_emulator::Emulator;
use twilio_types::store::{FileTokenStore, TokenRecord, TokenStore};

const BIN: &str = env!("CARGO_BIN_EXE_twilio-rotate");

/// A fresh directory for one case's store, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "twilio-rotate-{name}-{}-{}",
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

fn command(store: &Path, emulator: &Emulator) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--store")
        .arg(store)
        .arg("--base-url")
        .arg(emulator.base_url())
        .arg("--json")
        .env_remove("TWILIO_ACCOUNT_SID")
        .env_remove("TWILIO_AUTH_TOKEN")
        .env_remove("TWILIO_ROTATE_PAUSE_AT");
    cmd
}

fn init(store: &Path, emulator: &Emulator) {
    let output = command(store, emulator)
        .arg("init")
        .env("TWILIO_ACCOUNT_SID", emulator.account_sid().as_str())
        .env("TWILIO_AUTH_TOKEN", emulator.auth_token().expose_secret())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// Starts `rotate --grace 0` with the pause seam set to `pause_at`.
fn spawn_rotate(store: &Path, emulator: &Emulator, pause_at: Option<&str>) -> Child {
    let mut cmd = command(store, emulator);
    cmd.args(["rotate", "--grace", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(pause_at) = pause_at {
        cmd.env("TWILIO_ROTATE_PAUSE_AT", pause_at);
    }
    cmd.spawn().unwrap()
}

/// Blocks until the child prints its pause marker (or exits).
fn wait_for_marker(child: &mut Child) -> bool {
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let found = lines.any(|line| line.is_ok_and(|l| l.contains("twilio-rotate: paused at")));
    // Keep draining in the background so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    found
}

fn kill(mut child: Child) {
    // `Child::kill` is SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
}

fn resume(store: &Path, emulator: &Emulator) -> Output {
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

/// After a kill and a resume: the invariant holds.
async fn check_after_resume(case: &str, store: &Path, emulator: &Emulator) {
    let output = resume(store, emulator);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{case}: resume printed no JSON ({e}): {output:?}"));
    assert_eq!(output.status.code(), Some(0), "{case}: {json}");
    let state = json["state"].as_str().unwrap();
    assert!(
        state == "Rotated" || state == "Unchanged",
        "{case}: resume ended in {state}"
    );
    eprintln!("{case}: resume ended in {state}");
    let record = load(store).await;
    // The store's current is the emulator's primary (it authenticates).
    assert_eq!(
        record.current.token().expose_secret(),
        emulator.auth_token().expose_secret(),
        "{case}: the store's current is not the primary"
    );
    // No token the emulator accepts is missing from the store.
    if let Some(secondary) = emulator.secondary_auth_token() {
        assert!(
            record
                .tokens()
                .any(|(_, t)| t.token().expose_secret() == secondary.expose_secret()),
            "{case}: the emulator accepts a secondary token the store does not hold"
        );
    }
    assert!(
        record.pending.is_none(),
        "{case}: still pending after resume"
    );
    // Tokens never reach the output.
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for (_, token) in record.tokens() {
        assert!(
            !all.contains(token.token().expose_secret()),
            "{case}: token in output"
        );
    }
    // A second resume has nothing to do.
    let again = resume(store, emulator);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{case}: second resume {again:?}"
    );
}

async fn emulator(latency: Duration) -> Emulator {
    Emulator::builder().latency(latency).start().await.unwrap()
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
        let emulator = emulator(Duration::ZERO).await;
        let dir = TempDir::new(checkpoint);
        init(&dir.store(), &emulator);
        let mut child = spawn_rotate(&dir.store(), &emulator, Some(checkpoint));
        assert!(wait_for_marker(&mut child), "{checkpoint}: no marker");
        kill(child);
        check_after_resume(checkpoint, &dir.store(), &emulator).await;
        emulator.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_the_create_the_promotion_and_the_final_check() {
    // With 300 ms of latency per request, a kill 150 ms after the marker lands while the
    // next request is in flight.
    for checkpoint in ["creating", "promoting", "recorded"] {
        let emulator = emulator(Duration::from_millis(300)).await;
        let dir = TempDir::new(checkpoint);
        init(&dir.store(), &emulator);
        let marker = format!("{checkpoint}@mark");
        let mut child = spawn_rotate(&dir.store(), &emulator, Some(&marker));
        assert!(wait_for_marker(&mut child), "{checkpoint}: no marker");
        std::thread::sleep(Duration::from_millis(150));
        kill(child);
        emulator.faults().set_latency(Duration::ZERO);
        // Let the request the killed process left in flight finish on the server.
        tokio::time::sleep(Duration::from_millis(400)).await;
        check_after_resume(&format!("during {checkpoint}"), &dir.store(), &emulator).await;
        emulator.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_instants_resume_restores_the_invariant() {
    let latency = Duration::from_millis(15);
    // How long a whole rotation takes here: the kills are spread over it.
    let emulator_for_timing = emulator(latency).await;
    let dir = TempDir::new("timing");
    init(&dir.store(), &emulator_for_timing);
    let started = Instant::now();
    let status = spawn_rotate(&dir.store(), &emulator_for_timing, None)
        .wait()
        .unwrap();
    let whole = started.elapsed();
    assert!(status.success(), "an uninterrupted rotation succeeds");
    emulator_for_timing.shutdown().await;

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7711_2026_u64);
    let mut rng = fastrand::Rng::with_seed(seed);
    let window = u64::try_from(whole.as_micros()).unwrap_or(u64::MAX);
    for run in 0..20 {
        let emulator = emulator(latency).await;
        let dir = TempDir::new("random");
        init(&dir.store(), &emulator);
        let delay = Duration::from_micros(rng.u64(0..=window));
        let child = spawn_rotate(&dir.store(), &emulator, None);
        std::thread::sleep(delay);
        kill(child);
        emulator.faults().set_latency(Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let phase = load(&dir.store()).await.phase;
        let case = format!(
            "seed {seed} run {run}: killed after {delay:?} of {whole:?} in phase {phase:?}"
        );
        check_after_resume(&case, &dir.store(), &emulator).await;
        emulator.shutdown().await;
    }
}
