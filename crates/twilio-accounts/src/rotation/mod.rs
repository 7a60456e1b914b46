//! Safe Auth Token rotation: create a secondary token, verify it, switch the client to it,
//! promote it, verify again — and clean up, or say exactly where things stand, when a step
//! fails.
//!
//! Start with [`Client::rotate_auth_token`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! let client = twilio_accounts::Client::from_env()?;
//! let report = client
//!     .rotate_auth_token()
//!     .suppress_email_notification(true)
//!     .propagation_window(Duration::from_secs(90))
//!     .send()
//!     .await?;
//! println!("{report}");
//! // Every clone of `client` now authenticates with the new primary token.
//! # Ok(()) }
//! ```
//!
//! # The steps, and why in this order
//!
//! 1. [`CreateSecondary`](RotationStep::CreateSecondary) — Twilio creates the new token as the
//!    account's *secondary* token. Both tokens work; nothing has been taken away yet.
//! 2. [`VerifySecondary`](RotationStep::VerifySecondary) — a cheap authenticated read
//!    (`GET /v1/Credentials/AWS?PageSize=1`) with the new token, through a separate
//!    credentials handle. `401`/`403` mean "not propagated yet" and are retried with back-off
//!    for up to the [propagation window](RotateAuthToken::propagation_window) (Twilio warns
//!    that a new token can take about a minute to reach every service).
//! 3. [`SwitchCredentials`](RotationStep::SwitchCredentials) — the client's
//!    [`SharedCredentials`](twilio_transport::SharedCredentials) move to the new token, so every
//!    clone of the client, in every task, uses it from its next request on. This happens
//!    *before* the promotion: when the old token dies, nobody is using it any more.
//! 4. [`Promote`](RotationStep::Promote) — the new token becomes the primary; Twilio revokes the
//!    old one at once.
//! 5. [`VerifyPrimary`](RotationStep::VerifyPrimary) — the same read, through the client
//!    itself, now with the primary token.
//!
//! # When a step fails
//!
//! [`send`](RotateAuthToken::send) returns a [`RotationError`] carrying the full
//! [`RotationReport`]; its [`AccountState`] says where the account and the client are:
//!
//! | failure | what the rotation does | state |
//! |---|---|---|
//! | creating the secondary (a definite refusal) | nothing to undo | [`Unchanged`](AccountState::Unchanged) |
//! | creating the secondary (no clear answer) | deletes the secondary slot with the old token | `Unchanged` (or [`UnchangedSecondaryRemains`](AccountState::UnchangedSecondaryRemains)) |
//! | the new token never verifies | deletes the secondary with the old token | `Unchanged` (or `UnchangedSecondaryRemains`) |
//! | promotion refused (a 4xx answer) | switches the client back, deletes the secondary (unless the new token is no longer in the slot) | `Unchanged` (or `UnchangedSecondaryRemains`) |
//! | promotion without a clear answer (5xx, dropped connection) | tries the old and the new token to find out, then completes or rolls back | [`Rotated`](AccountState::Rotated), `Unchanged`, or [`Unknown`](AccountState::Unknown) (the client keeps the new token) |
//! | the final check | nothing to undo: the old token is gone | [`RotatedUnverified`](AccountState::RotatedUnverified) |
//!
//! The guide `docs/guide/rotation.md` in the repository explains each row.
//!
//! # Secrets
//!
//! Tokens appear in reports, errors and tracing events only as a [`TokenFingerprint`] (the
//! first 8 hex digits of their SHA-256). The new token itself is handed over once, as an
//! [`AuthToken`](twilio_types::AuthToken) (redacted `Debug`, no `Display`), by
//! [`RotationReport::new_auth_token`] whenever it is or may be the primary: store it before the
//! process exits, since the old token no longer works.
//!
//! # Cancellation
//!
//! Dropping the future of `send` stops the workflow where it is. The client then holds a
//! token that works: the old one before the switch, the new one (secondary or primary) after
//! it. A secondary token may be left behind; the next rotation replaces it.

mod fingerprint;
mod report;
mod sha256;
mod workflow;

use std::fmt;
use std::time::Duration;

use crate::client::Client;

pub use fingerprint::TokenFingerprint;
pub use report::{
    AccountState, ClientToken, RotationError, RotationReport, RotationStep, StepOutcome, StepReport,
};

/// The default [propagation window](RotateAuthToken::propagation_window): 60 seconds, the
/// time Twilio says a new token can take to reach every service.
///
/// ```
/// assert_eq!(twilio_accounts::rotation::DEFAULT_PROPAGATION_WINDOW.as_secs(), 60);
/// ```
pub const DEFAULT_PROPAGATION_WINDOW: Duration = Duration::from_secs(60);

impl Client {
    /// Rotates the account's Auth Token safely: see the [`rotation`](crate::rotation) module
    /// for the steps and what each failure leaves behind.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let report = client.rotate_auth_token().send().await?;
    /// println!("new token {:?} after {:?}", report.new_token(), report.elapsed());
    /// # Ok(()) }
    /// ```
    pub fn rotate_auth_token(&self) -> RotateAuthToken {
        RotateAuthToken {
            client: self.clone(),
            suppress_email_notification: None,
            propagation_window: DEFAULT_PROPAGATION_WINDOW,
            backoff: VerifyBackoff::default(),
        }
    }
}

