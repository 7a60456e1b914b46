//! Safe Auth Token rotation: create a secondary token, verify it, switch the client to it,
//! promote it, verify again — and clean up, or say exactly where things stand, when a step
//! fails.
//!
//! Start with [`Client::rotate_auth_token`]:
//!
//! ```no_run
//! # async fn run(store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! let client = twilio_accounts::Client::from_env()?;
//! // `store` (a file, a secrets manager) holds the account's tokens; every step is recorded
//! // there before anything depends on it, so the new token is stored before the old one dies.
//! let report = client
//!     .rotate_auth_token()
//!     .store(store)
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
//! | the promotion answered with anything but a clear success (4xx included: a proxy or a rate limiter can answer 404 or 429 for a promotion that happened) | tries the old and the new token to find out **before** reporting or switching back, then completes or rolls back | [`Rotated`](AccountState::Rotated), `Unchanged`, or [`Unknown`](AccountState::Unknown) (the client keeps the new token) |
//! | the final check | nothing to undo: the old token is gone | [`RotatedUnverified`](AccountState::RotatedUnverified) |
//!
//! The guide `docs/guide/rotation.md` in the repository explains each row.
//!
//! # Durable, in two phases, resumable
//!
//! With a [`TokenStore`] ([`store`](RotateAuthToken::store)), every step is recorded **before**
//! anything depends on it: the phase `Creating` before the create is sent, the new token as
//! `pending` as soon as Twilio answers, `Staged` before the client switches, `Promoting` before
//! the promotion, and `current`/`previous` after it. [`stage`](RotateAuthToken::stage) and
//! [`complete`](RotateAuthToken::complete) run the two halves apart, with a
//! [hand-off grace](RotateAuthToken::hand_off_grace) between them for the processes that
//! [follow](crate::follow) the store; [`resume`](RotateAuthToken::resume) finishes or rolls
//! back a rotation interrupted at any point. The guide `docs/guide/rotation.md` starts from the
//! invariant this keeps.
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
//! Dropping the future of `send` stops the workflow where it is, exactly like a crash: with a
//! store, [`resume`](RotateAuthToken::resume) finishes or rolls back. The client holds a token
//! that works: the old one before the switch, the new one (secondary or primary) after it.

// The modules, from the leaves up (none imports a module above it in this list): `report`
// and `settings` are plain data; `progress` builds the report as the run goes; `checks` asks
// Twilio which token works; `durable` keeps the record in the store; `gate` waits for the
// fleet; `resume` decides where an interrupted rotation re-enters; `workflow` is the sequence
// of steps, and this file the public builder that starts it.
mod checks;
mod durable;
mod gate;
mod progress;
mod report;
mod resume;
mod settings;
mod workflow;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use twilio_store::TokenStore;

use crate::client::Client;

pub use report::{
    AccountState, ClientToken, RotationError, RotationReport, RotationStep, StepOutcome, StepReport,
};
pub use settings::{Checkpoint, CheckpointHook, VerifyBackoff};
pub use twilio_store::TokenFingerprint;

/// The default [propagation window](RotateAuthToken::propagation_window): 60 seconds, the
/// time Twilio says a new token can take to reach every service.
///
/// ```
/// assert_eq!(twilio_accounts::rotation::DEFAULT_PROPAGATION_WINDOW.as_secs(), 60);
/// ```
pub const DEFAULT_PROPAGATION_WINDOW: Duration = Duration::from_secs(60);

/// The default [hand-off grace](RotateAuthToken::hand_off_grace) of a rotation with a
/// [store](RotateAuthToken::store): twice
/// [`follow::DEFAULT_RELOAD_INTERVAL`](crate::follow::DEFAULT_RELOAD_INTERVAL), so that every
/// follower has moved to the staged token before the promotion revokes the old one. Without a
/// store nobody follows, and the default grace is zero.
///
/// ```
/// use twilio_accounts::{follow::DEFAULT_RELOAD_INTERVAL, rotation::DEFAULT_HAND_OFF_GRACE};
///
/// assert_eq!(DEFAULT_HAND_OFF_GRACE, DEFAULT_RELOAD_INTERVAL * 2);
/// ```
pub const DEFAULT_HAND_OFF_GRACE: Duration =
    crate::follow::DEFAULT_RELOAD_INTERVAL.saturating_mul(2);

/// The shortest lease a rotation takes on its store: 2 minutes, plus twice the propagation
/// window (the two verifications, which write nothing while they retry). The rotation renews
/// it with every write and during the hand-off grace; a rotator that dies blocks others until
/// it expires (a `resume` on the same host does not wait for a dead process's lease).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(120);

/// The default [max-wait](RotateAuthToken::max_wait) of the fleet gate: 60 seconds.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

pub use twilio_store::GatePolicy;

