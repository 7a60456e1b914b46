//! [`AuthLayer`]: HTTP Basic `Authorization` from a [`SharedCredentials`] handle, and the one
//! re-send of a request refused because its credentials were replaced while it was in flight.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::header::AUTHORIZATION;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::credentials::{SharedCredentials, Signed};

/// A layer that sets `Authorization` (sensitive, replacing any) from the current credentials of
/// a [`SharedCredentials`] handle, on every call. The value was built when the credentials were
/// made; each call clones it under one read lock, so a concurrent
/// [`replace`](SharedCredentials::replace) is seen whole or not at all.
///
/// **Rotation-safe.** A request answered `401 Unauthorized` that was signed with credentials
/// that have been [replaced](SharedCredentials::replace) since is sent again, once, with the
/// current credentials, and that answer is returned. This is safe for every method: a `401`
/// means Twilio did not act on the request. It is what keeps the requests in flight during a
/// token rotation from failing when the old token stops working. While a request is on the
/// wire it counts as in flight for [`SharedCredentials::wait_for_replaced`].
///
/// The body type must be `Clone` (as `Bytes` is) so that the request can be re-sent.
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

impl<S, B, R> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    B: Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = AuthFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The copy shares the body's and URI's buffers; the re-send gets a fresh service clone
        // (the one polled ready is used now, as `Service` requires).
        let resend = Resend {
            service: self.inner.clone(),
            request: request.clone(),
            credentials: self.credentials.clone(),
            ready: false,
        };
        let (request, signed) = sign(&self.credentials, request);
        AuthFuture {
            future: self.inner.call(request),
            signed,
            resend: Some(resend),
        }
    }
}

/// Sets the current `Authorization` on `request`, and returns what it was signed with.
fn sign<B>(credentials: &SharedCredentials, mut request: Request<B>) -> (Request<B>, Signed) {
    let signed = credentials.sign();
    request
        .headers_mut()
        .insert(AUTHORIZATION, signed.authorization.clone());
    (request, signed)
}

/// What a re-send needs: a service, an unsigned copy of the request and the credentials.
struct Resend<S, B> {
    service: S,
    request: Request<B>,
    credentials: SharedCredentials,
    /// Whether the re-send is under way (waiting for `service` to be ready).
    ready: bool,
}

pin_project! {
    /// The future of [`AuthService`]: the attempt, and at most one re-send after a `401` to
    /// credentials that were replaced in the meantime.
    pub struct AuthFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        future: S::Future,
        signed: Signed,
        resend: Option<Resend<S, B>>,
    }
}

impl<S, B> std::fmt::Debug for AuthFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFuture")
            .field("signed", &self.signed)
            .field("can_resend", &self.resend.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Future for AuthFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Output = Result<Response<R>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some(resend) = this.resend.as_mut().filter(|resend| resend.ready) {
                if let Err(err) = ready!(resend.service.poll_ready(cx)) {
                    return Poll::Ready(Err(err));
                }
                let Some(mut resend) = this.resend.take() else {
                    unreachable!("checked just above")
                };
                let (request, signed) = sign(&resend.credentials, resend.request);
                tracing::debug!(
                    generation = signed.generation,
                    "re-sending a request refused with replaced credentials"
                );
                *this.signed = signed;
                this.future.set(resend.service.call(request));
                continue;
            }
            let result = ready!(this.future.as_mut().poll(cx));
            this.signed.release();
            let refused_as_replaced = matches!(&result, Ok(response)
                if response.status() == StatusCode::UNAUTHORIZED && this.signed.is_replaced());
            match this.resend.as_mut() {
                Some(resend) if refused_as_replaced => resend.ready = true,
                _ => return Poll::Ready(result),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;
    use base64::Engine as _;
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
        *response.status_mut() = StatusCode::from_u16(code).unwrap();
        response
    }

    /// The attempt counts as in flight until answered; a 401 to replaced credentials is
    /// re-sent once, and that attempt counts under the new generation.
    #[tokio::test(start_paused = true)]
    async fn a_401_to_replaced_credentials_is_resent_once() {
        let shared = SharedCredentials::new(credentials("old"));
        let (svc, mut handle) = tower_test::mock::pair::<Request<()>, Response<()>>();
        let mut svc = AuthLayer::new(shared.clone()).layer(svc);
        let fut = tokio::spawn(svc.ready().await.unwrap().call(Request::new(())));
        let (_, respond) = handle.next_request().await.unwrap();
        shared.replace(credentials("new"));
        assert_eq!(shared.replaced_in_flight(), 1);
        respond.send_response(status(401));

        let (resent, respond) = handle.next_request().await.unwrap();
        assert_eq!(
            resent.headers()[AUTHORIZATION],
            credentials("new").authorization()
        );
        assert_eq!(shared.replaced_in_flight(), 0);
        assert!(shared.wait_for_replaced(std::time::Duration::ZERO).await);
        // Replaced again while the re-send is out: its 401 is returned all the same.
        shared.replace(credentials("newer"));
        respond.send_response(status(401));
        assert_eq!(fut.await.unwrap().unwrap().status(), 401);
    }

    /// A failed attempt (no response) is not re-sent, and no longer counts as in flight.
    #[tokio::test(start_paused = true)]
    async fn an_error_is_returned_and_releases_the_attempt() {
        let shared = SharedCredentials::new(credentials("old"));
        let (svc, mut handle) = tower_test::mock::pair::<Request<()>, Response<()>>();
        let mut svc = AuthLayer::new(shared.clone()).layer(svc);
        let fut = tokio::spawn(svc.ready().await.unwrap().call(Request::new(())));
        let (_, respond) = handle.next_request().await.unwrap();
        shared.replace(credentials("new"));
        respond.send_error(std::io::Error::other("reset"));
        assert!(fut.await.unwrap().is_err());
        assert_eq!(shared.replaced_in_flight(), 0);
        // And an abandoned (dropped) attempt is released too.
        let fut = svc.ready().await.unwrap().call(Request::new(()));
        let _request = handle.next_request().await.unwrap();
        shared.replace(credentials("newer"));
        assert_eq!(shared.replaced_in_flight(), 1);
        drop(fut);
        assert_eq!(shared.replaced_in_flight(), 0);
    }
}
