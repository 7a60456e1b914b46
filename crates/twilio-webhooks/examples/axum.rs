//! An axum server that accepts Twilio webhooks only when signed, following a rotation store.
//!
//! ```text
//! TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... PUBLIC_URL=https://hooks.example.com \
//!     cargo run -p twilio-webhooks --features tower --example axum
//! ```
//!
//! `PUBLIC_URL` is the scheme and host Twilio calls (your load balancer's), not the address
//! this process listens on (`127.0.0.1:3000`, or `LISTEN`). With `TRUST_FORWARDED=1` the
//! proxy's `X-Forwarded-Proto`/`X-Forwarded-Host` replace them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Form;
use axum::routing::post;
use axum::{Extension, Router};
use twilio_store::{MemoryTokenStore, TokenRecord, TokenStore};
use twilio_types::{AccountSid, AuthToken};
use twilio_webhooks::Validator;
use twilio_webhooks::Verified;
use twilio_webhooks::tower::WebhookLayer;

/// Handles an incoming SMS: the layer has already checked the signature.
async fn sms(
    Extension(verified): Extension<Verified>,
    Form(form): Form<Vec<(String, String)>>,
) -> &'static str {
    let from = form
        .iter()
        .find(|(n, _)| n == "From")
        .map_or("?", |(_, v)| v.as_str());
    println!("SMS from {from}, signed with the {}", verified.key());
    "<Response/>"
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account: AccountSid = std::env::var("TWILIO_ACCOUNT_SID")?.parse()?;
    let token = AuthToken::new(std::env::var("TWILIO_AUTH_TOKEN")?)?;
    let public_url = std::env::var("PUBLIC_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let trust_forwarded = std::env::var("TRUST_FORWARDED").is_ok_and(|v| v == "1");

    let validator = Validator::new(token.clone());
    // In production, the store your rotation writes (a file, a secrets manager); following it
    // makes a staged token valid before Twilio signs with it, with no restart.
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    store
        .save(&TokenRecord::new(account, token.clone()))
        .await?;
    tokio::spawn(validator.follow(store, Duration::from_secs(10), tokio::time::sleep));

    let layer = WebhookLayer::new(validator, public_url).trust_forwarded_headers(trust_forwarded);
    let app = Router::new().route("/sms", post(sms)).layer(layer);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}
