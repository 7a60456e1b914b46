//! The crate's own error type (starting the emulator, configuring faults) and the
//! Twilio-style error bodies the server answers with.

use std::fmt;

use hyper::StatusCode;

/// An error from starting or configuring the emulator.
///
/// Inspect it with [`Error::kind`]; the underlying cause (for example the I/O error from
/// binding the socket) is available through [`std::error::Error::source`].
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong, as returned by [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The listening socket could not be bound or configured.
    Bind,
    /// A builder option or a runtime knob had an invalid value.
    InvalidConfig,
    /// The operating system's random number generator failed.
    Random,
    /// The emulator has no account with the given SID.
    UnknownAccount,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        detail: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            detail: detail.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A Twilio error response: `{code, message, more_info, status}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
    /// Extra response headers (`WWW-Authenticate`, `Allow`, `Retry-After`).
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// Twilio's generic "invalid request / parameter" code, used for every 400 the emulator
/// answers (and for 413/415, for which Twilio publishes no specific code).
pub(crate) const CODE_INVALID_PARAMETER: u32 = 20001;
/// Twilio's "Page size too large" error (a `PageSize` over 1000).
pub(crate) const CODE_PAGE_SIZE_TOO_LARGE: u32 = 20007;
/// Twilio's "Authenticate" error.
pub(crate) const CODE_AUTHENTICATE: u32 = 20003;
/// Twilio's "Method not allowed" error.
pub(crate) const CODE_METHOD_NOT_ALLOWED: u32 = 20004;
/// Twilio's "resource not found" error.
pub(crate) const CODE_NOT_FOUND: u32 = 20404;
/// Twilio's "Too Many Requests" error.
pub(crate) const CODE_TOO_MANY_REQUESTS: u32 = 20429;
/// Twilio's "Internal Server Error".
pub(crate) const CODE_INTERNAL: u32 = 20500;

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, CODE_AUTHENTICATE, "Authenticate")
            .header("www-authenticate", "Basic realm=\"Twilio API\"")
    }

    /// 404 for `path` (written without the `/v1` prefix, as Twilio does).
    pub(crate) fn not_found(path: &str) -> Self {
        let shown = path.strip_prefix("/v1").unwrap_or(path);
        Self::new(
            StatusCode::NOT_FOUND,
            CODE_NOT_FOUND,
            format!("The requested resource {shown} was not found"),
        )
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            CODE_METHOD_NOT_ALLOWED,
            "Method not allowed",
        )
        .header("allow", allow)
    }

    pub(crate) fn missing(param: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_PARAMETER,
            format!("Missing required parameter {param} in the request"),
        )
    }

    pub(crate) fn invalid(param: &str, why: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_PARAMETER,
            format!("Invalid parameter {param}: {why}"),
        )
    }

    /// 400 with Twilio's dedicated code 20007 for a `PageSize` over the maximum.
    pub(crate) fn page_size_too_large(max: u64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            CODE_PAGE_SIZE_TOO_LARGE,
            format!("Page size too large: PageSize must be at most {max}"),
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, CODE_INVALID_PARAMETER, message)
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            CODE_INVALID_PARAMETER,
            format!("Request body exceeds the limit of {limit} bytes"),
        )
    }

    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CODE_INVALID_PARAMETER,
            "Unsupported Content-Type: request bodies must be application/x-www-form-urlencoded",
        )
    }

    pub(crate) fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            CODE_TOO_MANY_REQUESTS,
            "Too Many Requests",
        )
        .header("retry-after", retry_after_secs.to_string())
    }

    /// The error for a request head the HTTP layer refused before routing: 400 (not
    /// HTTP/1.1) is an invalid request, 20001; Twilio publishes no codes for 414 and 431, so
    /// they follow the `20000 + status` convention of HTTP-level errors (20414, 20431).
    pub(crate) fn refused_by_http_layer(status: StatusCode) -> Self {
        let message = match status.as_u16() {
            400 => return Self::bad_request("Malformed HTTP request"),
            414 => "URI Too Long: the request URI exceeds 64 KiB",
            431 => {
                "Request Header Fields Too Large: the request head exceeds the limit \
                 (about 400 KiB, at most 100 headers)"
            }
            _ => status.canonical_reason().unwrap_or("Request refused"),
        };
        Self::new(status, 20_000 + u32::from(status.as_u16()), message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, CODE_INTERNAL, message)
    }

    /// The error an injected fault answers with: code `20000 + status`
    /// (20500, 20503, 20429, 20403, ...), Twilio's convention for HTTP-level errors.
    pub(crate) fn injected(status: StatusCode) -> Self {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Self::too_many_requests(1);
        }
        let message = status.canonical_reason().unwrap_or("Injected fault");
        Self::new(status, 20_000 + u32::from(status.as_u16()), message)
    }

    pub(crate) fn body(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        });
        value.to_string().into_bytes()
    }
}
