//! Tokens never leak from a rotation: not into tracing output (every level, every span field),
//! nor into `Debug` or `Display` of the builder, the report, the errors and their causes.

// Without the built-in client, the tests that need it are left out, and their helpers with them.
#![cfg_attr(not(feature = "default-client"), allow(unused_imports, dead_code))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::LogCapture;
use twilio_accounts::Client;
use twilio_accounts::rotation::{AccountState, TokenFingerprint};
use twilio_emulator::{Emulator, Fault};
use twilio_transport::Credentials;
use twilio_types::{AccountSid, AuthToken};

fn client(emulator: &Emulator) -> Client {
    Client::builder()
        .credentials(
            Credentials::from_auth_token(emulator.account_sid(), emulator.auth_token()).unwrap(),
        )
        .base_url(&emulator.base_url())
        .build()
        .unwrap()
}

/// Every form in which `token` could leak: itself, and inside a Basic `Authorization` value.
fn forms(account: AccountSid, token: &AuthToken) -> Vec<String> {
    let secret = token.expose_secret().to_owned();
    let basic = base64(format!("{account}:{secret}").as_bytes());
    vec![secret, basic]
}

/// Standard base64 with padding (as in a Basic `Authorization` header).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[track_caller]
fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} contains a secret:\n{text}"
        );
    }
}

fn debug_and_display_of_error(err: &twilio_accounts::rotation::RotationError) -> String {
    let mut text = format!(
        "{err}\n{err:?}\n{err:#?}\n{}\n{:?}\n",
        err.report(),
        err.report()
    );
    let mut cause: Option<&dyn std::error::Error> = Some(err);
    while let Some(c) = cause {
        text.push_str(&format!("{c}\n{c:?}\n"));
        cause = c.source();
    }
    text
}

// Talks to the emulator through the built-in HTTPS client.
#[cfg(feature = "default-client")]
#[tokio::test]
async fn tracing_output_debug_and_display_hold_fingerprints_only() {
    let capture = LogCapture::default();
    let _guard = capture.install();

    // A successful rotation.
    let emulator = Emulator::builder().start().await.unwrap();
    let account = emulator.account_sid();
    let old = emulator.auth_token();
    let client = client(&emulator);
    let builder = client.rotate_auth_token().suppress_email_notification(true);
    let builder_debug = format!("{builder:?}");
    let report = builder.send().await.unwrap();
    let new = emulator.auth_token();
    let mut secrets = forms(account, &old);
    secrets.extend(forms(account, &new));
    assert_clean("the builder's Debug", &builder_debug, &secrets);
    let report_text = format!("{report}\n{report:?}\n{report:#?}");
    assert_clean("the report", &report_text, &secrets);
    assert!(report_text.contains(&TokenFingerprint::of(&new).to_string()));

    // A rotation whose promotion answer is lost, then found out.
    emulator
        .faults()
        .inject(
            Fault::status(503)
                .on("POST", "/v1/AuthTokens/Promote")
                .after_processing()
                .times(1),
        )
        .unwrap();
    let resolved = client.rotate_auth_token().send().await.unwrap();
    let newer = emulator.auth_token();
    secrets.extend(forms(account, &newer));
    assert_clean(
        "the resolved report",
        &format!("{resolved}\n{resolved:?}"),
        &secrets,
    );

    // A failed rotation leaving a secondary token behind (so its value is known here).
    emulator
        .faults()
        .set_propagation_delay(Duration::from_secs(3600));
    emulator
        .faults()
        .inject(Fault::status(400).on("DELETE", "/v1/AuthTokens/Secondary"))
        .unwrap();
    let err = client
        .rotate_auth_token()
        .propagation_window(Duration::from_millis(50))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.state(), AccountState::UnchangedSecondaryRemains);
    let secondary = emulator.secondary_auth_token().unwrap();
    secrets.extend(forms(account, &secondary));
    let error_text = debug_and_display_of_error(&err);
    assert_clean("the error", &error_text, &secrets);
    assert!(error_text.contains(&TokenFingerprint::of(&secondary).to_string()));

    let logs = capture.text();
    assert_clean("the tracing output", &logs, &secrets);
    // The capture did work: the steps and the fingerprints are there.
    assert!(logs.contains("rotation step done"), "{logs}");
    assert!(logs.contains("rotation step failed"), "{logs}");
    assert!(logs.contains("promote"), "{logs}");
    assert!(
        logs.contains(&TokenFingerprint::of(&new).to_string()),
        "{logs}"
    );
    assert!(
        logs.contains(&TokenFingerprint::of(&secondary).to_string()),
        "{logs}"
    );
    emulator.shutdown().await;
}

