//! [`WebhookLayer`] (feature `tower`): validates Twilio webhooks in front of any
//! `tower::Service<http::Request<B>>` — axum, hyper, tonic's HTTP stack.
//!
//! The layer buffers the body (up to a limit, 64 KiB by default; larger is `413 Payload Too
//! Large`), rebuilds the public URL Twilio requested, validates, and then either answers
//! `403 Forbidden` with an empty body or passes the request on with the same body bytes and the
//! [`Verified`] result in its extensions.
//!
//! Why it answered itself is never told to the caller. It goes to a `tracing` warning with a
//! stable `code`, and into the response's extensions as a [`Refusal`], for code outside the
//! layer that asks (a middleware counting rejections by reason, a test).
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{Layer, ServiceExt};
//! use twilio_webhooks::tower::{Refusal, WebhookLayer};
//! use twilio_webhooks::{Algorithm, AuthToken, Rejection, Validator, sign};
//!
//! # tokio_test_block_on(async {
//! let token = "0123456789abcdef0123456789abcdef";
//! let validator = Validator::new(AuthToken::new(token)?);
//! // The public URL is configured: behind a load balancer the server cannot know it.
//! let layer = WebhookLayer::new(validator, "https://hooks.example.com");
//! let app = layer.layer(tower::service_fn(|request: Request<Full<Bytes>>| async move {
//!     Ok::<_, Infallible>(Response::new(request.into_body()))
//! }));
//!
//! let signature = sign(Algorithm::HmacSha1, token, "https://hooks.example.com/sms", &[("Body", "hi")]);
//! let request = Request::post("/sms")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .header("x-twilio-signature", signature)
//!     .body(Full::new(Bytes::from_static(b"Body=hi")))?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let forged = Request::post("/sms").body(Full::new(Bytes::from_static(b"Body=hi")))?;
//! let response = app.oneshot(forged).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! let refusal = response.extensions().get::<Refusal>();
//! assert_eq!(refusal, Some(&Refusal::Rejected(Rejection::MissingSignature)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let waker = std::task::Waker::noop();
//! #     let mut cx = std::task::Context::from_waker(&waker);
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::{
    Rejection, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, Validator, Verified, WebhookRequest,
};

/// Why [`WebhookService`] answered a request itself instead of passing it on: in that
/// response's extensions (`response.extensions().get::<Refusal>()`), never in its body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `403 Forbidden`: the validator rejected the request.
    Rejected(Rejection),
    /// `413 Payload Too Large`: the body (declared or read) is over the layer's limit.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// `400 Bad Request`: reading the body failed.
    BodyUnreadable,
}

impl Refusal {
    /// A short, stable name for logs and metrics: the [`Rejection`]'s code,
    /// `"body_too_large"` or `"body_unreadable"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(rejection) => rejection.code(),
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyUnreadable => "body_unreadable",
        }
    }

    /// The status the layer answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Rejected(_) => StatusCode::FORBIDDEN,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(rejection) => rejection.fmt(f),
            Self::BodyTooLarge { limit } => write!(f, "the body is over the {limit}-byte limit"),
            Self::BodyUnreadable => f.write_str("reading the body failed"),
        }
    }
}

/// The body limit unless configured otherwise: 64 KiB (Twilio's webhooks are a few KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

type UrlFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// How the layer learns the URL Twilio requested.
#[derive(Clone)]
enum PublicUrl {
    /// A base URL (scheme, host, optional path prefix) + the request's path and query.
    Base(String),
    /// The user's function of the request.
    Function(Arc<UrlFn>),
}

#[derive(Clone)]
struct Config {
    validator: Validator,
    url: PublicUrl,
    body_limit: usize,
    trust_forwarded: bool,
}

/// A tower [`Layer`](tower::Layer) that validates Twilio webhook signatures; see the
/// [module docs](self).
#[derive(Clone)]
pub struct WebhookLayer {
    config: Arc<Config>,
}

impl fmt::Debug for WebhookLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match &self.config.url {
            PublicUrl::Base(base) => base.as_str(),
            PublicUrl::Function(_) => "<function>",
        };
        f.debug_struct("WebhookLayer")
            .field("validator", &self.config.validator)
            .field("public_url", &url)
            .field("body_limit", &self.config.body_limit)
            .field("trust_forwarded_headers", &self.config.trust_forwarded)
            .finish()
    }
}

impl WebhookLayer {
    /// Validates with `validator`, taking the URL Twilio requested to be `public_base_url`
    /// (`https://hooks.example.com`, or with a path prefix a proxy strips,
    /// `https://example.com/api`) followed by the request's path and query.
    pub fn new(validator: Validator, public_base_url: impl Into<String>) -> Self {
        let base = public_base_url.into().trim_end_matches('/').to_owned();
        Self::with(validator, PublicUrl::Base(base))
    }

