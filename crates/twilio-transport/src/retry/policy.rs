//! [`RetryLayer`]: the service that applies [`classify`](super::classify) and friends to each
//! attempt, and owns the call's clock (the deadline across attempts and each attempt's timer).
//!
//! The state of one call (when it started, its attempts, the credentials generation of the
//! attempt under way) lives in that call's [`RetryFuture`], made in [`RetryService::call`]:
//! nothing is kept on the service between calls, and the one thing handed to the layers below in
//! the request is the [`NewConnection`] marker on the re-send of a request the server did not
//! process (an instruction to the transport, not the call's state).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use super::{
    Decision, Outcome, RetryConfig, RetryEvent, RetryReason, classify, parse_retry_after,
    retry_delay,
};
use crate::credentials::SharedCredentials;
use crate::error::TransportError;
use crate::timeout::{AttemptTimer, TimeoutFuture};

/// How many attempts a call took, stored in the extensions of the final response when it took
/// more than one (absent means exactly one). Errors carry theirs in
/// [`TransportError::attempts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

/// In a request's extensions: send this request on a connection opened for it, not on one from
/// the pool. The [`RetryLayer`] puts it on the one re-send of a request the server did not
/// process ([`TransportError::is_not_processed`]): the connection that turned it away (a refused
/// stream, a `GOAWAY`, a connection closed before the request was written) is not asked again.
/// [`DefaultTransport`](crate::DefaultTransport) honours it; a custom transport may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NewConnection;

/// A layer that sends each request, and sends it again when [`classify`](super::classify)
/// says a retry is safe and useful and an attempt, the [`RetryBudget`](super::RetryBudget)
/// and the time left allow it (after `Retry-After` or [`backoff`](super::backoff)). It also
/// times each attempt, body included ([`attempt_timeout`](Self::attempt_timeout)), and ends the
/// call at its [`deadline`](Self::deadline), with one timer per attempt. A request the server
/// did not process is sent again at most once per call, marked [`NewConnection`].
///
/// The last outcome is returned as it is, with the attempt count on it
/// ([`TransportError::attempts`], or [`Attempts`] in the extensions of a response that took
/// more than one attempt). Put [`HeadersLayer`](crate::HeadersLayer) and
/// [`AuthLayer`](crate::AuthLayer) inside it (every attempt signed afresh) and
/// [`TraceLayer`](crate::TraceLayer) outside it (one span per call).
#[derive(Debug, Clone)]
pub struct RetryLayer {
    settings: Settings,
}

/// What a [`RetryLayer`] applies; its services share one copy.
#[derive(Debug, Clone)]
struct Settings {
    config: RetryConfig,
    deadline: Option<Duration>,
    attempt_timeout: Option<Duration>,
    credentials: Option<SharedCredentials>,
}

impl Settings {
    /// Whether a call may send its request more than once, so keeps a copy of it.
    fn may_resend(&self) -> bool {
        self.config.max_attempts > 1 || self.credentials.is_some()
    }
}

impl RetryLayer {
    /// Retries according to `config`, with no timer (see [`deadline`](Self::deadline) and
    /// [`attempt_timeout`](Self::attempt_timeout)).
    pub fn new(config: RetryConfig) -> Self {
        Self {
            settings: Settings {
                config,
                deadline: None,
                attempt_timeout: None,
                credentials: None,
            },
        }
    }

    /// Ends each call `deadline` after it started, retries and back-off included: the attempt
    /// under way then fails with [`is_deadline`](TransportError::is_deadline), and a back-off
    /// that would end later is not started (the last real outcome is returned instead).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings.deadline = Some(deadline);
        self
    }

    /// Fails one attempt (sending it and reading the whole response body) with
    /// [`is_timeout`](TransportError::is_timeout) after `timeout`; a retry gets its own.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.settings.attempt_timeout = Some(timeout);
        self
    }

    /// Re-send, once, a request answered `401` when `credentials` were
    /// [replaced](SharedCredentials::replace) while it was in flight (give the same handle to
    /// the [`AuthLayer`](crate::AuthLayer) below). This is what keeps the requests in flight
    /// during a token rotation from failing when the old token stops working. Safe for every
    /// method (a `401` means Twilio did nothing); neither an attempt nor a withdrawal from the
    /// budget, and done even when retries are [disabled](RetryConfig::disabled).
    ///
    /// The generation is noted as each attempt leaves this layer, and the auth layer signs it a
    /// moment later: a replacement in between makes that attempt look older than it is, and its
    /// `401` is then sent once more with the same, current, credentials. A re-send that is due is
    /// never missed.
    pub fn resend_on_replaced(mut self, credentials: SharedCredentials) -> Self {
        self.settings.credentials = Some(credentials);
        self
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            settings: Arc::new(self.settings.clone()),
            inner,
        }
    }
}

