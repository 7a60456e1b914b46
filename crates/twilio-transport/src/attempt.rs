//! [`Attempt`], the client's per-attempt step under tower's `Retry`: the standard headers, the
//! signature and the attempt timer in one service. It does what [`HeadersLayer`], [`AuthLayer`]
//! and [`AttemptTimeoutLayer`] do stacked in that order, through the same functions; being one
//! service, a call clones one `Arc` for them and moves the attempt's future through one level
//! instead of three (see `docs/benchmarks.md`).
//!
//! [`HeadersLayer`]: crate::HeadersLayer
//! [`AuthLayer`]: crate::AuthLayer
//! [`AttemptTimeoutLayer`]: crate::AttemptTimeoutLayer

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request};
use tower::Service;

use crate::auth::{AuthFuture, sign};
use crate::credentials::SharedCredentials;
use crate::error::TransportError;
use crate::headers::set_standard_headers;
use crate::timeout::{AttemptTimer, TimeoutFuture};

/// What every attempt of a client is sent with.
#[derive(Debug)]
pub(crate) struct AttemptSettings {
    pub(crate) user_agent: HeaderValue,
    pub(crate) credentials: SharedCredentials,
    pub(crate) timeout: Duration,
    /// The whole call's deadline, which also ends a first attempt (retries carry theirs).
    pub(crate) call_deadline: Duration,
}

/// Sends one attempt through `inner`: headers, then `Authorization`, then the timer, as the
/// three public layers would.
#[derive(Debug, Clone)]
pub(crate) struct Attempt<S> {
    settings: Arc<AttemptSettings>,
    inner: S,
}

impl<S> Attempt<S> {
    pub(crate) fn new(settings: AttemptSettings, inner: S) -> Self {
        Self {
            settings: Arc::new(settings),
            inner,
        }
    }
}

