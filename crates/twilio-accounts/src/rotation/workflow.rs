//! The rotation, top-down. [`run`] opens the run's [`Journal`] (this process's lock and the
//! store's lease), decides where the requested operation enters the sequence, and
//! [`Rotation::steps_from`] takes the steps in order, each a method below with its reason:
//!
//! 1. **stage** ([`Rotation::stage`]): record `Creating`, create the secondary token, store it
//!    as `pending`, verify it, record `Staged` — the new token is durable before anything
//!    depends on it;
//! 2. switch the client to it;
//! 3. wait what is left of the hand-off grace, then the fleet gate;
//! 4. record `Promoting`, let the old token's requests finish, promote (an unclear answer is
//!    found out; what did not happen is rolled back);
//! 5. record the promotion, verify the new primary;
//!
//! and the journal is released. `rotate` runs it all, `stage` stops after step 2, `complete`
//! enters at step 2 with the token the store holds, and `resume` re-enters wherever the
//! record says the rotation stopped ([`resume`](super::resume) decides where).

// The rotation's own error, as everywhere in the workflow: built once per failed run.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::Instrument as _;
use twilio_store::{
    RotationPhase, StoreError, StoreErrorKind, StoredToken, TokenFingerprint, TokenStore,
};
use twilio_transport::{Credentials, HttpClient, SharedCredentials};
use twilio_types::AuthToken;

use super::checks::{self, Promotion, describe, may_have_happened};
use super::durable::{Journal, enter, record_promotion, record_roll_back, state_of};
use super::gate::fleet_gate;
use super::progress::Progress;
use super::report::{
    AccountState, ClientToken, RotationError, RotationReport, RotationStep, StepOutcome,
};
use super::resume::{Resume, Verdict, ask_twilio, check_current, where_to_resume};
use super::settings::{Checkpoint, Settings};
use crate::client::Client;
use crate::error::Error;

/// The longest wait before the promotion for requests still carrying the old token.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(10);

/// Which operation of the builder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Stage, wait the hand-off grace, complete.
    Rotate,
    /// Create, verify and store the new token as `pending`; switch the client to it.
    Stage,
    /// Promote the staged token and record it as `current`.
    Complete,
    /// Find out where an interrupted rotation stopped, and finish it or roll it back.
    Resume,
}

/// Where a run enters the sequence of steps.
enum Entry {
    /// A fresh rotation (`rotate`, `stage`): from the creation of the secondary token.
    Start,
    /// A verified token is staged (`complete`, `resume`): from the switch of the client to it;
    /// `wait_grace`: wait what is left of the hand-off grace before the fleet gate.
    Staged { staged: Staged, wait_grace: bool },
}

/// Where a run leaves the sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// After the switch to the staged token (`stage`).
    Staged,
    /// After the verification of the new primary (every other operation).
    Verified,
}

/// A staged token, ready to be promoted.
struct Staged {
    fingerprint: TokenFingerprint,
    credentials: Credentials,
    /// A client that authenticates with the staged token.
    verifier: HttpClient,
}

/// How a clean-up `DELETE` of the secondary token ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cleanup {
    Deleted,
    /// The slot no longer holds this rotation's token; not touched.
    LeftAlone,
    NothingThere,
    /// 401/403: the old token was refused.
    Refused,
    Failed,
}

impl Cleanup {
    fn state(self) -> AccountState {
        match self {
            Self::Deleted | Self::LeftAlone | Self::NothingThere => AccountState::Unchanged,
            Self::Refused | Self::Failed => AccountState::UnchangedSecondaryRemains,
        }
    }
}

/// The client's side of a rotation: the client whose operations it sends and whose shared
/// credentials it switches, and the tokens to fall back to.
struct ClientSide<'a> {
    api: &'a Client,
    /// Shared by every clone of the client: replacing them switches all of them at once.
    shared: SharedCredentials,
    /// What the client falls back to: the store's `current` token (without a store, the
    /// client's own credentials).
    original: Credentials,
    /// The client authenticates with an API key, which a rotation never replaces.
    uses_api_key: bool,
    /// The store's `current` token (the old one while rotating), to find out an unclear
    /// promotion even for an API-key client.
    old_token: Option<AuthToken>,
}