impl Client {
    /// Rotates the account's Auth Token safely: see the [`rotation`](crate::rotation) module
    /// for the steps and what each failure leaves behind.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), twilio_accounts::rotation::RotationError> {
    /// // The store holds the new token before the old one is revoked.
    /// let report = client.rotate_auth_token().store(store).send().await?;
    /// println!("new token {:?} after {:?}", report.new_token(), report.elapsed());
    /// # Ok(()) }
    /// ```
    pub fn rotate_auth_token(&self) -> RotateAuthToken {
        RotateAuthToken {
            client: self.clone(),
            suppress_email_notification: None,
            propagation_window: DEFAULT_PROPAGATION_WINDOW,
            backoff: VerifyBackoff::default(),
            store: None,
            hand_off_grace: None,
            force: false,
            checkpoint: None,
            lease_duration: None,
            max_wait: DEFAULT_MAX_WAIT,
            gate_policy: GatePolicy::DoNotPromote,
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
    store: Option<Arc<dyn TokenStore>>,
    hand_off_grace: Option<Duration>,
    force: bool,
    checkpoint: Option<CheckpointHook>,
    lease_duration: Option<Duration>,
    max_wait: Duration,
    gate_policy: GatePolicy,
}

impl RotateAuthToken {
    /// Records the rotation in `store`, step by step, **before** anything depends on the step:
    /// the new token is stored as `pending` before the client (or any follower) uses it, and
    /// the promotion is marked before it is sent. A crash at any point then leaves a record
    /// that [`resume`](Self::resume) finishes or rolls back. The store must already hold the
    /// account's current token ([`TokenRecord::new`](twilio_store::TokenRecord::new)).
    /// The rotation takes the record's [lease](Self::lease_duration), which keeps a second
    /// rotation of the account out, on any host, and writes every step by compare-and-swap.
    ///
    /// Without a store, the rotation keeps its state in this process's memory; the report (or
    /// the error) then hands over the new token.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, token: twilio_types::AuthToken) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use twilio_store::{MemoryTokenStore, TokenRecord, TokenStore};
    ///
    /// let store = Arc::new(MemoryTokenStore::new());
    /// store.save(&TokenRecord::new(client.account_sid(), token)).await?;
    /// let report = client.rotate_auth_token().store(store.clone()).send().await?;
    /// // The new token was stored before the old one was revoked.
    /// assert_eq!(store.load().await?.unwrap().current.fingerprint(), report.new_token().unwrap());
    /// # Ok(()) }
    /// ```
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// How long after staging the promotion may be sent, so that every process following the
    /// store has moved to the new token (default [`DEFAULT_HAND_OFF_GRACE`] with a store, zero
    /// without). [`send`](Self::send) waits it out; [`complete`](Self::complete) refuses to
    /// promote earlier unless [forced](Self::force).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// // This process is the account's only user: no one to hand off to.
    /// client.rotate_auth_token().store(store).hand_off_grace(Duration::ZERO).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn hand_off_grace(mut self, grace: Duration) -> Self {
        self.hand_off_grace = Some(grace);
        self
    }

    /// [`complete`](Self::complete) promotes even before the hand-off grace has passed
    /// (followers that have not reloaded the store yet then fail until they do).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Calls `hook` with each durable [`Checkpoint`] as the rotation passes it. For progress
    /// output and crash tests; the hook runs inline, so keep it short.
    pub fn on_checkpoint(mut self, hook: impl Fn(Checkpoint) + Send + Sync + 'static) -> Self {
        self.checkpoint = Some(Arc::new(hook));
        self
    }

    /// How long the rotation's lease on the [store](Self::store) holds between two of its
    /// writes (default [`DEFAULT_LEASE_DURATION`] plus twice the
    /// [propagation window](Self::propagation_window)). Another rotator, on any host, is
    /// refused while it holds; if this one dies, others wait at most this long. A rotation
    /// whose lease lapsed (a verification outlasted it) stops at its next write with a
    /// [`StoreErrorKind::Conflict`](twilio_store::StoreErrorKind::Conflict) and changes
    /// nothing more.
    pub fn lease_duration(mut self, duration: Duration) -> Self {
        self.lease_duration = Some(duration);
        self
    }

    /// The fleet gate's patience (default [`DEFAULT_MAX_WAIT`]). Before the promotion, the
    /// rotation waits until every **live** follower of the store (an SDK client or a webhook
    /// validator whose heartbeat has not expired) reports that it holds the new token; followers
    /// that stopped drop out when their heartbeat expires. After `max_wait`, the
    /// [policy](Self::gate_policy) decides. A store that keeps no heartbeats has no gate.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// What the fleet gate does when [`max_wait`](Self::max_wait) ends before every live
    /// follower holds the new token: [`GatePolicy::DoNotPromote`] (the default: the rotation
    /// stops [`Staged`](AccountState::Staged), both tokens keep working) or
    /// [`GatePolicy::PromoteAnyway`] (the lagging followers fail until they reload).
    pub fn gate_policy(mut self, policy: GatePolicy) -> Self {
        self.gate_policy = policy;
        self
    }
    /// Sends `SuppressEmailNotification` with the create, promote and (clean-up) delete
    /// requests: `true` asks Twilio not to e-mail the account's owners and administrators
    /// about the token change. Unset, nothing is sent and Twilio's default (e-mail) applies.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), twilio_accounts::rotation::RotationError> {
    /// let report = client
    ///     .rotate_auth_token()
    ///     .store(store)
    ///     .suppress_email_notification(true)
    ///     .send()
    ///     .await?;
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
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), twilio_accounts::rotation::RotationError> {
    /// use std::time::Duration;
    ///
    /// // Services that are slow to see new tokens: wait up to two minutes.
    /// let rotation = client.rotate_auth_token().store(store);
    /// rotation.propagation_window(Duration::from_secs(120)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn propagation_window(mut self, window: Duration) -> Self {
        self.propagation_window = window;
        self
    }

