//! The fleet acknowledgement gate (issue 17 §4) on a memory store and the emulator: `complete`
//! promotes only once every live follower (SDK clients and webhook validators) reports the new
//! token by heartbeat; a follower that stops heartbeating holds it up only until its heartbeat
//! expires, or until the max-wait, after which the policy decides.

// Real HTTP to the emulator through the built-in client.
#![cfg(feature = "default-client")]

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use twilio_accounts::follow::StoreFollower;
use twilio_accounts::rotation::{AccountState, GatePolicy, RotationStep, StepOutcome};
use twilio_accounts::{Client, SharedCredentials};
use twilio_emulator::Emulator;
use twilio_store::{
    Follower, FollowerId, FollowerRole, Heartbeat, MemoryTokenStore, StoreError, StoreErrorKind,
    TokenLabel, TokenRecord, TokenStore,
};
use twilio_transport::Credentials;

/// The followers' reload interval; their heartbeats live three of them (600 ms), so a follower
/// stalled briefly on a loaded machine does not drop out of the gate's count.
const INTERVAL: Duration = Duration::from_millis(200);

async fn start() -> (Emulator, Arc<MemoryTokenStore>, Client) {
    let emulator = Emulator::builder().start().await.unwrap();
    let store = Arc::new(MemoryTokenStore::new());
    let record = TokenRecord::new(emulator.account_sid(), emulator.auth_token());
    store.save(&record).await.unwrap();
    let client = Client::builder()
        .credentials(credentials(&emulator))
        .base_url(&emulator.base_url())
        .build()
        .unwrap();
    (emulator, store, client)
}

fn credentials(emulator: &Emulator) -> Credentials {
    Credentials::from_auth_token(emulator.account_sid(), emulator.auth_token()).unwrap()
}

/// A webhook validator as `twilio_webhooks::Validator::follow` is one: a store follower whose
/// subscriber accepts every token of the record (this crate cannot depend on the webhooks one).
fn validator(store: &Arc<MemoryTokenStore>, id: &str) -> tokio::task::JoinHandle<()> {
    let follower = Follower::new(store.clone()).with_heartbeat(
        FollowerId::new(id).unwrap(),
        FollowerRole::WebhookValidator,
        INTERVAL * 3,
    );
    follower.subscribe(|record| Ok(record.fingerprints()));
    tokio::spawn(Arc::new(follower).run(INTERVAL, tokio::time::sleep))
}

/// A follower that heartbeats once, holding the current token only, and then stops (a process
/// that hung or died): its heartbeat lives `ttl`.
async fn stopped_follower(store: &Arc<MemoryTokenStore>, ttl: Duration) {
    let record = store.load().await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    let heartbeat = Heartbeat {
        follower: FollowerId::new("stuck-host:9:z").unwrap(),
        role: FollowerRole::Client,
        holds: vec![(TokenLabel::Current, record.current.fingerprint())],
        published_at: now,
        expires_at: now + ttl,
    };
    store.publish_heartbeat(&heartbeat).await.unwrap();
}

