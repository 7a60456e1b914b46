//! The default transport: hyper-util's legacy `Client` (its pool: HTTP/1.1 connections kept
//! idle up to a timeout, one HTTP/2 connection per origin shared, HTTP/1.1 or HTTP/2 chosen by
//! ALPN, a request a reused connection never wrote sent again on another) over the connector of
//! [`connect`]: TCP by hyper-util's `HttpConnector`, directly or through a [`Proxy`], TLS by
//! rustls with the `ring` provider passed explicitly (nothing process-global is installed). No
//! file of ours implements connection pooling. Only this module names hyper, hyper-util or
//! rustls; none of their types is public.
//!
//! What is ours: the errors. hyper says which failures the server never processed (a request
//! handed back unsent, `REFUSED_STREAM`, a graceful `GOAWAY` above the stream's id) only through
//! its error's sources; [`error_of`] turns them into
//! [`TransportErrorKind::NotProcessed`](crate::TransportErrorKind::NotProcessed), which the
//! retry policy sends again for any method, once, marked [`NewConnection`]. Such a request goes
//! through a second client of hyper-util's with pooling off, so on a connection opened for it
//! (the first stream there, which a server shutting down gracefully still processes), and the
//! connection that turned it away is poisoned (hyper-util's word: the pool gives it no new
//! request; those in flight on it finish). And a call that gives up on an HTTP/1.1 connection
//! (its future dropped, by a timeout for instance) closes that connection, which hyper-util
//! would leave writing the request body.

mod connect;
#[cfg(test)]
mod misbehaving;
mod proxy;
#[cfg(test)]
mod through_proxy;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{CaptureConnection, capture_connection};
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use pin_project_lite::pin_project;
use tower::Service;

use self::connect::{Abort, Connector};
pub use self::proxy::Proxy;
use self::proxy::ProxyRefusal;
use crate::error::{ConfigError, ConfigErrorKind, TransportError};
use crate::retry::NewConnection;

/// The default transport: hyper-util's connection pool with rustls, directly or through a
/// [`Proxy`]. Cheap to clone; clones share the connection pool. Usable on its own as the
/// innermost service of a custom stack (wrap it in [`BodyLimitLayer`](crate::BodyLimitLayer) to
/// get `Response<Bytes>`); it sends only to absolute `http` and `https` URIs and never follows
/// redirects.
///
/// It needs a Tokio runtime (with the I/O and time drivers) when it sends.
#[derive(Clone)]
pub struct DefaultTransport {
    /// Behind one `Arc`: each client is several hundred bytes of handles, cloned per call.
    clients: Arc<Clients>,
    proxy: Proxy,
}

/// hyper-util's client twice over the same connector: pooled, for every request but one marked
/// [`NewConnection`], which goes through the unpooled one (a connection of its own, closed
/// after it).
struct Clients {
    pooled: Client<Connector, Full<Bytes>>,
    unpooled: Client<Connector, Full<Bytes>>,
}

impl DefaultTransport {
    /// Default connect timeout (TCP connect and TLS handshake together).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default time an idle pooled connection is kept.
    pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// The longest accepted pool idle timeout (a day): servers close idle connections much
    /// sooner, so a longer one is taken for a mistake.
    pub const MAX_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(86_400);

