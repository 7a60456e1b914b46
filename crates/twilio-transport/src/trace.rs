//! [`TraceLayer`]: one `tracing` span per call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;

use crate::error::TransportError;
use crate::retry::Attempts;

/// The response header carrying Twilio's id for a request.
pub const TWILIO_REQUEST_ID: &str = "twilio-request-id";

/// Twilio's id for a request, from the `Twilio-Request-Id` response header (`None` when absent
/// or not text). The one reader of that header: the trace span and the endpoint crates' errors
/// both take it from here.
pub fn request_id(headers: &http::HeaderMap) -> Option<&str> {
    headers.get(TWILIO_REQUEST_ID)?.to_str().ok()
}

/// A layer that runs each call inside an `INFO` span named `twilio.http` with the fields
/// `method`, `host`, `path` (no query), and once finished `status`, `attempts`, `request_id`
/// (the `Twilio-Request-Id` response header) or `error`. It never records headers or bodies, so
/// no credential can reach the logs through it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer {
    _priv: (),
}

impl TraceLayer {
    /// A new trace layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TraceService { inner }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
}

impl<S> Service<Request<Bytes>> for TraceService<S>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = TransportError>,
{
    type Response = Response<Bytes>;
    type Error = TransportError;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let span = span_for(&req);
        let inner = {
            let _enter = span.enter();
            self.inner.call(req)
        };
        TraceFuture { inner, span }
    }
}

/// The `twilio.http` span of one call (method, host and path; the outcome is recorded by
/// [`TraceFuture`]).
fn span_for(req: &Request<Bytes>) -> Span {
    tracing::info_span!(
        "twilio.http",
        method = %req.method(),
        host = req.uri().host().unwrap_or(""),
        path = req.uri().path(),
        status = Empty,
        attempts = Empty,
        request_id = Empty,
        error = Empty,
    )
}

pin_project! {
    /// The future of [`TraceService`]: polls the call inside its span and records the outcome.
    #[derive(Debug)]
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        span: Span,
    }
}

impl<F> Future for TraceFuture<F>
where
    F: Future<Output = Result<Response<Bytes>, TransportError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _enter = this.span.enter();
        let result = std::task::ready!(this.inner.poll(cx));
        if !this.span.is_disabled() {
            record(this.span, &result);
        }
        Poll::Ready(result)
    }
}

fn record(span: &Span, result: &Result<Response<Bytes>, TransportError>) {
    match result {
        Ok(response) => {
            span.record("status", response.status().as_u16());
            let attempts = response.extensions().get::<Attempts>().map_or(1, |a| a.0);
            span.record("attempts", attempts);
            if let Some(id) = request_id(response.headers()) {
                span.record("request_id", id);
            }
            tracing::debug!(status = response.status().as_u16(), "response received");
        }
        Err(error) => {
            span.record("attempts", error.attempts());
            span.record("error", tracing::field::display(error));
            tracing::debug!(error = %error, "request failed");
        }
    }
}

/// The log capture the integration tests use too.
#[cfg(test)]
#[path = "../tests/support/logs.rs"]
mod test_logs;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tower::ServiceExt as _;

    pub(crate) use super::test_logs::{Buffer, capture};

    #[test]
    fn span_records_call_fields_but_no_headers_or_body() {
        let out = capture(|| async {
            let svc = TraceLayer::new().layer(tower::service_fn(|_req: Request<Bytes>| async {
                let mut r = Response::builder()
                    .status(404)
                    .header(TWILIO_REQUEST_ID, "RQabc")
                    .body(Bytes::new())
                    .unwrap();
                r.extensions_mut().insert(Attempts(2));
                Ok::<_, TransportError>(r)
            }));
            let req = Request::get("https://accounts.twilio.com/v1/Credentials?PageSize=5")
                .header("authorization", "Basic c2VjcmV0")
                .body(Bytes::from_static(b"Secret=hidden"))
                .unwrap();
            svc.oneshot(req).await.unwrap();
        });
        for want in [
            "twilio.http",
            "method=GET",
            "host=\"accounts.twilio.com\"",
            "path=\"/v1/Credentials\"",
            "status=404",
            "attempts=2",
            "request_id=\"RQabc\"",
        ] {
            assert!(out.contains(want), "missing {want}: {out}");
        }
        for never in ["c2VjcmV0", "Secret=hidden", "PageSize"] {
            assert!(!out.contains(never), "{never} leaked: {out}");
        }
    }

    #[test]
    fn span_records_errors_by_display_only() {
        let out = capture(|| async {
            let svc = TraceLayer::new().layer(tower::service_fn(|_req: Request<Bytes>| async {
                Err::<Response<Bytes>, _>(TransportError::io(std::io::Error::other(
                    "low-level detail",
                )))
            }));
            let _ = svc
                .oneshot(
                    Request::get("https://accounts.twilio.com/v1/x")
                        .body(Bytes::new())
                        .unwrap(),
                )
                .await;
        });
        assert!(
            out.contains("error=connection failed after the request may have been sent"),
            "{out}"
        );
        assert!(out.contains("attempts=1"), "{out}");
    }
}
