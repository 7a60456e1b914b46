//! Sending a built request and turning the response into a model or an [`Error`].

use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{HeaderMap, Request, Response, StatusCode, header};
use serde_json::Value;

use crate::client::Client;
use crate::error::{ApiError, Error, SNIPPET_CHARS, UnexpectedResponse};
use crate::model::{Decode, from_json};

// The three functions below return `Map` combinators rather than being `async fn`s or async
// blocks: an `async fn` keeps its arguments for its whole life, and awaiting a future held by an
// async block moves it into a second slot, so each level would double the size of every call's
// future (and the bytes copied each time it moves). Here the request goes straight into the
// transport's future, which is stored once.

/// Sends `request` and decodes a JSON success body into `T`.
pub(crate) fn call<T: Decode>(
    client: &Client,
    operation: &'static str,
    request: Request<Bytes>,
) -> impl Future<Output = Result<T, Error>> + use<T> {
    let snippets = Snippets::for_path(request.uri().path());
    send(client, operation, request).map(move |response| decode_response_with(&response?, snippets))
}

/// Sends `request` and expects a success status; the body (204: none) is ignored.
pub(crate) fn call_empty(
    client: &Client,
    operation: &'static str,
    request: Request<Bytes>,
) -> impl Future<Output = Result<(), Error>> + use<> {
    let snippets = Snippets::for_path(request.uri().path());
    send(client, operation, request).map(move |response| check_status_with(&response?, snippets))
}

/// What an error may keep of an unexpected body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Snippets {
    /// The start of the body, with the values of secret fields redacted.
    Redacted,
    /// Nothing: the endpoint's bodies hold tokens (`/v1/AuthTokens/…`).
    None,
}

impl Snippets {
    /// [`None`](Self::None) for the auth-token endpoints, whose answers carry Auth Tokens even
    /// when they are not the JSON expected; [`Redacted`](Self::Redacted) elsewhere.
    pub(crate) fn for_path(path: &str) -> Self {
        const AUTH_TOKENS: &str = "/v1/AuthTokens";
        // Compared in place, without a lowercased copy: this runs on every call. The spelling
        // of this crate's paths first (one comparison), then any other case.
        if path.starts_with(AUTH_TOKENS)
            || path
                .get(..AUTH_TOKENS.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(AUTH_TOKENS))
        {
            Snippets::None
        } else {
            Snippets::Redacted
        }
    }
}

fn send(
    client: &Client,
    operation: &'static str,
    request: Request<Bytes>,
) -> impl Future<Output = Result<Response<Bytes>, Error>> + use<> {
    tracing::debug!(operation, method = %request.method(), path = request.uri().path(), "sending Twilio request");
    client.http_client().send(request).map(move |result| {
        // The transport's `twilio.http` span records the status and the request id.
        match &result {
            Ok(response) => tracing::debug!(
                operation,
                status = response.status().as_u16(),
                "Twilio response"
            ),
            Err(_) => tracing::debug!(operation, "Twilio request failed in transport"),
        }
        Ok(result?)
    })
}

/// Maps a response to `T` (2xx with a JSON body) or to the matching [`Error`].
#[cfg(test)]
pub(crate) fn decode_response<T: Decode>(response: &Response<Bytes>) -> Result<T, Error> {
    decode_response_with(response, Snippets::Redacted)
}

/// [`decode_response`], keeping what `snippets` allows of an unexpected body.
fn decode_response_with<T: Decode>(
    response: &Response<Bytes>,
    snippets: Snippets,
) -> Result<T, Error> {
    check_status_with(response, snippets)?;
    if !is_json_or_unspecified(response.headers()) {
        return Err(unexpected(response, snippets));
    }
    from_json(response.body()).map_err(|mut e| {
        e.status = Some(response.status());
        e.request_id = request_id(response.headers());
        Error::Decode(e)
    })
}

/// `Ok(())` for 2xx; the matching error otherwise.
fn check_status_with(response: &Response<Bytes>, snippets: Snippets) -> Result<(), Error> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(error_from_response_with(response, snippets))
    }
}

/// The error for a non-2xx response: [`Error::Api`] when the body is a JSON object,
/// [`Error::UnexpectedResponse`] otherwise (with a redacted snippet).
pub(crate) fn error_from_response(response: &Response<Bytes>) -> Error {
    error_from_response_with(response, Snippets::Redacted)
}

