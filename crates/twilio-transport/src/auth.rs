//! [`AuthLayer`]: HTTP Basic `Authorization` from a [`SharedCredentials`] handle, each attempt
//! counted as in flight with the credentials it was signed with.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Request;
use http::header::AUTHORIZATION;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::credentials::{SharedCredentials, Signed};

/// A layer that sets `Authorization` (sensitive, replacing any) from the current credentials of
/// a [`SharedCredentials`] handle, on every call. The value was built when the credentials were
/// made; each call clones it under one read lock, so a concurrent
/// [`replace`](SharedCredentials::replace) is seen whole or not at all.
///
/// While a request is on the wire it counts as in flight with the generation it was signed
/// with, for [`SharedCredentials::wait_for_replaced`]. The one re-send of a `401` to credentials
/// replaced in the meantime is the [`RetryLayer`](crate::RetryLayer)'s, given the same handle
/// with [`resend_on_replaced`](crate::RetryLayer::resend_on_replaced): it holds the copy of the
/// request anyway.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    credentials: SharedCredentials,
}

impl AuthLayer {
    /// Authenticates with `credentials`.
    pub fn new(credentials: impl Into<SharedCredentials>) -> Self {
        Self {
            credentials: credentials.into(),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            credentials: self.credentials.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    credentials: SharedCredentials,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The request counts as in flight with these credentials until `signed` is released
        // (answered) or dropped.
        let signed = self.credentials.sign();
        request
            .headers_mut()
            .insert(AUTHORIZATION, signed.authorization.clone());
        AuthFuture {
            future: self.inner.call(request),
            signed,
        }
    }
}

pin_project! {
    /// The future of [`AuthService`]: the attempt, counted as in flight until it is answered
    /// (or dropped).
    pub struct AuthFuture<F> {
        #[pin]
        future: F,
        signed: Signed,
    }
}

impl<F> std::fmt::Debug for AuthFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFuture")
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for AuthFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        this.signed.release();
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;
    use base64::Engine as _;
    use futures_util::FutureExt as _;
    use http::Response;
    use tower::ServiceExt as _;
    use twilio_types::{AccountSid, AuthToken};

    #[tokio::test(start_paused = true)]
    async fn sets_sensitive_basic_header_and_follows_replace() {
        let ac = AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        let old = Credentials::from_auth_token(ac, AuthToken::new("old").unwrap()).unwrap();
        let new = Credentials::from_auth_token(ac, AuthToken::new("new").unwrap()).unwrap();
        let shared = SharedCredentials::new(old);
        let (svc, mut handle) = tower_test::mock::pair::<Request<()>, Response<()>>();
        let mut svc = AuthLayer::new(shared.clone()).layer(svc);
        let b64 = |t: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{t}", ac.as_str()))
            )
        };
        for (token, swap) in [("old", Some(new)), ("new", None)] {
            let req = Request::get("/")
                .header(AUTHORIZATION, "Bearer spoof")
                .body(())
                .unwrap();
            let fut = svc.ready().await.unwrap().call(req);
            let (seen, respond) = handle.next_request().await.unwrap();
            assert_eq!(seen.headers()[AUTHORIZATION], b64(token).as_str());
            assert!(seen.headers()[AUTHORIZATION].is_sensitive());
            assert_eq!(seen.headers().get_all(AUTHORIZATION).iter().count(), 1);
            respond.send_response(Response::new(()));
            fut.await.unwrap();
            if let Some(c) = swap {
                shared.replace(c);
            }
        }
    }

    fn credentials(token: &str) -> Credentials {
        let ac = AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        Credentials::from_auth_token(ac, AuthToken::new(token).unwrap()).unwrap()
    }

    fn status(code: u16) -> Response<()> {
        let mut response = Response::new(());
        *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
        response
    }

    /// The attempt counts as in flight under the generation it was signed with until it is
    /// answered; the layer alone returns a 401 as it is (the re-send is the retry layer's).
    #[tokio::test(start_paused = true)]
    async fn an_attempt_counts_as_in_flight_until_answered() {
        let shared = SharedCredentials::new(credentials("old"));
        let (svc, mut handle) = tower_test::mock::pair::<Request<()>, Response<()>>();
        let mut svc = AuthLayer::new(shared.clone()).layer(svc);
        let fut = tokio::spawn(svc.ready().await.unwrap().call(Request::new(())));
        let (_, respond) = handle.next_request().await.unwrap();
        assert_eq!(
            shared.replaced_in_flight(),
            0,
            "current generation: not replaced"
        );
        shared.replace(credentials("new"));
        assert_eq!(shared.replaced_in_flight(), 1);
        assert!(!shared.wait_for_replaced(std::time::Duration::ZERO).await);
        respond.send_response(status(401));
        assert_eq!(fut.await.unwrap().unwrap().status(), 401);
        assert_eq!(shared.replaced_in_flight(), 0);
        assert!(shared.wait_for_replaced(std::time::Duration::ZERO).await);
        assert!(
            handle.next_request().now_or_never().is_none(),
            "no re-send here"
        );
    }

    /// A failed attempt (no response) no longer counts as in flight, nor an abandoned one.
    #[tokio::test(start_paused = true)]
    async fn an_error_or_a_drop_releases_the_attempt() {
        let shared = SharedCredentials::new(credentials("old"));
        let (svc, mut handle) = tower_test::mock::pair::<Request<()>, Response<()>>();
        let mut svc = AuthLayer::new(shared.clone()).layer(svc);
        let fut = tokio::spawn(svc.ready().await.unwrap().call(Request::new(())));
        let (_, respond) = handle.next_request().await.unwrap();
        shared.replace(credentials("new"));
        respond.send_error(std::io::Error::other("reset"));
        assert!(fut.await.unwrap().is_err());
        assert_eq!(shared.replaced_in_flight(), 0);
        let fut = svc.ready().await.unwrap().call(Request::new(()));
        let _request = handle.next_request().await.unwrap();
        shared.replace(credentials("newer"));
        assert_eq!(shared.replaced_in_flight(), 1);
        drop(fut);
        assert_eq!(shared.replaced_in_flight(), 0);
    }
}
