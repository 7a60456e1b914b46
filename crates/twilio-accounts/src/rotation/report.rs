//! What a rotation did and where it left the account: [`RotationReport`], [`StepReport`],
//! [`RotationStep`], [`StepOutcome`], [`AccountState`] and [`RotationError`].

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use twilio_types::{AccountSid, AuthToken};

use crate::error::Error;
use twilio_store::TokenFingerprint;

/// One step of the rotation workflow, in the order they can run.
///
/// The happy path is [`CreateSecondary`](Self::CreateSecondary),
/// [`VerifySecondary`](Self::VerifySecondary), [`SwitchCredentials`](Self::SwitchCredentials),
/// [`Promote`](Self::Promote), [`VerifyPrimary`](Self::VerifyPrimary). The other steps appear only
/// when something went wrong.
///
/// ```
/// use twilio_accounts::rotation::RotationStep;
///
/// assert_eq!(RotationStep::Promote.to_string(), "promote the secondary token");
/// assert_eq!(RotationStep::Promote.name(), "promote");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RotationStep {
    /// `POST /v1/AuthTokens/Secondary`: Twilio creates the new token as the secondary token.
    CreateSecondary,
    /// A cheap authenticated read with the new token, retried within the propagation window.
    VerifySecondary,
    /// The client's shared credentials move to the new token (every clone of the client at once).
    SwitchCredentials,
    /// `POST /v1/AuthTokens/Promote`: the new token becomes the primary; the old one stops working.
    Promote,
    /// The promotion's outcome was unknown (no clear answer arrived): the old and the new token
    /// are tried to find out whether it happened.
    ResolvePromotion,
    /// A cheap authenticated read with the new primary token, through the client itself.
    VerifyPrimary,
    /// Clean-up: the client's shared credentials go back to the old token.
    RestoreCredentials,
    /// Clean-up: `DELETE /v1/AuthTokens/Secondary` with the old token.
    DeleteSecondary,
    /// Opening, locking or writing the [`TokenStore`](twilio_store::TokenStore) (listed
    /// only when it fails: every successful write is part of the step it makes durable).
    RecordInStore,
    /// The hand-off grace between staging and promotion, so that every process following the
    /// store moves to the new token before the old one dies.
    HandOffGrace,
    /// `resume`: each stored token is tried to find out where an interrupted rotation stopped.
    CheckStoredTokens,
    /// The fleet gate before the promotion: every live follower of the store (SDK clients and
    /// webhook validators) reports, by heartbeat, that it holds the new token.
    FleetAcknowledgement,
}

impl RotationStep {
    /// A short machine-friendly name (`"create_secondary"`, `"verify_secondary"`, …), also used
    /// as the `step` field of the tracing events.
    pub fn name(self) -> &'static str {
        match self {
            Self::CreateSecondary => "create_secondary",
            Self::VerifySecondary => "verify_secondary",
            Self::SwitchCredentials => "switch_credentials",
            Self::Promote => "promote",
            Self::ResolvePromotion => "resolve_promotion",
            Self::VerifyPrimary => "verify_primary",
            Self::RestoreCredentials => "restore_credentials",
            Self::DeleteSecondary => "delete_secondary",
            Self::RecordInStore => "record_in_store",
            Self::HandOffGrace => "hand_off_grace",
            Self::CheckStoredTokens => "check_stored_tokens",
            Self::FleetAcknowledgement => "fleet_acknowledgement",
        }
    }

    /// A short description, the `Display` form.
    pub fn description(self) -> &'static str {
        match self {
            Self::CreateSecondary => "create a secondary token",
            Self::VerifySecondary => "verify the secondary token",
            Self::SwitchCredentials => "switch the client to the new token",
            Self::Promote => "promote the secondary token",
            Self::ResolvePromotion => "find out whether the promotion happened",
            Self::VerifyPrimary => "verify the new primary token",
            Self::RestoreCredentials => "switch the client back to the old token",
            Self::DeleteSecondary => "delete the secondary token",
            Self::RecordInStore => "record the rotation in the token store",
            Self::HandOffGrace => "wait the hand-off grace",
            Self::CheckStoredTokens => "try the stored tokens",
            Self::FleetAcknowledgement => "wait for every follower to hold the new token",
        }
    }
}

