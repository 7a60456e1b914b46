//! No request fails because of a rotation: 200 tasks call through the rotating client and 20
//! follower clients (each following the same `FileTokenStore`) call continuously through 10
//! rotations against the emulator. Every request must succeed, and at the end the emulator's
//! state must match the store.

// Real HTTP to the emulator through the built-in client.
#![cfg(feature = "default-client")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use twilio_accounts::Client;
use twilio_accounts::rotation::AccountState;
use twilio_emulator::Emulator;
use twilio_store::{FileTokenStore, RotationPhase, TokenRecord, TokenStore};
use twilio_transport::Credentials;

const ROTATING_TASKS: usize = 200;
const FOLLOWERS: usize = 20;
const ROTATIONS: usize = 10;
/// The followers' reload interval.
const RELOAD: Duration = Duration::from_millis(40);
/// The hand-off grace. By default it is twice the reload interval (2 x 5 s); with a 40 ms
/// interval, 220 busy tasks on a shared two-core machine can delay a follower's reload past
/// 80 ms, and the grace is a promise about when followers have reloaded: ten times here.
const GRACE: Duration = RELOAD.saturating_mul(10);

static LAST: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Calls the cheap read in a loop until `stop`; counts successes and failures.
fn caller(
    kind: &'static str,
    client: Client,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut failures = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match client.credentials().aws().list().page_size(1).send().await {
                Ok(_) => {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    if failures.len() < 3 {
                        let at = format!(
                            "{} follows {:?}",
                            LAST.lock().unwrap(),
                            client.store_follower().and_then(|f| f.following())
                        );
                        failures.push(format!("{kind} at {at}: {e}"));
                    }
                }
            }
            tokio::task::yield_now().await;
        }
        failures
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_tasks_and_twenty_followers_see_no_failure_through_ten_rotations() {
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = TempDir(
        std::env::temp_dir().join(format!("twilio-no-failed-requests-{}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("store.json");
    let record = TokenRecord::new(emulator.account_sid(), emulator.auth_token());
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::create(&path, &record).unwrap());

    let rotating = Client::builder()
        .credentials(
            Credentials::from_auth_token(emulator.account_sid(), emulator.auth_token()).unwrap(),
        )
        .base_url(&emulator.base_url())
        .build()
        .unwrap();
    let mut followers = Vec::new();
    for _ in 0..FOLLOWERS {
        let follower: Arc<dyn TokenStore> = Arc::new(FileTokenStore::open(&path).unwrap());
        let client = Client::builder()
            .base_url(&emulator.base_url())
            .read_environment(false)
            .build_following(follower, RELOAD)
            .await
            .unwrap();
        followers.push(client);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..ROTATING_TASKS {
        tasks.push(caller(
            "rotating",
            rotating.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        ));
    }
    for client in &followers {
        tasks.push(caller(
            "follower",
            client.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        ));
    }

    for n in 0..ROTATIONS {
        let report = rotating
            .rotate_auth_token()
            .store(store.clone())
            .hand_off_grace(GRACE)
            .on_checkpoint(move |name| *LAST.lock().unwrap() = format!("rotation {n} {name}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
        assert_eq!(report.state(), AccountState::Rotated);
        // Let the callers run with the new token before the next rotation.
        tokio::time::sleep(RELOAD).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut examples = Vec::new();
    for task in tasks {
        examples.extend(task.await.unwrap());
    }

    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!(
        "{} requests through {ROTATIONS} rotations, {failed} failed",
        ok + failed
    );
    assert!(
        ok > (ROTATING_TASKS + FOLLOWERS) as u64,
        "the callers ran: {ok}"
    );
    assert_eq!(
        failed,
        0,
        "{failed} of {} requests failed: {examples:?}",
        ok + failed
    );

    let record = store.load().await.unwrap().unwrap();
    assert_eq!(record.phase, RotationPhase::Idle);
    assert!(record.pending.is_none());
    assert_eq!(
        record.current.token().expose_secret(),
        emulator.auth_token().expose_secret()
    );
    assert!(emulator.secondary_auth_token().is_none());
    emulator.shutdown().await;
}
