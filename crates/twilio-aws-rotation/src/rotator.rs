//! The four steps of a Secrets Manager rotation for a Twilio Auth Token.
//!
//! The strategy (see the crate docs for why): the token of `AWSCURRENT` is always Twilio's
//! *secondary* token once a first rotation has run, and `AWSPREVIOUS` its *primary*. A rotation
//! first promotes the secondary (the token consumers have used for a whole rotation interval),
//! which revokes the `AWSPREVIOUS` token, then creates a new secondary and stores it as
//! `AWSPENDING`; `testSecret` waits until Twilio accepts it and `finishSecret` makes it
//! `AWSCURRENT`.

use std::fmt;
use std::time::Duration;

use twilio_accounts::rotation::{DEFAULT_PROPAGATION_WINDOW, TokenFingerprint, VerifyBackoff};

use crate::error::{Error, ErrorKind};
use crate::event::{RotationEvent, Step};
use crate::secrets::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Description, Secrets};
use crate::twilio::{Probe, Twilio};
use crate::value::TwilioSecret;

/// Runs the steps of a rotation. Cheap to clone; build it once per Lambda instance.
///
/// ```no_run
/// use twilio_aws_rotation::{RotationEvent, Rotator};
///
/// # async fn run(event: RotationEvent) -> Result<(), twilio_aws_rotation::Error> {
/// let rotator = Rotator::from_env().await;  // the AWS default credential chain and region
/// let report = rotator.handle(&event).await?;
/// println!("{report}");                     // names tokens by fingerprint only
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Rotator {
    secrets: Secrets,
    twilio: Twilio,
}

/// What a step did, for the log. Its `Display` names tokens by fingerprint only.
///
/// ```
/// # fn show(report: twilio_aws_rotation::StepReport) {
/// println!("{report}"); // "createSecret of version …: promoted 3f2a1b0c, stored secondary 9c41…"
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// The version (`ClientRequestToken`).
    pub version: String,
    /// What it did.
    pub outcome: Outcome,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The version is already `AWSCURRENT`: the rotation was finished before; nothing done.
    AlreadyCurrent,
    /// `createSecret` found the pending token already stored (a retry): nothing done.
    AlreadyCreated {
        /// The stored pending token.
        pending: TokenFingerprint,
    },
    /// `createSecret` created a secondary token and stored it as `AWSPENDING`.
    Created {
        /// The token promoted to primary first (the previous `AWSCURRENT`), if a promotion was
        /// due: none at the first rotation, or when a retry finds it done.
        promoted: Option<TokenFingerprint>,
        /// The new, pending token.
        pending: TokenFingerprint,
    },
    /// `setSecret`: the pending token exists at Twilio already; the version was checked.
    Confirmed {
        /// The pending token.
        pending: TokenFingerprint,
    },
    /// `testSecret`: Twilio accepts the pending token.
    Accepted {
        /// The pending token.
        pending: TokenFingerprint,
        /// Requests it took (more than one while the token propagates).
        attempts: u32,
    },
    /// `finishSecret` moved `AWSCURRENT` to the version.
    Finished {
        /// The token that is now `AWSCURRENT`.
        current: TokenFingerprint,
    },
}

impl fmt::Display for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of version {}: ", self.step, self.version)?;
        match &self.outcome {
            Outcome::AlreadyCurrent => f.write_str("already AWSCURRENT, nothing to do"),
            Outcome::AlreadyCreated { pending } => {
                write!(
                    f,
                    "token {pending} already stored as AWSPENDING, nothing to do"
                )
            }
            Outcome::Created {
                promoted: Some(promoted),
                pending,
            } => write!(
                f,
                "promoted {promoted} to primary, stored the new secondary {pending} as AWSPENDING"
            ),
            Outcome::Created {
                promoted: None,
                pending,
            } => write!(f, "stored the new secondary {pending} as AWSPENDING"),
            Outcome::Confirmed { pending } => {
                write!(f, "token {pending} exists at Twilio, nothing to set")
            }
            Outcome::Accepted { pending, attempts } => {
                write!(f, "Twilio accepts token {pending} ({attempts} attempt(s))")
            }
            Outcome::Finished { current } => write!(f, "token {current} is AWSCURRENT"),
        }
    }
}

