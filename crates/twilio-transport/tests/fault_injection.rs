//! Fault injection against a real misbehaving server on 127.0.0.1: every case checks the exact
//! outcome, the attempt count, what the server received, and that the call ended within its
//! deadline.

#![cfg(feature = "default-client")]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use support::{Action, FaultServer, closed_port, ok_json, response};
use tokio::time::Instant;
use twilio_transport::{Credentials, HttpClient, RetryConfig, TransportError};
use twilio_types::{AccountSid, AuthToken};

const ATTEMPT: Duration = Duration::from_millis(300);
const DEADLINE: Duration = Duration::from_secs(2);
/// Scheduling slack on top of the deadline (a loaded CI machine).
const SLACK: Duration = Duration::from_millis(300);

fn credentials() -> Credentials {
    Credentials::from_auth_token(
        AccountSid::parse(support::ACCOUNT).unwrap(),
        AuthToken::new("token").unwrap(),
    )
    .unwrap()
}

fn retry() -> RetryConfig {
    RetryConfig::builder()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(50))
        .no_budget()
        .build()
        .unwrap()
}

fn client(url: &str) -> HttpClient {
    client_with(url, retry(), DEADLINE)
}

fn client_with(url: &str, retry: RetryConfig, deadline: Duration) -> HttpClient {
    HttpClient::builder()
        .credentials(credentials())
        .base_url(url)
        .attempt_timeout(ATTEMPT)
        .deadline(deadline)
        .retry(retry)
        .max_response_body_bytes(1024)
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn request(method: Method) -> Request<Bytes> {
    let body = if method == Method::POST {
        Bytes::from_static(b"FriendlyName=x")
    } else {
        Bytes::new()
    };
    Request::builder()
        .method(method)
        .uri("/v1/Credentials/AWS")
        .body(body)
        .unwrap()
}

/// Sends and checks the call took no longer than `deadline` (plus slack).
async fn timed(
    client: &HttpClient,
    method: Method,
    deadline: Duration,
) -> (Result<http::Response<Bytes>, TransportError>, Duration) {
    let start = Instant::now();
    let result = client.send(request(method)).await;
    let elapsed = start.elapsed();
    assert!(
        elapsed <= deadline + SLACK,
        "took {elapsed:?}, deadline {deadline:?}"
    );
    (result, elapsed)
}

/// Extreme durations are either a configuration error or work: never a panic, here or in a
/// background task of the pool.
#[tokio::test]
async fn extreme_durations_never_panic() {
    let e = HttpClient::builder()
        .credentials(credentials())
        .pool_idle_timeout(Duration::MAX)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), twilio_transport::ConfigErrorKind::InvalidLimit);
    let server = FaultServer::start(vec![ok_json("{}")]).await;
    let client = HttpClient::builder()
        .credentials(credentials())
        .base_url(&server.url())
        .read_environment(false)
        .connect_timeout(Duration::MAX)
        .attempt_timeout(Duration::MAX)
        .deadline(Duration::MAX)
        .pool_idle_timeout(Duration::from_secs(86_400))
        .build()
        .unwrap();
    for _ in 0..2 {
        let response = client.send(request(Method::GET)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // Give the pool's idle task a chance to run (and panic, were it to overflow).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        client.send(request(Method::GET)).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn happy_path_sends_standard_headers_and_reuses_the_connection() {
    let server = FaultServer::start(vec![ok_json("{\"a\":1}")]).await;
    let client = client(&server.url());
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let (result, _) = timed(&client, method, DEADLINE).await;
        let response = result.unwrap();
        assert_eq!(
            (response.status().as_u16(), response.body().as_ref()),
            (200, &b"{\"a\":1}"[..])
        );
    }
    assert_eq!(
        server.connections(),
        1,
        "keep-alive: one connection for three calls"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r.target, "/v1/Credentials/AWS");
        assert!(r.header("authorization").unwrap().starts_with("Basic "));
        assert!(r.header("user-agent").unwrap().starts_with("twilio-rust/"));
        assert_eq!(r.header("accept"), Some("application/json"));
    }
    // A body's `Content-Type` is its encoder's to set (the endpoint crate's): none is added.
    assert_eq!(reqs[1].header("content-type"), None);
    assert_eq!(reqs[1].body, b"FriendlyName=x");
    assert_eq!(reqs[0].header("content-type"), None);
}

