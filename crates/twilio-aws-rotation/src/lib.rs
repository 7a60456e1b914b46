//! Rotate a Twilio Auth Token on **AWS Secrets Manager's own rotation schedule**: the four
//! steps of a rotation function (`createSecret`, `setSecret`, `testSecret`, `finishSecret`),
//! and a Lambda handler around them (`examples/lambda.rs`, feature `lambda`).
//!
//! ```no_run
//! use twilio_aws_rotation::{RotationEvent, Rotator};
//!
//! # async fn run() -> Result<(), twilio_aws_rotation::Error> {
//! // Once per Lambda instance: the function's role and region from the environment.
//! let rotator = Rotator::from_env().await;
//!
//! // Per invocation: {"SecretId": "...", "ClientRequestToken": "...", "Step": "createSecret"}
//! let event = RotationEvent::from_json(br#"{"SecretId":"twilio/prod",
//!     "ClientRequestToken":"c0ffee00-0000-4000-8000-000000000001","Step":"createSecret"}"#)?;
//! let report = rotator.handle(&event).await?;
//! println!("{report}"); // tokens by fingerprint only
//! # Ok(()) }
//! ```
//!
//! Each secret version holds `{"account_sid": "AC…", "auth_token": "…"}` as its
//! `SecretString`; the first version (`AWSCURRENT`) holds the account's primary token. Any
//! consumer reads the token the AWS way (`GetSecretValue`, ECS or Lambda secret injection, the
//! AWS caching clients, External Secrets Operator), without this SDK.
//!
//! # The strategy, and the invariant it keeps
//!
//! Twilio has one primary token and at most one secondary, and promoting the secondary revokes
//! the old primary **at once**; Secrets Manager's consumers cache what they read (the AWS
//! caching clients for an hour by default). So a new token cannot replace the one consumers
//! hold in a single step. After the first rotation, `AWSCURRENT` is always Twilio's
//! *secondary* token and `AWSPREVIOUS` its *primary*:
//!
//! | step | Twilio | Secrets Manager |
//! |---|---|---|
//! | `createSecret` | if `AWSPREVIOUS` still authenticates, **promote** the secondary (the `AWSCURRENT` token) to primary, which revokes `AWSPREVIOUS`; then **create** a new secondary | store it: `PutSecretValue` of the version `ClientRequestToken`, staged `AWSPENDING` |
//! | `setSecret` | nothing: the token exists | check the version holds it |
//! | `testSecret` | authenticate with the pending token, with back-off, within the propagation window (60 s) | — |
//! | `finishSecret` | — | move `AWSCURRENT` to the version; Secrets Manager moves `AWSPREVIOUS` to the old one |
//!
//! **Invariant.** A token authenticates from the moment it is stored as `AWSPENDING` until the
//! `createSecret` of the rotation *after* the one that replaced it as `AWSCURRENT`. So after
//! every `finishSecret` both `AWSCURRENT` and `AWSPREVIOUS` authenticate, and a consumer that
//! read `AWSCURRENT` at any time keeps working for at least one whole rotation interval after
//! the token stopped being current. **Condition:** the rotation interval is longer than the
//! longest time a consumer keeps a value it read (its cache TTL, plus the time a long-running
//! process goes without re-reading), with a margin. With the AWS caching clients' default of
//! one hour, any schedule of a day or more holds it with room to spare.
//!
//! **Webhooks.** Twilio signs webhooks with the *primary* token, which is `AWSPREVIOUS` after
//! the first rotation (and `AWSCURRENT` before it, and between a `createSecret` and its
//! `finishSecret`). A webhook validator must accept the tokens of both `AWSCURRENT` and
//! `AWSPREVIOUS` (`twilio-webhooks` validates against a token set).
//!
//! **No token is lost.** The new token is stored (`PutSecretValue` returned) before any step
//! relies on it; the token promoted was already stored (`AWSCURRENT`). A crash after Twilio
//! created the secondary but before it was stored leaves a token no one holds; the step's retry
//! (by the same `ClientRequestToken`, or a new rotation with a new one) finds `AWSPREVIOUS`
//! refused, so promotes nothing, and creates a new secondary, which replaces the unstored one.
//!
//! **Idempotent.** Secrets Manager retries single steps and whole rotations. Every step first
//! checks, as AWS's own rotation templates do, that rotation is enabled for the secret, that
//! the `ClientRequestToken` is a version of it staged `AWSPENDING`, and does nothing when it
//! is already `AWSCURRENT`; `createSecret` does nothing when the version already has its
//! value. A repeat never creates a second secondary nor a second version. The code never
//! relies on `PutSecretValue` of an existing version id (AWS refuses a different value, moto
//! overwrites it).
//!
//! **Preconditions.** After its first version, the secret is written by this rotation only
//! (a token changed in the Console or by hand breaks the pairing of labels and Twilio slots;
//! the steps detect the cases they can and refuse with [`ErrorKind::Inconsistent`]; a token
//! Twilio promoted unexpectedly is stored before the step fails). One step runs at a time for a
//! secret, as Secrets Manager invokes them (do not invoke the function by hand during a
//! rotation). The Lambda's timeout exceeds the propagation window (2 minutes for the default
//! 60 s).
//!
//! # Errors and secrets
//!
//! One [`Error`] type with an [`ErrorKind`]; the AWS or Twilio error is its `source()`. No
//! token, secret value or `Authorization` header reaches `Debug`, `Display`, errors or
//! `tracing` events: tokens are named by their [`TokenFingerprint`](twilio_accounts::rotation::TokenFingerprint).
//!
//! # Crate features
//!
//! - `lambda` (off): the `lambda_runtime` crate for `examples/lambda.rs`, the deployable
//!   function (`cargo build --release --example lambda --features lambda`).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod event;
mod rotator;
mod secrets;
mod twilio;
mod value;

pub use error::{Error, ErrorKind};
pub use event::{RotationEvent, Step};
pub use rotator::{Outcome, Rotator, StepReport};

/// The HTTPS client this crate gives the AWS SDK: hyper with rustls on the *ring* provider,
/// the same TLS stack as the rest of the workspace (the SDK's default client would bring
/// aws-lc-sys, a C library built with cmake).
///
/// ```no_run
/// # async fn run() {
/// let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
///     .http_client(twilio_aws_rotation::aws_https_client())
///     .load()
///     .await;
/// # }
/// ```
pub fn aws_https_client() -> aws_sdk_secretsmanager::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}
