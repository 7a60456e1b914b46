//! The SDK against real, misbehaving HTTP servers on 127.0.0.1, through the built-in HTTPS
//! client (plain HTTP is allowed for loopback): what the canned-transport tests prove, proven
//! again over a socket, where headers, framing and connection handling are real.
//!
//! Each server is a thread that answers with raw bytes and counts what it receives; it stops
//! when its handle is dropped, or after ten seconds at most.
#![cfg(feature = "default-client")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use twilio_accounts::{Client, Error, RetryConfig};

/// A loopback server answering each connection with the next raw response (the last one
/// repeats). It counts connections and complete requests.
struct RawServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl RawServer {
    fn start(responses: Vec<Vec<u8>>) -> Self {
        Self::start_with(|_| responses)
    }

    /// As [`start`](Self::start), with responses that may name the server's own address.
    fn start_with(responses: impl FnOnce(SocketAddr) -> Vec<Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let responses = responses(addr);
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, r, s) = (connections.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut served = 0usize;
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let response = responses
                    .get(served)
                    .or(responses.last())
                    .cloned()
                    .unwrap_or_default();
                served += 1;
                answer(stream, &response, &r);
            }
        });
        Self {
            addr,
            connections,
            requests,
            stop,
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads one request (head and `Content-Length` body) and writes `response`; whether a
/// complete request head arrived.
/// Reads one request and writes `response`. A complete request is counted in `requests`
/// *before* the answer goes out, so a client that has its answer always sees the count.
fn answer(mut stream: TcpStream, response: &[u8], requests: &AtomicUsize) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
    let body_len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while seen.len() < head_end + body_len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let _ = stream.write_all(response);
    let _ = stream.flush();
}

