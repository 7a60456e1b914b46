//! HTTP/2 servers on 127.0.0.1 that turn requests away the ways RFC 9113 §8.7 allows (a graceful
//! `GOAWAY` every few streams, `REFUSED_STREAM`), against the transport under the public retry
//! layer and, on the same server, hyper-util's legacy `Client` bare. Every call is numbered and
//! the server records each one it processed: no call may fail, none may be processed twice.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use tower::{Service as _, ServiceExt as _};

use super::tests::{client_tls, tls_acceptor};
use super::{DefaultTransport, Proxy};
use crate::{BodyLimitLayer, RetryConfig, RetryLayer, TransportError};

/// How the server turns requests away.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// After `n` streams on a connection, a graceful shutdown (h2's: `GOAWAY` with `NO_ERROR`,
    /// a `PING`, then `GOAWAY` with the last stream id taken): streams the client opened above
    /// it were never processed.
    GoAwayEvery(usize),
    /// `REFUSED_STREAM` to every `n`th call, the first time it arrives.
    RefuseEvery(usize),
}

#[derive(Default)]
struct Seen {
    /// The calls processed, in order: a duplicate shows twice.
    processed: Mutex<Vec<String>>,
    /// The calls that arrived at least once.
    arrived: Mutex<HashSet<String>>,
    go_aways: AtomicUsize,
    refused: AtomicUsize,
}

struct H2Server {
    port: u16,
    roots: rustls::RootCertStore,
    seen: Arc<Seen>,
}

impl H2Server {
    async fn start(misbehaviour: Misbehaviour) -> Self {
        let (acceptor, roots) = tls_acceptor(&[b"h2"]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let state = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, state) = (acceptor.clone(), Arc::clone(&state));
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls, misbehaviour, state).await;
                    }
                });
            }
        });
        Self { port, roots, seen }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/v1/Things", self.port)
    }

    /// The calls processed more than once.
    fn duplicates(&self) -> Vec<String> {
        let mut once = HashSet::new();
        let processed = self.seen.processed.lock().unwrap();
        processed
            .iter()
            .filter(|call| !once.insert(*call))
            .cloned()
            .collect()
    }

    fn processed(&self, call: &str) -> bool {
        self.seen
            .processed
            .lock()
            .unwrap()
            .iter()
            .any(|c| c == call)
    }
}

async fn serve(
    io: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    misbehaviour: Misbehaviour,
    seen: Arc<Seen>,
) {
    let Ok(mut connection) = h2::server::handshake(io).await else {
        return;
    };
    let mut streams = 0;
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        streams += 1;
        let call = request.headers()["x-call"].to_str().unwrap().to_owned();
        if let Misbehaviour::RefuseEvery(n) = misbehaviour {
            let mut arrived = seen.arrived.lock().unwrap();
            if arrived.insert(call.clone()) && arrived.len().is_multiple_of(n) {
                respond.send_reset(h2::Reason::REFUSED_STREAM);
                seen.refused.fetch_add(1, Ordering::SeqCst);
                continue;
            }
        }
        let seen_here = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut body = request.into_body();
            while let Some(chunk) = body.data().await {
                let Ok(chunk) = chunk else { return };
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            seen_here.processed.lock().unwrap().push(call);
            let _ = respond.send_response(Response::new(()), true);
        });
        if let Misbehaviour::GoAwayEvery(n) = misbehaviour
            && streams == n
        {
            connection.graceful_shutdown();
            seen.go_aways.fetch_add(1, Ordering::SeqCst);
        }
    }
}

const CALLS: usize = 300;
const IN_FLIGHT: usize = 16;

fn request(url: &str, call: usize) -> Request<Bytes> {
    // Even calls are GETs, odd ones POSTs with a form body.
    let (method, body) = if call.is_multiple_of(2) {
        (Method::GET, "")
    } else {
        (Method::POST, "FriendlyName=x")
    };
    let mut request = Request::new(Bytes::from_static(body.as_bytes()));
    *request.method_mut() = method;
    *request.uri_mut() = url.parse().unwrap();
    request.headers_mut().insert("x-call", call.into());
    request
}

/// Runs `CALLS` calls, `IN_FLIGHT` at a time, through `send`; returns the numbers of the calls
/// that failed, with their errors.
async fn run<F, Fut>(url: &str, send: F) -> Vec<(usize, String)>
where
    F: Fn(Request<Bytes>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..CALLS {
        let permit = Arc::clone(&permits).acquire_owned().await.unwrap();
        let sending = send(request(url, call));
        calls.spawn(async move {
            let result = sending.await;
            drop(permit);
            (call, result)
        });
    }
    let mut failed = Vec::new();
    while let Some(joined) = calls.join_next().await {
        if let (call, Err(error)) = joined.unwrap() {
            failed.push((call, error));
        }
    }
    failed.sort();
    failed
}

