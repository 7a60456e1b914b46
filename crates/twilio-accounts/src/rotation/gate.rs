//! The fleet gate before a promotion (issue 17 §4): Twilio revokes the old token the moment
//! the new one is promoted, so every live follower of the store (SDK clients and webhook
//! validators, by heartbeat) must hold the new token first — or the max-wait ends and the
//! policy decides.

// The rotation's own error, as everywhere in the workflow: built once per failed run.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;
use twilio_store::{GatePolicy, Heartbeat, StoreErrorKind, TokenFingerprint};

use super::durable::{Journal, instant_after};
use super::progress::Progress;
use super::report::{AccountState, RotationError, RotationStep, StepOutcome};
use super::settings::Settings;
use crate::error::Error;

/// How often the fleet gate reads the heartbeats while it waits.
const GATE_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Waits until every live follower's heartbeat holds `pending`, at most the max-wait, then
/// follows the gate policy. A store that keeps no heartbeats (or no store) has no gate: the
/// hand-off grace alone protects followers.
///
/// # Errors
///
/// When the max-wait ends with lagging followers and the policy is
/// [`GatePolicy::DoNotPromote`]: the rotation stops [`Staged`](AccountState::Staged).
pub(super) async fn fleet_gate(
    settings: &Settings,
    progress: &mut Progress,
    journal: &mut Journal,
    pending: TokenFingerprint,
) -> Result<(), RotationError> {
    let Some(store) = journal.store().cloned() else {
        return Ok(());
    };
    let step = RotationStep::FleetAcknowledgement;
    let started = Instant::now();
    let deadline = instant_after(started, settings.max_wait);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut unreadable = None;
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
                    progress.record(step, StepOutcome::Succeeded, started, attempts, note);
                    return Ok(());
                }
                lagging
            }
            Err(error) if error.kind() == StoreErrorKind::Unsupported => {
                let note = "the store keeps no heartbeats: no gate, only the hand-off grace";
                progress.record(step, StepOutcome::Skipped, started, 0, note);
                return Ok(());
            }
            Err(error) => {
                let who = vec![format!("unknown: the heartbeats cannot be read ({error})")];
                unreadable = Some(error);
                who
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let waited = Waited {
                step,
                started,
                attempts,
            };
            return max_wait_over(settings, progress, waited, pending, &lagging, unreadable);
        }
        journal
            .sleep_holding_the_lease(GATE_POLL_INTERVAL.min(left), settings.lease_duration)
            .await;
    }
}

/// How long the gate waited, for its step's record.
struct Waited {
    step: RotationStep,
    started: Instant,
    attempts: u32,
}

/// The max-wait ended with `lagging` followers, or with heartbeats the store would not give
/// (`unreadable`, kept as the error's cause): the policy decides.
fn max_wait_over(
    settings: &Settings,
    progress: &mut Progress,
    waited_for: Waited,
    pending: TokenFingerprint,
    lagging: &[String],
    unreadable: Option<twilio_store::StoreError>,
) -> Result<(), RotationError> {
    let Waited {
        step,
        started,
        attempts,
    } = waited_for;
    let who = lagging.join(", ");
    let waited = settings.max_wait.as_secs_f64();
    if settings.gate_policy == GatePolicy::PromoteAnyway {
        let note = format!(
            "promoting anyway after {waited:.1}s: followers without token {pending}: {who}"
        );
        tracing::warn!(%pending, followers = %who, "fleet gate: promoting anyway");
        progress.record(step, StepOutcome::Skipped, started, attempts, note);
        return Ok(());
    }
    let note = format!("followers without token {pending}: {who}");
    progress.record(step, StepOutcome::Failed, started, attempts, note);
    let error = match unreadable {
        // Running it again meets the same store: say what would let the gate read them.
        Some(cause) => Error::workflow(
            step.description(),
            format!(
                "after {waited:.1}s the followers' heartbeats still cannot be read, so no one can tell who holds the new token {pending}; not promoting (both tokens keep working): let the store's credentials list and read the heartbeats, or promote anyway"
            ),
            Some(Error::Store(cause)),
        ),
        None => Error::workflow(
            step.description(),
            format!(
                "after {waited:.1}s, these live followers still do not hold the new token {pending}: {who}; not promoting (both tokens keep working): run complete again once they hold it, or promote anyway"
            ),
            None,
        ),
    };
    Err(progress.fail(step, AccountState::Staged, error))
}
