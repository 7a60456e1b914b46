//! HTTP/2 servers on 127.0.0.1 that turn requests away the ways RFC 9113 §8.7 allows (a graceful
//! `GOAWAY` every few streams, `REFUSED_STREAM`, a `GOAWAY` before any stream), against the
//! transport under the public retry layer and, on the same server, hyper-util's legacy `Client`
//! bare. Every call is numbered and the server records each stream as it arrives, with the number
//! of its connection, and each call it processed: no call may fail, none may be processed twice,
//! and a call turned away is sent again once, on a new connection.

use std::collections::HashSet;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::{Service as _, ServiceExt as _};

use super::tests::{client_tls, tls_server_config};
use super::{DefaultTransport, Proxy};
use crate::{Attempts, BodyLimitLayer, RetryConfig, RetryLayer, TransportError};

/// How the server turns requests away.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// After `n` streams on a connection, a graceful shutdown (h2's: `GOAWAY` with `NO_ERROR`,
    /// a `PING`, then `GOAWAY` with the last stream id taken): streams the client opened above
    /// it were never processed.
    GoAwayEvery(usize),
    /// `REFUSED_STREAM` to every `n`th call, the first time it arrives.
    RefuseEvery(usize),
    /// `REFUSED_STREAM` to every stream.
    RefuseAll,
    /// On the first connection, the server's `SETTINGS` and a `GOAWAY` with last stream id 0,
    /// sent with the TLS handshake itself (TLS 1.3 half-RTT data): the client reads them on its
    /// connection's first read, before its request task takes any request off the queue, so
    /// hyper hands the request back unsent (on a current-thread runtime, where the connection
    /// task runs first, being spawned first). Every other connection is served normally.
    HandBackOnFirstConnection,
}

#[derive(Default)]
struct Seen {
    /// The calls processed, in order: a duplicate shows twice.
    processed: Mutex<Vec<String>>,
    /// The calls that arrived at least once.
    arrived: Mutex<HashSet<String>>,
    /// Every stream as it arrived: its call and the number of its connection (0 for the first
    /// the server accepted).
    arrivals: Mutex<Vec<(String, usize)>>,
    go_aways: AtomicUsize,
    refused: AtomicUsize,
    /// [`Misbehaviour::HandBackOnFirstConnection`]: the types of the frames the client sent on
    /// the first connection, once the client closed it.
    first_connection_frames: Mutex<Option<Vec<u8>>>,
    first_connection_closed: tokio::sync::Notify,
}

struct H2Server {
    port: u16,
    roots: rustls::RootCertStore,
    seen: Arc<Seen>,
}

impl H2Server {
    async fn start(misbehaviour: Misbehaviour) -> Self {
        let (config, roots) = tls_server_config(&[b"h2"]);
        let mut half_rtt = config.clone();
        half_rtt.send_half_rtt_data = true;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let half_rtt = tokio_rustls::TlsAcceptor::from(Arc::new(half_rtt));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let state = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((tcp, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                if connection == 0
                    && matches!(misbehaviour, Misbehaviour::HandBackOnFirstConnection)
                {
                    tokio::spawn(go_away_before_any_stream(half_rtt.clone(), tcp, state));
                } else {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(Lingering(Some(tcp))).await {
                            serve(tls, connection, misbehaviour, state).await;
                        }
                    });
                }
                connection += 1;
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

    /// The connections `call` arrived on, in order.
    fn arrivals(&self, call: &str) -> Vec<usize> {
        let arrivals = self.seen.arrivals.lock().unwrap();
        arrivals
            .iter()
            .filter(|(c, _)| c == call)
            .map(|(_, connection)| *connection)
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
    io: tokio_rustls::server::TlsStream<Lingering>,
    number: usize,
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
        seen.arrivals.lock().unwrap().push((call.clone(), number));
        if let Misbehaviour::RefuseAll = misbehaviour {
            respond.send_reset(h2::Reason::REFUSED_STREAM);
            seen.refused.fetch_add(1, Ordering::SeqCst);
            continue;
        }
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

/// The server's TCP connection, closed in stages as RFC 9112 §9.6 says a server must close to
/// be sure its last bytes are read: h2 shuts the write side down once a connection is done
/// (`close_notify`, then FIN) and drops it; dropped, this one goes on reading, and discards,
/// whatever the client still sends until the client closes (at most 10 s). Closed at once, the
/// socket answers such late bytes (the body of a request above a graceful `GOAWAY`'s last id,
/// a `WINDOW_UPDATE`) with a reset, the client's next write fails, and h2 gives up the
/// connection on that write error with the final `GOAWAY` and the last responses unread in its
/// receive queue: every stream still open fails with `BrokenPipe`, processed or not (seen: a
/// POST or two failing in 1 run of 20 under load).
struct Lingering(Option<tokio::net::TcpStream>);

impl Lingering {
    fn tcp(&mut self) -> &mut tokio::net::TcpStream {
        self.0.as_mut().expect("taken only when dropped")
    }
}

impl tokio::io::AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(self.tcp()).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Lingering {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(self.tcp()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.tcp()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.tcp()).poll_shutdown(cx)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(mut tcp) = self.0.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let drain = async {
                // The write side first, if h2 ended without closing it (a connection error).
                let _ = tcp.shutdown().await;
                let mut discarded = [0; 4096];
                while let Ok(1..) = tcp.read(&mut discarded).await {}
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), drain).await;
        });
    }
}

