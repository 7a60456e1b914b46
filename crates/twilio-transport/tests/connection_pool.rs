//! The default transport's connection pool against a real server on 127.0.0.1: which connection
//! each request goes on, what HTTP/1.1 puts on the wire, and that no request is lost or sent
//! twice when the server closes a connection.

#![cfg(feature = "default-client")]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::BodyExt as _;
use support::{Action, FaultServer, Responder, ok_json, response};
use tower::{Service, ServiceExt as _};
use twilio_transport::{BodyLimitLayer, DefaultTransport, TransportError, TransportErrorKind};

fn transport() -> DefaultTransport {
    DefaultTransport::new(Duration::from_secs(5), Duration::from_secs(90)).unwrap()
}

fn post(url: &str) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri(url)
        .body(Bytes::from_static(b"A=1"))
        .unwrap()
}

/// One request straight to `transport`, its body left unread.
async fn send(
    transport: &mut DefaultTransport,
    request: Request<Bytes>,
) -> Result<http::Response<twilio_transport::DefaultBody>, TransportError> {
    transport.ready().await?.call(request).await
}

/// One request through `transport` with its body read to the end.
async fn call(transport: &DefaultTransport, request: Request<Bytes>) -> Bytes {
    let response = tower::Layer::layer(&BodyLimitLayer::default(), transport.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    response.into_body()
}

#[tokio::test]
async fn one_connection_serves_calls_in_turn_and_calls_at_once_get_their_own() {
    // Every answer waits for the gate, so the first eight calls are all in flight at once.
    let (open, gate) = tokio::sync::watch::channel(false);
    let body = r#"{"ok":true}"#;
    let server = FaultServer::start(vec![Action::Deferred {
        gate: Some(gate),
        delay: Duration::ZERO,
        respond: Responder(std::sync::Arc::new(move || {
            response("200 OK", &[], body.as_bytes())
        })),
    }])
    .await;
    let transport = transport();
    let url = format!("{}/v1/Things?Page=2", server.url());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (transport, url) = (transport.clone(), url.clone());
            tokio::spawn(async move { call(&transport, post(&url)).await })
        })
        .collect();
    while server.request_count() < 8 {
        tokio::task::yield_now().await;
    }
    assert_eq!(server.connections(), 8);
    open.send(true).unwrap();
    for handle in calls {
        assert_eq!(handle.await.unwrap(), body);
    }
    // Eight more, one after the other: the idle connections carry them, none is opened.
    for _ in 0..8 {
        assert_eq!(call(&transport, post(&url)).await, body);
    }
    assert_eq!(server.connections(), 8);
    // HTTP/1.1 on the wire: the origin-form target and the origin's `Host`.
    for request in server.requests() {
        assert_eq!(request.target, "/v1/Things?Page=2");
        let host = format!("127.0.0.1:{}", server.port);
        assert_eq!(request.header("host"), Some(host.as_str()));
        assert_eq!(request.body, b"A=1");
    }
}

#[tokio::test]
async fn a_host_header_the_caller_set_is_kept() {
    let server = FaultServer::start(vec![ok_json("{}")]).await;
    let mut request = post(&format!("{}/v1/x", server.url()));
    request
        .headers_mut()
        .insert(http::header::HOST, "accounts.twilio.com".parse().unwrap());
    call(&transport(), request).await;
    assert_eq!(
        server.requests()[0].header("host"),
        Some("accounts.twilio.com")
    );
}

