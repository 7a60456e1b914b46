//! [`BodyLimitLayer`]: collects any `http_body::Body` response into `Bytes`, stopping with a
//! typed error at the size limit, and converts the transport's errors to [`TransportError`].
//! It is also the adapter that lets any `tower::Service` over `http` types be a transport.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::{BoxError, TransportError};

/// The default maximum response body size: 4 MiB (a full page of 1,000 Twilio records is
/// far below this).
pub const DEFAULT_MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A layer that reads the whole response body into `Bytes`, up to `max_bytes` (a larger body,
/// announced or actual, ends the read with [`TransportError::is_body_too_large`]). Errors of the
/// inner service and of the body become [`TransportError`]s through
/// [`TransportError::from_transport_error`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    max_bytes: usize,
}

impl BodyLimitLayer {
    /// Allows at most `max_bytes` of response body.
    pub fn new(max_bytes: usize) -> Self {
        Self { max_bytes }
    }
}

impl Default for BodyLimitLayer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RESPONSE_BODY_BYTES)
    }
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        BodyLimitService {
            inner,
            max_bytes: self.max_bytes,
        }
    }
}

/// The service made by [`BodyLimitLayer`].
#[derive(Debug, Clone)]
pub struct BodyLimitService<S> {
    inner: S,
    max_bytes: usize,
}

impl<S, B> Service<Request<Bytes>> for BodyLimitService<S>
where
    S: Service<Request<Bytes>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = Response<Bytes>;
    type Error = TransportError;
    type Future = BodyLimitFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(TransportError::from_transport_error)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        BodyLimitFuture {
            state: State::Waiting {
                future: self.inner.call(req),
                max: self.max_bytes,
            },
        }
    }
}

pin_project! {
    /// The future of [`BodyLimitService`]: waits for the response head, then reads the body.
    pub struct BodyLimitFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Waiting { #[pin] future: F, max: usize },
        Reading { parts: Option<http::response::Parts>, #[pin] collect: Limited<B> },
    }
}

impl<F, B> std::fmt::Debug for BodyLimitFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyLimitFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for BodyLimitFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Bytes>, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Waiting { future, max } => {
                    let response = std::task::ready!(future.poll(cx))
                        .map_err(TransportError::from_transport_error)?;
                    let (parts, body) = response.into_parts();
                    let collect = Limited::new(body, *max);
                    state.set(State::Reading {
                        parts: Some(parts),
                        collect,
                    });
                }
                StateProj::Reading { parts, collect } => {
                    let body = std::task::ready!(collect.poll(cx))?;
                    let Some(parts) = parts.take() else {
                        // Polled again after completion: report it as an error, not a panic.
                        return Poll::Ready(Err(TransportError::other(
                            "response future polled after completion",
                        )));
                    };
                    return Poll::Ready(Ok(Response::from_parts(parts, body)));
                }
            }
        }
    }
}

pin_project! {
    /// Reads a body into one `Bytes`, failing as soon as it is known to exceed `max` bytes.
    struct Limited<B> {
        #[pin]
        body: B,
        max: usize,
        len: usize,
        first: Option<Bytes>,
        rest: Option<BytesMut>,
        checked_hint: bool,
    }
}

impl<B> Limited<B> {
    fn new(body: B, max: usize) -> Self {
        Self {
            body,
            max,
            len: 0,
            first: None,
            rest: None,
            checked_hint: false,
        }
    }
}

