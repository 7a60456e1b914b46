//! The errors of this crate: [`TransportError`] (a call failed), [`ConfigError`] (a builder
//! rejected its settings) and [`CredentialsError`] (credentials could not become a header).

use std::error::Error as StdError;
use std::fmt;

/// A boxed error, the type-erased cause kept in [`source()`](StdError::source).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong with a call, as returned by [`TransportError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The request was rejected before anything was sent (for example an absolute URI whose
    /// scheme or host differs from the base URL). Never retried.
    InvalidRequest,
    /// The connection could not be established (refused, DNS, TLS handshake, connect timeout).
    /// The request never left, so it is retried for every method.
    Connect,
    /// The server did not process the request, as it said: an HTTP/2 stream refused
    /// (`REFUSED_STREAM`) or above the last stream id of a graceful `GOAWAY`, or a request the
    /// connection handed back unwritten (RFC 9113 §8.7). Safe to send again for every method,
    /// so the retry policy does, once per call, on a new connection.
    NotProcessed,
    /// A proxy did not carry the request: it refused the tunnel (`CONNECT`), asked for
    /// credentials (`407`), or is not an `http://` proxy. The request never reached the server;
    /// not retried (the same proxy would answer the same).
    Proxy,
    /// One attempt took longer than the per-attempt timeout.
    Timeout,
    /// The overall deadline across all attempts passed.
    Deadline,
    /// An I/O or protocol error after the request may have been sent (reset, truncated body…).
    Io,
    /// The response body was larger than the configured maximum; reading stopped there.
    BodyTooLarge,
    /// Any other failure of a user-supplied transport; treated like [`Io`](Self::Io) for retries.
    Other,
}

/// A failed call: nothing usable came back from the server.
///
/// A response with any HTTP status (3xx, 4xx, 5xx included) is *not* a `TransportError`; it is
/// returned as `Ok`. The cause, when there is one, is available from
/// [`source()`](StdError::source) and is never repeated in `Display`.
pub struct TransportError {
    inner: Box<Inner>,
}

struct Inner {
    kind: TransportErrorKind,
    attempts: u32,
    detail: Option<&'static str>,
    source: Option<BoxError>,
}

