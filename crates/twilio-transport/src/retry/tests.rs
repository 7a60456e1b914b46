use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use proptest::prelude::*;
use tower::{Layer as _, ServiceExt as _};

use super::*;
use crate::error::TransportError;

fn cfg() -> RetryConfig {
    RetryConfig::default()
}

fn err(kind: TransportErrorKind) -> TransportError {
    match kind {
        TransportErrorKind::Connect => TransportError::connect("x"),
        TransportErrorKind::NotProcessed => TransportError::not_processed("x"),
        TransportErrorKind::Proxy => TransportError::proxy("x", "x"),
        TransportErrorKind::Io => TransportError::io("x"),
        TransportErrorKind::Other => TransportError::other("x"),
        TransportErrorKind::Timeout => TransportError::timeout(),
        TransportErrorKind::Deadline => TransportError::deadline(),
        TransportErrorKind::BodyTooLarge => TransportError::body_too_large(),
        TransportErrorKind::InvalidRequest => TransportError::invalid_request("x"),
    }
}

/// `classify` retries only errors `TransportError::is_retryable` calls transient, and retries
/// every one of them for an idempotent method except the call's own deadline: one definition.
#[test]
fn classify_agrees_with_is_retryable() {
    use TransportErrorKind as K;
    for kind in [
        K::Connect,
        K::NotProcessed,
        K::Proxy,
        K::Io,
        K::Other,
        K::Timeout,
        K::Deadline,
        K::BodyTooLarge,
        K::InvalidRequest,
    ] {
        let e = err(kind);
        for method in [Method::GET, Method::POST] {
            let retried = matches!(
                classify(&method, Outcome::Error(&e), &cfg()),
                Decision::Retry(_)
            );
            assert!(!retried || e.is_retryable(), "{kind:?} {method}");
        }
        let retried_get = matches!(
            classify(&Method::GET, Outcome::Error(&e), &cfg()),
            Decision::Retry(_)
        );
        assert_eq!(
            retried_get,
            e.is_retryable() && kind != K::Deadline,
            "{kind:?}"
        );
    }
}

#[test]
fn classify_table() {
    use Decision::{DoNotRetry as No, Retry};
    use RetryReason as R;
    let s = |n: u16| StatusCode::from_u16(n).unwrap();
    let opt_in = RetryConfig::builder()
        .retry_non_idempotent(true)
        .build()
        .unwrap();
    // (method, status, default decision, opted-in decision)
    let statuses: &[(Method, u16, Decision, Decision)] = &[
        (Method::GET, 200, No, No),
        (Method::GET, 301, No, No),
        (Method::GET, 400, No, No),
        (Method::GET, 404, No, No),
        (
            Method::GET,
            429,
            Retry(R::TooManyRequests),
            Retry(R::TooManyRequests),
        ),
        (
            Method::POST,
            429,
            Retry(R::TooManyRequests),
            Retry(R::TooManyRequests),
        ),
        (
            Method::PATCH,
            429,
            Retry(R::TooManyRequests),
            Retry(R::TooManyRequests),
        ),
        (
            Method::GET,
            500,
            Retry(R::ServerError(s(500))),
            Retry(R::ServerError(s(500))),
        ),
        (
            Method::DELETE,
            502,
            Retry(R::ServerError(s(502))),
            Retry(R::ServerError(s(502))),
        ),
        (
            Method::HEAD,
            503,
            Retry(R::ServerError(s(503))),
            Retry(R::ServerError(s(503))),
        ),
        (
            Method::GET,
            504,
            Retry(R::ServerError(s(504))),
            Retry(R::ServerError(s(504))),
        ),
        (Method::GET, 501, No, No),
        (Method::GET, 505, No, No),
        (Method::POST, 500, No, Retry(R::ServerError(s(500)))),
        (Method::POST, 503, No, Retry(R::ServerError(s(503)))),
        (Method::PATCH, 502, No, Retry(R::ServerError(s(502)))),
        (Method::POST, 200, No, No),
        (Method::POST, 400, No, No),
    ];
    for (m, st, default, opted) in statuses {
        assert_eq!(
            classify(m, Outcome::Status(s(*st)), &cfg()),
            *default,
            "{m} {st}"
        );
        assert_eq!(
            classify(m, Outcome::Status(s(*st)), &opt_in),
            *opted,
            "{m} {st} opted in"
        );
    }
    use TransportErrorKind as K;
    let errors: &[(Method, K, Decision, Decision)] = &[
        (
            Method::GET,
            K::Connect,
            Retry(R::Connect),
            Retry(R::Connect),
        ),
        (
            Method::POST,
            K::Connect,
            Retry(R::Connect),
            Retry(R::Connect),
        ),
        (
            Method::PATCH,
            K::Connect,
            Retry(R::Connect),
            Retry(R::Connect),
        ),
        (
            Method::POST,
            K::NotProcessed,
            Retry(R::NotProcessed),
            Retry(R::NotProcessed),
        ),
        (
            Method::GET,
            K::NotProcessed,
            Retry(R::NotProcessed),
            Retry(R::NotProcessed),
        ),
        (Method::GET, K::Proxy, No, No),
        (
            Method::GET,
            K::Timeout,
            Retry(R::Timeout),
            Retry(R::Timeout),
        ),
        (Method::POST, K::Timeout, No, Retry(R::Timeout)),
        (Method::DELETE, K::Io, Retry(R::Io), Retry(R::Io)),
        (Method::POST, K::Io, No, Retry(R::Io)),
        (Method::GET, K::Other, Retry(R::Io), Retry(R::Io)),
        (Method::PATCH, K::Other, No, Retry(R::Io)),
        (Method::GET, K::BodyTooLarge, No, No),
        (Method::GET, K::InvalidRequest, No, No),
        (Method::GET, K::Deadline, No, No),
    ];
    for (m, k, default, opted) in errors {
        let e = err(*k);
        assert_eq!(
            classify(m, Outcome::Error(&e), &cfg()),
            *default,
            "{m} {k:?}"
        );
        assert_eq!(
            classify(m, Outcome::Error(&e), &opt_in),
            *opted,
            "{m} {k:?} opted in"
        );
    }
}

