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
        let span = tracing::info_span!(
            "twilio.http",
            method = %req.method(),
            host = req.uri().host().unwrap_or(""),
            path = req.uri().path(),
            status = Empty,
            attempts = Empty,
            request_id = Empty,
            error = Empty,
        );
        let inner = {
            let _enter = span.enter();
            self.inner.call(req)
        };
        TraceFuture { inner, span }
    }
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
            if let Some(id) = response
                .headers()
                .get(TWILIO_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
            {
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