impl TransportError {
    fn new(
        kind: TransportErrorKind,
        detail: Option<&'static str>,
        source: Option<BoxError>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                attempts: 1,
                detail,
                source,
            }),
        }
    }

    /// A connection error: the request never reached the server. For custom transports, so the
    /// retry policy knows it is safe to retry any method.
    pub fn connect(cause: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Connect, None, Some(cause.into()))
    }

    /// The server did not process the request (see [`TransportErrorKind::NotProcessed`]), so
    /// it may be sent again whatever its method. For custom transports that can tell.
    pub fn not_processed(cause: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::NotProcessed, None, Some(cause.into()))
    }

    /// A proxy did not carry the request; `cause` says why (and holds no credential).
    #[cfg_attr(not(feature = "default-client"), allow(dead_code))]
    pub(crate) fn proxy(detail: &'static str, cause: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Proxy, Some(detail), Some(cause.into()))
    }

    /// An I/O error after the request may have been sent. For custom transports.
    pub fn io(cause: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Io, None, Some(cause.into()))
    }

    /// Any other transport failure (treated as "possibly sent"). For custom transports.
    pub fn other(cause: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Other, None, Some(cause.into()))
    }

    pub(crate) fn invalid_request(detail: &'static str) -> Self {
        Self::new(TransportErrorKind::InvalidRequest, Some(detail), None)
    }

    pub(crate) fn timeout() -> Self {
        Self::new(TransportErrorKind::Timeout, None, None)
    }

    pub(crate) fn deadline() -> Self {
        Self::new(TransportErrorKind::Deadline, None, None)
    }

    pub(crate) fn body_too_large() -> Self {
        Self::new(TransportErrorKind::BodyTooLarge, None, None)
    }

    /// Converts the error of a transport service: a `TransportError` is kept as it is; an error
    /// that is, or is caused by, an `std::io::Error` of kind `ConnectionRefused` (the request
    /// cannot have left) becomes [`TransportErrorKind::Connect`]; another `std::io::Error` becomes
    /// [`TransportErrorKind::Io`]; anything else [`TransportErrorKind::Other`] ("may have been
    /// sent", the safe assumption).
    pub fn from_transport_error(error: impl Into<BoxError>) -> Self {
        let error: BoxError = error.into();
        let error = match error.downcast::<TransportError>() {
            Ok(e) => return *e,
            Err(error) => error,
        };
        let mut cause: Option<&(dyn StdError + 'static)> = Some(&*error);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::ConnectionRefused
            {
                return Self::new(TransportErrorKind::Connect, None, Some(error));
            }
            cause = e.source();
        }
        let kind = if error.is::<std::io::Error>() {
            TransportErrorKind::Io
        } else {
            TransportErrorKind::Other
        };
        Self::new(kind, None, Some(error))
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.inner.kind
    }

    /// How many attempts were made before giving up (1 when the call was not retried).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        self.inner.attempts = attempts;
    }

    /// True when the connection could not be established (the request never left).
    pub fn is_connect(&self) -> bool {
        self.inner.kind == TransportErrorKind::Connect
    }

    /// True for a per-attempt timeout or the overall deadline.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.inner.kind,
            TransportErrorKind::Timeout | TransportErrorKind::Deadline
        )
    }

    /// True when the overall deadline across retries passed.
    pub fn is_deadline(&self) -> bool {
        self.inner.kind == TransportErrorKind::Deadline
    }

    /// True when the response body was over the configured size limit.
    pub fn is_body_too_large(&self) -> bool {
        self.inner.kind == TransportErrorKind::BodyTooLarge
    }

    /// True when the server did not process the request (see
    /// [`TransportErrorKind::NotProcessed`]): sending it again is safe for every method.
    pub fn is_not_processed(&self) -> bool {
        self.inner.kind == TransportErrorKind::NotProcessed
    }

    /// True when a proxy did not carry the request (see [`TransportErrorKind::Proxy`]).
    pub fn is_proxy(&self) -> bool {
        self.inner.kind == TransportErrorKind::Proxy
    }

    /// True for an I/O or protocol error after the request may have been sent.
    pub fn is_io(&self) -> bool {
        self.inner.kind == TransportErrorKind::Io
    }

    /// True when the request was rejected before anything was sent.
    pub fn is_invalid_request(&self) -> bool {
        self.inner.kind == TransportErrorKind::InvalidRequest
    }

    /// True when the failure is transient, so the same request could succeed later: connect
    /// errors, requests not processed, timeouts, the deadline, I/O and other transport failures
    /// (not a request rejected before sending, a proxy's refusal or a body over the limit). The one definition the retry policy
    /// ([`retry::classify`](crate::retry::classify), which adds the method and the call's time
    /// left) and the endpoint crates' `is_retryable` share.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            TransportErrorKind::Connect
            | TransportErrorKind::NotProcessed
            | TransportErrorKind::Timeout
            | TransportErrorKind::Deadline
            | TransportErrorKind::Io
            | TransportErrorKind::Other => true,
            TransportErrorKind::InvalidRequest
            | TransportErrorKind::Proxy
            | TransportErrorKind::BodyTooLarge => false,
        }
    }

    /// True when the request may have reached the server (anything but connect errors,
    /// requests the server did not process, a proxy's refusal and requests rejected locally).
    pub fn is_possibly_sent(&self) -> bool {
        !matches!(
            self.inner.kind,
            TransportErrorKind::Connect
                | TransportErrorKind::NotProcessed
                | TransportErrorKind::Proxy
                | TransportErrorKind::InvalidRequest
        )
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransportError");
        d.field("kind", &self.inner.kind)
            .field("attempts", &self.inner.attempts);
        if let Some(detail) = self.inner.detail {
            d.field("detail", &detail);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.inner.kind {
            TransportErrorKind::InvalidRequest => "request rejected before sending",
            TransportErrorKind::Connect => "could not connect to the server",
            TransportErrorKind::NotProcessed => "the server did not process the request",
            TransportErrorKind::Proxy => "the proxy did not carry the request",
            TransportErrorKind::Timeout => "attempt timed out",
            TransportErrorKind::Deadline => "deadline exceeded",
            TransportErrorKind::Io => "connection failed after the request may have been sent",
            TransportErrorKind::BodyTooLarge => "response body exceeds the size limit",
            TransportErrorKind::Other => "transport failed",
        };
        f.write_str(what)?;
        if let Some(detail) = self.inner.detail {
            write!(f, ": {detail}")?;
        }
        if self.inner.attempts > 1 {
            write!(f, " (after {} attempts)", self.inner.attempts)?;
        }
        Ok(())
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Which setting a [`ConfigError`] is about, as returned by [`ConfigError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// `HttpClientBuilder::credentials` was never called.
    MissingCredentials,
    /// The base URL is not an absolute `https://host[:port]` URL.
    InvalidBaseUrl,
    /// The base URL uses plain `http` for a host that is not loopback.
    InsecureBaseUrl,
    /// The region or edge is not a DNS label, or was set with a base URL outside `twilio.com`.
    InvalidRegionOrEdge,
    /// A user-agent extension holds characters not allowed in a header.
    InvalidUserAgent,
    /// A retry setting is out of range.
    InvalidRetry,
    /// A timeout or limit is zero or out of range.
    InvalidLimit,
    /// The proxy URL is not an `http://[user:password@]host[:port]` URL.
    InvalidProxy,
    /// The TLS configuration could not be built (for example no usable root certificate).
    Tls,
    /// No transport: the `default-client` feature is off and `HttpClientBuilder::transport`
    /// was not called.
    MissingTransport,
}

/// A builder rejected its settings.
pub struct ConfigError {
    kind: ConfigErrorKind,
    detail: &'static str,
    source: Option<BoxError>,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, detail: &'static str) -> Self {
        Self {
            kind,
            detail,
            source: None,
        }
    }

    #[cfg_attr(not(feature = "default-client"), allow(dead_code))]
    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Which setting is wrong.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid HTTP client configuration: {}", self.detail)
    }
}

