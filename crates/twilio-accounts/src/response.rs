//! Sending a built request and turning the response into a model or an [`Error`].

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, header};
use serde_json::Value;

use crate::client::Client;
use crate::error::{ApiError, Error, SNIPPET_CHARS, UnexpectedResponse};
use crate::model::{Decode, from_json};

/// Sends `request` and decodes a JSON success body into `T`.
pub(crate) async fn call<T: Decode>(
    client: &Client,
    operation: &'static str,
    request: Request<Bytes>,
) -> Result<T, Error> {
    let response = send(client, operation, request).await?;
    decode_response(&response)
}

/// Sends `request` and expects a success status; the body (204: none) is ignored.
pub(crate) async fn call_empty(
    client: &Client,
    operation: &'static str,
    request: Request<Bytes>,
) -> Result<(), Error> {
    let response = send(client, operation, request).await?;
    check_status(&response)
}

async fn send(
    client: &Client,
    operation: &'static str,
    request: Request<Bytes>,
) -> Result<Response<Bytes>, Error> {
    let method = request.method().clone();
    tracing::debug!(operation, %method, path = request.uri().path(), "sending Twilio request");
    let result = client.http_client().send(request).await;
    match &result {
        Ok(response) => tracing::debug!(
            operation,
            status = response.status().as_u16(),
            request_id = request_id(response.headers()).as_deref(),
            "Twilio response"
        ),
        Err(_) => tracing::debug!(operation, "Twilio request failed in transport"),
    }
    Ok(result?)
}

/// Maps a response to `T` (2xx with a JSON body) or to the matching [`Error`].
pub(crate) fn decode_response<T: Decode>(response: &Response<Bytes>) -> Result<T, Error> {
    check_status(response)?;
    if !is_json_or_unspecified(response.headers()) {
        return Err(unexpected(response));
    }
    from_json(response.body()).map_err(|mut e| {
        e.status = Some(response.status());
        e.request_id = request_id(response.headers());
        Error::Decode(e)
    })
}

/// `Ok(())` for 2xx; the matching error otherwise.
pub(crate) fn check_status(response: &Response<Bytes>) -> Result<(), Error> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(error_from_response(response))
    }
}

/// The error for a non-2xx response: [`Error::Api`] when the body is a JSON object,
/// [`Error::UnexpectedResponse`] otherwise.
pub(crate) fn error_from_response(response: &Response<Bytes>) -> Error {
    if is_json_or_unspecified(response.headers())
        && let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(response.body())
    {
        return Error::Api(api_error(response.status(), response.headers(), &body));
    }
    unexpected(response)
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
        details: body.get("details").filter(|v| !v.is_null()).cloned(),
        request_id: request_id(headers),
    }
}

fn unexpected(response: &Response<Bytes>) -> Error {
    Error::UnexpectedResponse(UnexpectedResponse {
        status: response.status(),
        content_type: response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| snippet(s.as_bytes(), 100)),
        snippet: snippet(response.body(), SNIPPET_CHARS),
        request_id: request_id(response.headers()),
    })
}

/// The first `max` characters of `bytes`, lossily decoded, controls as spaces, whitespace
/// runs collapsed.
pub(crate) fn snippet(bytes: &[u8], max: usize) -> String {
    // Only look at a bounded prefix: 4 bytes per char at most.
    let prefix = &bytes[..bytes.len().min(max * 4)];
    let text = String::from_utf8_lossy(prefix);
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

fn is_json_or_unspecified(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("twilio-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
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

    proptest::proptest! {
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
