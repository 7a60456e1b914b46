//! Pure request building: method, path, query and body to an `http::Request<Bytes>`.
//!
//! The URI is path and query only (`/v1/Credentials/AWS?PageSize=50`); the transport adds the
//! scheme and host, authentication and the common headers (`User-Agent`, `Accept`). What a body
//! looks like on the wire, its bytes and its `Content-Type`, is decided in one place, [`Body`]:
//! a form for every operation of Twilio's spec, JSON for the Compliance Signals check. (The
//! transport never sets a `Content-Type`.)

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{Method, Request, Uri};

use crate::error::Error;
use crate::form::Form;

/// The media type of every form body (every operation of Twilio's spec but one).
pub(crate) const FORM_CONTENT_TYPE: http::HeaderValue =
    http::HeaderValue::from_static("application/x-www-form-urlencoded");

/// The media type of the one JSON-bodied operation (`POST /v1/ComplianceSignals/Check`); the
/// transport's `HeadersLayer` sends `Accept: application/json` with every request.
pub(crate) const JSON_CONTENT_TYPE: http::HeaderValue =
    http::HeaderValue::from_static("application/json");

/// The body of a request, by kind: the only place that turns one into bytes and headers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    /// `application/x-www-form-urlencoded` (every operation of Twilio's spec); an empty form
    /// sends no body at all.
    Form(&'a Form),
    /// `application/json` (with the transport's `Accept: application/json`), as twilio-node
    /// sends it.
    Json(&'a serde_json::Value),
}

/// An operation's fixed path (`/v1/AuthTokens/Secondary`), parsed into a URI on first use and
/// kept: a request to it without a query then takes that URI as it is (a copy of static bytes)
/// instead of parsing the path on every call.
#[derive(Debug)]
pub(crate) struct FixedPath {
    text: &'static str,
    parsed: OnceLock<Uri>,
}

impl FixedPath {
    pub(crate) const fn new(text: &'static str) -> Self {
        Self {
            text,
            parsed: OnceLock::new(),
        }
    }

    pub(crate) fn as_str(&self) -> &'static str {
        self.text
    }

    fn uri(&self) -> Result<Uri, http::uri::InvalidUri> {
        if let Some(uri) = self.parsed.get() {
            return Ok(uri.clone());
        }
        let uri = Uri::from_maybe_shared(Bytes::from_static(self.text.as_bytes()))?;
        Ok(self.parsed.get_or_init(|| uri).clone())
    }
}

/// The path of a request: an operation's [`FixedPath`], or text (a path with a SID in it, a
/// next-page link).
#[derive(Debug)]
pub(crate) enum Path {
    Fixed(&'static FixedPath),
    Text(Cow<'static, str>),
}

impl From<&'static FixedPath> for Path {
    fn from(path: &'static FixedPath) -> Self {
        Self::Fixed(path)
    }
}

impl From<&'static str> for Path {
    fn from(path: &'static str) -> Self {
        Self::Text(Cow::Borrowed(path))
    }
}

impl From<String> for Path {
    fn from(path: String) -> Self {
        Self::Text(Cow::Owned(path))
    }
}

/// Builds a request. A form body is sent only when it has fields.
///
/// # Errors
/// [`Error::Build`] if the pieces do not form a valid request (not reachable with the paths of
/// this crate, whose dynamic segments are validated SIDs).
pub(crate) fn build(
    method: Method,
    path: impl Into<Path>,
    query: &Form,
    body: &Form,
) -> Result<Request<Bytes>, Error> {
    build_body(method, path, query, Body::Form(body))
}

