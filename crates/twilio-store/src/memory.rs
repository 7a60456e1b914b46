//! [`MemoryTokenStore`]: a [`TokenStore`] in memory, for tests and as the model for custom stores.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{
    ChangeStamp, FollowerId, Heartbeat, StoreError, StoreErrorKind, StoreFuture, TokenRecord,
    TokenStore,
};

/// A [`TokenStore`] that keeps the record (and the followers' heartbeats) in this process's
/// memory.
///
/// It is not durable: use it in tests, for a process that is the only consumer of its account
/// and hands the token over by other means, or as the pattern for a store backed by a secrets
/// manager (replace the mutex with the service's read and conditional write). Clones share the
/// same record.
#[derive(Debug, Clone, Default)]
pub struct MemoryTokenStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    record: Option<TokenRecord>,
    heartbeats: BTreeMap<FollowerId, Heartbeat>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        let record = self.inner().record.clone();
        Box::pin(std::future::ready(Ok(record)))
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, u64> {
        let mut inner = self.inner();
        let stored = inner.record.as_ref().map_or(0, |r| r.revision);
        let result = if stored == record.revision {
            let mut saved = record.clone();
            saved.revision = stored + 1;
            inner.record = Some(saved);
            Ok(stored + 1)
        } else {
            Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "the record changed since it was read (revision {stored}, not {}): nothing was written",
                    record.revision
                ),
            ))
        };
        Box::pin(std::future::ready(result))
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        Some(ChangeStamp::new(
            self.inner().record.as_ref().map_or(0, |r| r.revision),
        ))
    }

    fn publish_heartbeat<'a>(&'a self, heartbeat: &'a Heartbeat) -> StoreFuture<'a, ()> {
        self.inner()
            .heartbeats
            .insert(heartbeat.follower.clone(), heartbeat.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn heartbeats(&self) -> StoreFuture<'_, Vec<Heartbeat>> {
        let now = time::OffsetDateTime::now_utc();
        let mut inner = self.inner();
        inner.heartbeats.retain(|_, beat| !beat.is_prunable_at(now));
        let all = inner.heartbeats.values().cloned().collect();
        Box::pin(std::future::ready(Ok(all)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::now;
    use twilio_types::AuthToken;

    #[test]
    fn listing_heartbeats_forgets_those_expired_longer_than_the_retention() {
        use crate::{FollowerId, FollowerRole, HEARTBEAT_RETENTION, TokenLabel};

        let store = MemoryTokenStore::new();
        let at = time::OffsetDateTime::now_utc();
        let beat = |id: &str, expires_at| Heartbeat {
            follower: FollowerId::new(id).unwrap(),
            role: FollowerRole::Client,
            holds: vec![(TokenLabel::Current, "00000001".parse().unwrap())],
            published_at: at,
            expires_at,
        };
        let live = beat("live", at + time::Duration::seconds(30));
        let expired = beat("expired", at - time::Duration::seconds(30));
        let dead = beat(
            "dead",
            at - HEARTBEAT_RETENTION - std::time::Duration::from_secs(60),
        );
        for heartbeat in [&live, &expired, &dead] {
            now(store.publish_heartbeat(heartbeat)).unwrap();
        }
        assert_eq!(now(store.heartbeats()).unwrap(), [expired, live]);
    }

    #[test]
    fn save_is_a_compare_and_swap() {
        let store = MemoryTokenStore::new();
        let record = TokenRecord::new(
            "AC0123456789abcdef0123456789abcdef".parse().unwrap(),
            AuthToken::new("aaaabbbbccccddddeeeeffff00001111").unwrap(),
        );
        assert_eq!(now(store.save(&record)).unwrap(), 1);
        // Revision 0 writes only into an empty store.
        assert_eq!(
            now(store.save(&record)).unwrap_err().kind(),
            StoreErrorKind::Conflict
        );
        let first = now(store.load()).unwrap().unwrap();
        assert_eq!(now(store.save(&first)).unwrap(), 2);
        // `first` is stale now.
        let err = now(store.save(&first)).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Conflict);
        assert!(err.to_string().contains("revision 2, not 1"), "{err}");
        assert_eq!(now(store.load()).unwrap().unwrap().revision, 2);
        assert_eq!(store.change_stamp(), Some(ChangeStamp::new(2)));
    }
}
