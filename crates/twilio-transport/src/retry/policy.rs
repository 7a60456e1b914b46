//! The tower retry policy applying [`classify`](super::classify) and friends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::Layer;
use tower::retry::Retry;

use super::{Decision, Outcome, RetryConfig, RetryEvent, classify, parse_retry_after, retry_delay};
use crate::credentials::SharedCredentials;
use crate::error::TransportError;
use crate::timeout::CallDeadline;

/// How many attempts a call took, stored in the extensions of the final response when it took
/// more than one (absent means exactly one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

/// The `tower::retry::Policy` of this crate: one clone per call, counting its attempts.
///
/// For each outcome it asks [`classify`]; a retry then also needs an attempt left, a withdrawal
/// from the [`RetryBudget`](super::RetryBudget), and (with [`with_deadline`](Self::with_deadline))
/// enough time left for the whole delay. Otherwise the last outcome is returned as it is, with
/// the attempt count stamped on it ([`TransportError::attempts`], or [`Attempts`] in the
/// extensions of a response that took more than one attempt).
///
/// With [`resend_on_replaced`](Self::resend_on_replaced) it also sends a request again, once
/// and at once, when it was answered `401` and the credentials were replaced while it was in
/// flight: safe for every method (a `401` means Twilio did nothing), and neither an attempt nor
/// a withdrawal from the budget.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    config: Arc<RetryConfig>,
    deadline: Option<Duration>,
    credentials: Option<SharedCredentials>,
    started: Option<Instant>,
    /// Attempts answered so far (the re-send not counted).
    attempts: u32,
    /// The credentials generation when the attempt under way was sent.
    generation: u64,
    resent: bool,
}

impl RetryPolicy {
    /// A policy applying `config`.
    pub fn new(config: RetryConfig) -> Self {
        Self {
            config: Arc::new(config),
            deadline: None,
            credentials: None,
            started: None,
            attempts: 0,
            generation: 0,
            resent: false,
        }
    }

    /// Re-send, once, a request answered `401` when `credentials` were
    /// [replaced](SharedCredentials::replace) while it was in flight (give the same handle to
    /// the [`AuthLayer`](crate::AuthLayer) below). This is what keeps the requests in flight
    /// during a token rotation from failing when the old token stops working. The copy of the
    /// request is kept even when retries are [disabled](RetryConfig::disabled).
    ///
    /// The generation is noted as each attempt leaves this layer, and the auth layer signs it a
    /// moment later: a replacement in between makes that attempt look older than it is, and its
    /// `401` is then sent once more with the same, current, credentials. A re-send that is due is
    /// never missed.
    pub fn resend_on_replaced(mut self, credentials: SharedCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Never start a back-off that would end more than `deadline` after the call began, and
    /// record that deadline on each retried request for an
    /// [`AttemptTimeoutLayer::call_deadline`](crate::AttemptTimeoutLayer::call_deadline) below
    /// (use the same duration there, or in a [`DeadlineLayer`](crate::DeadlineLayer) around it).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    fn finish<R>(&self, result: &mut Result<Response<R>, TransportError>) -> Option<RetryWait> {
        match result {
            // Stamped only on retried calls: inserting the first extension allocates, and the
            // hot path (one successful attempt) should not pay for it.
            Ok(response) if self.attempts > 1 => {
                response.extensions_mut().insert(Attempts(self.attempts));
            }
            Ok(_) => {}
            Err(error) => error.set_attempts(self.attempts),
        }
        None
    }

    /// Whether `result` is a `401` to credentials replaced since the attempt was sent, the
    /// first of the call, with time left before the deadline to send it again.
    fn refused_as_replaced<R>(&self, result: &Result<Response<R>, TransportError>) -> bool {
        let Some(credentials) = &self.credentials else {
            return false;
        };
        !self.resent
            && matches!(result, Ok(response) if response.status() == StatusCode::UNAUTHORIZED)
            && credentials.generation() != self.generation
            && !matches!((self.deadline, self.started),
                (Some(deadline), Some(started)) if started.elapsed() >= deadline)
    }

    /// Puts the call's deadline on a request about to be sent again, for the attempt timer.
    fn stamp_deadline<B>(&self, req: &mut Request<B>) {
        if let (Some(deadline), Some(started)) = (self.deadline, self.started)
            && let Some(at) = started.checked_add(deadline)
        {
            req.extensions_mut().insert(CallDeadline(at));
        }
    }
}

impl<B: Clone, R> tower::retry::Policy<Request<B>, Response<R>, TransportError> for RetryPolicy {
    type Future = RetryWait;

