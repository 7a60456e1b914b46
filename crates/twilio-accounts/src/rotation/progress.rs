//! What a run has done so far: the steps it took, the new token, which token the client holds.
//! Every step records itself here (and in a tracing event); the report and the error of a run
//! are built from it, so they say the same thing in every state.

use std::borrow::Cow;

use tokio::time::Instant;
use twilio_store::{StoreError, TokenFingerprint};
use twilio_types::{AccountSid, AuthToken};

use super::report::{
    AccountState, ClientToken, RotationError, RotationReport, RotationStep, StepOutcome, StepReport,
};
use super::settings::Attempts;
use crate::error::Error;

/// The progress of one run, from which its [`RotationReport`] is built.
pub(super) struct Progress {
    account_sid: AccountSid,
    start: Instant,
    /// Repeated in the report.
    suppress_email_notification: Option<bool>,
    steps: Vec<StepReport>,
    /// The new token's fingerprint, once known.
    pub(super) new_token: Option<TokenFingerprint>,
    /// The new token itself; handed out only when it is (or may be) the primary.
    pub(super) new_secret: Option<AuthToken>,
    /// Which token the client's shared credentials hold.
    pub(super) client_token: ClientToken,
}

impl Progress {
    /// A run that has done nothing yet; the client holds its original credentials.
    pub(super) fn new(
        account_sid: AccountSid,
        uses_api_key: bool,
        suppress_email_notification: Option<bool>,
    ) -> Self {
        Self {
            account_sid,
            start: Instant::now(),
            suppress_email_notification,
            steps: Vec::new(),
            new_token: None,
            new_secret: None,
            client_token: if uses_api_key {
                ClientToken::ApiKey
            } else {
                ClientToken::Old
            },
        }
    }

    /// `token` is the rotation's new token from now on (created, or read from the store).
    pub(super) fn adopt(&mut self, token: AuthToken) -> TokenFingerprint {
        let fingerprint = TokenFingerprint::of(&token);
        self.new_token = Some(fingerprint);
        self.new_secret = Some(token);
        fingerprint
    }

    /// The account being rotated.
    pub(super) fn account_sid(&self) -> AccountSid {
        self.account_sid
    }

    /// How long the run has taken so far.
    pub(super) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a step, with a note saying what it found, how it failed or why it was skipped
    /// (and emits its tracing event).
    pub(super) fn record(
        &mut self,
        step: RotationStep,
        outcome: StepOutcome,
        started: Instant,
        attempts: u32,
        note: impl Into<Cow<'static, str>>,
    ) {
        self.record_maybe_noted(step, outcome, started, attempts, Some(note.into()));
    }

    /// [`record`](Self::record), for a check that made `attempts`.
    pub(super) fn record_attempts(
        &mut self,
        step: RotationStep,
        outcome: StepOutcome,
        attempts: &Attempts,
        note: impl Into<Cow<'static, str>>,
    ) {
        let (started, count) = (attempts.started, attempts.count());
        self.record(step, outcome, started, count, note);
    }

    /// [`record`](Self::record), for a step that may have nothing to say.
    pub(super) fn record_maybe_noted(
        &mut self,
        step: RotationStep,
        outcome: StepOutcome,
        started: Instant,
        attempts: u32,
        note: Option<Cow<'static, str>>,
    ) {
        let elapsed = started.elapsed();
        let note_text = note.as_deref().unwrap_or("");
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        match outcome {
            StepOutcome::Failed => tracing::warn!(
                step = step.name(),
                outcome = "failed",
                elapsed_ms,
                attempts,
                note = note_text,
                "rotation step failed"
            ),
            StepOutcome::Succeeded => tracing::info!(
                step = step.name(),
                outcome = "succeeded",
                elapsed_ms,
                attempts,
                note = note_text,
                "rotation step done"
            ),
            StepOutcome::Skipped => tracing::info!(
                step = step.name(),
                outcome = "skipped",
                note = note_text,
                "rotation step skipped"
            ),
        }
        self.steps.push(StepReport {
            step,
            outcome,
            started: started.duration_since(self.start),
            elapsed,
            attempts,
            note,
        });
    }

    /// The report of the run so far, leaving the account in `state`.
    pub(super) fn report(&self, state: AccountState) -> RotationReport {
        RotationReport {
            account_sid: self.account_sid,
            state,
            client_token: self.client_token,
            new_token: self.new_token,
            new_auth_token: match state {
                AccountState::Rotated | AccountState::RotatedUnverified | AccountState::Unknown => {
                    self.new_secret.clone()
                }
                _ => None,
            },
            steps: self.steps.clone(),
            elapsed: self.start.elapsed(),
            suppress_email_notification: self.suppress_email_notification,
        }
    }

    /// The run stops at `step`, leaving the account in `state`.
    pub(super) fn fail(
        &self,
        step: RotationStep,
        state: AccountState,
        error: Error,
    ) -> RotationError {
        tracing::warn!(
            failed_step = step.name(),
            state = ?state,
            elapsed_ms = self.elapsed_ms(),
            "auth-token rotation did not complete"
        );
        RotationError {
            failed_step: step,
            report: Box::new(self.report(state)),
            error,
        }
    }

    /// A store operation failed: recorded as a failed [`RotationStep::RecordInStore`], and the
    /// run stops there.
    pub(super) fn store_failure(
        &mut self,
        started: Instant,
        state: AccountState,
        error: StoreError,
    ) -> RotationError {
        let step = RotationStep::RecordInStore;
        self.record(step, StepOutcome::Failed, started, 0, error.to_string());
        self.fail(step, state, Error::Store(error))
    }
}
