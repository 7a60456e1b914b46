//! A deliberately misbehaving HTTP/1.1 server on 127.0.0.1 for the integration tests. It counts
//! the connections it accepts and records every request it reads.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write these bytes (a whole response) and keep the connection.
    Respond(Vec<u8>),
    /// Reset the connection (RST) without writing anything.
    Reset,
    /// Write these bytes, then reset the connection.
    WriteThenReset(Vec<u8>),
    /// Write these bytes, then close the connection cleanly (FIN).
    WriteThenClose(Vec<u8>),
    /// Like `WriteThenClose`, then read until the client closes its side too (which it does once
    /// its connection saw the FIN and is out of use), and signal [`FaultServer::client_closed`].
    WriteThenCloseAndWait(Vec<u8>),
    /// Never answer (hold the connection for this long).
    Stall(Duration),
    /// Write `head` at once, then `body` one byte at a time every `every`.
    Trickle {
        head: Vec<u8>,
        body: Vec<u8>,
        every: Duration,
    },
    /// Wait until `gate` (if any) is open, then `delay`, then write the response `respond`
    /// gives at that moment (as a server that checks credentials when it gets to the request,
    /// not when it reads it).
    Deferred {
        gate: Option<tokio::sync::watch::Receiver<bool>>,
        delay: Duration,
        respond: Responder,
    },
}

/// Makes a response when it is due; see [`Action::Deferred`].
#[derive(Clone)]
pub struct Responder(pub Arc<dyn Fn() -> Vec<u8> + Send + Sync>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub connection: usize,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The server; dropped, it stops accepting.
pub struct FaultServer {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
    client_closed: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Script = Arc<dyn Fn(usize, &Received) -> Action + Send + Sync>;

impl FaultServer {
    /// Answers request number `n` (0-based, across all connections) with `script[n]`, the last
    /// action repeating.
    pub async fn start(script: Vec<Action>) -> Self {
        let script = Arc::new(script);
        Self::start_with(move |n, _| script[n.min(script.len() - 1)].clone()).await
    }

    /// Answers each request with `f(request number, request)`.
    pub async fn start_with(
        f: impl Fn(usize, &Received) -> Action + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(f);
        let client_closed = Arc::new(tokio::sync::Notify::new());
        let task = {
            let (connections, received) = (connections.clone(), received.clone());
            let client_closed = client_closed.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let id = connections.fetch_add(1, Ordering::SeqCst);
                    let (received, script) = (received.clone(), script.clone());
                    let client_closed = client_closed.clone();
                    tokio::spawn(serve(stream, id, received, script, client_closed));
                }
            })
        };
        Self {
            port,
            connections,
            received,
            client_closed,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Resolves when the client closed a connection the server closed with
    /// [`Action::WriteThenCloseAndWait`] (at once if that happened already).
    pub async fn client_closed(&self) {
        self.client_closed.notified().await;
    }
}

async fn serve(
    mut stream: TcpStream,
    connection: usize,
    received: Arc<Mutex<Vec<Received>>>,
    script: Script,
    client_closed: Arc<tokio::sync::Notify>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf, connection).await else {
            return;
        };
        let action = {
            let mut all = received.lock().unwrap();
            let n = all.len();
            all.push(req.clone());
            script(n, &req)
        };
        match action {
            Action::Respond(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Action::Reset => return reset(stream),
            Action::WriteThenReset(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                return reset(stream);
            }
            Action::WriteThenClose(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                return;
            }
            Action::WriteThenCloseAndWait(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
                client_closed.notify_one();
                return;
            }
            Action::Deferred {
                gate,
                delay,
                respond,
            } => {
                if let Some(mut gate) = gate
                    && gate.wait_for(|open| *open).await.is_err()
                {
                    return;
                }
                tokio::time::sleep(delay).await;
                if stream.write_all(&(respond.0)()).await.is_err() {
                    return;
                }
            }
            Action::Stall(d) => {
                tokio::time::sleep(d).await;
                return;
            }
            Action::Trickle { head, body, every } => {
                if stream.write_all(&head).await.is_err() {
                    return;
                }
                for b in body {
                    tokio::time::sleep(every).await;
                    if stream.write_all(&[b]).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[allow(deprecated)]
fn reset(stream: TcpStream) {
    // SO_LINGER 0: close() sends RST instead of FIN.
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    connection: usize,
) -> Option<Received> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Some(Received {
        connection,
        method,
        target,
        headers,
        body,
        at: Instant::now(),
    })
}

/// A complete response with a `Content-Length`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

pub fn ok_json(body: &str) -> Action {
    Action::Respond(response(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("twilio-request-id", "RQ0123"),
        ],
        body.as_bytes(),
    ))
}

/// A port with nothing listening on it.
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const API_KEY: &str = "SK0123456789abcdef0123456789abcdef";
