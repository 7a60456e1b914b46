//! [`HeadersLayer`]: `User-Agent` and `Accept: application/json`. (A body's `Content-Type` is
//! set by whoever encodes the body: the endpoint crate, which knows what it encoded.)

use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ACCEPT, USER_AGENT};
use http::{HeaderValue, Request};
use tower::{Layer, Service};

use crate::error::{ConfigError, ConfigErrorKind};

/// The crate version, as sent in `User-Agent`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `twilio-rust/<version> (<os> <arch>) rust/<rustc version>`, put together by the build script;
/// a `const` header value, so an invalid byte would fail the build, and cloning it is free.
const BASE: HeaderValue = HeaderValue::from_static(BASE_TEXT);
const BASE_TEXT: &str = env!("TWILIO_TRANSPORT_USER_AGENT");

/// A `User-Agent` value in the official SDKs' format:
/// `twilio-rust/<version> (<os> <arch>) rust/<rustc version or "unknown">`, then any extensions,
/// separated by spaces. Built once; cloning it does not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    value: HeaderValue,
}

impl UserAgent {
    /// The base value with the given extensions appended (e.g. `["my-app/1.2"]`).
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidUserAgent` when an extension is empty or holds anything
    /// other than visible ASCII.
    pub fn new<I, S>(extensions: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut value = String::from(BASE_TEXT);
        for ext in extensions {
            let ext = ext.as_ref();
            if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidUserAgent,
                    "user-agent extensions must be non-empty visible ASCII without spaces",
                ));
            }
            value.push(' ');
            value.push_str(ext);
        }
        if value.len() == BASE_TEXT.len() {
            return Ok(Self::default()); // no extension: the static value
        }
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(value)).map_err(|e| {
            ConfigError::new(ConfigErrorKind::InvalidUserAgent, "invalid user agent").with_source(e)
        })?;
        Ok(Self { value })
    }

    /// The header value.
    pub fn as_header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        // Built from visible ASCII only, so this never fails; fall back to "" rather than panic.
        self.value.to_str().unwrap_or_default()
    }
}

impl Default for UserAgent {
    /// The base value, without extensions.
    fn default() -> Self {
        Self { value: BASE }
    }
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A layer that sets `User-Agent` (always, replacing any) and `Accept: application/json`
/// (unless set): the same on every attempt, so it sits inside the
/// [`RetryLayer`](crate::RetryLayer), whose copy of a request without them is then cheap. It
/// never sets `Content-Type`: the body's encoder does.
#[derive(Debug, Clone, Default)]
pub struct HeadersLayer {
    user_agent: UserAgent,
}

impl HeadersLayer {
    /// Sends `user_agent`.
    pub fn new(user_agent: UserAgent) -> Self {
        Self { user_agent }
    }
}

impl<S> Layer<S> for HeadersLayer {
    type Service = HeadersService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HeadersService {
            inner,
            user_agent: self.user_agent.value.clone(),
        }
    }
}

/// The service made by [`HeadersLayer`].
#[derive(Debug, Clone)]
pub struct HeadersService<S> {
    inner: S,
    user_agent: HeaderValue,
}

impl<S> Service<Request<Bytes>> for HeadersService<S>
where
    S: Service<Request<Bytes>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Bytes>) -> Self::Future {
        let headers = req.headers_mut();
        headers.insert(USER_AGENT, self.user_agent.clone());
        headers.entry(ACCEPT).or_insert(JSON);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt as _;

    async fn headers_of(req: Request<Bytes>, ua: UserAgent) -> http::HeaderMap {
        HeadersLayer::new(ua)
            .layer(tower::service_fn(|req: Request<Bytes>| async move {
                Ok::<_, std::convert::Infallible>(req.headers().clone())
            }))
            .oneshot(req)
            .await
            .unwrap()
    }

    #[test]
    fn user_agent_format() {
        let ua = UserAgent::new(["my-app/1.0", "extra"]).unwrap();
        let re = format!(
            "twilio-rust/{VERSION} ({} {}) rust/",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        assert!(ua.as_str().starts_with(&re), "{}", ua.as_str());
        assert!(ua.as_str().ends_with(" my-app/1.0 extra"));
        // Without extensions: the static value the build script put together, same format.
        let plain = UserAgent::new(Vec::<String>::new()).unwrap();
        assert_eq!(plain, UserAgent::default());
        assert!(plain.as_str().starts_with(&re), "{}", plain.as_str());
        assert_eq!(plain.as_str().split(' ').count(), 4, "{}", plain.as_str());
        assert!(ua.as_str().starts_with(plain.as_str()));
        let rust = ua.as_str().split(' ').nth(3).unwrap();
        assert!(
            rust == "rust/unknown" || rust.starts_with("rust/1."),
            "{rust}"
        );
        for bad in ["", "a b", "é", "x\r\ny"] {
            assert_eq!(
                UserAgent::new([bad]).unwrap_err().kind(),
                ConfigErrorKind::InvalidUserAgent
            );
        }
    }

    #[tokio::test]
    async fn user_agent_and_accept_but_never_a_content_type() {
        use http::header::CONTENT_TYPE;
        let ua = UserAgent::default();
        let empty = headers_of(Request::get("/").body(Bytes::new()).unwrap(), ua.clone()).await;
        assert_eq!(empty[ACCEPT], "application/json");
        assert_eq!(empty[USER_AGENT], ua.as_str());
        assert!(!empty.contains_key(CONTENT_TYPE));

        let form = headers_of(
            Request::post("/").body(Bytes::from_static(b"a=1")).unwrap(),
            ua.clone(),
        )
        .await;
        assert!(!form.contains_key(CONTENT_TYPE), "the encoder's to set");

        let json = headers_of(
            Request::post("/")
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "text/plain")
                .header(USER_AGENT, "spoof")
                .body(Bytes::from_static(b"{}"))
                .unwrap(),
            ua.clone(),
        )
        .await;
        assert_eq!(json[CONTENT_TYPE], "application/json");
        assert_eq!(json[ACCEPT], "text/plain");
        assert_eq!(json[USER_AGENT], ua.as_str());
    }
}
