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
            Poll::Ready(()) if *this.deadline => {
                Poll::Ready(Err(TransportError::deadline().into()))
            }
            Poll::Ready(()) => Poll::Ready(Err(TransportError::timeout().into())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The instant a whole call must end by, put on each retried request by the
/// [`RetryPolicy`](crate::RetryPolicy) when it has a deadline, so that
/// [`AttemptTimeoutService`] can cut the last attempt short.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallDeadline(pub(crate) Instant);

/// A layer that fails one attempt (sending and reading the whole body) with a
/// [timeout](TransportError::is_timeout) error after `timeout`.
///
/// With [`call_deadline`](Self::call_deadline) it also enforces the overall deadline of a call
/// with the same single timer: the first attempt ends at the earlier of the two, and later
/// attempts at the deadline the retry policy records on them (give the same duration to
/// [`RetryLayer::deadline`](crate::RetryLayer::deadline)), failing with
/// [`is_deadline`](TransportError::is_deadline) when that is what ends them. This is how the
/// default stack bounds a call without a second timer; [`DeadlineLayer`] is the stand-alone
/// alternative.
#[derive(Debug, Clone, Copy)]
pub struct AttemptTimeoutLayer {
    timeout: Duration,
    call_deadline: Option<Duration>,
}

impl AttemptTimeoutLayer {
    /// Times out each call after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            call_deadline: None,
        }
    }

    /// Also ends attempts at the call's overall deadline (see the type docs).
    pub fn call_deadline(mut self, deadline: Duration) -> Self {
        self.call_deadline = Some(deadline);
        self
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeoutService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AttemptTimeoutService {
            inner,
            timeout: self.timeout,
            call_deadline: self.call_deadline,
        }
    }
}

/// The service made by [`AttemptTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct AttemptTimeoutService<S> {
    inner: S,
    timeout: Duration,
    call_deadline: Option<Duration>,
}

impl<S, B> Service<Request<B>> for AttemptTimeoutService<S>
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

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let timer = AttemptTimer::start(&req, self.timeout, self.call_deadline);
        timer.around(self.inner.call(req))
    }
}

/// One attempt's timer: it ends at the attempt timeout or at the call's deadline, whichever
/// comes first, and says which of the two it is. The one place that choice is made.
pub(crate) struct AttemptTimer {
    sleep: Sleep,
    deadline: bool,
}

impl AttemptTimer {
    /// Starts now. The call's deadline is the one the retry policy stamped on the request
    /// (a retry), else `call_deadline` from now (a first attempt), else none.
    pub(crate) fn start<B>(
        req: &Request<B>,
        timeout: Duration,
        call_deadline: Option<Duration>,
    ) -> Self {
        let now = Instant::now();
        let attempt_end = now.checked_add(timeout);
        let call_end = match (req.extensions().get::<CallDeadline>(), call_deadline) {
            (Some(CallDeadline(at)), _) => Some(*at),
            (None, Some(total)) => now.checked_add(total),
            (None, None) => None,
        };
        let (at, deadline) = match (attempt_end, call_end) {
            (Some(a), Some(c)) if c <= a => (c, true),
            (Some(a), _) => (a, false),
            (None, Some(c)) => (c, true),
            // Both beyond what `Instant` can hold: a year is as good as forever here.
            (None, None) => (now + Duration::from_secs(365 * 86_400), false),
        };
        Self {
            sleep: tokio::time::sleep_until(at),
            deadline,
        }
    }

    /// `inner`, bounded by this timer.
    pub(crate) fn around<F>(self, inner: F) -> TimeoutFuture<F> {
        TimeoutFuture {
            inner,
            sleep: self.sleep,
            deadline: self.deadline,
        }
    }
}

/// A layer that fails a whole call with a [deadline](TransportError::is_deadline) error after
/// `deadline`. Placed outside the retry layer it bounds every attempt and back-off together;
/// give the same duration to [`RetryLayer::deadline`](crate::RetryLayer::deadline) so the retry
/// policy gives up (returning the last real outcome) rather than start a back-off that cannot
/// finish in time.
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
        DeadlineService {
            inner,
            deadline: self.deadline,
        }
    }
}

/// The service made by [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
    deadline: Duration,
}

impl<S, R> Service<R> for DeadlineService<S>
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
        TimeoutFuture {
            sleep: tokio::time::sleep(self.deadline),
            inner: self.inner.call(req),
            deadline: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt as _;

    fn slow(
        delay: Duration,
    ) -> impl Service<Request<()>, Response = u8, Error = TransportError, Future: Send> + Clone
    {
        tower::service_fn(move |_req: Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, TransportError>(7)
        })
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeout_fires_and_passes_fast_calls() {
        let svc =
            AttemptTimeoutLayer::new(Duration::from_secs(2)).layer(slow(Duration::from_secs(1)));
        assert_eq!(svc.oneshot(Request::new(())).await.unwrap(), 7);
        let start = Instant::now();
        let svc =
            AttemptTimeoutLayer::new(Duration::from_secs(2)).layer(slow(Duration::from_secs(3)));
        let err = svc.oneshot(Request::new(())).await.unwrap_err();
        assert!(err.is_timeout() && !err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeout_enforces_the_call_deadline() {
        // First attempt: the earlier of the two ends it, with the matching kind.
        let start = Instant::now();
        let svc =
            AttemptTimeoutLayer::new(Duration::from_secs(5)).call_deadline(Duration::from_secs(2));
        let err = svc
            .layer(slow(Duration::from_secs(9)))
            .oneshot(Request::new(()))
            .await
            .unwrap_err();
        assert!(err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // A retried attempt carries the call's deadline.
        let start = Instant::now();
        let mut req = Request::new(());
        req.extensions_mut()
            .insert(CallDeadline(start + Duration::from_secs(1)));
        let svc =
            AttemptTimeoutLayer::new(Duration::from_secs(5)).call_deadline(Duration::from_secs(60));
        let err = svc
            .layer(slow(Duration::from_secs(9)))
            .oneshot(req)
            .await
            .unwrap_err();
        assert!(err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        // Attempt timeout first.
        let start = Instant::now();
        let svc =
            AttemptTimeoutLayer::new(Duration::from_secs(1)).call_deadline(Duration::from_secs(60));
        let err = svc
            .layer(slow(Duration::from_secs(9)))
            .oneshot(Request::new(()))
            .await
            .unwrap_err();
        assert!(err.is_timeout() && !err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let svc = AttemptTimeoutLayer::new(Duration::MAX).call_deadline(Duration::MAX);
        assert_eq!(
            svc.layer(slow(Duration::from_secs(1)))
                .oneshot(Request::new(()))
                .await
                .unwrap(),
            7
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_fires() {
        let start = Instant::now();
        let svc = DeadlineLayer::new(Duration::from_secs(5)).layer(slow(Duration::from_secs(60)));
        let err = svc.oneshot(Request::new(())).await.unwrap_err();
        assert!(err.is_deadline());
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let svc = DeadlineLayer::new(Duration::from_secs(5)).layer(slow(Duration::from_secs(4)));
        assert_eq!(svc.oneshot(Request::new(())).await.unwrap(), 7);
    }
}
