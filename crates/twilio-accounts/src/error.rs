//! The one error type of this crate, [`Error`], and the context structs it carries.
//!
//! Every variant says where the call stopped: before anything was sent ([`Error::Build`]),
//! on the way ([`Error::Transport`]), or after Twilio answered ([`Error::Api`],
//! [`Error::UnexpectedResponse`], [`Error::Decode`]). `Display` is one short sentence; the
//! underlying cause, when there is one, is only in [`std::error::Error::source`], so print the
//! whole chain when logging (for example with `anyhow`'s `{:#}`, or by walking `source()`).
//! No `Display` or `Debug` output in this module contains a credential.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use http::StatusCode;
use twilio_transport::TransportError;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a call to Twilio failed.
///
/// Match on the variant for the stage that failed, or use the accessors
/// ([`status`](Self::status), [`code`](Self::code), [`is_retryable`](Self::is_retryable)) that
/// work on every variant.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) {
/// use twilio_accounts::Error;
///
/// match client.secondary_auth_token().delete().send().await {
///     Ok(()) => {}
///     Err(Error::Api(api)) if api.code() == Some(20404) => println!("nothing to delete"),
///     Err(err) if err.is_retryable() => println!("try again later: {err}"),
///     Err(err) => println!("failed: {err}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request was not built, so nothing was sent: an argument is invalid (the error names
    /// it), the client configuration is invalid, or a pagination link points elsewhere.
    Build(BuildError),
    /// No complete response arrived (connect, TLS, I/O, timeout, body too large). The request
    /// may or may not have reached Twilio. The [`TransportError`] is the [`source`](StdError::source).
    Transport(TransportError),
    /// Twilio answered with an error status and a JSON error body.
    Api(ApiError),
    /// Twilio (or a proxy in front of it) answered with a body that is not JSON where JSON was
    /// expected, such as an HTML `502 Bad Gateway` page.
    UnexpectedResponse(UnexpectedResponse),
    /// A success response whose JSON body does not match the documented schema; the error
    /// names the field.
    Decode(DecodeError),
    /// A multi-step workflow of this crate (such as auth-token rotation) stopped at a step;
    /// the failed call, if any, is the [`source`](StdError::source).
    Workflow(WorkflowError),
    /// A [`TokenStore`](twilio_store::TokenStore) could not be opened, locked, read or
    /// written (the rotation records every step there before depending on it).
    Store(twilio_store::StoreError),
}

