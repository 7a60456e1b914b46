//! The HTTP/1.1 server: accept loop, per-connection tasks, the request pipeline, shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::api::{self, Context};
use crate::compliance::{self, ComplianceSignals};
use crate::error::ApiError;
use crate::faults::{Decision, Faults};
use crate::form::Params;
use crate::random::{constant_time_eq, request_id};
use crate::refused::RefusalRewriter;
use crate::state::{self, Account, Principal, Registry};
use crate::test_endpoints;

/// State shared by every connection of one emulator.
pub(crate) struct Shared {
    pub(crate) registry: Registry,
    pub(crate) faults: Faults,
    pub(crate) compliance: ComplianceSignals,
    pub(crate) base_url: String,
    pub(crate) max_body_bytes: usize,
    pub(crate) request_count: AtomicU64,
    /// The main account, when the opt-in test endpoints are served (`crate::test_endpoints`).
    pub(crate) test_endpoints: Option<Arc<Mutex<Account>>>,
}

type Body = Full<Bytes>;

/// What the pipeline produced: a response, or "drop the connection".
enum Outcome {
    Respond(Response<Body>),
    Reset,
}

/// Runs the accept loop until `shutdown` flips to true, then drains connections for up to
/// `grace` before it closes the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = Arc::clone(&shared);
                    let shutdown = shutdown.clone();
                    connections.spawn(connection(stream, peer, shared, shutdown));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let reset = Arc::new(Notify::new());
    let service = {
        let reset = Arc::clone(&reset);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let shared = Arc::clone(&shared);
            let reset = Arc::clone(&reset);
            async move {
                match handle(request, &shared).await {
                    Outcome::Respond(response) => Ok::<_, Infallible>(response),
                    Outcome::Reset => {
                        reset.notify_one();
                        // The connection task drops the connection; this never resolves.
                        std::future::pending().await
                    }
                }
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // No header-read timeout: tests often pause Tokio's clock, and a paused clock jumps
    // ahead whenever the runtime idles, which would close idle keep-alive connections
    // under a client that is about to reuse them. A stalled client only holds its own
    // task, and shutdown closes every connection after its grace period.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let io = TokioIo::new(RefusalRewriter::new(stream));
    let mut conn = builder.serve_connection(io, service);
    let mut shutting_down = *shutdown.borrow();
    if shutting_down {
        std::pin::Pin::new(&mut conn).graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = &mut conn => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = reset.notified() => {
                tracing::debug!(%peer, "injected connection reset");
                let io = conn.into_parts().io.into_inner().into_inner();
                // RST instead of FIN, so the client sees a reset, not a clean close.
                let _ = io.set_zero_linger();
                drop(io);
                return;
            }
            changed = shutdown.changed(), if !shutting_down => {
                if changed.is_err() || *shutdown.borrow() {
                    shutting_down = true;
                    std::pin::Pin::new(&mut conn).graceful_shutdown();
                }
            }
        }
    }
}

/// The request pipeline. Never panics on input; every failure is a Twilio error body.
async fn handle(request: Request<Incoming>, shared: &Shared) -> Outcome {
    if let Some(main) = &shared.test_endpoints {
        let uri = request.uri();
        let seam = test_endpoints::handle(
            request.method(),
            uri.path(),
            uri.query(),
            main,
            &shared.faults,
        );
        if let Some(reply) = seam {
            return Outcome::Respond(match reply {
                Ok(reply) => base_response(reply.status, reply.body),
                Err(error) => error_response(&error),
            });
        }
    }
    shared.request_count.fetch_add(1, Ordering::Relaxed);
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str();
    let path = parts.uri.path();

    match shared.faults.check(method, path, false) {
        Decision::Proceed => {}
        Decision::Reset => return Outcome::Reset,
        Decision::Status(status) => return Outcome::Respond(fault_response(status)),
        Decision::RateLimited { retry_after_secs } => {
            return Outcome::Respond(error_response(&ApiError::too_many_requests(
                retry_after_secs,
            )));
        }
    }

    // Refuse an announced oversized body before reading it.
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > shared.max_body_bytes as u64) {
        return Outcome::Respond(close(error_response(&ApiError::too_large(
            shared.max_body_bytes,
        ))));
    }
    let body = if hyper::body::Body::is_end_stream(&body) {
        Bytes::new()
    } else {
        match Limited::new(body, shared.max_body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                if error
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return Outcome::Respond(close(error_response(&ApiError::too_large(
                        shared.max_body_bytes,
                    ))));
                }
                // The client broke the body off (or sent a malformed chunk): nobody to answer.
                return Outcome::Reset;
            }
        }
    };

    let response = if parts.method == hyper::Method::OPTIONS {
        preflight(path)
    } else {
        match process(&parts, &body, path, shared) {
            Ok(reply) => success_response(reply),
            Err(error) => error_response(&error),
        }
    };

    match shared.faults.check(method, path, true) {
        Decision::Proceed | Decision::RateLimited { .. } => Outcome::Respond(response),
        Decision::Reset => Outcome::Reset,
        Decision::Status(status) => Outcome::Respond(fault_response(status)),
    }
}

