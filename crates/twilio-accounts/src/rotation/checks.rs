//! Asking Twilio which token works. One authenticated read ([`probe`]) is the only question;
//! the checks here repeat it within the propagation window (a new token can take about a
//! minute to reach every service) and record what they learn as a step of the run.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use tokio::time::sleep;
use twilio_store::TokenFingerprint;
use twilio_transport::HttpClient;

use super::progress::Progress;
use super::report::{RotationStep, StepOutcome};
use super::settings::{Attempts, Settings};
use crate::error::Error;
use crate::response::error_from_response;

/// The read used to check that a token authenticates: cheap, side-effect free, and allowed for
/// every account.
const VERIFY_PATH: &str = "/v1/Credentials/AWS?PageSize=1";

/// What one authenticated read said about a token.
pub(super) enum Probe {
    /// A 2xx answer: the token authenticates.
    Works,
    /// 401 or 403: the token is refused (revoked, or not propagated yet).
    Refused(Error),
    /// Anything else; `is_retryable()` tells whether to keep trying.
    Failed(Error),
}

/// How a promotion ended, once known.
pub(super) enum Promotion {
    /// It happened; the client should use this token (normally the one we created).
    Done,
    /// It did not happen (or was refused).
    NotDone,
    /// Could not be found out.
    Unknown,
}

/// Whether a failed non-idempotent call (create, promote) may still have taken effect.
pub(super) fn may_have_happened(error: &Error) -> bool {
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

/// A probe's answer for a step note: "works", "refused, HTTP 401 (…)", or the failure.
pub(super) fn probe_summary(probe: &Probe) -> Cow<'static, str> {
    match probe {
        Probe::Works => "works".into(),
        Probe::Refused(e) => format!("refused, {}", describe(e)).into(),
        Probe::Failed(e) => describe(e),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Steps 2 and 5: authenticated reads with `http` until one succeeds, a permanent failure,
/// or the end of the propagation window. `401`/`403` mean "not propagated yet".
pub(super) async fn verify(
    settings: &Settings,
    progress: &mut Progress,
    http: &HttpClient,
    step: RotationStep,
    fingerprint: TokenFingerprint,
) -> Result<(), Error> {
    let window = settings.propagation_window;
    let mut attempts = Attempts::within(window);
    let mut refused = 0u32;
    loop {
        let attempt = attempts.next();
        let last = match probe(http).await {
            Probe::Works => {
                let note = if refused > 0 {
                    format!(
                        "token {fingerprint} authenticates (refused {refused} time(s) while propagating)"
                    )
                } else {
                    format!("token {fingerprint} authenticates")
                };
                progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
                return Ok(());
            }
            Probe::Refused(e) => {
                refused += 1;
                e
            }
            Probe::Failed(e) if e.is_retryable() => e,
            Probe::Failed(e) => {
                let note = format!("{} (not retried)", describe(&e));
                progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
                return Err(Error::workflow(
                    step.description(),
                    "the check of the new token failed with an answer that is not about authentication",
                    Some(e),
                ));
            }
        };
        if attempts.window_over() {
            let note = format!(
                "{} after {attempt} attempt(s) in {}",
                describe(&last),
                secs(attempts.started.elapsed())
            );
            progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
            let message = format!(
                "token {fingerprint} did not authenticate within the propagation window of {}",
                secs(window)
            );
            return Err(Error::workflow(step.description(), message, Some(last)));
        }
        let delay = attempts.delay(&settings.backoff);
        tracing::debug!(
            step = step.name(),
            attempt,
            outcome = %describe(&last),
            retry_in_ms = ms(delay),
            "token not accepted yet; retrying"
        );
        sleep(delay).await;
    }
}

/// After a promotion without a clear success: tries the old token (`old`, `None` when no
/// credentials for it are known) and the new one until the answers tell whether the promotion
/// happened: old refused + new works → it did; old works → it did not.
pub(super) async fn resolve_promotion(
    settings: &Settings,
    progress: &mut Progress,
    old: Option<HttpClient>,
    new: &HttpClient,
    fingerprint: TokenFingerprint,
) -> Promotion {
    let step = RotationStep::ResolvePromotion;
    let mut attempts = Attempts::within(settings.propagation_window);
    let Some(old) = old else {
        let note = "the client authenticates with an API key and no store holds the old token, so it cannot be tried";
        progress.record(step, StepOutcome::Failed, attempts.started, 0, note);
        return Promotion::Unknown;
    };
    loop {
        let attempt = attempts.next();
        let old_probe = probe(&old).await;
        let new_probe = probe(new).await;
        match (&old_probe, &new_probe) {
            (Probe::Refused(_), Probe::Works) => {
                let note = format!(
                    "the old token is refused and token {fingerprint} works: the promotion happened"
                );
                progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
                return Promotion::Done;
            }
            (Probe::Works, _) => {
                let note = "the old token still works: the promotion did not happen";
                progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
                return Promotion::NotDone;
            }
            _ => {}
        }
        if attempts.window_over() {
            let note = format!(
                "no clear answer after {attempt} attempt(s) (old token: {}, new token: {})",
                probe_summary(&old_probe),
                probe_summary(&new_probe)
            );
            progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
            return Promotion::Unknown;
        }
        let delay = attempts.delay(&settings.backoff);
        tracing::debug!(
            step = step.name(),
            attempt,
            old_token = probe_summary(&old_probe).as_ref(),
            new_token = probe_summary(&new_probe).as_ref(),
            retry_in_ms = ms(delay),
            "promotion outcome not clear yet; retrying"
        );
        sleep(delay).await;
    }
}

/// After the roll-back of an unclear promotion found no secondary token (`slot_empty`), or
/// the old token was refused after all: if the new token (`new`) works, it can only be the
/// primary (the promotion happened; the old token's revocation had not reached the service
/// that accepted it). If it is refused and the slot is empty, the old token is the primary.
/// `Some(true)`: promoted; `Some(false)`: not; `None`: no clear answer within the propagation
/// window, or both tokens refused (the new token is then the more likely primary).
pub(super) async fn promoted_after_all(
    settings: &Settings,
    progress: &mut Progress,
    new: &HttpClient,
    fingerprint: TokenFingerprint,
    slot_empty: bool,
) -> Option<bool> {
    let step = RotationStep::ResolvePromotion;
    let mut attempts = Attempts::within(settings.propagation_window);
    loop {
        let attempt = attempts.next();
        let last = match probe(new).await {
            Probe::Works => {
                let note = format!(
                    "token {fingerprint} still works although the clean-up contradicts a pending secondary: the promotion happened after all; the client uses it again"
                );
                progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
                return Some(true);
            }
            Probe::Refused(e) if slot_empty => {
                let note = format!(
                    "no secondary token is left and token {fingerprint} is refused ({}): the old token stays the primary",
                    describe(&e)
                );
                progress.record_attempts(step, StepOutcome::Succeeded, &attempts, note);
                return Some(false);
            }
            Probe::Refused(e) => {
                let note = format!(
                    "both the old token and token {fingerprint} were refused ({}); the client keeps the new token, the more recent evidence",
                    describe(&e)
                );
                progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
                return None;
            }
            Probe::Failed(e) => e,
        };
        if attempts.window_over() {
            let note = format!(
                "token {fingerprint} gave no clear answer ({}) after {attempt} attempt(s); the client keeps the new token, the more likely primary",
                describe(&last)
            );
            progress.record_attempts(step, StepOutcome::Failed, &attempts, note);
            return None;
        }
        sleep(attempts.delay(&settings.backoff)).await;
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
