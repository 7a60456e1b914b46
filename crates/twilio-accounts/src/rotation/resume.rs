//! `resume`: after a crash at any point, read the store and ask Twilio which stored token
//! authenticates; then re-enter the rotation's sequence where the record says it stopped, or
//! finish its roll-back. The store, not memory, is the truth. This module only decides; the
//! steps themselves are the workflow's.
//!
//! | recorded phase | Twilio says | `resume` does | state |
//! |---|---|---|---|
//! | `Idle` | `current` works | nothing | `Unchanged` |
//! | `Creating`, or `Idle` with a withdrawn `pending` (an interrupted roll-back) | — | deletes the secondary token (if any), drops `pending` | `Unchanged` |
//! | `Staged` / `Promoting` | both work | re-enters at the switch: what is left of the hand-off grace (`Staged` only), the gate, the promotion | `Rotated` |
//! | `Staged` / `Promoting` | `current` works, `pending` refused | drops `pending` | `Unchanged` |
//! | `Staged` / `Promoting` | `current` refused, `pending` works | re-enters at the record of the promotion | `Rotated` |
//! | any | no clear answer within the propagation window | nothing | `Unknown` |

// The rotation's own error, as everywhere in the workflow: built once per failed run.
#![allow(clippy::result_large_err)]

use tokio::time::sleep;
use twilio_store::{RotationPhase, TokenRecord};
use twilio_transport::HttpClient;

use super::checks::{Probe, describe, probe, probe_summary};
use super::progress::Progress;
use super::report::{AccountState, RotationError, RotationStep, StepOutcome};
use super::settings::{Attempts, Settings};
use crate::error::Error;

/// Where an interrupted rotation is picked up, by its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resume {
    /// Nothing in progress: check that the stored `current` token works.
    CheckCurrent,
    /// `Creating`, or an interrupted roll-back (`Idle` with the withdrawn token still stored):
    /// a secondary token may exist that nothing depends on; finish the roll-back.
    RollBack,
    /// A verified token is stored as `pending` ([`ask_twilio`] tells whether it was promoted);
    /// `grace_left`: the record says `Staged`, so followers get what is left of their hand-off
    /// grace (from `Promoting` it had passed already).
    Staged { grace_left: bool },
}

/// Where `record` says the rotation stopped.
pub(super) fn where_to_resume(record: &TokenRecord) -> Resume {
    match record.phase {
        RotationPhase::Creating => Resume::RollBack,
        RotationPhase::Idle if record.pending.is_some() => Resume::RollBack,
        RotationPhase::Staged | RotationPhase::Promoting if record.pending.is_some() => {
            Resume::Staged {
                grace_left: record.phase == RotationPhase::Staged,
            }
        }
        _ => Resume::CheckCurrent,
    }
}

/// What the two stored tokens said.
pub(super) enum Verdict {
    /// Both authenticate: the promotion has not happened.
    BothWork,
    /// Only `current` authenticates: the staged token is gone.
    CurrentOnly,
    /// Only `pending` authenticates: the promotion happened.
    PendingOnly,
}

/// Nothing in progress: checks, within the propagation window, that `current` (a client with
/// the stored current token) authenticates.
///
/// # Errors
///
/// The stored current token does not authenticate: state [`AccountState::Unknown`].
pub(super) async fn check_current(
    settings: &Settings,
    progress: &mut Progress,
    current: &HttpClient,
) -> Result<(), RotationError> {
    let step = RotationStep::CheckStoredTokens;
    let mut attempts = Attempts::within(settings.propagation_window);
    loop {
        attempts.next();
        let error = match probe(current).await {
            Probe::Works => {
                let note = "nothing to resume: the stored current token authenticates";
                progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
                return Ok(());
            }
            Probe::Refused(e) | Probe::Failed(e) => e,
        };
        if attempts.window_over() {
            let note = format!("the stored current token: {}", describe(&error));
            progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
            let error = Error::workflow(
                step.description(),
                "the stored current token does not authenticate",
                Some(error),
            );
            return Err(progress.fail(step, AccountState::Unknown, error));
        }
        sleep(attempts.delay(&settings.backoff)).await;
    }
}

/// Tries `current` and `pending` (clients with the two stored tokens) until the answers are
/// clear, within the propagation window.
///
/// # Errors
///
/// No clear answer: state [`AccountState::Unknown`], both tokens stay stored.
pub(super) async fn ask_twilio(
    settings: &Settings,
    progress: &mut Progress,
    current: &HttpClient,
    pending: &HttpClient,
) -> Result<Verdict, RotationError> {
    let step = RotationStep::CheckStoredTokens;
    let mut attempts = Attempts::within(settings.propagation_window);
    loop {
        let attempt = attempts.next();
        let (old, new) = (probe(current).await, probe(pending).await);
        let verdict = match (&old, &new) {
            (Probe::Works, Probe::Works) => Some((
                Verdict::BothWork,
                "both stored tokens authenticate: not promoted yet",
            )),
            (Probe::Works, Probe::Refused(_)) => Some((
                Verdict::CurrentOnly,
                "only the current token authenticates: the staged token is gone",
            )),
            (Probe::Refused(_), Probe::Works) => Some((
                Verdict::PendingOnly,
                "only the pending token authenticates: the promotion happened",
            )),
            _ => None,
        };
        if let Some((verdict, note)) = verdict {
            progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
            return Ok(verdict);
        }
        if attempts.window_over() {
            let note = format!(
                "no clear answer after {attempt} attempt(s) (current: {}, pending: {})",
                probe_summary(&old),
                probe_summary(&new)
            );
            progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
            // The cause is a failure that was not an answer (Twilio unreachable, a 5xx), if
            // there was one: the caller tells an outage from a contradiction by it.
            let cause = [old, new].into_iter().find_map(|probe| match probe {
                Probe::Failed(e) => Some(e),
                _ => None,
            });
            let error = Error::workflow(
                step.description(),
                "Twilio's answers did not tell which stored token is the primary; both stay stored",
                cause,
            );
            return Err(progress.fail(step, AccountState::Unknown, error));
        }
        sleep(attempts.delay(&settings.backoff)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilio_store::StoredToken;
    use twilio_types::{AccountSid, AuthToken};

    fn record(phase: RotationPhase, pending: bool) -> TokenRecord {
        let sid: AccountSid = "AC00000000000000000000000000000000".parse().unwrap();
        let token = |c: char| AuthToken::new(c.to_string().repeat(32)).unwrap();
        let mut record = TokenRecord::new(sid, token('a'));
        record.phase = phase;
        if pending {
            record.pending = Some(StoredToken::new(token('b'), record.phase_since));
        }
        record
    }

    #[test]
    fn each_recorded_phase_resumes_where_it_stopped() {
        use RotationPhase::*;
        let cases = [
            (Idle, false, Resume::CheckCurrent),
            (Idle, true, Resume::RollBack),
            (Creating, false, Resume::RollBack),
            (Creating, true, Resume::RollBack),
            (Staged, true, Resume::Staged { grace_left: true }),
            (Promoting, true, Resume::Staged { grace_left: false }),
            (Staged, false, Resume::CheckCurrent),
            (Promoting, false, Resume::CheckCurrent),
        ];
        for (phase, pending, expected) in cases {
            assert_eq!(
                where_to_resume(&record(phase, pending)),
                expected,
                "{phase:?}, pending {pending}"
            );
        }
    }
}
