//! The durable two-phase rotation against the emulator: the token store records every step
//! before anything depends on it, `stage`/`complete`/`resume`, and the regressions of the
//! defects that could lock a program out (a promotion that happened but answered 4xx, two
//! overlapping rotations, `?` dropping the new token).

// Real HTTP to the emulator through the built-in client.
#![cfg(feature = "default-client")]

use std::sync::Arc;
use std::time::Duration;

use twilio_accounts::Client;
use twilio_accounts::rotation::{AccountState, ClientToken, RotationError, RotationStep};
use twilio_emulator::{Emulator, Fault};
use twilio_store::{MemoryTokenStore, RotationPhase, StoredToken, TokenRecord, TokenStore};
use twilio_transport::Credentials;
use twilio_types::AuthToken;

const PROMOTE: &str = "/v1/AuthTokens/Promote";

async fn start() -> Emulator {
    Emulator::builder()
        .start()
        .await
        .expect("the emulator starts")
}

fn client_with(emulator: &Emulator, token: AuthToken) -> Client {
    Client::builder()
        .credentials(Credentials::from_auth_token(emulator.account_sid(), token).unwrap())
        .base_url(&emulator.base_url())
        .build()
        .unwrap()
}

async fn store_for(emulator: &Emulator) -> Arc<MemoryTokenStore> {
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save(&TokenRecord::new(
            emulator.account_sid(),
            emulator.auth_token(),
        ))
        .await
        .unwrap();
    store
}

async fn load(store: &MemoryTokenStore) -> TokenRecord {
    store.load().await.unwrap().expect("a record")
}

async fn works(emulator: &Emulator, token: &AuthToken) -> bool {
    client_with(emulator, token.clone())
        .credentials()
        .aws()
        .list()
        .page_size(1)
        .send()
        .await
        .is_ok()
}

/// Every token the emulator accepts is in the store, and the store's `current` works.
async fn assert_store_matches(emulator: &Emulator, record: &TokenRecord) {
    assert_eq!(record.phase, RotationPhase::Idle);
    assert!(record.pending.is_none());
    assert_eq!(
        record.current.token().expose_secret(),
        emulator.auth_token().expose_secret()
    );
    assert!(emulator.secondary_auth_token().is_none());
    assert!(works(emulator, record.current.token()).await);
}

#[tokio::test]
async fn rotation_with_a_store_records_current_and_previous() {
    let emulator = start().await;
    let old = emulator.auth_token();
    let store = store_for(&emulator).await;
    let client = client_with(&emulator, old.clone());

    let report = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .send()
        .await
        .unwrap();

    assert_eq!(report.state(), AccountState::Rotated);
    let record = load(&store).await;
    assert_store_matches(&emulator, &record).await;
    assert_eq!(record.current.fingerprint(), report.new_token().unwrap());
    assert_eq!(
        record.previous.as_ref().unwrap().token().expose_secret(),
        old.expose_secret()
    );
    assert!(record.completed_at.is_some());
    assert!(!works(&emulator, &old).await);
    emulator.shutdown().await;
}

#[tokio::test]
async fn stage_then_complete_respects_the_hand_off_grace() {
    let emulator = start().await;
    let old = emulator.auth_token();
    let store = store_for(&emulator).await;
    let client = client_with(&emulator, old.clone());

    let staged = client
        .rotate_auth_token()
        .store(store.clone())
        .stage()
        .await
        .unwrap();
    assert_eq!(staged.state(), AccountState::Staged);
    assert_eq!(staged.client_token(), ClientToken::New);
    let record = load(&store).await;
    assert_eq!(record.phase, RotationPhase::Staged);
    let pending = record.pending.clone().expect("pending is stored");
    assert_eq!(pending.fingerprint(), staged.new_token().unwrap());
    assert!(works(&emulator, &old).await && works(&emulator, pending.token()).await);

    // Too early: refused, nothing sent, still staged.
    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::from_secs(3600))
        .complete()
        .await
        .unwrap_err();
    assert_eq!(err.failed_step(), RotationStep::HandOffGrace);
    assert_eq!(err.state(), AccountState::Staged);
    assert_eq!(load(&store).await.phase, RotationPhase::Staged);
    assert!(works(&emulator, &old).await);

    // Forced (a fresh client from the store's current token, as another process would).
    let other = client_with(&emulator, old.clone());
    let report = other
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::from_secs(3600))
        .force(true)
        .complete()
        .await
        .unwrap();
    assert_eq!(report.state(), AccountState::Rotated);
    assert_store_matches(&emulator, &load(&store).await).await;
    assert_eq!(
        emulator.auth_token().expose_secret(),
        pending.token().expose_secret()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_second_rotation_of_a_staged_store_is_refused() {
    let emulator = start().await;
    let store = store_for(&emulator).await;
    let client = client_with(&emulator, emulator.auth_token());
    client
        .rotate_auth_token()
        .store(store.clone())
        .stage()
        .await
        .unwrap();
    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.failed_step(), RotationStep::RecordInStore);
    assert_eq!(err.state(), AccountState::Staged);
    assert!(
        err.error().to_string().contains("run resume"),
        "{}",
        err.error()
    );
    emulator.shutdown().await;
}

