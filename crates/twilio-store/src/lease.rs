//! The rotation's lock, kept **inside the record**: a [`Lease`] with an owner, an expiry and a
//! fencing revision, taken, renewed and released by compare-and-swap saves ([`LeasedRecord`]).
//! Written once here for every [`TokenStore`]; no backend implements locking of its own.
//!
//! Why it is safe on a store many hosts share: every takeover is a compare-and-swap, so a
//! holder that lost its lease (it expired and another rotator took it) gets
//! [`StoreErrorKind::Conflict`] on its next write; and a holder refuses to write once its own
//! lease has expired by its own clock, so it never writes on a lease it may have lost.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::{StoreError, StoreErrorKind, TokenRecord, TokenStore};

/// Who holds a [`Lease`]: `host:pid:random` for a process ([`this_process`](Self::this_process)),
/// or any name a caller gives. Safe to print: it names a process, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseOwner(String);

impl LeaseOwner {
    /// An owner named `name` (kept as given).
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// This process: `HOST:PID:RANDOM`, the random part new for every call, so two
    /// rotations in one process are two owners.
    pub fn this_process() -> Self {
        Self(format!(
            "{}:{}:{:016x}",
            host_name(),
            std::process::id(),
            random_u64()
        ))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(host, pid)` when the name has the form [`this_process`](Self::this_process) writes.
    fn host_and_pid(&self) -> Option<(&str, u32)> {
        let mut parts = self.0.rsplitn(3, ':');
        let _random = parts.next()?;
        let pid = parts.next()?.parse().ok()?;
        Some((parts.next()?, pid))
    }
}

impl fmt::Display for LeaseOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rotation's lock as the record stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it.
    pub owner: LeaseOwner,
    /// When it expires unless renewed (by the holder's clock when it was written).
    pub expires_at: OffsetDateTime,
    /// The record's revision when the lease was taken: grows with every takeover, so two
    /// holders of the "same" lease are told apart.
    pub fence: u64,
}

impl Lease {
    /// Whether the lease still holds at `now`.
    pub fn is_live_at(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    /// Whether the lease keeps another owner out at `now`: it is live, and its holder is not a
    /// process of this host that no longer exists (the rule of [`LeasedRecord::acquire`]; a
    /// `status` that asks "is a run in flight?" asks this).
    pub fn blocks_at(&self, now: OffsetDateTime) -> bool {
        self.is_live_at(now) && !holder_died_on_this_host(&self.owner)
    }
}

/// A record whose lease this process holds: every write through it is a compare-and-swap that
/// also renews the lease.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::sync::Arc;
/// use std::time::Duration;
/// use twilio_store::{LeaseOwner, LeasedRecord, MemoryTokenStore, RotationPhase, TokenRecord, TokenStore};
///
/// let store = Arc::new(MemoryTokenStore::new());
/// let account = "AC0123456789abcdef0123456789abcdef".parse()?;
/// let token = twilio_types::AuthToken::new("0123456789abcdef0123456789abcdef")?;
/// block_on(async {
///     store.save(&TokenRecord::new(account, token)).await?;
///     let mut held = LeasedRecord::acquire(store.clone(), LeaseOwner::this_process(), Duration::from_secs(60))
///         .await?
///         .expect("a record is stored");
///     let mut next = held.record().clone();
///     next.phase = RotationPhase::Creating;
///     held.save(next).await?; // compare-and-swap, lease renewed
///     held.release().await?;
///     assert!(store.load().await?.unwrap().lease.is_none());
///     Ok::<_, Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LeasedRecord {
    store: Arc<dyn TokenStore>,
    owner: LeaseOwner,
    duration: Duration,
    record: TokenRecord,
}

impl LeasedRecord {
    /// Reads the record and takes its lease for `duration` (a compare-and-swap save). `None`
    /// when the store is empty.
    ///
    /// A lease of another owner that has not expired refuses, unless its owner is a process of
    /// this host (same host name, Linux) that no longer exists: a rotator killed on this host
    /// does not block a `resume` on it until the lease expires. One that died on another host
    /// blocks until then.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Locked`] (naming the owner and the expiry) while another owner's
    /// lease holds; [`StoreErrorKind::Conflict`] if the record changed between the read and
    /// the write (another rotator was faster); the store's errors.
    pub async fn acquire(
        store: Arc<dyn TokenStore>,
        owner: LeaseOwner,
        duration: Duration,
    ) -> Result<Option<Self>, StoreError> {
        let Some(record) = store.load().await? else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc();
        if let Some(lease) = &record.lease
            && lease.owner != owner
            && lease.blocks_at(now)
        {
            return Err(StoreError::new(
                StoreErrorKind::Locked,
                format!(
                    "another rotation holds the lease: {} until {}",
                    lease.owner,
                    twilio_types::timestamp::format(&lease.expires_at)
                ),
            ));
        }
        let fence = record.revision;
        let mut held = Self {
            store,
            owner,
            duration,
            record,
        };
        let mut next = held.record.clone();
        next.lease = Some(held.lease(fence, now));
        held.write(next).await?;
        Ok(Some(held))
    }