    /// A transport with the given connect timeout (TCP connect, proxy tunnel and TLS handshake
    /// together; a connection that is not ready in time is a
    /// [connect](TransportError::is_connect) error) and pool idle timeout (a connection unused
    /// that long is closed; zero keeps none), through the proxies of the environment
    /// ([`Proxy::from_env`]; see [`with_proxy`](Self::with_proxy)).
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidLimit` when the pool idle timeout is above
    /// [`MAX_POOL_IDLE_TIMEOUT`](Self::MAX_POOL_IDLE_TIMEOUT), of kind `Tls` when the TLS
    /// configuration cannot be built (for example no root certificate could be loaded).
    pub fn new(
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        Self::with_proxy(connect_timeout, pool_idle_timeout, Proxy::from_env())
    }

    /// Like [`new`](Self::new), through `proxy` instead of the environment's.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_proxy(
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
        proxy: Proxy,
    ) -> Result<Self, ConfigError> {
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
        Ok(Self::with_tls(
            tls,
            connect_timeout,
            pool_idle_timeout,
            proxy,
        ))
    }

    /// The transport over `tls` (the tests' own roots, or the platform's in `new`).
    fn with_tls(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
        proxy: Proxy,
    ) -> Self {
        let connector = Connector::new(tls, proxy.clone(), connect_timeout);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(pool_idle_timeout);
        let unpooled = builder
            .clone()
            .pool_max_idle_per_host(0)
            .build(connector.clone());
        if pool_idle_timeout.is_zero() {
            builder.pool_max_idle_per_host(0);
        }
        Self {
            clients: Arc::new(Clients {
                pooled: builder.build(connector),
                unpooled,
            }),
            proxy,
        }
    }
}

impl fmt::Debug for DefaultTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultTransport")
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl Service<Request<Bytes>> for DefaultTransport {
    type Response = Response<DefaultBody>;
    type Error = TransportError;
    type Future = DefaultFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let state = match self.prepare(request) {
            Ok((mut request, plain_proxy)) => {
                // Only a request with a body can leave its connection writing: the others skip
                // the capture (a channel allocated per call).
                let connection = (request.body().size_hint().exact().is_none_or(|n| n != 0))
                    .then(|| capture_connection(&mut request));
                let client = if request.extensions().get::<NewConnection>().is_some() {
                    &self.clients.unpooled
                } else {
                    &self.clients.pooled
                };
                Sending::Sent {
                    response: client.request(request),
                    give_up: GiveUp(connection),
                    plain_proxy,
                }
            }
            Err(error) => Sending::Refused(Some(error)),
        };
        DefaultFuture { state }
    }
}

impl DefaultTransport {
    /// Refuses what the client cannot send, before any connection; gives a request that goes
    /// to a proxy in plain HTTP the proxy's credentials. Returns the request and whether it goes
    /// to a proxy in plain HTTP (whose `407` is then the proxy's, not the server's).
    fn prepare(
        &self,
        request: Request<Bytes>,
    ) -> Result<(Request<Full<Bytes>>, bool), TransportError> {
        let uri = request.uri();
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        if !scheme_ok || uri.host().is_none_or(str::is_empty) {
            return Err(TransportError::invalid_request(
                "the default transport sends only to absolute http and https URIs",
            ));
        }
        // HTTP versions hyper's connections cannot send (its HTTP/1 encoder panics on them) and
        // tunnels, which this transport does not open for its callers.
        if request.method() == Method::CONNECT {
            return Err(TransportError::invalid_request(
                "the default transport does not open tunnels (CONNECT)",
            ));
        }
        if !matches!(
            request.version(),
            Version::HTTP_10 | Version::HTTP_11 | Version::HTTP_2
        ) {
            return Err(TransportError::invalid_request(
                "the default transport sends HTTP/1.0, HTTP/1.1 and HTTP/2 requests only",
            ));
        }
        let mut plain_proxy = false;
        let route = match uri.scheme_str() {
            Some("http") => self.proxy.route(uri),
            _ => None,
        };
        let mut request = request;
        if let Some(route) = route {
            if route.is_supported() && !route.is_loopback() {
                let refusal = ProxyRefusal::PlainHttpToRemoteProxy;
                return Err(TransportError::proxy(refusal.detail(), refusal));
            }
            plain_proxy = true;
            if let Some(auth) = route.auth {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth);
            }
        }
        Ok((request.map(Full::new), plain_proxy))
    }
}

/// Closes the HTTP/1.1 connection of a call dropped before its response arrived (a timeout, a
/// cancelled task): that connection may be writing a request body nobody waits for, and hyper
/// would go on writing it. An HTTP/2 stream is reset by hyper itself and its connection shared,
/// so it is left alone.
struct GiveUp(Option<CaptureConnection>);

impl Drop for GiveUp {
    fn drop(&mut self) {
        let Some(connection) = self.0.take() else {
            return;
        };
        let connected = connection.connection_metadata();
        let Some(connected) = connected.as_ref() else {
            return; // not on a connection yet: nothing was written
        };
        if connected.is_negotiated_h2() {
            return;
        }
        let mut extensions = http::Extensions::new();
        connected.get_extras(&mut extensions);
        if let Some(abort) = extensions.get::<Abort>() {
            abort.abort();
        }
    }
}

/// What a failure of hyper-util's client comes to. Not processed (safe to send again, whatever
/// the method), as RFC 9113 §8.7 and hyper say: a request hyper handed back unsent, a stream the
/// server refused (`REFUSED_STREAM`), a stream above the last id of a graceful `GOAWAY`; the
/// connection it happened on is then poisoned, so that the pool gives it no new request. A proxy
/// that refused: a proxy error. No connection: a connect error. Anything else may have reached
/// the server.
fn error_of(error: hyper_util::client::legacy::Error) -> TransportError {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
    let mut not_processed = false;
    let mut refusal = None;
    while let Some(e) = cause {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>()
            && hyper.is_canceled()
        {
            not_processed = true;
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            let reason = h2.reason();
            if reason == Some(h2::Reason::REFUSED_STREAM)
                || (h2.is_go_away() && h2.is_remote() && reason == Some(h2::Reason::NO_ERROR))
            {
                not_processed = true;
            }
        }
        if let Some(proxy) = e.downcast_ref::<ProxyRefusal>() {
            refusal = Some(*proxy);
        }
        cause = e.source();
    }
    if let Some(refusal) = refusal {
        TransportError::proxy(refusal.detail(), error)
    } else if error.is_connect() {
        TransportError::connect(error)
    } else if not_processed {
        if let Some(connection) = error.connect_info() {
            connection.poison();
        }
        TransportError::not_processed(error)
    } else if format!("{error:?}").contains("UserUnsupportedVersion") {
        // hyper-util's one way of saying it: its error kinds are private.
        TransportError::invalid_request("the request asks for HTTP/2 and the server chose HTTP/1.1")
    } else {
        TransportError::io(error)
    }
}

/// The response future of [`DefaultTransport`].
pub struct DefaultFuture {
    state: Sending,
}

/// A call of [`DefaultTransport`] (named rather than an `async` block: no box of its own).
enum Sending {
    /// Refused before any connection; the error until it is taken.
    Refused(Option<TransportError>),
    /// Given to hyper-util's client.
    Sent {
        response: ResponseFuture,
        give_up: GiveUp,
        /// The request goes to a proxy in plain HTTP: a `407` is the proxy's.
        plain_proxy: bool,
    },
}

impl fmt::Debug for DefaultFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultFuture").finish_non_exhaustive()
    }
}

impl Future for DefaultFuture {
    type Output = Result<Response<DefaultBody>, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            Sending::Refused(error) => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                TransportError::other("DefaultFuture polled after completion")
            }))),
            Sending::Sent {
                response,
                give_up,
                plain_proxy,
            } => {
                let result = std::task::ready!(Pin::new(response).poll(cx));
                // Answered: nothing is left writing on the connection.
                give_up.0 = None;
                let response = result.map_err(error_of)?;
                if *plain_proxy && response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                    let refusal = ProxyRefusal::AuthRequired;
                    return Poll::Ready(Err(TransportError::proxy(refusal.detail(), refusal)));
                }
                Poll::Ready(Ok(response.map(|inner| DefaultBody { inner })))
            }
        }
    }
}

pin_project! {
    /// The streaming response body of [`DefaultTransport`].
    pub struct DefaultBody {
        #[pin]
        inner: Incoming,
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
        let frame = std::task::ready!(self.project().inner.poll_frame(cx));
        Poll::Ready(frame.map(|frame| frame.map_err(TransportError::io)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::{HeaderValue, Uri};

    use super::*;

    /// A client TLS configuration trusting only `roots`.
    pub(super) fn client_tls(roots: rustls::RootCertStore) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    /// A TLS acceptor for `localhost` offering `alpn`, under a certificate authority made for
    /// the test, and the roots a client needs to trust it.
    pub(super) fn tls_acceptor(
        alpn: &[&[u8]],
    ) -> (tokio_rustls::TlsAcceptor, rustls::RootCertStore) {
        let (config, roots) = tls_server_config(alpn);
        (tokio_rustls::TlsAcceptor::from(Arc::new(config)), roots)
    }

    /// The server configuration of [`tls_acceptor`], for a test that changes it.
    pub(super) fn tls_server_config(
        alpn: &[&[u8]],
    ) -> (rustls::ServerConfig, rustls::RootCertStore) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        (config, roots)
    }

    /// A TLS server on 127.0.0.1 for `localhost`, under a certificate authority made for the
    /// test, offering `alpn` and answering every request with its HTTP version. It counts
    /// connections and requests.
    struct TlsServer {
        port: u16,
        roots: rustls::RootCertStore,
        connections: Arc<std::sync::atomic::AtomicUsize>,
        requests: Arc<Mutex<Vec<Seen>>>,
    }

    /// A request as the server saw it: its version, target and `Host`.
    type Seen = (http::Version, Uri, Option<HeaderValue>);

    impl TlsServer {
        async fn start(alpn: &[&[u8]]) -> Self {
            use std::sync::atomic::Ordering;

            let (acceptor, roots) = tls_acceptor(alpn);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let requests = Arc::new(Mutex::new(Vec::new()));
            let (counted, seen) = (connections.clone(), requests.clone());
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, seen) = (acceptor.clone(), seen.clone());
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        let io = hyper_util::rt::TokioIo::new(tls);
                        let answer =
                            hyper::service::service_fn(move |request: Request<Incoming>| {
                                let seen = seen.clone();
                                async move {
                                    let version = request.version();
                                    let host = request.headers().get(http::header::HOST).cloned();
                                    seen.lock().unwrap().push((
                                        version,
                                        request.uri().clone(),
                                        host,
                                    ));
                                    let body = format!("{version:?}");
                                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                        Bytes::from(body),
                                    )))
                                }
                            });
                        let _ = if h2 {
                            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .serve_connection(io, answer)
                                .await
                        } else {
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, answer)
                                .await
                        };
                    });
                }
            });
            Self {
                port,
                roots,
                connections,
                requests,
            }
        }

        fn transport(&self) -> DefaultTransport {
            let tls = client_tls(self.roots.clone());
            DefaultTransport::with_tls(
                tls,
                Duration::from_secs(5),
                Duration::from_secs(90),
                Proxy::none(),
            )
        }

        fn url(&self) -> String {
            format!("https://localhost:{}/v1/AuthTokens?x=1", self.port)
        }

        fn connections(&self) -> usize {
            self.connections.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    async fn body_of(transport: &DefaultTransport, url: &str) -> Bytes {
        use tower::ServiceExt as _;
        let request = Request::post(url).body(Bytes::from_static(b"A=1")).unwrap();
        let response = transport.clone().oneshot(request).await.unwrap();
        assert!(response.status().is_success());
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes()
    }

    /// The bodies of `n` calls to `url` started at once.
    async fn all_at_once(transport: &DefaultTransport, url: &str, n: usize) -> Vec<Bytes> {
        let calls: Vec<_> = (0..n)
            .map(|_| {
                let (transport, url) = (transport.clone(), url.to_owned());
                tokio::spawn(async move { body_of(&transport, &url).await })
            })
            .collect();
        let mut bodies = Vec::new();
        for call in calls {
            bodies.push(call.await.unwrap());
        }
        bodies
    }

    #[tokio::test]
    async fn over_http2_every_call_shares_one_connection() {
        let server = TlsServer::start(&[b"h2", b"http/1.1"]).await;
        let transport = server.transport();
        let url = server.url();
        assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        // Many at once and in turn: all on the one connection.
        for body in all_at_once(&transport, &url, 16).await {
            assert_eq!(body, "HTTP/2.0");
        }
        for _ in 0..4 {
            assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        }
        assert_eq!(server.connections(), 1);
        let seen = server.requests.lock().unwrap().clone();
        assert_eq!(seen.len(), 21);
        for (version, uri, _) in seen {
            // HTTP/2 carries the scheme and authority in the request itself.
            assert_eq!(version, http::Version::HTTP_2);
            assert_eq!(uri, url.as_str());
        }
    }

    #[tokio::test]
    async fn over_tls_without_http2_connections_are_pooled_as_http1() {
        let server = TlsServer::start(&[b"http/1.1"]).await;
        let transport = server.transport();
        let url = server.url();
        for _ in 0..3 {
            assert_eq!(body_of(&transport, &url).await, "HTTP/1.1");
        }
        assert_eq!(server.connections(), 1);
        let host = format!("localhost:{}", server.port);
        for (version, uri, seen_host) in server.requests.lock().unwrap().clone() {
            assert_eq!(version, http::Version::HTTP_11);
            assert_eq!(uri, "/v1/AuthTokens?x=1");
            assert_eq!(seen_host.unwrap(), host.as_str());
        }
    }

    #[tokio::test]
    async fn calls_that_start_together_on_http2_end_up_sharing_one_connection() {
        let server = TlsServer::start(&[b"h2"]).await;
        let transport = server.transport();
        let url = server.url();
        // No connection yet: each of these may open its own; one is kept.
        for body in all_at_once(&transport, &url, 8).await {
            assert_eq!(body, "HTTP/2.0");
        }
        let opened = server.connections();
        assert!((1..=8).contains(&opened), "{opened}");
        for _ in 0..8 {
            assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        }
        assert_eq!(server.connections(), opened);
    }
}