impl Error {
    /// The HTTP status of the response, when there was one.
    ///
    /// ```
    /// # fn check(err: &twilio_accounts::Error) {
    /// if err.status().is_some_and(|s| s.as_u16() == 404) { /* … */ }
    /// # }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Build(_) | Error::Transport(_) | Error::Store(_) => None,
            Error::Api(e) => Some(e.status()),
            Error::UnexpectedResponse(e) => Some(e.status()),
            Error::Decode(e) => e.status(),
            Error::Workflow(e) => e.cause().and_then(Error::status),
        }
    }

    /// Twilio's error code (such as `20404`), for [`Error::Api`] errors that carry one.
    ///
    /// ```
    /// # fn check(err: &twilio_accounts::Error) {
    /// if err.code() == Some(20003) { println!("authentication failed"); }
    /// # }
    /// ```
    pub fn code(&self) -> Option<u32> {
        match self {
            Error::Api(e) => e.code(),
            Error::Workflow(e) => e.cause().and_then(Error::code),
            _ => None,
        }
    }

    /// The `Twilio-Request-Id` of the response, when there was one: quote it to Twilio support.
    ///
    /// ```
    /// # fn check(err: &twilio_accounts::Error) {
    /// if let Some(id) = err.request_id() { eprintln!("request id {id}"); }
    /// # }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id(),
            Error::UnexpectedResponse(e) => e.request_id(),
            Error::Decode(e) => e.request_id(),
            Error::Workflow(e) => e.cause().and_then(Error::request_id),
            Error::Build(_) | Error::Transport(_) | Error::Store(_) => None,
        }
    }

    /// Whether trying the same call again later may succeed: rate limiting (429), server
    /// errors (500, 502, 503, 504) and the transport failures
    /// [`TransportError::is_retryable`](twilio_transport::TransportError::is_retryable) calls
    /// transient (connect, timeout, deadline, I/O and other failures), the same ones the
    /// transport's retry policy considers.
    ///
    /// The transport has already retried what is safe to retry; this tells the caller whether
    /// a retry at a higher level (a job queue, a later run) makes sense. Bad input, 4xx
    /// answers and undecodable successes are never retryable.
    ///
    /// ```
    /// # fn check(err: &twilio_accounts::Error) {
    /// if err.is_retryable() { /* schedule again */ }
    /// # }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Build(_) | Error::Decode(_) => false,
            Error::Transport(e) => e.is_retryable(),
            Error::Api(e) => retryable_status(e.status()),
            Error::UnexpectedResponse(e) => retryable_status(e.status()),
            Error::Workflow(e) => e.cause().is_some_and(Error::is_retryable),
            // Another rotation holds the lock, or the storage failed: later may work.
            Error::Store(e) => matches!(
                e.kind(),
                twilio_store::StoreErrorKind::Locked | twilio_store::StoreErrorKind::Io
            ),
        }
    }

    pub(crate) fn invalid_argument(
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::Build(BuildError {
            field: Some(field.into()),
            reason: reason.into(),
            source: None,
        })
    }

    pub(crate) fn build_with_source(
        field: Option<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Build(BuildError {
            field,
            reason: reason.into(),
            source: Some(source.into()),
        })
    }

    /// Builds an [`Error::Workflow`]: a multi-step workflow (the `rotation` module) stopped at
    /// `step` for the reason `message` (no secrets, no cause text), and `cause` is the failed
    /// call if the stop came from one. `status()`, `code()`, `request_id()` and
    /// `is_retryable()` then answer from the cause.
    #[allow(dead_code)] // for the `rotation` module
    pub(crate) fn workflow(
        step: &'static str,
        message: impl Into<Cow<'static, str>>,
        cause: Option<Error>,
    ) -> Self {
        Error::Workflow(WorkflowError {
            step,
            message: message.into(),
            cause: cause.map(Box::new),
        })
    }
}

fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Build(e) => e.fmt(f),
            Error::Transport(_) => f.write_str("the request to Twilio failed in transport"),
            Error::Api(e) => e.fmt(f),
            Error::UnexpectedResponse(e) => e.fmt(f),
            Error::Decode(e) => e.fmt(f),
            Error::Workflow(e) => e.fmt(f),
            Error::Store(e) => e.fmt(f),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Build(e) => e.source(),
            Error::Transport(e) => Some(e),
            Error::Api(e) => e.source(),
            Error::UnexpectedResponse(e) => e.source(),
            Error::Decode(e) => e.source(),
            Error::Workflow(e) => e.source(),
            Error::Store(e) => e.source(),
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

/// The request was not built: which input was wrong and why. Nothing was sent.
///
/// ```
/// use twilio_accounts::{Client, Error};
///
/// let err = Client::from_env_with(|_| None).unwrap_err();
/// let Error::Build(build) = err else { unreachable!() };
/// assert_eq!(build.field(), Some("TWILIO_ACCOUNT_SID"));
/// ```
#[derive(Debug)]
pub struct BuildError {
    field: Option<Cow<'static, str>>,
    reason: Cow<'static, str>,
    source: Option<BoxError>,
}

impl BuildError {
    /// The argument, setter, configuration option or environment variable that was wrong,
    /// such as `page_size` or `TWILIO_ACCOUNT_SID`.
    ///
    /// ```
    /// let err = twilio_accounts::Client::builder().build().unwrap_err();
    /// let twilio_accounts::Error::Build(problem) = &err else { unreachable!() };
    /// assert_eq!(problem.field(), Some("credentials"));
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What was wrong with it (never the value itself).
    ///
    /// ```
    /// let err = twilio_accounts::Client::builder().build().unwrap_err();
    /// let twilio_accounts::Error::Build(problem) = &err else { unreachable!() };
    /// println!("{}", problem.reason());
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "invalid input: `{field}` {}", self.reason),
            None => write!(f, "invalid input: {}", self.reason),
        }
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Twilio's standard error body (`code`, `message`, `more_info`, `status`, optionally
/// `details`) with the HTTP status and the `Twilio-Request-Id` header.
///
/// Every body field is optional: Twilio documents none as required, so missing or
/// mistyped fields are `None` rather than a failure.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) {
/// if let Err(twilio_accounts::Error::Api(api)) = client.auth_token_promotion().update().send().await {
///     println!("{} {:?} {:?} {:?}", api.status(), api.code(), api.message(), api.more_info());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<u32>,
    pub(crate) message: Option<String>,
    pub(crate) more_info: Option<String>,
    pub(crate) details: Option<serde_json::Value>,
    pub(crate) request_id: Option<String>,
}

