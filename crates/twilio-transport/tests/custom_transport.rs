//! Bring-your-own transport and composing the public layers by hand. Needs no default client:
//! these tests also run with `--no-default-features`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};
use twilio_transport::{
    AttemptTimeoutLayer, AuthLayer, BaseUrl, BaseUrlLayer, BodyLimitLayer, ConfigErrorKind,
    Credentials, HeadersLayer, HttpClient, RetryConfig, RetryLayer, TransportError, UserAgent,
};
use twilio_types::{AccountSid, AuthToken};

fn credentials() -> Credentials {
    Credentials::from_auth_token(
        AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
        AuthToken::new("token").unwrap(),
    )
    .unwrap()
}

type Recorded = Arc<Mutex<Vec<Request<Bytes>>>>;

/// A test double that records each request and answers 200 with a fixed body.
fn recorder() -> (
    impl tower::Service<
        Request<Bytes>,
        Response = Response<Full<Bytes>>,
        Error = TransportError,
        Future: Send,
    > + Clone
    + Send
    + Sync,
    Recorded,
) {
    let seen: Recorded = Arc::default();
    let log = seen.clone();
    let svc = tower::service_fn(move |req: Request<Bytes>| {
        log.lock().unwrap().push(req);
        async {
            Ok::<_, TransportError>(Response::new(Full::new(Bytes::from_static(
                b"{\"ok\":true}",
            ))))
        }
    });
    (svc, seen)
}

#[tokio::test]
async fn recorder_transport_sees_the_finished_request() {
    let (transport, seen) = recorder();
    let client = HttpClient::builder()
        .credentials(credentials())
        .region("au1")
        .edge("sydney")
        .user_agent_extension("my-app/1.0")
        .transport(transport)
        .build()
        .unwrap();
    assert_eq!(
        client.base_url().to_string(),
        "https://accounts.sydney.au1.twilio.com"
    );
    let response = client
        .send(
            Request::post("/v1/Credentials/AWS?x=1")
                .body(Bytes::from_static(b"FriendlyName=a"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.body().as_ref(), b"{\"ok\":true}");
    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(
        req.uri().to_string(),
        "https://accounts.sydney.au1.twilio.com/v1/Credentials/AWS?x=1"
    );
    let h = req.headers();
    assert!(h["authorization"].is_sensitive());
    assert!(h["user-agent"].to_str().unwrap().ends_with(" my-app/1.0"));
    assert_eq!(h["accept"], "application/json");
    assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(req.body().as_ref(), b"FriendlyName=a");
}

#[tokio::test(start_paused = true)]
async fn custom_transport_connect_errors_are_retried_for_post() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = tower::service_fn(move |_req: Request<Bytes>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                Err(TransportError::connect(std::io::Error::from(
                    std::io::ErrorKind::ConnectionRefused,
                )))
            } else {
                Ok(Response::builder()
                    .status(201)
                    .body(Full::new(Bytes::new()))
                    .unwrap())
            }
        }
    });
    let client = HttpClient::builder()
        .credentials(credentials())
        .transport(transport)
        .build()
        .unwrap();
    let response = client
        .send(
            Request::post("/v1/SafeList/Numbers")
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        response
            .extensions()
            .get::<twilio_transport::Attempts>()
            .unwrap()
            .0,
        3
    );
}

#[tokio::test(start_paused = true)]
async fn custom_transport_errors_of_any_type_are_possibly_sent() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = tower::service_fn(move |_req: Request<Bytes>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<Response<Full<Bytes>>, _>("proxy said no") }
    });
    let client = HttpClient::builder()
        .credentials(credentials())
        .transport(transport)
        .build()
        .unwrap();
    let e = client
        .send(Request::post("/v1/x").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), twilio_transport::TransportErrorKind::Other);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "POST is not repeated after an unknown failure"
    );
    let e = client
        .send(Request::get("/v1/x").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.attempts(), RetryConfig::DEFAULT_MAX_ATTEMPTS);
}