#[tokio::test]
async fn connection_refused_is_retried_for_every_method() {
    let url = format!("http://127.0.0.1:{}", closed_port().await);
    let client = client(&url);
    for method in [Method::GET, Method::POST] {
        let (result, _) = timed(&client, method.clone(), DEADLINE).await;
        let e = result.unwrap_err();
        assert!(e.is_connect(), "{method}: {e:?}");
        assert_eq!(e.attempts(), 3, "{method}");
    }
}

#[tokio::test]
async fn reset_before_any_response_post_is_not_retried() {
    let server = FaultServer::start(vec![Action::Reset, ok_json("{}")]).await;
    let (result, _) = timed(&client(&server.url()), Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_io(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (1, 1));
}

#[tokio::test]
async fn reset_before_any_response_get_is_retried() {
    let server = FaultServer::start(vec![Action::Reset, Action::Reset, ok_json("{}")]).await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let response = result.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .extensions()
            .get::<twilio_transport::Attempts>()
            .unwrap()
            .0,
        3
    );
    assert_eq!(server.request_count(), 3);
    assert_eq!(
        server.connections(),
        3,
        "a reset connection is never reused"
    );
}

#[tokio::test]
async fn reset_in_the_middle_of_the_body() {
    let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789".to_vec();
    // GET: retried, and the second attempt succeeds.
    let server =
        FaultServer::start(vec![Action::WriteThenReset(head.clone()), ok_json("{}")]).await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    assert_eq!(result.unwrap().status(), 200);
    assert_eq!(server.request_count(), 2);
    // POST: the server may have acted; not retried.
    let server = FaultServer::start(vec![Action::WriteThenReset(head), ok_json("{}")]).await;
    let (result, _) = timed(&client(&server.url()), Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_io(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (1, 1));
}

#[tokio::test]
async fn stall_longer_than_the_attempt_timeout() {
    let server = FaultServer::start(vec![Action::Stall(Duration::from_secs(10))]).await;
    let (result, elapsed) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_timeout() && !e.is_deadline(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (3, 3));
    assert!(elapsed >= ATTEMPT * 3, "{elapsed:?}");

    let server = FaultServer::start(vec![Action::Stall(Duration::from_secs(10))]).await;
    let (result, elapsed) = timed(&client(&server.url()), Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (1, 1));
    assert!(elapsed >= ATTEMPT && elapsed < ATTEMPT * 2, "{elapsed:?}");
}

#[tokio::test]
async fn stall_is_cut_by_the_overall_deadline() {
    // Three 300 ms attempts do not fit in 500 ms: the deadline ends the call.
    let server = FaultServer::start(vec![Action::Stall(Duration::from_secs(10))]).await;
    let deadline = Duration::from_millis(500);
    let (result, elapsed) = timed(
        &client_with(&server.url(), retry(), deadline),
        Method::GET,
        deadline,
    )
    .await;
    let e = result.unwrap_err();
    assert!(e.is_deadline(), "{e:?}");
    assert_eq!(server.request_count(), 2);
    assert!(elapsed >= deadline, "{elapsed:?}");
}

fn slow_retry() -> RetryConfig {
    RetryConfig::builder()
        .max_attempts(3)
        .max_backoff(Duration::from_secs(3))
        .no_budget()
        .build()
        .unwrap()
}

#[tokio::test]
async fn too_many_requests_with_retry_after_seconds() {
    let limited = Action::Respond(response(
        "429 Too Many Requests",
        &[("retry-after", "1")],
        b"{\"code\":20429}",
    ));
    let server = FaultServer::start(vec![limited, ok_json("{}")]).await;
    let deadline = Duration::from_secs(4);
    let (result, _) = timed(
        &client_with(&server.url(), slow_retry(), deadline),
        Method::POST,
        deadline,
    )
    .await;
    assert_eq!(result.unwrap().status(), 200);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "429 is retried even for POST");
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "waited {gap:?}, asked 1 s"
    );
}

