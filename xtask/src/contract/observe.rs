//! The transport under the SDK during the contract check: a plain hyper-util HTTP/1.1 client
//! (handed to the SDK through its bring-your-own-transport hook) that can add the
//! `Prefer: dynamic=true` header and records every exchange, so a failure can show Prism's
//! own explanation (its `application/problem+json` body or `sl-violations` header).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Longest body snippet kept for messages.
const SNIPPET: usize = 4_000;

/// What went over the wire for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exchange {
    pub(crate) method: String,
    pub(crate) path_and_query: String,
    pub(crate) request_body: String,
    pub(crate) status: u16,
    /// Prism's `sl-violations` response header, when present.
    pub(crate) violations: Option<String>,
    /// The start of the response body (Prism's problem+json on a 4xx or 5xx).
    pub(crate) response_body: String,
}

impl Exchange {
    /// Why this exchange breaks the contract, if it does.
    pub(crate) fn problem(&self) -> Option<String> {
        let mut problem = String::new();
        if self.status >= 400 {
            problem.push_str(&format!("HTTP {}", self.status));
        }
        if let Some(v) = &self.violations {
            if !problem.is_empty() {
                problem.push_str(", ");
            }
            problem.push_str(&format!("sl-violations: {v}"));
        }
        if problem.is_empty() {
            return None;
        }
        if !self.response_body.is_empty() {
            problem.push_str(&format!("\n      response: {}", self.response_body));
        }
        problem.push_str(&format!(
            "\n      request:  {} {}",
            self.method, self.path_and_query
        ));
        if !self.request_body.is_empty() {
            problem.push_str(&format!("\n      body:     {}", self.request_body));
        }
        Some(problem)
    }
}

/// A cloneable tower service `Request<Bytes>` → `Response<Full<Bytes>>` over hyper-util.
#[derive(Clone, Debug)]
pub(crate) struct Observed {
    client: Client<HttpConnector, Full<Bytes>>,
    prefer_dynamic: bool,
    log: Arc<Mutex<Vec<Exchange>>>,
}

/// The error of [`Observed`]: the hyper-util error, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Observed {
    pub(crate) fn new(prefer_dynamic: bool) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            prefer_dynamic,
            log: Arc::default(),
        }
    }

    /// Takes the exchanges recorded since the last call.
    pub(crate) fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl tower::Service<Request<Bytes>> for Observed {
    type Response = Response<Full<Bytes>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        if self.prefer_dynamic {
            parts
                .headers
                .insert("prefer", HeaderValue::from_static("dynamic=true"));
        }
        let method = parts.method.to_string();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), ToString::to_string);
        let request_body = snippet(&body);
        let request = Request::from_parts(parts, Full::new(body));
        let client = self.client.clone();
        let log = Arc::clone(&self.log);
        Box::pin(async move {
            let response = client.request(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            let status = parts.status.as_u16();
            let exchange = Exchange {
                method,
                path_and_query,
                request_body,
                status,
                violations: parts
                    .headers
                    .get("sl-violations")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                response_body: snippet(&bytes),
            };
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(exchange);
            Ok(Response::from_parts(parts, Full::new(bytes)))
        })
    }
}

/// The first [`SNIPPET`] bytes of `bytes` as (lossy) text.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(SNIPPET)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > SNIPPET {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16) -> Exchange {
        Exchange {
            method: "POST".into(),
            path_and_query: "/v1/Consents/Bulk".into(),
            request_body: "Items=%7B%7D".into(),
            status,
            violations: None,
            response_body: String::new(),
        }
    }

    #[test]
    fn success_without_violations_is_no_problem() {
        assert_eq!(exchange(201).problem(), None);
        assert_eq!(exchange(204).problem(), None);
    }

    #[test]
    fn problems_show_status_prism_body_and_request() {
        let mut e = exchange(422);
        e.response_body = r#"{"title":"Invalid request"}"#.into();
        let p = e.problem().unwrap();
        assert!(p.starts_with("HTTP 422"), "{p}");
        assert!(p.contains(r#"{"title":"Invalid request"}"#), "{p}");
        assert!(p.contains("POST /v1/Consents/Bulk"), "{p}");
        assert!(p.contains("Items=%7B%7D"), "{p}");

        let mut e = exchange(200);
        e.violations = Some("[{\"message\":\"bad\"}]".into());
        assert!(e.problem().unwrap().starts_with("sl-violations: "));
    }

    /// Serves one HTTP/1.1 exchange on loopback with `response`, returning what it received.
    async fn one_shot_server(response: String) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buf = [0_u8; 4096];
            // Read the head and the (small, length-delimited) body.
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                received.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&received);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if received.len() >= end + 4 + length {
                        break;
                    }
                }
                assert!(n > 0, "client closed early");
            }
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
            String::from_utf8(received).unwrap()
        });
        (base, server)
    }

    #[tokio::test]
    async fn records_prism_errors_and_adds_the_prefer_header() {
        use tower::ServiceExt as _;
        let problem = r#"{"title":"Invalid request","status":422}"#;
        let response = format!(
            "HTTP/1.1 422 Unprocessable Entity\r\ncontent-type: application/problem+json\r\n\
                 sl-violations: [{{\"message\":\"bad\"}}]\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{problem}",
            problem.len()
        );
        let (base, server) = one_shot_server(response).await;
        let wire = Observed::new(true);
        let request = Request::post(format!("{base}/v1/Consents/Bulk"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from_static(b"Items=%7B%7D"))
            .unwrap();
        let response = wire.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 422);

        let received = server.await.unwrap().to_ascii_lowercase();
        assert!(received.contains("prefer: dynamic=true"), "{received}");
        assert!(received.ends_with("items=%7b%7d"), "{received}");

        let exchanges = wire.take();
        assert_eq!(exchanges.len(), 1);
        let e = &exchanges[0];
        assert_eq!(
            (e.method.as_str(), e.path_and_query.as_str()),
            ("POST", "/v1/Consents/Bulk")
        );
        assert_eq!(e.status, 422);
        assert_eq!(e.violations.as_deref(), Some(r#"[{"message":"bad"}]"#));
        assert_eq!(e.response_body, problem);
        assert!(wire.take().is_empty(), "take() drains the log");
    }

    #[tokio::test]
    async fn success_is_recorded_without_a_body_and_without_prefer_when_static() {
        use tower::ServiceExt as _;
        let (base, server) =
            one_shot_server("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_owned())
                .await;
        let wire = Observed::new(false);
        let request = Request::delete(format!("{base}/v1/SafeList/Numbers?PhoneNumber=%2B1"))
            .body(Bytes::new())
            .unwrap();
        let response = wire.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 204);
        let received = server.await.unwrap().to_ascii_lowercase();
        assert!(!received.contains("prefer:"), "{received}");
        let exchanges = wire.take();
        assert_eq!(exchanges.len(), 1);
        assert_eq!(
            exchanges[0].path_and_query,
            "/v1/SafeList/Numbers?PhoneNumber=%2B1"
        );
        assert_eq!(exchanges[0].problem(), None);
    }

    #[test]
    fn snippets_are_bounded() {
        assert_eq!(snippet(b"abc"), "abc");
        let long = vec![b'x'; SNIPPET + 10];
        assert_eq!(snippet(&long).chars().count(), SNIPPET + 1);
    }
}
