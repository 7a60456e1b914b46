//! The HTTP layer of the Twilio Accounts v1 SDK: everything between "an API request" and the
//! network, as one concrete, cheap-to-clone [`HttpClient`], and as the public [`tower`] layers
//! whose steps it runs, for stacks composed by hand.
//!
//! ```no_run
//! use bytes::Bytes;
//! use twilio_transport::{Credentials, HttpClient};
//! use twilio_types::{AccountSid, AuthToken};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let account = AccountSid::parse("AC0123456789abcdef0123456789abcdef")?;
//! let credentials = Credentials::from_auth_token(account, AuthToken::new("your_auth_token")?)?;
//! let client = HttpClient::builder().credentials(credentials).build()?;
//!
//! // Endpoint crates send a path and query; the client adds the base URL, auth and headers.
//! let request = http::Request::get("/v1/Credentials/AWS?PageSize=20").body(Bytes::new())?;
//! let response = client.send(request).await?; // any status comes back as `Ok`
//! println!("{} {}", response.status(), String::from_utf8_lossy(response.body()));
//! # Ok(())
//! # }
//! ```
//!
//! The same client over a test double instead of the network (this one runs):
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use twilio_transport::{Credentials, HttpClient, TransportError};
//! use twilio_types::{AccountSid, AuthToken};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let account = AccountSid::parse("AC0123456789abcdef0123456789abcdef")?;
//! let credentials = Credentials::from_auth_token(account, AuthToken::new("token")?)?;
//! let double = tower::service_fn(|request: Request<Bytes>| async move {
//!     // The request arrives complete: absolute URI, Basic auth, User-Agent, Accept.
//!     assert_eq!(request.uri(), "https://accounts.twilio.com/v1/Credentials/AWS");
//!     assert!(request.headers()["authorization"].is_sensitive());
//!     Ok::<_, TransportError>(Response::new(Full::new(Bytes::from_static(b"{\"credentials\":[]}"))))
//! });
//! let client = HttpClient::builder()
//!     .credentials(credentials)
//!     .read_environment(false)
//!     .transport(double)
//!     .build()?;
//! let response = client.send(Request::get("/v1/Credentials/AWS").body(Bytes::new())?).await?;
//! assert_eq!(response.body().as_ref(), b"{\"credentials\":[]}");
//! # Ok(())
//! # }
//! ```
//!
//! # What a call goes through
//!
//! [`HttpClient`] is the public layers below, composed with `tower::ServiceBuilder` in this
//! order (outermost first) over the transport, and driven as `oneshot` drives any service: a
//! call clones the stack (reference counts only, with the default transport) into one boxed
//! future. The same layers composed by hand behave the same (a test holds them to it); see
//! `docs/guide/custom-transport.md`. A custom transport is type-erased once, as a
//! `tower::util::BoxCloneSyncService`, with the body limit around it.
//!
//! ```
//! # use std::time::Duration;
//! # use twilio_transport::*;
//! # fn stack<T>(credentials: Credentials, transport: T) -> Result<(), ConfigError> {
//! let shared = SharedCredentials::new(credentials);
//! let stack = tower::ServiceBuilder::new()
//!     .layer(BaseUrlLayer::new(BaseUrl::twilio()))
//!     .layer(TraceLayer::new())
//!     .layer(
//!         RetryLayer::new(RetryConfig::default())
//!             .deadline(DEFAULT_DEADLINE)
//!             .attempt_timeout(DEFAULT_ATTEMPT_TIMEOUT)
//!             .resend_on_replaced(shared.clone()),
//!     )
//!     .layer(HeadersLayer::new(UserAgent::default()))
//!     .layer(AuthLayer::new(shared))
//!     .layer(BodyLimitLayer::default())
//!     .service(transport);
//! # Ok(()) }
//! ```
//!
//! 1. [`BaseUrlLayer`]: the path-and-query URI becomes absolute on the [`BaseUrl`]
//!    (`https://accounts.twilio.com`, rewritten for region and edge, or an explicit override;
//!    plain `http` only for loopback). An absolute URI on another scheme or host fails here,
//!    before anything is sent. First, so nothing below ever sees a foreign host.
//! 2. [`TraceLayer`]: one `twilio.http` span per call (method, host, path, status, attempts,
//!    `Twilio-Request-Id`), around the retries so that they show as one call. It never records
//!    headers or bodies.
//! 3. [`RetryLayer`]: decides per attempt outcome with the pure functions of the [`retry`]
//!    module, and owns the call's clock: one timer per attempt, ending it at the attempt
//!    timeout or at the call's deadline, whichever comes first, and no back-off that would pass
//!    the deadline. Its copy of the request for the next attempt is taken before the headers
//!    below are added, so it shares the body and URI buffers. With that copy it also re-sends,
//!    once and at once, a request answered `401` when the credentials were replaced while it
//!    was in flight (a `401` means Twilio did nothing, so this holds for every method, costs no
//!    attempt and no budget, and happens even with retries disabled): what keeps requests in
//!    flight during a token rotation from failing.
//! 4. [`HeadersLayer`]: `User-Agent` and `Accept`, the same on every attempt. (A body's
//!    `Content-Type` is set by whoever encoded the body.)
//! 5. [`AuthLayer`]: `Authorization` from the [`SharedCredentials`] handle, read on *every
//!    attempt*, so a credential swap (for example after a token rotation) applies to the next
//!    retry too. Each attempt counts as in flight with the credentials it was signed with, for
//!    [`SharedCredentials::wait_for_replaced`].
//! 6. [`BodyLimitLayer`]: reads the body into `Bytes` up to the size limit and maps transport
//!    errors to [`TransportError`]. Innermost, so a slow body counts against the attempt's timer.
//! 7. The transport: [`DefaultTransport`] (hyper + rustls), or any `tower::Service` given to
//!    [`HttpClientBuilder::transport`].
//!
//! Redirects are never followed: a 3xx is returned like any other status, so credentials never
//! travel to another host.
//!
//! # Retries
//!
//! 429, connect errors and requests the server did not process (HTTP/2 `REFUSED_STREAM`, a
//! graceful `GOAWAY` above the request's stream, a request the connection handed back unsent:
//! [`TransportError::is_not_processed`]; sent again once per call, on a new connection) are
//! retried for every method; 500/502/503/504,
//! timeouts and I/O errors only for idempotent methods (POST and PATCH on opt-in). `Retry-After` (seconds or
//! HTTP-date) is honoured; one beyond the maximum delay or the call's deadline ends the call
//! with that response. Otherwise exponential back-off with full jitter. A [`RetryBudget`] shared by clones of the client caps retries during an outage.
//! Defaults: 3 attempts, 100 ms initial back-off, 5 s maximum delay, 30 s per attempt, 60 s per
//! call, 4 MiB response body. See [`retry`] and [`RetryConfig`].
//!
//! # Errors
//!
//! [`TransportError`] (no response: connect, not processed, proxy refusal, timeout, deadline,
//! I/O, body too large, rejected URI) with predicates and the cause in `source()`; [`ConfigError`] from builders;
//! [`CredentialsError`] when a secret cannot go in a header. No hyper, hyper-util or rustls
//! type appears in the public API.
//!
//! # Features
//!
//! - `default-client` (default): [`DefaultTransport`], hyper-util's connection pool (HTTP/1.1
//!   and HTTP/2 by ALPN; an idle timeout; a request a reused connection never wrote goes on
//!   another), connected by hyper-util's `HttpConnector`, directly or through a [`Proxy`]
//!   (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY` by default, as curl reads them;
//!   HTTPS through a `CONNECT` tunnel), TLS by rustls with the `ring` provider passed explicitly
//!   (no process-wide provider is installed) and webpki root certificates. A call given up on
//!   closes its HTTP/1.1 connection. Without it the crate compiles no hyper and no rustls, and
//!   [`HttpClientBuilder::transport`] is required.
//! - `native-roots`: also trust the operating system's root certificates (additive).
//!
//! # Secrets
//!
//! The `Authorization` value is built once per [`Credentials`] and marked sensitive. `Debug` of
//! every type here shows SIDs at most; errors and tracing never contain a token, a secret, a
//! proxy password or the header value.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without `default-client` the links to `DefaultTransport` have nothing to point to.
#![cfg_attr(
    not(feature = "default-client"),
    allow(rustdoc::broken_intra_doc_links)
)]

