//! Where an account's Auth Tokens live during and between rotations: the [`TokenStore`] trait,
//! the [`TokenRecord`] it holds, [`FileTokenStore`] (one private JSON file, written atomically and
//! durably), [`KubernetesSecretStore`] (read-only, over a Kubernetes Secret mounted as a volume)
//! and [`MemoryTokenStore`]; the rotation's [lease](LeasedRecord) and the followers'
//! [heartbeats](Heartbeat).
//!
//! The store is modelled on AWS Secrets Manager's staging labels: one record per account holds
//! the [`current`](TokenRecord::current) token, the [`pending`](TokenRecord::pending) one while a
//! rotation has created but not yet promoted it, and the [`previous`](TokenRecord::previous) one
//! after a promotion. The rotation writes the record **before** anything depends on what it
//! records, so the store (not any process's memory) is the truth about which tokens exist; other
//! processes follow it to learn a new token before the old one stops working.
//!
//! Many hosts may share one store, so every write is a compare-and-swap on the record's
//! [`revision`](TokenRecord::revision): a writer holding a stale record gets
//! [`StoreErrorKind::Conflict`] and overwrites nothing. The rotation's lock is a [`Lease`]
//! inside the record, taken, renewed and released by such writes ([`LeasedRecord`]).
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     // A tiny executor for the example: the memory store's futures are always ready.
//! #     let waker = std::task::Waker::noop();
//! #     let mut cx = std::task::Context::from_waker(&waker);
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! use std::sync::Arc;
//! use std::time::Duration;
//! use twilio_store::{LeaseOwner, LeasedRecord, MemoryTokenStore, StoreErrorKind, TokenRecord, TokenStore};
//! use twilio_types::{AccountSid, AuthToken};
//!
//! let account: AccountSid = "AC0123456789abcdef0123456789abcdef".parse()?;
//! let store = Arc::new(MemoryTokenStore::new());
//! block_on(async {
//!     assert!(store.load().await?.is_none());
//!     let record = TokenRecord::new(account, AuthToken::new("0123456789abcdef0123456789abcdef")?);
//!     assert_eq!(store.save(&record).await?, 1); // revision 0: only into an empty store
//!     let loaded = store.load().await?.expect("just saved");
//!     assert_eq!(loaded.current.fingerprint(), record.current.fingerprint());
//!     assert_eq!(loaded.revision, 1);
//!     // A writer with a stale record is refused.
//!     assert_eq!(store.save(&record).await.unwrap_err().kind(), StoreErrorKind::Conflict);
//!
//!     // A rotation holds the record's lease; a second one fails at once.
//!     let lease = LeasedRecord::acquire(store.clone(), LeaseOwner::new("host-a:1:x"), Duration::from_secs(60))
//!         .await?
//!         .expect("the store holds a record");
//!     let other = LeasedRecord::acquire(store.clone(), LeaseOwner::new("host-b:2:y"), Duration::from_secs(60)).await;
//!     assert_eq!(other.unwrap_err().kind(), StoreErrorKind::Locked);
//!     lease.release().await?;
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod file;
mod fingerprint;
mod follower;
mod heartbeat;
mod kubernetes;
mod label;
mod lease;
mod memory;
mod record;
#[cfg(test)]
mod test_util;
#[cfg(feature = "vault")]
#[cfg_attr(docsrs, doc(cfg(feature = "vault")))]
pub mod vault;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use file::FileTokenStore;
pub use fingerprint::{ParseFingerprintError, TokenFingerprint};
pub use follower::{CHANGE_CHECK_INTERVAL, Follower, Holds, MIN_RELOAD_INTERVAL};
pub use heartbeat::{FollowerId, FollowerRole, HEARTBEAT_RETENTION, Heartbeat};
pub use kubernetes::{DEFAULT_SECRET_KEY, KubernetesSecretStore};
pub use label::TokenLabel;
pub use lease::{Lease, LeaseOwner, LeasedRecord};
pub use memory::MemoryTokenStore;
pub use record::{GatePolicy, RotationChoices, RotationPhase, StoredToken, TokenRecord};

