//! A Twilio Auth Token store on AWS Secrets Manager: [`SecretsManagerStore`], a
//! [`TokenStore`](twilio_store::TokenStore) whose current / pending / previous tokens **are**
//! the secret's `AWSCURRENT` / `AWSPENDING` / `AWSPREVIOUS` versions, so any AWS-native
//! consumer (a Python service calling `GetSecretValue`, ECS or Lambda secret injection,
//! External Secrets Operator) reads the right token without this SDK.
//!
//! ```no_run
//! use twilio_store::TokenStore;
//! use twilio_store_aws::SecretsManagerStore;
//!
//! # async fn example() -> Result<(), twilio_store::StoreError> {
//! // Region, credentials and endpoint from the AWS default chain (AWS_REGION, AWS_PROFILE,
//! // web identity, ECS, EC2 metadata; AWS_ENDPOINT_URL_SECRETS_MANAGER for an emulator).
//! let store = SecretsManagerStore::from_url("aws-sm://twilio/prod")?;
//! if let Some(record) = store.load().await? {
//!     // Fingerprints only: a token is never printed.
//!     println!("current {} (revision {})", record.current.fingerprint(), record.revision);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # How the record is kept
//!
//! * **Each token is a version** whose `SecretString` is `{"account_sid": "AC…",
//!   "auth_token": "…"}`, the form AWS-native readers (and the AWS rotation Lambda) use;
//!   readers ignore other fields. The version id is the `ClientRequestToken` that wrote it.
//! * **The rest of the record** (rotation phase, lease, the rotation's choices, the
//!   revision) is one more version of the same secret, labelled `TWILIO-RECORD`: the
//!   record's JSON form (as [`TokenRecord::encode`](twilio_store::TokenRecord::encode) writes
//!   it) plus `aws_version_ids`, the versions its tokens are in.
//! * **Every write is a compare-and-swap**: the new record goes into a new version
//!   (`PutSecretValue` with a fresh `ClientRequestToken`, under the scratch label
//!   `TWILIO-NEXT`), then `UpdateSecretVersionStage` moves `TWILIO-RECORD` to it with
//!   `RemoveFromVersionId` = the version it was read from. Secrets Manager refuses the move
//!   if the label moved meanwhile: that writer gets
//!   [`StoreErrorKind::Conflict`](twilio_store::StoreErrorKind::Conflict) and its version stays
//!   unlabelled (AWS deletes such versions itself). The rotation's lease
//!   ([`LeasedRecord`](twilio_store::LeasedRecord)) is built on these writes, as for every
//!   store.
//! * **Then the AWS labels follow the record**: `AWSCURRENT`, `AWSPENDING` and
//!   `AWSPREVIOUS` are moved (each with `RemoveFromVersionId`) to the record's tokens.
//!   Moving `AWSCURRENT` makes Secrets Manager put `AWSPREVIOUS` on the version it left,
//!   exactly what a promotion means. A writer that dies between its compare-and-swap and the
//!   label moves leaves the labels one step behind; the next write moves them.
//! * **The first write creates the secret** (`CreateSecret`: exactly one creator wins; the
//!   others get `Conflict`). A secret without a `TWILIO-RECORD` version (one that AWS's own
//!   rotation schedule rotates, or that was written by hand) is read from its labels alone,
//!   at revision 0, and never written by this store.
//!
//! # Heartbeats: none on Secrets Manager
//!
//! The fleet gate's heartbeats are not kept
//! ([`publish_heartbeat`](twilio_store::TokenStore::publish_heartbeat) answers
//! [`Unsupported`](twilio_store::StoreErrorKind::Unsupported)): each heartbeat would be a
//! billed `PutSecretValue` and a new version of the secret (AWS asks for at most one write
//! every 10 minutes per secret; 1,000 followers beating every 30 s would be 120,000 writes an
//! hour, $0.60 an hour at $0.05 per 10,000 calls, and the secret's versions would outgrow what
//! AWS deletes). Without heartbeats the rotation's gate has no followers to wait for, so the
//! hand-off grace decides: set it above every follower's reload interval (and above the AWS
//! caching clients' TTL for AWS-native readers).
//!
//! # Cost of following
//!
//! A follower's [`load`](twilio_store::TokenStore::load) is one `DescribeSecret` call; the
//! versions it names are read once (`GetSecretValue`) and cached, since a version never
//! changes. The store has no cheaper change marker, so a follower polls at its reload
//! interval. At the SDK's default (`twilio_accounts::follow::DEFAULT_RELOAD_INTERVAL`, 5 s)
//! that is **720 calls per follower per hour** (plus one or two `GetSecretValue` per
//! rotation): $0.0036 an hour per follower at $0.05 per 10,000 calls, $3.60 an hour (about
//! $2,600 a month) for a fleet of 1,000 processes. On Secrets Manager follow at 60 s instead
//! (60 calls an hour; $0.30 an hour for 1,000 processes) and keep the rotation's hand-off
//! grace above it.
//!
//! # Errors
//!
//! An unreachable, slow or throttling service is [`Io`](twilio_store::StoreErrorKind::Io)
//! (try again); refused credentials or permissions (including the KMS key) are
//! [`Permissions`](twilio_store::StoreErrorKind::Permissions); a missing secret is
//! [`NotFound`](twilio_store::StoreErrorKind::NotFound) (or `Ok(None)` from `load`); a request
//! that could not be sent (no region, no credentials the chain finds) or that the service
//! refuses is [`Invalid`](twilio_store::StoreErrorKind::Invalid). The SDK's error
//! is the [`source`](std::error::Error::source). No error, `Debug` or log line holds a token.
//!
//! The store's futures need a Tokio runtime.

mod error;
mod labels;
mod store;
mod value;

pub use store::{DEFAULT_OPERATION_TIMEOUT, SecretsManagerStore};

/// The AWS SDK client type [`SecretsManagerStore::with_client`] takes.
pub use aws_sdk_secretsmanager::Client;
