//! Through a rotation: the emulator signs webhooks with its primary token at each instant
//! while the SDK's own durable rotation runs (`client.rotate_auth_token().store(..)`: stage,
//! hand-off, promotion, completion); an axum server on 127.0.0.1 behind `WebhookLayer`, whose
//! validator follows the same store, receives them, beside a forged webhook (signed with a
//! token that is not the account's) after each genuine one. Zero genuine webhooks rejected, zero
//! forged ones accepted, the validator matches the new token as `pending` at the promotion and
//! as `current` after it, and the old token is rejected once the overlap has passed.
//!
//! The tests never write the store: they create it with the account's current token (as
//! `twilio-rotate init` does), and from then on only the rotation writes it.
//! `stage_then_complete` runs the two phases apart over a [`FileTokenStore`] in a temporary
//! directory; `one_call` runs `send()` (stage, hand-off grace, complete) over a
//! [`MemoryTokenStore`], against an emulator that, like Twilio, takes a moment to accept a
//! new token.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::{Extension, Router};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use twilio_accounts::rotation::{AccountState, Checkpoint, RotateAuthToken, RotationStep};
use twilio_accounts::{Client, Credentials, RetryConfig};
use twilio_emulator::Emulator;
use twilio_store::{
    FileTokenStore, MemoryTokenStore, RotationPhase, TokenFingerprint, TokenRecord, TokenStore,
};
use twilio_types::AuthToken;
use twilio_webhooks::tower::WebhookLayer;
use twilio_webhooks::{
    Algorithm, Rejection, TokenLabel, Validator, Verified, WebhookRequest, sign,
};

const PUBLIC: &str = "https://hooks.example.com";
/// How long the validator accepts the replaced token after the rotation completed.
const OVERLAP: Duration = Duration::from_secs(3);
/// How often the validator reloads the store.
const RELOAD: Duration = Duration::from_millis(5);
/// The rotation's hand-off grace: far more than twice the reload interval, as the rotation
/// guide asks, so that the follower has the staged token before the promotion.
const HAND_OFF: Duration = Duration::from_millis(500);
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

fn url() -> String {
    format!("{PUBLIC}/sms")
}

fn signed_with(token: &AuthToken) -> String {
    sign(Algorithm::HmacSha1, token.expose_secret(), &url(), &PARAMS)
}

/// What the server answers for a webhook the layer accepted with `label` and `token`.
fn key(label: TokenLabel, token: &AuthToken) -> String {
    format!("{label} token {}", TokenFingerprint::of(token))
}

/// Validates `signature` directly (no server), as of `now`: the matched key, or the rejection.
fn validate_at(
    validator: &Validator,
    signature: &str,
    now: OffsetDateTime,
) -> Result<String, Rejection> {
    let url = url();
    let request = WebhookRequest::new(&url)
        .signature(Some(signature))
        .form_body(BODY.as_bytes());
    validator
        .validate_at(&request, now)
        .map(|verified| verified.key().to_string())
}

/// A rotation checkpoint's name, and what the validator made of a genuine webhook there.
type Seen = (Checkpoint, Result<String, Rejection>);

