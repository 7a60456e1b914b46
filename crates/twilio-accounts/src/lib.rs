//! A typed client for every operation of Twilio's **Accounts v1** API: Auth Token rotation,
//! stored AWS and public-key credentials, the SafeList, bulk consents and contacts, and
//! messaging geo permissions.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use twilio_accounts::Client;
//!
//! # async fn run() -> Result<(), twilio_accounts::Error> {
//! // TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN (or TWILIO_API_KEY + TWILIO_API_SECRET).
//! let client = Client::from_env()?;
//!
//! // One page…
//! let page = client.credentials().aws().list().page_size(50).send().await?;
//! println!("{} credentials on the first page", page.items.len());
//!
//! // …or every item, following `next_page_url` lazily.
//! let mut all = client.credentials().public_key().list().into_stream();
//! while let Some(key) = all.try_next().await? {
//!     println!("{:?} {:?}", key.sid, key.friendly_name);
//! }
//!
//! // Required parameters are arguments, optional ones are setters; `send()` calls Twilio.
//! let entry = client.safelist().create("+18001234567").send().await?;
//! # Ok(()) }
//! ```
//!
//! # Shape
//!
//! - [`Client`] is cheap to clone, `Send + Sync`, without type parameters. Accessors follow
//!   Twilio's `mountName`s: [`secondary_auth_token`](Client::secondary_auth_token),
//!   [`auth_token_promotion`](Client::auth_token_promotion),
//!   [`credentials`](Client::credentials) (`aws()`, `public_key()`),
//!   [`safelist`](Client::safelist), [`bulk_consents`](Client::bulk_consents),
//!   [`bulk_contacts`](Client::bulk_contacts),
//!   [`messaging_geopermissions`](Client::messaging_geopermissions) and
//!   [`compliance_signals_check`](Client::compliance_signals_check) (the one operation
//!   beyond Twilio's published spec, from twilio-node 6.3.1: 21 operations in all).
//! - Each operation is a builder named after its OpenAPI `operationId`
//!   (`ListCredentialAws`, `CreateSafelist`, …) whose `send()` returns a [`model`] struct.
//! - One [`Error`] type says whether the request was not built, failed in transport, or got
//!   a Twilio error, a non-JSON answer or an undecodable one.
//! - Nothing secret is ever printed: tokens, API secrets and AWS keys have redacted `Debug`
//!   and no `Display`.
//!
//! # Crate features
//!
//! - `default-client` (default): the built-in HTTPS client of `twilio-transport` (hyper +
//!   rustls). Without it, give the builder a transport ([`ClientBuilder::transport`]) or
//!   build the client over an [`HttpClient`] ([`Client::from_http_client`]).
//!
//! The guides in `docs/guide/` cover configuration, errors, pagination, testing and the
//! Compliance Signals check, and
//! `cargo run -p twilio-accounts --example quickstart` tours the API against the in-process
//! emulator (no account needed).

mod client;
mod decode;
mod env;
mod error;
mod form;
mod pagination;
mod request;
mod response;

mod bulk_items;

pub mod auth_tokens;
pub mod bulk_consents;
pub mod bulk_contacts;
pub mod compliance_signals;
pub mod credentials;
pub mod follow;
pub mod messaging_geopermissions;
pub mod model;
pub mod rotation;
pub mod safelist;

#[cfg(test)]
mod test_util;

pub use client::{Client, ClientBuilder};
pub use error::{ApiError, BuildError, DecodeError, Error, UnexpectedResponse, WorkflowError};
pub use pagination::{ItemStream, PageStream};

/// Re-exported so that users need not depend on `twilio-transport` and `twilio-types`
/// directly for the common cases.
pub use twilio_transport::{Credentials, HttpClient, RetryConfig, SharedCredentials};
pub use twilio_types::{
    AccountSid, ApiKeySecret, ApiKeySid, AuthToken, CredentialSid, SafelistSid,
};
/// The validated phone number type of the Compliance Signals check's `to`.
pub use twilio_types::{E164, ParseE164Error};

/// The HTTP layer, `twilio-transport`, re-exported whole at the exact version this crate
/// uses, so a custom transport (`transport::TransportError::connect`), retry settings
/// (`transport::RetryBudget`) or a match on `transport::TransportErrorKind` need no
/// dependency of their own.
pub mod transport {
    pub use twilio_transport::*;
}

/// Where tokens live during and between rotations (`TokenStore`, `FileTokenStore`,
/// `TokenRecord`, …): the `twilio-store` crate, re-exported whole so that rotation and its
/// followers need no other dependency.
pub use twilio_store as store;

/// The identifier, secret and timestamp types, `twilio-types`, re-exported whole (the
/// common ones are also at the crate root).
pub mod types {
    pub use twilio_types::*;
}