impl ApiError {
    /// The HTTP status of the response.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::ApiError) {
    /// if e.status().as_u16() == 404 { /* not found */ }
    /// # }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Twilio's error code, such as `20404` (see <https://www.twilio.com/docs/errors>).
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::ApiError) {
    /// if e.code() == Some(20404) { /* no such resource */ }
    /// # }
    /// ```
    pub fn code(&self) -> Option<u32> {
        self.code
    }

    /// Twilio's human-readable message.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::ApiError) {
    /// eprintln!("{}", e.message().unwrap_or("no message"));
    /// # }
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The link to the documentation of the error code.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::ApiError) {
    /// if let Some(url) = e.more_info() { eprintln!("see {url}"); }
    /// # }
    /// ```
    pub fn more_info(&self) -> Option<&str> {
        self.more_info.as_deref()
    }

    /// The `details` object some Twilio APIs add, as raw JSON.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::ApiError) {
    /// if let Some(details) = e.details() { eprintln!("{details}"); }
    /// # }
    /// ```
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.details.as_ref()
    }

    /// The `Twilio-Request-Id` response header.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::ApiError) {
    /// if let Some(id) = e.request_id() { eprintln!("request id {id}"); }
    /// # }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Twilio API error: HTTP {}", self.status.as_u16())?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl StdError for ApiError {}

/// A response whose body is not the JSON that was expected, such as an HTML error page from
/// a proxy. Keeps the status, the content type and a short, sanitised start of the body with
/// the values of secret fields redacted (and none of the body for the auth-token endpoints).
///
/// ```
/// # fn check(err: &twilio_accounts::Error) {
/// if let twilio_accounts::Error::UnexpectedResponse(r) = err {
///     eprintln!("{} {:?}: {}", r.status(), r.content_type(), r.body_snippet());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct UnexpectedResponse {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<String>,
    pub(crate) snippet: String,
    pub(crate) request_id: Option<String>,
}

/// How many characters of an unexpected body are kept.
pub(crate) const SNIPPET_CHARS: usize = 200;

impl UnexpectedResponse {
    /// The HTTP status of the response.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::UnexpectedResponse) {
    /// assert!(e.status().is_client_error() || e.status().is_server_error());
    /// # }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Content-Type` header, if there was a readable one.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::UnexpectedResponse) {
    /// if e.content_type().is_some_and(|t| t.starts_with("text/html")) { /* a proxy page */ }
    /// # }
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The first 200 characters of the body, with invalid UTF-8 replaced, control characters
    /// turned into spaces and runs of whitespace collapsed, and the value of every field named
    /// like a secret (`auth_token`, `secondary_auth_token`, `aws_secret`, `secret_access_key`,
    /// `Authorization`, …) replaced by `[redacted]`. Empty for the auth-token endpoints
    /// (`/v1/AuthTokens/…`), whose bodies hold tokens whatever their content type.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::UnexpectedResponse) {
    /// eprintln!("the body began with: {}", e.body_snippet());
    /// # }
    /// ```
    pub fn body_snippet(&self) -> &str {
        &self.snippet
    }

    /// The `Twilio-Request-Id` response header.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::UnexpectedResponse) {
    /// if let Some(id) = e.request_id() { eprintln!("request id {id}"); }
    /// # }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl fmt::Display for UnexpectedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected response: HTTP {}", self.status.as_u16())?;
        match &self.content_type {
            Some(ct) => write!(f, " with content type `{ct}` instead of JSON"),
            None => f.write_str(" without a JSON body"),
        }
    }
}