/// [`Misbehaviour::HandBackOnFirstConnection`]'s connection: `SETTINGS` and `GOAWAY` (last
/// stream id 0, `NO_ERROR`) written into the TLS session before its handshake, then whatever the
/// client sends read until it closes the connection.
async fn go_away_before_any_stream(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    seen: Arc<Seen>,
) {
    const SETTINGS: [u8; 9] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
    const GOAWAY: [u8; 17] = [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let accepted = acceptor
        .accept_with(tcp, |tls| {
            let mut early = tls.writer();
            early.write_all(&SETTINGS).unwrap();
            early.write_all(&GOAWAY).unwrap();
        })
        .await;
    let mut bytes = Vec::new();
    if let Ok(mut tls) = accepted {
        // The client may close without `close_notify`: what was read is kept either way.
        let _ = tls.read_to_end(&mut bytes).await;
    }
    *seen.first_connection_frames.lock().unwrap() = Some(frame_types(&bytes));
    seen.first_connection_closed.notify_one();
}

/// The types of the HTTP/2 frames in `bytes`, a client's side of a connection (its 24-byte
/// preface first).
fn frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut frames = bytes.get(24..).unwrap_or_default();
    let mut types = Vec::new();
    while frames.len() >= 9 {
        let length = u32::from_be_bytes([0, frames[0], frames[1], frames[2]]) as usize;
        types.push(frames[3]);
        frames = frames.get(9 + length..).unwrap_or_default();
    }
    types
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

/// The transport alone, for `server`.
fn transport(server: &H2Server) -> DefaultTransport {
    DefaultTransport::with_tls(
        client_tls(server.roots.clone()),
        Duration::from_secs(5),
        Duration::from_secs(90),
        Proxy::none(),
    )
}

/// Ours: the transport under the public retry layer, with attempts enough that a call turned
/// away several times in a row would go through if the policy allowed it, and no budget in the
/// way.
fn stack(
    server: &H2Server,
) -> impl tower::Service<
    Request<Bytes>,
    Response = Response<Bytes>,
    Error = TransportError,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    let retry = RetryConfig::builder()
        .max_attempts(10)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .no_budget()
        .build()
        .unwrap();
    tower::ServiceBuilder::new()
        .layer(RetryLayer::new(retry))
        .layer(BodyLimitLayer::default())
        .service(transport(server))
}

