//! Validated Twilio identifiers (SIDs), unprintable secrets and timestamp serde helpers.
//!
//! ```
//! use twilio_types::{AccountSid, ApiKeySid, AuthToken};
//!
//! // SIDs are validated once, then are plain `Copy` values.
//! let account: AccountSid = "AC0123456789abcdef0123456789abcdef".parse()?;
//! assert_eq!(account.as_str(), "AC0123456789abcdef0123456789abcdef");
//!
//! // Errors say precisely what is wrong.
//! let err = ApiKeySid::parse("AC0123456789abcdef0123456789abcdef").unwrap_err();
//! assert_eq!(err.to_string(), r#"invalid API Key SID: expected prefix "SK""#);
//!
//! // Secrets never print.
//! let token = AuthToken::new("0123456789abcdef0123456789abcdef")?;
//! assert_eq!(format!("{token:?}"), "AuthToken(** redacted **)");
//! assert_eq!(token.expose_secret().len(), 32);
//!
//! // Timestamps in either format Twilio uses.
//! let t = twilio_types::timestamp::parse("Fri, 31 Jul 2015 04:00:00 +0000")?;
//! assert_eq!(twilio_types::timestamp::format(&t), "2015-07-31T04:00:00Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate is the bottom layer of the SDK: it depends on no HTTP stack or async runtime
//! (only `serde`, `time` and `zeroize`), and does no I/O. The rotation's token store lives in
//! the `twilio-store` crate.
//!
//! # SIDs
//!
//! One type per prefix: [`AccountSid`] (`AC`), [`CredentialSid`] (`CR`),
//! [`SafelistSid`] (`GN`), [`ApiKeySid`] (`SK`) and [`MessagingServiceSid`] (`MG`).
//! A value of these types is always exactly the prefix followed by 32 ASCII hexadecimal
//! digits: the byte-wise equivalent of `^XX[0-9a-fA-F]{32}\z`. Unicode digits,
//! fullwidth letters, whitespace (including a trailing newline), NUL and any other
//! length are rejected, and the prefix is case-sensitive. There is no unchecked
//! constructor; `from_static` validates literals (at compile time in `const` contexts).
//! Parsing allocates nothing. Failures are a [`ParseSidError`] whose
//! [`kind`](ParseSidError::kind) tells what went wrong.
//!
//! # Secrets
//!
//! [`AuthToken`] and [`ApiKeySecret`] print as `AuthToken(** redacted **)`, have no
//! `Display`/`Serialize`/`PartialEq`, are zeroed on drop, and give their value only
//! through `expose_secret()`. Their constructors reject values that would corrupt an
//! `Authorization` header ([`InvalidSecretError`]); deserializing accepts any string,
//! and `check_header_safe()` checks it when the value becomes a credential.
//!
//! # Phone numbers
//!
//! [`E164`] is a phone number in E.164 format (`+` and 7 to 15 digits, no leading `0`),
//! validated once; [`ParseE164Error`] says which rule a string breaks, never echoing it.
//!
//! # Timestamps
//!
//! The [`timestamp`] module parses RFC 3339 (and RFC 2822) into
//! [`time::OffsetDateTime`], formats RFC 3339, and provides the serde `with` helpers
//! `#[serde(with = "twilio_types::timestamp")]` and
//! `#[serde(with = "twilio_types::timestamp::option", default)]`.
//!
//! # Example program
//!
//! `cargo run -p twilio-types --example check_sids -- SID...` prints the type of each
//! SID given on the command line, or precisely why it is invalid (exit status 1 if any
//! is).
//!
//! # Crate features
//!
//! * `proptest` (off by default): implements
//!   [`proptest::arbitrary::Arbitrary`](https://docs.rs/proptest/latest/proptest/arbitrary/trait.Arbitrary.html)
//!   for every SID type (valid values) and both secret types (header-safe values), and
//!   adds the `strategies` module: valid SID strings, near-miss invalid SID strings
//!   (one edit away from valid: wrong character, insertion, deletion, wrong-case prefix,
//!   Unicode digit, trailing newline), header-safe secret strings and E.164 numbers
//!   (valid, and near misses), so downstream
//!   crates can property-test their own code with these types.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod phone;
mod secret;
mod sid;
#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
pub mod strategies;
pub mod timestamp;

pub use phone::{E164, E164_MAX_DIGITS, E164_MIN_DIGITS, ParseE164Error};
pub use secret::{ApiKeySecret, AuthToken, InvalidSecretError, InvalidSecretErrorKind};
pub use sid::{
    AccountSid, ApiKeySid, CredentialSid, MessagingServiceSid, ParseSidError, ParseSidErrorKind,
    SafelistSid,
};
pub use timestamp::ParseTimestampError;