#[tokio::test(start_paused = true)]
async fn layers_compose_with_service_builder() {
    let (transport, seen) = recorder();
    let svc = ServiceBuilder::new()
        .layer(BaseUrlLayer::new(
            BaseUrl::parse("http://127.0.0.1:8080").unwrap(),
        ))
        .layer(HeadersLayer::new(UserAgent::new(["composed/1"]).unwrap()))
        .layer(RetryLayer::new(RetryConfig::default()))
        .layer(AuthLayer::new(credentials()))
        .layer(AttemptTimeoutLayer::new(Duration::from_secs(5)))
        .layer(BodyLimitLayer::new(1024))
        .service(transport);
    let response = svc
        .oneshot(Request::get("/v1/x").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body().as_ref(), b"{\"ok\":true}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].uri().to_string(), "http://127.0.0.1:8080/v1/x");
    assert!(seen[0].headers().contains_key("authorization"));
}

#[test]
fn builder_errors_are_typed() {
    let (transport, _) = recorder();
    let kind = |b: twilio_transport::HttpClientBuilder| b.build().unwrap_err().kind();
    assert_eq!(
        kind(HttpClient::builder().transport(transport.clone())),
        ConfigErrorKind::MissingCredentials
    );
    let base = || {
        HttpClient::builder()
            .credentials(credentials())
            .transport(transport.clone())
    };
    assert_eq!(
        kind(base().base_url("http://api.example.com")),
        ConfigErrorKind::InsecureBaseUrl
    );
    assert_eq!(
        kind(base().base_url("not a url")),
        ConfigErrorKind::InvalidBaseUrl
    );
    assert_eq!(
        kind(base().region("AU 1")),
        ConfigErrorKind::InvalidRegionOrEdge
    );
    assert_eq!(
        kind(base().base_url("http://127.0.0.1:1").region("au1")),
        ConfigErrorKind::InvalidRegionOrEdge
    );
    assert_eq!(
        kind(base().user_agent_extension("has space")),
        ConfigErrorKind::InvalidUserAgent
    );
    assert_eq!(
        kind(base().attempt_timeout(Duration::ZERO)),
        ConfigErrorKind::InvalidLimit
    );
    assert_eq!(
        kind(base().max_response_body_bytes(0)),
        ConfigErrorKind::InvalidLimit
    );
    // An emulator on loopback needs no region, and the environment is not consulted for it.
    assert_eq!(
        base()
            .base_url("http://127.0.0.1:1")
            .build()
            .unwrap()
            .base_url()
            .to_string(),
        "http://127.0.0.1:1"
    );
}

#[cfg(not(feature = "default-client"))]
#[test]
fn without_the_default_client_a_transport_is_required() {
    let e = HttpClient::builder()
        .credentials(credentials())
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::MissingTransport);
}

/// A call's clock (deadline, budget) starts when its future is first polled, not when `send`
/// returns it: a future polled late still gets its retries.
#[tokio::test(start_paused = true)]
async fn the_deadline_starts_at_the_first_poll() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = tower::service_fn(move |_req: Request<Bytes>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let status = if n == 0 { 503 } else { 200 };
            let response = Response::builder()
                .status(status)
                .body(Full::new(Bytes::new()))
                .unwrap();
            Ok::<_, TransportError>(response)
        }
    });
    let client = HttpClient::builder()
        .credentials(credentials())
        .read_environment(false)
        .deadline(Duration::from_secs(2))
        .retry(
            RetryConfig::builder()
                .initial_backoff(Duration::from_millis(100))
                .no_budget()
                .build()
                .unwrap(),
        )
        .transport(transport)
        .build()
        .unwrap();
    let call = client.send(Request::get("/v1/x").body(Bytes::new()).unwrap());
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "nothing is sent before the first poll"
    );
    let response = call.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