/// A complete HTTP/1.1 response with `Connection: close`.
fn response(status: &str, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    if let Some(ct) = content_type {
        out.push_str(&format!("content-type: {ct}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A list page of one AWS credential whose `next_page_url` is `next`.
fn page_with_next(next: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"credentials":[{{"sid":"CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}],"meta":{{"page":0,"page_size":1,"key":"credentials","next_page_url":"{next}"}}}}"#
    );
    response("200 OK", Some("application/json"), body.as_bytes())
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .credentials(common::credentials())
        .base_url(base_url)
        .retry(RetryConfig::disabled())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_next_page_elsewhere_is_refused_and_nothing_reaches_it() {
    let elsewhere = RawServer::start(vec![page_with_next("null")]);
    let other_port = elsewhere.addr.port();
    // Each link differs from the base URL in one part: port, scheme or host. The last two
    // point back at the same server, so following them would show in its request count.
    let links: [&dyn Fn(SocketAddr) -> String; 3] = [
        &|_| format!("http://127.0.0.1:{other_port}/v1/Credentials/AWS?Page=1"),
        &|own| format!("https://127.0.0.1:{}/v1/Credentials/AWS?Page=1", own.port()),
        &|own| format!("http://localhost:{}/v1/Credentials/AWS?Page=1", own.port()),
    ];
    for link in links {
        let server = RawServer::start_with(|own| vec![page_with_next(&link(own))]);
        let results: Vec<Result<_, Error>> = client(&server.base_url())
            .credentials()
            .aws()
            .list()
            .into_stream()
            .collect()
            .await;
        let next = link(server.addr);
        assert_eq!(results.len(), 2, "{next}: one item, then the refusal");
        assert!(results[0].is_ok(), "{next}: {:?}", results[0]);
        let Err(Error::Build(b)) = &results[1] else {
            panic!("{next}: {:?}", results[1])
        };
        assert_eq!(b.field(), Some("meta.next_page_url"));
        assert_eq!(
            server.connections(),
            1,
            "{next}: only the first page was asked for"
        );
        assert_eq!(server.requests(), 1, "{next}");
    }
    assert_eq!(elsewhere.connections(), 0, "nothing was sent elsewhere");
}

#[tokio::test]
async fn a_next_page_on_the_base_url_is_followed() {
    let server = RawServer::start_with(|own| {
        vec![
            page_with_next(&format!(
                "http://127.0.0.1:{}/v1/Credentials/AWS?Page=1&PageToken=PA1",
                own.port()
            )),
            page_with_next("/v1/Credentials/AWS?Page=2&PageToken=PA2"),
        ]
    });
    let items: Vec<Result<_, Error>> = client(&server.base_url())
        .credentials()
        .aws()
        .list()
        .limit(3)
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(server.requests(), 3, "the limit ends the stream");
}

#[tokio::test]
async fn an_html_502_keeps_status_type_and_a_clean_snippet() {
    let html = b"<html>\r\n<body>\x1b[31mBad\x00 Gateway\xff</body></html>";
    let server = RawServer::start(vec![response(
        "502 Bad Gateway",
        Some("text/html; charset=utf-8"),
        html,
    )]);
    let err = client(&server.base_url())
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap_err();
    let Error::UnexpectedResponse(u) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(u.content_type(), Some("text/html; charset=utf-8"));
    assert!(u.body_snippet().starts_with("<html> <body>"), "{u:?}");
    assert!(
        !u.body_snippet().chars().any(char::is_control),
        "{:?}",
        u.body_snippet()
    );
    assert!(err.is_retryable());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_success_that_breaks_the_schema_names_the_field() {
    let cases: [(&[u8], Option<&str>, &str); 3] = [
        (
            br#"{"sid":"CRnot-a-sid","friendly_name":"x"}"#,
            Some("application/json"),
            "sid",
        ),
        (
            br#"{"sid":"CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","date_created":"yesterday"}"#,
            Some("application/json"),
            "date_created",
        ),
        (
            br#"{"friendly_name":42}"#,
            Some("application/json"),
            "friendly_name",
        ),
    ];
    for (body, ct, field) in cases {
        let server = RawServer::start(vec![response("200 OK", ct, body)]);
        let err = client(&server.base_url())
            .credentials()
            .aws()
            .fetch(twilio_types::CredentialSid::from_static(
                "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ))
            .send()
            .await
            .unwrap_err();
        let Error::Decode(d) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(d.field(), Some(field), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    }
}

#[tokio::test]
async fn wrong_content_type_invalid_utf8_and_truncated_json_are_typed_errors() {
    let cases: [(Vec<u8>, &str); 3] = [
        (
            response("200 OK", Some("text/html"), b"<html>ok</html>"),
            "wrong content type",
        ),
        (
            response(
                "200 OK",
                Some("application/json"),
                b"{\"sid\":\"\xff\xfe\"}",
            ),
            "invalid UTF-8",
        ),
        (
            response("200 OK", Some("application/json"), br#"{"sid":"CRaa"#),
            "truncated JSON",
        ),
    ];
    for (raw, name) in cases {
        let server = RawServer::start(vec![raw]);
        let err = client(&server.base_url())
            .safelist()
            .create("+18001234567")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::UnexpectedResponse(_) | Error::Decode(_)),
            "{name}: {err:?}"
        );
        assert!(!err.is_retryable(), "{name}");
        assert_eq!(server.requests(), 1, "{name}: a POST is not retried");
    }
}

#[tokio::test]
async fn a_body_cut_short_is_a_transport_error() {
    // Claims 1000 bytes, sends 10, closes.
    let mut raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n".to_vec();
    raw.extend_from_slice(br#"{"sid":"CR"#);
    let server = RawServer::start(vec![raw]);
    let err = client(&server.base_url())
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(!format!("{err:?}").contains(common::TOKEN));
}

#[tokio::test]
async fn an_oversized_body_is_refused_not_buffered() {
    // Past the transport's 4 MiB default: a typed transport error, not an allocation.
    let body = vec![b' '; 5 * 1024 * 1024];
    let server = RawServer::start(vec![response("200 OK", Some("application/json"), &body)]);
    let err = client(&server.base_url())
        .messaging_geopermissions()
        .fetch()
        .send()
        .await
        .unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert!(t.is_body_too_large(), "{t:?}");
    assert!(!err.is_retryable());
}
