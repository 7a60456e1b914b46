//! [`AuthLayer`]: HTTP Basic `Authorization` from a [`SharedCredentials`] handle.

use std::task::{Context, Poll};

use http::Request;
use http::header::AUTHORIZATION;
use tower::{Layer, Service};

use crate::credentials::SharedCredentials;

/// A layer that sets `Authorization` (sensitive, replacing any) from the current credentials of
/// a [`SharedCredentials`] handle, on every call. The value was built when the credentials were
/// made; each call clones it under one read lock, so a concurrent
/// [`replace`](SharedCredentials::replace) is seen whole or not at all.
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
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.headers_mut()
            .insert(AUTHORIZATION, self.credentials.authorization());
        self.inner.call(req)
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
        let (svc, mut handle) = tower_test::mock::pair::<Request<()>, ()>();
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
            respond.send_response(());
            fut.await.unwrap();
            if let Some(c) = swap {
                shared.replace(c);
            }
        }
    }
}
