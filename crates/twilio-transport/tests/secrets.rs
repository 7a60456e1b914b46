//! Secrets never leak: all tracing output of a run with retries and errors, and the `Debug` of
//! every public type holding or near credentials, are searched for the token, the secret and the
//! base64 `Authorization` values.

#![cfg(feature = "default-client")]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use support::{Action, FaultServer, closed_port, ok_json, response};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use twilio_transport::{Credentials, HttpClient, RetryConfig, SharedCredentials};
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

const TOKEN: &str = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const SECRET: &str = "sec-0a1b2c3d4e5f60718293a4b5c6d7e8f9";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn forbidden() -> Vec<String> {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let token_pair = b64(format!("{}:{TOKEN}", support::ACCOUNT));
    let key_pair = b64(format!("{}:{SECRET}", support::API_KEY));
    vec![
        TOKEN.to_owned(),
        SECRET.to_owned(),
        // The parts of the token and secret that survive in any base64 alignment are covered by
        // the full values; check the whole header values too.
        token_pair.clone(),
        key_pair.clone(),
        format!("Basic {token_pair}"),
        format!("Basic {key_pair}"),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for f in forbidden() {
        assert!(!text.contains(&f), "{what} leaks {f:?}:\n{text}");
    }
}

fn token_credentials() -> Credentials {
    Credentials::from_auth_token(
        AccountSid::parse(support::ACCOUNT).unwrap(),
        AuthToken::new(TOKEN).unwrap(),
    )
    .unwrap()
}

fn key_credentials() -> Credentials {
    Credentials::from_api_key(
        AccountSid::parse(support::ACCOUNT).unwrap(),
        ApiKeySid::parse(support::API_KEY).unwrap(),
        ApiKeySecret::new(SECRET).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn tracing_output_never_holds_credentials() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = FaultServer::start(vec![
        Action::Respond(response(
            "503 Service Unavailable",
            &[],
            b"<html>down</html>",
        )),
        Action::Respond(response(
            "429 Too Many Requests",
            &[("retry-after", "0")],
            b"",
        )),
        ok_json("{\"ok\":true}"),
        Action::Reset,
        Action::Respond(response("401 Unauthorized", &[], b"{\"code\":20003}")),
        Action::Respond(response("403 Forbidden", &[], b"{\"code\":20403}")),
    ])
    .await;
    let retry = RetryConfig::builder()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .no_budget()
        .on_retry(|event| tracing::info!(?event, "hook"))
        .build()
        .unwrap();
    let shared = SharedCredentials::new(token_credentials());
    let client = HttpClient::builder()
        .credentials(shared.clone())
        .base_url(&server.url())
        .retry(retry.clone())
        .attempt_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    // 503 → 429 → 200: two retries.
    let ok = client
        .send(Request::get("/v1/Credentials").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // With the API key pair: a reset POST (an error), then a 401.
    shared.replace(key_credentials());
    let body = Bytes::from(format!("Secret={SECRET}"));
    let err = client
        .send(Request::post("/v1/Credentials/AWS").body(body).unwrap())
        .await
        .unwrap_err();
    assert!(err.is_io());
    let denied = client
        .send(Request::get("/v1/Credentials").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let forbidden_response = client
        .send(
            Request::delete("/v1/Credentials/AWS/CR1")
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(forbidden_response.status(), 403);
    assert_clean("401 response", &format!("{denied:?}"));
    assert_clean("403 response", &format!("{forbidden_response:?}"));
    // A connect error that is retried.
    let refused = HttpClient::builder()
        .credentials(key_credentials())
        .base_url(&format!("http://127.0.0.1:{}", closed_port().await))
        .retry(retry)
        .build()
        .unwrap();
    let e = refused
        .send(Request::get("/v1/x").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    assert!(e.is_connect());

    // The server did get the credentials; the logs did not.
    let auths: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(auths.len(), 6);
    let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "twilio.http",
        "retrying request",
        "reason=server error 503",
        "reason=429 too many requests",
        "request_id=\"RQ0123\"",
        "status=401",
        "status=403",
        "connect error",
        "hook",
    ] {
        assert!(
            output.contains(expected),
            "tracing output lacks {expected:?}:\n{output}"
        );
    }
    assert_clean("tracing output", &output);
    // Our own request body is not logged either.
    assert!(!output.contains("Secret="), "{output}");

    // Debug of everything.
    assert_clean("client", &format!("{client:?}"));
    assert_clean(
        "client with credentials",
        &format!("{:?}", client.with_credentials(token_credentials())),
    );
    assert_clean("shared credentials", &format!("{shared:?}"));
    assert_clean("token credentials", &format!("{:?}", token_credentials()));
    assert_clean(
        "key credentials",
        &format!("{:?} {:#?}", key_credentials(), key_credentials()),
    );
    let builder = HttpClient::builder()
        .credentials(token_credentials())
        .base_url("http://127.0.0.1:1");
    assert_clean("client builder", &format!("{builder:?} {builder:#?}"));
    assert_clean("retry builder", &format!("{:?}", RetryConfig::builder()));
    for e in [&err, &e] {
        assert_clean(
            "transport error",
            &format!("{e:?} {e} {:?}", std::error::Error::source(e)),
        );
    }
    let config_error = HttpClient::builder()
        .credentials(token_credentials())
        .base_url("http://example.com")
        .build()
        .unwrap_err();
    assert_clean("config error", &format!("{config_error:?} {config_error}"));
}

#[test]
fn credentials_error_never_shows_the_value() {
    // A token that came through serde is not checked; building credentials from it fails.
    let bad = format!("{TOKEN}\r\nX-Injected: 1");
    let token: AuthToken = serde_json::from_value(serde_json::Value::String(bad)).unwrap();
    let e = Credentials::from_auth_token(AccountSid::parse(support::ACCOUNT).unwrap(), token)
        .unwrap_err();
    let text = format!("{e:?} {e} {:?}", std::error::Error::source(&e));
    assert_clean("credentials error", &text);
    assert!(!text.contains("X-Injected"), "{text}");
}
