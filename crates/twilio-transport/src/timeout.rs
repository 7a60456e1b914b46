//! [`AttemptTimeoutLayer`] (bounds one attempt, body included) and [`DeadlineLayer`] (bounds a
//! whole call, retries and back-off sleeps included).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Request;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use crate::error::TransportError;

/// The instant a call must be finished by, stored in the request extensions by
/// [`DeadlineLayer`] so the retry policy never starts a back-off it cannot finish.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadlineAt(pub(crate) Instant);

pin_project! {
    /// The future of [`AttemptTimeoutService`] and [`DeadlineService`].
    #[derive(Debug)]
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
        deadline: bool,
    }
}

impl<F, T, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: From<TransportError>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) if *this.deadline => Poll::Ready(Err(TransportError::deadline().into())),
            Poll::Ready(()) => Poll::Ready(Err(TransportError::timeout().into())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A layer that fails one attempt (sending and reading the whole body) with a
/// [timeout](TransportError::is_timeout) error after `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct AttemptTimeoutLayer {
    timeout: Duration,
}

impl AttemptTimeoutLayer {
    /// Times out each call after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeoutService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AttemptTimeoutService { inner, timeout: self.timeout }
    }
}

/// The service made by [`AttemptTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct AttemptTimeoutService<S> {
    inner: S,
    timeout: Duration,
}

impl<S, R> Service<R> for AttemptTimeoutService<S>
where
    S: Service<R>,
    S::Error: From<TransportError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        TimeoutFuture { sleep: tokio::time::sleep(self.timeout), inner: self.inner.call(req), deadline: false }
    }
}

/// A layer that fails a whole call with a [deadline](TransportError::is_deadline) error after
/// `deadline`. Placed outside the retry layer it bounds every attempt and back-off together; it
/// also records the deadline in the request so the retry policy gives up (returning the last
/// real outcome) rather than sleep past it.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    deadline: Duration,
}

impl DeadlineLayer {
    /// Fails each call after `deadline`.
    pub fn new(deadline: Duration) -> Self {
        Self { deadline }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService { inner, deadline: self.deadline }
    }
}

/// The service made by [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
    deadline: Duration,
}

impl<S, B> Service<Request<B>> for DeadlineService<S>
where
    S: Service<Request<B>>,
    S::Error: From<TransportError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let now = Instant::now();
        let at = now.checked_add(self.deadline).unwrap_or(now + Duration::from_secs(86_400 * 365));
        let at = match req.extensions().get::<DeadlineAt>() {
            Some(outer) if outer.0 < at => outer.0,
            _ => at,
        };
        req.extensions_mut().insert(DeadlineAt(at));
        TimeoutFuture { sleep: tokio::time::sleep_until(at), inner: self.inner.call(req), deadline: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt as _;

    fn slow(delay: Duration) -> impl Service<Request<()>, Response = u8, Error = TransportError, Future: Send> + Clone {
        tower::service_fn(move |_req: Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, TransportError>(7)
        })
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeout_fires_and_passes_fast_calls() {
        let svc = AttemptTimeoutLayer::new(Duration::from_secs(2)).layer(slow(Duration::from_secs(1)));
        assert_eq!(svc.oneshot(Request::new(())).await.unwrap(), 7);
        let start = Instant::now();
        let svc = AttemptTimeoutLayer::new(Duration::from_secs(2)).layer(slow(Duration::from_secs(3)));
        let err = svc.oneshot(Request::new(())).await.unwrap_err();
        assert!(err.is_timeout() && !err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_fires_and_is_recorded_for_inner_layers() {
        let start = Instant::now();
        let svc = DeadlineLayer::new(Duration::from_secs(5)).layer(tower::service_fn(|req: Request<()>| async move {
            let at = req.extensions().get::<DeadlineAt>().unwrap().0;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, TransportError>(at)
        }));
        let err = svc.oneshot(Request::new(())).await.unwrap_err();
        assert!(err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        // The tighter of two nested deadlines wins.
        let inner = DeadlineLayer::new(Duration::from_secs(10))
            .layer(tower::service_fn(|req: Request<()>| async move {
                Ok::<_, TransportError>(req.extensions().get::<DeadlineAt>().unwrap().0)
            }));
        let at = DeadlineLayer::new(Duration::from_secs(3)).layer(inner).oneshot(Request::new(())).await.unwrap();
        assert_eq!(at - Instant::now(), Duration::from_secs(3));
    }
}
