//! wip
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod base_url;
mod body;
mod client;
mod credentials;
#[cfg(feature = "default-client")]
mod default_client;
mod error;
mod headers;
pub mod retry;
mod timeout;
mod trace;

pub use auth::{AuthLayer, AuthService};
pub use base_url::{BaseUrl, BaseUrlLayer, BaseUrlService, DEFAULT_HOST};
pub use body::{BodyLimitFuture, BodyLimitLayer, BodyLimitService, DEFAULT_MAX_RESPONSE_BODY_BYTES, collect_limited};
pub use client::{DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_DEADLINE, HttpClient, HttpClientBuilder};
pub use credentials::{Credentials, SharedCredentials};
#[cfg(feature = "default-client")]
pub use default_client::{DefaultBody, DefaultFuture, DefaultTransport};
pub use error::{BoxError, ConfigError, ConfigErrorKind, CredentialsError, TransportError, TransportErrorKind};
pub use headers::{HeadersLayer, HeadersService, UserAgent, VERSION};
pub use retry::{Attempts, RetryBudget, RetryConfig, RetryConfigBuilder, RetryEvent, RetryLayer, RetryPolicy, RetryReason};
pub use timeout::{AttemptTimeoutLayer, AttemptTimeoutService, DeadlineLayer, DeadlineService, TimeoutFuture};
pub use trace::{TWILIO_REQUEST_ID, TraceFuture, TraceLayer, TraceService};