#[derive(Default)]
struct Tally {
    genuine: AtomicU64,
    genuine_rejected: AtomicU64,
    forged: AtomicU64,
    forged_accepted: AtomicU64,
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "twilio-webhooks-rotation-{name}-{}",
            std::process::id()
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

/// A running scene: the emulator, the rotation's store, a validator following it, an axum
/// server behind the layer, and Twilio sending a genuine and a forged webhook every few
/// milliseconds.
struct Scene {
    emulator: Arc<Emulator>,
    client: Client,
    old: AuthToken,
    store: Arc<dyn TokenStore>,
    validator: Validator,
    addr: SocketAddr,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeSet<String>>>,
    /// What the validator matched at the rotation's checkpoints (see [`Scene::rotation`]).
    checkpoints: Arc<Mutex<Vec<Seen>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    sender: Option<tokio::task::JoinHandle<()>>,
}

impl Scene {
    /// Starts everything around `store`, which already holds the emulator's current token.
    async fn start(emulator: Emulator, store: Arc<dyn TokenStore>) -> Self {
        let emulator = Arc::new(emulator);
        let old = emulator.auth_token();
        let client = Client::builder()
            .credentials(Credentials::from_auth_token(emulator.account_sid(), old.clone()).unwrap())
            .base_url(&emulator.base_url())
            .retry(RetryConfig::disabled())
            .build()
            .unwrap();

        // A validator following the rotation's store.
        let validator = Validator::new(old.clone()).with_overlap(OVERLAP);
        let follower = tokio::spawn(validator.follow(store.clone(), RELOAD, tokio::time::sleep));

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
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let sender = tokio::spawn({
            let (emulator, tally, stop, seen) =
                (emulator.clone(), tally.clone(), stop.clone(), seen.clone());
            async move {
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let signature = emulator.sign_webhook(&url(), &PARAMS);
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
            checkpoints: Arc::default(),
            tasks: vec![follower, server],
            sender: Some(sender),
        }
    }

    async fn record(&self) -> TokenRecord {
        self.store.load().await.unwrap().unwrap()
    }

    /// The SDK's rotation over the scene's store. At the `promoting` checkpoint (recorded, the
    /// promotion about to be sent) and the `promoted` one (answered, not yet recorded), the
    /// validator checks a webhook the emulator signs at that instant; the outcomes go to
    /// `checkpoints`.
    fn rotation(&self) -> RotateAuthToken {
        let (validator, emulator, checkpoints) = (
            self.validator.clone(),
            self.emulator.clone(),
            self.checkpoints.clone(),
        );
        self.client
            .rotate_auth_token()
            .store(self.store.clone())
            .hand_off_grace(HAND_OFF)
            .suppress_email_notification(true)
            .propagation_window(Duration::from_secs(10))
            .on_checkpoint(move |name| {
                if matches!(name, Checkpoint::Promoting | Checkpoint::Promoted) {
                    let signature = emulator.sign_webhook(&url(), &PARAMS);
                    let outcome = validate_at(&validator, &signature, OffsetDateTime::now_utc());
                    checkpoints.lock().unwrap().push((name, outcome));
                }
            })
    }

    /// Waits (bounded) until the follower has installed exactly `wanted`.
    async fn until_accepted(&self, wanted: &[(TokenLabel, TokenFingerprint)], what: &str) {
        let installed = tokio::time::timeout(Duration::from_secs(10), async {
            while self.validator.accepted_tokens() != wanted {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        installed.await.unwrap_or_else(|_| {
            panic!(
                "{what}: the follower has {:?}, not {wanted:?}",
                self.validator.accepted_tokens()
            )
        });
    }

    /// Waits (bounded) until Twilio has sent `more` further webhooks of each kind.
    async fn more_webhooks(&self, more: u64) {
        let target = self.tally.forged.load(Ordering::SeqCst) + more;
        let sent = tokio::time::timeout(Duration::from_secs(10), async {
            while self.tally.forged.load(Ordering::SeqCst) < target {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        sent.await.expect("the webhooks keep flowing");
    }

    /// After a rotation to `new`: the checkpoints, the store, the completion as the follower
    /// sees it, then the webhooks stopped and counted, then the overlap's end.
    async fn check_rotated_to(&mut self, new: &AuthToken) {
        let (old, new_fp, old_fp) = (
            self.old.clone(),
            TokenFingerprint::of(new),
            TokenFingerprint::of(&self.old),
        );
        assert_eq!(
            self.emulator.auth_token().expose_secret(),
            new.expose_secret()
        );
        // The hand-off: before the promotion the follower already had the new token as
        // `pending` while Twilio still signed with the old one; right after it, Twilio signed
        // with the new token and the validator matched it as `pending`.
        assert_eq!(
            *self.checkpoints.lock().unwrap(),
            [
                (Checkpoint::Promoting, Ok(key(TokenLabel::Current, &old))),
                (Checkpoint::Promoted, Ok(key(TokenLabel::Pending, new))),
            ]
        );

        // The rotation recorded the completion; the follower installs it.
        let record = self.record().await;
        assert_eq!(record.phase, RotationPhase::Idle);
        assert!(record.pending.is_none());
        assert_eq!(record.current.fingerprint(), new_fp);
        assert_eq!(
            record.previous.as_ref().map(|p| p.fingerprint()),
            Some(old_fp)
        );
        let completed_at = record
            .completed_at
            .expect("the completion time is recorded");
        self.until_accepted(
            &[
                (TokenLabel::Current, new_fp),
                (TokenLabel::Previous, old_fp),
            ],
            "after the completion",
        )
        .await;
        // A webhook Twilio signed with the old token just before the promotion, delivered late.
        assert_eq!(
            deliver(self.addr, &signed_with(&old)).await,
            (200, key(TokenLabel::Previous, &old))
        );
        let genuine = self.emulator.sign_webhook(&url(), &PARAMS);
        assert_eq!(
            deliver(self.addr, &genuine).await,
            (200, key(TokenLabel::Current, new))
        );
        self.more_webhooks(10).await;
        self.stop_and_count(new).await;

        // The overlap ends exactly `OVERLAP` after the recorded completion...
        let last_accepted = completed_at + OVERLAP - Duration::from_millis(1);
        assert_eq!(
            validate_at(&self.validator, &signed_with(&old), last_accepted),
            Ok(key(TokenLabel::Previous, &old))
        );
        assert_eq!(
            validate_at(&self.validator, &signed_with(&old), completed_at + OVERLAP),
            Err(Rejection::SignatureMismatch)
        );
        // ...and the server, once it has passed, rejects the old token and accepts the new.
        let left = completed_at + OVERLAP - OffsetDateTime::now_utc();
        let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
        tokio::time::sleep(left + Duration::from_millis(50)).await;
        assert_eq!(deliver(self.addr, &signed_with(&old)).await.0, 403);
        let genuine = self.emulator.sign_webhook(&url(), &PARAMS);
        assert_eq!(
            deliver(self.addr, &genuine).await,
            (200, key(TokenLabel::Current, new))
        );
        assert_eq!(
            self.validator.accepted_tokens(),
            [(TokenLabel::Current, new_fp)]
        );
    }

    /// Stops the webhooks and checks: none genuine rejected, none forged accepted, enough of
    /// both sent, and the keys genuine ones matched are those a rotation from the old token to
    /// `new` can show — at least `current` old (before) and `current` new (after).
    async fn stop_and_count(&mut self, new: &AuthToken) {
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
        let possible = BTreeSet::from([
            key(TokenLabel::Current, &self.old),
            key(TokenLabel::Pending, new),
            key(TokenLabel::Current, new),
            key(TokenLabel::Previous, &self.old),
        ]);
        assert!(seen.is_subset(&possible), "{seen:?} not in {possible:?}");
        assert!(
            seen.contains(&key(TokenLabel::Current, &self.old)),
            "{seen:?}"
        );
        assert!(seen.contains(&key(TokenLabel::Current, new)), "{seen:?}");
        println!("{genuine} genuine webhooks accepted, {forged} forged rejected; keys: {seen:?}");
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        for task in self.tasks.iter().chain(&self.sender) {
            task.abort();
        }
    }
}

/// The two phases apart, over a file store: `stage`, a `complete` refused before the hand-off
/// grace, the hand-off (the follower has the staged token and the grace has passed), then
/// `complete`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_then_complete() {
    let emulator = Emulator::start().await.unwrap();
    let dir = TempDir::new("stage-then-complete");
    let initial = TokenRecord::new(emulator.account_sid(), emulator.auth_token());
    let store = Arc::new(FileTokenStore::create(dir.0.join("twilio.json"), &initial).unwrap());
    let mut scene = Scene::start(emulator, store).await;
    let old_fp = TokenFingerprint::of(&scene.old);
    scene.more_webhooks(10).await;

    // Stage: the rotation creates the secondary token and stores it as `pending`.
    let staged = scene.rotation().stage().await.expect("staged");
    assert_eq!(staged.state(), AccountState::Staged);
    let new = scene
        .emulator
        .secondary_auth_token()
        .expect("Twilio holds the secondary token");
    assert_eq!(staged.new_token(), Some(TokenFingerprint::of(&new)));
    let record = scene.record().await;
    assert_eq!(record.phase, RotationPhase::Staged);
    let staged_at = record.phase_since;

    // Too early: refused, nothing sent, still staged.
    let early = scene
        .rotation()
        .hand_off_grace(Duration::from_secs(3600))
        .complete()
        .await
        .unwrap_err();
    assert_eq!(
        (early.failed_step(), early.state()),
        (RotationStep::HandOffGrace, AccountState::Staged)
    );
    assert_eq!(scene.record().await.phase, RotationPhase::Staged);
    assert_eq!(
        scene.emulator.auth_token().expose_secret(),
        scene.old.expose_secret()
    );

    // The hand-off: the follower accepts the staged token before Twilio signs with it...
    scene
        .until_accepted(
            &[
                (TokenLabel::Current, old_fp),
                (TokenLabel::Pending, TokenFingerprint::of(&new)),
            ],
            "after staging",
        )
        .await;
    scene.more_webhooks(10).await;
    // ...and the grace the rotation enforces has passed.
    let left = staged_at + HAND_OFF - OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::try_from(left).unwrap_or(Duration::ZERO)).await;

    // Complete: promote, record `current` = new and `previous` = old.
    let report = scene.rotation().complete().await.expect("completed");
    assert_eq!(report.state(), AccountState::Rotated);
    scene.check_rotated_to(&new).await;
}

/// The one call, `send()`, over a memory store: stage, the hand-off grace, complete. The
/// emulator refuses the new token for a moment, like Twilio while it propagates; the
/// rotation stores it as `pending` before verifying it, so the follower has it all that time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call() {
    let emulator = Emulator::builder()
        .propagation_delay(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save(&TokenRecord::new(
            emulator.account_sid(),
            emulator.auth_token(),
        ))
        .await
        .unwrap();
    let mut scene = Scene::start(emulator, store).await;
    scene.more_webhooks(10).await;

    let report = scene
        .rotation()
        .send()
        .await
        .expect("the rotation succeeds");
    assert_eq!(report.state(), AccountState::Rotated);
    let new = scene.emulator.auth_token();
    assert_eq!(report.new_token(), Some(TokenFingerprint::of(&new)));
    scene.check_rotated_to(&new).await;
}
