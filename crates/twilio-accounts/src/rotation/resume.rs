//! `resume`: after a crash at any point, read the store, ask Twilio which stored token
//! authenticates, and finish the rotation or roll it back. The store, not memory, is the truth.
//!
//! | recorded phase | Twilio says | `resume` does | state |
//! |---|---|---|---|
//! | `Idle` | `current` works | nothing | `Unchanged` |
//! | `Creating`, or `Idle` with a withdrawn `pending` (an interrupted roll-back) | — | deletes the secondary token (if any), drops `pending` | `Unchanged` |
//! | `Staged` / `Promoting` | both work | waits what is left of the hand-off grace (`Staged` only), promotes | `Rotated` |
//! | `Staged` / `Promoting` | `current` works, `pending` refused | drops `pending` | `Unchanged` |
//! | `Staged` / `Promoting` | `current` refused, `pending` works | records the promotion | `Rotated` |
//! | any | no clear answer within the propagation window | nothing | `Unknown` |

use tokio::time::{Instant, sleep};
use twilio_store::{RotationPhase, StoreError, StoreErrorKind};
use twilio_transport::Credentials;

use super::durable::{record_promotion, record_roll_back};
use super::report::{
    AccountState, ClientToken, RotationError, RotationReport, RotationStep, StepOutcome,
};
use super::workflow::{Cleanup, Probe, Run, deadline_after, describe, probe};
use crate::error::Error;

/// What the two stored tokens said.
enum Verdict {
    /// Both authenticate: the promotion has not happened.
    BothWork,
    /// Only `current` authenticates: the staged token is gone.
    CurrentOnly,
    /// Only `pending` authenticates: the promotion happened.
    PendingOnly,
}