impl StdError for UnexpectedResponse {}

/// A JSON body that does not match the documented schema: which field, and (in
/// [`source`](StdError::source)) why.
///
/// ```
/// use twilio_accounts::model::BulkConsents;
///
/// let body = br#"{"items": [{"correlation_id": "x", "error_code": "zero"}]}"#;
/// let consents = BulkConsents::from_json(body)?;
/// let err = consents.item_results().unwrap_err();
/// assert_eq!(err.field(), Some("items[0].error_code"));
/// # Ok::<(), twilio_accounts::Error>(())
/// ```
#[derive(Debug)]
pub struct DecodeError {
    pub(crate) status: Option<StatusCode>,
    pub(crate) field: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) source: BoxError,
}

impl DecodeError {
    pub(crate) fn new(field: Option<String>, source: impl Into<BoxError>) -> Self {
        Self {
            status: None,
            field,
            request_id: None,
            source: source.into(),
        }
    }

    /// The path of the field that failed, such as `credentials[0].sid`; `None` when the body
    /// as a whole is not JSON (or not an object).
    ///
    /// ```
    /// use twilio_accounts::model::CredentialAws;
    /// let e = CredentialAws::from_json(br#"{"sid":"not-a-sid"}"#).unwrap_err();
    /// assert_eq!(e.field(), Some("sid"));
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The HTTP status of the response the body came from.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::DecodeError) {
    /// if let Some(status) = e.status() { eprintln!("HTTP {status} did not decode"); }
    /// # }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The `Twilio-Request-Id` response header.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::DecodeError) {
    /// if let Some(id) = e.request_id() { eprintln!("request id {id}"); }
    /// # }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "could not decode the response: field `{field}` is invalid"
            ),
            None => f.write_str("could not decode the response: the body is not the expected JSON"),
        }
    }
}

impl StdError for DecodeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// A multi-step workflow stopped: at which step, why, and (as the
/// [`source`](StdError::source)) the call that failed, if one did.
///
/// ```
/// # fn check(err: &twilio_accounts::Error) {
/// if let twilio_accounts::Error::Workflow(w) = err {
///     eprintln!("stopped at {}: {}", w.step(), w.message());
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct WorkflowError {
    step: &'static str,
    message: Cow<'static, str>,
    cause: Option<Box<Error>>,
}

impl WorkflowError {
    /// The step that failed, such as `"create secondary token"`.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::WorkflowError) {
    /// eprintln!("stopped at {}: {}", e.step(), e.message());
    /// # }
    /// ```
    pub fn step(&self) -> &str {
        self.step
    }

    /// Why the workflow stopped there.
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::WorkflowError) {
    /// eprintln!("{}", e.message());
    /// # }
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The failed call, if the stop came from one (also the `source()`).
    ///
    /// ```
    /// # fn show(e: &twilio_accounts::WorkflowError) {
    /// if let Some(call) = e.cause() { eprintln!("the call failed: {call}"); }
    /// # }
    /// ```
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_deref()
    }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.step, self.message)
    }
}