#[tokio::test]
async fn too_many_requests_with_retry_after_http_date() {
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let limited = Action::Respond(response(
        "429 Too Many Requests",
        &[("retry-after", &when)],
        b"",
    ));
    let server = FaultServer::start(vec![limited, ok_json("{}")]).await;
    let deadline = Duration::from_secs(5);
    let (result, _) = timed(
        &client_with(&server.url(), slow_retry(), deadline),
        Method::GET,
        deadline,
    )
    .await;
    assert_eq!(result.unwrap().status(), 200);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    // The date has one-second resolution: between 1 and 2 s from now.
    assert!(
        gap >= Duration::from_millis(950) && gap <= Duration::from_millis(2300),
        "waited {gap:?}"
    );
}

/// A `Retry-After` beyond the maximum delay ends the call with that 429 at once: asking again
/// sooner than the server allows would only earn another one.
#[tokio::test]
async fn a_retry_after_beyond_the_maximum_delay_ends_the_call() {
    let limited = Action::Respond(response(
        "429 Too Many Requests",
        &[("retry-after", "3600")],
        b"",
    ));
    let server = FaultServer::start(vec![limited.clone(), limited, ok_json("{}")]).await;
    let (result, elapsed) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    assert_eq!(result.unwrap().status(), 429);
    assert_eq!(server.request_count(), 1);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn service_unavailable_with_an_html_body() {
    let html = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>";
    let unavailable = Action::Respond(response(
        "503 Service Unavailable",
        &[("content-type", "text/html")],
        html,
    ));
    // GET: retried up to the limit, then the last response is returned as it is.
    let server = FaultServer::start(vec![unavailable.clone()]).await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let response = result.unwrap();
    assert_eq!(
        (response.status().as_u16(), response.body().as_ref()),
        (503, &html[..])
    );
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(
        response
            .extensions()
            .get::<twilio_transport::Attempts>()
            .unwrap()
            .0,
        3
    );
    assert_eq!(server.request_count(), 3);
    // POST: returned after one attempt.
    let server = FaultServer::start(vec![unavailable]).await;
    let (result, _) = timed(&client(&server.url()), Method::POST, DEADLINE).await;
    assert_eq!(result.unwrap().status(), 503);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn post_is_retried_after_a_503_only_when_opted_in() {
    let unavailable = Action::Respond(response("503 Service Unavailable", &[], b""));
    let server = FaultServer::start(vec![unavailable, ok_json("{}")]).await;
    let opted = RetryConfig::builder()
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(50))
        .retry_non_idempotent(true)
        .no_budget()
        .build()
        .unwrap();
    let (result, _) = timed(
        &client_with(&server.url(), opted, DEADLINE),
        Method::POST,
        DEADLINE,
    )
    .await;
    assert_eq!(result.unwrap().status(), 200);
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn truncated_body() {
    let truncated = b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{\"sid\":\"CR".to_vec();
    let server = FaultServer::start(vec![Action::WriteThenClose(truncated.clone())]).await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_io(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (3, 3));

    let server = FaultServer::start(vec![Action::WriteThenClose(truncated)]).await;
    let (result, _) = timed(&client(&server.url()), Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_io(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (1, 1));
}

#[tokio::test]
async fn body_over_the_size_limit() {
    // Announced by Content-Length: refused without reading; not retried.
    let big = vec![b'x'; 4096];
    let server = FaultServer::start(vec![Action::Respond(response("200 OK", &[], &big))]).await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_body_too_large(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (1, 1));

    // Chunked, no length given: the read stops at the limit.
    let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..8 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'y'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let server = FaultServer::start(vec![Action::Respond(chunked)]).await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    assert!(result.unwrap_err().is_body_too_large());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn redirect_to_another_host_is_not_followed() {
    let elsewhere = FaultServer::start(vec![ok_json("{\"stolen\":true}")]).await;
    let location = format!("{}/v1/steal", elsewhere.url());
    let server = FaultServer::start(vec![Action::Respond(response(
        "301 Moved Permanently",
        &[("location", &location)],
        b"",
    ))])
    .await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let response = result.unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], location.as_str());
    assert_eq!(server.request_count(), 1, "no second request to the origin");
    assert_eq!(
        (elsewhere.connections(), elsewhere.request_count()),
        (0, 0),
        "nothing sent to the other host"
    );
}

#[tokio::test]
async fn trickle_of_one_byte_at_a_time() {
    let body = b"{\"trickle\":\"ok\"}".to_vec();
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
    // 16 bytes every 10 ms: well within the 300 ms attempt timeout.
    let server = FaultServer::start(vec![Action::Trickle {
        head: head.clone(),
        body: body.clone(),
        every: Duration::from_millis(10),
    }])
    .await;
    let (result, _) = timed(&client(&server.url()), Method::GET, DEADLINE).await;
    let response = result.unwrap();
    assert_eq!(response.body().as_ref(), &body[..]);
    assert_eq!(server.request_count(), 1);

    // 16 bytes every 50 ms does not fit in one 300 ms attempt: the attempt timeout covers the body.
    let server = FaultServer::start(vec![Action::Trickle {
        head,
        body,
        every: Duration::from_millis(50),
    }])
    .await;
    let (result, _) = timed(&client(&server.url()), Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!((e.attempts(), server.request_count()), (1, 1));
}

#[tokio::test]
async fn foreign_absolute_uri_is_rejected_before_any_send() {
    let server = FaultServer::start(vec![ok_json("{}")]).await;
    let client = client(&server.url());
    let e = client
        .send(
            Request::get("https://evil.example/v1/x")
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(e.is_invalid_request(), "{e:?}");
    let same = format!("{}/v1/x", server.url());
    assert_eq!(
        client
            .send(Request::get(same.as_str()).body(Bytes::new()).unwrap())
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!((server.connections(), server.request_count()), (1, 1));
}

#[tokio::test]
async fn stalled_tls_handshake_is_a_connect_error() {
    // An https base URL pointing at a server that speaks plain HTTP and so never answers the
    // ClientHello: the connect timeout (TCP + TLS) ends it as a connect error; the request
    // never left, so even a POST is retried, and the server never sees a request.
    let server = FaultServer::start(vec![ok_json("{}")]).await;
    let client = HttpClient::builder()
        .credentials(credentials())
        .base_url(&format!("https://127.0.0.1:{}", server.port))
        .connect_timeout(Duration::from_millis(100))
        .attempt_timeout(ATTEMPT)
        .deadline(DEADLINE)
        .retry(retry())
        .build()
        .unwrap();
    let (result, _) = timed(&client, Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(e.attempts(), 3);
    assert_eq!(server.request_count(), 0);
    assert_eq!(server.connections(), 3);
}

#[tokio::test]
async fn tls_handshake_refused_is_a_connect_error() {
    // A server that answers the ClientHello with plain HTTP: the handshake fails at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt as _;
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let client = client_with(&format!("https://127.0.0.1:{port}"), retry(), DEADLINE);
    let (result, _) = timed(&client, Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(
        (
            e.attempts(),
            accepted.load(std::sync::atomic::Ordering::SeqCst)
        ),
        (3, 3)
    );
    task.abort();
}

#[tokio::test]
async fn own_hyper_util_client_refused_is_recognised_as_connect() {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let transport = tower::ServiceBuilder::new()
        .map_request(|r: Request<Bytes>| r.map(Full::new))
        .service(hyper);
    let client = HttpClient::builder()
        .credentials(credentials())
        .base_url(&format!("http://127.0.0.1:{}", closed_port().await))
        .retry(retry())
        .transport(transport)
        .build()
        .unwrap();
    let (result, _) = timed(&client, Method::POST, DEADLINE).await;
    let e = result.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(e.attempts(), 3);
}