impl Run<'_> {
    pub(super) async fn resume(&mut self) -> Result<RotationReport, RotationError> {
        self.log_start();
        let Some(record) = self.stored.clone() else {
            let error = StoreError::new(
                StoreErrorKind::Invalid,
                "resuming a rotation needs the store it was recorded in",
            );
            return Err(self.store_error(AccountState::Unchanged, error));
        };
        tracing::info!(phase = ?record.phase, revision = record.revision, "resuming from the store");
        match record.phase {
            // `Creating`, or an interrupted roll-back (`Idle` with the withdrawn token still
            // stored): a secondary token may exist that nothing depends on; delete it.
            RotationPhase::Creating => self.resume_creating().await,
            RotationPhase::Idle if record.pending.is_some() => self.resume_creating().await,
            RotationPhase::Staged | RotationPhase::Promoting if record.pending.is_some() => {
                self.resume_staged(record.phase).await
            }
            _ => self.resume_idle().await,
        }
    }

    /// Nothing in progress: checks that `current` authenticates.
    async fn resume_idle(&mut self) -> Result<RotationReport, RotationError> {
        let step = RotationStep::CheckStoredTokens;
        let started = Instant::now();
        let client = self
            .client
            .http_client()
            .with_credentials(self.original.clone());
        let deadline = deadline_after(started, self.plan.propagation_window);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let error = match probe(&client).await {
                Probe::Works => {
                    let note = "nothing to resume: the stored current token authenticates";
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Ok(self.report(AccountState::Unchanged));
                }
                Probe::Refused(e) | Probe::Failed(e) => e,
            };
            if Instant::now() >= deadline {
                let note = format!("the stored current token: {}", describe(&error));
                self.record(
                    step,
                    StepOutcome::Failed,
                    started,
                    attempt,
                    Some(note.into()),
                );
                let error = Error::workflow(
                    step.description(),
                    "the stored current token does not authenticate",
                    Some(error),
                );
                return Err(self.fail(step, AccountState::Unknown, error));
            }
            sleep(self.back_off(attempt, deadline)).await;
        }
    }

    /// A secondary token may exist that no record holds: delete it, drop `pending`.
    async fn resume_creating(&mut self) -> Result<RotationReport, RotationError> {
        self.switch_back();
        match self.delete_secondary().await {
            Cleanup::Deleted | Cleanup::NothingThere | Cleanup::LeftAlone => {
                self.save_or_fail(AccountState::Unchanged, record_roll_back)
                    .await?;
                Ok(self.report(AccountState::Unchanged))
            }
            cleanup @ (Cleanup::Refused | Cleanup::Failed) => {
                let error = Error::workflow(
                    RotationStep::DeleteSecondary.description(),
                    "the secondary token of the interrupted rotation could not be deleted",
                    None,
                );
                Err(self.fail(RotationStep::DeleteSecondary, cleanup.state(), error))
            }
        }
    }

    /// `pending` is stored (and was verified): ask Twilio which token is the primary.
    async fn resume_staged(
        &mut self,
        phase: RotationPhase,
    ) -> Result<RotationReport, RotationError> {
        let staged = self.staged_token()?;
        match self.probe_stored(&staged.credentials).await? {
            Verdict::BothWork => {
                // Not promoted yet: finish. From `Staged` the followers get what is left of
                // their grace; from `Promoting` it had passed already.
                self.switch_to(&staged);
                if phase == RotationPhase::Staged {
                    self.wait_hand_off_grace().await;
                }
                self.complete(staged).await
            }
            Verdict::CurrentOnly => {
                self.switch_back();
                self.save_or_fail(AccountState::Unchanged, record_roll_back)
                    .await?;
                Ok(self.report(AccountState::Unchanged))
            }
            Verdict::PendingOnly => {
                self.switch_to(&staged);
                if let Some(token) = self.new_secret.clone() {
                    self.save_or_fail(AccountState::RotatedUnverified, |r| {
                        record_promotion(r, token);
                    })
                    .await?;
                }
                Ok(self.report(AccountState::Rotated))
            }
        }
    }

    /// Tries `current` and `pending` until the answers are clear, within the propagation
    /// window.
    async fn probe_stored(&mut self, pending: &Credentials) -> Result<Verdict, RotationError> {
        let step = RotationStep::CheckStoredTokens;
        let started = Instant::now();
        let current = self
            .client
            .http_client()
            .with_credentials(self.original.clone());
        let pending = self.client.http_client().with_credentials(pending.clone());
        let deadline = deadline_after(started, self.plan.propagation_window);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (old, new) = (probe(&current).await, probe(&pending).await);
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
                self.record(
                    step,
                    StepOutcome::Succeeded,
                    started,
                    attempt,
                    Some(note.into()),
                );
                return Ok(verdict);
            }
            if Instant::now() >= deadline {
                let note = format!(
                    "no clear answer after {attempt} attempt(s) (current: {}, pending: {})",
                    summary(&old),
                    summary(&new)
                );
                self.record(
                    step,
                    StepOutcome::Failed,
                    started,
                    attempt,
                    Some(note.into()),
                );
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
                return Err(self.fail(step, AccountState::Unknown, error));
            }
            sleep(self.back_off(attempt, deadline)).await;
        }
    }

    /// The client goes back to the store's `current` token.
    fn switch_back(&mut self) {
        if !self.uses_api_key {
            self.shared.replace(self.original.clone());
            self.client_token = ClientToken::Old;
        }
    }

    fn store_error(&mut self, state: AccountState, error: StoreError) -> RotationError {
        let step = RotationStep::RecordInStore;
        self.record(
            step,
            StepOutcome::Failed,
            Instant::now(),
            0,
            Some(error.to_string().into()),
        );
        self.fail(step, state, Error::Store(error))
    }
}

fn summary(probe: &Probe) -> String {
    match probe {
        Probe::Works => "works".to_owned(),
        Probe::Refused(e) => format!("refused, {}", describe(e)),
        Probe::Failed(e) => describe(e).into_owned(),
    }
}