/// Defect 1: a promotion that happened but is answered with a 4xx (a proxy, a rate limiter,
/// a retried request) must not be reported as unchanged, nor switch the client back to the
/// revoked token.
#[tokio::test]
async fn a_promotion_that_happened_but_answered_4xx_completes() {
    for status in [404, 429, 401] {
        let emulator = start().await;
        let old = emulator.auth_token();
        emulator
            .faults()
            .inject(
                Fault::status(status)
                    .on("POST", PROMOTE)
                    .times(1)
                    .after_processing(),
            )
            .unwrap();
        let store = store_for(&emulator).await;
        let client = client_with(&emulator, old.clone());

        let report = client
            .rotate_auth_token()
            .store(store.clone())
            .hand_off_grace(Duration::ZERO)
            .propagation_window(Duration::from_secs(5))
            .send()
            .await
            .unwrap_or_else(|e| panic!("HTTP {status}: {e}\n{}", e.report()));

        assert_eq!(report.state(), AccountState::Rotated, "HTTP {status}");
        assert_eq!(report.client_token(), ClientToken::New);
        assert_store_matches(&emulator, &load(&store).await).await;
        client.credentials().aws().list().send().await.unwrap();
        emulator.shutdown().await;
    }
}

/// Defect 1 (overlap): two rotations through clones of one client: one runs, the other fails
/// at once without touching anything; the client works afterwards.
#[tokio::test]
async fn overlapping_rotations_of_one_account_do_not_race() {
    let emulator = start().await;
    let client = client_with(&emulator, emulator.auth_token());
    let (a, b) = tokio::join!(
        client.rotate_auth_token().send(),
        client.clone().rotate_auth_token().send()
    );
    let (ok, err): (Vec<_>, Vec<_>) = [a, b].into_iter().partition(Result::is_ok);
    assert_eq!((ok.len(), err.len()), (1, 1));
    let err = err.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.state(), AccountState::Unchanged);
    assert!(matches!(err.error(), twilio_accounts::Error::Store(_)));
    assert!(err.error().is_retryable());
    client.credentials().aws().list().send().await.unwrap();
    assert!(emulator.secondary_auth_token().is_none());
    emulator.shutdown().await;
}

/// Defect 3: `?` must not turn a failed rotation into an error that no longer holds the new
/// token. `RotationError` does not convert into `twilio_accounts::Error` (this fails to
/// compile if it does), and boxing it keeps the token reachable.
#[test]
fn a_rotation_error_does_not_convert_into_the_lossy_crate_error() {
    trait AmbiguousIfInto<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfInto<()> for T {}
    impl<T: Into<twilio_accounts::Error>> AmbiguousIfInto<u8> for T {}
    // Resolves only while exactly one impl applies, i.e. while there is no `From`.
    <RotationError as AmbiguousIfInto<_>>::check();
}

async fn with_phase(
    emulator: &Emulator,
    phase: RotationPhase,
    pending: Option<AuthToken>,
) -> Arc<MemoryTokenStore> {
    let store = Arc::new(MemoryTokenStore::new());
    let mut record = TokenRecord::new(emulator.account_sid(), emulator.auth_token());
    record.phase = phase;
    record.phase_since = time::OffsetDateTime::UNIX_EPOCH;
    record.pending = pending.map(|t| StoredToken::new(t, time::OffsetDateTime::now_utc()));
    store.save(&record).await.unwrap();
    store
}

