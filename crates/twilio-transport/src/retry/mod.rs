//! Safe retries: the pure decision functions ([`classify`], [`is_retryable_status`],
//! [`backoff`], [`capped_exponential`], [`parse_retry_after`]), their configuration
//! ([`RetryConfig`], [`RetryBudget`]) and the layer that applies them ([`RetryLayer`]).
//!
//! What is retried, and why:
//!
//! | outcome | GET, HEAD, DELETE, PUT, OPTIONS, TRACE | POST, PATCH (default) | POST, PATCH (opted in) |
//! |---|---|---|---|
//! | `429 Too Many Requests` (Twilio did not process it) | retried | retried | retried |
//! | connect error (the request never left) | retried | retried | retried |
//! | not processed (`REFUSED_STREAM`, graceful `GOAWAY`, handed back unsent) | retried once, on a new connection | retried once, on a new connection | retried once, on a new connection |
//! | `500`, `502`, `503`, `504` | retried | **not** retried | retried |
//! | attempt timeout, I/O error, other transport error (may have been processed) | retried | **not** retried | retried |
//! | anything else (2xx, 3xx, other 4xx, body too large, proxy refusal, rejected request) | not retried | not retried | not retried |
//!
//! A retry also needs an attempt left, budget left, and time left before the deadline for the
//! whole back-off. A request the server did not process is sent again once per call (RFC 9113
//! §8.7 makes that safe for any method), on a connection opened for it ([`NewConnection`]): if
//! that one turns it away too, the call ends with the not-processed error. The delay is `Retry-After` when the response has one (seconds or HTTP-date),
//! otherwise [`backoff`]. A `Retry-After` longer than the maximum delay, or than the time left
//! before the deadline, ends the call with that response: retrying sooner than the server
//! allows would only earn another 429.

mod policy;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};
use tower::retry::budget::{Budget as _, TpsBudget};

use crate::error::{ConfigError, ConfigErrorKind, TransportError, TransportErrorKind};

pub use policy::{Attempts, NewConnection, RetryFuture, RetryLayer, RetryService};

/// Why a retry happens, as reported in [`RetryEvent`] and in tracing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryReason {
    /// `429 Too Many Requests`.
    TooManyRequests,
    /// A retryable `5xx` status (500, 502, 503, 504).
    ServerError(StatusCode),
    /// The connection could not be established.
    Connect,
    /// The server did not process the request (refused stream, graceful `GOAWAY`, a request
    /// handed back unsent).
    NotProcessed,
    /// The attempt timed out.
    Timeout,
    /// An I/O or other transport error after the request may have been sent.
    Io,
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyRequests => f.write_str("429 too many requests"),
            Self::ServerError(s) => write!(f, "server error {}", s.as_u16()),
            Self::Connect => f.write_str("connect error"),
            Self::NotProcessed => f.write_str("not processed by the server"),
            Self::Timeout => f.write_str("attempt timeout"),
            Self::Io => f.write_str("i/o error"),
        }
    }
}

/// The outcome of one attempt, as seen by [`classify`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// A response with this status arrived.
    Status(StatusCode),
    /// The attempt failed.
    Error(&'a TransportError),
}

/// What [`classify`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Retrying is safe and useful, for this reason (attempts, budget and deadline permitting).
    Retry(RetryReason),
    /// Do not retry: the outcome is final, or a retry could repeat a side effect.
    DoNotRetry,
}

/// True for the methods that may be repeated without changing the result (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::PUT | Method::OPTIONS | Method::TRACE
    )
}

/// True for the statuses that say "try again later": `429 Too Many Requests` and the transient
/// server errors `500`, `502`, `503` and `504`. The one list of them: [`classify`] retries these
/// (the 5xx only where repeating the method is safe), and the endpoint crates' `is_retryable`
/// asks the same question of an answer the caller got.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// Decides whether an attempt's outcome may be retried (see the [module docs](self) table).
/// Pure: attempts, budget and deadline are checked by the [`RetryLayer`].
pub fn classify(method: &Method, outcome: Outcome<'_>, config: &RetryConfig) -> Decision {
    let repeatable = is_idempotent(method) || config.retry_non_idempotent;
    match outcome {
        // Twilio did not process it, whatever the method.
        Outcome::Status(StatusCode::TOO_MANY_REQUESTS) => {
            Decision::Retry(RetryReason::TooManyRequests)
        }
        Outcome::Status(s) if repeatable && is_retryable_status(s) => {
            Decision::Retry(RetryReason::ServerError(s))
        }
        Outcome::Status(_) => Decision::DoNotRetry,
        // Which errors are transient is [`TransportError::is_retryable`]'s to say (the endpoint
        // crates ask it too); this adds only what depends on the method and the call.
        Outcome::Error(e) if !e.is_retryable() => Decision::DoNotRetry,
        Outcome::Error(e) => match e.kind() {
            TransportErrorKind::Connect => Decision::Retry(RetryReason::Connect),
            // The server said it did not process it: safe for every method (RFC 9113 §8.7).
            TransportErrorKind::NotProcessed => Decision::Retry(RetryReason::NotProcessed),
            // The call's own time is up: the policy never retries past it.
            TransportErrorKind::Deadline => Decision::DoNotRetry,
            _ if !repeatable => Decision::DoNotRetry,
            TransportErrorKind::Timeout => Decision::Retry(RetryReason::Timeout),
            _ => Decision::Retry(RetryReason::Io),
        },
    }
}