/// Ours: the transport under the public retry layer, with attempts enough that a call turned
/// away several times in a row still goes through, and no budget in the way.
async fn ours(server: &H2Server) -> Vec<(usize, String)> {
    let transport = DefaultTransport::with_tls(
        client_tls(server.roots.clone()),
        Duration::from_secs(5),
        Duration::from_secs(90),
        Proxy::none(),
    );
    let retry = RetryConfig::builder()
        .max_attempts(10)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .no_budget()
        .build()
        .unwrap();
    let stack = tower::ServiceBuilder::new()
        .layer(RetryLayer::new(retry))
        .layer(BodyLimitLayer::default())
        .service(transport);
    run(&server.url(), move |request| {
        let stack = stack.clone();
        async move {
            let response: Result<Response<Bytes>, TransportError> = stack.oneshot(request).await;
            response.map(drop).map_err(|e| format!("{e:?}"))
        }
    })
    .await
}

/// hyper-util's legacy `Client` on the same TLS configuration, bare (it has no retry policy).
async fn hyper_util(server: &H2Server) -> Vec<(usize, String)> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_tls(server.roots.clone()))
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Full<Bytes>>(https);
    run(&server.url(), move |request| {
        let mut client = client.clone();
        async move {
            let response = client.call(request.map(http_body_util::Full::new)).await;
            response.map(drop).map_err(|e| format!("{e:?}"))
        }
    })
    .await
}

/// Each call processed exactly once, none failed.
fn assert_all_processed_once(server: &H2Server, failed: &[(usize, String)]) {
    assert!(failed.is_empty(), "failed calls: {failed:?}");
    assert_eq!(server.duplicates(), Vec::<String>::new(), "processed twice");
    for call in 0..CALLS {
        assert!(server.processed(&call.to_string()), "call {call} was lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_goaway_every_10_streams_fails_no_call_and_duplicates_none() {
    let server = H2Server::start(Misbehaviour::GoAwayEvery(10)).await;
    let failed = ours(&server).await;
    assert_all_processed_once(&server, &failed);
    // A connection carries at most 10 streams and those in flight when its GOAWAY arrives.
    let go_aways = server.seen.go_aways.load(Ordering::SeqCst);
    assert!(go_aways >= CALLS / (10 + IN_FLIGHT) - 1, "{go_aways}");

    let theirs = H2Server::start(Misbehaviour::GoAwayEvery(10)).await;
    let failed_theirs = hyper_util(&theirs).await;
    eprintln!(
        "GOAWAY every 10 streams ({go_aways} of them), {CALLS} calls ({IN_FLIGHT} in flight): \
         ours failed 0, hyper-util's legacy Client failed {}",
        failed_theirs.len()
    );
    assert_eq!(theirs.duplicates(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_streams_fail_no_call_and_duplicate_none() {
    let server = H2Server::start(Misbehaviour::RefuseEvery(5)).await;
    let failed = ours(&server).await;
    assert_all_processed_once(&server, &failed);
    assert_eq!(server.seen.refused.load(Ordering::SeqCst), CALLS / 5);

    let theirs = H2Server::start(Misbehaviour::RefuseEvery(5)).await;
    let failed_theirs = hyper_util(&theirs).await;
    eprintln!(
        "REFUSED_STREAM to every 5th call, {CALLS} calls: ours failed 0, hyper-util's legacy \
         Client failed {}",
        failed_theirs.len()
    );
    // Every refusal reaches a bare client as a failure: what the retry policy turns around.
    assert_eq!(failed_theirs.len(), CALLS / 5);
}

/// The predicate itself, on the errors hyper gives: a refused stream is not processed.
#[tokio::test]
async fn a_refused_stream_is_a_not_processed_error() {
    let server = H2Server::start(Misbehaviour::RefuseEvery(1)).await;
    let mut transport = DefaultTransport::with_tls(
        client_tls(server.roots.clone()),
        Duration::from_secs(5),
        Duration::from_secs(90),
        Proxy::none(),
    );
    let error = transport
        .ready()
        .await
        .unwrap()
        .call(request(&server.url(), 1))
        .await
        .unwrap_err();
    assert!(error.is_not_processed(), "{error:?}");
    assert!(!error.is_possibly_sent());
}
