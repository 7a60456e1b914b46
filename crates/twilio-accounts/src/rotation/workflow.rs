//! The rotation itself: the steps, the verification loop, the clean-up and the resolution of
//! an unclear promotion.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use super::Checkpoint;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use time::OffsetDateTime;
use tokio::time::{Instant, sleep};
use tracing::Instrument as _;
use twilio_store::{GatePolicy, LeasedRecord, RotationPhase, StoredToken, TokenRecord, TokenStore};
use twilio_transport::{Credentials, HttpClient, SharedCredentials};
use twilio_types::{AccountSid, AuthToken};

use super::durable::{ProcessLock, Staged, enter, record_promotion};
use super::report::{
    AccountState, ClientToken, RotationError, RotationReport, RotationStep, StepOutcome, StepReport,
};
use super::{TokenFingerprint, VerifyBackoff};
use crate::client::Client;
use crate::error::Error;
use crate::response::error_from_response;

/// The read used to check that a token authenticates: cheap, side-effect free, and allowed for
/// every account.
const VERIFY_PATH: &str = "/v1/Credentials/AWS?PageSize=1";

/// The longest wait before the promotion for requests still carrying the old token.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(10);

/// The options of one rotation.
pub(super) struct Plan {
    pub(super) suppress_email_notification: Option<bool>,
    pub(super) propagation_window: Duration,
    pub(super) backoff: VerifyBackoff,
    /// How long after staging the promotion may be sent (followers' hand-off).
    pub(super) hand_off_grace: Duration,
    /// Promote even if the hand-off grace has not passed.
    pub(super) force: bool,
    /// Called at each durable boundary (see `RotateAuthToken::on_checkpoint`).
    pub(super) checkpoint: Option<super::CheckpointHook>,
    /// How long the store's lease holds between two writes of this rotation.
    pub(super) lease_duration: Duration,
    /// How long the fleet gate waits for every live follower to hold the new token.
    pub(super) max_wait: Duration,
    /// What the gate does when `max_wait` ends first.
    pub(super) gate_policy: GatePolicy,
}

/// Which part of the rotation to run.
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

/// What one authenticated read said about a token.
pub(super) enum Probe {
    /// A 2xx answer: the token authenticates.
    Works,
    /// 401 or 403: the token is refused (revoked, or not propagated yet).
    Refused(Error),
    /// Anything else; `is_retryable()` tells whether to keep trying.
    Failed(Error),
}

/// Whether a failed non-idempotent call (create, promote) may still have taken effect.
fn may_have_happened(error: &Error) -> bool {
    match error {
        Error::Build(_) => false,
        Error::Transport(e) => e.is_possibly_sent(),
        // Twilio answers 4xx before acting; 5xx (and a proxy's HTML page) leave it open.
        Error::Api(e) => e.status().is_server_error(),
        Error::UnexpectedResponse(e) => !e.status().is_client_error(),
        // A success status with a body we could not read: it happened.
        Error::Decode(_) => true,
        _ => true,
    }
}

/// One authenticated read with whatever credentials `http` holds.
pub(super) async fn probe(http: &HttpClient) -> Probe {
    let request = match Request::builder()
        .method(Method::GET)
        .uri(VERIFY_PATH)
        .body(Bytes::new())
    {
        Ok(r) => r,
        Err(e) => {
            return Probe::Failed(Error::build_with_source(
                None,
                "the verification request could not be built",
                e,
            ));
        }
    };
    match http.send(request).await {
        Ok(response) if response.status().is_success() => Probe::Works,
        Ok(response)
            if matches!(
                response.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) =>
        {
            Probe::Refused(error_from_response(&response))
        }
        Ok(response) => Probe::Failed(error_from_response(&response)),
        Err(e) => Probe::Failed(Error::Transport(e)),
    }
}

/// A short, secret-free description of a failure for a step note.
pub(super) fn describe(error: &Error) -> Cow<'static, str> {
    match (error.status(), error.code()) {
        (Some(status), Some(code)) => format!("HTTP {} (code {code})", status.as_u16()).into(),
        (Some(status), None) => format!("HTTP {}", status.as_u16()).into(),
        _ => match error {
            Error::Transport(e) if e.is_timeout() => "timed out".into(),
            Error::Transport(e) if e.is_connect() => "could not connect".into(),
            Error::Transport(_) => "connection failed".into(),
            _ => "failed".into(),
        },
    }
}