fn error_from_response_with(response: &Response<Bytes>, snippets: Snippets) -> Error {
    if is_json_or_unspecified(response.headers())
        && let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(response.body())
    {
        return Error::Api(api_error(response.status(), response.headers(), &body));
    }
    unexpected(response, snippets)
}

fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &serde_json::Map<String, Value>,
) -> ApiError {
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    // Twilio's body has `message`; an RFC 7807 problem (proxies, API mocks) has title/detail.
    let message = text("message").or_else(|| match (text("title"), text("detail")) {
        (Some(t), Some(d)) => Some(format!("{t}: {d}")),
        (t, d) => t.or(d),
    });
    ApiError {
        status,
        code: body
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok()),
        message,
        more_info: text("more_info"),
        details: body
            .get("details")
            .filter(|v| !v.is_null())
            .cloned()
            .map(redact_json),
        request_id: request_id(headers),
    }
}

fn unexpected(response: &Response<Bytes>, snippets: Snippets) -> Error {
    let kept = match snippets {
        Snippets::Redacted => snippet(response.body(), SNIPPET_CHARS),
        Snippets::None => String::new(),
    };
    Error::UnexpectedResponse(UnexpectedResponse {
        status: response.status(),
        content_type: response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| snippet(s.as_bytes(), 100)),
        snippet: kept,
        request_id: request_id(response.headers()),
    })
}

/// The first `max` characters of `bytes`, lossily decoded, the values of secret fields
/// redacted ([`redact_secrets`]), controls as spaces, whitespace runs collapsed.
pub(crate) fn snippet(bytes: &[u8], max: usize) -> String {
    // Only look at a bounded prefix: 4 bytes per char at most.
    let prefix = &bytes[..bytes.len().min(max * 4)];
    let text = redact_secrets(&String::from_utf8_lossy(prefix));
    let mut out = String::new();
    let mut last_space = true;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
        if out.chars().count() >= max {
            break;
        }
    }
    out.trim_end().to_owned()
}

/// What replaces a redacted value.
const REDACTED: &str = "[redacted]";

/// Whether a field named `name` holds a secret: any name containing `token`, `secret`,
/// `password`, `authorization` or `credentials` (`auth_token`, `secondary_auth_token`,
/// `aws_secret`, `secret_access_key`, `api_secret`, the AWS `Credentials` parameter, …), in
/// any case. Redacting a harmless field too is the safe mistake.
fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "authorization",
        "credentials",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// `text` with the value of every secret field replaced by `[redacted]`, in whatever form the
/// body has: JSON (`"auth_token": "…"`), a form or query (`auth_token=…`), a header-like line
/// (`Authorization: Basic …`), quoted or not. A value cut off by the end of `text` is redacted
/// to the end.
pub(crate) fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_name_char(c)) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        out.push_str(name);
        rest = after;
        if !is_secret_name(name) {
            continue;
        }
        // The separator: an optional closing quote, spaces, then `:` or `=`, then spaces.
        let Some(mut value_at) = separator_len(rest) else {
            continue;
        };
        // A value followed by another separator was the name of the next field (as in
        // `token= "auth_token": …`): that field's value is redacted too, and so on.
        loop {
            out.push_str(&rest[..value_at]);
            rest = &rest[value_at..];
            let value_len = value_len(rest);
            if value_len == 0 {
                break;
            }
            let quoted = rest.starts_with(['"', '\'']);
            if quoted {
                out.push_str(&rest[..1]);
            }
            out.push_str(REDACTED);
            if quoted && value_len >= 2 && rest[..value_len].ends_with(&rest[..1]) {
                out.push_str(&rest[..1]);
            }
            rest = &rest[value_len..];
            match separator_len(rest) {
                Some(next) => value_at = next,
                None => break,
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The length of `["'] *[:=] *` at the start of `text`, if it is there.
fn separator_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'"' | b'\'')) {
        i += 1;
    }
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if !matches!(bytes.get(i), Some(b':' | b'=')) {
        return None;
    }
    i += 1;
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    Some(i)
}

