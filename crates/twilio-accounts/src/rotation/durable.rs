//! The rotation's bookkeeping in the [`TokenStore`]: the locks, opening the record, and the
//! writes that make each step durable **before** anything depends on it.

// The rotation's own error, as everywhere in the workflow: built once per failed run.
#![allow(clippy::result_large_err)]

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::{Instant, sleep};
use twilio_store::{
    GatePolicy, Heartbeat, LeaseOwner, LeasedRecord, RotationChoices, RotationPhase, StoreError,
    StoreErrorKind, StoredToken, TokenRecord,
};
use twilio_transport::{Credentials, HttpClient};
use twilio_types::AccountSid;

use super::report::{AccountState, ClientToken, RotationError, RotationStep, StepOutcome};
use super::workflow::Run;
use super::{Checkpoint, TokenFingerprint};
use crate::error::Error;

/// The accounts being rotated by this process: a second rotation of the same account (two
/// clones of one client, say) fails at once instead of racing the first.
static ROTATING: Mutex<Vec<AccountSid>> = Mutex::new(Vec::new());

/// This process's rotation lock on one account, released when dropped.
#[derive(Debug)]
pub(super) struct ProcessLock(AccountSid);

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

/// A staged token, ready to be promoted.
pub(super) struct Staged {
    pub(super) fingerprint: TokenFingerprint,
    pub(super) credentials: Credentials,
    /// A client that authenticates with the staged token.
    pub(super) verifier: HttpClient,
}

/// Moves `record` to `phase`, now.
pub(super) fn enter(record: &mut TokenRecord, phase: RotationPhase) {
    record.phase = phase;
    record.phase_since = OffsetDateTime::now_utc();
}