/// The durable path too: stage, a refused early complete, a forced complete, a resume with
/// nothing to do, a locked store, a resume after an interrupted stage; with the builder's and
/// the store's `Debug` included.
#[cfg(feature = "default-client")]
#[tokio::test]
async fn a_durable_rotation_and_its_errors_hold_fingerprints_only() {
    use twilio_store::{MemoryTokenStore, TokenRecord, TokenStore};

    let capture = LogCapture::default();
    let _guard = capture.install();

    let emulator = Emulator::builder().start().await.unwrap();
    let account = emulator.account_sid();
    let old = emulator.auth_token();
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save(&TokenRecord::new(account, old.clone()))
        .await
        .unwrap();
    let client = client(&emulator);
    let mut texts = Vec::new();

    let staged = client
        .rotate_auth_token()
        .store(store.clone())
        .stage()
        .await
        .unwrap();
    texts.push(format!("{staged}\n{staged:?}"));
    let builder = client.rotate_auth_token().store(store.clone());
    texts.push(format!("{builder:?}\n{store:?}"));
    let early = builder.complete().await.unwrap_err();
    texts.push(debug_and_display_of_error(&early));
    // Another rotator (another host) holds the store's lease.
    let lock = twilio_store::LeasedRecord::acquire(
        store.clone(),
        twilio_store::LeaseOwner::new("other-host:1:x"),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap()
    .unwrap();
    let locked = client
        .rotate_auth_token()
        .store(store.clone())
        .resume()
        .await
        .unwrap_err();
    texts.push(debug_and_display_of_error(&locked));
    lock.release().await.unwrap();
    let done = client
        .rotate_auth_token()
        .store(store.clone())
        .force(true)
        .complete()
        .await
        .unwrap();
    texts.push(format!("{done}\n{done:?}"));
    let new = emulator.auth_token();
    let nothing = client
        .rotate_auth_token()
        .store(store.clone())
        .resume()
        .await
        .unwrap();
    texts.push(format!(
        "{nothing}\n{nothing:?}\n{:?}",
        store.load().await.unwrap()
    ));

    let mut secrets = forms(account, &old);
    secrets.extend(forms(account, &new));
    for text in &texts {
        assert_clean("a durable rotation's output", text, &secrets);
    }
    let logs = capture.text();
    assert_clean("the tracing output", &logs, &secrets);
    assert!(
        logs.contains("rotation recorded in the token store"),
        "{logs}"
    );
    emulator.shutdown().await;
}

#[test]
fn the_base64_helper_matches_rfc_4648() {
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foob"), "Zm9vYg==");
}

#[test]
fn fingerprints_do_not_reveal_the_token() {
    let token = AuthToken::new("f0e1d2c3b4a5968778695a4b3c2d1e0f").unwrap();
    let fp = TokenFingerprint::of(&token);
    for text in [fp.to_string(), format!("{fp:?}")] {
        assert!(!text.contains("f0e1d2c3"), "{text}");
    }
    assert_eq!(fp.to_string().len(), 8);
    assert!(fp.to_string().bytes().all(|b| b.is_ascii_hexdigit()));
}