mod auth;
mod base_url;
mod body;
mod client;
mod credentials;
#[cfg(feature = "default-client")]
mod default_client;
pub mod environment;
mod error;
mod headers;
pub mod retry;
mod timeout;
mod trace;

pub use auth::{AuthFuture, AuthLayer, AuthService};
pub use base_url::{BaseUrl, BaseUrlLayer, BaseUrlService, DEFAULT_HOST};
pub use body::{
    BodyLimitFuture, BodyLimitLayer, BodyLimitService, DEFAULT_MAX_RESPONSE_BODY_BYTES,
    collect_limited,
};
pub use client::{DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_DEADLINE, HttpClient, HttpClientBuilder};
pub use credentials::{Credentials, SharedCredentials};
#[cfg(feature = "default-client")]
#[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
pub use default_client::{DefaultBody, DefaultFuture, DefaultTransport, Proxy};
pub use error::{
    BoxError, ConfigError, ConfigErrorKind, CredentialsError, TransportError, TransportErrorKind,
};
pub use headers::{HeadersLayer, HeadersService, UserAgent, VERSION};
pub use retry::{
    Attempts, NewConnection, RetryBudget, RetryConfig, RetryConfigBuilder, RetryEvent, RetryFuture,
    RetryLayer, RetryReason, RetryService,
};
pub use trace::{TWILIO_REQUEST_ID, TraceFuture, TraceLayer, TraceService, request_id};