/// `started + window`, saturating: a window too long for the clock (`Duration::MAX`, say)
/// means a deadline a century away rather than a panic.
pub(super) fn deadline_after(started: Instant, window: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    started
        .checked_add(window)
        .or_else(|| started.checked_add(CENTURY))
        .unwrap_or(started)
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

pub(super) struct Run<'a> {
    pub(super) client: &'a Client,
    pub(super) plan: Plan,
    pub(super) shared: SharedCredentials,
    pub(super) original: Credentials,
    pub(super) account_sid: AccountSid,
    pub(super) uses_api_key: bool,
    pub(super) start: Instant,
    pub(super) steps: Vec<StepReport>,
    pub(super) new_token: Option<TokenFingerprint>,
    /// The new token itself; handed out only when it is (or may be) the primary.
    pub(super) new_secret: Option<AuthToken>,
    pub(super) client_token: ClientToken,
    /// The promotion got no clear answer and had to be found out.
    pub(super) promotion_unclear: bool,
    /// Where the rotation is recorded; `None`: in this process's memory only (the report and
    /// the error then hand over the new token).
    pub(super) store: Option<Arc<dyn TokenStore>>,
    /// The record as last saved (`None` without a store).
    pub(super) stored: Option<TokenRecord>,
    /// This process's rotation lock on the account, held until the run ends.
    pub(super) process_lock: Option<ProcessLock>,
    /// The store's record with this rotation's lease: every write goes through it (a
    /// compare-and-swap that renews the lease); released when the run ends.
    pub(super) lease: Option<LeasedRecord>,
    /// The store's `current` token (the old one while rotating), to find out an unclear
    /// promotion even for an API-key client.
    pub(super) old_token: Option<AuthToken>,
}

/// How a clean-up `DELETE` of the secondary token ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Cleanup {
    Deleted,
    /// The slot no longer holds this rotation's token; not touched.
    LeftAlone,
    NothingThere,
    /// 401/403: the old token was refused.
    Refused,
    Failed,
}

impl Cleanup {
    pub(super) fn state(self) -> AccountState {
        match self {
            Self::Deleted | Self::LeftAlone | Self::NothingThere => AccountState::Unchanged,
            Self::Refused | Self::Failed => AccountState::UnchangedSecondaryRemains,
        }
    }
}

/// How a promotion ended, once known.
enum Promotion {
    /// It happened; the client should use this token (normally the one we created).
    Done,
    /// It did not happen (or was refused).
    NotDone,
    /// Could not be found out.
    Unknown,
}

pub(super) async fn run(
    client: &Client,
    plan: Plan,
    store: Option<Arc<dyn TokenStore>>,
    mode: Mode,
) -> Result<RotationReport, RotationError> {
    let shared = client.http_client().credentials().clone();
    let original = shared.current();
    let account_sid = original.account_sid();
    let uses_api_key = original.api_key_sid().is_some();
    let span = tracing::info_span!("rotate_auth_token", account_sid = %account_sid, mode = ?mode);
    let mut run = Run {
        client,
        plan,
        shared,
        original,
        account_sid,
        uses_api_key,
        start: Instant::now(),
        steps: Vec::new(),
        new_token: None,
        new_secret: None,
        promotion_unclear: false,
        client_token: if uses_api_key {
            ClientToken::ApiKey
        } else {
            ClientToken::Old
        },
        store,
        stored: None,
        process_lock: None,
        lease: None,
        old_token: None,
    };
    async {
        let result = match run.open().await {
            Err(error) => Err(error),
            Ok(()) => match mode {
                Mode::Rotate => run.rotate().await,
                Mode::Stage => run.stage_only().await,
                Mode::Complete => run.complete_only().await,
                Mode::Resume => run.resume().await,
            },
        };
        run.release_lease().await;
        result
    }
    .instrument(span)
    .await
}