impl fmt::Display for RotationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// How one step ended.
///
/// ```
/// use twilio_accounts::rotation::StepOutcome;
///
/// assert_eq!(StepOutcome::Succeeded.to_string(), "ok");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepOutcome {
    /// The step did what it should.
    Succeeded,
    /// The step failed; the report's [`AccountState`] says what that left behind.
    Failed,
    /// The step was not needed (for example, a client that authenticates with an API key
    /// keeps its key, so its credentials are not switched).
    Skipped,
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Succeeded => "ok",
            Self::Failed => "FAILED",
            Self::Skipped => "skipped",
        })
    }
}

/// One step as it ran: outcome, timing, attempts and a note (never a secret).
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::rotation::RotationError> {
/// let report = client.rotate_auth_token().send().await?;
/// for step in report.steps() {
///     println!(
///         "{:<40} {:>7} {:>8.3}s {} attempt(s) {}",
///         step.step().to_string(),
///         step.outcome().to_string(),
///         step.elapsed().as_secs_f64(),
///         step.attempts(),
///         step.note().unwrap_or(""),
///     );
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub(crate) step: RotationStep,
    pub(crate) outcome: StepOutcome,
    pub(crate) started: Duration,
    pub(crate) elapsed: Duration,
    pub(crate) attempts: u32,
    pub(crate) note: Option<Cow<'static, str>>,
}

impl StepReport {
    /// Which step this was.
    pub fn step(&self) -> RotationStep {
        self.step
    }

    /// How it ended.
    pub fn outcome(&self) -> StepOutcome {
        self.outcome
    }

    /// When it started, measured from the start of the rotation.
    pub fn started(&self) -> Duration {
        self.started
    }

    /// How long it took (including back-off waits).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many requests the step made at this level (0 for local steps; the transport's own
    /// retries of a single request are not counted separately).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// What happened, in a few words: token fingerprints, HTTP statuses, why it was skipped.
    /// Never contains a token.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// Where the rotation left the account and the client. Every report has one, success or not.
///
/// ```
/// use twilio_accounts::rotation::AccountState;
///
/// assert_eq!(AccountState::Rotated.primary_changed(), Some(true));
/// assert_eq!(AccountState::Unchanged.primary_changed(), Some(false));
/// assert_eq!(AccountState::Unknown.primary_changed(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountState {
    /// Done: the new token is the primary, it authenticated after the promotion, the old token
    /// no longer works, no secondary token is left, and the client uses the new token.
    Rotated,
    /// The promotion happened (the new token is the primary and the old one no longer works)
    /// and the client uses the new token, but the final check did not succeed within the
    /// propagation window. Usually a propagation delay: check again later; do not go back to the
    /// old token, it is gone.
    RotatedUnverified,
    /// Nothing changed: the old token is still the primary, this run left no secondary token
    /// behind (one staged earlier stays), and the client uses the old token.
    Unchanged,
    /// The old token is still the primary and the client uses it, but the secondary token this
    /// rotation created could not be deleted: it still authenticates. Delete it
    /// (`client.secondary_auth_token().delete()`) or run the rotation again (which replaces it).
    UnchangedSecondaryRemains,
    /// Whether the promotion happened could not be found out (no clear answer from Twilio).
    /// The client normally keeps the new token, which works either way: as the primary if the
    /// promotion happened, as the still-existing secondary if it did not
    /// ([`RotationReport::client_token`] says which token it holds, and
    /// [`RotationReport::new_auth_token`] hands the new one over). Store the new token, then
    /// check in the Twilio Console which token is the primary, or run the rotation again later.
    /// With a [`TokenStore`](twilio_store::TokenStore), both tokens stay stored and
    /// [`resume`](super::RotateAuthToken::resume) finds out.
    Unknown,
    /// Staged: the new token is the account's secondary token, durably stored as `pending`, and
    /// the client uses it; both tokens work. [`complete`](super::RotateAuthToken::complete)
    /// promotes it (or [`resume`](super::RotateAuthToken::resume) finishes it).
    Staged,
}

impl AccountState {
    /// Whether the primary token changed: `Some(true)` for the rotated states, `Some(false)`
    /// when the old token is still the primary, `None` when that is unknown.
    pub fn primary_changed(self) -> Option<bool> {
        match self {
            Self::Rotated | Self::RotatedUnverified => Some(true),
            Self::Unchanged | Self::UnchangedSecondaryRemains | Self::Staged => Some(false),
            Self::Unknown => None,
        }
    }