/// Builds a request with a body of any [`Body`] kind.
///
/// # Errors
/// As [`build`].
pub(crate) fn build_body(
    method: Method,
    path: impl Into<Path>,
    query: &Form,
    body: Body<'_>,
) -> Result<Request<Bytes>, Error> {
    // A fixed path without a query is parsed once; text is used where it is, without a copy.
    let with_query = |path: &str| Bytes::from(format!("{path}?{}", query.encode()));
    let uri = match (path.into(), query.is_empty()) {
        (Path::Fixed(path), true) => path.uri(),
        (Path::Fixed(path), false) => Uri::from_maybe_shared(with_query(path.as_str())),
        (Path::Text(Cow::Borrowed(path)), true) => {
            Uri::from_maybe_shared(Bytes::from_static(path.as_bytes()))
        }
        (Path::Text(Cow::Owned(path)), true) => Uri::from_maybe_shared(Bytes::from(path)),
        (Path::Text(path), false) => Uri::from_maybe_shared(with_query(&path)),
    }
    .map_err(|e| Error::build_with_source(None, "the HTTP request could not be built", e))?;
    let (bytes, content_type) = match body {
        Body::Form(form) if form.is_empty() => (Bytes::new(), None),
        Body::Form(form) => (Bytes::from(form.encode()), Some(FORM_CONTENT_TYPE)),
        Body::Json(value) => (Bytes::from(value.to_string()), Some(JSON_CONTENT_TYPE)),
    };
    // Straight into the request (no `http::request::Builder`: this runs on every call).
    let mut request = Request::new(bytes);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if let Some(content_type) = content_type {
        request
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type);
    }
    Ok(request)
}

/// Where an operation carries its parameters. The spec puts some in the query even where a
/// body would be possible (`SuppressEmailNotification` on delete, `PhoneNumber` on the
/// SafeList fetch and delete), so each operation says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamsIn {
    /// In the query string.
    Query,
    /// In a form-urlencoded body.
    Body,
}

/// Builds a request whose parameters all go in one place; nothing is sent for an empty
/// `params` (no query, no body, no `Content-Type`).
///
/// # Errors
/// As [`build`].
pub(crate) fn build_with(
    method: Method,
    path: &'static FixedPath,
    params: &Form,
    place: ParamsIn,
) -> Result<Request<Bytes>, Error> {
    match place {
        ParamsIn::Query => build(method, path, params, &Form::new()),
        ParamsIn::Body => build(method, path, &Form::new(), params),
    }
}

