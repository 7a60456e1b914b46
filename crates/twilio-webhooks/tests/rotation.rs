//! Through a rotation: the emulator signs webhooks with its primary token at each instant
//! while a full rotation runs (stage, promotion, completion); an axum server on 127.0.0.1
//! behind `WebhookLayer`, whose validator follows the rotation's store, receives them. Zero
//! genuine webhooks rejected, zero forged ones accepted, and the old token is rejected once the
//! overlap has passed.
//!
//! The rotation is driven step by step with the client's `secondary_auth_token().create()` and
//! `auth_token_promotion().update()`, the test writing the store's phase, `pending`, `current`,
//! `previous` and `completed_at` around each step as the durable rotation does (its stage /
//! complete API is not on main yet).

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_keep_validating_through_a_rotation() {
    let emulator = Arc::new(Emulator::start().await.unwrap());
    let old = emulator.auth_token();
    let client = Client::builder()
        .credentials(Credentials::from_auth_token(emulator.account_sid(), old.clone()).unwrap())
        .base_url(&emulator.base_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();

    // The rotation's store, and a validator following it.
    let store = Arc::new(MemoryTokenStore::new());
    let mut record = TokenRecord::new(emulator.account_sid(), old.clone());
    store.save(&record).await.unwrap();
    record = store.load().await.unwrap().unwrap();
    let validator = Validator::new(old.clone()).with_overlap(OVERLAP);
    let follower =
        tokio::spawn(validator.follow(store.clone(), Duration::from_millis(5), tokio::time::sleep));

    // The server: axum behind the layer, on 127.0.0.1, told its public URL.
    let app = Router::new()
        .route("/sms", post(sms))
        .layer(WebhookLayer::new(validator.clone(), PUBLIC));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Twilio: a genuine webhook (signed by the emulator with its primary token at that
    // instant) and a forged one (a random token) every few milliseconds.
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
    let settle = || tokio::time::sleep(Duration::from_millis(100));
    settle().await;

    // Stage: record that a token is being created, create it at Twilio, store it as pending.
    record.phase = RotationPhase::Creating;
    store.save(&record).await.unwrap();
    record = store.load().await.unwrap().unwrap();
    let created = client
        .secondary_auth_token()
        .create()
        .suppress_email_notification(true)
        .send()
        .await
        .unwrap();
    let new = created.secondary_auth_token.clone().unwrap();
    record.pending = Some(StoredToken::new(new.clone(), OffsetDateTime::now_utc()));
    record.phase = RotationPhase::Staged;
    store.save(&record).await.unwrap();
    record = store.load().await.unwrap().unwrap();
    // The hand-off: promote only once followers know the new token (the propagation window).
    let new_fingerprint = TokenFingerprint::of(&new);
    let known = tokio::time::timeout(Duration::from_secs(10), async {
        while !validator
            .accepted_tokens()
            .contains(&(TokenLabel::Pending, new_fingerprint))
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    known.await.expect("the follower learns the staged token");
    settle().await;

    // Promote: from now on Twilio (the emulator) signs with the new token.
    record.phase = RotationPhase::Promoting;
    store.save(&record).await.unwrap();
    record = store.load().await.unwrap().unwrap();
    client.auth_token_promotion().update().send().await.unwrap();
    assert_eq!(emulator.auth_token().expose_secret(), new.expose_secret());
    settle().await;

    // Complete: new is current, old is previous for the overlap.
    record.previous = Some(record.current.clone());
    record.current = record.pending.take().unwrap();
    record.completed_at = Some(OffsetDateTime::now_utc());
    record.phase = RotationPhase::Idle;
    store.save(&record).await.unwrap();
    let completed = std::time::Instant::now();
    settle().await;
    // A webhook Twilio signed with the old token just before the promotion, delivered late.
    let (status, key) = deliver(addr, &signed_with(&old)).await;
    assert_eq!(
        (status, key.split(' ').next()),
        (200, Some("previous")),
        "{key}"
    );
    settle().await;

    stop.store(true, Ordering::SeqCst);
    sender.await.unwrap();
    let genuine = tally.genuine.load(Ordering::SeqCst);
    let forged = tally.forged.load(Ordering::SeqCst);
    assert_eq!(
        tally.genuine_rejected.load(Ordering::SeqCst),
        0,
        "genuine webhooks rejected (of {genuine})"
    );
    assert_eq!(
        tally.forged_accepted.load(Ordering::SeqCst),
        0,
        "forged webhooks accepted (of {forged})"
    );
    assert!(
        genuine >= 20 && forged >= 20,
        "only {genuine} genuine and {forged} forged webhooks were sent"
    );
    // Both tokens signed genuine webhooks the server accepted.
    let seen = seen.lock().unwrap().clone();
    let old_fingerprint = TokenFingerprint::of(&old).to_string();
    assert!(
        seen.iter().any(|k| k.ends_with(&old_fingerprint)),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|k| k.ends_with(&new_fingerprint.to_string())),
        "{seen:?}"
    );
    println!("{genuine} genuine webhooks accepted, {forged} forged rejected; keys seen: {seen:?}");

    // After the overlap: the old token is rejected, the new one still accepted.
    tokio::time::sleep(OVERLAP.saturating_sub(completed.elapsed()) + Duration::from_millis(200))
        .await;
    assert_eq!(deliver(addr, &signed_with(&old)).await.0, 403);
    let (status, key) = deliver(
        addr,
        &emulator.sign_webhook(&format!("{PUBLIC}/sms"), &PARAMS),
    )
    .await;
    assert_eq!((status, key.split(' ').next()), (200, Some("current")));
    assert_eq!(
        validator.accepted_tokens(),
        [(TokenLabel::Current, new_fingerprint)]
    );

    follower.abort();
    server.abort();
}