    /// Validates with `validator`, taking the URL Twilio requested from `url` (return `None`
    /// to reject the request). Forwarded headers are the function's business.
    pub fn with_url_fn(
        validator: Validator,
        url: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self::with(validator, PublicUrl::Function(Arc::new(url)))
    }

    fn with(validator: Validator, url: PublicUrl) -> Self {
        Self {
            config: Arc::new(Config {
                validator,
                url,
                body_limit: DEFAULT_BODY_LIMIT,
                trust_forwarded: false,
            }),
        }
    }

    /// The largest body buffered (default [`DEFAULT_BODY_LIMIT`]); a larger one is answered
    /// `413 Payload Too Large` without calling the inner service.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).body_limit = bytes;
        self
    }

    /// Whether `X-Forwarded-Proto` and `X-Forwarded-Host` replace the base URL's scheme and
    /// host (default off). Turn it on only behind a proxy that sets them and strips what
    /// clients send: otherwise anyone chooses the URL that is checked.
    #[must_use]
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        Arc::make_mut(&mut self.config).trust_forwarded = trust;
        self
    }
}

impl<S> tower::Layer<S> for WebhookLayer {
    type Service = WebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`WebhookLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct WebhookService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> fmt::Debug for WebhookService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService").finish_non_exhaustive()
    }
}

/// What [`WebhookService`] returns.
pub type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, B, R> tower::Service<Request<B>> for WebhookService<S>
where
    S: tower::Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<Response<R>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The instance that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let declared = parts
                .headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let too_large = Refusal::BodyTooLarge {
                limit: config.body_limit,
            };
            if declared.is_some_and(|len| len > config.body_limit as u64) {
                tracing::warn!(
                    limit = config.body_limit,
                    code = too_large.code(),
                    "webhook body over the limit: 413"
                );
                return Ok(refused(too_large));
            }
            let bytes = match Limited::new(body, config.body_limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) if error.is::<LengthLimitError>() => {
                    tracing::warn!(
                        limit = config.body_limit,
                        code = too_large.code(),
                        "webhook body over the limit: 413"
                    );
                    return Ok(refused(too_large));
                }
                Err(error) => {
                    let refusal = Refusal::BodyUnreadable;
                    tracing::warn!(%error, code = refusal.code(), "reading the webhook body failed: 400");
                    return Ok(refused(refusal));
                }
            };
            match check(&config, &parts, &bytes) {
                Ok(verified) => {
                    tracing::debug!(key = %verified.key(), "webhook signature valid");
                    parts.extensions.insert(verified);
                    inner.call(Request::from_parts(parts, B::from(bytes))).await
                }
                Err(rejection) => {
                    tracing::warn!(
                        reason = %rejection,
                        code = rejection.code(),
                        method = %parts.method,
                        path = parts.uri.path(),
                        "webhook rejected: 403"
                    );
                    Ok(refused(Refusal::Rejected(rejection)))
                }
            }
        })
    }
}

/// An empty response with the refusal's status, and the refusal in its extensions.
fn refused<R: Default>(refusal: Refusal) -> Response<R> {
    let mut response = Response::new(R::default());
    *response.status_mut() = refusal.status();
    response.extensions_mut().insert(refusal);
    response
}

fn check(config: &Config, parts: &Parts, body: &[u8]) -> Result<Verified, Rejection> {
    let url = public_url(config, parts).ok_or(Rejection::InvalidUrl)?;
    // Every value, so that a repeated header is rejected. A value that is not visible ASCII
    // cannot be Twilio's: `""` makes it malformed.
    let values = |name: &str| {
        parts
            .headers
            .get_all(name)
            .into_iter()
            .map(|v| v.to_str().unwrap_or_default())
    };
    let mut request = WebhookRequest::new(&url)
        .signature_values(values(SIGNATURE_HEADER))
        .signature_settings_values(values(SIGNATURE_SETTINGS_HEADER));
    if is_form(&parts.headers) {
        request = request.form_body(body);
    } else {
        request = request.raw_body(body);
    }
    config.validator.validate(&request)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The URL Twilio requested, from the configuration and the request.
fn public_url(config: &Config, parts: &Parts) -> Option<String> {
    let base = match &config.url {
        PublicUrl::Function(url) => return url(parts),
        PublicUrl::Base(base) => base,
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    if !config.trust_forwarded {
        return Some(format!("{base}{path_and_query}"));
    }
    let (scheme, rest) = base.split_once("://")?;
    let (host, prefix) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let forwarded = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match forwarded("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
        Some(_) => return None,
        None => scheme,
    };
    let host = match forwarded("x-forwarded-host") {
        Some(host)
            if host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) =>
        {
            host
        }
        Some(_) => return None,
        None => host,
    };
    Some(format!("{scheme}://{host}{prefix}{path_and_query}"))
}