/// The future a [`TokenStore`] method returns: boxed, so the trait stays object-safe
/// (`Arc<dyn TokenStore>`) without an async-trait dependency.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Durable storage for one account's [`TokenRecord`], shared by the process that rotates the
/// token and every process (on any host) that follows it.
///
/// Implement it for a secrets manager (Vault, AWS Secrets Manager, Kubernetes Secrets, a
/// database) the way [`MemoryTokenStore`] does: a read, a conditional write, and optionally a
/// change marker and the followers' heartbeats. The rotation's lease ([`LeasedRecord`]) is built
/// on [`save`](Self::save) once for every store, never per backend.
///
/// # Contract
///
/// * [`save`](Self::save) is a **compare-and-swap** on the revision: it writes `record` only if
///   the stored record's revision is still `record.revision` (0: only if nothing is stored),
///   stores it with a new, larger revision and returns that revision; the caller's copy is not
///   changed. Otherwise it fails with [`StoreErrorKind::Conflict`] and writes nothing. It
///   returns `Ok` only when the record is **durable**: a crash or power loss right after must
///   not lose it, and a failed save must leave the previous record intact (never a torn one).
/// * [`load`](Self::load) returns `Ok(None)` when nothing was ever saved, the record with
///   `revision` set to the backend's revision of what was read, and an error (never a partial
///   record) when what is stored cannot be read.
/// * [`publish_heartbeat`](Self::publish_heartbeat) and [`heartbeats`](Self::heartbeats) keep one
///   [`Heartbeat`] per follower (the last one published wins); a store that cannot keep them
///   answers [`StoreErrorKind::Unsupported`] (the default). A store may remove, as it lists
///   them, heartbeats expired longer than [`HEARTBEAT_RETENTION`]
///   ([`Heartbeat::is_prunable_at`]), never a live one, and never one a follower replaced
///   meanwhile.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Reads the record (its `revision` is the stored revision), or `None` if the store is
    /// empty.
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>>;

    /// Writes `record` durably if the stored revision is still `record.revision` (0: only into
    /// an empty store); returns the new revision. A stale revision is
    /// [`StoreErrorKind::Conflict`] and writes nothing.
    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, u64>;

    /// A cheap marker that changes whenever the stored record may have changed, or `None`
    /// (the default) when the store has nothing cheaper than [`load`](Self::load).
    ///
    /// Followers poll it often and reload only when it changes, so they notice a staged token
    /// within a fraction of their reload interval; [`FileTokenStore`] answers with one `stat`.
    /// A marker that changes without a change of record only costs a reload; one that does not
    /// change when the record does delays followers until their next full reload.
    fn change_stamp(&self) -> Option<ChangeStamp> {
        None
    }

    /// Publishes what one follower holds (fleet acknowledgement, issue 17 §4), replacing its
    /// previous heartbeat. Default: [`StoreErrorKind::Unsupported`].
    fn publish_heartbeat<'a>(&'a self, heartbeat: &'a Heartbeat) -> StoreFuture<'a, ()> {
        let _ = heartbeat;
        Box::pin(std::future::ready(Err(unsupported("heartbeats"))))
    }

    /// Every heartbeat published, expired ones included (the caller filters by
    /// [`expires_at`](Heartbeat::expires_at)), except those expired longer than
    /// [`HEARTBEAT_RETENTION`], which the file, memory and Vault stores remove as they list
    /// them (best effort): the rotator, which reads heartbeats at its fleet gate and in
    /// `status`, is what prunes the heartbeats of followers gone for good. Default:
    /// [`StoreErrorKind::Unsupported`].
    fn heartbeats(&self) -> StoreFuture<'_, Vec<Heartbeat>> {
        Box::pin(std::future::ready(Err(unsupported("heartbeats"))))
    }
}

/// `now + duration`, or the latest instant `time` can hold when that is past it: a lease or
/// heartbeat asked for "for ever" (`Duration::MAX`) lasts until then instead of panicking.
fn saturating_after(
    now: time::OffsetDateTime,
    duration: std::time::Duration,
) -> time::OffsetDateTime {
    time::Duration::try_from(duration)
        .ok()
        .and_then(|duration| now.checked_add(duration))
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// The error of a [`TokenStore`] method that the store does not implement.
fn unsupported(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unsupported,
        format!("this store does not keep {what}"),
    )
}

/// An opaque marker of a stored record's version, from [`TokenStore::change_stamp`]: two equal
/// stamps mean (almost certainly) an unchanged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangeStamp(u64);

impl ChangeStamp {
    /// A stamp from any value that changes with the record (a hash of file metadata, an
    /// object's version or ETag hash, a revision counter).
    pub fn new(value: u64) -> Self {
        Self(value)
    }
}

/// Why a [`TokenStore`] operation failed. Never contains a token.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What kind of [`StoreError`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Another holder has the rotation's [lease](Lease), and it has not expired.
    Locked,
    /// The stored record changed since it was read (a compare-and-swap failed), or this
    /// writer's lease expired or was taken over: nothing was written.
    Conflict,
    /// The store does not offer this operation (for example heartbeats, or writes to a
    /// read-only store).
    Unsupported,
    /// The stored record cannot be read as a record (malformed, or of another version).
    Malformed,
    /// The store's storage is not private enough (for example a file readable by others).
    Permissions,
    /// Reading or writing the storage failed (I/O, network, the backing service).
    Io,
    /// The record is valid but cannot be used as asked (for example another account's).
    Invalid,
    /// A store was to be created where one already exists (it is never overwritten).
    AlreadyExists,
    /// The store does not exist (for example no file at the path given).
    NotFound,
}

impl StoreError {
    /// A new error; `message` says what happened and must not contain a secret.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error with its underlying cause, reachable through [`source`](StdError::source).
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What happened, without the `token store: ` prefix of `Display`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("token store: ")?;
        f.write_str(&self.message)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_past_what_time_holds_saturates() {
        let now = time::OffsetDateTime::now_utc();
        let second = std::time::Duration::from_secs(1);
        assert_eq!(saturating_after(now, second), now + second);
        let max = time::PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(saturating_after(now, std::time::Duration::MAX), max);
        assert_eq!(saturating_after(max, second), max);
    }

    #[test]
    fn error_keeps_kind_message_and_source() {
        let io = std::io::Error::other("disk full");
        let err = StoreError::new(StoreErrorKind::Io, "writing /x").with_source(io);
        assert_eq!(err.kind(), StoreErrorKind::Io);
        assert_eq!(err.to_string(), "token store: writing /x");
        assert_eq!(err.source().unwrap().to_string(), "disk full");
    }

    #[test]
    fn trait_is_object_safe_and_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let store: std::sync::Arc<dyn TokenStore> = std::sync::Arc::new(MemoryTokenStore::new());
        assert_send(&store.load());
        assert_send(&store.heartbeats());
    }
}