/// The builder of one rotation, from [`Client::rotate_auth_token`]; run it with
/// [`send`](Self::send).
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::rotation::RotationError> {
/// use std::time::Duration;
/// use twilio_accounts::rotation::VerifyBackoff;
///
/// let report = client
///     .rotate_auth_token()
///     .suppress_email_notification(true)
///     .propagation_window(Duration::from_secs(120))
///     .verify_backoff(VerifyBackoff::new(Duration::from_secs(1), Duration::from_secs(15)))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a rotation does nothing until `send().await`"]
pub struct RotateAuthToken {
    client: Client,
    suppress_email_notification: Option<bool>,
    propagation_window: Duration,
    backoff: VerifyBackoff,
}

impl RotateAuthToken {
    /// Sends `SuppressEmailNotification` with the create, promote and (clean-up) delete
    /// requests: `true` asks Twilio not to e-mail the account's owners and administrators
    /// about the token change. Unset, nothing is sent and Twilio's default (e-mail) applies.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let report = client.rotate_auth_token().suppress_email_notification(true).send().await?;
    /// assert_eq!(report.suppress_email_notification(), Some(true));
    /// # Ok(()) }
    /// ```
    pub fn suppress_email_notification(mut self, suppress: bool) -> Self {
        self.suppress_email_notification = Some(suppress);
        self
    }

    /// How long to keep retrying a verification that Twilio answers with `401`/`403` (the new
    /// token has not reached every service yet). Applies to each of the two verifications and
    /// to finding out an unclear promotion. Default [`DEFAULT_PROPAGATION_WINDOW`] (60 s);
    /// zero means a single attempt.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// use std::time::Duration;
    ///
    /// // Services that are slow to see new tokens: wait up to two minutes.
    /// client.rotate_auth_token().propagation_window(Duration::from_secs(120)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn propagation_window(mut self, window: Duration) -> Self {
        self.propagation_window = window;
        self
    }

    /// The waits between verification attempts (default: 500 ms doubling up to 8 s).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// use std::time::Duration;
    /// use twilio_accounts::rotation::VerifyBackoff;
    ///
    /// let backoff = VerifyBackoff::new(Duration::from_secs(2), Duration::from_secs(10));
    /// client.rotate_auth_token().verify_backoff(backoff).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn verify_backoff(mut self, backoff: VerifyBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Runs the rotation.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) {
    /// match client.rotate_auth_token().send().await {
    ///     Ok(report) => println!("{report}"),
    ///     Err(err) => eprintln!("{err}\n{}", err.report()),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// A [`RotationError`] whenever the result is not [`AccountState::Rotated`]: the failed
    /// step, the failure as its `source()`, and the report with the account's state.
    pub async fn send(self) -> Result<RotationReport, RotationError> {
        workflow::run(
            &self.client,
            workflow::Plan {
                suppress_email_notification: self.suppress_email_notification,
                propagation_window: self.propagation_window,
                backoff: self.backoff,
            },
        )
        .await
    }
}

impl fmt::Debug for RotateAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotateAuthToken")
            .field("account_sid", &self.client.account_sid())
            .field(
                "suppress_email_notification",
                &self.suppress_email_notification,
            )
            .field("propagation_window", &self.propagation_window)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// The waits between verification attempts: `initial`, doubling after each attempt, capped at
/// `max`; the last wait is cut short so that a final attempt happens at the end of the
/// propagation window. No jitter: a rotation is one sequence of requests per account.
///
/// ```
/// use std::time::Duration;
/// use twilio_accounts::rotation::VerifyBackoff;
///
/// let backoff = VerifyBackoff::new(Duration::from_secs(1), Duration::from_secs(5));
/// assert_eq!(backoff.delay(1), Duration::from_secs(1));
/// assert_eq!(backoff.delay(2), Duration::from_secs(2));
/// assert_eq!(backoff.delay(3), Duration::from_secs(4));
/// assert_eq!(backoff.delay(4), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyBackoff {
    initial: Duration,
    max: Duration,
}

impl VerifyBackoff {
    /// The smallest accepted wait (shorter values are raised to it): 10 ms.
    pub const MIN_DELAY: Duration = Duration::from_millis(10);

    /// Waits of `initial`, doubling, capped at `max` (`initial` is raised to at least
    /// [`MIN_DELAY`](Self::MIN_DELAY), and `max` to at least `initial`).
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Self::MIN_DELAY);
        Self {
            initial,
            max: max.max(initial),
        }
    }

    /// The first wait.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait after attempt number `attempt` (1 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

impl Default for VerifyBackoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_never_overflows() {
        let b = VerifyBackoff::new(Duration::from_millis(300), Duration::from_secs(2));
        let delays: Vec<_> = (1..=6).map(|n| b.delay(n)).collect();
        assert_eq!(
            delays,
            [300, 600, 1200, 2000, 2000, 2000].map(Duration::from_millis)
        );
        assert_eq!(b.delay(0), Duration::from_millis(300));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(2));
        let huge = VerifyBackoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.delay(40), Duration::MAX);
    }

    #[test]
    fn backoff_bounds_are_sanitised() {
        let b = VerifyBackoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.initial(), VerifyBackoff::MIN_DELAY);
        assert_eq!(b.max(), VerifyBackoff::MIN_DELAY);
        let d = VerifyBackoff::default();
        assert_eq!(
            (d.initial(), d.max()),
            (Duration::from_millis(500), Duration::from_secs(8))
        );
    }
}