/// Waits until `condition` holds, checking every few milliseconds: the tests wait on what they
/// can observe (a heartbeat in the store, a follower's token), never on a guessed duration, so a
/// loaded machine makes them slower, not flaky. Panics after 30 s, naming `what`.
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn gate_step(report: &twilio_accounts::rotation::RotationReport) -> (StepOutcome, String) {
    let step = report
        .step(RotationStep::FleetAcknowledgement)
        .expect("the gate ran");
    (step.outcome(), step.note().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_that_heartbeat_let_the_promotion_through() {
    let (emulator, store, client) = start().await;
    let clients: Vec<StoreFollower> = (0..2)
        .map(|_| {
            let shared = SharedCredentials::new(credentials(&emulator));
            StoreFollower::spawn(store.clone(), shared, INTERVAL)
        })
        .collect();
    let validators = [validator(&store, "web-1"), validator(&store, "web-2")];
    // Every follower has published its first heartbeat.
    eventually("4 heartbeats in the store", async || {
        store.heartbeats().await.unwrap().len() == 4
    })
    .await;

    let report = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .max_wait(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(report.state(), AccountState::Rotated);
    let (outcome, note) = gate_step(&report);
    assert_eq!(outcome, StepOutcome::Succeeded, "{note}");
    assert!(note.starts_with("4 live follower(s) hold token"), "{note}");
    // Every client follower ends on the new token.
    let primary = emulator.auth_token();
    eventually("every client follower on the new token", async || {
        clients.iter().all(|follower| {
            follower
                .following()
                .is_some_and(|(_, fingerprint)| fingerprint.matches(&primary))
        })
    })
    .await;
    let record = store.load().await.unwrap().unwrap();
    assert_eq!(record.choices.max_wait, Some(Duration::from_secs(10)));
    assert_eq!(record.choices.gate_policy, Some(GatePolicy::DoNotPromote));
    validators.iter().for_each(|v| v.abort());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_follower_that_stopped_blocks_until_max_wait_then_the_policy_decides() {
    let (emulator, store, client) = start().await;
    let old = emulator.auth_token();
    stopped_follower(&store, Duration::from_secs(60)).await;

    // Do not promote: stops staged, naming the follower; both tokens still work.
    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .max_wait(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.state(), AccountState::Staged, "{}", err.report());
    assert_eq!(err.failed_step(), RotationStep::FleetAcknowledgement);
    assert!(
        err.error().to_string().contains("stuck-host:9:z (client)"),
        "{}",
        err.error()
    );
    assert_eq!(emulator.auth_token().expose_secret(), old.expose_secret());
    assert!(emulator.secondary_auth_token().is_some());

    // Promote anyway: completes, and the report says who was left behind.
    let report = client
        .rotate_auth_token()
        .store(store.clone())
        .force(true)
        .max_wait(Duration::from_millis(200))
        .gate_policy(GatePolicy::PromoteAnyway)
        .complete()
        .await
        .unwrap();
    assert_eq!(report.state(), AccountState::Rotated);
    let (outcome, note) = gate_step(&report);
    assert_eq!(outcome, StepOutcome::Skipped);
    assert!(
        note.contains("promoting anyway") && note.contains("stuck-host:9:z"),
        "{note}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_follower_that_stopped_drops_out_when_its_heartbeat_expires() {
    let (emulator, store, client) = start().await;
    stopped_follower(&store, Duration::from_millis(400)).await;
    let report = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .max_wait(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(report.state(), AccountState::Rotated);
    let gate = report.step(RotationStep::FleetAcknowledgement).unwrap();
    assert_eq!(gate.outcome(), StepOutcome::Succeeded);
    assert!(
        gate.elapsed() >= Duration::from_millis(200),
        "{:?}",
        gate.elapsed()
    );
    assert!(gate.note().unwrap().starts_with("0 live follower(s)"));
    emulator.shutdown().await;
}

/// A store whose record works but whose heartbeats are refused, as a Vault token without
/// `list` on the heartbeats' folder is.
#[derive(Debug)]
struct HeartbeatsRefused(Arc<MemoryTokenStore>);

impl TokenStore for HeartbeatsRefused {
    fn load(&self) -> twilio_store::StoreFuture<'_, Option<TokenRecord>> {
        self.0.load()
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> twilio_store::StoreFuture<'a, u64> {
        self.0.save(record)
    }

    fn heartbeats(&self) -> twilio_store::StoreFuture<'_, Vec<Heartbeat>> {
        Box::pin(std::future::ready(Err(StoreError::new(
            StoreErrorKind::Permissions,
            "permission denied listing the heartbeats",
        ))))
    }
}

#[tokio::test]
async fn heartbeats_that_cannot_be_read_stop_the_promotion_with_the_store_error_as_cause() {
    let (emulator, memory, client) = start().await;
    let old = emulator.auth_token();
    let store = Arc::new(HeartbeatsRefused(memory));
    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .max_wait(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.state(), AccountState::Staged, "{}", err.report());
    assert_eq!(err.failed_step(), RotationStep::FleetAcknowledgement);
    let message = err.error().to_string();
    assert!(
        message.contains("heartbeats still cannot be read") && !message.contains("run complete"),
        "{message}"
    );
    // The store's own error is the cause, so a caller can tell a refusal from an outage.
    let mut cause = std::error::Error::source(err.error());
    let mut found = None;
    while let Some(error) = cause {
        if let Some(twilio_accounts::Error::Store(store_error)) =
            error.downcast_ref::<twilio_accounts::Error>()
        {
            found = Some(store_error.kind());
        }
        cause = error.source();
    }
    assert_eq!(
        found,
        Some(StoreErrorKind::Permissions),
        "{:?}",
        err.error()
    );
    assert_eq!(emulator.auth_token().expose_secret(), old.expose_secret());
    emulator.shutdown().await;
}