async fn ours(server: &H2Server) -> Vec<(usize, String)> {
    let stack = stack(server);
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
/// Each call is bounded: the legacy `Client` holds its connection's handle while it awaits the
/// answer, so a request a racing send left in hyper's queue as the dispatch ended waits for ever
/// (see `SharedSend` in the transport); such a call counts as failed.
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
            let calling = client.call(request.map(http_body_util::Full::new));
            match tokio::time::timeout(Duration::from_secs(10), calling).await {
                Ok(response) => response.map(drop).map_err(|e| format!("{e:?}")),
                Err(_) => Err("no answer in 10 s".to_owned()),
            }
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
    let mut transport = transport(&server);
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

/// A POST the server refused is sent exactly once more, on a connection opened for it; the
/// connection that refused takes no new request.
#[tokio::test]
async fn a_refused_post_is_sent_once_more_on_a_new_connection() {
    let server = H2Server::start(Misbehaviour::RefuseEvery(1)).await;
    let stack = stack(&server);
    let url = server.url();
    // Odd calls are POSTs. Refused on the first connection, processed on the second.
    let response = stack.clone().oneshot(request(&url, 1)).await.unwrap();
    assert_eq!(response.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_eq!(server.arrivals("1"), [0, 1]);
    // The refusing connection was dropped from the pool and the re-send's was its own: the next
    // call opens connection 2 (refused there too), and is sent again on connection 3.
    stack.oneshot(request(&url, 3)).await.unwrap();
    assert_eq!(server.arrivals("3"), [2, 3]);
    assert_eq!(server.duplicates(), Vec::<String>::new());
    assert!(server.processed("1") && server.processed("3"));
}

/// A call refused on its new connection too is not sent a third time, however many attempts
/// are left: it ends with the not-processed error. For a GET as for a POST.
#[tokio::test]
async fn a_call_refused_twice_is_not_sent_a_third_time() {
    let server = H2Server::start(Misbehaviour::RefuseAll).await;
    let stack = stack(&server);
    for call in ["0", "1"] {
        let request = request(&server.url(), call.parse().unwrap());
        let error = stack.clone().oneshot(request).await.unwrap_err();
        assert!(error.is_not_processed(), "{error:?}");
        assert_eq!(error.attempts(), 2);
        let arrivals = server.arrivals(call);
        assert_eq!(arrivals.len(), 2, "{arrivals:?}");
        assert_ne!(arrivals[0], arrivals[1]);
    }
    assert_eq!(server.seen.refused.load(Ordering::SeqCst), 4);
    assert!(server.seen.processed.lock().unwrap().is_empty());
}

/// Whether hyper handed the request of `error` back unsent (its "canceled" error in the chain).
fn handed_back(error: &TransportError) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        if e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_canceled)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Waits for the client to close the first connection of `server`, and checks that it sent no
/// `HEADERS` frame there: no request left on it.
async fn assert_no_request_on_first_connection(server: &H2Server) {
    const HEADERS: u8 = 0x1;
    let closed = server.seen.first_connection_closed.notified();
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the client never closed the connection that sent GOAWAY");
    let frames = server.seen.first_connection_frames.lock().unwrap().clone();
    let frames = frames.unwrap();
    assert!(!frames.contains(&HEADERS), "{frames:?}");
}

/// A request hyper hands back unsent on a new connection is not processed (not "possibly
/// sent"): the server never saw it. Current-thread runtime: see
/// [`Misbehaviour::HandBackOnFirstConnection`].
#[tokio::test]
async fn a_request_handed_back_unsent_on_a_new_connection_is_not_processed() {
    let server = H2Server::start(Misbehaviour::HandBackOnFirstConnection).await;
    let error = transport(&server)
        .oneshot(request(&server.url(), 1))
        .await
        .unwrap_err();
    assert!(error.is_not_processed(), "{error:?}");
    assert!(!error.is_possibly_sent());
    assert!(handed_back(&error), "not handed back: {error:?}");
    assert_no_request_on_first_connection(&server).await;
    assert!(server.seen.arrivals.lock().unwrap().is_empty());
}

/// ... and the retry layer sends it again, once, on a new connection, where it is processed.
#[tokio::test]
async fn a_post_handed_back_unsent_is_sent_again_on_a_new_connection() {
    let server = H2Server::start(Misbehaviour::HandBackOnFirstConnection).await;
    let response = stack(&server)
        .oneshot(request(&server.url(), 1))
        .await
        .unwrap();
    assert_eq!(response.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_no_request_on_first_connection(&server).await;
    assert_eq!(server.arrivals("1"), [1]);
    assert!(server.processed("1"));
}

/// The test server's close in stages ([`Lingering`]): what a client still sends after the
/// server ended the connection is read and discarded, so the client's writes do not fail and it
/// reads the server's last bytes, then the end. Closed at once, the server's socket answers the
/// first late write with a reset and the second fails (`BrokenPipe`), which is what made h2
/// give up a connection with its final frames unread.
#[tokio::test]
async fn the_test_server_reads_what_a_client_sends_after_it_closed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let mut server = Lingering(Some(tcp));
    server.write_all(b"GOAWAY").await.unwrap();
    server.shutdown().await.unwrap();
    drop(server);
    for late in [&b"a request body"[..], b"a WINDOW_UPDATE"] {
        client.write_all(late).await.unwrap();
        client.flush().await.unwrap();
    }
    let mut read = Vec::new();
    client.read_to_end(&mut read).await.unwrap();
    assert_eq!(read, b"GOAWAY");
}