impl ClientSide<'_> {
    /// A client of the same account that authenticates with `credentials`.
    fn with(&self, credentials: Credentials) -> HttpClient {
        self.api.http_client().with_credentials(credentials)
    }

    /// A client with the old token, if its credentials are known.
    fn with_old_token(&self) -> Option<HttpClient> {
        if !self.uses_api_key {
            return Some(self.with(self.original.clone()));
        }
        // An API key cannot be the old token; the store's `current` can.
        let token = self.old_token.clone()?;
        let credentials = Credentials::from_auth_token(self.original.account_sid(), token).ok()?;
        Some(self.with(credentials))
    }
}

/// One run: what it was asked to do, the client it rotates, what it has done so far, and
/// where it records that.
struct Rotation<'a> {
    settings: Settings,
    client: ClientSide<'a>,
    progress: Progress,
    journal: Journal,
}

/// Runs `mode` for `client`'s account: opens the journal, runs the steps, releases the lease.
pub(super) async fn run(
    client: &Client,
    settings: Settings,
    store: Option<Arc<dyn TokenStore>>,
    mode: Mode,
) -> Result<RotationReport, RotationError> {
    let shared = client.http_client().credentials().clone();
    let original = shared.current();
    let account_sid = original.account_sid();
    let uses_api_key = original.api_key_sid().is_some();
    let span = tracing::info_span!("rotate_auth_token", account_sid = %account_sid, mode = ?mode);
    async move {
        let mut progress = Progress::new(
            account_sid,
            uses_api_key,
            settings.suppress_email_notification,
        );
        let started = Instant::now();
        let journal = match Journal::open(account_sid, store, settings.lease_duration).await {
            Ok(journal) => journal,
            Err(error) => {
                return Err(progress.store_failure(started, AccountState::Unchanged, error));
            }
        };
        // The store is the truth: its `current` is the token to fall back to and to probe.
        let old_token = journal.record().map(|r| r.current.token().clone());
        let original = match &old_token {
            Some(token) if !uses_api_key => {
                Credentials::from_auth_token(account_sid, token.clone()).unwrap_or(original)
            }
            _ => original,
        };
        let mut rotation = Rotation {
            settings,
            client: ClientSide {
                api: client,
                shared,
                original,
                uses_api_key,
                old_token,
            },
            progress,
            journal,
        };
        let result = rotation.start(mode).await;
        rotation.journal.release().await;
        result
    }
    .instrument(span)
    .await
}

