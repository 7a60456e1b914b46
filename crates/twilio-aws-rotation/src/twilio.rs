//! The Twilio side of a rotation: a short-lived client per stored token, the probe that asks
//! Twilio whether a token authenticates, promote, create and delete of the secondary token, and
//! the bounded wait for a new token to propagate.

use std::time::Duration;

use tokio::time::{Instant, sleep};
use twilio_accounts::rotation::VerifyBackoff;
use twilio_accounts::{Client, Credentials};
use twilio_types::AuthToken;

use crate::error::{Error, ErrorKind};
use crate::value::TwilioSecret;

/// What one authenticated read with a token answered.
#[derive(Debug)]
pub(crate) enum Probe {
    /// 2xx: the token authenticates.
    Works,
    /// 401 or 403: refused (revoked, or not propagated yet).
    Refused(twilio_accounts::Error),
    /// Anything else.
    Failed(twilio_accounts::Error),
}

/// How the rotation talks to Twilio.
#[derive(Debug, Clone)]
pub(crate) struct Twilio {
    pub(crate) base_url: Option<String>,
    pub(crate) suppress_email_notification: Option<bool>,
    pub(crate) propagation_window: Duration,
    pub(crate) backoff: VerifyBackoff,
}

impl Twilio {
    /// A client that authenticates with `secret`'s token and nothing else.
    fn client(&self, secret: &TwilioSecret) -> Result<Client, Error> {
        let credentials =
            Credentials::from_auth_token(secret.account_sid, secret.auth_token.clone()).map_err(
                |e| Error::with_source(ErrorKind::MalformedSecret, "the token cannot be sent", e),
            )?;
        // The environment still applies (TWILIO_REGION, TWILIO_EDGE, the proxy variables);
        // the credentials are the stored token's.
        let mut builder = Client::builder().credentials(credentials);
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url);
        }
        builder.build().map_err(|e| {
            Error::with_source(
                ErrorKind::Twilio,
                "the Twilio client could not be built (check the base URL)",
                e,
            )
        })
    }

    /// One cheap authenticated read (`GET /v1/Credentials/AWS?PageSize=1`, as the SDK's own
    /// rotation verifies).
    pub(crate) async fn probe(&self, secret: &TwilioSecret) -> Result<Probe, Error> {
        let client = self.client(secret)?;
        Ok(
            match client.credentials().aws().list().page_size(1).send().await {
                Ok(_) => Probe::Works,
                Err(e)
                    if e.status()
                        .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
                {
                    Probe::Refused(e)
                }
                Err(e) => Probe::Failed(e),
            },
        )
    }

    /// Promotes the secondary token with `primary`'s credentials and returns the new primary.
    pub(crate) async fn promote(&self, with: &TwilioSecret) -> Result<Option<AuthToken>, Error> {
        let mut request = self.client(with)?.auth_token_promotion().update();
        if let Some(suppress) = self.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let promoted = request.send().await.map_err(|e| {
            Error::with_source(
                ErrorKind::Twilio,
                "Twilio's promotion of the secondary token (POST /v1/AuthTokens/Promote) failed",
                e,
            )
        })?;
        Ok(promoted.auth_token)
    }

    /// Creates a secondary token (replacing any secondary that exists) with `with`'s
    /// credentials.
    pub(crate) async fn create_secondary(&self, with: &TwilioSecret) -> Result<AuthToken, Error> {
        let mut request = self.client(with)?.secondary_auth_token().create();
        if let Some(suppress) = self.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        let created = request.send().await.map_err(|e| {
            Error::with_source(
                ErrorKind::Twilio,
                "Twilio's creation of a secondary token (POST /v1/AuthTokens/Secondary) failed",
                e,
            )
        })?;
        let token = created.secondary_auth_token.ok_or_else(|| {
            Error::new(
                ErrorKind::Twilio,
                "Twilio created a secondary token but its answer holds none",
            )
        })?;
        token.check_header_safe().map_err(|e| {
            Error::with_source(
                ErrorKind::Twilio,
                "Twilio's new secondary token holds characters a header cannot carry",
                e,
            )
        })?;
        Ok(token)
    }

    /// Deletes the secondary token (a 404, no secondary, is success).
    pub(crate) async fn delete_secondary(&self, with: &TwilioSecret) -> Result<(), Error> {
        let mut request = self.client(with)?.secondary_auth_token().delete();
        if let Some(suppress) = self.suppress_email_notification {
            request = request.suppress_email_notification(suppress);
        }
        match request.send().await {
            Ok(()) => Ok(()),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Ok(()),
            Err(e) => Err(Error::with_source(
                ErrorKind::Twilio,
                "Twilio's deletion of the secondary token (DELETE /v1/AuthTokens/Secondary) failed",
                e,
            )),
        }
    }

    /// Probes `secret` until it authenticates, for at most the propagation window: waits of the
    /// capped exponential back-off between attempts, the last one shortened so that one attempt
    /// happens right at the end of the window. Returns the number of attempts.
    pub(crate) async fn wait_until_accepted(&self, secret: &TwilioSecret) -> Result<u32, Error> {
        let started = Instant::now();
        let deadline = started
            .checked_add(self.propagation_window)
            .unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = match self.probe(secret).await? {
                Probe::Works => return Ok(attempt),
                Probe::Refused(e) => e,
                Probe::Failed(e) if e.is_retryable() => e,
                Probe::Failed(e) => {
                    return Err(Error::with_source(
                        ErrorKind::Twilio,
                        format!(
                            "the check of token {} failed with an answer that is not about \
                             authentication",
                            secret.fingerprint()
                        ),
                        e,
                    ));
                }
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::with_source(
                    ErrorKind::NotAccepted,
                    format!(
                        "token {} did not authenticate with Twilio within the propagation window \
                         of {} s ({attempt} attempts)",
                        secret.fingerprint(),
                        self.propagation_window.as_secs_f64()
                    ),
                    last,
                ));
            }
            let wait = self.backoff.delay(attempt).min(deadline - now);
            tracing::debug!(
                attempt,
                fingerprint = %secret.fingerprint(),
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "the pending token is not accepted yet; retrying"
            );
            sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    //! The propagation wait against the emulator, with Tokio's clock paused: the waits take no
    //! real time and the counts do not depend on the machine's speed.

    use super::*;
    use twilio_emulator::Emulator;

    async fn setup(delay: Duration, window: Duration) -> (Emulator, Twilio, TwilioSecret) {
        let emulator = Emulator::builder()
            .propagation_delay(delay)
            .start()
            .await
            .unwrap();
        let twilio = Twilio {
            base_url: Some(emulator.base_url()),
            suppress_email_notification: None,
            propagation_window: window,
            backoff: VerifyBackoff::new(Duration::from_millis(500), Duration::from_secs(8)),
        };
        let primary = TwilioSecret {
            account_sid: emulator.account_sid(),
            auth_token: emulator.auth_token(),
        };
        let token = twilio.create_secondary(&primary).await.unwrap();
        let pending = TwilioSecret {
            account_sid: emulator.account_sid(),
            auth_token: token,
        };
        (emulator, twilio, pending)
    }

    #[tokio::test(start_paused = true)]
    async fn waits_with_back_off_until_the_new_token_propagates() {
        let (_emulator, twilio, pending) =
            setup(Duration::from_secs(5), Duration::from_secs(60)).await;
        let started = Instant::now();
        // Attempts at 0, 0.5, 1.5, 3.5 s are refused; the one at 7.5 s is accepted.
        assert_eq!(twilio.wait_until_accepted(&pending).await.unwrap(), 5);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(7500) && waited < Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_end_of_the_window_with_the_refusal_as_cause() {
        let (_emulator, twilio, pending) =
            setup(Duration::from_secs(3600), Duration::from_secs(10)).await;
        let started = Instant::now();
        let err = twilio.wait_until_accepted(&pending).await.unwrap_err();
        // 0, 0.5, 1.5, 3.5, 7.5 and, the last wait shortened, 10 s.
        assert_eq!(err.kind(), ErrorKind::NotAccepted);
        assert!(err.to_string().contains("(6 attempts)"), "{err}");
        assert_eq!(started.elapsed().as_secs(), 10);
        let cause = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<twilio_accounts::Error>())
            .unwrap();
        assert_eq!(cause.status().map(|s| s.as_u16()), Some(401));
        assert!(!err.to_string().contains(pending.auth_token.expose_secret()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_not_about_authentication_stops_at_once() {
        let (emulator, twilio, pending) = setup(Duration::ZERO, Duration::from_secs(60)).await;
        emulator
            .faults()
            .inject(twilio_emulator::Fault::status(400).on("GET", "/v1/Credentials/AWS"))
            .unwrap();
        let err = twilio.wait_until_accepted(&pending).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Twilio, "{err}");
        assert!(err.to_string().contains("not about authentication"));
    }
}
