//! Following a token store: a client switches to `pending` as soon as it is staged, back to
//! `current` otherwise, keeps its last good token while the store is broken, and stops
//! following when dropped. Real files, paused Tokio time, requests through a capturing
//! transport to see which token each one carries.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

mod common;

use base64::Engine as _;
use bytes::Bytes;
use common::LogCapture;
use http::{Request, Response};
use http_body_util::Full;
use twilio_accounts::follow::{CHANGE_CHECK_INTERVAL, DEFAULT_RELOAD_INTERVAL, StoreFollower};
use twilio_accounts::{Client, Credentials, Error, SharedCredentials};
use twilio_store::{
    FileTokenStore, MemoryTokenStore, RotationPhase, StoreErrorKind, StoredToken, TokenLabel,
    TokenRecord, TokenStore,
};
use twilio_types::{AccountSid, AuthToken};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const OTHER_ACCOUNT: &str = "ACffffffffffffffffffffffffffffffff";
const OLD: &str = "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00";
const NEW: &str = "neWneWneWneWneWneWneWneWneWneW11";
const NEXT: &str = "nexTnexTnexTnexTnexTnexTnexTnex2";

fn account() -> AccountSid {
    ACCOUNT.parse().unwrap()
}

fn token(value: &str) -> AuthToken {
    AuthToken::new(value).unwrap()
}