/// Authenticates, routes and runs one request against the emulator's state.
fn process(
    parts: &hyper::http::request::Parts,
    body: &Bytes,
    path: &str,
    shared: &Shared,
) -> Result<api::Reply, ApiError> {
    let mut buffer = [0u8; MAX_CREDENTIALS];
    let (username, password) =
        basic_credentials(parts, &mut buffer).ok_or_else(ApiError::unauthenticated)?;
    let principal = shared
        .registry
        .principal(username)
        .ok_or_else(ApiError::unauthenticated)?;

    let resource = api::resolve(path);
    let query = Params::parse_or_400(parts.uri.query().unwrap_or("").as_bytes(), "query string");

    let account = match &principal {
        Principal::Account(a) | Principal::ApiKey(a, _) => Arc::clone(a),
    };
    let now = api::now_utc();
    let instant = tokio::time::Instant::now();
    let mut guard = state::lock(&account);
    let authenticated = match &principal {
        Principal::Account(_) => guard.token_matches(password, instant),
        Principal::ApiKey(_, secret) => {
            constant_time_eq(secret.expose_secret().as_bytes(), password)
        }
    };
    if !authenticated {
        return Err(ApiError::unauthenticated());
    }
    if path == compliance::PATH {
        // The one JSON-bodied operation: stateless, outside the form pipeline.
        drop(guard);
        return compliance::handle(&parts.method, &parts.headers, body, &shared.compliance);
    }
    let resource = resource.ok_or_else(|| ApiError::not_found(path))?;
    let operation = api::operation(resource, &parts.method)?;
    let query = query?;
    let form = if operation.takes_body() && !body.is_empty() {
        if !is_form_content_type(parts.headers.get(header::CONTENT_TYPE)) {
            return Err(ApiError::unsupported_media_type());
        }
        Params::parse_or_400(body, "form body")?
    } else {
        Params::default()
    };
    let ctx = Context {
        base_url: &shared.base_url,
        path,
        now,
        instant,
        faults: &shared.faults,
    };
    let reply = api::execute(operation, &mut guard, &ctx, &query, &form);
    drop(guard);
    reply
}

/// The longest decoded `user:password` accepted (longer ones cannot be ours: 401).
const MAX_CREDENTIALS: usize = 768;

/// Extracts `(username, password)` from `Authorization: Basic …`, decoding into `buffer`
/// (no allocation on the hot path).
fn basic_credentials<'b>(
    parts: &hyper::http::request::Parts,
    buffer: &'b mut [u8; MAX_CREDENTIALS],
) -> Option<(&'b str, &'b [u8])> {
    let value = parts.headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let rest = rest.trim_ascii();
    if rest.len() > MAX_CREDENTIALS / 3 * 4 {
        return None;
    }
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(rest, &mut buffer[..])
        .ok()?;
    let decoded = &buffer[..len];
    let colon = decoded.iter().position(|&b| b == b':')?;
    let username = std::str::from_utf8(&decoded[..colon]).ok()?;
    Some((username, &decoded[colon + 1..]))
}