impl StdError for ConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Credentials could not be turned into an `Authorization` header (a secret holds characters
/// that are not allowed in a header). The offending value is never shown.
#[derive(Debug)]
pub struct CredentialsError {
    source: BoxError,
}

impl CredentialsError {
    pub(crate) fn new(source: impl Into<BoxError>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("credentials cannot be used in an Authorization header")
    }
}

impl StdError for CredentialsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_does_not_repeat_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer reset xyz");
        let e = TransportError::from_transport_error(io);
        assert!(e.is_io());
        assert!(!e.to_string().contains("xyz"));
        assert!(e.source().unwrap().to_string().contains("xyz"));
    }

    #[test]
    fn transport_errors_round_trip_through_box_error() {
        let e: BoxError = Box::new(TransportError::connect("refused"));
        let back = TransportError::from_transport_error(e);
        assert!(back.is_connect());
        assert!(!back.is_possibly_sent());
    }

    #[test]
    fn refused_io_error_is_a_connect_error() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(TransportError::from_transport_error(io).is_connect());
        let other = TransportError::from_transport_error("boom");
        assert_eq!(other.kind(), TransportErrorKind::Other);
        assert!(other.is_possibly_sent());
    }

    #[test]
    fn refused_anywhere_in_the_cause_chain_is_a_connect_error() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let refused = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(TransportError::from_transport_error(refused).is_connect());
        let reset = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(
            TransportError::from_transport_error(reset).kind(),
            TransportErrorKind::Other
        );
    }

    #[test]
    fn attempts_show_in_display() {
        let mut e = TransportError::timeout();
        e.set_attempts(3);
        assert_eq!(e.to_string(), "attempt timed out (after 3 attempts)");
        assert!(e.is_timeout() && !e.is_deadline());
        assert!(TransportError::deadline().is_timeout());
    }
}
