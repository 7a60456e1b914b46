//! Where an account's Auth Tokens live during and between rotations: the [`TokenStore`] trait,
//! the [`TokenRecord`] it holds, [`FileTokenStore`] (one private JSON file, written atomically
//! and durably) and [`MemoryTokenStore`].
//!
//! The store is modelled on AWS Secrets Manager's staging labels: one record per account holds
//! the [`current`](TokenRecord::current) token, the [`pending`](TokenRecord::pending) one while a
//! rotation has created but not yet promoted it, and the [`previous`](TokenRecord::previous) one
//! after a promotion. The rotation writes the record **before** anything depends on what it
//! records, so the store (not any process's memory) is the truth about which tokens exist; other
//! processes follow it to learn a new token before the old one stops working.
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     // A tiny executor for the example: the memory store's futures are always ready.
//! #     let waker = std::task::Waker::noop();
//! #     let mut cx = std::task::Context::from_waker(&waker);
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! use twilio_store::{MemoryTokenStore, TokenRecord, TokenStore};
//! use twilio_types::{AccountSid, AuthToken};
//!
//! let account: AccountSid = "AC0123456789abcdef0123456789abcdef".parse()?;
//! let store = MemoryTokenStore::new();
//! block_on(async {
//!     assert!(store.load().await?.is_none());
//!     let record = TokenRecord::new(account, AuthToken::new("0123456789abcdef0123456789abcdef")?);
//!     store.save(&record).await?;
//!     let loaded = store.load().await?.expect("just saved");
//!     assert_eq!(loaded.current.fingerprint(), record.current.fingerprint());
//!     assert_eq!(loaded.revision, 1);
//!
//!     // A rotation holds the store's lock; a second one fails at once.
//!     let lock = store.try_lock().await?;
//!     assert!(store.try_lock().await.is_err());
//!     drop(lock);
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod file;
mod fingerprint;
mod memory;
mod record;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use file::FileTokenStore;
pub use fingerprint::TokenFingerprint;
pub use memory::MemoryTokenStore;
pub use record::{RotationPhase, StoredToken, TokenRecord};

/// The future a [`TokenStore`] method returns: boxed, so the trait stays object-safe
/// (`Arc<dyn TokenStore>`) without an async-trait dependency.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Durable storage for one account's [`TokenRecord`], shared by the process that rotates the
/// token and every process that follows it.
///
/// Implement it for a secrets manager (Vault, AWS Secrets Manager, Kubernetes Secrets, a
/// database) the way [`MemoryTokenStore`] does; the SDK's rotation and followers only call these
/// three methods.
///
/// # Contract
///
/// * [`save`](Self::save) returns `Ok` only when the record is **durable**: a crash or power
///   loss right after must not lose it, and a failed save must leave the previous record intact
///   (never a torn or half-written one). It stores `record.revision + 1` and the caller's copy
///   is not changed; [`load`](Self::load) then returns the saved record with that revision.
/// * [`load`](Self::load) returns `Ok(None)` when nothing was ever saved, and an error (never a
///   partial record) when what is stored cannot be read.
/// * [`try_lock`](Self::try_lock) gives at most one holder at a time the right to rotate,
///   across processes where the store is shared, and fails at once with
///   [`StoreErrorKind::Locked`] instead of waiting.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Reads the record, or `None` if the store is empty.
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>>;

    /// Writes `record` durably with its revision incremented.
    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, ()>;

    /// Takes the exclusive rotation lock, released when the returned [`StoreLock`] is dropped.
    fn try_lock(&self) -> StoreFuture<'_, StoreLock>;

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

/// Proof of holding a [`TokenStore`]'s rotation lock; dropping it releases the lock.
pub struct StoreLock {
    _guard: Box<dyn Send + Sync>,
}

impl StoreLock {
    /// Wraps the value whose `Drop` releases the lock (a locked file handle, a lease, …).
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
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
    /// Another holder has the rotation lock.
    Locked,
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
        assert_send(&store.try_lock());
    }
}
