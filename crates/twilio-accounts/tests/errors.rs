//! Every error shape, through the public API over canned transports.

mod common;

use std::error::Error as _;

use bytes::Bytes;
use common::{Canned, canned_client};
use http::StatusCode;
use twilio_accounts::{Client, Error, RetryConfig};
use twilio_types::CredentialSid;

const SID: CredentialSid = CredentialSid::from_static("CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");

#[tokio::test]
async fn twilio_error_body() {
    let (client, _) = canned_client(vec![Canned::json(
        404,
        r#"{"code":20404,"message":"The requested resource /AuthTokens/Promote was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404,"details":{"hint":"create a secondary token first"}}"#,
    )]);
    let err = client
        .auth_token_promotion()
        .update()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.code(), Some(20404));
    assert_eq!(err.request_id(), Some("RQ00000000000000000000000000000001"));
    assert!(!err.is_retryable());
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        api.message(),
        Some("The requested resource /AuthTokens/Promote was not found")
    );
    assert_eq!(
        api.more_info(),
        Some("https://www.twilio.com/docs/errors/20404")
    );
    assert_eq!(
        api.details().unwrap()["hint"],
        "create a secondary token first"
    );
    assert!(err.source().is_none());
}

#[tokio::test]
async fn lenient_error_body_falls_back_to_the_status() {
    let (client, _) = canned_client(vec![Canned::json(503, r#"{"code":"busy","message":7}"#)]);
    let err = client
        .credentials()
        .aws()
        .fetch(SID)
        .send()
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.code(), None);
    assert_eq!(api.message(), None);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn rate_limited_is_retryable() {
    let (client, _) = canned_client(vec![Canned::json(
        429,
        r#"{"code":20429,"message":"Too many requests","status":429}"#,
    )]);
    let err = client
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(20429));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn html_502_keeps_status_type_and_snippet() {
    let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n</body></html>";
    let (client, _) = canned_client(vec![Canned::with_content_type(502, "text/html", html)]);
    let err = client
        .credentials()
        .public_key()
        .list()
        .send()
        .await
        .unwrap_err();
    let Error::UnexpectedResponse(u) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(u.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(u.content_type(), Some("text/html"));
    assert_eq!(
        u.body_snippet(),
        "<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> </body></html>"
    );
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "unexpected response: HTTP 502 with content type `text/html` instead of JSON"
    );
}

#[tokio::test]
async fn long_and_invalid_utf8_bodies_are_bounded_and_replaced() {
    let mut body = vec![0xff, 0xfe, b'<', b'p', b'>'];
    body.extend(std::iter::repeat_n(b'x', 100_000));
    let (client, _) = canned_client(vec![Canned::with_content_type(
        500,
        "text/plain",
        Bytes::from(body),
    )]);
    // (Not an auth-token endpoint: those keep no snippet at all.)
    let err = client
        .safelist()
        .delete("+18001234567")
        .send()
        .await
        .unwrap_err();
    let Error::UnexpectedResponse(u) = &err else {
        panic!("{err:?}")
    };
    assert!(u.body_snippet().starts_with("\u{fffd}\u{fffd}<p>x"));
    assert_eq!(u.body_snippet().chars().count(), 200);
}

#[tokio::test]
async fn success_with_wrong_content_type() {
    let (client, _) = canned_client(vec![Canned::with_content_type(
        200,
        "text/html",
        "<html>ok</html>",
    )]);
    let err = client
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap_err();
    let Error::UnexpectedResponse(u) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(u.status(), StatusCode::OK);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn success_with_truncated_or_invalid_json() {
    for body in [
        &br#"{"sid":"GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","phone_n"#[..],
        b"\xff\xfe{}",
        b"",
        b"null",
    ] {
        let (client, _) = canned_client(vec![Canned::json(201, Bytes::copy_from_slice(body))]);
        let err = client
            .safelist()
            .create("+18001234567")
            .send()
            .await
            .unwrap_err();
        let Error::Decode(d) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(d.field(), None);
        assert_eq!(d.status(), Some(StatusCode::CREATED));
        assert_eq!(err.status(), Some(StatusCode::CREATED));
        assert!(err.source().is_some());
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn success_with_a_bad_sid_or_date_names_the_field() {
    let (client, _) = canned_client(vec![Canned::json(
        200,
        r#"{"sid":"CRnothex","friendly_name":"x"}"#,
    )]);
    let err = client
        .credentials()
        .aws()
        .fetch(SID)
        .send()
        .await
        .unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.field(), Some("sid"));
    assert_eq!(
        err.to_string(),
        "could not decode the response: field `sid` is invalid"
    );
    assert!(err.source().unwrap().to_string().contains("Credential SID"));

    let (client, _) = canned_client(vec![Canned::json(
        200,
        r#"{"credentials":[{"date_updated":"31/07/2015"}],"meta":{}}"#,
    )]);
    let err = client.credentials().aws().list().send().await.unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.field(), Some("credentials[0].date_updated"));
}

#[tokio::test]
async fn delete_ignores_a_body_and_accepts_any_2xx() {
    let (client, _) = canned_client(vec![Canned::with_content_type(204, "text/plain", "")]);
    client.credentials().aws().delete(SID).send().await.unwrap();
    let (client, _) = canned_client(vec![Canned::json(200, "{}")]);
    client.safelist().delete("+1800").send().await.unwrap();
}

#[tokio::test]
async fn redirects_are_errors_not_followed() {
    let mut canned = Canned::with_content_type(301, "text/html", "moved");
    canned
        .headers
        .push(("location", "https://elsewhere.example/"));
    let (client, recorder) = canned_client(vec![canned]);
    let err = client.safelist().fetch("+1800").send().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::MOVED_PERMANENTLY));
    assert_eq!(recorder.count(), 1);
}

#[tokio::test]
async fn transport_failure_keeps_the_cause_in_source() {
    let service = tower::service_fn(|_req: http::Request<Bytes>| async {
        Err::<http::Response<http_body_util::Full<Bytes>>, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused by test",
        ))
    });
    let client = Client::builder()
        .credentials(common::credentials())
        .base_url(common::BASE)
        .retry(RetryConfig::disabled())
        .transport(service)
        .build()
        .unwrap();
    let err = client.credentials().aws().list().send().await.unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert!(!err.to_string().contains("connection refused by test"));
    let mut chain = Vec::new();
    let mut source = err.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    assert!(
        chain
            .iter()
            .any(|s| s.contains("connection refused by test")),
        "{chain:?}"
    );
    assert_eq!(err.status(), None);
    assert_eq!(
        err.is_retryable(),
        t.is_connect() || t.is_timeout() || t.is_deadline() || t.is_io()
    );
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let (client, recorder) = canned_client(vec![Canned::json(200, "{}")]);
    let cases: Vec<Error> = vec![
        client
            .credentials()
            .aws()
            .list()
            .page_size(0)
            .send()
            .await
            .unwrap_err(),
        client
            .credentials()
            .public_key()
            .list()
            .page_size(1001)
            .send()
            .await
            .unwrap_err(),
        client
            .credentials()
            .aws()
            .list()
            .limit(0)
            .send()
            .await
            .unwrap_err(),
        client
            .safelist()
            .create("0800 123")
            .send()
            .await
            .unwrap_err(),
        client
            .credentials()
            .public_key()
            .create("")
            .send()
            .await
            .unwrap_err(),
        client
            .credentials()
            .aws()
            .update(SID)
            .friendly_name("n".repeat(65))
            .send()
            .await
            .unwrap_err(),
        client.bulk_consents().create([]).send().await.unwrap_err(),
        client
            .messaging_geopermissions()
            .fetch()
            .country_code("")
            .send()
            .await
            .unwrap_err(),
    ];
    for err in &cases {
        let Error::Build(b) = err else {
            panic!("{err:?}")
        };
        assert!(b.field().is_some(), "{err}");
        assert!(err.to_string().contains(b.field().unwrap()), "{err}");
        assert!(!err.is_retryable());
    }
    assert!(cases[0].to_string().contains("1000"));
    assert_eq!(recorder.count(), 0, "nothing may be sent for invalid input");
}

#[test]
fn builder_errors_name_the_setting() {
    let err = Client::builder()
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap_err();
    let Error::Build(b) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(b.field(), Some("credentials"));
    assert!(err.source().is_some());
    let err = Client::builder()
        .credentials(common::credentials())
        .base_url("http://example.com")
        .build()
        .unwrap_err();
    let Error::Build(b) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(b.field(), Some("base_url"));
    let err = Client::builder()
        .credentials(common::credentials())
        .user_agent_extension("bad agent")
        .build()
        .unwrap_err();
    let Error::Build(b) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(b.field(), Some("user_agent_extension"));
}
