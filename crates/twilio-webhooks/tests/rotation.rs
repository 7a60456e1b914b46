//! Through a rotation: the emulator signs webhooks with its primary token at each instant
//! while a full rotation runs (stage, promotion, completion); an axum server on 127.0.0.1
//! behind `WebhookLayer`, whose validator follows the rotation's store, receives them. Zero
//! genuine webhooks rejected, zero forged ones accepted, and the old token is rejected once the
//! overlap has passed.
//!
//! The durable rotation's stage / complete API is not on main yet, so the store is written by
//! the tests around the client's calls, as that rotation does: `step_by_step` drives the
//! rotation with `secondary_auth_token().create()` and `auth_token_promotion().update()` and
//! writes the store's phase, `pending`, `current`, `previous` and `completed_at` before and after
//! each step; `one_call` runs `client.rotate_auth_token()` and writes `pending` as soon as the
//! emulator holds the secondary token (during the propagation window the rotation waits out
//! before promoting), then `current`/`previous` when it returns.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::routing::post;
use axum::{Extension, Router};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use twilio_accounts::{Client, Credentials, RetryConfig};
use twilio_emulator::Emulator;
use twilio_types::AuthToken;
use twilio_types::store::{
    MemoryTokenStore, RotationPhase, StoredToken, TokenFingerprint, TokenRecord, TokenStore,
};
use twilio_webhooks::tower::WebhookLayer;
use twilio_webhooks::{Algorithm, TokenLabel, Validator, Verified, sign};

const PUBLIC: &str = "https://hooks.example.com";
const OVERLAP: Duration = Duration::from_secs(3);
const PARAMS: [(&str, &str); 4] = [
    ("From", "+15551234567"),
    ("To", "+15557654321"),
    ("Body", "rotating & still here"),
    ("NumMedia", "0"),
];
const BODY: &str = "From=%2B15551234567&To=%2B15557654321&Body=rotating+%26+still+here&NumMedia=0";

/// Answers with the key the layer matched: `current token 1a2b3c4d`.
async fn sms(Extension(verified): Extension<Verified>) -> String {
    verified.key().to_string()
}