fn is_form_content_type(value: Option<&HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media_type = value.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn base_response(status: StatusCode, body: Option<Vec<u8>>) -> Response<Body> {
    let has_body = body.is_some();
    let mut response = Response::new(Full::new(Bytes::from(body.unwrap_or_default())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("twilio-request-id", id);
    }
    response
}

/// The CORS headers the spec declares on every 200 and 201 response (values as its examples,
/// with the methods the API uses; 204s and errors declare none). Standard header names and
/// static values: adding them allocates nothing.
const CORS_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (
        header::ACCESS_CONTROL_ALLOW_METHODS,
        "GET, POST, PATCH, DELETE",
    ),
    (
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "Content-Type, Authorization",
    ),
    (header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"),
    (header::ACCESS_CONTROL_EXPOSE_HEADERS, "Twilio-Request-Id"),
];

fn success_response(reply: api::Reply) -> Response<Body> {
    let with_body = reply.body.is_some();
    let mut response = base_response(reply.status, reply.body);
    if with_body {
        let headers = response.headers_mut();
        headers.reserve(CORS_HEADERS.len());
        for (name, value) in CORS_HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Answers a CORS preflight (`OPTIONS`) for a path the API serves: 204 with the CORS
/// headers the 2xx responses carry, and `Allow` with the path's methods. Browsers send
/// preflights without credentials, so none are asked for; an unknown path is a 404.
fn preflight(path: &str) -> Response<Body> {
    let Some(resource) = api::resolve(path) else {
        return error_response(&ApiError::not_found(path));
    };
    let mut response = base_response(StatusCode::NO_CONTENT, None);
    let headers = response.headers_mut();
    for (name, value) in CORS_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // The router's 405 answer for a method no path serves carries the path's `Allow` list:
    // one source of truth for which methods each path takes.
    if let Err(refusal) = api::operation(resource, &hyper::Method::OPTIONS) {
        for (name, value) in refusal.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    response
}

fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = base_response(error.status, Some(error.body()));
    for (name, value) in &error.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

fn fault_response(status: u16) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_response(&ApiError::injected(status))
}

/// Asks hyper to close the connection after this response (the request body was not read).
fn close(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_with_auth(value: &[u8]) -> hyper::http::request::Parts {
        let request = Request::builder()
            .header(
                header::AUTHORIZATION,
                HeaderValue::from_bytes(value).unwrap(),
            )
            .body(())
            .unwrap();
        request.into_parts().0
    }

    #[test]
    fn parses_basic_credentials() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("ACabc:tok:en");
        let parts = parts_with_auth(format!("Basic {encoded}").as_bytes());
        let mut buffer = [0; MAX_CREDENTIALS];
        let (user, password) = basic_credentials(&parts, &mut buffer).unwrap();
        assert_eq!(user, "ACabc");
        assert_eq!(password, b"tok:en");
        let parts = parts_with_auth(format!("bAsIc   {encoded}  ").as_bytes());
        assert!(basic_credentials(&parts, &mut buffer).is_some());
        let longest = base64::engine::general_purpose::STANDARD.encode([b':'; MAX_CREDENTIALS]);
        let parts = parts_with_auth(format!("Basic {longest}").as_bytes());
        assert!(basic_credentials(&parts, &mut buffer).is_some());
        let too_long =
            base64::engine::general_purpose::STANDARD.encode([b':'; MAX_CREDENTIALS + 1]);
        let parts = parts_with_auth(format!("Basic {too_long}").as_bytes());
        assert!(basic_credentials(&parts, &mut buffer).is_none());
    }

    #[test]
    fn rejects_malformed_basic_credentials() {
        for bad in [
            &b"Bearer abc"[..],
            b"Basic",
            b"Basic !!!",
            b"Basic YWJj",
            b"Basic \xff\xfe",
        ] {
            let parts = parts_with_auth(bad);
            assert!(
                basic_credentials(&parts, &mut [0; MAX_CREDENTIALS]).is_none(),
                "{bad:?}"
            );
        }
        let no_header = Request::builder().body(()).unwrap().into_parts().0;
        assert!(basic_credentials(&no_header, &mut [0; MAX_CREDENTIALS]).is_none());
    }

    proptest::proptest! {
        #[test]
        fn basic_credentials_round_trip(
            user in "[A-Za-z0-9]{0,40}",
            password in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let mut raw = user.clone().into_bytes();
            raw.push(b':');
            raw.extend_from_slice(&password);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
            let parts = parts_with_auth(format!("Basic {encoded}").as_bytes());
            let mut buffer = [0; MAX_CREDENTIALS];
            let parsed = basic_credentials(&parts, &mut buffer);
            proptest::prop_assert_eq!(parsed, Some((user.as_str(), password.as_slice())));
        }

        #[test]
        fn arbitrary_authorization_values_never_panic(
            value in proptest::collection::vec(0x20u8..0x7f, 0..1500),
        ) {
            let parts = parts_with_auth(&value);
            let _ = basic_credentials(&parts, &mut [0; MAX_CREDENTIALS]);
        }
    }

    #[test]
    fn form_content_types() {
        let ok = HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8");
        assert!(is_form_content_type(Some(&ok)));
        let upper = HeaderValue::from_static("Application/X-WWW-Form-Urlencoded");
        assert!(is_form_content_type(Some(&upper)));
        let json = HeaderValue::from_static("application/json");
        assert!(!is_form_content_type(Some(&json)));
        assert!(!is_form_content_type(None));
    }
}