/// Whether a step has work to do, from the event's validation.
enum Validated {
    AlreadyCurrent,
    Pending(Description),
}

impl Rotator {
    /// A rotator over this Secrets Manager client, talking to Twilio's production API.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
    ///     .http_client(twilio_aws_rotation::aws_https_client())
    ///     .load()
    ///     .await;
    /// let rotator = twilio_aws_rotation::Rotator::new(aws_sdk_secretsmanager::Client::new(&config));
    /// # }
    /// ```
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            secrets: Secrets { client },
            twilio: Twilio {
                base_url: None,
                suppress_email_notification: None,
                propagation_window: DEFAULT_PROPAGATION_WINDOW,
                backoff: VerifyBackoff::default(),
            },
        }
    }

    /// A rotator with the AWS SDK's configuration from the environment (the default credential
    /// chain and region: in Lambda, the function's role and region), over
    /// [`aws_https_client`](crate::aws_https_client).
    ///
    /// ```no_run
    /// # async fn run() {
    /// let rotator = twilio_aws_rotation::Rotator::from_env().await;
    /// # }
    /// ```
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(crate::aws_https_client())
            .load()
            .await;
        Self::new(aws_sdk_secretsmanager::Client::new(&config))
    }

    /// Talks to Twilio at `url` instead of `https://accounts.twilio.com` (the emulator in
    /// tests; plain `http` only on loopback).
    ///
    /// ```no_run
    /// # fn f(rotator: twilio_aws_rotation::Rotator) {
    /// let rotator = rotator.twilio_base_url("http://127.0.0.1:4010");
    /// # }
    /// ```
    pub fn twilio_base_url(mut self, url: &str) -> Self {
        self.twilio.base_url = Some(url.to_owned());
        self
    }

    /// How long `testSecret` keeps asking Twilio to accept the new token (default 60 s,
    /// Twilio's propagation time). The function's Lambda timeout must exceed it.
    ///
    /// ```no_run
    /// # fn f(rotator: twilio_aws_rotation::Rotator) {
    /// let rotator = rotator.propagation_window(std::time::Duration::from_secs(90));
    /// # }
    /// ```
    pub fn propagation_window(mut self, window: Duration) -> Self {
        self.twilio.propagation_window = window;
        self
    }

    /// The waits between `testSecret`'s attempts (default 500 ms doubling to 8 s).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn f(rotator: twilio_aws_rotation::Rotator) {
    /// use twilio_accounts::rotation::VerifyBackoff;
    /// let rotator = rotator.verify_backoff(VerifyBackoff::new(Duration::from_secs(1), Duration::from_secs(10)));
    /// # }
    /// ```
    pub fn verify_backoff(mut self, backoff: VerifyBackoff) -> Self {
        self.twilio.backoff = backoff;
        self
    }

    /// Whether Twilio skips its e-mail to the account's owners about the promotion and the
    /// new secondary token (`SuppressEmailNotification`; not sent unless set).
    ///
    /// ```no_run
    /// # fn f(rotator: twilio_aws_rotation::Rotator) {
    /// let rotator = rotator.suppress_email_notification(true);
    /// # }
    /// ```
    pub fn suppress_email_notification(mut self, suppress: bool) -> Self {
        self.twilio.suppress_email_notification = Some(suppress);
        self
    }

    /// Runs the event's step. Every step may run again for the same `ClientRequestToken`
    /// (Secrets Manager retries steps and whole rotations): a repeat does nothing twice.
    ///
    /// # Errors
    /// An [`Error`] whose [`kind`](Error::kind) says what failed; the call that failed is its
    /// `source()`.
    ///
    /// ```no_run
    /// # async fn run(rotator: twilio_aws_rotation::Rotator) -> Result<(), twilio_aws_rotation::Error> {
    /// use twilio_aws_rotation::{RotationEvent, Step};
    /// let event = RotationEvent::new("twilio/prod", "a-version-id", Step::TestSecret);
    /// rotator.handle(&event).await?;
    /// # Ok(()) }
    /// ```
    pub async fn handle(&self, event: &RotationEvent) -> Result<StepReport, Error> {
        let secret_id = event.secret_id.as_str();
        let version = event.client_request_token.as_str();
        let outcome = match self.validate(secret_id, version).await? {
            Validated::AlreadyCurrent => Outcome::AlreadyCurrent,
            Validated::Pending(description) => match event.step {
                Step::CreateSecret => self.create_secret(secret_id, version).await?,
                Step::SetSecret => self.set_secret(secret_id, version).await?,
                Step::TestSecret => self.test_secret(secret_id, version).await?,
                Step::FinishSecret => self.finish_secret(secret_id, version, &description).await?,
            },
        };
        let report = StepReport {
            step: event.step,
            version: version.to_owned(),
            outcome,
        };
        tracing::info!(secret_id, "{report}");
        Ok(report)
    }

    /// The checks of AWS's own rotation templates: rotation is on, the token is a version of
    /// the secret, staged `AWSPENDING` (or already `AWSCURRENT`: nothing to do).
    async fn validate(&self, secret_id: &str, version: &str) -> Result<Validated, Error> {
        let description = self.secrets.describe(secret_id).await?;
        if !description.rotation_enabled {
            return Err(Error::new(
                ErrorKind::RotationDisabled,
                format!("secret {secret_id} does not have rotation enabled"),
            ));
        }
        if !description.versions.contains_key(version) {
            return Err(Error::new(
                ErrorKind::NotPending,
                format!(
                    "ClientRequestToken {version} is not a version of secret {secret_id} \
                     (Secrets Manager creates it when it starts a rotation)"
                ),
            ));
        }
        if description.has(version, AWSCURRENT) {
            return Ok(Validated::AlreadyCurrent);
        }
        if !description.has(version, AWSPENDING) {
            return Err(Error::new(
                ErrorKind::NotPending,
                format!(
                    "version {version} of secret {secret_id} is not staged AWSPENDING: \
                     it is not the rotation in progress"
                ),
            ));
        }
        Ok(Validated::Pending(description))
    }

    /// The `AWSCURRENT` version's value, which every step needs.
    async fn current(&self, secret_id: &str) -> Result<TwilioSecret, Error> {
        self.secrets
            .value(secret_id, None, AWSCURRENT)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::MalformedSecret,
                    format!(
                        "secret {secret_id} has no AWSCURRENT value: store the account's \
                         primary token there first"
                    ),
                )
            })
    }

    /// The pending version's value, which `createSecret` stored.
    async fn pending(
        &self,
        secret_id: &str,
        version: &str,
        current: &TwilioSecret,
    ) -> Result<Option<TwilioSecret>, Error> {
        let pending = self
            .secrets
            .value(secret_id, Some(version), AWSPENDING)
            .await?;
        if let Some(p) = &pending
            && p.account_sid != current.account_sid
        {
            return Err(Error::new(
                ErrorKind::MalformedSecret,
                format!(
                    "version {version} of secret {secret_id} names account {}, AWSCURRENT \
                     names {}",
                    p.account_sid, current.account_sid
                ),
            ));
        }
        Ok(pending)
    }

    async fn pending_required(
        &self,
        secret_id: &str,
        version: &str,
    ) -> Result<TwilioSecret, Error> {
        let current = self.current(secret_id).await?;
        self.pending(secret_id, version, &current)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotPending,
                    format!(
                        "version {version} of secret {secret_id} has no value yet: \
                         createSecret has not run for it"
                    ),
                )
            })
    }

    /// `createSecret`: promote the previous rotation's token if that is due, create a new
    /// secondary token and store it as the pending version, durably, before anything uses it.
    async fn create_secret(&self, secret_id: &str, version: &str) -> Result<Outcome, Error> {
        let current = self.current(secret_id).await?;
        if let Some(pending) = self.pending(secret_id, version, &current).await? {
            return Ok(Outcome::AlreadyCreated {
                pending: pending.fingerprint(),
            });
        }
        let promoted = self.promote_if_due(secret_id, version, &current).await?;
        // From here `current` is Twilio's primary token, and the secondary slot holds nothing
        // any consumer depends on: an unstored token of a crashed attempt, or the pending token
        // of a failed rotation (still stored in its version).
        let token = self.create_secondary(&current).await?;
        let pending = TwilioSecret {
            account_sid: current.account_sid,
            auth_token: token,
        };
        if let Err(e) = self.secrets.put_pending(secret_id, version, &pending).await {
            self.forget_unstored(secret_id, version, &current, &pending)
                .await;
            return Err(e);
        }
        Ok(Outcome::Created {
            promoted,
            pending: pending.fingerprint(),
        })
    }

    /// Promotes `AWSCURRENT` (Twilio's secondary since the last rotation) when `AWSPREVIOUS`
    /// still works (it is the primary): the promotion revokes it. When `AWSPREVIOUS` is absent
    /// (the first rotation: `AWSCURRENT` is the primary) or refused (the promotion was done,
    /// by an attempt that crashed after it), there is nothing to promote.
    async fn promote_if_due(
        &self,
        secret_id: &str,
        version: &str,
        current: &TwilioSecret,
    ) -> Result<Option<TokenFingerprint>, Error> {
        let previous = match self.secrets.value(secret_id, None, AWSPREVIOUS).await {
            Ok(Some(p)) if !p.same_token(current) => p,
            Ok(_) => return Ok(None),
            // A malformed old version is not worth stopping for: its token cannot be the
            // primary of this rotation's scheme, so treat it as revoked.
            Err(e) if e.kind() == ErrorKind::MalformedSecret => {
                tracing::warn!(secret_id, error = %e, "AWSPREVIOUS is not a Twilio secret; not promoting");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match self.twilio.probe(&previous).await? {
            Probe::Works => {}
            Probe::Refused(_) => return Ok(None),
            Probe::Failed(e) => {
                return Err(Error::with_source(
                    ErrorKind::Twilio,
                    format!(
                        "could not tell whether the AWSPREVIOUS token {} of secret {secret_id} \
                         still works, so whether a promotion is due",
                        previous.fingerprint()
                    ),
                    e,
                ));
            }
        }
        // AWSPREVIOUS works, so it is the primary and AWSCURRENT must be the secondary: check
        // that before promoting, since a promotion of anything else would revoke a token
        // consumers hold.
        match self.twilio.probe(current).await? {
            Probe::Works => {}
            Probe::Refused(e) => {
                return Err(Error::with_source(
                    ErrorKind::Inconsistent,
                    format!(
                        "Twilio refuses the AWSCURRENT token {} of secret {secret_id} while \
                         AWSPREVIOUS works: the secret was changed outside this rotation; \
                         nothing was changed (store the working token as AWSCURRENT)",
                        current.fingerprint()
                    ),
                    e,
                ));
            }
            Probe::Failed(e) => {
                return Err(Error::with_source(
                    ErrorKind::Twilio,
                    format!(
                        "could not check the AWSCURRENT token {} of secret {secret_id}",
                        current.fingerprint()
                    ),
                    e,
                ));
            }
        }
        let primary = self.twilio.promote(current).await?;
        let fingerprint = current.fingerprint();
        if let Some(primary) = primary
            && !primary.ct_eq(current.auth_token.expose_secret())
        {
            // The secondary was not AWSCURRENT: the secret was changed outside the rotation, or
            // another invocation promoted and created in between. The promoted token is now
            // the only primary: store it first (no token lost), as this rotation's pending
            // version, from which a retry finishes the rotation.
            let promoted = TwilioSecret {
                account_sid: current.account_sid,
                auth_token: primary,
            };
            let stored = self
                .secrets
                .put_pending(secret_id, version, &promoted)
                .await;
            let outcome = match &stored {
                Ok(()) => format!(
                    "it is stored as version {version} (AWSPENDING), from which a retry of the \
                     rotation continues"
                ),
                Err(e) => format!("storing it as version {version} failed too: {e}"),
            };
            return Err(Error::new(
                ErrorKind::Inconsistent,
                format!(
                    "Twilio promoted token {} instead of the AWSCURRENT token {fingerprint} of \
                     secret {secret_id}, which is revoked now: the secondary was not the \
                     AWSCURRENT token (the secret was changed outside this rotation, or two \
                     rotations ran at once); {outcome}",
                    promoted.fingerprint()
                ),
            ));
        }
        tracing::info!(secret_id, %fingerprint, "promoted AWSCURRENT to primary; AWSPREVIOUS is revoked");
        Ok(Some(fingerprint))
    }

    /// Creates the secondary token. Twilio keeps one secondary; if it refuses a create while
    /// one exists (the emulator replaces it, Twilio does not document which), the stale one is
    /// deleted and the create sent once more.
    async fn create_secondary(
        &self,
        current: &TwilioSecret,
    ) -> Result<twilio_types::AuthToken, Error> {
        match self.twilio.create_secondary(current).await {
            Ok(token) => Ok(token),
            Err(e) => {
                let status = twilio_status(&e);
                match status {
                    Some(401 | 403) => Err(Error::with_source(
                        ErrorKind::Inconsistent,
                        format!(
                            "Twilio refuses the AWSCURRENT token {}: the secret no longer holds \
                             a working token (changed in the Console?); store the account's \
                             primary token as AWSCURRENT",
                            current.fingerprint()
                        ),
                        e,
                    )),
                    Some(s) if (400..500).contains(&s) && s != 429 => {
                        tracing::info!(
                            status = s,
                            "create refused; deleting the stale secondary and creating again"
                        );
                        self.twilio.delete_secondary(current).await?;
                        self.twilio.create_secondary(current).await
                    }
                    _ => Err(e),
                }
            }
        }
    }

    /// After a failed `PutSecretValue`: if the token was not stored after all, delete it at
    /// Twilio so that no working token is left outside the secret (best effort: a retry of the
    /// step replaces it anyway).
    async fn forget_unstored(
        &self,
        secret_id: &str,
        version: &str,
        current: &TwilioSecret,
        pending: &TwilioSecret,
    ) {
        match self
            .secrets
            .value(secret_id, Some(version), AWSPENDING)
            .await
        {
            Ok(Some(stored)) if stored.same_token(pending) => {}
            Ok(_) => {
                if let Err(e) = self.twilio.delete_secondary(current).await {
                    tracing::warn!(error = %e, "the unstored secondary token could not be deleted; the next attempt replaces it");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not tell whether the new token was stored; the next attempt replaces it");
            }
        }
    }

    /// `setSecret`: Twilio made the token in `createSecret`; check the version holds it.
    async fn set_secret(&self, secret_id: &str, version: &str) -> Result<Outcome, Error> {
        let pending = self.pending_required(secret_id, version).await?;
        Ok(Outcome::Confirmed {
            pending: pending.fingerprint(),
        })
    }

    /// `testSecret`: Twilio accepts the pending token, within the propagation window.
    async fn test_secret(&self, secret_id: &str, version: &str) -> Result<Outcome, Error> {
        let pending = self.pending_required(secret_id, version).await?;
        let attempts = self.twilio.wait_until_accepted(&pending).await?;
        Ok(Outcome::Accepted {
            pending: pending.fingerprint(),
            attempts,
        })
    }

    /// `finishSecret`: moves `AWSCURRENT` to the pending version (Secrets Manager moves
    /// `AWSPREVIOUS` to the version it leaves).
    async fn finish_secret(
        &self,
        secret_id: &str,
        version: &str,
        description: &Description,
    ) -> Result<Outcome, Error> {
        let pending = self.pending_required(secret_id, version).await?;
        let from = description.version_with(AWSCURRENT);
        self.secrets.move_current(secret_id, version, from).await?;
        Ok(Outcome::Finished {
            current: pending.fingerprint(),
        })
    }
}

/// The HTTP status of a Twilio error this crate wrapped.
fn twilio_status(e: &Error) -> Option<u16> {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<twilio_accounts::Error>())
        .and_then(twilio_accounts::Error::status)
        .map(|s| s.as_u16())
}