    /// A one-sentence description of the state, the `Display` form.
    pub fn description(self) -> &'static str {
        match self {
            Self::Rotated => {
                "rotated: the new token is the primary and works, the old token is revoked, and the client uses the new token"
            }
            Self::RotatedUnverified => {
                "rotated but not verified: the new token is the primary and the client uses it, but it did not authenticate within the propagation window"
            }
            Self::Unchanged => {
                "unchanged: the old token is still the primary, this run left no secondary token behind, and the client uses the old token"
            }
            Self::UnchangedSecondaryRemains => {
                "unchanged, but the secondary token created by this rotation could not be deleted and still works; the client uses the old token"
            }
            Self::Unknown => {
                "unknown: it could not be determined whether the promotion happened; keep the new token (see the report for which token the client holds)"
            }
            Self::Staged => {
                "staged: the new token is the secondary token, stored as pending, and the client uses it; both tokens work until it is promoted"
            }
        }
    }
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Which token the client's credentials hold once the rotation has returned.
///
/// ```
/// use twilio_accounts::rotation::ClientToken;
///
/// assert_ne!(ClientToken::New, ClientToken::Old);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientToken {
    /// The token the client had before the rotation.
    Old,
    /// The token created (and, if the rotation got that far, promoted) by the rotation.
    New,
    /// The client authenticates with an API key, which a rotation does not touch.
    ApiKey,
}

/// The record of one rotation: every step with its timing, where the account and the client
/// were left, and the new token's [`TokenFingerprint`]. Safe to print and log: its `Display`
/// (a readable multi-line summary) and `Debug` name tokens by fingerprint only.
///
/// When the new token is (or may be) the primary, the report also hands it over, as an
/// [`AuthToken`] (redacted `Debug`, no `Display`), through
/// [`new_auth_token`](Self::new_auth_token): store it where your configuration lives, or the
/// next process start will use the revoked one.
///
/// A failed rotation carries its report too ([`RotationError::report`]), so the account's
/// state is always known.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) {
/// use twilio_accounts::rotation::AccountState;
///
/// match client.rotate_auth_token().send().await {
///     Ok(report) => {
///         println!("{report}");
///         let fingerprint = report.new_token().expect("a rotated account has a new token");
///         println!("store the new token (fingerprint {fingerprint}) in your secret manager");
///     }
///     Err(err) => {
///         eprintln!("{err}");
///         eprintln!("{}", err.report());
///         if err.state() == AccountState::Unchanged {
///             eprintln!("nothing changed; it is safe to try again");
///         }
///     }
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct RotationReport {
    pub(crate) account_sid: AccountSid,
    pub(crate) state: AccountState,
    pub(crate) client_token: ClientToken,
    pub(crate) new_token: Option<TokenFingerprint>,
    pub(crate) new_auth_token: Option<AuthToken>,
    pub(crate) steps: Vec<StepReport>,
    pub(crate) elapsed: Duration,
    pub(crate) suppress_email_notification: Option<bool>,
}

impl RotationReport {
    /// The account whose token was rotated.
    pub fn account_sid(&self) -> AccountSid {
        self.account_sid
    }

    /// Where the account and the client were left.
    pub fn state(&self) -> AccountState {
        self.state
    }

    /// Which token the client's (shared) credentials now hold.
    pub fn client_token(&self) -> ClientToken {
        self.client_token
    }

    /// The fingerprint of the token this rotation created (the new primary once rotated);
    /// `None` if no token was obtained.
    pub fn new_token(&self) -> Option<TokenFingerprint> {
        self.new_token
    }