impl StdError for WorkflowError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_error_display_names_field_and_has_no_source() {
        let err = Error::invalid_argument("page_size", "must be between 1 and 1000");
        assert_eq!(
            err.to_string(),
            "invalid input: `page_size` must be between 1 and 1000"
        );
        assert!(err.source().is_none());
        assert!(!err.is_retryable());
        assert_eq!(err.status(), None);
    }

    #[test]
    fn api_error_accessors_and_retryability() {
        let api = ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: Some(20429),
            message: Some("Too many requests".into()),
            more_info: Some("https://www.twilio.com/docs/errors/20429".into()),
            details: None,
            request_id: Some("RQ123".into()),
        };
        let err = Error::Api(api);
        assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(err.code(), Some(20429));
        assert_eq!(err.request_id(), Some("RQ123"));
        assert!(err.is_retryable());
        assert_eq!(
            err.to_string(),
            "Twilio API error: HTTP 429, code 20429: Too many requests"
        );
    }

    #[test]
    fn workflow_error_delegates_to_cause() {
        let cause = Error::UnexpectedResponse(UnexpectedResponse {
            status: StatusCode::BAD_GATEWAY,
            content_type: Some("text/html".into()),
            snippet: "<html>".into(),
            request_id: None,
        });
        let err = Error::workflow("promote", "the promotion did not complete", Some(cause));
        assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
        assert!(err.is_retryable());
        assert_eq!(
            err.to_string(),
            "promote failed: the promotion did not complete"
        );
        let source = err.source().unwrap();
        assert!(source.to_string().contains("502"));
        assert!(!err.to_string().contains("502"));
    }

    #[test]
    fn decode_error_keeps_cause_out_of_display() {
        let cause = serde_json::from_str::<u8>("\"secret-ish\"").unwrap_err();
        let err = Error::Decode(DecodeError::new(Some("items[0]".into()), cause));
        assert!(!err.to_string().contains("secret-ish"));
        assert!(err.source().is_some());
    }

    /// `status()`, `code()` and `is_retryable()` for every variant, in one table.
    #[test]
    fn accessors_answer_for_every_variant() {
        let api = |status: StatusCode, code: Option<u32>| {
            Error::Api(ApiError {
                status,
                code,
                message: None,
                more_info: None,
                details: None,
                request_id: None,
            })
        };
        let unexpected = |status: StatusCode| {
            Error::UnexpectedResponse(UnexpectedResponse {
                status,
                content_type: Some("text/html".into()),
                snippet: String::new(),
                request_id: None,
            })
        };
        let mut decode = DecodeError::new(Some("sid".into()), "bad");
        decode.status = Some(StatusCode::OK);
        let transport = |e: TransportError| Error::Transport(e);
        let cases = vec![
            (
                "build",
                Error::invalid_argument("x", "bad"),
                None,
                None,
                false,
            ),
            (
                "transport connect",
                transport(TransportError::connect("refused")),
                None,
                None,
                true,
            ),
            (
                "transport io",
                transport(TransportError::io("reset")),
                None,
                None,
                true,
            ),
            (
                // Transient, as for the transport's retry policy (one definition for both).
                "transport other",
                transport(TransportError::other("tls")),
                None,
                None,
                true,
            ),
            (
                "api 400",
                api(StatusCode::BAD_REQUEST, Some(20001)),
                Some(400),
                Some(20001),
                false,
            ),
            (
                "api 404",
                api(StatusCode::NOT_FOUND, Some(20404)),
                Some(404),
                Some(20404),
                false,
            ),
            (
                "api 429",
                api(StatusCode::TOO_MANY_REQUESTS, None),
                Some(429),
                None,
                true,
            ),
            (
                "api 500",
                api(StatusCode::INTERNAL_SERVER_ERROR, None),
                Some(500),
                None,
                true,
            ),
            (
                "api 501",
                api(StatusCode::NOT_IMPLEMENTED, None),
                Some(501),
                None,
                false,
            ),
            (
                "api 503",
                api(StatusCode::SERVICE_UNAVAILABLE, Some(20503)),
                Some(503),
                Some(20503),
                true,
            ),
            (
                "unexpected 502",
                unexpected(StatusCode::BAD_GATEWAY),
                Some(502),
                None,
                true,
            ),
            (
                "unexpected 504",
                unexpected(StatusCode::GATEWAY_TIMEOUT),
                Some(504),
                None,
                true,
            ),
            (
                "unexpected 403",
                unexpected(StatusCode::FORBIDDEN),
                Some(403),
                None,
                false,
            ),
            ("decode", Error::Decode(decode), Some(200), None, false),
            (
                "workflow without cause",
                Error::workflow("create", "stopped", None),
                None,
                None,
                false,
            ),
            (
                "workflow over an API error",
                Error::workflow(
                    "promote",
                    "stopped",
                    Some(api(StatusCode::TOO_MANY_REQUESTS, Some(20429))),
                ),
                Some(429),
                Some(20429),
                true,
            ),
        ];
        for (name, err, status, code, retryable) in cases {
            assert_eq!(err.status().map(|s| s.as_u16()), status, "{name}: status");
            assert_eq!(err.code(), code, "{name}: code");
            assert_eq!(err.is_retryable(), retryable, "{name}: is_retryable");
        }
    }
}
