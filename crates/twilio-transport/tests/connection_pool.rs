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
use twilio_transport::{BodyLimitLayer, DefaultTransport, TransportErrorKind};

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
        Action::WriteThenClose(response("200 OK", &[], b"first")),
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
    let response = transport
        .ready()
        .await
        .unwrap()
        .call(post(&url))
        .await
        .unwrap();
    drop(response);
    // Read to the end, frame by frame: its connection carries the next call.
    let response = transport
        .ready()
        .await
        .unwrap()
        .call(post(&url))
        .await
        .unwrap();
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
        let response = transport
            .ready()
            .await
            .unwrap()
            .call(post(&url))
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn only_absolute_http_uris_are_sent() {
    let mut transport = transport();
    for uri in ["/v1/x", "ftp://127.0.0.1/v1/x"] {
        let request = Request::get(uri).body(Bytes::new()).unwrap();
        let err = transport
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap_err();
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

/// A server on its own thread that answers one request on its first connection, closes that
/// connection when told to (and says when it has), then answers every request on a second.
struct ClosingServer {
    port: u16,
    close: std::sync::mpsc::Sender<()>,
    closed: std::sync::mpsc::Receiver<()>,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ClosingServer {
    fn start() -> Self {
        use std::io::{Read as _, Write as _};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (close, close_rx) = std::sync::mpsc::channel();
        let (closed_tx, closed) = std::sync::mpsc::channel();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = requests.clone();
        std::thread::spawn(move || {
            let answer = |stream: &mut std::net::TcpStream| -> bool {
                // The request head and its three-byte body ("A=1").
                let mut seen = Vec::new();
                let mut byte = [0u8; 1];
                while !seen.ends_with(b"\r\n\r\nA=1") {
                    match stream.read(&mut byte) {
                        Ok(1) => seen.push(byte[0]),
                        _ => return false,
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .is_ok()
            };
            let (mut first, _) = listener.accept().unwrap();
            answer(&mut first);
            if close_rx.recv().is_ok() {
                first.shutdown(std::net::Shutdown::Both).unwrap();
                drop(first);
                let _ = closed_tx.send(());
            }
            let Ok((mut second, _)) = listener.accept() else {
                return;
            };
            while answer(&mut second) {}
        });
        Self {
            port,
            close,
            closed,
            requests,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_request_written_after_the_server_closed_the_connection_is_not_sent_again() {
    let server = ClosingServer::start();
    let mut transport = transport();
    let url = format!("http://127.0.0.1:{}/v1/x", server.port);
    assert_eq!(call(&transport, post(&url)).await, "ok");
    // The server closes the idle connection; its FIN is in this side's socket, but the
    // connection's task has not run since, so the pool still has it idle and the next request
    // is written to it before the close is seen. The request may have reached the server as
    // far as this side can tell: a possibly-sent I/O error, and it is not written again (a
    // POST, which nothing may send twice; the retry policy decides from the error's kind).
    server.close.send(()).unwrap();
    server.closed.recv().unwrap();
    let err = transport
        .ready()
        .await
        .unwrap()
        .call(post(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io, "{err:?}");
    assert_eq!(server.requests(), 1);
    // The dead connection is gone: the next call connects again.
    assert_eq!(call(&transport, post(&url)).await, "ok");
    assert_eq!(server.requests(), 2);
}
