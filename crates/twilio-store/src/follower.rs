//! [`Follower`]: the one implementation of "follow a [`TokenStore`]" that every consumer shares
//! (the SDK client's credentials, the webhook validator). It loads the store, hands each new
//! record to its subscribers, and publishes a [`Heartbeat`] of what they hold, so that a rotation
//! can check that every live follower has the pending token before promoting it.
//!
//! It has no runtime of its own: [`Follower::run`] sleeps with the function it is given
//! (`tokio::time::sleep`, or any other), so the webhooks crate stays free of Tokio.
//!
//! Followers learn of a change by polling: the store's cheap
//! [`change_stamp`](TokenStore::change_stamp) every [`CHANGE_CHECK_INTERVAL`] (a `stat` for a
//! file), and a full [`load`](TokenStore::load) every reload interval whatever the stamp says.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::{
    ChangeStamp, FollowerId, FollowerRole, Heartbeat, StoreError, StoreErrorKind, TokenFingerprint,
    TokenLabel, TokenRecord, TokenStore,
};

/// How often a follower asks the store for its cheap change stamp between full reloads (250 ms;
/// never more often than the reload interval). A change makes it reload at once.
pub const CHANGE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// The shortest reload interval: a shorter one is taken as this, so that a follower never spins.
pub const MIN_RELOAD_INTERVAL: Duration = Duration::from_millis(10);

/// What a subscriber holds after taking a record: the tokens it uses or accepts, by label and
/// fingerprint (reported in the follower's heartbeat).
pub type Holds = Vec<(TokenLabel, TokenFingerprint)>;

/// A subscriber: takes each new record, answers what it holds now (or why it refused it).
type Subscriber = Box<dyn Fn(&TokenRecord) -> Result<Holds, StoreError> + Send + Sync>;

/// Follows one [`TokenStore`] for its subscribers. Share it in an [`Arc`]; run its loop with
/// [`run`](Self::run), or drive it with [`reload`](Self::reload) and
/// [`check`](Self::check).
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use twilio_store::{Follower, FollowerId, FollowerRole, MemoryTokenStore, TokenRecord, TokenStore};
///
/// let store = Arc::new(MemoryTokenStore::new());
/// let account = "AC0123456789abcdef0123456789abcdef".parse()?;
/// let token = twilio_types::AuthToken::new("0123456789abcdef0123456789abcdef")?;
/// block_on(store.save(&TokenRecord::new(account, token)))?;
///
/// let follower = Follower::new(store.clone())
///     .with_heartbeat(FollowerId::new("web-1")?, FollowerRole::WebhookValidator, Duration::from_secs(30));
/// let seen = Arc::new(Mutex::new(0));
/// let counter = seen.clone();
/// follower.subscribe(move |record| {
///     *counter.lock().unwrap() += 1;
///     Ok(record.fingerprints())
/// });
/// block_on(follower.reload())?;
/// assert_eq!(*seen.lock().unwrap(), 1);
/// assert_eq!(block_on(store.heartbeats())?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Follower {
    store: Arc<dyn TokenStore>,
    subscribers: Mutex<Vec<Subscriber>>,
    heartbeat: Option<HeartbeatPlan>,
    state: Mutex<State>,
}

struct HeartbeatPlan {
    id: FollowerId,
    role: FollowerRole,
    ttl: Duration,
}

#[derive(Default)]
struct State {
    /// The change stamp taken before the last load.
    stamp: Option<ChangeStamp>,
    /// What the subscribers hold, as they last said.
    holds: Holds,
    /// The last reload failed (to log the recovery once).
    failing: bool,
    /// The store said it keeps no heartbeats: stop asking.
    heartbeats_unsupported: bool,
    /// The last heartbeat could not be published (warned once, until it works again).
    heartbeat_failing: bool,
}

impl Follower {
    /// A follower of `store` with no subscriber and no heartbeat.
    pub fn new(store: Arc<dyn TokenStore>) -> Self {
        Self {
            store,
            subscribers: Mutex::new(Vec::new()),
            heartbeat: None,
            state: Mutex::new(State::default()),
        }
    }

    /// Publishes a heartbeat as `id` in `role` at every reload, valid for `ttl` (three reload
    /// intervals is a good value: one lost write does not drop the follower from the gate).
    #[must_use]
    pub fn with_heartbeat(mut self, id: FollowerId, role: FollowerRole, ttl: Duration) -> Self {
        self.heartbeat = Some(HeartbeatPlan { id, role, ttl });
        self
    }