/// The service made by [`RetryLayer`]. Like any tower service it is ready when its inner
/// service is; a retry waits for the inner service to be ready again before sending.
#[derive(Clone)]
pub struct RetryService<S> {
    settings: Arc<Settings>,
    inner: S,
}

impl<S: fmt::Debug> fmt::Debug for RetryService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryService")
            .field("config", &self.settings.config)
            .field("deadline", &self.settings.deadline)
            .field("attempt_timeout", &self.settings.attempt_timeout)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
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

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = &*self.settings;
        let now = Instant::now();
        if let Some(budget) = &settings.config.budget {
            budget.deposit();
        }
        let copy = settings.may_resend().then(|| copy_request(&request));
        let mut call = CallState {
            ends: settings.deadline.and_then(|d| now.checked_add(d)),
            attempts: 0,
            generation: 0,
            resent: false,
            not_processed_resent: false,
            new_connection: false,
        };
        let future = call.send(settings, now, &mut self.inner, request);
        RetryFuture {
            settings: self.settings.clone(),
            inner: self.inner.clone(),
            copy,
            call,
            state: State::Attempt { future },
        }
    }
}

/// A copy of `request` for a later attempt: method, URI, version, headers, extensions and body
/// (the body and the URI share their buffers).
fn copy_request<B: Clone>(request: &Request<B>) -> Request<B> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    copy
}

/// One call's state, in its [`RetryFuture`].
#[derive(Debug, Clone, Copy)]
struct CallState {
    /// When the call must end (`None`: no deadline, or beyond what `Instant` holds).
    ends: Option<Instant>,
    /// Attempts answered so far (the re-send not counted).
    attempts: u32,
    /// The credentials generation when the attempt under way was sent.
    generation: u64,
    resent: bool,
    /// A request the server did not process was sent again (once per call, on a new
    /// connection).
    not_processed_resent: bool,
    /// The next attempt goes on a new connection ([`NewConnection`]).
    new_connection: bool,
}

/// What to do after an attempt.
enum Next {
    Return,
    Resend,
    Retry(Duration),
}

impl CallState {
    /// Sends `request` through `inner` now, under this call's timer, noting the credentials
    /// generation it leaves with.
    fn send<S, B>(
        &mut self,
        settings: &Settings,
        now: Instant,
        inner: &mut S,
        request: Request<B>,
    ) -> TimeoutFuture<S::Future>
    where
        S: Service<Request<B>>,
    {
        if let Some(credentials) = &settings.credentials {
            self.generation = credentials.generation();
        }
        AttemptTimer::new(now, settings.attempt_timeout, self.ends).around(inner.call(request))
    }

    /// Whether `result` is a `401` to credentials replaced since the attempt was sent, the
    /// first of the call, before the deadline.
    fn refused_as_replaced<R>(
        &self,
        settings: &Settings,
        result: &Result<Response<R>, TransportError>,
    ) -> bool {
        let Some(credentials) = &settings.credentials else {
            return false;
        };
        !self.resent
            && matches!(result, Ok(response) if response.status() == StatusCode::UNAUTHORIZED)
            && credentials.generation() != self.generation
            && self.ends.is_none_or(|ends| Instant::now() < ends)
    }