impl Run<'_> {
    /// How long to wait before attempt `attempt + 1` of a check that must end by `deadline`:
    /// the plan's back-off, never past the deadline.
    pub(super) fn back_off(&self, attempt: u32, deadline: Instant) -> Duration {
        self.plan
            .backoff
            .delay(attempt)
            .min(deadline.saturating_duration_since(Instant::now()))
    }

    pub(super) fn record(
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
            suppress_email_notification: self.plan.suppress_email_notification,
        }
    }

    pub(super) fn fail(
        &self,
        step: RotationStep,
        state: AccountState,
        error: Error,
    ) -> RotationError {
        tracing::warn!(
            failed_step = step.name(),
            state = ?state,
            elapsed_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX),
            "auth-token rotation did not complete"
        );
        RotationError {
            failed_step: step,
            report: Box::new(self.report(state)),
            error,
        }
    }

    pub(super) fn log_start(&self) {
        tracing::info!(
            propagation_window_ms =
                u64::try_from(self.plan.propagation_window.as_millis()).unwrap_or(u64::MAX),
            hand_off_grace_ms =
                u64::try_from(self.plan.hand_off_grace.as_millis()).unwrap_or(u64::MAX),
            api_key_client = self.uses_api_key,
            durable = self.store.is_some(),
            "auth-token rotation started"
        );
    }

    /// `rotate`: stage, wait the hand-off grace, complete.
    async fn rotate(&mut self) -> Result<RotationReport, RotationError> {
        self.require_idle()?;
        self.log_start();
        let staged = self.stage().await?;
        self.wait_hand_off_grace().await;
        self.complete(staged).await
    }

    /// `stage` alone: the report's state is [`AccountState::Staged`].
    async fn stage_only(&mut self) -> Result<RotationReport, RotationError> {
        self.require_idle()?;
        self.log_start();
        self.stage().await?;
        let report = self.report(AccountState::Staged);
        tracing::info!(new_token = ?self.new_token, "auth-token staged");
        Ok(report)
    }

    /// `complete` alone: promotes the token the store holds as `pending`.
    async fn complete_only(&mut self) -> Result<RotationReport, RotationError> {
        self.log_start();
        let staged = self.staged_from_store()?;
        self.check_hand_off_grace()?;
        self.switch_to(&staged);
        self.complete(staged).await
    }

    /// Steps 1–3: create the secondary token, verify it, store it as `pending`, and only then
    /// switch the client to it.
    async fn stage(&mut self) -> Result<Staged, RotationError> {
        // Recorded before the create is sent: a crash from here on leaves a record that says
        // Twilio may hold a secondary token nobody knows (`resume` deletes it).
        let choices = self.plan_choices();
        self.save_or_fail(AccountState::Unchanged, |r| {
            enter(r, RotationPhase::Creating);
            r.choices = choices;
        })
        .await?;
        self.checkpoint(Checkpoint::Creating);

        // 1. Create the secondary token.
        let secondary = match self.create_secondary().await {
            Ok(token) => token,
            Err(err) => {
                if err.state() == AccountState::Unchanged {
                    self.forget_pending().await;
                }
                return Err(err);
            }
        };
        let fingerprint = TokenFingerprint::of(&secondary);
        self.checkpoint(Checkpoint::Created);
        // Stored as soon as it is known (still phase `Creating`): no crash from here on can
        // leave a token that authenticates outside the store.
        let pending = StoredToken::new(secondary.clone(), OffsetDateTime::now_utc());
        if let Err(err) = self
            .save_or_fail(AccountState::Unchanged, |r| r.pending = Some(pending))
            .await
        {
            return Err(self.roll_back_stage(err).await);
        }
        self.checkpoint(Checkpoint::PendingStored);
        let new_credentials = match Credentials::from_auth_token(self.account_sid, secondary) {
            Ok(c) => c,
            Err(e) => {
                // Not reachable with a header-safe token; handled all the same.
                let error = Error::workflow(
                    RotationStep::CreateSecondary.description(),
                    "the new token cannot be used as a credential",
                    Some(Error::build_with_source(None, "invalid credentials", e)),
                );
                let state = self.delete_secondary().await.state();
                if state == AccountState::Unchanged {
                    self.forget_pending().await;
                }
                return Err(self.fail(RotationStep::CreateSecondary, state, error));
            }
        };

        // 2. Verify it through a separate credentials handle.
        let verifier = self
            .client
            .http_client()
            .with_credentials(new_credentials.clone());
        if let Err(error) = self
            .verify(&verifier, RotationStep::VerifySecondary, fingerprint)
            .await
        {
            let state = self.delete_secondary().await.state();
            if state == AccountState::Unchanged {
                self.forget_pending().await;
            }
            return Err(self.fail(RotationStep::VerifySecondary, state, error));
        }

        // Staged: durable before this client (or any follower) depends on the new token.
        if let Err(err) = self
            .save_or_fail(AccountState::Unchanged, |r| {
                enter(r, RotationPhase::Staged);
            })
            .await
        {
            return Err(self.roll_back_stage(err).await);
        }
        self.checkpoint(Checkpoint::Staged);

        // 3. Switch every clone of the client to it.
        let staged = Staged {
            fingerprint,
            credentials: new_credentials,
            verifier,
        };
        self.switch_to(&staged);
        Ok(staged)
    }

    /// Before the promotion revokes the old token: waits (bounded) until the requests this
    /// client sent with it have been answered, so that none reaches Twilio afterwards.
    async fn wait_for_old_token_requests(&self) {
        if self.uses_api_key {
            return;
        }
        let limit = IN_FLIGHT_WAIT.min(self.plan.propagation_window.max(Duration::from_secs(1)));
        if !self.shared.wait_for_replaced(limit).await {
            tracing::warn!(
                still_in_flight = self.shared.replaced_in_flight(),
                waited_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "requests signed with the old token are still in flight; promoting anyway (a 401 to them is re-sent with the new token)"
            );
        }
    }

    /// A store write failed while staging: the secondary token is deleted again (it is not
    /// durably staged, so nothing may depend on it) and the failure is reported.
    async fn roll_back_stage(&mut self, err: RotationError) -> RotationError {
        let state = self.delete_secondary().await.state();
        if state == AccountState::Unchanged {
            self.forget_pending().await;
        }
        let mut err = err;
        err.report = Box::new(self.report(state));
        err
    }

    /// Step 3: every clone of the client moves to the staged token.
    pub(super) fn switch_to(&mut self, staged: &Staged) {
        let started = Instant::now();
        if self.uses_api_key {
            self.record(
                RotationStep::SwitchCredentials,
                StepOutcome::Skipped,
                started,
                0,
                Some("the client authenticates with an API key, which keeps working".into()),
            );
        } else {
            self.shared.replace(staged.credentials.clone());
            self.client_token = ClientToken::New;
            self.record(
                RotationStep::SwitchCredentials,
                StepOutcome::Succeeded,
                started,
                0,
                Some(format!("the client now uses token {}", staged.fingerprint).into()),
            );
        }
    }

    /// Steps 4–5: record `Promoting`, promote, record the new `current`, verify it.
    pub(super) async fn complete(
        &mut self,
        staged: Staged,
    ) -> Result<RotationReport, RotationError> {
        let Staged {
            fingerprint,
            credentials: new_credentials,
            verifier,
        } = staged;
        // The gate: every live follower holds the new token before the old one dies.
        self.fleet_gate(fingerprint).await?;
        // Recorded before the promotion is sent: from here on a crash leaves a record that
        // says "either token may be the primary; try both".
        self.save_or_fail(AccountState::Staged, |r| {
            enter(r, RotationPhase::Promoting);
        })
        .await?;
        self.checkpoint(Checkpoint::Promoting);
        self.wait_for_old_token_requests().await;

        // 4. Promote.
        match self.promote(&verifier, fingerprint).await {
            Ok(()) => {}
            Err((Promotion::NotDone, error)) => {
                self.withdraw_pending().await;
                let cleanup = self.roll_back(&error).await;
                // An empty secondary slot, or the old token refused after all, contradicts
                // "it did not happen" (the old token's revocation may lag behind on some
                // services): ask the new token.
                let contradicted = matches!(cleanup, Cleanup::NothingThere | Cleanup::Refused);
                if !(self.promotion_unclear && contradicted) {
                    let state = cleanup.state();
                    if state == AccountState::Unchanged {
                        self.forget_pending().await;
                    }
                    return Err(self.fail(RotationStep::Promote, state, error));
                }
                match self
                    .promoted_after_all(&verifier, &new_credentials, fingerprint, cleanup)
                    .await
                {
                    Some(true) => {}
                    Some(false) => {
                        self.forget_pending().await;
                        return Err(self.fail(
                            RotationStep::Promote,
                            AccountState::Unchanged,
                            error,
                        ));
                    }
                    None => {
                        // Either token may be the primary after all: back to `Promoting`
                        // (both stored), so that `resume` tries both instead of deleting.
                        let _ = self
                            .save_or_fail(AccountState::Unknown, |r| {
                                enter(r, RotationPhase::Promoting);
                            })
                            .await;
                        return Err(self.fail(RotationStep::Promote, AccountState::Unknown, error));
                    }
                }
            }
            Err((Promotion::Unknown, error)) => {
                // The record stays `Promoting` with both tokens: `resume` finds out later.
                return Err(self.fail(RotationStep::Promote, AccountState::Unknown, error));
            }
            Err((Promotion::Done, _)) => {}
        }
        self.checkpoint(Checkpoint::Promoted);

        // The promotion happened: the new token becomes `current`, the old one `previous`.
        let promoted = self.new_secret.clone();
        if let Some(token) = promoted {
            self.save_or_fail(AccountState::RotatedUnverified, |r| {
                record_promotion(r, token);
            })
            .await?;
        }
        self.checkpoint(Checkpoint::Recorded);

        // 5. Verify the new primary (the token Twilio promoted: normally ours), through the
        // client itself when it uses the token.
        let fingerprint = self.new_token.unwrap_or(fingerprint);
        let final_http = if self.uses_api_key {
            let promoted = self
                .new_secret
                .clone()
                .and_then(|token| Credentials::from_auth_token(self.account_sid, token).ok());
            match promoted {
                Some(credentials) => self.client.http_client().with_credentials(credentials),
                None => verifier,
            }
        } else {
            self.client.http_client().clone()
        };
        if let Err(error) = self
            .verify(&final_http, RotationStep::VerifyPrimary, fingerprint)
            .await
        {
            return Err(self.fail(
                RotationStep::VerifyPrimary,
                AccountState::RotatedUnverified,
                error,
            ));
        }
        let report = self.report(AccountState::Rotated);
        tracing::info!(
            new_token = %fingerprint,
            elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
            "auth-token rotation complete"
        );
        Ok(report)
    }

    /// Step 1. On failure, cleans up if the token may exist and returns the error.
    async fn create_secondary(&mut self) -> Result<AuthToken, RotationError> {
        let step = RotationStep::CreateSecondary;
        let started = Instant::now();
        let mut request = self.client.secondary_auth_token().create();
        if let Some(suppress) = self.plan.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let created = request.send().await;
        let (error, may_exist) = match created {
            Ok(created) => match created.secondary_auth_token {
                Some(token) if token.check_header_safe().is_ok() => {
                    let fingerprint = TokenFingerprint::of(&token);
                    self.new_token = Some(fingerprint);
                    self.new_secret = Some(token.clone());
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        1,
                        Some(format!("new token {fingerprint}").into()),
                    );
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
        self.record(step, StepOutcome::Failed, started, 1, note);
        let state = if may_exist {
            self.delete_secondary().await.state()
        } else {
            AccountState::Unchanged
        };
        Err(self.fail(step, state, error))
    }

    /// Steps 2 and 5: authenticated reads until one succeeds, a permanent failure, or the end
    /// of the propagation window.
    async fn verify(
        &mut self,
        http: &HttpClient,
        step: RotationStep,
        fingerprint: TokenFingerprint,
    ) -> Result<(), Error> {
        let started = Instant::now();
        let window = self.plan.propagation_window;
        let deadline = deadline_after(started, window);
        let mut attempt = 0u32;
        let mut refused = 0u32;
        loop {
            attempt += 1;
            let last = match probe(http).await {
                Probe::Works => {
                    let note = if refused > 0 {
                        format!(
                            "token {fingerprint} authenticates (refused {refused} time(s) while propagating)"
                        )
                    } else {
                        format!("token {fingerprint} authenticates")
                    };
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Ok(());
                }
                Probe::Refused(e) => {
                    refused += 1;
                    e
                }
                Probe::Failed(e) if e.is_retryable() => e,
                Probe::Failed(e) => {
                    let note = format!("{} (not retried)", describe(&e));
                    self.record(
                        step,
                        StepOutcome::Failed,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Err(Error::workflow(
                        step.description(),
                        "the check of the new token failed with an answer that is not about authentication",
                        Some(e),
                    ));
                }
            };
            let now = Instant::now();
            if now >= deadline {
                let note = format!(
                    "{} after {attempt} attempt(s) in {}",
                    describe(&last),
                    secs(now.duration_since(started))
                );
                self.record(
                    step,
                    StepOutcome::Failed,
                    started,
                    attempt,
                    Some(note.into()),
                );
                let message = format!(
                    "token {fingerprint} did not authenticate within the propagation window of {}",
                    secs(window)
                );
                return Err(Error::workflow(step.description(), message, Some(last)));
            }
            let delay = self.back_off(attempt, deadline);
            tracing::debug!(
                step = step.name(),
                attempt,
                outcome = %describe(&last),
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "token not accepted yet; retrying"
            );
            sleep(delay).await;
        }
    }

    /// Step 4 (and, when needed, the resolution of an unclear answer).
    async fn promote(
        &mut self,
        verifier: &HttpClient,
        fingerprint: TokenFingerprint,
    ) -> Result<(), (Promotion, Error)> {
        let step = RotationStep::Promote;
        let started = Instant::now();
        let mut request = self.client.auth_token_promotion().update();
        if let Some(suppress) = self.plan.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let cause = match request.send().await {
            Ok(promoted) => {
                let note = match promoted.auth_token {
                    Some(token) if !TokenFingerprint::of(&token).eq(&fingerprint) => {
                        // Another rotation replaced our secondary in between: follow Twilio.
                        if let (Ok(()), false) = (token.check_header_safe(), self.uses_api_key)
                            && let Ok(c) =
                                Credentials::from_auth_token(self.account_sid, token.clone())
                        {
                            self.shared.replace(c);
                        }
                        let other = TokenFingerprint::of(&token);
                        self.new_token = Some(other);
                        self.new_secret = Some(token);
                        format!(
                            "Twilio promoted token {other}, not {fingerprint} (another rotation ran at the same time?); the client follows"
                        )
                    }
                    _ => format!("token {fingerprint} is the primary; the old token is revoked"),
                };
                self.record(step, StepOutcome::Succeeded, started, 1, Some(note.into()));
                return Ok(());
            }
            Err(cause) => cause,
        };
        // Any answer but a clear success is found out with both tokens before anything is
        // reported or switched back: a proxy, a rate limiter or the retry of a request that
        // went through can answer 4xx for a promotion that happened.
        let refused = !may_have_happened(&cause);
        self.promotion_unclear = true;
        let note = if refused {
            format!(
                "{}: refused, or so it seems; checking both tokens",
                describe(&cause)
            )
        } else {
            format!("{}: outcome unknown", describe(&cause))
        };
        self.record(step, StepOutcome::Failed, started, 1, Some(note.into()));
        if refused {
            return match self.resolve_promotion(verifier, fingerprint).await {
                Promotion::Done => Ok(()),
                Promotion::NotDone => Err((
                    Promotion::NotDone,
                    Error::workflow(
                        step.description(),
                        "Twilio refused the promotion",
                        Some(cause),
                    ),
                )),
                Promotion::Unknown => Err((
                    Promotion::Unknown,
                    Error::workflow(
                        step.description(),
                        "Twilio answered the promotion with an error, and whether it happened could not be found out",
                        Some(cause),
                    ),
                )),
            };
        }
        match self.resolve_promotion(verifier, fingerprint).await {
            Promotion::Done => Ok(()),
            Promotion::NotDone => Err((
                Promotion::NotDone,
                Error::workflow(
                    step.description(),
                    "the promotion failed without a clear answer, and did not happen",
                    Some(cause),
                ),
            )),
            Promotion::Unknown => Err((
                Promotion::Unknown,
                Error::workflow(
                    step.description(),
                    "the promotion failed without a clear answer, and whether it happened could not be found out",
                    Some(cause),
                ),
            )),
        }
    }

    /// Tries the old and the new token until the answers tell whether the promotion happened:
    /// old refused + new works → it did; old works → it did not.
    async fn resolve_promotion(
        &mut self,
        verifier: &HttpClient,
        fingerprint: TokenFingerprint,
    ) -> Promotion {
        let step = RotationStep::ResolvePromotion;
        let started = Instant::now();
        let old_credentials = if self.uses_api_key {
            // An API key cannot be the old token; the store's `current` can.
            self.old_token
                .clone()
                .and_then(|token| Credentials::from_auth_token(self.account_sid, token).ok())
        } else {
            Some(self.original.clone())
        };
        let Some(old_credentials) = old_credentials else {
            self.record(
                step,
                StepOutcome::Failed,
                started,
                0,
                Some(
                    "the client authenticates with an API key and no store holds the old token, so it cannot be tried"
                        .into(),
                ),
            );
            return Promotion::Unknown;
        };
        let old = self.client.http_client().with_credentials(old_credentials);
        let deadline = deadline_after(started, self.plan.propagation_window);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let old_probe = probe(&old).await;
            let new_probe = probe(verifier).await;
            match (&old_probe, &new_probe) {
                (Probe::Refused(_), Probe::Works) => {
                    let note = format!(
                        "the old token is refused and token {fingerprint} works: the promotion happened"
                    );
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Promotion::Done;
                }
                (Probe::Works, _) => {
                    let note = "the old token still works: the promotion did not happen";
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Promotion::NotDone;
                }
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                let note = format!(
                    "no clear answer after {attempt} attempt(s) (old token: {}, new token: {})",
                    probe_summary(&old_probe),
                    probe_summary(&new_probe)
                );
                self.record(
                    step,
                    StepOutcome::Failed,
                    started,
                    attempt,
                    Some(note.into()),
                );
                return Promotion::Unknown;
            }
            let delay = self.back_off(attempt, deadline);
            tracing::debug!(
                step = step.name(),
                attempt,
                old_token = probe_summary(&old_probe).as_ref(),
                new_token = probe_summary(&new_probe).as_ref(),
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "promotion outcome not clear yet; retrying"
            );
            sleep(delay).await;
        }
    }

    /// Clean-up after a failed promotion: the client goes back to the old token, then the
    /// secondary is deleted.
    ///
    /// When the promotion, sent with the new token, was refused as unauthenticated, that
    /// token is no longer in the secondary slot (another rotation replaced it, or someone
    /// deleted it): whatever the slot holds is not this rotation's to delete.
    async fn roll_back(&mut self, promotion_error: &Error) -> Cleanup {
        let token_gone = self.client_token == ClientToken::New
            && promotion_error.status() == Some(StatusCode::UNAUTHORIZED);
        if self.client_token == ClientToken::New {
            let started = Instant::now();
            self.shared.replace(self.original.clone());
            self.client_token = ClientToken::Old;
            self.record(
                RotationStep::RestoreCredentials,
                StepOutcome::Succeeded,
                started,
                0,
                Some("the client uses the old token again".into()),
            );
        }
        if token_gone {
            let note = match self.new_token {
                Some(fp) => format!(
                    "token {fp} no longer authenticates, so it is not in the secondary slot; the slot is left alone"
                ),
                None => "the new token no longer authenticates; the slot is left alone".to_owned(),
            };
            self.record(
                RotationStep::DeleteSecondary,
                StepOutcome::Skipped,
                Instant::now(),
                0,
                Some(note.into()),
            );
            return Cleanup::LeftAlone;
        }
        self.delete_secondary().await
    }

    /// Clean-up: deletes the secondary token with the old credentials. A `404` means there is
    /// nothing to delete, which is as good.
    pub(super) async fn delete_secondary(&mut self) -> Cleanup {
        let step = RotationStep::DeleteSecondary;
        let started = Instant::now();
        let mut request = self.client.secondary_auth_token().delete();
        if let Some(suppress) = self.plan.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        match request.send().await {
            Ok(()) => {
                let note = match self.new_token {
                    Some(fp) => format!("token {fp} deleted"),
                    None => "the secondary token was deleted".to_owned(),
                };
                self.record(step, StepOutcome::Succeeded, started, 1, Some(note.into()));
                Cleanup::Deleted
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                let note = "there was no secondary token to delete";
                self.record(step, StepOutcome::Succeeded, started, 1, Some(note.into()));
                Cleanup::NothingThere
            }
            Err(e) => {
                let note = format!("{}: the secondary token may still exist", describe(&e));
                self.record(step, StepOutcome::Failed, started, 1, Some(note.into()));
                if matches!(
                    e.status(),
                    Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                ) {
                    Cleanup::Refused
                } else {
                    Cleanup::Failed
                }
            }
        }
    }

    /// When nothing can be found out after a contradicted roll-back, the new token is the more
    /// likely primary (the secondary slot, which this rotation held, is empty or the old token
    /// was refused): the client takes it, and the report hands it over.
    fn switch_to_new_for_unknown(&mut self, new_credentials: &Credentials) {
        if !self.uses_api_key {
            self.shared.replace(new_credentials.clone());
            self.client_token = ClientToken::New;
        }
    }

    /// After the roll-back of an unclear promotion found no secondary token (or the old token
    /// was refused after all): if the new token
    /// works, it can only be the primary (the promotion happened; the old token's revocation
    /// had not reached the service that accepted it), and the client moves to it again. If it
    /// is refused, the old token is the primary. `None` when neither answer came within the
    /// propagation window.
    async fn promoted_after_all(
        &mut self,
        verifier: &HttpClient,
        new_credentials: &Credentials,
        fingerprint: TokenFingerprint,
        cleanup: Cleanup,
    ) -> Option<bool> {
        let step = RotationStep::ResolvePromotion;
        let started = Instant::now();
        let deadline = deadline_after(started, self.plan.propagation_window);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = match probe(verifier).await {
                Probe::Works => {
                    if !self.uses_api_key {
                        self.shared.replace(new_credentials.clone());
                        self.client_token = ClientToken::New;
                    }
                    let note = format!(
                        "token {fingerprint} still works although the clean-up contradicts a pending secondary: the promotion happened after all; the client uses it again"
                    );
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Some(true);
                }
                Probe::Refused(e) if cleanup == Cleanup::NothingThere => {
                    let note = format!(
                        "no secondary token is left and token {fingerprint} is refused ({}): the old token stays the primary",
                        describe(&e)
                    );
                    self.record(
                        step,
                        StepOutcome::Succeeded,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return Some(false);
                }
                Probe::Refused(e) => {
                    self.switch_to_new_for_unknown(new_credentials);
                    let note = format!(
                        "both the old token and token {fingerprint} were refused ({}); the client keeps the new token, the more recent evidence",
                        describe(&e)
                    );
                    self.record(
                        step,
                        StepOutcome::Failed,
                        started,
                        attempt,
                        Some(note.into()),
                    );
                    return None;
                }
                Probe::Failed(e) => e,
            };
            let now = Instant::now();
            if now >= deadline {
                self.switch_to_new_for_unknown(new_credentials);
                let note = format!(
                    "token {fingerprint} gave no clear answer ({}) after {attempt} attempt(s); the client keeps the new token, the more likely primary",
                    describe(&last)
                );
                self.record(
                    step,
                    StepOutcome::Failed,
                    started,
                    attempt,
                    Some(note.into()),
                );
                return None;
            }
            sleep(self.back_off(attempt, deadline)).await;
        }
    }
}

fn probe_summary(probe: &Probe) -> Cow<'static, str> {
    match probe {
        Probe::Works => "works".into(),
        Probe::Refused(e) => format!("refused, {}", describe(e)).into(),
        Probe::Failed(e) => describe(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, DecodeError, UnexpectedResponse};
    use twilio_transport::TransportError;

    fn api(status: u16) -> Error {
        Error::Api(ApiError {
            status: StatusCode::from_u16(status).unwrap(),
            code: Some(20000 + u32::from(status)),
            message: None,
            more_info: None,
            details: None,
            request_id: None,
        })
    }

    #[test]
    fn which_failures_may_have_taken_effect() {
        assert!(!may_have_happened(&api(400)));
        assert!(!may_have_happened(&api(404)));
        assert!(!may_have_happened(&api(429)));
        assert!(may_have_happened(&api(500)));
        assert!(may_have_happened(&api(503)));
        assert!(!may_have_happened(&Error::Transport(
            TransportError::connect("refused")
        )));
        assert!(may_have_happened(&Error::Transport(TransportError::io(
            "reset"
        ))));
        assert!(!may_have_happened(&Error::invalid_argument("x", "bad")));
        let html = |status| {
            Error::UnexpectedResponse(UnexpectedResponse {
                status: StatusCode::from_u16(status).unwrap(),
                content_type: Some("text/html".into()),
                snippet: String::new(),
                request_id: None,
            })
        };
        assert!(may_have_happened(&html(502)));
        assert!(!may_have_happened(&html(403)));
        let decode = Error::Decode(DecodeError::new(None, "not json"));
        assert!(
            may_have_happened(&decode),
            "a 2xx with an unreadable body did happen"
        );
    }

    #[test]
    fn descriptions_name_status_and_code_only() {
        assert_eq!(describe(&api(401)), "HTTP 401 (code 20401)");
        assert_eq!(
            describe(&Error::Transport(TransportError::connect("x"))),
            "could not connect"
        );
        assert_eq!(
            describe(&Error::Transport(TransportError::io("x"))),
            "connection failed"
        );
        assert_eq!(secs(Duration::from_millis(1500)), "1.500s");
    }
}
