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
//! What [`HttpClient::send`] does, in order. The steps are the public layers below, which a
//! custom stack can use as they are; the client itself runs step 1 in `send`, step 2 in the
//! future `send` returns, and steps 4 to 6 as one private service under tower's `Retry`, through
//! the same functions (four service levels fewer for each call; see `docs/benchmarks.md`).
//! `send` clones the stack (reference counts only, with the default transport) into a future
//! that, like `oneshot`, waits for it to be ready and then calls it (inside the span), boxed
//! once. A custom transport is type-erased once, as a
//! `tower::util::BoxCloneSyncService`, under the same steps:
//!
//! 1. [`BaseUrlLayer`]: the path-and-query URI becomes absolute on the [`BaseUrl`]
//!    (`https://accounts.twilio.com`, rewritten for region and edge, or an explicit override;
//!    plain `http` only for loopback). An absolute URI on another scheme or host fails here,
//!    before anything is sent. First, so nothing below ever sees a foreign host.
//! 2. [`TraceLayer`]: one `twilio.http` span per call (method, host, path, status, attempts,
//!    `Twilio-Request-Id`), around the retries so that they show as one call. It never records
//!    headers or bodies.
//! 3. [`RetryLayer`]: tower's own `tower::retry::Retry` with [`RetryPolicy`], which decides per
//!    attempt outcome with the pure functions of the [`retry`] module; it knows the call's
//!    deadline and never starts a back-off that would pass it. The copy of the request for the
//!    next attempt is taken before the headers below are added, so it shares the body and URI
//!    buffers and has no header to copy. The deadline reaches the attempt timer below on the
//!    retried request (the one hand-off between layers; it saves a second timer per call).
//!    With that copy it also re-sends, once and at once, a request answered `401` when the
//!    credentials were replaced while it was in flight (a `401` means Twilio did nothing, so
//!    this holds for every method, costs no attempt and no budget, and happens even with
//!    retries disabled): what keeps requests in flight during a token rotation from failing.
//! 4. [`HeadersLayer`]: `User-Agent`, `Accept`, and the form `Content-Type` on a request with a
//!    body (the one place it is set): a pure function of the request, so every attempt carries
//!    the same headers.
//! 5. [`AuthLayer`]: `Authorization` from the [`SharedCredentials`] handle, read on *every
//!    attempt*, so a credential swap (for example after a token rotation) applies to the next
//!    retry too. Each attempt counts as in flight with the credentials it was signed with, for
//!    [`SharedCredentials::wait_for_replaced`].
//! 6. [`AttemptTimeoutLayer`]: one timer per attempt, covering the whole response body, which also
//!    ends the last attempt at the call's overall deadline. Inside the retry layer so that each
//!    attempt gets its own budget.
//! 7. [`BodyLimitLayer`]: reads the body into `Bytes` up to the size limit and maps transport
//!    errors to [`TransportError`]. Innermost, so a slow body counts against the attempt timeout.
//! 8. The transport: [`DefaultTransport`] (hyper + rustls), or any `tower::Service` given to
//!    [`HttpClientBuilder::transport`].
//!
//! Redirects are never followed: a 3xx is returned like any other status, so credentials never
//! travel to another host.
//!
//! # Retries
//!
//! 429 and connect errors are retried for every method; 500/502/503/504, timeouts and I/O
//! errors only for idempotent methods (POST and PATCH on opt-in). `Retry-After` (seconds or
//! HTTP-date) is honoured; one beyond the maximum delay or the call's deadline ends the call
//! with that response. Otherwise exponential back-off with full jitter. A [`RetryBudget`] shared by clones of the client caps retries during an outage.
//! Defaults: 3 attempts, 100 ms initial back-off, 5 s maximum delay, 30 s per attempt, 60 s per
//! call, 4 MiB response body. See [`retry`] and [`RetryConfig`].
//!
//! # Errors
//!
//! [`TransportError`] (no response: connect, timeout, deadline, I/O, body too large, rejected
//! URI) with predicates and the cause in `source()`; [`ConfigError`] from builders;
//! [`CredentialsError`] when a secret cannot go in a header. No hyper, hyper-util or rustls
//! type appears in the public API.
//!
//! # Features
//!
//! - `default-client` (default): [`DefaultTransport`], hyper 1's connections in a small pool
//!   (HTTP/1.1 and HTTP/2 by ALPN; an idle timeout; a request a closed idle connection never
//!   wrote goes on another), connected by hyper-util's `HttpConnector`, TLS by rustls with the
//!   `ring` provider passed explicitly (no process-wide provider is installed) and webpki root
//!   certificates. Without it the crate compiles no hyper and no rustls, and
//!   [`HttpClientBuilder::transport`] is required.
//! - `native-roots`: also trust the operating system's root certificates (additive).
//!
//! # Secrets
//!
//! The `Authorization` value is built once per [`Credentials`] and marked sensitive. `Debug` of
//! every type here shows SIDs at most; errors and tracing never contain a token, a secret or
//! the header value.
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
pub use default_client::{DefaultBody, DefaultFuture, DefaultTransport};
pub use error::{
    BoxError, ConfigError, ConfigErrorKind, CredentialsError, TransportError, TransportErrorKind,
};
pub use headers::{HeadersLayer, HeadersService, UserAgent, VERSION};
pub use retry::{
    Attempts, RetryBudget, RetryConfig, RetryConfigBuilder, RetryEvent, RetryFuture, RetryLayer,
    RetryReason, RetryService,
};
pub use trace::{TWILIO_REQUEST_ID, TraceFuture, TraceLayer, TraceService, request_id};
