//! Tracing output of a whole session (credentials, a rotation, an error answer) holds no
//! token or secret.
//!
//! In a test binary of its own: `tracing` caches per call site whether anyone listens, and a
//! test in the same binary that hits a call site concurrently, with no subscriber, could make
//! this test's thread-local subscriber miss the SDK's events (and the check prove nothing).

// Talks to the emulator through the built-in HTTPS client.
#![cfg(feature = "default-client")]

mod common;

use common::LogCapture;
use twilio_accounts::credentials::AwsCredentials;
use twilio_accounts::{Client, Credentials, RetryConfig};
use twilio_emulator::Emulator;

const AWS_SECRET: &str = "aws-SECRET-wJalrXUtnFEMI";

/// Everything the SDK and its transport log at every level, through the real HTTP client
/// against the emulator, while tokens and an AWS secret cross the wire both ways.
#[tokio::test]
async fn tracing_output_holds_no_secret() {
    let capture = LogCapture::default();
    let _guard = capture.install();

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

    let text = capture.text();
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