/// POSTs the webhook over a fresh TCP connection; the status and body.
async fn deliver(addr: SocketAddr, signature: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /sms HTTP/1.1\r\nHost: internal:8080\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         X-Twilio-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn signed_with(token: &AuthToken) -> String {
    sign(
        Algorithm::HmacSha1,
        token.expose_secret(),
        &format!("{PUBLIC}/sms"),
        &PARAMS,
    )
}

#[derive(Default)]
struct Tally {
    genuine: AtomicU64,
    genuine_rejected: AtomicU64,
    forged: AtomicU64,
    forged_accepted: AtomicU64,
}

/// A running scene: the emulator, the store, a validator following it, an axum server behind
/// the layer, and Twilio sending a genuine and a forged webhook every few milliseconds.
struct Scene {
    emulator: Arc<Emulator>,
    client: Client,
    old: AuthToken,
    store: Arc<MemoryTokenStore>,
    validator: Validator,
    addr: SocketAddr,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<BTreeSet<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    sender: Option<tokio::task::JoinHandle<()>>,
}

impl Scene {
    async fn start(emulator: Emulator) -> Self {
        let emulator = Arc::new(emulator);
        let old = emulator.auth_token();
        let client = Client::builder()
            .credentials(Credentials::from_auth_token(emulator.account_sid(), old.clone()).unwrap())
            .base_url(&emulator.base_url())
            .retry(RetryConfig::disabled())
            .build()
            .unwrap();

        // The rotation's store, and a validator following it.
        let store = Arc::new(MemoryTokenStore::new());
        store
            .save(&TokenRecord::new(emulator.account_sid(), old.clone()))
            .await
            .unwrap();
        let validator = Validator::new(old.clone()).with_overlap(OVERLAP);
        let follower = tokio::spawn(validator.follow(
            store.clone(),
            Duration::from_millis(5),
            tokio::time::sleep,
        ));

        // The server: axum behind the layer, on 127.0.0.1, told its public URL.
        let app = Router::new()
            .route("/sms", post(sms))
            .layer(WebhookLayer::new(validator.clone(), PUBLIC));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        // Twilio: a genuine webhook (signed by the emulator with its primary token at that
        // instant) and a forged one (a token that is not the account's) every few milliseconds.
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
        let sender = tokio::spawn({
            let (emulator, tally, stop, seen) =
                (emulator.clone(), tally.clone(), stop.clone(), seen.clone());
            async move {
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let signature = emulator.sign_webhook(&format!("{PUBLIC}/sms"), &PARAMS);
                    let (status, key) = deliver(addr, &signature).await;
                    tally.genuine.fetch_add(1, Ordering::SeqCst);
                    if status == 200 {
                        seen.lock().unwrap().insert(key);
                    } else {
                        tally.genuine_rejected.fetch_add(1, Ordering::SeqCst);
                    }
                    n += 1;
                    let forged = AuthToken::new(format!(
                        "{:032x}",
                        (0x5eed_0000_0000_u128 * (u128::from(n) + 1)) ^ 0xdead_beef
                    ))
                    .unwrap();
                    tally.forged.fetch_add(1, Ordering::SeqCst);
                    if deliver(addr, &signed_with(&forged)).await.0 != 403 {
                        tally.forged_accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }
        });
        Self {
            emulator,
            client,
            old,
            store,
            validator,
            addr,
            tally,
            stop,
            seen,
            tasks: vec![follower, server],
            sender: Some(sender),
        }
    }

    async fn record(&self) -> TokenRecord {
        self.store.load().await.unwrap().unwrap()
    }

    /// Stops the webhooks and checks: none genuine rejected, none forged accepted, enough of
    /// both sent, genuine ones signed with the old and the new token accepted.
    async fn stop_and_check(&mut self, new: &AuthToken) {
        self.stop.store(true, Ordering::SeqCst);
        self.sender.take().unwrap().await.unwrap();
        let genuine = self.tally.genuine.load(Ordering::SeqCst);
        let forged = self.tally.forged.load(Ordering::SeqCst);
        let rejected = self.tally.genuine_rejected.load(Ordering::SeqCst);
        let accepted = self.tally.forged_accepted.load(Ordering::SeqCst);
        assert_eq!(rejected, 0, "genuine webhooks rejected (of {genuine})");
        assert_eq!(accepted, 0, "forged webhooks accepted (of {forged})");
        assert!(
            genuine >= 20 && forged >= 20,
            "only {genuine} genuine and {forged} forged sent"
        );
        let seen = self.seen.lock().unwrap().clone();
        let old = TokenFingerprint::of(&self.old).to_string();
        let new = TokenFingerprint::of(new).to_string();
        assert!(seen.iter().any(|k| k.ends_with(&old)), "{seen:?}");
        assert!(seen.iter().any(|k| k.ends_with(&new)), "{seen:?}");
        println!("{genuine} genuine webhooks accepted, {forged} forged rejected; keys: {seen:?}");
    }

    /// Waits until the validator accepts `token` as pending: the hand-off.
    async fn until_pending_known(&self, token: &AuthToken) {
        let wanted = (TokenLabel::Pending, TokenFingerprint::of(token));
        let known = tokio::time::timeout(Duration::from_secs(10), async {
            while !self.validator.accepted_tokens().contains(&wanted) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        known.await.expect("the follower learns the staged token");
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        for task in self.tasks.iter().chain(&self.sender) {
            task.abort();
        }
    }
}

fn settle() -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(100))
}

/// Writes the completion: `pending` becomes `current`, `current` becomes `previous`.
async fn complete(scene: &Scene) -> std::time::Instant {
    let mut record = scene.record().await;
    record.previous = Some(record.current.clone());
    record.current = record.pending.take().unwrap();
    record.completed_at = Some(OffsetDateTime::now_utc());
    record.phase = RotationPhase::Idle;
    scene.store.save(&record).await.unwrap();
    std::time::Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_by_step() {
    let mut scene = Scene::start(Emulator::start().await.unwrap()).await;
    settle().await;

    // Stage: record that a token is being created, create it at Twilio, store it as pending.
    let mut record = scene.record().await;
    record.phase = RotationPhase::Creating;
    scene.store.save(&record).await.unwrap();
    let created = scene
        .client
        .secondary_auth_token()
        .create()
        .suppress_email_notification(true)
        .send()
        .await
        .unwrap();
    let new = created.secondary_auth_token.clone().unwrap();
    let mut record = scene.record().await;
    record.pending = Some(StoredToken::new(new.clone(), OffsetDateTime::now_utc()));
    record.phase = RotationPhase::Staged;
    scene.store.save(&record).await.unwrap();
    // The hand-off: promote only once followers know the new token.
    scene.until_pending_known(&new).await;
    settle().await;

    // Promote: from now on Twilio (the emulator) signs with the new token.
    let mut record = scene.record().await;
    record.phase = RotationPhase::Promoting;
    scene.store.save(&record).await.unwrap();
    scene
        .client
        .auth_token_promotion()
        .update()
        .send()
        .await
        .unwrap();
    assert_eq!(
        scene.emulator.auth_token().expose_secret(),
        new.expose_secret()
    );
    settle().await;

    // Complete: new is current, old is previous for the overlap.
    let completed = complete(&scene).await;
    settle().await;
    // A webhook Twilio signed with the old token just before the promotion, delivered late.
    let (status, key) = deliver(scene.addr, &signed_with(&scene.old)).await;
    assert_eq!(
        (status, key.split(' ').next()),
        (200, Some("previous")),
        "{key}"
    );
    settle().await;
    scene.stop_and_check(&new).await;

    // After the overlap: the old token is rejected, the new one still accepted.
    tokio::time::sleep(OVERLAP.saturating_sub(completed.elapsed()) + Duration::from_millis(200))
        .await;
    assert_eq!(deliver(scene.addr, &signed_with(&scene.old)).await.0, 403);
    let genuine = scene
        .emulator
        .sign_webhook(&format!("{PUBLIC}/sms"), &PARAMS);
    let (status, key) = deliver(scene.addr, &genuine).await;
    assert_eq!((status, key.split(' ').next()), (200, Some("current")));
    let new_fingerprint = TokenFingerprint::of(&new);
    assert_eq!(
        scene.validator.accepted_tokens(),
        [(TokenLabel::Current, new_fingerprint)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call() {
    // The emulator refuses a new token for a second, like Twilio's propagation: the rotation
    // verifies it until it works, and only then promotes (the follower needs milliseconds).
    let emulator = Emulator::builder()
        .propagation_delay(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let mut scene = Scene::start(emulator).await;
    settle().await;

    let rotation = tokio::spawn({
        let client = scene.client.clone();
        async move {
            client
                .rotate_auth_token()
                .suppress_email_notification(true)
                .propagation_window(Duration::from_secs(10))
                .send()
                .await
        }
    });
    // Stage: as soon as Twilio holds the secondary token, store it as pending.
    let new = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(token) = scene.emulator.secondary_auth_token() {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the rotation creates a secondary token");
    let mut record = scene.record().await;
    record.pending = Some(StoredToken::new(new.clone(), OffsetDateTime::now_utc()));
    record.phase = RotationPhase::Staged;
    scene.store.save(&record).await.unwrap();
    scene.until_pending_known(&new).await;
    assert!(
        scene.emulator.secondary_auth_token().is_some(),
        "known before the promotion"
    );

    let report = rotation.await.unwrap().expect("the rotation succeeds");
    assert_eq!(
        report.new_auth_token().unwrap().expose_secret(),
        new.expose_secret()
    );
    complete(&scene).await;
    settle().await;
    let (status, key) = deliver(scene.addr, &signed_with(&scene.old)).await;
    assert_eq!(
        (status, key.split(' ').next()),
        (200, Some("previous")),
        "{key}"
    );
    scene.stop_and_check(&new).await;
}