    /// The new token itself, when it is or may be the primary (states
    /// [`Rotated`](AccountState::Rotated), [`RotatedUnverified`](AccountState::RotatedUnverified)
    /// and [`Unknown`](AccountState::Unknown)); `None` when the old token stays the primary.
    ///
    /// Persist it (a secret manager, your deployment's configuration) before the process
    /// exits: the old token no longer works. [`AuthToken`] never prints its value; read it with
    /// [`AuthToken::expose_secret`] only to store it.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// # fn save_to_secret_manager(_: &str) {}
    /// // Without a store, the report (or the error's report) holds the only copy of the new
    /// // token: save it on both paths before returning.
    /// let result = client.rotate_auth_token().send().await;
    /// let report = match &result {
    ///     Ok(report) => report,
    ///     Err(err) => err.report(),
    /// };
    /// if let Some(token) = report.new_auth_token() {
    ///     save_to_secret_manager(token.expose_secret());
    /// }
    /// result?;
    /// # Ok(()) }
    /// ```
    pub fn new_auth_token(&self) -> Option<&AuthToken> {
        self.new_auth_token.as_ref()
    }

    /// The steps that ran, in order.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    /// The last run of `step`, if it ran.
    pub fn step(&self, step: RotationStep) -> Option<&StepReport> {
        self.steps.iter().rev().find(|s| s.step == step)
    }

    /// The wall-clock time of the whole rotation.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The `SuppressEmailNotification` value sent with each token request (`None`: not sent,
    /// so Twilio's default applies and the account's owners are e-mailed).
    pub fn suppress_email_notification(&self) -> Option<bool> {
        self.suppress_email_notification
    }
}

impl fmt::Debug for RotationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationReport")
            .field("account_sid", &self.account_sid)
            .field("state", &self.state)
            .field("client_token", &self.client_token)
            .field("new_token", &self.new_token)
            .field("steps", &self.steps)
            .field("elapsed", &self.elapsed)
            .field(
                "suppress_email_notification",
                &self.suppress_email_notification,
            )
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RotationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "auth-token rotation of {}", self.account_sid)?;
        for (i, step) in self.steps.iter().enumerate() {
            write!(
                f,
                "  {:>2}. {:<42} {:<7} at {:>8.3}s took {:>7.3}s",
                i + 1,
                step.step.description(),
                step.outcome.to_string(),
                step.started.as_secs_f64(),
                step.elapsed.as_secs_f64(),
            )?;
            if step.attempts > 1 {
                write!(f, " ({} attempts)", step.attempts)?;
            }
            if let Some(note) = &step.note {
                write!(f, " - {note}")?;
            }
            writeln!(f)?;
        }
        if let Some(fp) = self.new_token {
            writeln!(f, "  new token fingerprint: {fp}")?;
        }
        write!(
            f,
            "  result after {:.3}s: {}",
            self.elapsed.as_secs_f64(),
            self.state
        )
    }
}

/// A rotation that did not end in [`AccountState::Rotated`]: the step that failed, the
/// failure (the [`source`](StdError::source), an [`Error::Workflow`] whose own source is the
/// failed call), and the full [`RotationReport`] saying where the account and the client were
/// left.
///
/// There is deliberately no conversion into the crate's [`Error`]: in the
/// [`RotatedUnverified`](AccountState::RotatedUnverified) and [`Unknown`](AccountState::Unknown)
/// states the report may hold the only copy of the new primary token, and `?` must not drop
/// it. Return it as is, box it (`Box<dyn Error>` keeps it, downcastable), or store the token
/// first (with a [`TokenStore`](twilio_store::TokenStore) it is stored before the
/// promotion is even sent).
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) {
/// use twilio_accounts::rotation::AccountState;
///
/// if let Err(err) = client.rotate_auth_token().send().await {
///     eprintln!("{err}"); // the failed step and the account's state, no cause text
///     let mut cause = std::error::Error::source(&err);
///     while let Some(c) = cause {
///         eprintln!("  caused by: {c}");
///         cause = c.source();
///     }
///     match err.state() {
///         AccountState::Unchanged => eprintln!("safe to retry"),
///         AccountState::RotatedUnverified => eprintln!("rotated; store the new token"),
///         other => eprintln!("needs attention: {other}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct RotationError {
    pub(crate) failed_step: RotationStep,
    pub(crate) report: Box<RotationReport>,
    pub(crate) error: Error,
}

impl RotationError {
    /// The step that failed first (clean-up failures are in the report's steps).
    pub fn failed_step(&self) -> RotationStep {
        self.failed_step
    }

    /// Where the account and the client were left (the same as `report().state()`).
    pub fn state(&self) -> AccountState {
        self.report.state
    }

    /// The full report of the steps that ran.
    pub fn report(&self) -> &RotationReport {
        &self.report
    }