#[tokio::test]
async fn a_connection_the_server_closed_after_answering_is_not_used_again() {
    // The first answer closes its connection (FIN) without saying so; the POST after it must
    // reach the server once, on a new connection.
    let server = FaultServer::start(vec![
        Action::WriteThenCloseAndWait(response("200 OK", &[], b"first")),
        ok_json("second"),
    ])
    .await;
    let transport = transport();
    let url = format!("{}/v1/x", server.url());
    assert_eq!(call(&transport, post(&url)).await, "first");
    // Once the client closed its side, its connection saw the close (a request racing it is the
    // business of `whichever_way_a_close_races_a_request_it_is_sent_at_most_once`).
    server.client_closed().await;
    assert_eq!(call(&transport, post(&url)).await, "second");
    assert_eq!(server.connections(), 2);
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn connection_close_in_the_answer_is_honoured() {
    let server = FaultServer::start(vec![
        Action::Respond(response("200 OK", &[("connection", "close")], b"first")),
        ok_json("second"),
    ])
    .await;
    let transport = transport();
    let url = format!("{}/v1/x", server.url());
    assert_eq!(call(&transport, post(&url)).await, "first");
    assert_eq!(call(&transport, post(&url)).await, "second");
    assert_eq!(server.connections(), 2);
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn a_body_dropped_unread_closes_its_connection_and_one_read_frees_it() {
    let big = vec![b'x'; 256 * 1024];
    let server = FaultServer::start(vec![Action::Respond(response("200 OK", &[], &big))]).await;
    let mut transport = transport();
    let url = format!("{}/v1/x", server.url());
    // Dropped after its head: the connection still holds the rest of the body, so it is not
    // used again.
    let response = send(&mut transport, post(&url)).await.unwrap();
    drop(response);
    // Read to the end, frame by frame: its connection carries the next call.
    let response = send(&mut transport, post(&url)).await.unwrap();
    let read = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(read.len(), big.len());
    assert_eq!(server.connections(), 2);
    call(&transport, post(&url)).await;
    assert_eq!(server.connections(), 2);
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn an_empty_answer_frees_its_connection_at_once() {
    let server =
        FaultServer::start(vec![Action::Respond(response("204 No Content", &[], b""))]).await;
    let mut transport = transport();
    let url = format!("{}/v1/x", server.url());
    for _ in 0..3 {
        // The body is never polled: with nothing in it, the connection is free already.
        let response = send(&mut transport, post(&url)).await.unwrap();
        assert_eq!(response.status(), 204);
    }
    assert_eq!(server.connections(), 1);
}

/// The pool idle timeout: a connection idle longer is not used again (the cache drops it at the
/// next checkout of its origin), one used sooner is.
#[tokio::test]
async fn a_connection_idle_longer_than_the_pool_idle_timeout_is_not_used_again() {
    let server = FaultServer::start(vec![ok_json("ok")]).await;
    let transport = DefaultTransport::new(Duration::from_secs(5), Duration::from_secs(1)).unwrap();
    let url = format!("{}/v1/x", server.url());
    call(&transport, post(&url)).await;
    call(&transport, post(&url)).await;
    assert_eq!(server.connections(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    call(&transport, post(&url)).await;
    assert_eq!(server.connections(), 2);
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn only_absolute_http_uris_are_sent() {
    let mut transport = transport();
    for uri in ["/v1/x", "ftp://127.0.0.1/v1/x"] {
        let request = Request::get(uri).body(Bytes::new()).unwrap();
        let err = send(&mut transport, request).await.unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::InvalidRequest, "{uri}");
        assert!(!err.to_string().is_empty());
    }
}

#[tokio::test]
async fn requests_to_two_origins_keep_their_own_connections() {
    let (a, b) = (
        FaultServer::start(vec![ok_json("a")]).await,
        FaultServer::start(vec![ok_json("b")]).await,
    );
    let transport = transport();
    for _ in 0..3 {
        assert_eq!(
            call(&transport, post(&format!("{}/v1/x", a.url()))).await,
            "a"
        );
        assert_eq!(
            call(&transport, post(&format!("{}/v1/x", b.url()))).await,
            "b"
        );
    }
    assert_eq!((a.connections(), b.connections()), (1, 1));
    assert_eq!((a.request_count(), b.request_count()), (3, 3));
}

/// What a [`ScriptedServer`] does next on a connection.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Read a request and answer `200 ok`.
    Answer,
    /// Read a request and close the connection without answering.
    ReadAndClose,
    /// Wait until the test says so, close the connection (FIN), then tell the test.
    CloseWhenTold,
    /// Read a request's head only, answer `413` at once, and read nothing more, holding the
    /// connection open until the server is dropped.
    AnswerEarlyAndStopReading,
}

/// A server on threads of its own, so that what it does never waits on the test's runtime:
/// connection `i` follows `plans[i]`, later connections answer every request. It records the
/// connection of each request. Dropped, it stops accepting and closes what it holds.
struct ScriptedServer {
    port: u16,
    tell: std::sync::mpsc::Sender<()>,
    closed: std::sync::mpsc::Receiver<()>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    /// Connections left open and unread (`AnswerEarlyAndStopReading`).
    held: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ScriptedServer {
    fn start(plans: Vec<Vec<Step>>) -> Self {
        use std::io::{Read as _, Write as _};
        use std::sync::{Arc, Mutex, atomic::Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tell, told) = std::sync::mpsc::channel::<()>();
        let told = Arc::new(Mutex::new(told));
        let (closed_tx, closed) = std::sync::mpsc::channel();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = requests.clone();
        // A request is its head and the three-byte body every test sends ("A=1").
        let read = move |stream: &mut std::net::TcpStream, connection: usize| -> bool {
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\nA=1") {
                match stream.read(&mut byte) {
                    Ok(1) => request.push(byte[0]),
                    _ => return false,
                }
            }
            seen.lock().unwrap().push(connection);
            true
        };
        let answer = |stream: &mut std::net::TcpStream| {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        };
        let (keep, stopped) = (held.clone(), stop.clone());
        std::thread::spawn(move || {
            for connection in 0.. {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let (read, told, closed_tx, keep) =
                    (read.clone(), told.clone(), closed_tx.clone(), keep.clone());
                let plan = plans.get(connection).cloned();
                std::thread::spawn(move || {
                    let Some(plan) = plan else {
                        // Past the plans: answer for as long as the client sends.
                        while read(&mut stream, connection) {
                            answer(&mut stream);
                        }
                        return;
                    };
                    for step in plan {
                        match step {
                            Step::Answer => {
                                if !read(&mut stream, connection) {
                                    return;
                                }
                                answer(&mut stream);
                            }
                            Step::ReadAndClose => {
                                read(&mut stream, connection);
                                return;
                            }
                            Step::CloseWhenTold => {
                                let _ = told.lock().unwrap().recv();
                                let _ = stream.shutdown(std::net::Shutdown::Both);
                                drop(stream);
                                let _ = closed_tx.send(());
                                return;
                            }
                            Step::AnswerEarlyAndStopReading => {
                                let mut head = Vec::new();
                                let mut byte = [0u8; 1];
                                while !head.ends_with(b"\r\n\r\n") {
                                    match stream.read(&mut byte) {
                                        Ok(1) => head.push(byte[0]),
                                        _ => return,
                                    }
                                }
                                let early =
                                    b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n";
                                let _ = stream.write_all(early);
                                keep.lock().unwrap().push(stream);
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self {
            port,
            tell,
            closed,
            requests,
            held,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/x", self.port)
    }

    /// The connection of each request, in arrival order.
    fn requests(&self) -> Vec<usize> {
        self.requests.lock().unwrap().clone()
    }

    /// Has the connection waiting in `CloseWhenTold` closed, and returns once it has.
    fn close_now(&self) {
        self.tell.send(()).unwrap();
        self.closed
            .recv_timeout(Duration::from_secs(10))
            .expect("no connection was waiting to close");
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accepting thread, which then ends.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        self.held.lock().unwrap().clear();
    }
}

/// One call straight through the transport (no retry policy above it).
async fn try_call(transport: &DefaultTransport, url: &str) -> Result<Bytes, TransportError> {
    let response = tower::Layer::layer(&BodyLimitLayer::default(), transport.clone())
        .oneshot(post(url))
        .await?;
    Ok(response.into_body())
}

#[tokio::test]
async fn a_request_the_server_read_and_left_unanswered_is_not_sent_again() {
    let server = ScriptedServer::start(vec![vec![Step::Answer, Step::ReadAndClose]]);
    let transport = transport();
    assert_eq!(try_call(&transport, &server.url()).await.unwrap(), "ok");
    // Written, then the connection closed with no answer: it may have been acted on, so it is
    // an I/O error ("possibly sent") and the transport does not write it anywhere else.
    let err = try_call(&transport, &server.url()).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io, "{err:?}");
    assert_eq!(server.requests(), [0, 0]);
    // The next call connects again.
    assert_eq!(try_call(&transport, &server.url()).await.unwrap(), "ok");
    assert_eq!(server.requests(), [0, 0, 1]);
}

#[tokio::test]
async fn whichever_way_a_close_races_a_request_it_is_sent_at_most_once() {
    // The server closes an idle connection just before the next request. Depending on when
    // the connection's task sees the close, the request is written to the closed connection,
    // or hyper hands the unwritten request back and the pool sends it on a new connection, or
    // the pool passes the connection over. On Tokio 1.54 on an idle machine, no wait, a
    // `yield_now` and a sleep take those three paths in turn (checked by instrumenting the
    // pool), but neither Tokio nor the kernel promises it, so only the sleep's outcome is
    // asserted. Each way, the request reaches the server at most once, a success means exactly
    // once, and a failure is an I/O error ("possibly sent", for the retry policy to judge).
    for wait in 0..3 {
        for _ in 0..3 {
            let server = ScriptedServer::start(vec![vec![Step::Answer, Step::CloseWhenTold]]);
            let transport = transport();
            assert_eq!(try_call(&transport, &server.url()).await.unwrap(), "ok");
            server.close_now();
            match wait {
                0 => {}
                1 => tokio::task::yield_now().await,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
            match try_call(&transport, &server.url()).await {
                Ok(body) => {
                    assert_eq!(body, "ok");
                    assert_eq!(server.requests(), [0, 1], "wait {wait}");
                }
                Err(err) => {
                    assert_ne!(wait, 2, "the close was seen before the call: {err:?}");
                    assert_eq!(err.kind(), TransportErrorKind::Io, "wait {wait}: {err:?}");
                    assert_eq!(server.requests(), [0], "wait {wait}");
                }
            }
            // Whatever happened, the pool goes on.
            assert_eq!(try_call(&transport, &server.url()).await.unwrap(), "ok");
        }
    }
}

#[tokio::test]
async fn what_the_connections_cannot_send_is_refused_before_connecting() {
    let server = ScriptedServer::start(Vec::new());
    let mut transport = transport();
    for (method, version) in [
        (Method::POST, http::Version::HTTP_09),
        (Method::POST, http::Version::HTTP_3),
        (Method::CONNECT, http::Version::HTTP_11),
    ] {
        let mut request = post(&server.url());
        *request.method_mut() = method.clone();
        *request.version_mut() = version;
        let err = send(&mut transport, request).await.unwrap_err();
        assert_eq!(
            err.kind(),
            TransportErrorKind::InvalidRequest,
            "{method} {version:?}"
        );
    }
    // HTTP/2 asked of a server that speaks only HTTP/1.1: refused, and the connection it
    // opened to find out carries the next call.
    let mut request = post(&server.url());
    *request.version_mut() = http::Version::HTTP_2;
    let err = send(&mut transport, request).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::InvalidRequest);
    assert_eq!(try_call(&transport, &server.url()).await.unwrap(), "ok");
    assert_eq!(server.requests(), [0]);
}

#[tokio::test]
async fn a_connection_still_writing_a_request_body_is_not_handed_to_the_next_call() {
    // The server answers `413` after the head of a 64 MiB request and reads no more, so the
    // connection is still writing that body when its answer has been read (64 MiB is several
    // times what both sockets' buffers hold, even grown to Linux's default maximums). The next
    // call must not wait for that connection (it would wait until the body is written, here
    // forever): a new one carries it.
    let server = ScriptedServer::start(vec![vec![Step::AnswerEarlyAndStopReading]]);
    let mut transport = transport();
    let mut big = post(&server.url());
    *big.body_mut() = Bytes::from(vec![b'x'; 64 << 20]);
    let response = transport.ready().await.unwrap().call(big).await.unwrap();
    assert_eq!(response.status(), 413);
    drop(response);
    let url = server.url();
    let next = tokio::time::timeout(Duration::from_secs(10), try_call(&transport, &url));
    assert_eq!(
        next.await
            .expect("the next call waited on the busy connection")
            .unwrap(),
        "ok"
    );
    assert_eq!(server.requests(), [1]);
}

/// A call given up on (its future dropped, as the attempt timeout does) while its connection is
/// still writing a large request body closes that connection: the server sees the end of the
/// stream long before the body, instead of a client that goes on writing to nobody.
#[tokio::test]
async fn giving_up_on_a_call_closes_its_connection() {
    use tokio::io::AsyncReadExt as _;

    const BODY: usize = 64 << 20;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/x", listener.local_addr().unwrap());
    let (accepted_tx, accepted) = tokio::sync::oneshot::channel();
    let (go_tx, go) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = accepted_tx.send(());
        // Reads nothing until the client has given up, then reads to the end of the stream.
        let _ = go.await;
        let mut read = 0usize;
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return read,
                Ok(n) => read += n,
            }
        }
    });
    let mut transport = transport();
    let request = Request::post(url.as_str())
        .body(Bytes::from(vec![b'a'; BODY]))
        .unwrap();
    let mut call = Box::pin(send(&mut transport, request));
    tokio::select! {
        _ = &mut call => panic!("the server never answers"),
        _ = accepted => {}
    }
    // Writing, blocked on the server: give up.
    let _ = tokio::time::timeout(Duration::from_millis(100), &mut call).await;
    drop(call);
    go_tx.send(()).unwrap();
    let read = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the connection was closed")
        .unwrap();
    assert!(read < BODY, "the whole body was written: {read} bytes");
}

/// A server that closes each connection right after answering, without `Connection: close`:
/// a request may go on a connection the server has just closed. hyper-util's legacy `Client`
/// bare and the whole client (the same pool under the retry policy) each send 300 POSTs, 16 at a
/// time, to such a server: ours fails no more often (within chance), and no request is
/// processed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_after_each_answer_fails_us_no_more_than_hyper_util() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use twilio_types::{AccountSid, AuthToken};

    const CALLS: usize = 300;
    const IN_FLIGHT: usize = 16;

    /// Sends `CALLS` numbered POSTs through `send`, `IN_FLIGHT` at a time; the failures.
    async fn run<F, Fut>(url: String, send: F) -> usize
    where
        F: Fn(Request<Bytes>) -> Fut,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        let failed = Arc::new(AtomicUsize::new(0));
        let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let mut calls = tokio::task::JoinSet::new();
        for call in 0..CALLS {
            let permit = Arc::clone(&permits).acquire_owned().await.unwrap();
            let request = Request::post(format!("{url}/v1/x"))
                .header("x-call", call.to_string())
                .body(Bytes::from_static(b"A=1"))
                .unwrap();
            let (sending, failed) = (send(request), Arc::clone(&failed));
            calls.spawn(async move {
                if !sending.await {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                drop(permit);
            });
        }
        while calls.join_next().await.is_some() {}
        failed.load(Ordering::SeqCst)
    }

    let answer = || Action::WriteThenClose(response("200 OK", &[], br#"{"ok":true}"#));
    let ours_server = FaultServer::start(vec![answer()]).await;
    let theirs_server = FaultServer::start(vec![answer()]).await;
    let credentials = twilio_transport::Credentials::from_auth_token(
        AccountSid::parse(support::ACCOUNT).unwrap(),
        AuthToken::new("token").unwrap(),
    )
    .unwrap();
    let ours = twilio_transport::HttpClient::builder()
        .credentials(credentials)
        .base_url(&ours_server.url())
        .build()
        .unwrap();
    let ours_failed = run(ours_server.url(), move |request| {
        let sending = ours.send(request);
        async move { sending.await.is_ok() }
    })
    .await;
    let theirs = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let theirs_failed = run(theirs_server.url(), move |request| {
        let sending = theirs.request(request.map(http_body_util::Full::new));
        async move {
            match sending.await {
                Ok(response) => response.into_body().collect().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    eprintln!(
        "server closing after each answer, {CALLS} POSTs, {IN_FLIGHT} in flight: ours failed \
         {ours_failed}, hyper-util's legacy Client failed {theirs_failed}"
    );
    // The same pool decides which request meets a closed connection, by the same races: the
    // counts differ by chance (0 to 2 of 300 on either side, measured). A request written to a
    // connection the server was closing may have been read, so a POST is never sent again.
    assert!(
        ours_failed <= theirs_failed + CALLS / 30,
        "ours {ours_failed}, hyper-util {theirs_failed}"
    );
    let mut processed = std::collections::HashMap::<String, usize>::new();
    for request in ours_server.requests() {
        *processed
            .entry(request.header("x-call").unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(processed.values().all(|&n| n == 1), "{processed:?}");
    assert_eq!(processed.len(), CALLS - ours_failed);
}