/// A record with `current`, and `pending` staged when given.
fn record(current: &str, pending: Option<&str>, phase: RotationPhase) -> TokenRecord {
    let mut record = TokenRecord::new(account(), token(current));
    record.pending = pending.map(|p| StoredToken::new(token(p), time::OffsetDateTime::now_utc()));
    record.phase = phase;
    record
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "twilio-follow-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client whose transport answers every request `200 {}` and notes the token it carried.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn builder(&self) -> twilio_accounts::ClientBuilder {
        let seen = self.clone();
        let transport = tower::service_fn(move |request: Request<Bytes>| {
            let header = request.headers()[http::header::AUTHORIZATION]
                .to_str()
                .unwrap()
                .to_owned();
            seen.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(header);
            async {
                let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        Client::builder()
            .base_url("http://127.0.0.1:9")
            .read_environment(false)
            .transport(transport)
    }

    fn last(&self) -> String {
        let last = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .cloned()
            .expect("a request was made");
        for name in [OLD, NEW, NEXT] {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{name}", account().as_str()));
            if last == format!("Basic {basic}") {
                return name.to_owned();
            }
        }
        panic!("a request carried an unknown Authorization value");
    }
}

/// The token `client`'s next request carries.
async fn token_in_use(client: &Client, seen: &Seen) -> String {
    client
        .messaging_geopermissions()
        .fetch()
        .send()
        .await
        .unwrap();
    seen.last()
}

fn shared(value: &str) -> SharedCredentials {
    SharedCredentials::new(Credentials::from_auth_token(account(), token(value)).unwrap())
}

/// Replaces whatever the store holds with `record` (a compare-and-swap on the stored revision).
async fn save(store: &dyn TokenStore, record: &TokenRecord) {
    let mut record = record.clone();
    record.revision = store.load().await.unwrap().map_or(0, |r| r.revision);
    store.save(&record).await.unwrap();
}

fn sleep(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(ms))
}

#[tokio::test(start_paused = true)]
async fn a_file_store_is_followed_through_a_rotation_within_a_change_check() {
    let dir = TempDir::new("rotation");
    let store = Arc::new(
        FileTokenStore::create(
            dir.0.join("tokens.json"),
            &record(OLD, None, RotationPhase::Idle),
        )
        .unwrap(),
    );
    let seen = Seen::default();
    let client = seen
        .builder()
        .build_following(store.clone(), DEFAULT_RELOAD_INTERVAL)
        .await
        .unwrap();
    assert_eq!(token_in_use(&client, &seen).await, OLD);
    let follower = client.store_follower().expect("a following client");
    assert_eq!(follower.following().unwrap().0, TokenLabel::Current);

    // Creating: nothing to use yet. Staged and promoting: the pending token, found through
    // the file's change stamp well before the 5 s reload.
    let steps = [
        (record(OLD, Some(NEW), RotationPhase::Creating), OLD),
        (record(OLD, Some(NEW), RotationPhase::Staged), NEW),
        (record(OLD, Some(NEW), RotationPhase::Promoting), NEW),
        (record(NEW, None, RotationPhase::Idle), NEW),
        // A rotation that rolls back to the old token takes the follower back with it.
        (record(NEW, Some(NEXT), RotationPhase::Staged), NEXT),
        (record(NEW, None, RotationPhase::Idle), NEW),
    ];
    for (record, expected) in steps {
        save(store.as_ref(), &record).await;
        sleep(CHANGE_CHECK_INTERVAL.as_millis() as u64 + 10).await;
        assert_eq!(token_in_use(&client, &seen).await, expected, "{record:?}");
    }
    let (label, fingerprint) = follower.following().unwrap();
    assert_eq!(label, TokenLabel::Current);
    assert!(fingerprint.matches(&token(NEW)));
}

/// A memory store that offers no change stamp (the trait's default).
#[derive(Debug, Default)]
struct NoStamp(MemoryTokenStore);

impl TokenStore for NoStamp {
    fn load(&self) -> twilio_store::StoreFuture<'_, Option<TokenRecord>> {
        self.0.load()
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> twilio_store::StoreFuture<'a, u64> {
        self.0.save(record)
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_without_change_stamps_is_reloaded_on_the_interval() {
    let store = Arc::new(NoStamp::default());
    save(store.as_ref(), &record(OLD, None, RotationPhase::Idle)).await;
    let seen = Seen::default();
    let client = seen
        .builder()
        .build_following(store.clone(), Duration::from_secs(5))
        .await
        .unwrap();
    sleep(1).await;
    save(
        store.as_ref(),
        &record(OLD, Some(NEW), RotationPhase::Staged),
    )
    .await;
    sleep(4_800).await;
    assert_eq!(token_in_use(&client, &seen).await, OLD);
    sleep(400).await;
    assert_eq!(token_in_use(&client, &seen).await, NEW);
}

#[cfg(unix)]
#[tokio::test(start_paused = true)]
async fn a_broken_store_keeps_the_last_good_token_and_says_so() {
    let logs = LogCapture::default();
    let _guard = logs.install();
    let dir = TempDir::new("broken");
    let path = dir.0.join("tokens.json");
    let store = Arc::new(
        FileTokenStore::create(&path, &record(OLD, Some(NEW), RotationPhase::Staged)).unwrap(),
    );
    let seen = Seen::default();
    let credentials = shared(OLD);
    let client = seen
        .builder()
        .credentials(credentials.clone())
        .build()
        .unwrap();
    let follower = StoreFollower::spawn(store.clone(), credentials, DEFAULT_RELOAD_INTERVAL);
    sleep(1).await;
    assert_eq!(token_in_use(&client, &seen).await, NEW);

    use std::os::unix::fs::PermissionsExt as _;
    type Breakage<'a> = (&'a str, StoreErrorKind, Box<dyn Fn() + 'a>);
    let breakages: [Breakage<'_>; 3] = [
        (
            "malformed",
            StoreErrorKind::Malformed,
            Box::new(|| std::fs::write(&path, b"{ half a record").unwrap()),
        ),
        (
            "readable by others",
            StoreErrorKind::Permissions,
            Box::new(|| {
                // A good record, but readable by others: refused all the same.
                std::fs::remove_file(&path).unwrap();
                FileTokenStore::create(&path, &record(NEXT, None, RotationPhase::Idle)).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            }),
        ),
        (
            "gone",
            StoreErrorKind::NotFound,
            Box::new(|| std::fs::remove_file(&path).unwrap()),
        ),
    ];
    for (what, kind, breakage) in breakages {
        breakage();
        // Both the quick change check and a full reload keep the token.
        sleep(CHANGE_CHECK_INTERVAL.as_millis() as u64 + 10).await;
        assert_eq!(token_in_use(&client, &seen).await, NEW, "{what}");
        sleep(DEFAULT_RELOAD_INTERVAL.as_millis() as u64 + 10).await;
        assert_eq!(token_in_use(&client, &seen).await, NEW, "{what}");
        assert_eq!(
            follower.reload_now().await.unwrap_err().kind(),
            kind,
            "{what}"
        );
    }
    let text = logs.text();
    assert!(
        text.matches("keeping the last good tokens").count() >= 6,
        "{text}"
    );
    assert!(
        text.contains("malformed") && text.contains("0644"),
        "{text}"
    );

    // Repaired: followed again at once.
    FileTokenStore::create(&path, &record(NEXT, None, RotationPhase::Idle)).unwrap();
    sleep(CHANGE_CHECK_INTERVAL.as_millis() as u64 + 10).await;
    assert_eq!(token_in_use(&client, &seen).await, NEXT);
    let text = logs.text();
    assert!(text.contains("following the token store again"), "{text}");
    for secret in [OLD, NEW, NEXT] {
        assert!(!text.contains(secret), "a token in the logs: {text}");
    }
}

#[tokio::test(start_paused = true)]
async fn another_accounts_record_is_never_followed() {
    let store = Arc::new(MemoryTokenStore::new());
    let mut foreign = record(NEW, None, RotationPhase::Idle);
    foreign.account_sid = OTHER_ACCOUNT.parse().unwrap();
    save(store.as_ref(), &foreign).await;
    let seen = Seen::default();
    let credentials = shared(OLD);
    let client = seen
        .builder()
        .credentials(credentials.clone())
        .build()
        .unwrap();
    let follower = StoreFollower::spawn(store, credentials, DEFAULT_RELOAD_INTERVAL);
    let err = follower.reload_now().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Invalid);
    assert!(err.to_string().contains(OTHER_ACCOUNT), "{err}");
    assert_eq!(token_in_use(&client, &seen).await, OLD);
    assert!(follower.following().is_none());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_follower_stops_it() {
    let store = Arc::new(MemoryTokenStore::new());
    save(store.as_ref(), &record(OLD, None, RotationPhase::Idle)).await;
    let seen = Seen::default();
    let credentials = shared(OLD);
    let client = seen
        .builder()
        .credentials(credentials.clone())
        .build()
        .unwrap();
    let follower = StoreFollower::spawn(store.clone(), credentials, DEFAULT_RELOAD_INTERVAL);
    follower.reload_now().await.unwrap();
    drop(follower);
    save(
        store.as_ref(),
        &record(OLD, Some(NEW), RotationPhase::Staged),
    )
    .await;
    sleep(60_000).await;
    assert_eq!(token_in_use(&client, &seen).await, OLD);

    // A following client stops following with its last clone.
    let following = seen
        .builder()
        .build_following(store.clone(), DEFAULT_RELOAD_INTERVAL)
        .await
        .unwrap();
    let kept = following.shared_credentials().clone();
    let plain = seen.builder().credentials(kept).build().unwrap();
    assert_eq!(token_in_use(&plain, &seen).await, NEW);
    drop(following);
    save(
        store.as_ref(),
        &record(NEW, Some(NEXT), RotationPhase::Staged),
    )
    .await;
    sleep(60_000).await;
    assert_eq!(token_in_use(&plain, &seen).await, NEW);
}

#[tokio::test(start_paused = true)]
async fn a_store_that_cannot_give_credentials_fails_the_build() {
    let seen = Seen::default();
    let empty: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let err = seen
        .builder()
        .build_following(empty, DEFAULT_RELOAD_INTERVAL)
        .await
        .unwrap_err();
    let Error::Build(build) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(build.field(), Some("store"));
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("no record"), "{cause}");
}
