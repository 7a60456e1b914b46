//! The tower retry policy applying [`classify`](super::classify) and friends.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

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
            // The start of a call: [`RetryService`] calls this on the call's own copy of the
            // policy (`tower::retry::Retry` clones the policy right after), so the start time
            // travels with the call. One clock read for the deadline and the budget.
            let now = Instant::now();
            if self.deadline.is_some() {
                self.started = Some(now);
            }
            if let Some(budget) = &self.config.budget {
                budget.deposit_at(now);
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

/// A layer applying [`RetryPolicy`] (the same decisions as `tower::retry::Retry` with this policy).
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
        RetryService {
            policy: self.policy.clone(),
            inner: Arc::new(inner),
        }
    }
}

/// The service made by [`RetryLayer`].
///
/// Unlike `tower::retry::Retry`, it keeps the inner service behind an `Arc`: cloning this service
/// (once per call in [`HttpClient`](crate::HttpClient)) costs one reference count, and each call
/// clones the inner service exactly once, for its own attempts. Readiness of that clone is
/// awaited inside the call's future, before every attempt, so `poll_ready` here is always ready.
#[derive(Debug)]
pub struct RetryService<S> {
    policy: RetryPolicy,
    inner: Arc<S>,
}

impl<S> Clone for RetryService<S> {
    fn clone(&self) -> Self {
        Self {
            policy: self.policy.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<S, B, R> Service<Request<B>> for RetryService<S>
where
    S: Service<Request<B>, Response = Response<R>, Error = TransportError> + Clone,
    B: Clone,
{
    type Response = Response<R>;
    type Error = TransportError;
    type Future = RetryFuture<S, B>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        RetryFuture {
            policy: self.policy.clone(),
            service: S::clone(&self.inner),
            copy: None,
            state: RetryState::Ready {
                request: Some(request),
            },
        }
    }
}

pin_project! {
    /// The future of [`RetryService`]: waits for the inner service, sends, asks the policy, sleeps
    /// and sends the copy again, until the policy returns the outcome.
    pub struct RetryFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        policy: RetryPolicy,
        service: S,
        // A copy of the request in flight, for the next attempt (`None` when retries are
        // disabled).
        copy: Option<Request<B>>,
        #[pin]
        state: RetryState<S::Future, B>,
    }
}

pin_project! {
    #[project = RetryStateProj]
    enum RetryState<F, B> {
        // Waiting for the service to be ready to send this request (the next attempt).
        Ready { request: Option<Request<B>> },
        // An attempt in flight.
        Called { #[pin] future: F },
        // The back-off before the next attempt; boxed because it is rare and a `Sleep` is large.
        Waiting { sleep: Pin<Box<Sleep>> },
    }
}

impl<S, B> fmt::Debug for RetryFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryFuture")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Future for RetryFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>, Error = TransportError>,
    B: Clone,
{
    type Output = Result<Response<R>, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        use tower::retry::Policy as _;
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                RetryStateProj::Ready { request } => {
                    std::task::ready!(this.service.poll_ready(cx))?;
                    let Some(request) = request.take() else {
                        return Poll::Ready(Err(TransportError::other(
                            "retry future polled after completion",
                        )));
                    };
                    // The copy for the next attempt; before the first one, this also starts the
                    // call's clock and deposits in the budget.
                    *this.copy =
                        tower::retry::Policy::<Request<B>, Response<R>, TransportError>::clone_request(
                            this.policy,
                            &request,
                        );
                    let future = this.service.call(request);
                    this.state.set(RetryState::Called { future });
                }
                RetryStateProj::Called { future } => {
                    let mut result = std::task::ready!(future.poll(cx));
                    let Some(copy) = this.copy.as_mut() else {
                        return Poll::Ready(result);
                    };
                    match this.policy.retry(copy, &mut result) {
                        Some(sleep) => this.state.set(RetryState::Waiting {
                            sleep: Box::pin(sleep),
                        }),
                        None => return Poll::Ready(result),
                    }
                }
                RetryStateProj::Waiting { sleep } => {
                    std::task::ready!(sleep.as_mut().poll(cx));
                    let request = this.copy.take();
                    this.state.set(RetryState::Ready { request });
                }
            }
        }
    }
}
