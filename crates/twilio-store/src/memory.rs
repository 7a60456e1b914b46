//! [`MemoryTokenStore`]: a [`TokenStore`] in memory, for tests and as the model for custom stores.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{StoreError, StoreErrorKind, StoreFuture, StoreLock, TokenRecord, TokenStore};

/// A [`TokenStore`] that keeps the record in this process's memory.
///
/// It is not durable: use it in tests, for a process that is the only consumer of its account
/// and hands the token over by other means, or as the pattern for a store backed by a secrets
/// manager (replace the mutex with the service's read, conditional write and lease). Clones
/// share the same record and lock.
#[derive(Debug, Clone, Default)]
pub struct MemoryTokenStore {
    record: Arc<Mutex<Option<TokenRecord>>>,
    locked: Arc<AtomicBool>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        let record = self
            .record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Box::pin(std::future::ready(Ok(record)))
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, ()> {
        let mut saved = record.clone();
        saved.revision = record.revision.saturating_add(1);
        *self.record.lock().unwrap_or_else(PoisonError::into_inner) = Some(saved);
        Box::pin(std::future::ready(Ok(())))
    }

    fn try_lock(&self) -> StoreFuture<'_, StoreLock> {
        let result = if self.locked.swap(true, Ordering::AcqRel) {
            Err(StoreError::new(
                StoreErrorKind::Locked,
                "another rotation of this account holds the lock",
            ))
        } else {
            Ok(StoreLock::new(Unlock(Arc::clone(&self.locked))))
        };
        Box::pin(std::future::ready(result))
    }
}

/// Releases a [`MemoryTokenStore`]'s lock when dropped.
struct Unlock(Arc<AtomicBool>);

impl Drop for Unlock {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