    /// The record as this holder last read or wrote it (its `revision` is the stored one).
    pub fn record(&self) -> &TokenRecord {
        &self.record
    }

    /// This holder.
    pub fn owner(&self) -> &LeaseOwner {
        &self.owner
    }

    /// When the lease expires unless renewed.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.record
            .lease
            .as_ref()
            .map_or(OffsetDateTime::UNIX_EPOCH, |lease| lease.expires_at)
    }

    /// Writes `next` (its lease and revision are set here) and renews the lease.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Conflict`] when the lease has expired by this process's clock (the
    /// record is not written: another rotator may have taken over) or the stored record changed
    /// since this holder's last read or write (it did take over); the store's errors.
    pub async fn save(&mut self, next: TokenRecord) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        self.check_live(now)?;
        let fence = self.record.lease.as_ref().map_or(0, |lease| lease.fence);
        let mut next = next;
        next.lease = Some(self.lease(fence, now));
        self.write(next).await
    }

    /// Renews the lease for its duration from now (a write of the unchanged record).
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    pub async fn renew(&mut self) -> Result<(), StoreError> {
        self.save(self.record.clone()).await
    }

    /// Gives the lease up (a write of the record without it).
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save); the lease then simply expires.
    pub async fn release(mut self) -> Result<(), StoreError> {
        self.check_live(OffsetDateTime::now_utc())?;
        let mut next = self.record.clone();
        next.lease = None;
        self.write(next).await
    }

    fn lease(&self, fence: u64, now: OffsetDateTime) -> Lease {
        Lease {
            owner: self.owner.clone(),
            expires_at: crate::saturating_after(now, self.duration),
            fence,
        }
    }

    fn check_live(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        if now < self.expires_at() {
            return Ok(());
        }
        Err(StoreError::new(
            StoreErrorKind::Conflict,
            format!(
                "this rotation's lease ({}) expired at {}: another rotation may have taken over, \
                 nothing was written",
                self.owner,
                twilio_types::timestamp::format(&self.expires_at())
            ),
        ))
    }

    /// The compare-and-swap: `next` replaces the record this holder last saw.
    async fn write(&mut self, mut next: TokenRecord) -> Result<(), StoreError> {
        next.revision = self.record.revision;
        let revision = self.store.save(&next).await?;
        next.revision = revision;
        self.record = next;
        Ok(())
    }
}

/// This machine's name, as far as the standard library can tell without `unsafe`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// 64 random bits, from the standard library's randomly keyed hasher (no dependency; not for
/// secrets, only to tell two owners in one process apart).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .unsigned_abs(),
    );
    hasher.finish()
}