impl<S> Service<Request<Bytes>> for Attempt<S>
where
    S: Service<Request<Bytes>, Error = TransportError>,
{
    type Response = S::Response;
    type Error = TransportError;
    type Future = AuthFuture<TimeoutFuture<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Bytes>) -> Self::Future {
        let settings = &*self.settings;
        set_standard_headers(&mut request, &settings.user_agent);
        let signed = sign(&mut request, &settings.credentials);
        let timer = AttemptTimer::start(&request, settings.timeout, Some(settings.call_deadline));
        AuthFuture::new(timer.around(self.inner.call(request)), signed)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use http::Response;
    use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
    use tower::{ServiceBuilder, ServiceExt as _};
    use twilio_types::{AccountSid, AuthToken};

    use super::*;
    use crate::timeout::CallDeadline;
    use crate::{AttemptTimeoutLayer, AuthLayer, Credentials, HeadersLayer, UserAgent};

    fn token(token: &str) -> Credentials {
        let ac = AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        Credentials::from_auth_token(ac, AuthToken::new(token).unwrap()).unwrap()
    }

    fn credentials() -> SharedCredentials {
        SharedCredentials::new(token("secret-token"))
    }

    fn settings(
        credentials: &SharedCredentials,
        timeout: Duration,
        deadline: Duration,
    ) -> AttemptSettings {
        AttemptSettings {
            user_agent: UserAgent::new(["app/1"]).unwrap().as_header_value().clone(),
            credentials: credentials.clone(),
            timeout,
            call_deadline: deadline,
        }
    }

    /// The request as the transport sees it, through `service`.
    async fn seen<S>(service: S, request: Request<Bytes>) -> Request<Bytes>
    where
        S: Service<Request<Bytes>, Response = Request<Bytes>, Error = TransportError>,
    {
        service.oneshot(request).await.unwrap()
    }

    fn echo() -> impl Service<
        Request<Bytes>,
        Response = Request<Bytes>,
        Error = TransportError,
        Future: Future + Send,
    > + Clone {
        tower::service_fn(|req: Request<Bytes>| async move { Ok::<_, TransportError>(req) })
    }

    #[tokio::test(start_paused = true)]
    async fn sends_what_the_three_layers_send() {
        let shared = credentials();
        let layered = || {
            ServiceBuilder::new()
                .layer(HeadersLayer::new(UserAgent::new(["app/1"]).unwrap()))
                .layer(AuthLayer::new(shared.clone()))
                .layer(
                    AttemptTimeoutLayer::new(Duration::from_secs(5))
                        .call_deadline(Duration::from_secs(9)),
                )
                .service(echo())
        };
        let requests = || {
            [
                Request::get("/v1/a").body(Bytes::new()).unwrap(),
                Request::post("/v1/b")
                    .body(Bytes::from_static(b"x=1"))
                    .unwrap(),
                Request::post("/v1/c")
                    .header(CONTENT_TYPE, "application/json")
                    .header(ACCEPT, "text/plain")
                    .header(USER_AGENT, "spoof")
                    .header(AUTHORIZATION, "Bearer spoof")
                    .body(Bytes::from_static(b"{}"))
                    .unwrap(),
            ]
        };
        for (a, b) in requests().into_iter().zip(requests()) {
            let fused = Attempt::new(
                settings(&shared, Duration::from_secs(5), Duration::from_secs(9)),
                echo(),
            );
            let (fused, layered) = (seen(fused, a).await, seen(layered(), b).await);
            assert_eq!(fused.headers(), layered.headers());
            assert!(fused.headers()[AUTHORIZATION].is_sensitive());
            assert_eq!(fused.uri(), layered.uri());
            assert_eq!(fused.body(), layered.body());
        }
    }

    fn never() -> impl Service<
        Request<Bytes>,
        Response = Response<Bytes>,
        Error = TransportError,
        Future: Future + Send,
    > + Clone {
        tower::service_fn(|_: Request<Bytes>| std::future::pending())
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_ends_at_the_attempt_timeout_or_the_deadline() {
        let shared = credentials();
        // The attempt timeout comes first: a timeout.
        let attempt = Attempt::new(
            settings(&shared, Duration::from_secs(5), Duration::from_secs(9)),
            never(),
        );
        let started = tokio::time::Instant::now();
        let err = attempt
            .clone()
            .oneshot(Request::new(Bytes::new()))
            .await
            .unwrap_err();
        assert!(err.is_timeout() && !err.is_deadline(), "{err:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        // The call's deadline comes first: a deadline.
        let attempt = Attempt::new(
            settings(&shared, Duration::from_secs(5), Duration::from_secs(3)),
            never(),
        );
        let err = attempt
            .oneshot(Request::new(Bytes::new()))
            .await
            .unwrap_err();
        assert!(err.is_deadline(), "{err:?}");
        // A retry's stamped deadline beats the configured one.
        let attempt = Attempt::new(
            settings(&shared, Duration::from_secs(5), Duration::from_secs(9)),
            never(),
        );
        let mut retry = Request::new(Bytes::new());
        let at = tokio::time::Instant::now() + Duration::from_secs(1);
        retry.extensions_mut().insert(CallDeadline(at));
        let err = attempt.oneshot(retry).await.unwrap_err();
        assert!(err.is_deadline(), "{err:?}");
        assert_eq!(tokio::time::Instant::now(), at);
    }

    /// An attempt counts as in flight with the credentials it was signed with until it ends,
    /// here by its timer.
    #[tokio::test(start_paused = true)]
    async fn an_attempt_is_in_flight_until_its_timer_ends_it() {
        let shared = credentials();
        let attempt = Attempt::new(
            settings(&shared, Duration::from_secs(5), Duration::from_secs(9)),
            never(),
        );
        let call = tokio::spawn(attempt.oneshot(Request::new(Bytes::new())));
        tokio::task::yield_now().await;
        shared.replace(token("next-token"));
        assert_eq!(shared.replaced_in_flight(), 1);
        let err = call.await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert_eq!(shared.replaced_in_flight(), 0);
    }
}
