//! The tower retry policy applying [`classify`](super::classify) and friends.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use tokio::time::{Instant, Sleep};
use tower::Layer;
use tower::retry::Retry;

use super::{Decision, Outcome, RetryConfig, RetryEvent, classify, parse_retry_after, retry_delay};
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
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    config: Arc<RetryConfig>,
    deadline: Option<Duration>,
    started: Option<Instant>,
    attempts: u32,
}

impl RetryPolicy {
    /// A policy applying `config`.
    pub fn new(config: RetryConfig) -> Self {
        Self {
            config: Arc::new(config),
            deadline: None,
            started: None,
            attempts: 0,
        }
    }

    /// Never start a back-off that would end more than `deadline` after the call began, and
    /// record that deadline on each retried request for an
    /// [`AttemptTimeoutLayer::call_deadline`](crate::AttemptTimeoutLayer::call_deadline) below
    /// (use the same duration there, or in a [`DeadlineLayer`](crate::DeadlineLayer) around it).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    fn finish<R>(&self, result: &mut Result<Response<R>, TransportError>) -> Option<Sleep> {
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
}

impl<B: Clone, R> tower::retry::Policy<Request<B>, Response<R>, TransportError> for RetryPolicy {
    type Future = Sleep;

    fn retry(
        &mut self,
        req: &mut Request<B>,
        result: &mut Result<Response<R>, TransportError>,
    ) -> Option<Sleep> {
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
        if let (Some(deadline), Some(started)) = (self.deadline, self.started)
            && let Some(at) = started.checked_add(deadline)
        {
            req.extensions_mut().insert(CallDeadline(at));
        }
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
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, req: &Request<B>) -> Option<Request<B>> {
        if self.attempts == 0 {
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
        if self.config.max_attempts <= 1 {
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