/// The back-off before retry number `retry` (1 for the first retry): full jitter over an
/// exponential ceiling, `jitter × min(max_backoff, initial_backoff × 2^(retry-1))`.
///
/// `jitter` is a uniform sample in `[0, 1]`; values outside are clamped (NaN counts as 0). Never
/// panics or overflows, for any attempt number and configuration.
pub fn backoff(retry: u32, config: &RetryConfig, jitter: f64) -> Duration {
    let ceiling = backoff_ceiling(retry, config);
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    // Integer nanoseconds: `Duration::mul_f64` could panic on huge values.
    let nanos = ceiling.as_nanos();
    let scaled = ((nanos as f64) * jitter) as u128; // `as` saturates
    let scaled = scaled.min(nanos);
    let secs = u64::try_from(scaled / 1_000_000_000).unwrap_or(u64::MAX);
    let sub = (scaled % 1_000_000_000) as u32;
    Duration::new(secs, sub).min(ceiling)
}

/// The upper bound of [`backoff`] for retry number `retry`: [`capped_exponential`] over the
/// configuration's initial and maximum back-off.
pub fn backoff_ceiling(retry: u32, config: &RetryConfig) -> Duration {
    capped_exponential(config.initial_backoff, config.max_backoff, retry)
}

/// `initial × 2^(n-1)`, capped at `max`: the wait before try number `n + 1` (1 for the first
/// wait) of a capped exponential back-off, with no jitter. The one such schedule of the SDK:
/// [`backoff`] draws its jitter under it, and a caller that must wait without jitter (one
/// sequence of checks, say) uses it as it is. Never panics or overflows: `n = 0` counts as 1,
/// and any product beyond `max` (or beyond what a `Duration` holds) is `max`.
///
/// ```
/// use std::time::Duration;
/// use twilio_transport::retry::capped_exponential;
///
/// let (initial, max) = (Duration::from_secs(1), Duration::from_secs(5));
/// let waits: Vec<u64> = (1..=5).map(|n| capped_exponential(initial, max, n).as_secs()).collect();
/// assert_eq!(waits, [1, 2, 4, 5, 5]);
/// ```
pub fn capped_exponential(initial: Duration, max: Duration, n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(31);
    initial.checked_mul(1u32 << exp).unwrap_or(max).min(max)
}

/// Parses `Retry-After` as delay-seconds or an HTTP-date (relative to `now`). `None` when absent
/// or unparseable; a date in the past is a zero delay. The caller caps the result.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // An absurdly long number saturates; it is beyond the maximum delay anyway.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay before the next attempt: `Retry-After` capped at `max_backoff` when given,
/// otherwise [`backoff`]. ([`RetryLayer`] does not retry at all after a `Retry-After` longer
/// than `max_backoff`.)
pub fn retry_delay(
    retry: u32,
    retry_after: Option<Duration>,
    config: &RetryConfig,
    jitter: f64,
) -> Duration {
    match retry_after {
        Some(d) => d.min(config.max_backoff),
        None => backoff(retry, config, jitter),
    }
}

/// A retry budget shared by every client (and clone) it is given to: each call deposits, each
/// retry withdraws, so during an outage retries stay a bounded fraction of traffic instead of
/// multiplying the load. tower's [`TpsBudget`] underneath; [`new`](Self::new) checks the
/// settings first, so its assertions never fire.
///
/// The default lets `retry_percent = 20%` of calls retry, plus a floor of 10 retries per second,
/// over a 10 s window.
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<TpsBudget>,
    settings: (Duration, u32, f32),
}

