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
    Attempts, AuthLayer, BaseUrl, BaseUrlLayer, BodyLimitLayer, ConfigErrorKind, Credentials,
    HeadersLayer, HttpClient, RetryConfig, RetryLayer, SharedCredentials, TraceLayer,
    TransportError, UserAgent,
};
use twilio_types::{AccountSid, AuthToken};

#[path = "support/logs.rs"]
mod logs;

fn credentials() -> Credentials {
    Credentials::from_auth_token(
        AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
        AuthToken::new("token").unwrap(),
    )
    .unwrap()
}

type Recorded = Arc<Mutex<Vec<Request<Bytes>>>>;

/// A test double's script: record each request and answer 200 with a fixed body.
const OK: &[Step] = &[Step::Answer(200, None, b"{\"ok\":true}")];

#[tokio::test]
async fn recorder_transport_sees_the_finished_request() {
    let (transport, seen) = scripted(OK, SharedCredentials::new(credentials()));
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
                .header("content-type", "application/x-www-form-urlencoded")
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
    // The body's encoder sets its `Content-Type`; the client leaves it as it is.
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

/// One step of a scripted transport.
#[derive(Clone, Copy)]
enum Step {
    /// Answer with this status, `Retry-After` and body.
    Answer(u16, Option<&'static str>, &'static [u8]),
    /// Replace the credentials (as a rotation would, mid-flight), then answer 401.
    ReplaceThen401,
    /// Never answer.
    Hang,
}

/// A transport playing `script` (the last step repeats), recording what it was sent and when.
fn scripted(
    script: &'static [Step],
    credentials: SharedCredentials,
) -> (
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
        let n = {
            let mut log = log.lock().unwrap();
            log.push(req);
            log.len() - 1
        };
        let step = script[n.min(script.len() - 1)];
        let credentials = credentials.clone();
        async move {
            let (status, retry_after, body) = match step {
                Step::Answer(status, retry_after, body) => (status, retry_after, body),
                Step::ReplaceThen401 => {
                    credentials.replace(other_credentials());
                    (401, None, &b""[..])
                }
                Step::Hang => std::future::pending().await,
            };
            let mut response = Response::builder()
                .status(status)
                .header("twilio-request-id", format!("RQ{n}"));
            if let Some(retry_after) = retry_after {
                response = response.header("retry-after", retry_after);
            }
            Ok::<_, TransportError>(response.body(Full::new(Bytes::from_static(body))).unwrap())
        }
    });
    (svc, seen)
}

fn other_credentials() -> Credentials {
    Credentials::from_auth_token(
        AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
        AuthToken::new("rotated").unwrap(),
    )
    .unwrap()
}

/// What one call did, as far as a caller, the transport and the logs can tell: each request
/// the transport saw (method, URI, headers, body) with the time it left, the outcome (status,
/// body, attempts, request id; or the error's kind, text and attempts), when it ended, and the
/// `twilio.http` span as a subscriber printed it.
type Observed = (Vec<String>, String, Duration, String);

async fn observe<F>(
    call: F,
    seen: &Recorded,
    started: tokio::time::Instant,
) -> (Vec<String>, String, Duration)
where
    F: std::future::Future<Output = Result<Response<Bytes>, TransportError>>,
{
    let outcome = match call.await {
        Ok(r) => format!(
            "{} {:?} attempts={:?} id={:?}",
            r.status(),
            r.body(),
            r.extensions().get::<Attempts>(),
            twilio_transport::request_id(r.headers()),
        ),
        Err(e) => format!("{:?} {e} attempts={}", e.kind(), e.attempts()),
    };
    let elapsed = started.elapsed();
    let requests = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            // The signature too (the header prints as `Sensitive`); a test token only.
            let signature = r
                .headers()
                .get("authorization")
                .map(|v| v.as_bytes().to_vec());
            format!(
                "{} {} {:?} {signature:?} {:?}",
                r.method(),
                r.uri(),
                r.headers(),
                r.body()
            )
        })
        .collect();
    (requests, outcome, elapsed)
}

const BASE: &str = "http://127.0.0.1:4010";
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const DEADLINE: Duration = Duration::from_secs(5);
const BODY_LIMIT: usize = 64;

fn retry_config() -> RetryConfig {
    // No back-off but `Retry-After`, so that times compare exactly; no shared budget.
    RetryConfig::builder()
        .initial_backoff(Duration::ZERO)
        .no_budget()
        .build()
        .unwrap()
}

/// `request` through the client, over a transport playing `script`.
fn through_the_client(script: &'static [Step], request: Request<Bytes>) -> Observed {
    let ((requests, outcome, elapsed), logs) = logs::capture_with(|| async {
        let shared = SharedCredentials::new(credentials());
        let (transport, seen) = scripted(script, shared.clone());
        let client = HttpClient::builder()
            .credentials(shared)
            .base_url(BASE)
            .read_environment(false)
            .user_agent_extension("app/1")
            .attempt_timeout(ATTEMPT_TIMEOUT)
            .deadline(DEADLINE)
            .retry(retry_config())
            .max_response_body_bytes(BODY_LIMIT)
            .transport(transport)
            .build()
            .unwrap();
        let started = tokio::time::Instant::now();
        observe(client.send(request), &seen, started).await
    });
    (requests, outcome, elapsed, logs)
}