/// The length of the value at the start of `text`: a quoted string (escapes honoured; to the
/// end if unterminated), nothing for an object or array (its own fields are visited), else a
/// bare word up to a space, a delimiter or a `:` that ends it (so `a:b` is one value, and in
/// `auth_token: x` the name is), with the credentials after an HTTP auth scheme (`Basic …`,
/// `Bearer …`).
fn value_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(&quote @ (b'"' | b'\'')) => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b if b == quote => return i + 1,
                    _ => i += 1,
                }
            }
            bytes.len()
        }
        Some(b'{' | b'[') | None => 0,
        Some(_) => {
            let word = |from: usize| {
                let mut chars = text[from..].char_indices().peekable();
                while let Some((at, c)) = chars.next() {
                    let ends_name =
                        c == ':' && chars.peek().is_none_or(|&(_, next)| next.is_whitespace());
                    if c.is_whitespace() || ",;&<>\"'}])".contains(c) || ends_name {
                        return from + at;
                    }
                }
                text.len()
            };
            let first = word(0);
            let scheme = &text[..first];
            if (scheme.eq_ignore_ascii_case("basic") || scheme.eq_ignore_ascii_case("bearer"))
                && text[first..].starts_with(' ')
            {
                word(first + 1)
            } else {
                first
            }
        }
    }
}

/// `value` with every string, number or boolean under a secret field name (at any depth)
/// replaced by `"[redacted]"`, and secret fields inside other strings redacted (for the raw
/// `details` of an API error).
fn redact_json(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(name, value)| {
                    let value = if is_secret_name(&name) {
                        redact_all(value)
                    } else {
                        redact_json(value)
                    };
                    (name, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_json).collect()),
        Value::String(text) => Value::String(redact_secrets(&text)),
        other => other,
    }
}

/// `value` with every string, number and boolean in it replaced by `"[redacted]"`.
fn redact_all(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(name, value)| (name, redact_all(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_all).collect()),
        Value::Null => Value::Null,
        _ => Value::String(REDACTED.to_owned()),
    }
}

