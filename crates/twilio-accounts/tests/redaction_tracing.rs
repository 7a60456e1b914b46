//! Everything the SDK logs holds no secret: the capture of all tracing output.
//!
//! Alone in its test binary: tracing caches per call site whether anyone listens, and a
//! test running in parallel on another thread, without a subscriber, can make a call site
//! "never enabled" just before this test's thread-local subscriber would have seen it.

// Talks to the emulator through the built-in HTTPS client.
#![cfg(feature = "default-client")]

use twilio_accounts::credentials::AwsCredentials;
use twilio_accounts::{Client, Credentials, RetryConfig};
use twilio_emulator::Emulator;

const AWS_SECRET: &str = "aws-SECRET-wJalrXUtnFEMI";

/// Everything the SDK and its transport log at every level, through the real HTTP client
/// against the emulator, while tokens and an AWS secret cross the wire both ways.
#[tokio::test]
async fn tracing_output_holds_no_secret() {
    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator = Emulator::builder().start().await.unwrap();
    let primary = emulator.auth_token();
    let client = Client::builder()
        .credentials(Credentials::from_auth_token(emulator.account_sid(), primary.clone()).unwrap())
        .base_url(&emulator.base_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let aws = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", AWS_SECRET).unwrap();
    client.credentials().aws().create(aws).send().await.unwrap();
    let secondary = client.secondary_auth_token().create().send().await.unwrap();
    let secondary = secondary.secondary_auth_token.unwrap();
    let promoted = client.auth_token_promotion().update().send().await.unwrap();
    // The old primary no longer authenticates: an error answer is logged too.
    let err = client.credentials().aws().list().send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err:?}");

    let text = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("CreateSecondaryAuthToken"),
        "the SDK logged nothing, so the check would prove nothing:\n{text}"
    );
    let mut secrets = vec![
        AWS_SECRET.to_owned(),
        primary.expose_secret().to_owned(),
        secondary.expose_secret().to_owned(),
    ];
    if let Some(token) = promoted.auth_token {
        secrets.push(token.expose_secret().to_owned());
    }
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret in the logs:\n{text}"
        );
    }
}