/// `request` through the public layers composed by hand, in the order of `docs/architecture.md`,
/// with the same settings, over a transport playing `script`.
fn through_the_layers(script: &'static [Step], request: Request<Bytes>) -> Observed {
    let ((requests, outcome, elapsed), logs) = logs::capture_with(|| async {
        let shared = SharedCredentials::new(credentials());
        let (transport, seen) = scripted(script, shared.clone());
        let stack = ServiceBuilder::new()
            .layer(BaseUrlLayer::new(BaseUrl::parse(BASE).unwrap()))
            .layer(TraceLayer::new())
            .layer(
                RetryLayer::new(retry_config())
                    .deadline(DEADLINE)
                    .attempt_timeout(ATTEMPT_TIMEOUT)
                    .resend_on_replaced(shared.clone()),
            )
            .layer(HeadersLayer::new(UserAgent::new(["app/1"]).unwrap()))
            .layer(AuthLayer::new(shared))
            .layer(BodyLimitLayer::new(BODY_LIMIT))
            .service(transport);
        let started = tokio::time::Instant::now();
        observe(stack.oneshot(request), &seen, started).await
    });
    (requests, outcome, elapsed, logs)
}

/// A case: its name, the transport's script, the request, and a word its outcome shows.
type Case = (
    &'static str,
    &'static [Step],
    fn() -> Request<Bytes>,
    &'static str,
);

/// The public layers composed by hand with `ServiceBuilder` behave exactly like the client,
/// case by case: the same requests on the wire (URI, headers, signature, body) at the same
/// times, the same outcome and attempt count, and the same span.
#[test]
fn the_public_layers_composed_by_hand_behave_like_the_client() {
    use Step::*;
    let get = || {
        Request::get("/v1/Credentials/AWS?PageSize=5")
            .body(Bytes::new())
            .unwrap()
    };
    let post = || {
        Request::post("/v1/Credentials/AWS")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from_static(b"FriendlyName=a"))
            .unwrap()
    };
    let cases: [Case; 10] = [
        ("a plain answer", &[Answer(200, None, b"{}")], get, "200"),
        (
            "a 503 retried after Retry-After",
            &[Answer(503, Some("1"), b""), Answer(200, None, b"{}")],
            get,
            "Some(Attempts(2))",
        ),
        (
            "a 503 to a POST is returned",
            &[Answer(503, None, b""), Answer(200, None, b"")],
            post,
            "503",
        ),
        (
            "a 429 to a POST is retried",
            &[Answer(429, Some("1"), b""), Answer(201, None, b"{}")],
            post,
            "201",
        ),
        (
            "a Retry-After beyond the maximum",
            &[Answer(429, Some("60"), b"")],
            get,
            "429",
        ),
        (
            "out of attempts",
            &[Answer(500, None, b"")],
            get,
            "attempts=Some(Attempts(3))",
        ),
        (
            "attempt timeouts, then the deadline",
            &[Hang],
            get,
            "Deadline",
        ),
        (
            "a 401 after a swap is sent again",
            &[ReplaceThen401, Answer(200, None, b"{}")],
            post,
            "200",
        ),
        (
            "a body over the limit",
            &[Answer(200, None, &[b'x'; 65])],
            get,
            "BodyTooLarge",
        ),
        (
            "a foreign host, nothing sent",
            &[Answer(200, None, b"")],
            || {
                Request::get("https://evil.example/v1/x")
                    .body(Bytes::new())
                    .unwrap()
            },
            "InvalidRequest",
        ),
    ];
    // Every case once, unobserved, first: a `tracing` callsite caches its interest when it
    // is first hit, and one first hit by another test's thread (no subscriber) while this
    // thread's capturing subscriber is being replaced can cache "never" for it (an event then
    // missing from one side's logs: seen once in CI). Once every callsite this test reaches
    // is registered, each new capturing subscriber recomputes their interest.
    for (_, script, request, _) in cases {
        through_the_client(script, request());
        through_the_layers(script, request());
    }
    for (name, script, request, expect) in cases {
        let client = through_the_client(script, request());
        let layers = through_the_layers(script, request());
        assert!(client.1.contains(expect), "{name}: {}", client.1);
        assert_eq!(client.0, layers.0, "{name}: requests");
        assert_eq!(client.1, layers.1, "{name}: outcome");
        assert_eq!(client.2, layers.2, "{name}: time taken");
        assert_eq!(client.3, layers.3, "{name}: logs");
    }
    // The cases do what they say (the comparison above would pass on two equally broken stacks).
    let resent = through_the_client(&[ReplaceThen401, Answer(200, None, b"")], post());
    assert_eq!(resent.0.len(), 2);
    let basic = |token: &str| {
        use base64::Engine as _;
        let pair = format!("AC0123456789abcdef0123456789abcdef:{token}");
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        );
        format!("{:?}", Some(value.into_bytes()))
    };
    assert!(resent.0[0].contains(&basic("token")), "{}", resent.0[0]);
    assert!(resent.0[1].contains(&basic("rotated")), "{}", resent.0[1]);
    let hung = through_the_client(&[Hang], get());
    assert_eq!(
        (hung.0.len(), hung.2),
        (3, DEADLINE),
        "2 s, 2 s, then 1 s to the deadline"
    );
    let spaced = through_the_client(
        &[Answer(503, Some("1"), b""), Answer(200, None, b"")],
        get(),
    );
    assert_eq!(spaced.2, Duration::from_secs(1));
    assert!(spaced.3.contains("twilio.http{method=GET host=\"127.0.0.1\" path=\"/v1/Credentials/AWS\" status=200 attempts=2 request_id=\"RQ1\"}"), "{}", spaced.3);
    let foreign = through_the_client(
        &[Answer(200, None, b"")],
        Request::get("https://evil.example/v1/x")
            .body(Bytes::new())
            .unwrap(),
    );
    assert!(foreign.0.is_empty() && foreign.3.is_empty(), "{foreign:?}");
}

#[test]
fn builder_errors_are_typed() {
    let (transport, _) = scripted(OK, SharedCredentials::new(credentials()));
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
