//! Validate Twilio webhook signatures — `X-Twilio-Signature`, the SharedKey HMAC-SHA256
//! scheme and `bodySHA256` — with a set of tokens that survives an Auth Token rotation.
//!
//! ```
//! use twilio_types::AuthToken;
//! use twilio_webhooks::{Algorithm, MatchedKey, Rejection, TokenLabel, Validator, WebhookRequest, sign};
//!
//! let validator = Validator::new(AuthToken::new("0123456789abcdef0123456789abcdef")?);
//!
//! // What Twilio sends: the URL it requested, a form body, and the signature header.
//! let url = "https://example.com/twilio/sms?tenant=7";
//! let body = b"From=%2B15551234567&To=%2B15557654321&Body=Hello+there";
//! let signature = sign(
//!     Algorithm::HmacSha1,
//!     "0123456789abcdef0123456789abcdef",
//!     url,
//!     &[("From", "+15551234567"), ("To", "+15557654321"), ("Body", "Hello there")],
//! );
//!
//! let request = WebhookRequest::new(url).signature(Some(&signature)).form_body(body);
//! let verified = validator.validate(&request)?;
//! assert!(matches!(verified.key(), MatchedKey::Token { label: TokenLabel::Current, .. }));
//!
//! // One byte changed: rejected, with a typed reason.
//! let forged = WebhookRequest::new(url).signature(Some(&signature)).form_body(b"From=%2B15551234568");
//! assert_eq!(validator.validate(&forged).unwrap_err(), Rejection::SignatureMismatch);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is checked
//!
//! The algorithm is Twilio's, as the official validators (twilio-python 9.13
//! `RequestValidator`, twilio-node 6.3 `validateRequest`) implement it: on every case of a
//! vector file they signed and validated (`tests/vectors/official.json`), this crate accepts
//! exactly what at least one of them accepts:
//!
//! * **Form POST**: the full URL, then the parameters sorted by name, each name followed by its
//!   value; a repeated name contributes its distinct values, sorted, each preceded by the name.
//!   **GET**: the URL with its query string.
//! * **Schemes**: without `X-Twilio-Webhooks-Signature-Settings`, HMAC-SHA1 with an Auth Token
//!   of the set. With it (`key=<id>,algorithm=HMAC_SHA256`), the named algorithm with the
//!   [`SharedKey`] of that id. An algorithm this crate does not know is a rejection (and a
//!   `tracing` warning), never a fallback.
//! * **Other bodies** (JSON): the URL carries `bodySHA256`, the hex SHA-256 of the raw body;
//!   the signature covers the URL and the body must match the hash. A non-form body without
//!   `bodySHA256` is rejected: nothing would sign it.
//! * **URL variants**: those the official validators accept and nothing looser: the URL
//!   without and with its port (the default port added when there is none), as Python's
//!   `urllib` re-assembles it, and as WHATWG `new URL()` normalises it with and without Node's
//!   legacy query-string form.
//! * Comparisons are constant-time ([`subtle`]); a missing or malformed header is a typed
//!   [`Rejection`], never a panic.
//!
//! # Rotations
//!
//! A [`Validator`] holds `current` and, during a rotation, `pending` and `previous`, the labels
//! of the rotation's [`TokenStore`](twilio_store::TokenStore). It reports which one
//! matched by fingerprint ([`MatchedKey`]), accepts `previous` only for an overlap after the
//! rotation completed (default 15 minutes), and can [`follow`](Validator::follow) the store.
//! See `docs/guide/webhooks.md`.
//!
//! # Servers
//!
//! The `tower` feature adds [`WebhookLayer`](crate::tower::WebhookLayer) for axum, hyper and any
//! tower server.

mod form;
mod rejection;
mod request;
mod signature;
#[cfg(feature = "tower")]
pub mod tower;
mod url;
mod validator;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use rejection::Rejection;
pub use request::WebhookRequest;
pub use signature::{Algorithm, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, body_sha256, sign};
/// The rotation's token store (`TokenStore`, `TokenRecord`, `TokenFingerprint`, …): the
/// `twilio-store` crate, re-exported whole so that a validator that follows a store needs no
/// other dependency.
pub use twilio_store as store;
pub use validator::{DEFAULT_OVERLAP, MatchedKey, SharedKey, TokenLabel, Validator, Verified};