/// Whether `owner` names a process of this host that no longer runs (Linux: no `/proc/PID`).
/// Anything else (another host, another name form, no `/proc`) is "may be alive".
fn holder_died_on_this_host(owner: &LeaseOwner) -> bool {
    let Some((host, pid)) = owner.host_and_pid() else {
        return false;
    };
    if !cfg!(target_os = "linux") || host == "unknown-host" || host != host_name() {
        return false;
    }
    let proc = std::path::Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTokenStore;
    use crate::test_util::block_on;
    use twilio_types::AuthToken;

    fn store() -> Arc<MemoryTokenStore> {
        let store = Arc::new(MemoryTokenStore::new());
        let record = TokenRecord::new(
            "AC0123456789abcdef0123456789abcdef".parse().unwrap(),
            AuthToken::new("aaaabbbbccccddddeeeeffff00001111").unwrap(),
        );
        block_on(store.save(&record)).unwrap();
        store
    }

    fn acquire(
        store: &Arc<MemoryTokenStore>,
        owner: &str,
        duration: Duration,
    ) -> Result<LeasedRecord, StoreError> {
        block_on(LeasedRecord::acquire(
            store.clone(),
            LeaseOwner::new(owner),
            duration,
        ))
        .map(|held| held.expect("a record is stored"))
    }

    #[test]
    fn a_live_lease_of_another_owner_is_locked_and_named() {
        let store = store();
        let held = acquire(&store, "host-a:1:aa", Duration::from_secs(60)).unwrap();
        let err = acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Locked);
        assert!(err.to_string().contains("host-a:1:aa until "), "{err}");
        block_on(held.release()).unwrap();
        acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn a_holder_that_lost_its_lease_cannot_write() {
        let store = store();
        // Host A takes a short lease and stalls past it; host B takes over.
        let mut a = acquire(&store, "host-a:1:aa", Duration::from_millis(30)).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        let mut b = acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap();
        assert!(
            b.record().lease.as_ref().unwrap().fence > a.record().lease.as_ref().unwrap().fence
        );

        // A refuses by its own clock, before touching the store.
        let mut next = a.record().clone();
        next.phase = crate::RotationPhase::Promoting;
        let err = block_on(a.save(next.clone())).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Conflict);
        assert!(err.to_string().contains("expired"), "{err}");
        // And even with a clock that says otherwise, the compare-and-swap refuses.
        a.record.lease.as_mut().unwrap().expires_at =
            OffsetDateTime::now_utc() + Duration::from_secs(60);
        let err = block_on(a.save(next)).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Conflict);

        let stored = block_on(store.load()).unwrap().unwrap();
        assert_eq!(stored.phase, crate::RotationPhase::Idle);
        assert_eq!(stored.lease.unwrap().owner.as_str(), "host-b:2:bb");
        block_on(b.renew()).unwrap();
    }

    #[test]
    fn a_dead_holder_blocks_only_until_its_lease_expires() {
        let store = store();
        let a = acquire(&store, "other-host:1:aa", Duration::from_millis(50)).unwrap();
        drop(a); // died without releasing
        let err = acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Locked);
        std::thread::sleep(Duration::from_millis(60));
        acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn a_holder_on_this_host_whose_process_is_gone_does_not_block() {
        if !cfg!(target_os = "linux") || host_name() == "unknown-host" {
            eprintln!("SKIPPED: needs Linux /proc and a host name");
            return;
        }
        // A child process that has exited: its pid names no running process.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let store = store();
        let dead = format!("{}:{pid}:aa", host_name());
        drop(acquire(&store, &dead, Duration::from_secs(600)).unwrap());
        acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap();

        // A live process of this host does block.
        let live = LeaseOwner::this_process();
        let store = self::store();
        drop(acquire(&store, live.as_str(), Duration::from_secs(600)).unwrap());
        let err = acquire(&store, "host-b:2:bb", Duration::from_secs(60)).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Locked);
    }

    #[test]
    fn owners_of_this_process_differ_and_parse() {
        let (a, b) = (LeaseOwner::this_process(), LeaseOwner::this_process());
        assert_ne!(a, b);
        let (host, pid) = a.host_and_pid().unwrap();
        assert_eq!((host, pid), (host_name().as_str(), std::process::id()));
        assert_eq!(LeaseOwner::new("no-pid").host_and_pid(), None);
    }
}
