//! A minimal raw HTTP client for the emulator's tests (hyper's low-level http1 API; no
//! SDK crate is involved, so these tests check the emulator on its own).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::HeaderMap;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use twilio_emulator::Emulator;

pub const FORM: &str = "application/x-www-form-urlencoded";

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Twilio error body with this status and code, and the standard headers.
    pub fn assert_error(&self, status: u16, code: u64) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_request_id(self);
        if status == 401 {
            assert_eq!(
                self.header("www-authenticate"),
                Some("Basic realm=\"Twilio API\"")
            );
        }
        body
    }

    /// Asserts the CORS headers the spec declares on every 200/201 response.
    pub fn assert_cors(&self) {
        assert_eq!(self.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            self.header("access-control-allow-credentials"),
            Some("true")
        );
        for name in [
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-expose-headers",
        ] {
            assert!(
                self.header(name).is_some_and(|v| !v.is_empty()),
                "{name} missing"
            );
        }
    }
}

pub fn assert_request_id(resp: &Resp) {
    let id = resp
        .header("twilio-request-id")
        .expect("Twilio-Request-Id header");
    assert_eq!(id.len(), 34, "{id}");
    assert!(id.starts_with("RQ"), "{id}");
    assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Percent-encodes a form value.
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `key=value&...`, encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Self { sender, addr }
    }

    /// Sends a request; `Err` when the connection failed (e.g. an injected reset).
    pub async fn try_send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Result<Resp, hyper::Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let request = request.body(Full::new(body.into())).expect("request");
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Resp {
        self.try_send(method, path, auth, content_type, body)
            .await
            .expect("request failed")
    }

    /// An authenticated `GET` without a body.
    pub async fn get(&mut self, path: &str, auth: &str) -> Resp {
        self.send(Method::GET, path, Some(auth), None, "").await
    }
}

/// A test emulator plus its current Basic credentials.
pub struct Env {
    pub emu: Emulator,
}

impl Env {
    pub async fn start() -> Self {
        Self {
            emu: Emulator::builder().start().await.expect("start"),
        }
    }

    pub fn auth(&self) -> String {
        self.emu.basic_auth_header()
    }

    /// A fresh connection per request (keeps tests independent of keep-alive state).
    pub async fn req(&self, method: Method, path: &str, body: &str) -> Resp {
        let auth = self.auth();
        let ct = (!body.is_empty()).then_some(FORM);
        Conn::open(self.emu.local_addr())
            .await
            .send(method, path, Some(&auth), ct, body.to_owned())
            .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, "").await
    }

    pub async fn post(&self, path: &str, body: &str) -> Resp {
        self.req(Method::POST, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.req(Method::DELETE, path, "").await
    }
}

/// Asserts an RFC 3339 UTC timestamp with whole seconds (`2015-07-31T04:00:00Z`).
pub fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp not a string: {v}"));
    assert_eq!(s.len(), 20, "{s}");
    assert!(s.ends_with('Z'), "{s}");
    assert!(twilio_types::timestamp::parse(s).is_ok(), "{s}");
}

/// Asserts `SID` shape: prefix + 32 hex.
pub fn assert_sid(v: &Value, prefix: &str) -> String {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("sid not a string: {v}"));
    assert_eq!(s.len(), 34, "{s}");
    assert!(s.starts_with(prefix), "{s}");
    assert!(s[2..].bytes().all(|b| b.is_ascii_hexdigit()), "{s}");
    s.to_owned()
}