    /// The store followed.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// Adds a subscriber, called with every record loaded (at every reload: a store that was
    /// replaced may start its revisions over, so the follower does not skip "known" ones; a
    /// subscriber compares what it holds itself). It answers what it holds after taking the
    /// record, or an error (logged; the follower tries again at the next reload).
    pub fn subscribe(
        &self,
        subscriber: impl Fn(&TokenRecord) -> Result<Holds, StoreError> + Send + Sync + 'static,
    ) {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(subscriber));
    }

    /// What the subscribers hold, as they last said.
    pub fn holds(&self) -> Holds {
        self.lock().holds.clone()
    }

    /// Loads the store now, hands a new record to the subscribers, and publishes the heartbeat.
    ///
    /// # Errors
    ///
    /// The store's error, [`StoreErrorKind::NotFound`] for an empty store, or a subscriber's
    /// refusal. The subscribers keep what they had.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let stamp = self.store.change_stamp();
        let loaded = self.store.load().await;
        let result = self.deliver(stamp, loaded);
        match &result {
            Err(error) => {
                tracing::warn!(%error, "cannot follow the token store; keeping the last good tokens")
            }
            Ok(()) if std::mem::take(&mut self.lock().failing) => {
                tracing::info!("following the token store again");
            }
            Ok(()) => {}
        }
        self.lock().failing = result.is_err();
        self.publish_heartbeat().await;
        result
    }

    /// Whether the store's change stamp moved since the last load (`false` for a store without
    /// one).
    pub fn check(&self) -> bool {
        let stamp = self.store.change_stamp();
        stamp.is_some() && self.lock().stamp != stamp
    }

    /// The follower's loop: a reload now, then a check of the change stamp every
    /// [`CHANGE_CHECK_INTERVAL`] (at most `interval`) and a reload when it moved or `interval`
    /// (at least [`MIN_RELOAD_INTERVAL`]) has passed. Never completes: spawn it, abort it to
    /// stop. Sleeps with `sleep` (`tokio::time::sleep` on Tokio).
    pub fn run<S, F>(
        self: Arc<Self>,
        interval: Duration,
        mut sleep: S,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: FnMut(Duration) -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        let interval = interval.max(MIN_RELOAD_INTERVAL);
        let check = interval.min(CHANGE_CHECK_INTERVAL);
        async move {
            // Errors are logged by `reload`; the loop keeps trying.
            let _ = self.reload().await;
            let mut since_reload = Duration::ZERO;
            loop {
                let started = Instant::now();
                sleep(check).await;
                // The sleep's own clock may be paused (tests): count at least `check`.
                since_reload += started.elapsed().max(check);
                if since_reload >= interval || self.check() {
                    let _ = self.reload().await;
                    since_reload = Duration::ZERO;
                }
            }
        }
    }

    /// Hands `loaded` to the subscribers.
    fn deliver(
        &self,
        stamp: Option<ChangeStamp>,
        loaded: Result<Option<TokenRecord>, StoreError>,
    ) -> Result<(), StoreError> {
        self.lock().stamp = stamp;
        let record = loaded?.ok_or_else(|| {
            StoreError::new(StoreErrorKind::NotFound, "the token store holds no record")
        })?;
        let mut holds = Holds::new();
        for subscriber in self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for held in subscriber(&record)? {
                if !holds.contains(&held) {
                    holds.push(held);
                }
            }
        }
        self.lock().holds = holds;
        Ok(())
    }

    /// Publishes what the subscribers hold, if a heartbeat is planned and the store keeps them.
    async fn publish_heartbeat(&self) {
        let Some(plan) = &self.heartbeat else {
            return;
        };
        let (holds, unsupported) = {
            let state = self.lock();
            (state.holds.clone(), state.heartbeats_unsupported)
        };
        if unsupported {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let heartbeat = Heartbeat {
            follower: plan.id.clone(),
            role: plan.role,
            holds,
            published_at: now,
            expires_at: crate::saturating_after(now, plan.ttl),
        };
        let result = self.store.publish_heartbeat(&heartbeat).await;
        let mut state = self.lock();
        match result {
            Ok(()) if std::mem::take(&mut state.heartbeat_failing) => {
                tracing::info!("publishing the follower's heartbeat works again");
            }
            Ok(()) => {}
            Err(error) if error.kind() == StoreErrorKind::Unsupported => {
                tracing::info!(%error, "the token store keeps no heartbeats; not publishing any");
                state.heartbeats_unsupported = true;
            }
            // Once, not at every reload (a read-only directory would say so every 5 s): a
            // rotation's fleet gate does not wait for a follower it never heard from.
            Err(error) if !state.heartbeat_failing => {
                tracing::warn!(%error, "publishing the follower's heartbeat failed; the rotation's fleet gate will not count this follower");
                state.heartbeat_failing = true;
            }
            Err(_) => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Follower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("store", &self.store)
            .field("heartbeat_as", &self.heartbeat.as_ref().map(|h| &h.id))
            .field("holds", &self.holds())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::block_on;
    use crate::{MemoryTokenStore, RotationPhase, StoredToken};
    use twilio_types::AuthToken;

    fn record() -> TokenRecord {
        TokenRecord::new(
            "AC0123456789abcdef0123456789abcdef".parse().unwrap(),
            AuthToken::new("aaaabbbbccccddddeeeeffff00001111").unwrap(),
        )
    }

    #[test]
    fn every_load_reaches_every_subscriber_and_the_heartbeat_says_what_they_hold() {
        let store = Arc::new(MemoryTokenStore::new());
        block_on(store.save(&record())).unwrap();
        let follower = Follower::new(store.clone()).with_heartbeat(
            FollowerId::new("f1").unwrap(),
            FollowerRole::Client,
            Duration::from_secs(30),
        );
        let calls = Arc::new(Mutex::new(Vec::new()));
        for name in ["a", "b"] {
            let calls = calls.clone();
            follower.subscribe(move |record| {
                calls.lock().unwrap().push((name, record.revision));
                Ok(vec![(TokenLabel::Current, record.current.fingerprint())])
            });
        }
        block_on(follower.reload()).unwrap();
        assert!(!follower.check(), "nothing changed");

        let mut staged = block_on(store.load()).unwrap().unwrap();
        staged.pending = Some(StoredToken::new(
            AuthToken::new("fedcba9876543210fedcba9876543210").unwrap(),
            OffsetDateTime::now_utc(),
        ));
        staged.phase = RotationPhase::Staged;
        block_on(store.save(&staged)).unwrap();
        assert!(follower.check(), "the change stamp moved");
        block_on(follower.reload()).unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            [("a", 1), ("b", 1), ("a", 2), ("b", 2)]
        );

        let beats = block_on(store.heartbeats()).unwrap();
        assert_eq!(beats.len(), 1);
        assert_eq!(
            beats[0].holds,
            [(TokenLabel::Current, staged.current.fingerprint())]
        );
        assert!(beats[0].is_live_at(OffsetDateTime::now_utc()));
    }

    #[test]
    fn a_refusing_subscriber_or_an_empty_store_is_an_error_and_is_retried() {
        let store = Arc::new(MemoryTokenStore::new());
        let follower = Follower::new(store.clone());
        assert_eq!(
            block_on(follower.reload()).unwrap_err().kind(),
            StoreErrorKind::NotFound
        );
        block_on(store.save(&record())).unwrap();
        let refuse = Arc::new(Mutex::new(true));
        let flag = refuse.clone();
        follower.subscribe(move |_| {
            if *flag.lock().unwrap() {
                Err(StoreError::new(StoreErrorKind::Invalid, "not mine"))
            } else {
                Ok(Vec::new())
            }
        });
        assert_eq!(
            block_on(follower.reload()).unwrap_err().kind(),
            StoreErrorKind::Invalid
        );
        *refuse.lock().unwrap() = false;
        // Offered again at the next reload.
        block_on(follower.reload()).unwrap();
    }

    #[test]
    fn a_store_without_heartbeats_is_asked_once() {
        #[derive(Debug, Default)]
        struct Plain(MemoryTokenStore, std::sync::atomic::AtomicU32);
        impl TokenStore for Plain {
            fn load(&self) -> crate::StoreFuture<'_, Option<TokenRecord>> {
                self.0.load()
            }
            fn save<'a>(&'a self, record: &'a TokenRecord) -> crate::StoreFuture<'a, u64> {
                self.0.save(record)
            }
            fn publish_heartbeat<'a>(&'a self, _: &'a Heartbeat) -> crate::StoreFuture<'a, ()> {
                self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Box::pin(std::future::ready(Err(StoreError::new(
                    StoreErrorKind::Unsupported,
                    "no",
                ))))
            }
        }
        let store = Arc::new(Plain::default());
        block_on(store.save(&record())).unwrap();
        let follower = Follower::new(store.clone()).with_heartbeat(
            FollowerId::new("f").unwrap(),
            FollowerRole::Client,
            Duration::from_secs(1),
        );
        for _ in 0..3 {
            block_on(follower.reload()).unwrap();
        }
        assert_eq!(store.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