    /// The waits between verification attempts (default: 500 ms doubling up to 8 s).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), twilio_accounts::rotation::RotationError> {
    /// use std::time::Duration;
    /// use twilio_accounts::rotation::VerifyBackoff;
    ///
    /// let backoff = VerifyBackoff::new(Duration::from_secs(2), Duration::from_secs(10));
    /// client.rotate_auth_token().store(store).verify_backoff(backoff).send().await?;
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
        self.run(workflow::Mode::Rotate).await
    }

    /// The first phase alone: creates the secondary token, verifies it, stores it as
    /// `pending` in the [store](Self::store) (phase `Staged`), and only then switches the
    /// client to it. Both tokens work afterwards; followers of the store move to the new one.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), Box<dyn std::error::Error>> {
    /// use twilio_accounts::rotation::AccountState;
    ///
    /// let report = client.rotate_auth_token().store(store.clone()).stage().await?;
    /// assert_eq!(report.state(), AccountState::Staged);
    /// // …later, once every follower had time to reload the store:
    /// client.rotate_auth_token().store(store).complete().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A [`RotationError`] when the token could not be staged (nothing changed, or a secondary
    /// token remains: see its state).
    pub async fn stage(self) -> Result<RotationReport, RotationError> {
        self.run(workflow::Mode::Stage).await
    }

    /// The second phase: promotes the token the store holds as `pending`, verifies it, and
    /// records it as `current` (the old one as `previous`). Refuses before the
    /// [hand-off grace](Self::hand_off_grace) has passed since staging, unless
    /// [forced](Self::force).
    ///
    /// # Errors
    /// A [`RotationError`] whenever the result is not [`AccountState::Rotated`]; state
    /// [`Staged`](AccountState::Staged) when nothing was sent (too early, nothing staged).
    pub async fn complete(self) -> Result<RotationReport, RotationError> {
        self.run(workflow::Mode::Complete).await
    }

    /// After a crash at any point: reads the store, tries each stored token against Twilio,
    /// and finishes the rotation or rolls it back. Idempotent: with nothing to do it checks
    /// that the stored current token works and reports [`AccountState::Unchanged`].
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, store: std::sync::Arc<dyn twilio_store::TokenStore>) -> Result<(), Box<dyn std::error::Error>> {
    /// let report = client.rotate_auth_token().store(store).resume().await?;
    /// println!("{}", report.state());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A [`RotationError`] in state [`Unknown`](AccountState::Unknown) when Twilio's answers
    /// did not tell which token is the primary (both stay stored; run it again later).
    pub async fn resume(self) -> Result<RotationReport, RotationError> {
        self.run(workflow::Mode::Resume).await
    }

    async fn run(self, mode: workflow::Mode) -> Result<RotationReport, RotationError> {
        let default_grace = if self.store.is_some() {
            DEFAULT_HAND_OFF_GRACE
        } else {
            Duration::ZERO
        };
        workflow::run(
            &self.client,
            settings::Settings {
                suppress_email_notification: self.suppress_email_notification,
                propagation_window: self.propagation_window,
                backoff: self.backoff,
                hand_off_grace: self.hand_off_grace.unwrap_or(default_grace),
                force: self.force,
                checkpoint: self.checkpoint,
                max_wait: self.max_wait,
                gate_policy: self.gate_policy,
                lease_duration: self.lease_duration.unwrap_or_else(|| {
                    DEFAULT_LEASE_DURATION.saturating_add(self.propagation_window.saturating_mul(2))
                }),
            },
            self.store,
            mode,
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
            .field("store", &self.store)
            .field("hand_off_grace", &self.hand_off_grace)
            .field("force", &self.force)
            .field("lease_duration", &self.lease_duration)
            .field("max_wait", &self.max_wait)
            .field("gate_policy", &self.gate_policy)
            .finish_non_exhaustive()
    }
}
