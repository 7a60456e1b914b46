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
            Err(error) => vec![format!("unknown: the heartbeats cannot be read ({error})")],
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return max_wait_over(
                settings, progress, step, started, attempts, pending, &lagging,
            );
        }
        journal
            .sleep_holding_the_lease(GATE_POLL_INTERVAL.min(left), settings.lease_duration)
            .await;
    }
}

/// The max-wait ended with `lagging` followers: the policy decides.
fn max_wait_over(
    settings: &Settings,
    progress: &mut Progress,
    step: RotationStep,
    started: Instant,
    attempts: u32,
    pending: TokenFingerprint,
    lagging: &[String],
) -> Result<(), RotationError> {
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
    let error = Error::workflow(
        step.description(),
        format!(
            "after {waited:.1}s, these live followers still do not hold the new token {pending}: {who}; not promoting (both tokens keep working): run complete again, or promote anyway"
        ),
        None,
    );
    Err(progress.fail(step, AccountState::Staged, error))
}