async fn resume(emulator: &Emulator, store: &Arc<MemoryTokenStore>) -> AccountState {
    let client = client_with(emulator, load(store).await.current.token().clone());
    let report = client
        .rotate_auth_token()
        .store(store.clone())
        .propagation_window(Duration::from_secs(2))
        // A single consumer: nothing owed to followers.
        .hand_off_grace(Duration::ZERO)
        .resume()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
    report.state()
}

#[tokio::test]
async fn resume_finishes_or_rolls_back_from_every_phase_and_is_idempotent() {
    // Creating, with a secondary Twilio created that nobody stored: deleted.
    let emulator = start().await;
    let store = with_phase(&emulator, RotationPhase::Creating, None).await;
    let creator = client_with(&emulator, emulator.auth_token());
    creator
        .secondary_auth_token()
        .create()
        .send()
        .await
        .unwrap();
    assert_eq!(resume(&emulator, &store).await, AccountState::Unchanged);
    assert_store_matches(&emulator, &load(&store).await).await;
    assert_eq!(resume(&emulator, &store).await, AccountState::Unchanged);
    emulator.shutdown().await;

    // Staged and Promoting, promotion not sent: finished.
    for phase in [RotationPhase::Staged, RotationPhase::Promoting] {
        let emulator = start().await;
        let creator = client_with(&emulator, emulator.auth_token());
        let created = creator
            .secondary_auth_token()
            .create()
            .send()
            .await
            .unwrap();
        let new = created.secondary_auth_token.unwrap();
        let store = with_phase(&emulator, phase, Some(new.clone())).await;
        assert_eq!(resume(&emulator, &store).await, AccountState::Rotated);
        assert_store_matches(&emulator, &load(&store).await).await;
        assert_eq!(emulator.auth_token().expose_secret(), new.expose_secret());
        assert_eq!(resume(&emulator, &store).await, AccountState::Unchanged);
        emulator.shutdown().await;
    }

    // Promoting, promotion happened before the crash: recorded.
    let emulator = start().await;
    let creator = client_with(&emulator, emulator.auth_token());
    let new = creator
        .secondary_auth_token()
        .create()
        .send()
        .await
        .unwrap()
        .secondary_auth_token
        .unwrap();
    let store = with_phase(&emulator, RotationPhase::Promoting, Some(new.clone())).await;
    creator
        .auth_token_promotion()
        .update()
        .send()
        .await
        .unwrap();
    assert_eq!(resume(&emulator, &store).await, AccountState::Rotated);
    assert_store_matches(&emulator, &load(&store).await).await;
    emulator.shutdown().await;

    // Staged, but the secondary was deleted meanwhile: rolled back.
    let emulator = start().await;
    let store = with_phase(
        &emulator,
        RotationPhase::Staged,
        Some(AuthToken::new("0123456789abcdef0123456789abcdef").unwrap()),
    )
    .await;
    assert_eq!(resume(&emulator, &store).await, AccountState::Unchanged);
    assert_store_matches(&emulator, &load(&store).await).await;
    emulator.shutdown().await;
}

/// A store whose `fail_at`-th save fails (an I/O error), to walk every durable write.
#[derive(Debug)]
struct FailingStore {
    inner: MemoryTokenStore,
    saves: std::sync::atomic::AtomicU32,
    fail_at: u32,
}

impl TokenStore for FailingStore {
    fn load(&self) -> twilio_store::StoreFuture<'_, Option<TokenRecord>> {
        self.inner.load()
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> twilio_store::StoreFuture<'a, u64> {
        let n = self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if n == self.fail_at {
            return Box::pin(std::future::ready(Err(twilio_store::StoreError::new(
                twilio_store::StoreErrorKind::Io,
                "disk full (injected)",
            ))));
        }
        self.inner.save(record)
    }
}