/// Checks a required free-text argument: not empty and no control characters other than
/// newlines (a PEM key has those).
pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    allow_newlines: bool,
) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid_argument(field, "must not be empty"));
    }
    let bad = value
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r')));
    if bad {
        return Err(Error::invalid_argument(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers for the request-building unit tests of every operation.

    use bytes::Bytes;
    use http::Request;

    /// The decoded form body of a request.
    pub(crate) fn form_body(request: &Request<Bytes>) -> Vec<(String, String)> {
        let body = std::str::from_utf8(request.body()).unwrap();
        crate::form::decode(body).unwrap()
    }

    /// The decoded query of a request.
    pub(crate) fn query(request: &Request<Bytes>) -> Vec<(String, String)> {
        crate::form::decode(request.uri().query().unwrap_or("")).unwrap()
    }

    /// `(k, v)` pairs from string literals.
    pub(crate) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The headers of `request` as the transport sends them (through its `HeadersLayer`,
    /// which sets the form `Content-Type`), without auth.
    pub(crate) fn sent_headers(request: &Request<Bytes>) -> http::HeaderMap {
        use futures_util::FutureExt as _;
        use tower::{Layer as _, ServiceExt as _};
        let echo = tower::service_fn(|sent: Request<Bytes>| async move {
            Ok::<_, std::convert::Infallible>(sent.headers().clone())
        });
        twilio_transport::HeadersLayer::default()
            .layer(echo)
            .oneshot(request.clone())
            .now_or_never()
            .expect("the headers layer answers at once")
            .expect("infallible")
    }

    /// Asserts a request without a body: no bytes and no `Content-Type` (as sent).
    #[track_caller]
    pub(crate) fn assert_no_body(request: &Request<Bytes>) {
        assert!(request.body().is_empty());
        assert!(
            sent_headers(request)
                .get(http::header::CONTENT_TYPE)
                .is_none()
        );
    }

    /// Asserts a form body with its content type (as sent).
    #[track_caller]
    pub(crate) fn assert_form(request: &Request<Bytes>, expected: &[(&str, &str)]) {
        assert_eq!(
            sent_headers(request)[http::header::CONTENT_TYPE],
            super::FORM_CONTENT_TYPE
        );
        assert_eq!(form_body(request), pairs(expected));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn query_and_body() {
        let mut query = Form::new();
        query.push("PageSize", "5");
        let mut body = Form::new();
        body.push("FriendlyName", "a b");
        let req = build(Method::POST, "/v1/X", &query, &body).unwrap();
        assert_eq!(req.uri().to_string(), "/v1/X?PageSize=5");
        assert_eq!(req.body().as_ref(), b"FriendlyName=a%20b");
        let sent = test_support::sent_headers(&req);
        assert_eq!(sent[header::CONTENT_TYPE], FORM_CONTENT_TYPE);
    }

    #[test]
    fn a_fixed_path_is_parsed_once_and_reads_as_its_text() {
        static FIXED: FixedPath = FixedPath::new("/v1/Fixed/Path");
        let mut query = Form::new();
        query.push("PageSize", "5");
        for _ in 0..2 {
            for query in [Form::new(), query.clone()] {
                let fixed = build(Method::GET, &FIXED, &query, &Form::new()).unwrap();
                let text = build(Method::GET, "/v1/Fixed/Path", &query, &Form::new()).unwrap();
                assert_eq!(fixed.uri(), text.uri());
            }
        }
        assert!(FIXED.parsed.get().is_some());
        assert_eq!(FIXED.as_str(), "/v1/Fixed/Path");
        // A path that is not one is an error, each time, and nothing is kept.
        static BAD: FixedPath = FixedPath::new("/v1/a b");
        for _ in 0..2 {
            let err = build(Method::GET, &BAD, &Form::new(), &Form::new()).unwrap_err();
            assert!(matches!(err, Error::Build { .. }), "{err:?}");
        }
        assert!(BAD.parsed.get().is_none());
    }

    #[test]
    fn empty_body_has_no_content_type() {
        let req = build(Method::POST, "/v1/X", &Form::new(), &Form::new()).unwrap();
        assert!(req.body().is_empty());
        let sent = test_support::sent_headers(&req);
        assert!(sent.get(header::CONTENT_TYPE).is_none());
        assert_eq!(req.uri().to_string(), "/v1/X");
    }

    #[test]
    fn json_bodies_say_so_in_their_headers() {
        let value = serde_json::json!({"to": "+14155552671", "signals": ["QUIET_HOURS"]});
        let req = build_body(Method::POST, "/v1/X", &Form::new(), Body::Json(&value)).unwrap();
        let sent = test_support::sent_headers(&req);
        assert_eq!(sent[header::CONTENT_TYPE], JSON_CONTENT_TYPE);
        assert_eq!(sent[header::ACCEPT], JSON_CONTENT_TYPE);
        let sent: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(sent, value);
        let req = build_body(
            Method::DELETE,
            "/v1/X",
            &Form::new(),
            Body::Form(&Form::new()),
        )
        .unwrap();
        assert!(req.body().is_empty());
        assert!(req.headers().get(header::CONTENT_TYPE).is_none());
    }

    #[test]
    fn text_checks() {
        assert!(check_text("PhoneNumber", "", false).is_err());
        assert!(check_text("PhoneNumber", "  ", false).is_err());
        assert!(check_text("PhoneNumber", "+1\n", false).is_err());
        assert!(check_text("PublicKey", "a\nb", true).is_ok());
        assert!(check_text("PublicKey", "a\0b", true).is_err());
        let err = check_text("PhoneNumber", "", false).unwrap_err();
        assert!(err.to_string().contains("`PhoneNumber`"));
    }
}
