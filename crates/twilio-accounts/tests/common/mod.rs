//! Shared helpers for the integration tests: the spec, and clients over canned transports.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use twilio_accounts::{Client, Credentials, RetryConfig};
use twilio_types::{AccountSid, AuthToken};

/// The token every canned client authenticates with; tests check it never leaks.
pub const TOKEN: &str = "tok-LEAKCHECK-7f3a9c";
pub const ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const BASE: &str = "http://127.0.0.1:4010";

/// The vendored OpenAPI document (the crate's own copy of `spec/`, so the tests also run
/// in the published package; `cargo xtask ci` checks the two are identical).
pub fn spec() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/spec/twilio_accounts_v1.json"
    );
    let text = std::fs::read_to_string(path).expect("the vendored spec");
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// Our own OpenAPI fragment for the operation beyond Twilio's spec (the Compliance Signals
/// check, derived from twilio-node 6.3.1): the crate's copy of `spec/extensions/`, checked
/// identical by `cargo xtask ci` like the spec's.
#[allow(dead_code)] // not every test binary uses it
pub fn extension_spec() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/spec/extensions/compliance_signals.json"
    );
    let text = std::fs::read_to_string(path).expect("the extension fragment");
    serde_json::from_str(&text).expect("the extension fragment is JSON")
}

pub fn credentials() -> Credentials {
    Credentials::from_auth_token(
        AccountSid::from_static("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        AuthToken::new(TOKEN).unwrap(),
    )
    .unwrap()
}

/// A canned response.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Bytes,
}

impl Canned {
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "application/json"),
                ("twilio-request-id", "RQ00000000000000000000000000000001"),
            ],
            body: body.into(),
        }
    }

    pub fn with_content_type(
        status: u16,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type)],
            body: body.into(),
        }
    }

    fn response(&self) -> Response<Full<Bytes>> {
        let mut b = Response::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(*k, *v);
        }
        b.body(Full::new(self.body.clone())).unwrap()
    }
}

/// Everything the canned transport saw.
#[derive(Clone, Default)]
pub struct Recorder {
    requests: Arc<Mutex<Vec<Request<Bytes>>>>,
}

impl Recorder {
    pub fn requests(&self) -> Vec<Request<Bytes>> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// A client (base URL `BASE`, no retries) whose transport answers with `responses` in order,
/// repeating the last one, and records every request.
pub fn canned_client(responses: Vec<Canned>) -> (Client, Recorder) {
    let recorder = Recorder::default();
    let queue = Arc::new(Mutex::new(VecDeque::from(responses)));
    let seen = recorder.clone();
    let service = tower::service_fn(move |req: Request<Bytes>| {
        let queue = queue.clone();
        let seen = seen.clone();
        async move {
            seen.requests.lock().unwrap().push(req);
            let mut q = queue.lock().unwrap();
            let canned = if q.len() > 1 {
                q.pop_front().unwrap()
            } else {
                q.front().cloned().unwrap()
            };
            Ok::<_, std::convert::Infallible>(canned.response())
        }
    });
    let client = Client::builder()
        .credentials(credentials())
        .base_url(BASE)
        .retry(RetryConfig::disabled())
        .transport(service)
        .build()
        .unwrap();
    (client, recorder)
}

/// The decoded `application/x-www-form-urlencoded` pairs of `s`.
pub fn decode_form(s: &str) -> Vec<(String, String)> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Everything `tracing` writes, at every level, while [`install`](Self::install)ed on this
/// thread: one shared buffer that tests search for secrets.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Makes this capture the thread's subscriber until the guard is dropped.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(self.clone())
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .finish(),
        )
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
