//! The rotation's record in the [`TokenStore`]: the [`Journal`] that holds this run's locks
//! (one in this process, the store's lease for every host) and writes each step by
//! compare-and-swap **before** anything depends on it, and the edits those writes make.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::{Instant, sleep};
use twilio_store::{
    LeaseOwner, LeasedRecord, RotationPhase, StoreError, StoreErrorKind, StoredToken,
    TokenFingerprint, TokenRecord, TokenStore,
};
use twilio_types::{AccountSid, AuthToken};

use super::report::AccountState;

/// The accounts being rotated by this process: a second rotation of the same account (two
/// clones of one client, say) fails at once instead of racing the first.
static ROTATING: Mutex<Vec<AccountSid>> = Mutex::new(Vec::new());

/// This process's rotation lock on one account, released when dropped.
#[derive(Debug)]
struct ProcessLock(AccountSid);

impl ProcessLock {
    fn acquire(account: AccountSid) -> Option<Self> {
        let mut rotating = ROTATING.lock().unwrap_or_else(PoisonError::into_inner);
        if rotating.contains(&account) {
            return None;
        }
        rotating.push(account);
        Some(Self(account))
    }
}

impl Drop for ProcessLock {
    fn drop(&mut self) {
        let mut rotating = ROTATING.lock().unwrap_or_else(PoisonError::into_inner);
        rotating.retain(|a| *a != self.0);
    }
}

/// Where a run records itself: the store's record under this run's lease, or (without a
/// store) nothing but this process's lock. Held from the first step to the last.
pub(super) struct Journal {
    _process: ProcessLock,
    /// `None`: the rotation lives in this process's memory only (the report and the error then
    /// hand over the new token).
    store: Option<Arc<dyn TokenStore>>,
    /// The record with this run's lease: every write goes through it (a compare-and-swap that
    /// renews the lease). `None` without a store, and after [`release`](Self::release).
    lease: Option<LeasedRecord>,
}

impl Journal {
    /// Takes this process's lock on `account` and, with a store, the record's lease for
    /// `lease_duration`, and reads the record.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Locked`] when another rotation of the account runs in this process
    /// or holds the lease; [`StoreErrorKind::Invalid`] when the store is empty or holds
    /// another account; the store's errors.
    pub(super) async fn open(
        account: AccountSid,
        store: Option<Arc<dyn TokenStore>>,
        lease_duration: Duration,
    ) -> Result<Self, StoreError> {
        let Some(process) = ProcessLock::acquire(account) else {
            return Err(StoreError::new(
                StoreErrorKind::Locked,
                "another rotation of this account is running in this process",
            ));
        };
        let Some(store) = store else {
            return Ok(Self {
                _process: process,
                store: None,
                lease: None,
            });
        };
        let lease =
            LeasedRecord::acquire(store.clone(), LeaseOwner::this_process(), lease_duration);
        let Some(lease) = lease.await? else {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                "the store is empty: write the account's current token first (TokenRecord::new, or `twilio-rotate init`)",
            ));
        };
        let stored_account = lease.record().account_sid;
        let mut journal = Self {
            _process: process,
            store: Some(store),
            lease: Some(lease),
        };
        if stored_account != account {
            journal.release().await;
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!("the store holds account {stored_account}, the client uses {account}"),
            ));
        }
        Ok(journal)
    }

    /// The store, if the run has one.
    pub(super) fn store(&self) -> Option<&Arc<dyn TokenStore>> {
        self.store.as_ref()
    }

    /// The record as last read or written (`None` without a store).
    pub(super) fn record(&self) -> Option<&TokenRecord> {
        self.lease.as_ref().map(LeasedRecord::record)
    }

    /// The token the record holds as `pending`, if any.
    pub(super) fn pending(&self) -> Option<&AuthToken> {
        self.record()?.pending.as_ref().map(StoredToken::token)
    }

    /// Writes the record changed by `update` (renewing the lease); a no-op without a store.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Conflict`] when the lease was lost or the record changed meanwhile;
    /// the store's errors. The record is then not written.
    pub(super) async fn save(
        &mut self,
        update: impl FnOnce(&mut TokenRecord),
    ) -> Result<(), StoreError> {
        let Some(lease) = self.lease.as_mut() else {
            return Ok(());
        };
        let mut next = lease.record().clone();
        update(&mut next);
        lease.save(next).await?;
        let saved = lease.record();
        tracing::debug!(
            phase = ?saved.phase,
            revision = saved.revision,
            "rotation recorded in the token store"
        );
        Ok(())
    }

    /// How long ago the record entered its phase (`Duration::MAX` without a store).
    pub(super) fn phase_age(&self) -> Duration {
        self.record().map_or(Duration::MAX, |r| {
            let elapsed: time::Duration = OffsetDateTime::now_utc() - r.phase_since;
            Duration::try_from(elapsed).unwrap_or(Duration::ZERO)
        })
    }

    /// Sleeps `duration`, renewing the lease every third of `lease_duration` so that a long
    /// wait (the hand-off grace, the fleet gate) never lets it lapse. A failed renewal is
    /// logged: the next write then fails (by compare-and-swap) instead of writing on a lease
    /// another rotator took.
    pub(super) async fn sleep_holding_the_lease(
        &mut self,
        duration: Duration,
        lease_duration: Duration,
    ) {
        let deadline = instant_after(Instant::now(), duration);
        let step = (lease_duration / 3).max(Duration::from_millis(10));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            sleep(left.min(step)).await;
            if let Some(lease) = self.lease.as_mut()
                && !deadline.saturating_duration_since(Instant::now()).is_zero()
                && let Err(error) = lease.renew().await
            {
                tracing::warn!(%error, "renewing the rotation's lease failed");
                sleep(deadline.saturating_duration_since(Instant::now())).await;
                return;
            }
        }
    }

    /// Gives the store's lease up at the end of the run. Best effort: if it fails, the lease
    /// expires on its own.
    pub(super) async fn release(&mut self) {
        if let Some(lease) = self.lease.take()
            && let Err(error) = lease.release().await
        {
            tracing::warn!(%error, "the rotation's lease could not be released; it expires on its own");
        }
    }
}