    /// Decides what follows the attempt that gave `result`, a copy of whose request is `copy`.
    fn next<B, R>(
        &mut self,
        settings: &Settings,
        copy: &Request<B>,
        result: &Result<Response<R>, TransportError>,
    ) -> Next {
        if self.refused_as_replaced(settings, result) {
            self.resent = true;
            tracing::debug!("re-sending a request refused with replaced credentials");
            return Next::Resend;
        }
        self.attempts = self.attempts.saturating_add(1);
        let config = &settings.config;
        let outcome = match result {
            Ok(response) => Outcome::Status(response.status()),
            Err(error) => Outcome::Error(error),
        };
        let Decision::Retry(reason) = classify(copy.method(), outcome, config) else {
            return Next::Return;
        };
        let not_processed = reason == RetryReason::NotProcessed;
        if not_processed && self.not_processed_resent {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: a request not processed is sent again once");
            return Next::Return;
        }
        if self.attempts >= config.max_attempts {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: no attempts left");
            return Next::Return;
        }
        let retry_after = result
            .as_ref()
            .ok()
            .and_then(|r| parse_retry_after(r.headers(), SystemTime::now()));
        if retry_after.is_some_and(|wait| wait > config.max_backoff) {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: Retry-After is beyond the maximum delay");
            return Next::Return;
        }
        let delay = retry_delay(self.attempts, retry_after, config, fastrand::f64());
        if let Some(ends) = self.ends
            && Instant::now()
                .checked_add(delay)
                .is_none_or(|then| then >= ends)
        {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: the deadline would pass");
            return Next::Return;
        }
        if let Some(budget) = &config.budget
            && !budget.withdraw()
        {
            tracing::debug!(attempt = self.attempts, reason = %reason, "not retrying: retry budget exhausted");
            return Next::Return;
        }
        tracing::info!(
            attempt = self.attempts,
            reason = %reason,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying request"
        );
        if not_processed {
            self.not_processed_resent = true;
            self.new_connection = true;
        }
        if let Some(hook) = &config.hook {
            hook(&RetryEvent {
                attempt: self.attempts,
                reason,
                delay,
                method: copy.method().clone(),
                path: copy.uri().path().to_owned(),
            });
        }
        Next::Retry(delay)
    }

    /// Puts the attempt count on the call's last outcome.
    fn finish<R>(&self, result: &mut Result<Response<R>, TransportError>) {
        match result {
            // Only on retried calls: inserting the first extension allocates, and the hot path
            // (one successful attempt) should not pay for it.
            Ok(response) if self.attempts > 1 => {
                response.extensions_mut().insert(Attempts(self.attempts));
            }
            Ok(_) => {}
            Err(error) => error.set_attempts(self.attempts.max(1)),
        }
    }
}

pin_project! {
    /// The future of [`RetryService`]: one call, its attempts and the waits between them.
    pub struct RetryFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        settings: Arc<Settings>,
        inner: S,
        copy: Option<Request<B>>,
        call: CallState,
        #[pin]
        state: State<S::Future>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// An attempt under way.
        Attempt { #[pin] future: TimeoutFuture<F> },
        /// The back-off before the next attempt (none for a re-send).
        Waiting { #[pin] sleep: Option<Sleep> },
        /// Waiting for the inner service to be ready for the next attempt.
        Ready,
        /// The outcome was returned.
        Done,
    }
}

impl<S, B> fmt::Debug for RetryFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryFuture")
            .field("attempts", &self.call.attempts)
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
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Attempt { future } => {
                    let mut result = ready!(future.poll(cx));
                    let next = match this.copy.as_ref() {
                        Some(copy) => this.call.next(this.settings, copy, &result),
                        None => {
                            this.call.attempts = 1;
                            Next::Return
                        }
                    };
                    match next {
                        Next::Return => {
                            // The attempt's future goes now (a signed attempt stops counting
                            // as in flight), not when this future is dropped.
                            this.state.set(State::Done);
                            this.call.finish(&mut result);
                            return Poll::Ready(result);
                        }
                        Next::Resend => this.state.set(State::Waiting { sleep: None }),
                        Next::Retry(delay) => this.state.set(State::Waiting {
                            sleep: Some(tokio::time::sleep(delay)),
                        }),
                    }
                }
                StateProj::Waiting { sleep } => {
                    if let Some(sleep) = sleep.as_pin_mut() {
                        ready!(sleep.poll(cx));
                    }
                    this.state.set(State::Ready);
                }
                StateProj::Ready => {
                    if let Err(mut error) = ready!(this.inner.poll_ready(cx)) {
                        this.state.set(State::Done);
                        error.set_attempts(this.call.attempts.max(1));
                        return Poll::Ready(Err(error));
                    }
                    let Some(copy) = this.copy.as_ref() else {
                        this.state.set(State::Done);
                        return Poll::Ready(Err(TransportError::other(
                            "a retry without a copy of the request",
                        )));
                    };
                    let mut request = copy_request(copy);
                    if std::mem::take(&mut this.call.new_connection) {
                        request.extensions_mut().insert(NewConnection);
                    }
                    let future = this
                        .call
                        .send(this.settings, Instant::now(), this.inner, request);
                    this.state.set(State::Attempt { future });
                }
                StateProj::Done => {
                    return Poll::Ready(Err(TransportError::other(
                        "retry future polled after completion",
                    )));
                }
            }
        }
    }
}
