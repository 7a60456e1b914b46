//! [`BodyLimitLayer`]: collects any `http_body::Body` response into `Bytes`, stopping with a
//! typed error at the size limit, and converts the transport's errors to [`TransportError`].
//! It is also the adapter that lets any `tower::Service` over `http` types be a transport.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt as _;
use tower::{Layer, Service};

use crate::error::{BoxError, TransportError};

/// The default maximum response body size: 4 MiB (a full page of 1,000 Twilio records is
/// far below this).
pub const DEFAULT_MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A boxed, `Send` future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

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
        BodyLimitService { inner, max_bytes: self.max_bytes }
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
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Bytes>;
    type Error = TransportError;
    type Future = BoxFuture<Result<Response<Bytes>, TransportError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(TransportError::from_transport_error)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let fut = self.inner.call(req);
        let max = self.max_bytes;
        Box::pin(async move {
            let response = fut.await.map_err(TransportError::from_transport_error)?;
            let (parts, body) = response.into_parts();
            let body = collect_limited(body, max).await?;
            Ok(Response::from_parts(parts, body))
        })
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
    let hint = body.size_hint();
    if usize::try_from(hint.lower()).map_or(true, |lower| lower > max) {
        return Err(TransportError::body_too_large());
    }
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(TransportError::from_transport_error)?;
        let Ok(mut data) = frame.into_data() else { continue };
        let n = data.remaining();
        len = len.saturating_add(n);
        if len > max {
            return Err(TransportError::body_too_large());
        }
        if n == 0 {
            continue;
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data.copy_to_bytes(n)),
            (Some(f), None) => {
                let mut buf = BytesMut::with_capacity(len.max(hint.upper().and_then(|u| usize::try_from(u).ok()).unwrap_or(0)).min(max));
                buf.extend_from_slice(f);
                buf.extend_from_slice(&data.copy_to_bytes(n));
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&data.copy_to_bytes(n)),
        }
    }
    Ok(match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};
    use tower::ServiceExt as _;

    fn chunks(parts: Vec<Result<&'static [u8], std::io::Error>>) -> StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<http_body::Frame<Bytes>, std::io::Error>>>> {
        let frames: Vec<_> = parts.into_iter().map(|p| p.map(|b| http_body::Frame::data(Bytes::from_static(b)))).collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test(start_paused = true)]
    async fn collects_chunks_under_the_limit() {
        let body = chunks(vec![Ok(b"ab"), Ok(b""), Ok(b"cd")]);
        assert_eq!(collect_limited(body, 4).await.unwrap(), "abcd");
        assert_eq!(collect_limited(Full::new(Bytes::from_static(b"xyz")), 3).await.unwrap(), "xyz");
        assert_eq!(collect_limited(http_body_util::Empty::<Bytes>::new(), 0).await.unwrap(), "");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_over_the_limit_and_on_announced_size() {
        let body = chunks(vec![Ok(b"abc"), Ok(b"def"), Err(std::io::Error::other("never read"))]);
        assert!(collect_limited(body, 5).await.unwrap_err().is_body_too_large());
        let announced = Full::new(Bytes::from_static(b"0123456789"));
        assert!(collect_limited(announced, 9).await.unwrap_err().is_body_too_large());
    }

    #[tokio::test(start_paused = true)]
    async fn body_errors_are_io_errors() {
        let body = chunks(vec![Ok(b"ab"), Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))]);
        assert!(collect_limited(body, 100).await.unwrap_err().is_io());
    }

    #[tokio::test(start_paused = true)]
    async fn layer_adapts_any_service() {
        let svc = BodyLimitLayer::new(16).layer(tower::service_fn(|req: Request<Bytes>| async move {
            if req.uri().path() == "/refused" {
                return Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
            }
            Ok(Response::builder().status(503).body(Full::new(req.into_body())).unwrap())
        }));
        let ok = svc.clone().oneshot(Request::new(Bytes::from_static(b"echo"))).await.unwrap();
        assert_eq!((ok.status().as_u16(), ok.body().as_ref()), (503, &b"echo"[..]));
        let err = svc.oneshot(Request::get("/refused").body(Bytes::new()).unwrap()).await.unwrap_err();
        assert!(err.is_connect());
    }
}