/// Moves `record` to `phase`, now.
pub(super) fn enter(record: &mut TokenRecord, phase: RotationPhase) {
    record.phase = phase;
    record.phase_since = OffsetDateTime::now_utc();
}

/// The promotion of `promoted` happened: it becomes `current`, the old `current` becomes
/// `previous`, nothing is pending.
pub(super) fn record_promotion(record: &mut TokenRecord, promoted: AuthToken) {
    let now = OffsetDateTime::now_utc();
    let new_current = match record.pending.take() {
        Some(pending) if pending.fingerprint() == TokenFingerprint::of(&promoted) => pending,
        _ => StoredToken::new(promoted, now),
    };
    let old = std::mem::replace(&mut record.current, new_current);
    record.previous = Some(old);
    record.completed_at = Some(now);
    enter(record, RotationPhase::Idle);
}

/// The rotation rolled back: nothing is pending.
pub(super) fn record_roll_back(record: &mut TokenRecord) {
    record.pending = None;
    enter(record, RotationPhase::Idle);
}

/// The state an interrupted rotation left, by the phase its record names.
pub(super) fn state_of(phase: RotationPhase) -> AccountState {
    match phase {
        RotationPhase::Idle => AccountState::UnchangedSecondaryRemains,
        RotationPhase::Creating => AccountState::UnchangedSecondaryRemains,
        RotationPhase::Staged => AccountState::Staged,
        _ => AccountState::Unknown,
    }
}

/// `start + wait`, or about a century after `start` when that overflows: a grace or max-wait
/// given (or recorded in the store) as "for ever" waits instead of panicking.
pub(super) fn instant_after(start: Instant, wait: Duration) -> Instant {
    start
        .checked_add(wait)
        .unwrap_or_else(|| start + Duration::from_secs(u64::from(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_for_ever_saturates_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(
            instant_after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        assert!(instant_after(now, Duration::MAX) > now + Duration::from_secs(3_600 * 24 * 365));
    }
}