impl<B> Future for Limited<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Bytes, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.checked_hint {
            *this.checked_hint = true;
            let lower = this.body.size_hint().lower();
            if usize::try_from(lower).map_or(true, |lower| lower > *this.max) {
                return Poll::Ready(Err(TransportError::body_too_large()));
            }
        }
        loop {
            let Some(frame) = std::task::ready!(this.body.as_mut().poll_frame(cx)) else {
                let out = match (this.first.take(), this.rest.take()) {
                    (_, Some(buf)) => buf.freeze(),
                    (Some(f), None) => f,
                    (None, None) => Bytes::new(),
                };
                return Poll::Ready(Ok(out));
            };
            let frame = frame.map_err(TransportError::from_transport_error)?;
            let Ok(mut data) = frame.into_data() else {
                continue;
            };
            let n = data.remaining();
            *this.len = this.len.saturating_add(n);
            if *this.len > *this.max {
                return Poll::Ready(Err(TransportError::body_too_large()));
            }
            if n == 0 {
                continue;
            }
            match (this.first.as_ref(), this.rest.as_mut()) {
                (None, _) => *this.first = Some(data.copy_to_bytes(n)),
                (Some(f), None) => {
                    let upper = this
                        .body
                        .size_hint()
                        .upper()
                        .and_then(|u| usize::try_from(u).ok())
                        .unwrap_or(0);
                    let mut buf =
                        BytesMut::with_capacity(this.len.saturating_add(upper).min(*this.max));
                    buf.extend_from_slice(f);
                    put(&mut buf, data);
                    *this.rest = Some(buf);
                }
                (Some(_), Some(buf)) => put(buf, data),
            }
        }
    }
}

fn put(buf: &mut BytesMut, mut data: impl Buf) {
    while data.has_remaining() {
        let chunk = data.chunk();
        let n = chunk.len();
        buf.extend_from_slice(chunk);
        data.advance(n);
    }
}

/// Reads `body` into one `Bytes`, failing as soon as it is known to exceed `max` bytes.
///
/// # Errors
/// [`TransportError::is_body_too_large`] over the limit, the body's own error otherwise.
pub async fn collect_limited<B>(body: B, max: usize) -> Result<Bytes, TransportError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    Limited::new(body, max).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};
    use tower::ServiceExt as _;

    type Frames = futures_util::stream::Iter<
        std::vec::IntoIter<Result<http_body::Frame<Bytes>, std::io::Error>>,
    >;

    fn chunks(parts: Vec<Result<&'static [u8], std::io::Error>>) -> StreamBody<Frames> {
        let frames: Vec<_> = parts
            .into_iter()
            .map(|p| p.map(|b| http_body::Frame::data(Bytes::from_static(b))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test(start_paused = true)]
    async fn collects_chunks_under_the_limit() {
        let body = chunks(vec![Ok(b"ab"), Ok(b""), Ok(b"cd")]);
        assert_eq!(collect_limited(body, 4).await.unwrap(), "abcd");
        assert_eq!(
            collect_limited(Full::new(Bytes::from_static(b"xyz")), 3)
                .await
                .unwrap(),
            "xyz"
        );
        assert_eq!(
            collect_limited(http_body_util::Empty::<Bytes>::new(), 0)
                .await
                .unwrap(),
            ""
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stops_over_the_limit_and_on_announced_size() {
        let body = chunks(vec![
            Ok(b"abc"),
            Ok(b"def"),
            Err(std::io::Error::other("never read")),
        ]);
        assert!(
            collect_limited(body, 5)
                .await
                .unwrap_err()
                .is_body_too_large()
        );
        let announced = Full::new(Bytes::from_static(b"0123456789"));
        assert!(
            collect_limited(announced, 9)
                .await
                .unwrap_err()
                .is_body_too_large()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn body_errors_are_io_errors() {
        let body = chunks(vec![
            Ok(b"ab"),
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ]);
        assert!(collect_limited(body, 100).await.unwrap_err().is_io());
    }

    #[tokio::test(start_paused = true)]
    async fn layer_adapts_any_service() {
        let svc =
            BodyLimitLayer::new(16).layer(tower::service_fn(|req: Request<Bytes>| async move {
                if req.uri().path() == "/refused" {
                    return Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
                }
                Ok(Response::builder()
                    .status(503)
                    .body(Full::new(req.into_body()))
                    .unwrap())
            }));
        let ok = svc
            .clone()
            .oneshot(Request::new(Bytes::from_static(b"echo")))
            .await
            .unwrap();
        assert_eq!(
            (ok.status().as_u16(), ok.body().as_ref()),
            (503, &b"echo"[..])
        );
        let err = svc
            .oneshot(Request::get("/refused").body(Bytes::new()).unwrap())
            .await
            .unwrap_err();
        assert!(err.is_connect());
    }
}
