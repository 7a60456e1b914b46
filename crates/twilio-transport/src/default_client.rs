//! The default transport: hyper 1 through hyper-util's pooled client, TLS by rustls with the
//! `ring` provider passed explicitly (nothing process-global is installed), HTTP/1.1 and HTTP/2
//! chosen by ALPN. Only this module names hyper or rustls; none of their types is public.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use pin_project_lite::pin_project;
use tower::Service;

use crate::error::{BoxError, ConfigError, ConfigErrorKind, TransportError};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;
type Stream = <Https as Service<Uri>>::Response;

/// The connector with one timeout over TCP connect *and* TLS handshake, failing with an I/O
/// `TimedOut` error that hyper-util reports as a connect error: a handshake that stalls means the
/// request never left, so the retry policy may retry any method.
///
/// hyper-util clones its connector for every request, pooled connection or not, and a rustls
/// connector is several reference counts: behind one `Arc` it is one, and the connector itself
/// is cloned only for an actual connection.
#[derive(Clone)]
struct Connector {
    inner: Arc<Https>,
    timeout: Duration,
}

impl Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    /// Always ready, like the connectors inside (hyper-util's `HttpConnector` is ready at once,
    /// and hyper-rustls's asks only it).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connect = Https::clone(&self.inner).call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connect).await {
                Ok(result) => result,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect and TLS handshake timed out",
                )
                .into()),
            }
        })
    }
}

/// The default transport: a pooled hyper client with rustls. Cheap to clone; clones share the
/// connection pool. Usable on its own as the innermost service of a custom stack (wrap it in
/// [`BodyLimitLayer`](crate::BodyLimitLayer) to get `Response<Bytes>`).
///
/// It needs a Tokio runtime (with the I/O and time drivers) when it sends.
#[derive(Clone)]
pub struct DefaultTransport {
    // In an `Arc`: the stack clones its transport for every call, and a hyper-util client
    // clone is several reference counts.
    client: Arc<Client<Connector, Full<Bytes>>>,
}

impl DefaultTransport {
    /// Default connect timeout (TCP connect and TLS handshake together).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default time an idle pooled connection is kept.
    pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// The longest accepted pool idle timeout (a day); the pool's clock cannot hold much more.
    pub const MAX_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(86_400);

    /// A transport with the given connect timeout (TCP connect and TLS handshake together; a
    /// connection that is not ready in time is a [connect](TransportError::is_connect) error)
    /// and pool idle timeout.
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidLimit` when the pool idle timeout is above
    /// [`MAX_POOL_IDLE_TIMEOUT`](Self::MAX_POOL_IDLE_TIMEOUT), of kind `Tls` when the TLS
    /// configuration cannot be built (for example no root certificate could be loaded).
    pub fn new(
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        // hyper-util adds it to the current instant in a background task, which would panic.
        if pool_idle_timeout > Self::MAX_POOL_IDLE_TIMEOUT {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidLimit,
                "the pool idle timeout must be at most a day",
            ));
        }
        let tls_error = |e| {
            ConfigError::new(ConfigErrorKind::Tls, "cannot build the TLS configuration")
                .with_source(e)
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        #[cfg(feature = "native-roots")]
        {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // A certificate the parser rejects is skipped, like the platform would.
                let _ = roots.add(cert);
            }
        }
        if roots.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::Tls,
                "no root certificate available",
            ));
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_no_client_auth();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));

        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let connector = Connector {
            inner: Arc::new(https),
            timeout: connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            client: Arc::new(client),
        })
    }
}

impl fmt::Debug for DefaultTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultTransport").finish_non_exhaustive()
    }
}

impl Service<Request<Bytes>> for DefaultTransport {
    type Response = Response<DefaultBody>;
    type Error = TransportError;
    type Future = DefaultFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        DefaultFuture {
            inner: self.client.request(req.map(Full::new)),
        }
    }
}

pin_project! {
    /// The response future of [`DefaultTransport`].
    pub struct DefaultFuture {
        #[pin]
        inner: hyper_util::client::legacy::ResponseFuture,
    }
}

impl fmt::Debug for DefaultFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultFuture").finish_non_exhaustive()
    }
}

impl Future for DefaultFuture {
    type Output = Result<Response<DefaultBody>, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|result| match result {
            Ok(response) => Ok(response.map(|inner| DefaultBody { inner })),
            Err(e) if e.is_connect() => Err(TransportError::connect(e)),
            Err(e) => Err(TransportError::io(e)),
        })
    }
}

pin_project! {
    /// The streaming response body of [`DefaultTransport`].
    pub struct DefaultBody {
        #[pin]
        inner: hyper::body::Incoming,
    }
}

impl fmt::Debug for DefaultBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultBody").finish_non_exhaustive()
    }
}

impl Body for DefaultBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        self.project()
            .inner
            .poll_frame(cx)
            .map_err(TransportError::io)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