    fn retry(
        &mut self,
        req: &mut Request<B>,
        result: &mut Result<Response<R>, TransportError>,
    ) -> Option<RetryWait> {
        if self.refused_as_replaced(result) {
            self.resent = true;
            tracing::debug!("re-sending a request refused with replaced credentials");
            self.stamp_deadline(req);
            return Some(RetryWait { sleep: None });
        }
        self.attempts = self.attempts.saturating_add(1);
        let outcome = match result {
            Ok(response) => Outcome::Status(response.status()),
            Err(error) => Outcome::Error(error),
        };
        let Decision::Retry(reason) = classify(req.method(), outcome, &self.config) else {
            return self.finish(result);
        };
        if self.attempts >= self.config.max_attempts {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: no attempts left");
            return self.finish(result);
        }
        let retry_after = result
            .as_ref()
            .ok()
            .and_then(|r| parse_retry_after(r.headers(), SystemTime::now()));
        if retry_after.is_some_and(|wait| wait > self.config.max_backoff) {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: Retry-After is beyond the maximum delay");
            return self.finish(result);
        }
        let delay = retry_delay(self.attempts, retry_after, &self.config, fastrand::f64());
        if let (Some(deadline), Some(started)) = (self.deadline, self.started)
            && started.elapsed().saturating_add(delay) >= deadline
        {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: the deadline would pass");
            return self.finish(result);
        }
        if let Some(budget) = &self.config.budget
            && !budget.withdraw()
        {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: retry budget exhausted");
            return self.finish(result);
        }
        self.stamp_deadline(req);
        tracing::info!(
            attempt = self.attempts,
            reason = %reason,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying request"
        );
        if let Some(hook) = &self.config.hook {
            hook(&RetryEvent {
                attempt: self.attempts,
                reason,
                delay,
                method: req.method().clone(),
                path: req.uri().path().to_owned(),
            });
        }
        Some(RetryWait {
            sleep: Some(tokio::time::sleep(delay)),
        })
    }

    /// Called by `tower::retry::Retry` just before each attempt is sent.
    fn clone_request(&mut self, req: &Request<B>) -> Option<Request<B>> {
        if let Some(credentials) = &self.credentials {
            self.generation = credentials.generation();
        }
        if self.attempts == 0 && !self.resent {
            // The start of a call: `tower::retry::Retry` calls this on its own policy and clones
            // the policy into the call's future right after, so the start time travels with
            // the call (and the next call on the same service starts afresh: `attempts` only
            // grows on the future's copy).
            if self.deadline.is_some() {
                self.started = Some(Instant::now());
            }
            if let Some(budget) = &self.config.budget {
                budget.deposit();
            }
        }
        if self.config.max_attempts <= 1 && self.credentials.is_none() {
            return None;
        }
        let mut clone = Request::new(req.body().clone());
        *clone.method_mut() = req.method().clone();
        *clone.uri_mut() = req.uri().clone();
        *clone.version_mut() = req.version();
        *clone.headers_mut() = req.headers().clone();
        *clone.extensions_mut() = req.extensions().clone();
        Some(clone)
    }
}

/// A layer applying [`RetryPolicy`] through `tower::retry::Retry`.
/// Put a [`DeadlineLayer`](crate::DeadlineLayer) outside it and an
/// [`AttemptTimeoutLayer`](crate::AttemptTimeoutLayer) inside it.
#[derive(Debug, Clone)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// Retries according to `config`.
    pub fn new(config: RetryConfig) -> Self {
        Self {
            policy: RetryPolicy::new(config),
        }
    }

    /// See [`RetryPolicy::with_deadline`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.policy = self.policy.with_deadline(deadline);
        self
    }

    /// See [`RetryPolicy::resend_on_replaced`].
    pub fn resend_on_replaced(mut self, credentials: SharedCredentials) -> Self {
        self.policy = self.policy.resend_on_replaced(credentials);
        self
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Retry::new(self.policy.clone(), inner)
    }
}

/// The service made by [`RetryLayer`]: tower's own retry service with [`RetryPolicy`]. Like any
/// tower service it is ready when its inner service is; a retry waits for the inner service to
/// be ready again before sending.
pub type RetryService<S> = Retry<RetryPolicy, S>;

/// The future of [`RetryService`] for a request body `B`.
pub type RetryFuture<S, B> = tower::retry::future::ResponseFuture<RetryPolicy, S, Request<B>>;

pin_project! {
    /// What a retry waits for before the next attempt: the back-off, or nothing for the
    /// re-send of a request refused with replaced credentials.
    #[derive(Debug)]
    pub struct RetryWait {
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl Future for RetryWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => Poll::Ready(()),
        }
    }
}