    /// The report, by value.
    pub fn into_report(self) -> RotationReport {
        *self.report
    }

    /// The failure, as the crate's [`Error`] (an [`Error::Workflow`]; also the `source()`).
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The failure and the report.
    pub fn into_parts(self) -> (Error, RotationReport) {
        (self.error, *self.report)
    }
}

impl fmt::Display for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "auth-token rotation stopped at \"{}\"; account state: {}",
            self.failed_step.description(),
            self.report.state
        )
    }
}

impl StdError for RotationError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: AccountState) -> RotationReport {
        RotationReport {
            account_sid: AccountSid::from_static("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            state,
            client_token: ClientToken::New,
            new_token: Some(TokenFingerprint::of(&AuthToken::new("abc").unwrap())),
            new_auth_token: Some(AuthToken::new("s3cr3t-token-value").unwrap()),
            steps: vec![
                StepReport {
                    step: RotationStep::CreateSecondary,
                    outcome: StepOutcome::Succeeded,
                    started: Duration::ZERO,
                    elapsed: Duration::from_millis(12),
                    attempts: 1,
                    note: Some("new token ba7816bf".into()),
                },
                StepReport {
                    step: RotationStep::VerifySecondary,
                    outcome: StepOutcome::Failed,
                    started: Duration::from_millis(12),
                    elapsed: Duration::from_secs(60),
                    attempts: 9,
                    note: None,
                },
            ],
            elapsed: Duration::from_millis(60_100),
            suppress_email_notification: Some(true),
        }
    }

    #[test]
    fn display_lists_steps_fingerprint_and_state() {
        let text = report(AccountState::Unchanged).to_string();
        let expected = "auth-token rotation of ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n   \
            1. create a secondary token                   ok      at    0.000s took   0.012s - new token ba7816bf\n   \
            2. verify the secondary token                 FAILED  at    0.012s took  60.000s (9 attempts)\n  \
            new token fingerprint: ba7816bf\n  \
            result after 60.100s: unchanged: the old token is still the primary, this run left no secondary token behind, and the client uses the old token";
        assert_eq!(text, expected);
    }

    #[test]
    fn debug_and_error_hide_the_token_and_keep_the_cause_in_source() {
        let r = report(AccountState::RotatedUnverified);
        assert_eq!(
            r.new_auth_token().map(AuthToken::expose_secret),
            Some("s3cr3t-token-value")
        );
        let err = RotationError {
            failed_step: RotationStep::VerifyPrimary,
            report: Box::new(r),
            error: Error::workflow("verify the new primary token", "not yet", None),
        };
        let text = format!("{err} {err:?} {:?} {}", err.report(), err.report());
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(
            err.to_string(),
            "auth-token rotation stopped at \"verify the new primary token\"; account state: \
             rotated but not verified: the new token is the primary and the client uses it, \
             but it did not authenticate within the propagation window"
        );
        let source = StdError::source(&err).unwrap().to_string();
        assert_eq!(source, "verify the new primary token failed: not yet");
        assert!(!err.to_string().contains("not yet"));
        assert_eq!(err.failed_step(), RotationStep::VerifyPrimary);
        let (error, report) = err.into_parts();
        assert!(matches!(error, Error::Workflow(_)));
        assert_eq!(
            report
                .step(RotationStep::CreateSecondary)
                .unwrap()
                .attempts(),
            1
        );
        assert!(report.step(RotationStep::Promote).is_none());
    }

    #[test]
    fn names_are_unique() {
        let all = [
            RotationStep::CreateSecondary,
            RotationStep::VerifySecondary,
            RotationStep::SwitchCredentials,
            RotationStep::Promote,
            RotationStep::ResolvePromotion,
            RotationStep::VerifyPrimary,
            RotationStep::RestoreCredentials,
            RotationStep::DeleteSecondary,
            RotationStep::RecordInStore,
            RotationStep::HandOffGrace,
            RotationStep::CheckStoredTokens,
        ];
        let names: std::collections::BTreeSet<_> = all.iter().map(|s| s.name()).collect();
        let descriptions: std::collections::BTreeSet<_> =
            all.iter().map(|s| s.description()).collect();
        assert_eq!((names.len(), descriptions.len()), (all.len(), all.len()));
    }
}