impl RetryBudget {
    /// A budget remembering deposits for `ttl` (1–60 s), always allowing `min_per_sec` retries per
    /// second, plus `retry_percent` (0–1000, as a fraction: 0.2 = 20%) retries per call.
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidRetry` when a value is out of range.
    pub fn new(ttl: Duration, min_per_sec: u32, retry_percent: f32) -> Result<Self, ConfigError> {
        let bad = |detail| ConfigError::new(ConfigErrorKind::InvalidRetry, detail);
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&ttl) {
            return Err(bad("retry budget ttl must be between 1 and 60 seconds"));
        }
        if !(0.0..=1000.0).contains(&retry_percent) {
            return Err(bad("retry budget percentage must be between 0 and 1000"));
        }
        if min_per_sec >= i32::MAX as u32 / 1000 {
            return Err(bad("retry budget minimum per second is too large"));
        }
        Ok(Self {
            inner: Arc::new(TpsBudget::new(ttl, min_per_sec, retry_percent)),
            settings: (ttl, min_per_sec, retry_percent),
        })
    }

    /// Records a call.
    pub(crate) fn deposit(&self) {
        self.inner.deposit();
    }

    /// Takes one retry from the budget, if there is one.
    pub(crate) fn withdraw(&self) -> bool {
        self.inner.withdraw()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        let (ttl, min_per_sec, retry_percent) = (Duration::from_secs(10), 10, 0.2);
        Self {
            inner: Arc::new(TpsBudget::new(ttl, min_per_sec, retry_percent)),
            settings: (ttl, min_per_sec, retry_percent),
        }
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ttl", &self.settings.0)
            .field("min_per_sec", &self.settings.1)
            .field("retry_percent", &self.settings.2)
            .finish()
    }
}

/// One retry about to happen, given to the [`RetryConfigBuilder::on_retry`] hook.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryEvent {
    /// The number of the attempt that just failed (1 for the first).
    pub attempt: u32,
    /// Why it is retried.
    pub reason: RetryReason,
    /// How long the client waits before the next attempt.
    pub delay: Duration,
    /// The request method.
    pub method: Method,
    /// The request path (no query).
    pub path: String,
}

/// A user hook called before each retry sleep.
pub type RetryHook = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

/// Retry settings. Defaults: 3 attempts in all, 100 ms initial back-off doubling to at most
/// 5 s, POST/PATCH not retried after a possible send, a default [`RetryBudget`] per client, no
/// hook. `Clone` shares the budget.
#[derive(Clone)]
pub struct RetryConfig {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) retry_non_idempotent: bool,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) hook: Option<RetryHook>,
}

impl RetryConfig {
    /// Default number of attempts, the first included.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    /// Default first back-off ceiling.
    pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
    /// Default maximum delay between attempts (a longer `Retry-After` ends the call).
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);

    /// A builder starting from the defaults.
    pub fn builder() -> RetryConfigBuilder {
        RetryConfigBuilder {
            config: Self::default(),
        }
    }

    /// No retries at all (one attempt).
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            budget: None,
            ..Self::default()
        }
    }

    /// Attempts in all, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The first back-off ceiling.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The maximum delay between attempts.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Whether POST/PATCH are retried after a possible send.
    pub fn retries_non_idempotent(&self) -> bool {
        self.retry_non_idempotent
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            initial_backoff: Self::DEFAULT_INITIAL_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            retry_non_idempotent: false,
            budget: Some(RetryBudget::default()),
            hook: None,
        }
    }
}

impl fmt::Debug for RetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryConfig")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("retry_non_idempotent", &self.retry_non_idempotent)
            .field("budget", &self.budget)
            .field("hook", &self.hook.as_ref().map(|_| "Fn(&RetryEvent)"))
            .finish()
    }
}

/// Builds a [`RetryConfig`]; every setter takes and returns `Self`.
#[derive(Debug, Clone)]
pub struct RetryConfigBuilder {
    config: RetryConfig,
}

impl RetryConfigBuilder {
    /// Attempts in all, the first included (1 disables retries; at most 100).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = attempts;
        self
    }

    /// The first back-off ceiling (doubles with each retry).
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.config.initial_backoff = delay;
        self
    }

    /// The maximum delay between attempts; a longer `Retry-After` ends the call with its
    /// response instead of being retried early.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.config.max_backoff = delay;
        self
    }

    /// Opt in to retrying POST and PATCH after 5xx, timeouts and I/O errors. Only for calls you
    /// know to be safe to repeat: Twilio may already have acted on the first attempt.
    pub fn retry_non_idempotent(mut self, yes: bool) -> Self {
        self.config.retry_non_idempotent = yes;
        self
    }

    /// Use `budget` (share one budget between clients by passing clones of it).
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.config.budget = Some(budget);
        self
    }

    /// No budget: every retryable outcome is retried up to `max_attempts`.
    pub fn no_budget(mut self) -> Self {
        self.config.budget = None;
        self
    }

    /// Call `hook` before each retry sleep (keep it fast; it runs on the request's task).
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent) + Send + Sync + 'static) -> Self {
        self.config.hook = Some(Arc::new(hook));
        self
    }

    /// Checks and returns the configuration.
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidRetry` when `max_attempts` is 0 or above 100, or the
    /// initial back-off exceeds the maximum.
    pub fn build(self) -> Result<RetryConfig, ConfigError> {
        let c = self.config;
        if c.max_attempts == 0 || c.max_attempts > 100 {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidRetry,
                "max_attempts must be between 1 and 100",
            ));
        }
        if c.initial_backoff > c.max_backoff {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidRetry,
                "initial_backoff must not exceed max_backoff",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests;
