//! One attempt's timer, owned by the [`RetryLayer`](crate::RetryLayer): it ends the attempt
//! (sending and reading the whole body) at the attempt timeout or at the call's deadline,
//! whichever comes first, and says which of the two it was.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::error::TransportError;

/// When an attempt sent `now` must end, and whether that end is the call's deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptTimer {
    end: Option<(Instant, bool)>,
}

impl AttemptTimer {
    /// The earlier of `now + timeout` (a [timeout](TransportError::is_timeout)) and
    /// `call_end` (a [deadline](TransportError::is_deadline)); none when neither is set. An end
    /// beyond what `Instant` can hold is no end.
    pub(crate) fn new(now: Instant, timeout: Option<Duration>, call_end: Option<Instant>) -> Self {
        let attempt_end = timeout.and_then(|t| now.checked_add(t));
        let end = match (attempt_end, call_end) {
            (Some(a), Some(c)) if c <= a => Some((c, true)),
            (Some(a), _) => Some((a, false)),
            (None, Some(c)) => Some((c, true)),
            (None, None) => None,
        };
        Self { end }
    }

    /// `inner`, bounded by this timer.
    pub(crate) fn around<F>(self, inner: F) -> TimeoutFuture<F> {
        TimeoutFuture {
            inner,
            sleep: self.end.map(|(at, _)| tokio::time::sleep_until(at)),
            deadline: self.end.is_some_and(|(_, deadline)| deadline),
        }
    }
}

pin_project! {
    /// An attempt's future under its [`AttemptTimer`].
    #[derive(Debug)]
    pub(crate) struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<Sleep>,
        deadline: bool,
    }
}

impl<F, T> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<T, TransportError>>,
{
    type Output = Result<T, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        match this.sleep.as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) if *this.deadline => Poll::Ready(Err(TransportError::deadline())),
            Some(Poll::Ready(())) => Poll::Ready(Err(TransportError::timeout())),
            Some(Poll::Pending) | None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn after(delay: Duration) -> Result<u8, TransportError> {
        tokio::time::sleep(delay).await;
        Ok(7)
    }

    #[tokio::test(start_paused = true)]
    async fn the_earlier_end_wins_and_names_itself() {
        let secs = Duration::from_secs;
        // The attempt timeout first: a timeout.
        let start = Instant::now();
        let timer = AttemptTimer::new(start, Some(secs(2)), Some(start + secs(60)));
        let err = timer.around(after(secs(9))).await.unwrap_err();
        assert!(err.is_timeout() && !err.is_deadline(), "{err:?}");
        assert_eq!(start.elapsed(), secs(2));
        // The call's deadline first: a deadline.
        let start = Instant::now();
        let timer = AttemptTimer::new(start, Some(secs(5)), Some(start + secs(1)));
        let err = timer.around(after(secs(9))).await.unwrap_err();
        assert!(err.is_deadline(), "{err:?}");
        assert_eq!(start.elapsed(), secs(1));
        // Only a deadline, only a timeout, neither; a fast attempt passes.
        let start = Instant::now();
        let timer = AttemptTimer::new(start, None, Some(start + secs(3)));
        assert!(
            timer
                .around(after(secs(9)))
                .await
                .unwrap_err()
                .is_deadline()
        );
        let timer = AttemptTimer::new(Instant::now(), Some(secs(3)), None);
        assert!(timer.around(after(secs(9))).await.unwrap_err().is_timeout());
        let timer = AttemptTimer::new(Instant::now(), None, None);
        assert_eq!(timer.around(after(secs(9))).await.unwrap(), 7);
        let timer = AttemptTimer::new(Instant::now(), Some(Duration::MAX), None);
        assert_eq!(timer.around(after(secs(1))).await.unwrap(), 7);
    }
}