fn is_json_or_unspecified(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    // On the bytes, without a lowercased copy or a UTF-8 check: this runs on every call, and a
    // media type is ASCII (anything else fails the comparisons). Twilio's own spelling first
    // (one comparison), then the general rule.
    if let Some(rest) = value.as_bytes().strip_prefix(b"application/json")
        && matches!(rest.first(), None | Some(b';'))
    {
        return true;
    }
    let media = value
        .as_bytes()
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let Some(slash) = media.iter().position(|&b| b == b'/') else {
        return false;
    };
    let (main, sub) = (&media[..slash], &media[slash + 1..]);
    main.eq_ignore_ascii_case(b"application")
        && (sub.eq_ignore_ascii_case(b"json")
            || sub.len() >= 5 && sub[sub.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// The request id for an error (read only when there is one to build).
fn request_id(headers: &HeaderMap) -> Option<String> {
    twilio_transport::request_id(headers).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Safelist;

    fn response(status: u16, ct: Option<&str>, body: &[u8]) -> Response<Bytes> {
        let mut b = Response::builder()
            .status(status)
            .header("Twilio-Request-Id", "RQ0123");
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Bytes::copy_from_slice(body)).unwrap()
    }

    #[test]
    fn twilio_error_body() {
        let r = response(
            404,
            Some("application/json; charset=utf-8"),
            br#"{"code":20404,"message":"Not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404,"details":{"a":1}}"#,
        );
        let Error::Api(api) = error_from_response(&r) else {
            panic!("not an API error")
        };
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert_eq!(api.code(), Some(20404));
        assert_eq!(api.message(), Some("Not found"));
        assert_eq!(
            api.more_info(),
            Some("https://www.twilio.com/docs/errors/20404")
        );
        assert_eq!(api.details(), Some(&serde_json::json!({"a":1})));
        assert_eq!(api.request_id(), Some("RQ0123"));
    }

    #[test]
    fn problem_json_is_an_api_error_with_its_title() {
        let r = response(
            422,
            Some("application/problem+json"),
            br#"{"type":"x","title":"Invalid request","detail":"Items must be array","status":422}"#,
        );
        let err = error_from_response(&r);
        let Error::Api(api) = &err else { panic!() };
        assert_eq!(api.message(), Some("Invalid request: Items must be array"));
        assert_eq!(api.code(), None);
        assert!(!err.is_retryable());
    }

    #[test]
    fn html_502_is_unexpected_with_snippet() {
        let r = response(
            502,
            Some("text/html"),
            b"<html>\n\n<body>Bad   Gateway</body></html>",
        );
        let err = error_from_response(&r);
        let Error::UnexpectedResponse(u) = &err else {
            panic!()
        };
        assert_eq!(u.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(u.content_type(), Some("text/html"));
        assert_eq!(u.body_snippet(), "<html> <body>Bad Gateway</body></html>");
        assert!(err.is_retryable());
    }

    #[test]
    fn secret_fields_are_redacted_in_every_form() {
        let cases = [
            (
                r#"{"secondary_auth_token": "abc123", "x": 1}"#,
                r#"{"secondary_auth_token": "[redacted]", "x": 1}"#,
            ),
            (
                r#"{"auth_token":"a\"b\\","aws_secret" : 'q'}"#,
                r#"{"auth_token":"[redacted]","aws_secret" : '[redacted]'}"#,
            ),
            ("auth_token=abc&x=1", "auth_token=[redacted]&x=1"),
            (
                "AccountSid=AC1&SECRET_ACCESS_KEY=wJalr%2Fx;y",
                "AccountSid=AC1&SECRET_ACCESS_KEY=[redacted];y",
            ),
            (
                "Authorization: Basic QUMxMjM6dG9rZW4=\r\nHost: x",
                "Authorization: [redacted]\r\nHost: x",
            ),
            ("<b>password: hunter2</b>", "<b>password: [redacted]</b>"),
            (
                r#"{"token": 12345, "n": true}"#,
                r#"{"token": [redacted], "n": true}"#,
            ),
            // A value cut off by the end of the text is redacted to the end.
            (r#"{"auth_token": "abcdef"#, r#"{"auth_token": "[redacted]"#),
            // Objects and arrays: their own fields are visited.
            (
                r#"{"secrets": {"api_secret": "s"}}"#,
                r#"{"secrets": {"api_secret": "[redacted]"}}"#,
            ),
            // Not secret: other names, and secret-looking words that are not field names.
            (
                r#"{"friendly_name": "tokenless", "sid": "CR1"}"#,
                r#"{"friendly_name": "tokenless", "sid": "CR1"}"#,
            ),
            ("the token is valid", "the token is valid"),
            // An empty value followed by the next field: that field is still redacted.
            (
                r#"x_token= "auth_token": "s1", y_token= auth_token: s2"#,
                r#"x_token= "[redacted]": "[redacted]", y_token= [redacted]: [redacted]"#,
            ),
            // The AWS credentials parameter (`access_key:secret`), and values with `:` or `=`.
            (
                "Credentials=AKIAIOSFODNN7:wJalrXUtnFEMI=&x=1",
                "Credentials=[redacted]&x=1",
            ),
            ("password: a:b", "password: [redacted]"),
        ];
        for (text, expected) in cases {
            assert_eq!(redact_secrets(text), expected, "{text}");
        }
    }

    #[test]
    fn api_error_details_are_redacted() {
        let r = response(
            400,
            Some("application/json"),
            br#"{"code":1,"details":{"auth_token":"tok-1","nested":[{"secret":["a",{"b":2}]}],"note":"auth_token=tok-2"}}"#,
        );
        let Error::Api(api) = error_from_response(&r) else {
            panic!()
        };
        let details = api.details().unwrap().to_string();
        assert!(
            !details.contains("tok-") && !details.contains("\"a\""),
            "{details}"
        );
        assert_eq!(
            api.details().unwrap()["nested"][0]["secret"],
            serde_json::json!(["[redacted]", {"b": "[redacted]"}])
        );
    }

    #[test]
    fn auth_token_endpoints_keep_no_snippet() {
        assert_eq!(
            Snippets::for_path("/v1/AuthTokens/Secondary"),
            Snippets::None
        );
        assert_eq!(Snippets::for_path("/v1/AuthTokens/Promote"), Snippets::None);
        assert_eq!(Snippets::for_path("/v1/authtokens/promote"), Snippets::None);
        assert_eq!(Snippets::for_path("/V1/AUTHTOKENS"), Snippets::None);
        // Shorter than the prefix, or cut inside a multi-byte character: not the endpoint.
        for path in [
            "",
            "/v1",
            "/v1/AuthToken",
            "/v1/AuthTokené",
            "/v1/AuthToke\u{e9}ns",
        ] {
            assert_eq!(Snippets::for_path(path), Snippets::Redacted, "{path}");
        }
        assert_eq!(
            Snippets::for_path("/v1/Credentials/AWS"),
            Snippets::Redacted
        );
        let r = response(201, Some("text/plain"), br#"{"secondary_auth_token":"x"}"#);
        let Err(Error::UnexpectedResponse(u)) =
            decode_response_with::<Safelist>(&r, Snippets::None)
        else {
            panic!()
        };
        assert_eq!(u.body_snippet(), "");
        assert_eq!(u.status(), StatusCode::CREATED);
    }

    #[test]
    fn snippet_is_bounded_and_sanitised() {
        let long = "x".repeat(10_000);
        assert_eq!(snippet(long.as_bytes(), 200).chars().count(), 200);
        assert_eq!(snippet(b"a\x00\x1bb\xff", 200), "a b\u{fffd}");
    }

    #[test]
    fn success_with_wrong_content_type() {
        let r = response(200, Some("text/plain"), b"{}");
        assert!(matches!(
            decode_response::<Safelist>(&r),
            Err(Error::UnexpectedResponse(_))
        ));
    }

    #[test]
    fn success_with_bad_sid_names_field() {
        let r = response(200, Some("application/json"), br#"{"sid":"CR0"}"#);
        let Err(Error::Decode(e)) = decode_response::<Safelist>(&r) else {
            panic!()
        };
        assert_eq!(e.field(), Some("sid"));
        assert_eq!(e.status(), Some(StatusCode::OK));
        assert_eq!(e.request_id(), Some("RQ0123"));
    }

    #[test]
    fn success_without_content_type_still_decodes() {
        let r = response(201, None, br#"{"phone_number":"+1"}"#);
        let s: Safelist = decode_response(&r).unwrap();
        assert_eq!(s.phone_number.as_deref(), Some("+1"));
    }

    fn json_check(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_str(value).unwrap(),
        );
        is_json_or_unspecified(&headers)
    }

    /// The rule, written the obvious way.
    fn json_by_lowercasing(value: &str) -> bool {
        let media = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"))
    }

    #[test]
    fn json_media_type_check_around_its_fast_path() {
        for value in [
            "application/json",
            "application/json;charset=utf-8",
            "application/json; charset=utf-8",
            "application/json ; charset=utf-8",
            "application/jsonx",
            "application/json+x",
            "application/json x",
            "application/jso",
            "application/problem+json",
            "Application/JSON",
            "text/json",
        ] {
            assert_eq!(json_check(value), json_by_lowercasing(value), "{value}");
        }
    }

    proptest::proptest! {
        /// The media type check without a lowercased copy says what the one with it said.
        #[test]
        fn json_media_type_check_matches_the_lowercasing_one(
            value in "([aA][pP][pP][lL][iI][cC][aA][tT][iI][oO][nN]|text|é)/([jJ][sS][oO][nN]|x\\+[jJ][sS][oO][nN]|\\+json|[ -~]{0,6})(;[ -~]{0,8})?"
        ) {
            proptest::prop_assert_eq!(json_check(&value), json_by_lowercasing(&value));
        }

        /// A secret field anywhere in any text, in any of its forms, never survives.
        #[test]
        fn a_secret_value_never_survives_redaction(
            before in "[ -~]{0,300}",
            after in "[ -~]{0,300}",
            name in "(auth_token|secondary_auth_token|aws_secret|secret_access_key|Password|x_token)",
            form in 0..6usize,
            secret in "[A-Z]{24}",
        ) {
            let field = match form {
                0 => format!(r#""{name}": "{secret}""#),
                1 => format!("{name}={secret}"),
                2 => format!("{name}: Basic {secret}"),
                3 => format!("{name}={secret}:{secret}="),
                4 => format!(r#"x_token= "{name}" : "{secret}"#),
                _ => format!("'{name}':'{secret}"),
            };
            // A separator, so that `before` cannot run into the field's name.
            let text = format!("{before} {field}");
            let redacted = redact_secrets(&format!("{text}{after}"));
            proptest::prop_assert!(!redacted.contains(&secret), "{}", redacted);
            let kept = snippet(format!("{text}{after}").as_bytes(), SNIPPET_CHARS);
            proptest::prop_assert!(!kept.contains(&secret[..6]), "{}", kept);
        }

        #[test]
        fn any_response_maps_without_panicking(
            status in 100u16..600,
            content_type in proptest::option::of("[ -~]{0,40}"),
            body in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..300),
        ) {
            let mut b = Response::builder().status(status);
            if let Some(ct) = &content_type {
                b = b.header(header::CONTENT_TYPE, ct.as_str());
            }
            let r = b.body(Bytes::from(body)).unwrap();
            match decode_response::<Safelist>(&r) {
                Ok(_) => proptest::prop_assert!(r.status().is_success()),
                Err(Error::UnexpectedResponse(u)) => {
                    proptest::prop_assert!(u.body_snippet().chars().count() <= SNIPPET_CHARS);
                    proptest::prop_assert!(!u.body_snippet().chars().any(char::is_control));
                }
                Err(_) => {}
            }
        }
    }
}