/// Every durable write of a rotation fails in turn: the rotation reports it, never depends on
/// a token that is not stored, and `resume` (with the store healthy again) ends in `Rotated`
/// or `Unchanged` with the store matching Twilio.
#[tokio::test]
async fn a_failed_store_write_at_any_step_is_recoverable() {
    let expected = [
        // 1: taking the lease, 2: `Creating` (nothing sent), 3: `pending`, 4: `Staged` (the
        // secondary is deleted again), 5: `Promoting` (not promoted: still staged), 6: the
        // promotion's record.
        (1, AccountState::Unchanged),
        (2, AccountState::Unchanged),
        (3, AccountState::Unchanged),
        (4, AccountState::Unchanged),
        (5, AccountState::Staged),
        (6, AccountState::RotatedUnverified),
    ];
    for (fail_at, state) in expected {
        let emulator = start().await;
        let memory = MemoryTokenStore::new();
        memory
            .save(&TokenRecord::new(
                emulator.account_sid(),
                emulator.auth_token(),
            ))
            .await
            .unwrap();
        let failing = Arc::new(FailingStore {
            inner: memory.clone(),
            saves: Default::default(),
            fail_at,
        });
        let client = client_with(&emulator, emulator.auth_token());
        let err = client
            .rotate_auth_token()
            .store(failing)
            .hand_off_grace(Duration::ZERO)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.state(),
            state,
            "save {fail_at}: {err}\n{}",
            err.report()
        );
        assert!(
            matches!(err.error(), twilio_accounts::Error::Store(_)),
            "save {fail_at}"
        );
        // Whatever Twilio accepts is in the store.
        let record = load(&memory).await;
        let stored: Vec<_> = record
            .tokens()
            .map(|(_, t)| t.token().expose_secret().to_owned())
            .collect();
        assert!(stored.contains(&emulator.auth_token().expose_secret().to_owned()));
        if let Some(secondary) = emulator.secondary_auth_token() {
            assert!(
                stored.contains(&secondary.expose_secret().to_owned()),
                "save {fail_at}"
            );
        }
        let store = Arc::new(memory);
        let resumed = resume(&emulator, &store).await;
        assert!(
            matches!(resumed, AccountState::Rotated | AccountState::Unchanged),
            "save {fail_at}: {resumed:?}"
        );
        assert_store_matches(&emulator, &load(&store).await).await;
        emulator.shutdown().await;
    }
}

/// A refused promotion rolls back without failing a follower: the record goes back to `Idle`
/// (the staged token still stored) and the hand-off grace passes before the secondary token is
/// deleted, so every follower is back on `current` first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roll_back_hands_followers_back_before_deleting_the_staged_token() {
    let emulator = start().await;
    let old = emulator.auth_token();
    emulator
        .faults()
        .inject(Fault::status(400).on("POST", PROMOTE).times(1))
        .unwrap();
    let store = store_for(&emulator).await;
    let follower = Client::builder()
        .base_url(&emulator.base_url())
        .read_environment(false)
        .build_following(store.clone(), Duration::from_millis(20))
        .await
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = {
        let (follower, stop) = (follower.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, 0u32);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match follower
                    .credentials()
                    .aws()
                    .list()
                    .page_size(1)
                    .send()
                    .await
                {
                    Ok(_) => ok += 1,
                    Err(_) => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (ok, failed)
        })
    };
    let client = client_with(&emulator, old.clone());

    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = calls.await.unwrap();
    assert_eq!(err.state(), AccountState::Unchanged, "{}", err.report());
    assert!(ok > 0);
    assert_eq!(failed, 0, "the follower failed {failed} time(s)");
    assert_store_matches(&emulator, &load(&store).await).await;
    assert_eq!(
        follower.store_follower().unwrap().following().unwrap().0,
        twilio_store::TokenLabel::Current
    );
    emulator.shutdown().await;
}

/// An interrupted roll-back (`Idle` with the withdrawn token still stored): `resume` deletes the
/// secondary token and drops it.
#[tokio::test]
async fn resume_finishes_an_interrupted_roll_back() {
    let emulator = start().await;
    let creator = client_with(&emulator, emulator.auth_token());
    let new = creator
        .secondary_auth_token()
        .create()
        .send()
        .await
        .unwrap()
        .secondary_auth_token
        .unwrap();
    let store = with_phase(&emulator, RotationPhase::Idle, Some(new)).await;
    // A new rotation refuses to start over it.
    let err = creator
        .rotate_auth_token()
        .store(store.clone())
        .send()
        .await
        .unwrap_err();
    assert!(err.error().to_string().contains("run resume"));
    assert_eq!(resume(&emulator, &store).await, AccountState::Unchanged);
    assert_store_matches(&emulator, &load(&store).await).await;
    emulator.shutdown().await;
}