impl Rotation<'_> {
    /// Where `mode` enters the sequence, and the run from there.
    async fn start(&mut self, mode: Mode) -> Result<RotationReport, RotationError> {
        match mode {
            Mode::Rotate | Mode::Stage => {
                self.require_idle()?;
                self.log_start();
                let until = if mode == Mode::Stage {
                    Until::Staged
                } else {
                    Until::Verified
                };
                self.steps_from(Entry::Start, until).await
            }
            Mode::Complete => {
                self.log_start();
                let staged = self.staged_from_store()?;
                self.check_hand_off_grace()?;
                let entry = Entry::Staged {
                    staged,
                    wait_grace: false,
                };
                self.steps_from(entry, Until::Verified).await
            }
            Mode::Resume => {
                self.log_start();
                self.resume().await
            }
        }
    }

    /// The rotation's steps in order, from `entry` to `until`. Each is recorded in the store
    /// before anything depends on it; each method says why it stands where it does.
    async fn steps_from(
        &mut self,
        entry: Entry,
        until: Until,
    ) -> Result<RotationReport, RotationError> {
        // 1. Stage: create, store as `pending`, verify, record `Staged`.
        let (staged, wait_grace) = match entry {
            Entry::Start => (self.stage().await?, true),
            Entry::Staged { staged, wait_grace } => (staged, wait_grace),
        };
        // 2. Switch the client.
        self.switch_to(&staged);
        if until == Until::Staged {
            return Ok(self.staged_report());
        }
        // 3. Hand off to the fleet.
        if wait_grace {
            self.wait_hand_off_grace().await;
        }
        self.wait_for_the_fleet(&staged).await?;
        // 4. Promote.
        self.record_promoting().await?;
        self.wait_for_old_token_requests().await;
        self.promote(&staged).await?;
        // 5. Record and verify.
        self.record_promotion().await?;
        self.verify_primary(staged).await
    }

    /// `resume`: re-enters the sequence where the record says the rotation stopped, once
    /// Twilio's answers tell whether the staged token was promoted; or finishes the roll-back.
    async fn resume(&mut self) -> Result<RotationReport, RotationError> {
        let resume = match self.journal.record() {
            Some(record) => {
                tracing::info!(phase = ?record.phase, revision = record.revision, "resuming from the store");
                where_to_resume(record)
            }
            None => {
                let error = StoreError::new(
                    StoreErrorKind::Invalid,
                    "resuming a rotation needs the store it was recorded in",
                );
                let failure =
                    self.progress
                        .store_failure(Instant::now(), AccountState::Unchanged, error);
                return Err(failure);
            }
        };
        let grace_left = match resume {
            Resume::CheckCurrent => {
                let current = self.client.with(self.client.original.clone());
                check_current(&self.settings, &mut self.progress, &current).await?;
                return Ok(self.progress.report(AccountState::Unchanged));
            }
            Resume::RollBack => return self.finish_roll_back().await,
            Resume::Staged { grace_left } => grace_left,
        };
        let staged = self.staged_token()?;
        let current = self.client.with(self.client.original.clone());
        match ask_twilio(
            &self.settings,
            &mut self.progress,
            &current,
            &staged.verifier,
        )
        .await?
        {
            Verdict::BothWork => {
                let entry = Entry::Staged {
                    staged,
                    wait_grace: grace_left,
                };
                self.steps_from(entry, Until::Verified).await
            }
            Verdict::PendingOnly => {
                // The promotion happened, and the answer verified the new primary: only its
                // record is missing.
                self.switch_to(&staged);
                self.save_promotion().await?;
                Ok(self.progress.report(AccountState::Rotated))
            }
            Verdict::CurrentOnly => {
                self.switch_back();
                self.save_or_fail(AccountState::Unchanged, record_roll_back)
                    .await?;
                Ok(self.progress.report(AccountState::Unchanged))
            }
        }
    }

    // ---- Where a run starts ----------------------------------------------------------

    /// `stage` and `rotate` start only from a record without a rotation in progress: an
    /// interrupted one must be resumed (or rolled back) first.
    fn require_idle(&mut self) -> Result<(), RotationError> {
        let Some(record) = self.journal.record() else {
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
        Err(self
            .progress
            .store_failure(Instant::now(), state_of(phase), error))
    }

    /// `complete`: the token the store holds as `pending`, if the record says `Staged`.
    fn staged_from_store(&mut self) -> Result<Staged, RotationError> {
        let started = Instant::now();
        let problem = match self.journal.record() {
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
            return Err(self.progress.store_failure(started, state, error));
        }
        self.staged_token()
    }

    /// The token the store holds as `pending`, ready to be promoted.
    fn staged_token(&mut self) -> Result<Staged, RotationError> {
        let started = Instant::now();
        let Some(token) = self.journal.pending().cloned() else {
            let error = StoreError::new(StoreErrorKind::Invalid, "nothing is staged");
            return Err(self
                .progress
                .store_failure(started, AccountState::Unchanged, error));
        };
        let fingerprint = self.progress.adopt(token.clone());
        let Ok(credentials) = Credentials::from_auth_token(self.progress.account_sid(), token)
        else {
            let error = StoreError::new(
                StoreErrorKind::Malformed,
                "the pending token cannot be used as a credential",
            );
            return Err(self
                .progress
                .store_failure(started, AccountState::Staged, error));
        };
        let verifier = self.client.with(credentials.clone());
        Ok(Staged {
            fingerprint,
            credentials,
            verifier,
        })
    }

    /// `complete` refuses to promote before the hand-off grace has passed since staging
    /// (followers may still use the old token), unless forced.
    fn check_hand_off_grace(&mut self) -> Result<(), RotationError> {
        let step = RotationStep::HandOffGrace;
        let grace = self.settings.hand_off_grace;
        let age = self.journal.phase_age();
        let started = Instant::now();
        if age >= grace {
            return Ok(());
        }
        if self.settings.force {
            let note = format!(
                "forced: promoting {:.1}s after staging, before the grace of {:.1}s",
                age.as_secs_f64(),
                grace.as_secs_f64()
            );
            self.progress
                .record(step, StepOutcome::Skipped, started, 0, note);
            return Ok(());
        }
        let left = grace - age;
        let note = format!("{:.1}s of the hand-off grace left", left.as_secs_f64());
        self.progress
            .record(step, StepOutcome::Failed, started, 0, note);
        self.progress.client_token = if self.client.uses_api_key {
            ClientToken::ApiKey
        } else {
            ClientToken::Old
        };
        let error = Error::workflow(
            step.description(),
            format!(
                "the hand-off grace of {:.1}s has not passed since staging ({:.1}s left): followers may still use the old token; wait, or force",
                grace.as_secs_f64(),
                left.as_secs_f64()
            ),
            None,
        );
        Err(self.progress.fail(step, AccountState::Staged, error))
    }

    fn log_start(&self) {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            propagation_window_ms = ms(self.settings.propagation_window),
            hand_off_grace_ms = ms(self.settings.hand_off_grace),
            api_key_client = self.client.uses_api_key,
            durable = self.journal.store().is_some(),
            "auth-token rotation started"
        );
    }

    // ---- Step 1: stage ---------------------------------------------------------------

    /// Creates the secondary token, stores it as `pending`, verifies it and records
    /// `Staged`: the new token is durable before this client, or any follower, uses it.
    /// Whatever fails, the secondary token is deleted again and the record says so.
    async fn stage(&mut self) -> Result<Staged, RotationError> {
        self.record_creating().await?;
        let secondary = self.create_secondary().await?;
        self.store_pending(&secondary).await?;
        let staged = self.verify_secondary(secondary).await?;
        self.record_staged().await?;
        Ok(staged)
    }

    /// Recorded before the create is sent: a crash from here on leaves a record that says
    /// Twilio may hold a secondary token nobody knows (`resume` deletes it). The run's
    /// choices go with it, for a `resume` in another process.
    async fn record_creating(&mut self) -> Result<(), RotationError> {
        let choices = self.settings.choices();
        self.save_or_fail(AccountState::Unchanged, |r| {
            enter(r, RotationPhase::Creating);
            r.choices = choices;
        })
        .await?;
        self.settings.checkpoint(Checkpoint::Creating);
        Ok(())
    }

    /// Twilio creates the new token as the secondary one; both tokens work. On a failure
    /// that may have created it anyway, it is deleted again.
    async fn create_secondary(&mut self) -> Result<AuthToken, RotationError> {
        let step = RotationStep::CreateSecondary;
        let started = Instant::now();
        let mut request = self.client.api.secondary_auth_token().create();
        if let Some(suppress) = self.settings.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let (error, may_exist) = match request.send().await {
            Ok(created) => match created.secondary_auth_token {
                Some(token) if token.check_header_safe().is_ok() => {
                    let fingerprint = self.progress.adopt(token.clone());
                    let note = format!("new token {fingerprint}");
                    self.progress
                        .record(step, StepOutcome::Succeeded, started, 1, note);
                    self.settings.checkpoint(Checkpoint::Created);
                    return Ok(token);
                }
                _ => (
                    Error::workflow(
                        step.description(),
                        "Twilio's answer did not contain a usable token",
                        None,
                    ),
                    true,
                ),
            },
            Err(cause) => {
                let may_exist = may_have_happened(&cause);
                let message = if may_exist {
                    "no clear answer from Twilio: a secondary token may have been created"
                } else {
                    "Twilio did not create a secondary token"
                };
                (
                    Error::workflow(step.description(), message, Some(cause)),
                    may_exist,
                )
            }
        };
        let note = match &error {
            Error::Workflow(w) => w.cause().map(describe),
            _ => None,
        };
        self.progress
            .record_maybe_noted(step, StepOutcome::Failed, started, 1, note);
        let state = if may_exist {
            self.delete_secondary().await.state()
        } else {
            AccountState::Unchanged
        };
        let failure = self.progress.fail(step, state, error);
        if state == AccountState::Unchanged {
            self.forget_pending().await;
        }
        Err(failure)
    }

    /// Stored as soon as it is known (still phase `Creating`): no crash from here on can
    /// leave a token that authenticates outside the store.
    async fn store_pending(&mut self, secondary: &AuthToken) -> Result<(), RotationError> {
        let pending = StoredToken::new(secondary.clone(), OffsetDateTime::now_utc());
        if let Err(err) = self
            .save_or_fail(AccountState::Unchanged, |r| r.pending = Some(pending))
            .await
        {
            return Err(self.roll_back_stage(err).await);
        }
        self.settings.checkpoint(Checkpoint::PendingStored);
        Ok(())
    }

    /// An authenticated read with the new token, through a separate credentials handle,
    /// retried while Twilio propagates it (the client itself keeps the old token meanwhile).
    async fn verify_secondary(&mut self, secondary: AuthToken) -> Result<Staged, RotationError> {
        let fingerprint = TokenFingerprint::of(&secondary);
        let credentials = match Credentials::from_auth_token(self.progress.account_sid(), secondary)
        {
            Ok(c) => c,
            Err(e) => {
                // Not reachable with a header-safe token; handled all the same.
                let error = Error::workflow(
                    RotationStep::CreateSecondary.description(),
                    "the new token cannot be used as a credential",
                    Some(Error::build_with_source(None, "invalid credentials", e)),
                );
                let state = self.abandon_secondary().await;
                return Err(self
                    .progress
                    .fail(RotationStep::CreateSecondary, state, error));
            }
        };
        let verifier = self.client.with(credentials.clone());
        let step = RotationStep::VerifySecondary;
        let checked = checks::verify(
            &self.settings,
            &mut self.progress,
            &verifier,
            step,
            fingerprint,
        );
        if let Err(error) = checked.await {
            let state = self.abandon_secondary().await;
            return Err(self.progress.fail(step, state, error));
        }
        Ok(Staged {
            fingerprint,
            credentials,
            verifier,
        })
    }

    /// `Staged`: durable before this client (or any follower) depends on the new token.
    async fn record_staged(&mut self) -> Result<(), RotationError> {
        if let Err(err) = self
            .save_or_fail(AccountState::Unchanged, |r| {
                enter(r, RotationPhase::Staged);
            })
            .await
        {
            return Err(self.roll_back_stage(err).await);
        }
        self.settings.checkpoint(Checkpoint::Staged);
        Ok(())
    }

    /// A store write failed while staging: the secondary token is deleted again (it is not
    /// durably staged, so nothing may depend on it) and the failure is reported.
    async fn roll_back_stage(&mut self, mut err: RotationError) -> RotationError {
        let state = self.abandon_secondary().await;
        err.report = Box::new(self.progress.report(state));
        err
    }

    /// The staging failed: the secondary token is deleted and the record forgets it. The
    /// state that leaves.
    async fn abandon_secondary(&mut self) -> AccountState {
        let state = self.delete_secondary().await.state();
        if state == AccountState::Unchanged {
            self.forget_pending().await;
        }
        state
    }

    // ---- Step 2: switch --------------------------------------------------------------

    /// Every clone of the client moves to the staged token, *before* the promotion: when the
    /// old token dies, nobody here uses it any more. An API key keeps working and stays.
    fn switch_to(&mut self, staged: &Staged) {
        let started = Instant::now();
        if self.client.uses_api_key {
            let note = "the client authenticates with an API key, which keeps working";
            self.progress.record(
                RotationStep::SwitchCredentials,
                StepOutcome::Skipped,
                started,
                0,
                note,
            );
        } else {
            self.client.shared.replace(staged.credentials.clone());
            self.progress.client_token = ClientToken::New;
            let note = format!("the client now uses token {}", staged.fingerprint);
            self.progress.record(
                RotationStep::SwitchCredentials,
                StepOutcome::Succeeded,
                started,
                0,
                note,
            );
        }
    }

    /// The client takes `new` (the new token, the primary or the more likely one) without a
    /// step of its own: the step that found out says why.
    fn switch_to_new(&mut self, new: &Credentials) {
        if !self.client.uses_api_key {
            self.client.shared.replace(new.clone());
            self.progress.client_token = ClientToken::New;
        }
    }

    /// The client goes back to the store's `current` token.
    fn switch_back(&mut self) {
        if !self.client.uses_api_key {
            self.client.shared.replace(self.client.original.clone());
            self.progress.client_token = ClientToken::Old;
        }
    }

    /// `stage` ends here: both tokens work, the client and the store's followers use the
    /// new one.
    fn staged_report(&self) -> RotationReport {
        let report = self.progress.report(AccountState::Staged);
        tracing::info!(new_token = ?self.progress.new_token, "auth-token staged");
        report
    }

    // ---- Step 3: hand-off --------------------------------------------------------------

    /// Waits what is left of the hand-off grace, renewing the lease, so that every follower
    /// of the store has moved to the staged token before the old one dies.
    async fn wait_hand_off_grace(&mut self) {
        let grace = self.settings.hand_off_grace;
        if grace.is_zero() {
            return;
        }
        let started = Instant::now();
        let age = if self.journal.record().is_some() {
            self.journal.phase_age()
        } else {
            Duration::ZERO
        };
        let left = grace.saturating_sub(age);
        self.journal
            .sleep_holding_the_lease(left, self.settings.lease_duration)
            .await;
        let note = format!(
            "waited {:.1}s for followers to take the new token",
            left.as_secs_f64()
        );
        self.progress.record(
            RotationStep::HandOffGrace,
            StepOutcome::Succeeded,
            started,
            0,
            note,
        );
    }

    /// The fleet gate: the old token dies with the promotion, so every live follower of the
    /// store must hold the new one first (or the max-wait ends and the policy decides).
    async fn wait_for_the_fleet(&mut self, staged: &Staged) -> Result<(), RotationError> {
        let (settings, progress) = (&self.settings, &mut self.progress);
        fleet_gate(settings, progress, &mut self.journal, staged.fingerprint).await
    }

    // ---- Step 4: promote -------------------------------------------------------------

    /// Recorded before the promotion is sent: from here on a crash leaves a record that says
    /// "either token may be the primary; try both".
    async fn record_promoting(&mut self) -> Result<(), RotationError> {
        self.save_or_fail(AccountState::Staged, |r| {
            enter(r, RotationPhase::Promoting);
        })
        .await?;
        self.settings.checkpoint(Checkpoint::Promoting);
        Ok(())
    }

    /// Before the promotion revokes the old token: waits (bounded) until the requests this
    /// client sent with it have been answered, so that none reaches Twilio afterwards.
    async fn wait_for_old_token_requests(&self) {
        if self.client.uses_api_key {
            return;
        }
        let window = self.settings.propagation_window;
        let limit = IN_FLIGHT_WAIT.min(window.max(Duration::from_secs(1)));
        if !self.client.shared.wait_for_replaced(limit).await {
            tracing::warn!(
                still_in_flight = self.client.shared.replaced_in_flight(),
                waited_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "requests signed with the old token are still in flight; promoting anyway (a 401 to them is re-sent with the new token)"
            );
        }
    }

    /// The new token becomes the primary; Twilio revokes the old one at once. Anything but a
    /// clear success is found out with both tokens; what did not happen is rolled back.
    async fn promote(&mut self, staged: &Staged) -> Result<(), RotationError> {
        let error = match self.send_promotion(staged).await {
            Ok(()) | Err((Promotion::Done, _)) => {
                self.settings.checkpoint(Checkpoint::Promoted);
                return Ok(());
            }
            // The record stays `Promoting` with both tokens: `resume` finds out later.
            Err((Promotion::Unknown, error)) => {
                let failure =
                    self.progress
                        .fail(RotationStep::Promote, AccountState::Unknown, error);
                return Err(failure);
            }
            Err((Promotion::NotDone, error)) => error,
        };
        self.roll_back_promotion(staged, error).await?;
        self.settings.checkpoint(Checkpoint::Promoted);
        Ok(())
    }

    /// Sends the promotion; when the answer is not a clear success, tries the old and the
    /// new token to find out whether it happened.
    async fn send_promotion(&mut self, staged: &Staged) -> Result<(), (Promotion, Error)> {
        let step = RotationStep::Promote;
        let fingerprint = staged.fingerprint;
        let started = Instant::now();
        let mut request = self.client.api.auth_token_promotion().update();
        if let Some(suppress) = self.settings.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let cause = match request.send().await {
            Ok(promoted) => {
                let note = match promoted.auth_token {
                    Some(token) if !TokenFingerprint::of(&token).eq(&fingerprint) => {
                        self.follow_other_promoted(token, fingerprint)
                    }
                    _ => format!("token {fingerprint} is the primary; the old token is revoked"),
                };
                self.progress
                    .record(step, StepOutcome::Succeeded, started, 1, note);
                return Ok(());
            }
            Err(cause) => cause,
        };
        // Any answer but a clear success is found out with both tokens before anything is
        // reported or switched back: a proxy, a rate limiter or the retry of a request that
        // went through can answer 4xx for a promotion that happened.
        let refused = !may_have_happened(&cause);
        let note = if refused {
            format!(
                "{}: refused, or so it seems; checking both tokens",
                describe(&cause)
            )
        } else {
            format!("{}: outcome unknown", describe(&cause))
        };
        self.progress
            .record(step, StepOutcome::Failed, started, 1, note);
        let old = self.client.with_old_token();
        let found = checks::resolve_promotion(
            &self.settings,
            &mut self.progress,
            old,
            &staged.verifier,
            fingerprint,
        )
        .await;
        let message = match (&found, refused) {
            (Promotion::Done, _) => return Ok(()),
            (Promotion::NotDone, true) => "Twilio refused the promotion",
            (Promotion::Unknown, true) => {
                "Twilio answered the promotion with an error, and whether it happened could not be found out"
            }
            (Promotion::NotDone, false) => {
                "the promotion failed without a clear answer, and did not happen"
            }
            (Promotion::Unknown, false) => {
                "the promotion failed without a clear answer, and whether it happened could not be found out"
            }
        };
        Err((
            found,
            Error::workflow(step.description(), message, Some(cause)),
        ))
    }

    /// Twilio promoted another token than ours (another rotation replaced our secondary in
    /// between): the client follows Twilio. The step's note.
    fn follow_other_promoted(&mut self, token: AuthToken, ours: TokenFingerprint) -> String {
        if let (Ok(()), false) = (token.check_header_safe(), self.client.uses_api_key)
            && let Ok(c) = Credentials::from_auth_token(self.progress.account_sid(), token.clone())
        {
            self.client.shared.replace(c);
        }
        let other = self.progress.adopt(token);
        format!(
            "Twilio promoted token {other}, not {ours} (another rotation ran at the same time?); the client follows"
        )
    }

    /// The promotion did not happen: the record withdraws `pending`, the client goes back to
    /// the old token, and the secondary token is deleted. A clean-up that contradicts "it did
    /// not happen" (an empty slot, or the old token refused after all: its revocation may lag
    /// behind on some services) asks the new token once more. `Ok` when it was promoted after
    /// all.
    async fn roll_back_promotion(
        &mut self,
        staged: &Staged,
        error: Error,
    ) -> Result<(), RotationError> {
        self.withdraw_pending().await;
        let cleanup = self.roll_back(&error).await;
        if !matches!(cleanup, Cleanup::NothingThere | Cleanup::Refused) {
            let state = cleanup.state();
            if state == AccountState::Unchanged {
                self.forget_pending().await;
            }
            return Err(self.progress.fail(RotationStep::Promote, state, error));
        }
        let slot_empty = cleanup == Cleanup::NothingThere;
        let promoted = checks::promoted_after_all(
            &self.settings,
            &mut self.progress,
            &staged.verifier,
            staged.fingerprint,
            slot_empty,
        )
        .await;
        match promoted {
            Some(true) => {
                self.switch_to_new(&staged.credentials);
                Ok(())
            }
            Some(false) => {
                self.forget_pending().await;
                let state = AccountState::Unchanged;
                Err(self.progress.fail(RotationStep::Promote, state, error))
            }
            None => {
                // Either token may be the primary after all (the new one more likely: the
                // client takes it): back to `Promoting` (both stored), so that `resume` tries
                // both instead of deleting.
                self.switch_to_new(&staged.credentials);
                let _ = self
                    .save_or_fail(AccountState::Unknown, |r| {
                        enter(r, RotationPhase::Promoting);
                    })
                    .await;
                let state = AccountState::Unknown;
                Err(self.progress.fail(RotationStep::Promote, state, error))
            }
        }
    }

    /// Clean-up after a failed promotion: the client goes back to the old token, then the
    /// secondary is deleted.
    ///
    /// When the promotion, sent with the new token, was refused as unauthenticated, that
    /// token is no longer in the secondary slot (another rotation replaced it, or someone
    /// deleted it): whatever the slot holds is not this rotation's to delete.
    async fn roll_back(&mut self, promotion_error: &Error) -> Cleanup {
        let client_had_new = self.progress.client_token == ClientToken::New;
        let token_gone =
            client_had_new && promotion_error.status() == Some(StatusCode::UNAUTHORIZED);
        if client_had_new {
            let started = Instant::now();
            self.client.shared.replace(self.client.original.clone());
            self.progress.client_token = ClientToken::Old;
            self.progress.record(
                RotationStep::RestoreCredentials,
                StepOutcome::Succeeded,
                started,
                0,
                "the client uses the old token again",
            );
        }
        if token_gone {
            let note = match self.progress.new_token {
                Some(fp) => format!(
                    "token {fp} no longer authenticates, so it is not in the secondary slot; the slot is left alone"
                ),
                None => "the new token no longer authenticates; the slot is left alone".to_owned(),
            };
            self.progress.record(
                RotationStep::DeleteSecondary,
                StepOutcome::Skipped,
                Instant::now(),
                0,
                note,
            );
            return Cleanup::LeftAlone;
        }
        self.delete_secondary().await
    }

    /// Clean-up: deletes the secondary token with the old credentials. A `404` means there is
    /// nothing to delete, which is as good.
    async fn delete_secondary(&mut self) -> Cleanup {
        let step = RotationStep::DeleteSecondary;
        let started = Instant::now();
        let mut request = self.client.api.secondary_auth_token().delete();
        if let Some(suppress) = self.settings.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let (outcome, note, cleanup) = match request.send().await {
            Ok(()) => {
                let note = match self.progress.new_token {
                    Some(fp) => format!("token {fp} deleted"),
                    None => "the secondary token was deleted".to_owned(),
                };
                (StepOutcome::Succeeded, note, Cleanup::Deleted)
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                let note = "there was no secondary token to delete".to_owned();
                (StepOutcome::Succeeded, note, Cleanup::NothingThere)
            }
            Err(e) => {
                let note = format!("{}: the secondary token may still exist", describe(&e));
                let refused = matches!(
                    e.status(),
                    Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                );
                let cleanup = if refused {
                    Cleanup::Refused
                } else {
                    Cleanup::Failed
                };
                (StepOutcome::Failed, note, cleanup)
            }
        };
        self.progress.record(step, outcome, started, 1, note);
        cleanup
    }

    /// `resume` of `Creating` (or of an interrupted roll-back): a secondary token may exist
    /// that no record holds and nothing depends on. It is deleted, and `pending` dropped.
    async fn finish_roll_back(&mut self) -> Result<RotationReport, RotationError> {
        self.switch_back();
        match self.delete_secondary().await {
            Cleanup::Deleted | Cleanup::NothingThere | Cleanup::LeftAlone => {
                self.save_or_fail(AccountState::Unchanged, record_roll_back)
                    .await?;
                Ok(self.progress.report(AccountState::Unchanged))
            }
            cleanup @ (Cleanup::Refused | Cleanup::Failed) => {
                let step = RotationStep::DeleteSecondary;
                let error = Error::workflow(
                    step.description(),
                    "the secondary token of the interrupted rotation could not be deleted",
                    None,
                );
                Err(self.progress.fail(step, cleanup.state(), error))
            }
        }
    }

    // ---- Step 5: record and verify -----------------------------------------------------

    /// The promotion happened: the new token becomes `current`, the old one `previous`.
    async fn record_promotion(&mut self) -> Result<(), RotationError> {
        self.save_promotion().await?;
        self.settings.checkpoint(Checkpoint::Recorded);
        Ok(())
    }

    /// The write of [`record_promotion`](Self::record_promotion) (`resume` needs no
    /// checkpoint when it finds a promotion done).
    async fn save_promotion(&mut self) -> Result<(), RotationError> {
        let Some(token) = self.progress.new_secret.clone() else {
            return Ok(());
        };
        self.save_or_fail(AccountState::RotatedUnverified, |r| {
            record_promotion(r, token);
        })
        .await
    }

    /// The same read as the first check, now with the primary token (the one Twilio promoted:
    /// normally ours), through the client itself when it uses the token.
    async fn verify_primary(&mut self, staged: Staged) -> Result<RotationReport, RotationError> {
        let fingerprint = self.progress.new_token.unwrap_or(staged.fingerprint);
        let http = if self.client.uses_api_key {
            let promoted = self.progress.new_secret.clone().and_then(|token| {
                Credentials::from_auth_token(self.progress.account_sid(), token).ok()
            });
            match promoted {
                Some(credentials) => self.client.with(credentials),
                None => staged.verifier,
            }
        } else {
            self.client.api.http_client().clone()
        };
        let step = RotationStep::VerifyPrimary;
        let checked = checks::verify(&self.settings, &mut self.progress, &http, step, fingerprint);
        if let Err(error) = checked.await {
            let state = AccountState::RotatedUnverified;
            return Err(self.progress.fail(step, state, error));
        }
        let report = self.progress.report(AccountState::Rotated);
        tracing::info!(
            new_token = %fingerprint,
            elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
            "auth-token rotation complete"
        );
        Ok(report)
    }

    // ---- The record ------------------------------------------------------------------

    /// Saves the record changed by `update`; a no-op without a store. On failure, the error
    /// reports `state`.
    async fn save_or_fail(
        &mut self,
        state: AccountState,
        update: impl FnOnce(&mut twilio_store::TokenRecord),
    ) -> Result<(), RotationError> {
        let started = Instant::now();
        match self.journal.save(update).await {
            Ok(()) => Ok(()),
            Err(error) => Err(self.progress.store_failure(started, state, error)),
        }
    }

    /// After a roll-back that left nothing behind: the record drops `pending`. Best effort: if
    /// it fails, the record still says where to look, and `resume` cleans up.
    async fn forget_pending(&mut self) {
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
    async fn withdraw_pending(&mut self) {
        if self.journal.record().is_none() {
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
}
