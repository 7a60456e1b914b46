//! What the tower layer logs: the reason of each rejection, never a token.
//!
//! In a test binary of its own: `tracing` caches per call site whether anyone listens, and a
//! test in the same binary hitting a call site concurrently, with no subscriber, could make
//! this test's thread-local subscriber miss an event.

use std::io::Write;
use std::sync::{Arc, Mutex};

use http::StatusCode;
use twilio_webhooks::tower::WebhookLayer;

mod support;

use support::*;

#[tokio::test]
async fn the_reason_is_logged_and_no_token_ever_is() {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let writer = Captured(Arc::clone(&logs));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    let signature = signed("https://hooks.example.com/sms");
    assert_eq!(
        send(layer.clone(), form("/sms", &signature, BODY)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(layer.clone(), form("/sms", "x", BODY)).await.0,
        StatusCode::FORBIDDEN
    );
    let mut unknown = form("/sms", &signature, BODY);
    unknown.headers_mut().insert(
        "x-twilio-webhooks-signature-settings",
        "key=k,algorithm=HMAC_SHA3".parse().unwrap(),
    );
    assert_eq!(send(layer.clone(), unknown).await.0, StatusCode::FORBIDDEN);
    let _ = format!("{layer:?}");
    let small = layer.clone().body_limit(8);
    assert_eq!(
        send(small, form("/sms", &signature, BODY)).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("webhook signature valid") && text.contains("current token"),
        "{text}"
    );
    assert!(text.contains("malformed_signature"), "{text}");
    assert!(
        text.contains("over the limit: 413") && text.contains("code=\"body_too_large\""),
        "{text}"
    );
    assert!(
        text.contains("unsupported") && text.contains("HMAC_SHA3"),
        "{text}"
    );
    assert!(
        !text.contains(TOKEN) && !text.contains("LEAKCHECK"),
        "{text}"
    );
    assert!(!format!("{layer:?}").contains("LEAKCHECK"));
}

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