/// The promotion of `promoted` happened: it becomes `current`, the old `current` becomes
/// `previous`, nothing is pending.
pub(super) fn record_promotion(record: &mut TokenRecord, promoted: twilio_types::AuthToken) {
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

/// How often the fleet gate reads the heartbeats while it waits.
const GATE_POLL_INTERVAL: Duration = Duration::from_millis(100);

fn std_duration(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

impl Run<'_> {
    /// Calls the checkpoint hook, if any, with the boundary just reached.
    pub(super) fn checkpoint(&self, checkpoint: Checkpoint) {
        if let Some(hook) = &self.plan.checkpoint {
            hook(checkpoint);
        }
    }

    /// The choices this run was started with, recorded with the rotation for `resume`.
    pub(super) fn plan_choices(&self) -> RotationChoices {
        let mut choices = RotationChoices::new();
        choices.hand_off_grace = Some(self.plan.hand_off_grace);
        choices.max_wait = Some(self.plan.max_wait);
        choices.gate_policy = Some(self.plan.gate_policy);
        choices
    }

    /// The fleet gate before a promotion (issue 17 §4): waits until every live follower's
    /// heartbeat holds `pending`, at most the plan's max-wait, then follows its policy. A store
    /// that keeps no heartbeats has no gate (the hand-off grace alone protects followers).
    pub(super) async fn fleet_gate(
        &mut self,
        pending: TokenFingerprint,
    ) -> Result<(), RotationError> {
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        let step = RotationStep::FleetAcknowledgement;
        let started = Instant::now();
        let deadline = instant_after(started, self.plan.max_wait);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let lagging: Vec<String> = match store.heartbeats().await {
                Ok(beats) => {
                    let now = OffsetDateTime::now_utc();
                    let live = beats.iter().filter(|b| b.is_live_at(now)).count();
                    let lagging: Vec<String> = Heartbeat::lagging(&beats, pending, now)
                        .iter()
                        .map(|b| format!("{} ({})", b.follower, b.role.as_str()))
                        .collect();
                    if lagging.is_empty() {
                        let note = format!("{live} live follower(s) hold token {pending}");
                        self.record(
                            step,
                            StepOutcome::Succeeded,
                            started,
                            attempts,
                            Some(note.into()),
                        );
                        return Ok(());
                    }
                    lagging
                }
                Err(error) if error.kind() == StoreErrorKind::Unsupported => {
                    let note = "the store keeps no heartbeats: no gate, only the hand-off grace";
                    self.record(step, StepOutcome::Skipped, started, 0, Some(note.into()));
                    return Ok(());
                }
                Err(error) => vec![format!("unknown: the heartbeats cannot be read ({error})")],
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let who = lagging.join(", ");
                let waited = self.plan.max_wait.as_secs_f64();
                if self.plan.gate_policy == GatePolicy::PromoteAnyway {
                    let note = format!(
                        "promoting anyway after {waited:.1}s: followers without token {pending}: {who}"
                    );
                    tracing::warn!(%pending, followers = %who, "fleet gate: promoting anyway");
                    self.record(
                        step,
                        StepOutcome::Skipped,
                        started,
                        attempts,
                        Some(note.into()),
                    );
                    return Ok(());
                }
                let note = format!("followers without token {pending}: {who}");
                self.record(
                    step,
                    StepOutcome::Failed,
                    started,
                    attempts,
                    Some(note.into()),
                );
                let error = Error::workflow(
                    step.description(),
                    format!(
                        "after {waited:.1}s, these live followers still do not hold the new token {pending}: {who}; not promoting (both tokens keep working): run complete again, or promote anyway"
                    ),
                    None,
                );
                return Err(self.fail(step, AccountState::Staged, error));
            }
            self.sleep_holding_the_lease(GATE_POLL_INTERVAL.min(left))
                .await;
        }
    }

    /// Sleeps `duration`, renewing the store's lease every third of its duration so that a
    /// long hand-off grace never lets it lapse. A failed renewal is logged: the next write
    /// then fails (by compare-and-swap) instead of writing on a lease another rotator took.
    async fn sleep_holding_the_lease(&mut self, duration: Duration) {
        let deadline = instant_after(Instant::now(), duration);
        let step = (self.plan.lease_duration / 3).max(Duration::from_millis(10));
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
    pub(super) async fn release_lease(&mut self) {
        if let Some(lease) = self.lease.take()
            && let Err(error) = lease.release().await
        {
            tracing::warn!(%error, "the rotation's lease could not be released; it expires on its own");
        }
    }

    /// Takes the locks and reads the record. Without a store, only this process's lock.
    pub(super) async fn open(&mut self) -> Result<(), RotationError> {
        let started = Instant::now();
        let Some(process) = ProcessLock::acquire(self.account_sid) else {
            let error = StoreError::new(
                StoreErrorKind::Locked,
                "another rotation of this account is running in this process",
            );
            return Err(self.store_failure(started, AccountState::Unchanged, error));
        };
        let Some(store) = self.store.clone() else {
            self.process_lock = Some(process);
            return Ok(());
        };
        let lease =
            LeasedRecord::acquire(store, LeaseOwner::this_process(), self.plan.lease_duration);
        let lease = match lease.await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                let error = StoreError::new(
                    StoreErrorKind::Invalid,
                    "the store is empty: write the account's current token first (TokenRecord::new, or `twilio-rotate init`)",
                );
                return Err(self.store_failure(started, AccountState::Unchanged, error));
            }
            Err(error) => return Err(self.store_failure(started, AccountState::Unchanged, error)),
        };
        let record = lease.record().clone();
        if record.account_sid != self.account_sid {
            let error = StoreError::new(
                StoreErrorKind::Invalid,
                format!(
                    "the store holds account {}, the client uses {}",
                    record.account_sid, self.account_sid
                ),
            );
            self.lease = Some(lease);
            return Err(self.store_failure(started, AccountState::Unchanged, error));
        }
        // The store is the truth: its `current` is the token to fall back to and to probe.
        if !self.uses_api_key
            && let Ok(current) =
                Credentials::from_auth_token(self.account_sid, record.current.token().clone())
        {
            self.original = current;
        }
        self.old_token = Some(record.current.token().clone());
        self.stored = Some(record);
        self.process_lock = Some(process);
        self.lease = Some(lease);
        Ok(())
    }

    /// Records a failed store operation as a step and builds the error.
    fn store_failure(
        &mut self,
        started: Instant,
        state: AccountState,
        error: StoreError,
    ) -> RotationError {
        let step = RotationStep::RecordInStore;
        let note = format!("{error}");
        self.record(step, StepOutcome::Failed, started, 0, Some(note.into()));
        self.fail(step, state, Error::Store(error))
    }

    /// Saves the record changed by `update`; a no-op without a store. On failure, the error
    /// reports `state`.
    pub(super) async fn save_or_fail(
        &mut self,
        state: AccountState,
        update: impl FnOnce(&mut TokenRecord),
    ) -> Result<(), RotationError> {
        let Some(lease) = self.lease.as_mut() else {
            return Ok(());
        };
        let started = Instant::now();
        let mut next = lease.record().clone();
        update(&mut next);
        match lease.save(next).await {
            Ok(()) => {
                let saved = lease.record().clone();
                tracing::debug!(
                    phase = ?saved.phase,
                    revision = saved.revision,
                    "rotation recorded in the token store"
                );
                self.stored = Some(saved);
                Ok(())
            }
            Err(error) => Err(self.store_failure(started, state, error)),
        }
    }

    /// After a roll-back that left nothing behind: the record drops `pending`. Best effort: if
    /// it fails, the record still says where to look, and `resume` cleans up.
    pub(super) async fn forget_pending(&mut self) {
        if let Err(err) = self
            .save_or_fail(AccountState::Unchanged, record_roll_back)
            .await
        {
            // The failed step is in this run's steps already; the caller reports its own state.
            drop(err);
            tracing::warn!("the roll-back could not be recorded in the token store; run resume");
        }
    }

    /// Before a roll-back deletes the staged token: the record goes back to `Idle` (keeping
    /// `pending`, so that the token Twilio still accepts stays stored) and the hand-off grace
    /// lets every follower move back to `current` first. Best effort: if the write fails, the
    /// record says `Promoting` and `resume` sorts it out.
    pub(super) async fn withdraw_pending(&mut self) {
        if self.stored.is_none() {
            return;
        }
        let withdrawn = self
            .save_or_fail(AccountState::Staged, |r| {
                enter(r, RotationPhase::Idle);
            })
            .await;
        if withdrawn.is_err() {
            tracing::warn!("the roll-back could not be recorded in the token store; run resume");
            return;
        }
        self.wait_hand_off_grace().await;
    }

    /// `stage` and `rotate` start only from a record without a rotation in progress.
    pub(super) fn require_idle(&mut self) -> Result<(), RotationError> {
        let Some(record) = &self.stored else {
            return Ok(());
        };
        if record.phase == RotationPhase::Idle && record.pending.is_none() {
            return Ok(());
        }
        let phase = record.phase;
        let error = StoreError::new(
            StoreErrorKind::Invalid,
            format!("an interrupted rotation is recorded (phase {phase:?}): run resume first"),
        );
        Err(self.store_failure(Instant::now(), state_of(phase), error))
    }

    /// `complete`: the staged token from the store.
    pub(super) fn staged_from_store(&mut self) -> Result<Staged, RotationError> {
        let started = Instant::now();
        let problem = match &self.stored {
            None => Some((
                AccountState::Unchanged,
                "completing a staged rotation needs the store it was staged in".to_owned(),
            )),
            Some(r) if r.phase == RotationPhase::Idle => Some((
                AccountState::Unchanged,
                "nothing is staged: run stage first".to_owned(),
            )),
            Some(r) if r.phase != RotationPhase::Staged || r.pending.is_none() => Some((
                state_of(r.phase),
                format!(
                    "an interrupted rotation is recorded (phase {:?}): run resume",
                    r.phase
                ),
            )),
            Some(_) => None,
        };
        if let Some((state, message)) = problem {
            let error = StoreError::new(StoreErrorKind::Invalid, message);
            return Err(self.store_failure(started, state, error));
        }
        self.staged_token()
    }

    /// The token the store holds as `pending`, ready to be promoted.
    pub(super) fn staged_token(&mut self) -> Result<Staged, RotationError> {
        let started = Instant::now();
        let token = self
            .stored
            .as_ref()
            .and_then(|r| r.pending.as_ref())
            .map(|p| p.token().clone());
        let Some(token) = token else {
            let error = StoreError::new(StoreErrorKind::Invalid, "nothing is staged");
            return Err(self.store_failure(started, AccountState::Unchanged, error));
        };
        let fingerprint = TokenFingerprint::of(&token);
        self.new_token = Some(fingerprint);
        self.new_secret = Some(token.clone());
        let credentials = match Credentials::from_auth_token(self.account_sid, token) {
            Ok(c) => c,
            Err(_) => {
                let error = StoreError::new(
                    StoreErrorKind::Malformed,
                    "the pending token cannot be used as a credential",
                );
                return Err(self.store_failure(started, AccountState::Staged, error));
            }
        };
        let verifier = self
            .client
            .http_client()
            .with_credentials(credentials.clone());
        Ok(Staged {
            fingerprint,
            credentials,
            verifier,
        })
    }

    /// How long ago the record entered its phase.
    fn phase_age(&self) -> Duration {
        self.stored.as_ref().map_or(Duration::MAX, |r| {
            let elapsed: time::Duration = OffsetDateTime::now_utc() - r.phase_since;
            std_duration(elapsed)
        })
    }

    /// `complete` refuses to promote before the hand-off grace has passed since staging
    /// (followers may still use the old token), unless forced.
    pub(super) fn check_hand_off_grace(&mut self) -> Result<(), RotationError> {
        let step = RotationStep::HandOffGrace;
        let grace = self.plan.hand_off_grace;
        let age = self.phase_age();
        let started = Instant::now();
        if age >= grace {
            return Ok(());
        }
        if self.plan.force {
            let note = format!(
                "forced: promoting {:.1}s after staging, before the grace of {:.1}s",
                age.as_secs_f64(),
                grace.as_secs_f64()
            );
            self.record(step, StepOutcome::Skipped, started, 0, Some(note.into()));
            return Ok(());
        }
        let left = grace - age;
        let note = format!("{:.1}s of the hand-off grace left", left.as_secs_f64());
        self.record(step, StepOutcome::Failed, started, 0, Some(note.into()));
        self.client_token = ClientToken::Old;
        if self.uses_api_key {
            self.client_token = ClientToken::ApiKey;
        }
        let error = Error::workflow(
            step.description(),
            format!(
                "the hand-off grace of {:.1}s has not passed since staging ({:.1}s left): followers may still use the old token; wait, or force",
                grace.as_secs_f64(),
                left.as_secs_f64()
            ),
            None,
        );
        Err(self.fail(step, AccountState::Staged, error))
    }

    /// `rotate`: waits what is left of the hand-off grace, so that every follower of the store
    /// has moved to the staged token before the old one dies.
    pub(super) async fn wait_hand_off_grace(&mut self) {
        let grace = self.plan.hand_off_grace;
        if grace.is_zero() {
            return;
        }
        let started = Instant::now();
        let age = if self.stored.is_some() {
            self.phase_age()
        } else {
            Duration::ZERO
        };
        let left = grace.saturating_sub(age);
        self.sleep_holding_the_lease(left).await;
        let note = format!(
            "waited {:.1}s for followers to take the new token",
            left.as_secs_f64()
        );
        self.record(
            RotationStep::HandOffGrace,
            StepOutcome::Succeeded,
            started,
            0,
            Some(note.into()),
        );
    }
}

/// `start + wait`, or about a century after `start` when that overflows: a grace or max-wait
/// given (or recorded in the store) as "for ever" waits instead of panicking.
fn instant_after(start: Instant, wait: Duration) -> Instant {
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