#[test]
fn backoff_doubles_caps_and_jitters() {
    let c = RetryConfig::builder()
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(1))
        .build()
        .unwrap();
    let table = [
        (0, 100),
        (1, 100),
        (2, 200),
        (3, 400),
        (4, 800),
        (5, 1000),
        (40, 1000),
        (u32::MAX, 1000),
    ];
    for (retry, ms) in table {
        assert_eq!(
            backoff_ceiling(retry, &c),
            Duration::from_millis(ms),
            "retry {retry}"
        );
        assert_eq!(
            backoff(retry, &c, 1.0),
            Duration::from_millis(ms),
            "retry {retry}"
        );
    }
    assert_eq!(backoff(3, &c, 0.5), Duration::from_millis(200));
    assert_eq!(backoff(3, &c, 0.0), Duration::ZERO);
    assert_eq!(backoff(3, &c, f64::NAN), Duration::ZERO);
    assert_eq!(backoff(3, &c, 7.0), Duration::from_millis(400));
    assert_eq!(backoff(3, &c, -1.0), Duration::ZERO);
}

#[test]
fn retry_after_seconds_and_http_date() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    let h = |v: &str| {
        let mut m = HeaderMap::new();
        m.insert(http::header::RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        m
    };
    assert_eq!(
        parse_retry_after(&h("1"), now),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        parse_retry_after(&h(" 120 "), now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after(&h("99999999999999999999999"), now),
        Some(Duration::from_secs(u64::MAX))
    );
    assert_eq!(
        parse_retry_after(&h("Sun, 06 Nov 1994 08:49:40 GMT"), now),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        parse_retry_after(&h("Sunday, 06-Nov-94 08:49:47 GMT"), now),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after(&h("Sun Nov  6 08:50:37 1994"), now),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        parse_retry_after(&h("Sun, 06 Nov 1994 08:00:00 GMT"), now),
        Some(Duration::ZERO)
    );
    for bad in ["", "-1", "1.5", "soon", "Sun, 99 Nov 1994 08:49:40 GMT"] {
        assert_eq!(parse_retry_after(&h(bad), now), None, "{bad:?}");
    }
    assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    let c = cfg();
    assert_eq!(
        retry_delay(1, Some(Duration::from_secs(3600)), &c, 0.5),
        c.max_backoff()
    );
    assert_eq!(
        retry_delay(1, Some(Duration::from_secs(1)), &c, 0.5),
        Duration::from_secs(1)
    );
}

#[test]
fn config_validation() {
    assert_eq!(
        RetryConfig::builder()
            .max_attempts(0)
            .build()
            .unwrap_err()
            .kind(),
        crate::ConfigErrorKind::InvalidRetry
    );
    assert!(RetryConfig::builder().max_attempts(101).build().is_err());
    assert!(
        RetryConfig::builder()
            .initial_backoff(Duration::from_secs(2))
            .max_backoff(Duration::from_secs(1))
            .build()
            .is_err()
    );
    assert!(RetryBudget::new(Duration::ZERO, 1, 0.1).is_err());
    assert!(RetryBudget::new(Duration::from_secs(61), 1, 0.1).is_err());
    assert!(RetryBudget::new(Duration::from_secs(1), 1, -0.1).is_err());
    assert!(RetryBudget::new(Duration::from_secs(1), 1, f32::NAN).is_err());
    assert!(RetryBudget::new(Duration::from_secs(1), u32::MAX, 0.1).is_err());
    let d = RetryConfig::disabled();
    assert_eq!(d.max_attempts(), 1);
    let dbg = format!(
        "{:?}",
        RetryConfig::builder().on_retry(|_| {}).build().unwrap()
    );
    assert!(dbg.contains("Fn(&RetryEvent)"));
}

/// A scripted inner service: answers each attempt with the next outcome, counting calls.
fn scripted(
    script: Vec<Result<(u16, Option<&'static str>), TransportErrorKind>>,
) -> (
    impl tower::Service<
        Request<Bytes>,
        Response = Response<Bytes>,
        Error = TransportError,
        Future: Send,
    > + Clone,
    Arc<AtomicU32>,
) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let script = Arc::new(script);
    let svc = tower::service_fn(move |_req: Request<Bytes>| {
        let n = seen.fetch_add(1, Ordering::SeqCst) as usize;
        let step = script[n.min(script.len() - 1)];
        async move {
            match step {
                Ok((status, retry_after)) => {
                    let mut r = Response::builder().status(status);
                    if let Some(ra) = retry_after {
                        r = r.header(http::header::RETRY_AFTER, ra);
                    }
                    Ok(r.body(Bytes::new()).unwrap())
                }
                Err(kind) => Err(err(kind)),
            }
        }
    });
    (svc, calls)
}

fn no_budget(attempts: u32) -> RetryConfig {
    RetryConfig::builder()
        .max_attempts(attempts)
        .no_budget()
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn policy_retries_until_success_and_counts_attempts() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let config = RetryConfig::builder()
        .max_attempts(4)
        .no_budget()
        .on_retry(move |e| {
            sink.lock()
                .unwrap()
                .push((e.attempt, e.reason, e.path.clone()))
        })
        .build()
        .unwrap();
    let (svc, calls) = scripted(vec![
        Err(TransportErrorKind::Connect),
        Ok((503, None)),
        Ok((200, None)),
    ]);
    let start = tokio::time::Instant::now();
    let resp = RetryLayer::new(config)
        .layer(svc)
        .oneshot(Request::get("/v1/x?y=1").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(3)));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Full jitter: at most 100 ms + 200 ms in all.
    assert!(start.elapsed() <= Duration::from_millis(300));
    let events = events.lock().unwrap();
    assert_eq!(
        *events,
        vec![
            (1, RetryReason::Connect, "/v1/x".to_owned()),
            (
                2,
                RetryReason::ServerError(StatusCode::SERVICE_UNAVAILABLE),
                "/v1/x".to_owned()
            )
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn policy_gives_up_after_max_attempts_with_last_outcome() {
    let (svc, calls) = scripted(vec![Ok((503, None))]);
    let resp = RetryLayer::new(no_budget(3))
        .layer(svc)
        .oneshot(Request::get("/").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), calls.load(Ordering::SeqCst)),
        (503, 3)
    );
    assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(3)));

    let (svc, calls) = scripted(vec![Err(TransportErrorKind::Io)]);
    let e = RetryLayer::new(no_budget(2))
        .layer(svc)
        .oneshot(Request::get("/").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    assert!(e.is_io());
    assert_eq!((e.attempts(), calls.load(Ordering::SeqCst)), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn policy_never_repeats_a_post_after_a_possible_send() {
    for kind in [
        TransportErrorKind::Io,
        TransportErrorKind::Timeout,
        TransportErrorKind::Other,
    ] {
        let (svc, calls) = scripted(vec![Err(kind), Ok((200, None))]);
        let e = RetryLayer::new(no_budget(5))
            .layer(svc)
            .oneshot(Request::post("/").body(Bytes::from_static(b"a=1")).unwrap())
            .await
            .unwrap_err();
        assert_eq!((e.kind(), calls.load(Ordering::SeqCst)), (kind, 1));
    }
    let (svc, calls) = scripted(vec![Ok((500, None)), Ok((200, None))]);
    let resp = RetryLayer::new(no_budget(5))
        .layer(svc)
        .oneshot(Request::post("/").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), calls.load(Ordering::SeqCst)),
        (500, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn policy_honours_retry_after_and_stops_at_a_longer_one() {
    let (svc, calls) = scripted(vec![
        Ok((429, Some("2"))),
        Ok((429, Some("3600"))),
        Ok((200, None)),
    ]);
    let start = tokio::time::Instant::now();
    let resp = RetryLayer::new(no_budget(3))
        .layer(svc)
        .oneshot(Request::post("/").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    // 2 s as asked; then an hour is beyond the 5 s maximum delay: the call ends with that 429
    // at once instead of asking again before the server allows it.
    assert_eq!(
        (resp.status().as_u16(), calls.load(Ordering::SeqCst)),
        (429, 2)
    );
    assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn policy_does_not_sleep_past_the_deadline() {
    let (svc, calls) = scripted(vec![Ok((429, Some("4"))), Ok((200, None))]);
    let start = tokio::time::Instant::now();
    let resp = RetryLayer::new(no_budget(3))
        .deadline(Duration::from_secs(3))
        .layer(svc)
        .oneshot(Request::get("/").body(Bytes::new()).unwrap())
        .await
        .unwrap();
    // The last real outcome, at once, instead of a deadline error three seconds later.
    assert_eq!(
        (resp.status().as_u16(), calls.load(Ordering::SeqCst)),
        (429, 1)
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// The retry service (tower's) is ready when its inner service is, waits for it again before
/// every retry, and a readiness error ends the call without a retry.
#[tokio::test(start_paused = true)]
async fn waits_for_the_inner_service_before_every_attempt() {
    use tower::Service as _;
    let (mock, mut handle) = tower_test::mock::pair::<Request<Bytes>, Response<Bytes>>();
    let inner = tower::ServiceBuilder::new()
        .map_err(TransportError::other)
        .service(mock);
    let mut svc = RetryLayer::new(no_budget(3)).layer(inner);
    handle.allow(0);
    let request = || Request::get("/v1/x").body(Bytes::new()).unwrap();
    let call = tokio::spawn(svc.clone().oneshot(request()));
    let nothing = tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await;
    assert!(nothing.is_err(), "sent before the inner service was ready");
    handle.allow(1);
    let (_, respond) = handle.next_request().await.unwrap();
    respond.send_response(Response::builder().status(503).body(Bytes::new()).unwrap());
    // The retry waits for readiness again.
    let nothing = tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await;
    assert!(
        nothing.is_err(),
        "retried before the inner service was ready"
    );
    handle.allow(1);
    let (_, respond) = handle.next_request().await.unwrap();
    respond.send_response(Response::new(Bytes::from_static(b"ok")));
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.body().as_ref(), b"ok");
    assert_eq!(response.extensions().get::<Attempts>(), Some(&Attempts(2)));

    handle.allow(1);
    handle.send_error("not ready");
    let e = match svc.ready().await {
        Err(e) => e,
        Ok(ready) => ready.call(request()).await.unwrap_err(),
    };
    assert_eq!(e.kind(), TransportErrorKind::Other);
    let nothing = tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await;
    assert!(nothing.is_err(), "a readiness error is not retried");
}

#[tokio::test(start_paused = true)]
async fn shared_budget_limits_retries_across_calls() {
    // No floor, 0 % of calls: nothing may be retried.
    let budget = RetryBudget::new(Duration::from_secs(1), 0, 0.0).unwrap();
    let config = RetryConfig::builder()
        .max_attempts(3)
        .budget(budget)
        .build()
        .unwrap();
    let (svc, calls) = scripted(vec![Ok((503, None))]);
    let svc = RetryLayer::new(config).layer(svc);
    for _ in 0..3 {
        let r = svc
            .clone()
            .oneshot(Request::get("/").body(Bytes::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // 50 %: two calls deposit enough for one retry between them.
    let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.5).unwrap();
    let config = RetryConfig::builder()
        .max_attempts(2)
        .budget(budget)
        .build()
        .unwrap();
    let (svc, calls) = scripted(vec![Ok((503, None))]);
    let svc = RetryLayer::new(config).layer(svc);
    for _ in 0..4 {
        svc.clone()
            .oneshot(Request::get("/").body(Bytes::new()).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4 + 2);
}

/// The outcomes a POST meets in turn, and for each attempt whether it asked for a new
/// connection; the number of attempts and the last outcome.
async fn not_processed_script(
    script: Vec<TransportErrorKind>,
    config: RetryConfig,
) -> (Vec<bool>, TransportError) {
    let marks = Arc::new(Mutex::new(Vec::new()));
    let seen = marks.clone();
    let script = Arc::new(script);
    let svc = tower::service_fn(move |request: Request<Bytes>| {
        let mut marks = seen.lock().unwrap();
        marks.push(request.extensions().get::<NewConnection>().is_some());
        let kind = script[(marks.len() - 1).min(script.len() - 1)];
        async move { Err::<Response<Bytes>, _>(err(kind)) }
    });
    let error = RetryLayer::new(config)
        .layer(svc)
        .oneshot(Request::post("/").body(Bytes::from_static(b"a=1")).unwrap())
        .await
        .unwrap_err();
    let marks = marks.lock().unwrap().clone();
    (marks, error)
}

#[tokio::test(start_paused = true)]
async fn a_request_not_processed_is_sent_again_once_on_a_new_connection() {
    use TransportErrorKind::{Connect, NotProcessed};
    // Turned away twice: sent twice, the second time on a new connection, though attempts are
    // left.
    let (marks, error) = not_processed_script(vec![NotProcessed], no_budget(10)).await;
    assert_eq!(marks, [false, true]);
    assert!(error.is_not_processed());
    assert_eq!(error.attempts(), 2);
    // Other retries in between are ordinary attempts; the rule is once per call.
    let script = vec![NotProcessed, Connect, NotProcessed];
    let (marks, error) = not_processed_script(script, no_budget(10)).await;
    assert_eq!(marks, [false, true, false]);
    assert!(error.is_not_processed());
    // An attempt like any retry: none left, no re-send.
    let (marks, _) = not_processed_script(vec![NotProcessed], no_budget(1)).await;
    assert_eq!(marks, [false]);
    // Within the budget: none left, no re-send.
    let budget = RetryBudget::new(Duration::from_secs(1), 0, 0.0).unwrap();
    let config = RetryConfig::builder().budget(budget).build().unwrap();
    let (marks, _) = not_processed_script(vec![NotProcessed], config).await;
    assert_eq!(marks, [false]);
}

#[tokio::test(start_paused = true)]
async fn disabled_makes_one_attempt() {
    let (svc, calls) = scripted(vec![Err(TransportErrorKind::Connect)]);
    let e = RetryLayer::new(RetryConfig::disabled())
        .layer(svc)
        .oneshot(Request::get("/").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    assert!(e.is_connect());
    assert_eq!((e.attempts(), calls.load(Ordering::SeqCst)), (1, 1));
}

fn credentials(token: &str) -> crate::Credentials {
    let ac = twilio_types::AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
    crate::Credentials::from_auth_token(ac, twilio_types::AuthToken::new(token).unwrap()).unwrap()
}

fn status(code: u16) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::from_u16(code).unwrap();
    response
}

type Mock = tower_test::mock::Handle<Request<Bytes>, Response<Bytes>>;

/// Retry (with the credentials handle) over auth over a mock, as the default stack has them.
fn resending(
    config: RetryConfig,
    shared: crate::SharedCredentials,
) -> (
    impl tower::Service<
        Request<Bytes>,
        Response = Response<Bytes>,
        Error = TransportError,
        Future: Send + 'static,
    > + Clone,
    Mock,
) {
    let (mock, handle) = tower_test::mock::pair::<Request<Bytes>, Response<Bytes>>();
    let mock = tower::ServiceBuilder::new()
        .map_err(|e: tower::BoxError| TransportError::other(e))
        .service(mock);
    let svc = RetryLayer::new(config)
        .deadline(Duration::from_secs(60))
        .resend_on_replaced(shared.clone())
        .layer(crate::AuthLayer::new(shared).layer(mock));
    (svc, handle)
}

/// The call's outcome; a call left waiting for an answer that never comes (an extra request
/// sent) fails the test instead of hanging it: paused time runs ahead when all is idle.
async fn outcome(
    call: tokio::task::JoinHandle<Result<Response<Bytes>, TransportError>>,
) -> Response<Bytes> {
    tokio::time::timeout(Duration::from_secs(86_400), call)
        .await
        .expect("the call waits for an answer to a request it should not have sent")
        .unwrap()
        .unwrap()
}

/// Nothing more was sent (the mock is done, or still waiting).
fn assert_no_more_requests(handle: &mut Mock) {
    let next = futures_util::FutureExt::now_or_never(handle.next_request());
    assert!(!matches!(next, Some(Some(_))), "another request was sent");
}

fn authorization(request: &Request<Bytes>) -> &HeaderValue {
    &request.headers()[http::header::AUTHORIZATION]
}

/// A 401 to credentials replaced while the request was in flight is sent again at once with
/// the current ones, body and all, for a POST too and with retries disabled; it is not an
/// attempt, and it happens once: replaced again while the re-send is out, its 401 is returned.
#[tokio::test(start_paused = true)]
async fn a_401_to_replaced_credentials_is_resent_once() {
    let shared = crate::SharedCredentials::new(credentials("old"));
    let (svc, mut handle) = resending(RetryConfig::disabled(), shared.clone());
    let started = tokio::time::Instant::now();
    let request = Request::post("/v1/x")
        .body(Bytes::from_static(b"a=1"))
        .unwrap();
    let call = tokio::spawn(svc.oneshot(request));
    let (first, respond) = handle.next_request().await.unwrap();
    assert_eq!(authorization(&first), credentials("old").authorization());
    shared.replace(credentials("new"));
    assert_eq!(shared.replaced_in_flight(), 1);
    respond.send_response(status(401));

    let (resent, respond) = handle.next_request().await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no back-off before a re-send"
    );
    assert_eq!(authorization(&resent), credentials("new").authorization());
    assert_eq!(
        (resent.method(), resent.body().as_ref()),
        (&Method::POST, &b"a=1"[..])
    );
    assert_eq!(shared.replaced_in_flight(), 0);
    shared.replace(credentials("newer"));
    respond.send_response(status(401));
    let response = outcome(call).await;
    assert_eq!(response.status(), 401);
    assert!(
        response.extensions().get::<Attempts>().is_none(),
        "one attempt"
    );
    assert_no_more_requests(&mut handle);
}

/// A 401 to the credentials still current is the caller's answer, never re-sent; nor is a 401
/// when no credentials handle was given to the policy.
#[tokio::test(start_paused = true)]
async fn a_401_to_current_credentials_is_returned() {
    let shared = crate::SharedCredentials::new(credentials("old"));
    let (svc, mut handle) = resending(RetryConfig::default(), shared.clone());
    let call = tokio::spawn(svc.oneshot(Request::get("/").body(Bytes::new()).unwrap()));
    let (_, respond) = handle.next_request().await.unwrap();
    shared.replace(credentials("old")); // equal credentials: no new generation
    respond.send_response(status(401));
    assert_eq!(outcome(call).await.status(), 401);
    assert_no_more_requests(&mut handle);

    let (mock, mut handle) = tower_test::mock::pair::<Request<Bytes>, Response<Bytes>>();
    let mock = tower::ServiceBuilder::new()
        .map_err(|e: tower::BoxError| TransportError::other(e))
        .service(mock);
    let svc = RetryLayer::new(RetryConfig::default())
        .layer(crate::AuthLayer::new(shared.clone()).layer(mock));
    let call = tokio::spawn(svc.oneshot(Request::get("/").body(Bytes::new()).unwrap()));
    let (_, respond) = handle.next_request().await.unwrap();
    shared.replace(credentials("new"));
    respond.send_response(status(401));
    assert_eq!(outcome(call).await.status(), 401);
}

/// The re-send does not use up an attempt: a 503 after it is still retried (GET), and the
/// attempts counted are the two real ones.
#[tokio::test(start_paused = true)]
async fn a_resend_is_not_an_attempt() {
    let shared = crate::SharedCredentials::new(credentials("old"));
    let config = RetryConfig::builder()
        .max_attempts(2)
        .no_budget()
        .build()
        .unwrap();
    let (svc, mut handle) = resending(config, shared.clone());
    let call = tokio::spawn(svc.oneshot(Request::get("/").body(Bytes::new()).unwrap()));
    let (_, respond) = handle.next_request().await.unwrap();
    shared.replace(credentials("new"));
    respond.send_response(status(401));
    let (_, respond) = handle.next_request().await.unwrap();
    respond.send_response(status(503));
    let (last, respond) = handle.next_request().await.unwrap();
    assert_eq!(authorization(&last), credentials("new").authorization());
    respond.send_response(status(200));
    let response = outcome(call).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.extensions().get::<Attempts>(), Some(&Attempts(2)));
}

/// The re-send draws nothing from the retry budget: with an empty one it still happens.
#[tokio::test(start_paused = true)]
async fn a_resend_needs_no_budget() {
    let shared = crate::SharedCredentials::new(credentials("old"));
    let empty = RetryBudget::new(Duration::from_secs(1), 0, 0.0).unwrap();
    let config = RetryConfig::builder().budget(empty).build().unwrap();
    let (svc, mut handle) = resending(config, shared.clone());
    let call = tokio::spawn(svc.oneshot(Request::get("/").body(Bytes::new()).unwrap()));
    let (_, respond) = handle.next_request().await.unwrap();
    shared.replace(credentials("new"));
    respond.send_response(status(401));
    let (resent, respond) = handle.next_request().await.unwrap();
    assert_eq!(authorization(&resent), credentials("new").authorization());
    respond.send_response(status(200));
    assert_eq!(outcome(call).await.status(), 200);
}

/// At the call's deadline the attempt ends with a deadline error, and nothing is sent again.
#[tokio::test(start_paused = true)]
async fn no_resend_past_the_deadline() {
    let shared = crate::SharedCredentials::new(credentials("old"));
    let (svc, mut handle) = resending(RetryConfig::default(), shared.clone());
    let started = tokio::time::Instant::now();
    let call = tokio::spawn(svc.oneshot(Request::get("/").body(Bytes::new()).unwrap()));
    let (_, _respond) = handle.next_request().await.unwrap();
    shared.replace(credentials("new"));
    let error = call.await.unwrap().unwrap_err();
    assert!(error.is_deadline(), "{error:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(error.attempts(), 1);
    assert_eq!(shared.replaced_in_flight(), 0, "the attempt is over");
    assert_no_more_requests(&mut handle);
}

/// The layer's attempt timeout ends one attempt, which is then retried (a GET), with a timer
/// of its own; the deadline ends the last one.
#[tokio::test(start_paused = true)]
async fn each_attempt_has_its_timer_and_the_deadline_ends_the_call() {
    let (never, _handle) = tower_test::mock::pair::<Request<Bytes>, Response<Bytes>>();
    let never = tower::ServiceBuilder::new()
        .map_err(|e: tower::BoxError| TransportError::other(e))
        .service(never);
    let started = tokio::time::Instant::now();
    let error = RetryLayer::new(no_budget(5))
        .attempt_timeout(Duration::from_secs(2))
        .deadline(Duration::from_secs(5))
        .layer(never.clone())
        .oneshot(Request::get("/").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    // 2 s, back-off, 2 s, back-off, then cut at 5 s by the deadline.
    assert!(error.is_deadline(), "{error:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(error.attempts(), 3);

    // A POST is not retried after a timeout.
    let started = tokio::time::Instant::now();
    let error = RetryLayer::new(no_budget(5))
        .attempt_timeout(Duration::from_secs(2))
        .deadline(Duration::from_secs(5))
        .layer(never)
        .oneshot(Request::post("/").body(Bytes::new()).unwrap())
        .await
        .unwrap_err();
    assert!(error.is_timeout() && !error.is_deadline(), "{error:?}");
    assert_eq!(
        (started.elapsed(), error.attempts()),
        (Duration::from_secs(2), 1)
    );
}

fn arb_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PATCH),
        Just(Method::DELETE),
        Just(Method::HEAD),
        Just(Method::PUT),
        Just(Method::OPTIONS),
        "[A-Z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

fn arb_kind() -> impl Strategy<Value = TransportErrorKind> {
    prop_oneof![
        Just(TransportErrorKind::Connect),
        Just(TransportErrorKind::NotProcessed),
        Just(TransportErrorKind::Proxy),
        Just(TransportErrorKind::Io),
        Just(TransportErrorKind::Other),
        Just(TransportErrorKind::Timeout),
        Just(TransportErrorKind::Deadline),
        Just(TransportErrorKind::BodyTooLarge),
        Just(TransportErrorKind::InvalidRequest),
    ]
}

proptest! {
    #[test]
    fn backoff_stays_within_bounds(
        retry in any::<u32>(),
        initial in any::<u64>(),
        extra in any::<u64>(),
        initial_nanos in 0u32..1_000_000_000,
        jitter in any::<f64>(),
    ) {
        let initial = Duration::new(initial, initial_nanos);
        let max = initial.saturating_add(Duration::from_nanos(extra));
        let c = RetryConfig::builder().initial_backoff(initial).max_backoff(max).build().unwrap();
        let d = backoff(retry, &c, jitter);
        let ceiling = backoff_ceiling(retry, &c);
        prop_assert!(d <= ceiling);
        prop_assert!(ceiling <= max);
        prop_assert!(ceiling >= initial.min(max));
        // Monotone ceiling.
        prop_assert!(backoff_ceiling(retry.saturating_add(1), &c) >= ceiling);
    }

    #[test]
    fn retry_after_parses_any_header_without_panicking(
        raw in proptest::collection::vec(any::<u8>(), 0..40),
        seconds in any::<u64>(),
        offset in 0u64..10_000_000,
        max_ms in 0u64..100_000,
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let max = Duration::from_millis(max_ms);
        let c = RetryConfig::builder()
            .initial_backoff(Duration::ZERO)
            .max_backoff(max)
            .build()
            .unwrap();
        let headers = |value: HeaderValue| {
            let mut h = HeaderMap::new();
            h.insert(http::header::RETRY_AFTER, value);
            h
        };
        // Arbitrary bytes: any result, never a panic, and always capped.
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            let parsed = parse_retry_after(&headers(value), now);
            prop_assert!(retry_delay(1, parsed, &c, 0.5) <= max);
        }
        // Delay-seconds: exact.
        let value = HeaderValue::from_str(&seconds.to_string()).unwrap();
        prop_assert_eq!(
            parse_retry_after(&headers(value), now),
            Some(Duration::from_secs(seconds))
        );
        // HTTP-date: the distance from now (whole seconds), zero in the past.
        let at = now + Duration::from_secs(offset);
        let value = HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap();
        prop_assert_eq!(
            parse_retry_after(&headers(value), now),
            Some(Duration::from_secs(offset))
        );
        let past = now - Duration::from_secs(offset);
        let value = HeaderValue::from_str(&httpdate::fmt_http_date(past)).unwrap();
        prop_assert_eq!(parse_retry_after(&headers(value), now), Some(Duration::ZERO));
    }

    #[test]
    fn never_retries_non_idempotent_after_possible_send(
        method in arb_method(),
        status in 100u16..1000,
        kind in arb_kind(),
    ) {
        prop_assume!(!is_idempotent(&method));
        let c = RetryConfig::default();
        let e = err(kind);
        if e.is_possibly_sent() {
            prop_assert_eq!(classify(&method, Outcome::Error(&e), &c), Decision::DoNotRetry);
        }
        let s = StatusCode::from_u16(status).unwrap();
        if s != StatusCode::TOO_MANY_REQUESTS {
            prop_assert_eq!(classify(&method, Outcome::Status(s), &c), Decision::DoNotRetry);
        }
    }
}
