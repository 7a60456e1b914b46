//! The default transport: hyper 1's own connections (`hyper::client::conn`) in a small pool,
//! connected through hyper-util's `HttpConnector` and hyper-rustls, TLS by rustls with the
//! `ring` provider passed explicitly (nothing process-global is installed), HTTP/1.1 and HTTP/2
//! chosen by ALPN. Only this module names hyper or rustls; none of their types is public.
//!
//! The pool is ours, not hyper-util's legacy `Client`: a client talks to one origin, and that
//! `Client` costs about 12,000 instructions a call over the connections it drives (a keyed,
//! SipHashed pool checked out and returned on every call, a connect raced against every checkout,
//! a task spawned per call to return the connection, two boxed futures), a third of a whole bare
//! call; see `docs/benchmarks.md`. What it does that matters here is kept: an idle timeout with
//! a reaper, a request a closed idle connection never wrote tried again on another, an HTTP/1.1
//! connection back in the pool only once it is ready for the next request, `Host` and
//! origin-form for HTTP/1.1, one HTTP/2 connection per origin kept and shared (calls that start
//! together before there is one each open their own; all but one close when done).

mod idle;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, Uri, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::rt::Executor as _;
use hyper_util::client::legacy::connect::{Connection as _, HttpConnector};
use hyper_util::rt::TokioExecutor;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tower::Service;

use self::idle::{IdleList, Liveness, Origin, Taken};
use crate::error::{BoxError, ConfigError, ConfigErrorKind, TransportError};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;
type Stream = <Https as Service<Uri>>::Response;

/// The connector with one timeout over TCP connect *and* TLS handshake, failing with an I/O
/// `TimedOut` error that the pool reports as a connect error: a handshake that stalls means the
/// request never left, so the retry policy may retry any method.
///
/// A rustls connector is several reference counts: behind one `Arc` it is one, and the connector
/// itself is cloned only for an actual connection.
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

/// The default transport: pooled hyper connections with rustls. Cheap to clone; clones share the
/// connection pool. Usable on its own as the innermost service of a custom stack (wrap it in
/// [`BodyLimitLayer`](crate::BodyLimitLayer) to get `Response<Bytes>`); it sends only to
/// absolute `http` and `https` URIs.
///
/// It needs a Tokio runtime (with the I/O and time drivers) when it sends.
#[derive(Clone)]
pub struct DefaultTransport {
    pool: Arc<Pool>,
}

impl DefaultTransport {
    /// Default connect timeout (TCP connect and TLS handshake together).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default time an idle pooled connection is kept.
    pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// The longest accepted pool idle timeout (a day): servers close idle connections much
    /// sooner, so a longer one is taken for a mistake.
    pub const MAX_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(86_400);

    /// A transport with the given connect timeout (TCP connect and TLS handshake together; a
    /// connection that is not ready in time is a [connect](TransportError::is_connect) error)
    /// and pool idle timeout (a connection unused that long is not used again; zero keeps none).
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidLimit` when the pool idle timeout is above
    /// [`MAX_POOL_IDLE_TIMEOUT`](Self::MAX_POOL_IDLE_TIMEOUT), of kind `Tls` when the TLS
    /// configuration cannot be built (for example no root certificate could be loaded).
    pub fn new(
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
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
        Ok(Self::with_tls(tls, connect_timeout, pool_idle_timeout))
    }

    /// The transport over `tls` (the tests' own roots, or the platform's in `new`).
    fn with_tls(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
    ) -> Self {
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
        Self {
            pool: Arc::new(Pool {
                connector,
                idle: Mutex::new(IdleList::new(pool_idle_timeout)),
            }),
        }
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
            inner: Box::pin(Arc::clone(&self.pool).send(req.map(Full::new))),
        }
    }
}

type Http1 = http1::SendRequest<Full<Bytes>>;
type Http2 = http2::SendRequest<Full<Bytes>>;

impl Liveness for Http1Conn {
    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl Liveness for Http2 {
    fn is_closed(&self) -> bool {
        http2::SendRequest::is_closed(self)
    }
}

/// An HTTP/1.1 connection with the `Host` value of its origin, made once when it connected.
struct Http1Conn {
    sender: Http1,
    host: HeaderValue,
}

/// The connections of a [`DefaultTransport`] and how to make more.
struct Pool {
    connector: Connector,
    idle: Mutex<IdleList<Http1Conn, Http2>>,
}

/// What sending on one connection came to.
enum Sent {
    Response(Response<Incoming>),
    /// The connection was closed before the request was written: it may go on another.
    NotSent(Request<Full<Bytes>>, hyper::Error),
}

impl Pool {
    fn idle(&self) -> std::sync::MutexGuard<'_, IdleList<Http1Conn, Http2>> {
        // A panic elsewhere while holding the lock leaves the list consistent (each change
        // to it is one call): keep using it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `request` on an idle connection to its origin, or a new one. A request that an
    /// idle connection closed before it was written is sent again on the next (the server
    /// never saw it); one that a new connection did not send fails, as anything else does.
    async fn send(
        self: Arc<Self>,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<DefaultBody>, TransportError> {
        let Some(origin) = Origin::of(request.uri()) else {
            return Err(TransportError::invalid_request(
                "the default transport sends only to absolute http and https URIs",
            ));
        };
        // Refused before any connection: HTTP versions hyper's connections cannot send (its
        // HTTP/1 encoder panics on them; hyper-util refused them too) and tunnels, which this
        // transport does not open.
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
        loop {
            let taken = self.idle().take(request.uri(), Instant::now());
            let reused = taken.is_some();
            let conn = match taken {
                Some(conn) => conn,
                None => self.connect(&origin).await?,
            };
            let (sent, http1) = match conn {
                Taken::Http1(mut conn) => {
                    // Ready once the connection has finished with its last response; an
                    // error means it closed meanwhile: an idle one is passed over, a new one
                    // fails the call (nothing was sent).
                    if let Err(e) = conn.sender.ready().await {
                        if reused {
                            continue;
                        }
                        return Err(TransportError::connect(e));
                    }
                    if request.version() == Version::HTTP_2 {
                        self.put_back(origin, conn);
                        return Err(TransportError::invalid_request(
                            "the request asks for HTTP/2 and the server chose HTTP/1.1",
                        ));
                    }
                    let undo = prepare_http1(&mut request, &conn.host);
                    let sent = match conn.sender.try_send_request(request).await {
                        Ok(response) => Sent::Response(response),
                        Err(mut e) => match e.take_message() {
                            Some(mut request) => {
                                undo.apply(&mut request);
                                Sent::NotSent(request, e.into_error())
                            }
                            None => return Err(TransportError::io(e.into_error())),
                        },
                    };
                    (sent, Some(conn))
                }
                Taken::Http2(mut sender) => {
                    if let Err(e) = sender.ready().await {
                        if reused {
                            continue;
                        }
                        return Err(TransportError::connect(e));
                    }
                    let sent = match sender.try_send_request(request).await {
                        Ok(response) => Sent::Response(response),
                        Err(mut e) => match e.take_message() {
                            Some(request) => Sent::NotSent(request, e.into_error()),
                            None => return Err(TransportError::io(e.into_error())),
                        },
                    };
                    (sent, None)
                }
            };
            match sent {
                Sent::Response(response) => {
                    let release = http1.map(|conn| Release {
                        pool: Arc::clone(&self),
                        origin,
                        conn,
                    });
                    return Ok(response.map(|body| DefaultBody::new(body, release)));
                }
                Sent::NotSent(again, _) if reused => request = again,
                Sent::NotSent(_, e) => return Err(TransportError::io(e)),
            }
        }
    }

    /// Puts an HTTP/1.1 connection that is ready for its next request back in the pool.
    fn put_back(self: &Arc<Self>, origin: Origin, conn: Http1Conn) {
        if self.idle().put_http1(origin, conn, Instant::now()) {
            self.start_reaper();
        }
    }

    /// Starts the task that drops idle connections every idle timeout, so a client gone quiet
    /// does not keep its sockets; it ends when the pool is empty or dropped. Without a Tokio
    /// runtime to run it (a body read outside one), there is no reaper: the idle connections
    /// are then dropped the next time the pool is used.
    fn start_reaper(self: &Arc<Self>) {
        let every = self.idle().timeout();
        // Dropped with the task however it ends early (its runtime shut down or was dropped,
        // or it never started), so that the next connection kept starts another.
        let mut running = ReaperRunning(Some(Arc::downgrade(self)));
        let reaper = async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(pool) = running.0.as_ref().and_then(std::sync::Weak::upgrade) else {
                    return;
                };
                if !pool.idle().reap(Instant::now()) {
                    // Ended as `reap` says, which cleared the mark itself.
                    running.disarm();
                    return;
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(reaper)),
            Err(_) => drop(reaper),
        }
    }

    /// A new connection to `origin`: HTTP/2 when the server chose it by ALPN (kept in the idle
    /// list for others to share), else HTTP/1.1. Any failure before a request is written is a
    /// connect error.
    async fn connect(
        self: &Arc<Self>,
        origin: &Origin,
    ) -> Result<Taken<Http1Conn, Http2>, TransportError> {
        let uri = Uri::builder()
            .scheme(origin.scheme().clone())
            .authority(origin.authority().clone())
            .path_and_query("/")
            .build()
            .map_err(TransportError::connect)?;
        let host = host_header(&uri)?;
        let io = Connector::clone(&self.connector)
            .call(uri)
            .await
            .map_err(TransportError::connect)?;
        if io.connected().is_negotiated_h2() {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .handshake(io)
                .await
                .map_err(TransportError::connect)?;
            TokioExecutor::new().execute(async move {
                let _ = connection.await;
            });
            if self
                .idle()
                .add_http2(origin.clone(), &sender, Instant::now())
            {
                self.start_reaper();
            }
            Ok(Taken::Http2(sender))
        } else {
            let (sender, connection) = http1::Builder::new()
                .handshake(io)
                .await
                .map_err(TransportError::connect)?;
            TokioExecutor::new().execute(async move {
                let _ = connection.await;
            });
            Ok(Taken::Http1(Http1Conn { sender, host }))
        }
    }
}

/// Clears the pool's "a reaper is running" mark when the reaper ends other than by finding the
/// pool empty.
struct ReaperRunning(Option<std::sync::Weak<Pool>>);

impl ReaperRunning {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for ReaperRunning {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take().and_then(|pool| pool.upgrade()) {
            pool.idle().reaper_not_started();
        }
    }
}

/// The `Host` header of an origin: its host, and its port unless the scheme's default (as
/// browsers and hyper-util send it).
fn host_header(uri: &Uri) -> Result<HeaderValue, TransportError> {
    let host = uri.host().unwrap_or_default();
    let default_port = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
        443
    } else {
        80
    };
    let value = match uri.port_u16() {
        Some(port) if port != default_port => HeaderValue::from_str(&format!("{host}:{port}")),
        _ => HeaderValue::from_str(host),
    };
    value.map_err(TransportError::connect)
}

/// Gives `request` what an HTTP/1.1 connection needs, a `Host` header (unless it has one) and
/// an origin-form target (`/path?query`); returns how to undo that, should the request go on
/// another connection (which may be HTTP/2).
fn prepare_http1(request: &mut Request<Full<Bytes>>, host: &HeaderValue) -> Http1Undo {
    let added_host = match request.headers_mut().entry(http::header::HOST) {
        http::header::Entry::Occupied(_) => false,
        http::header::Entry::Vacant(entry) => {
            entry.insert(host.clone());
            true
        }
    };
    let target = match request.uri().path_and_query() {
        Some(path) => Uri::from(path.clone()),
        None => Uri::from_static("/"),
    };
    Http1Undo {
        absolute: std::mem::replace(request.uri_mut(), target),
        added_host,
    }
}

/// What [`prepare_http1`] changed in a request.
struct Http1Undo {
    absolute: Uri,
    added_host: bool,
}

impl Http1Undo {
    /// Puts the request back as the caller gave it.
    fn apply(self, request: &mut Request<Full<Bytes>>) {
        *request.uri_mut() = self.absolute;
        if self.added_host {
            request.headers_mut().remove(http::header::HOST);
        }
    }
}

/// An HTTP/1.1 connection on loan to a response body, put back in the pool when the body has
/// been read to its end (and closed, by being dropped, if it never is).
struct Release {
    pool: Arc<Pool>,
    origin: Origin,
    conn: Http1Conn,
}

impl Release {
    /// Back in the pool once the connection is ready for another request: at once as a rule;
    /// if it is still busy (writing the rest of a request body the server answered without
    /// reading), from a task that waits for it for up to the idle timeout, so that no call ever
    /// waits on a busy connection. The task does not keep the pool alive. Without a runtime for
    /// it, or when it gives up, the connection is dropped, which closes it.
    fn put_back(self) {
        let Self {
            pool,
            origin,
            mut conn,
        } = self;
        if conn.sender.is_ready() {
            return pool.put_back(origin, conn);
        }
        let patience = pool.idle().timeout();
        if conn.sender.is_closed() || patience.is_zero() {
            return;
        }
        let pool = Arc::downgrade(&pool);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn(async move {
                let ready = tokio::time::timeout(patience, conn.sender.ready()).await;
                if let (Ok(Ok(())), Some(pool)) = (ready, pool.upgrade()) {
                    pool.put_back(origin, conn);
                }
            }));
        }
    }
}

/// The response future of [`DefaultTransport`].
pub struct DefaultFuture {
    inner: Pin<Box<dyn Future<Output = Result<Response<DefaultBody>, TransportError>> + Send>>,
}

impl fmt::Debug for DefaultFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultFuture").finish_non_exhaustive()
    }
}

impl Future for DefaultFuture {
    type Output = Result<Response<DefaultBody>, TransportError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

pin_project! {
    /// The streaming response body of [`DefaultTransport`].
    pub struct DefaultBody {
        #[pin]
        inner: Incoming,
        release: Option<Release>,
    }
}

impl DefaultBody {
    fn new(inner: Incoming, release: Option<Release>) -> Self {
        let mut body = Self { inner, release };
        // A response without a body (a 204, a `Content-Length: 0`) is read already.
        if body.inner.is_end_stream()
            && let Some(release) = body.release.take()
        {
            release.put_back();
        }
        body
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
        let mut this = self.project();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(_)) if !this.inner.is_end_stream() => {}
            // Read to its end: the connection can carry the next request.
            Some(Ok(_)) | None => {
                if let Some(release) = this.release.take() {
                    release.put_back();
                }
            }
            // Broken: dropping the connection closes it.
            Some(Err(_)) => *this.release = None,
        }
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
    use super::*;

    #[test]
    fn host_is_the_host_and_a_port_that_is_not_the_schemes_default() {
        for (uri, host) in [
            ("https://accounts.twilio.com/", "accounts.twilio.com"),
            ("https://accounts.twilio.com:443/", "accounts.twilio.com"),
            (
                "https://accounts.twilio.com:8443/",
                "accounts.twilio.com:8443",
            ),
            ("http://127.0.0.1:80/", "127.0.0.1"),
            ("http://127.0.0.1:443/", "127.0.0.1:443"),
            ("http://[::1]:8080/", "[::1]:8080"),
            ("http://user@example.com/", "example.com"),
        ] {
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(host_header(&uri).unwrap(), host, "{uri}");
        }
    }

    #[test]
    fn http1_gets_an_origin_form_target_and_a_host_and_both_can_be_undone() {
        let host = HeaderValue::from_static("accounts.twilio.com");
        for (uri, target, own_host) in [
            (
                "https://accounts.twilio.com/v1/Credentials/AWS?PageSize=5",
                "/v1/Credentials/AWS?PageSize=5",
                None,
            ),
            ("https://accounts.twilio.com", "/", None),
            ("https://accounts.twilio.com/v1", "/v1", Some("example.com")),
        ] {
            let mut request = Request::get(uri).body(Full::new(Bytes::new())).unwrap();
            if let Some(own) = own_host {
                request
                    .headers_mut()
                    .insert(http::header::HOST, HeaderValue::from_static(own));
            }
            let undo = prepare_http1(&mut request, &host);
            assert_eq!(request.uri(), target);
            let sent_host = own_host.map_or(host.clone(), HeaderValue::from_static);
            assert_eq!(request.headers()[http::header::HOST], sent_host);
            // Back as the caller gave it, for another connection (perhaps HTTP/2).
            undo.apply(&mut request);
            assert_eq!(request.uri(), uri);
            assert_eq!(
                request.headers().get(http::header::HOST),
                own_host.map(HeaderValue::from_static).as_ref()
            );
        }
    }

    /// A client TLS configuration trusting only `roots`.
    fn client_tls(roots: rustls::RootCertStore) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
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
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

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
            DefaultTransport::with_tls(tls, Duration::from_secs(5), Duration::from_secs(90))
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

    #[tokio::test]
    async fn the_reaper_closes_a_connection_idle_for_the_timeout() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        // A server that answers one request, then reports when its connection is closed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/x", listener.local_addr().unwrap());
        let (closed_tx, closed) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.ends_with(b"A=1") {
                let n = stream.read(&mut chunk).await.unwrap();
                request.extend_from_slice(&chunk[..n]);
            }
            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
            stream.write_all(answer).await.unwrap();
            while matches!(stream.read(&mut chunk).await, Ok(n) if n > 0) {}
            let _ = closed_tx.send(());
        });
        let idle = Duration::from_secs(30);
        let transport = DefaultTransport::with_tls(
            client_tls(rustls::RootCertStore::empty()),
            Duration::from_secs(5),
            idle,
        );
        assert_eq!(body_of(&transport, &url).await, "ok");
        assert_eq!(transport.pool.idle().len(), 1);
        // Nothing else happens: the clock runs on to the reaper's round, which drops the
        // connection, which closes it. (With no reaper, the wait below would time out.)
        tokio::time::pause();
        let paused = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(3600), closed)
            .await
            .expect("the idle connection was closed")
            .unwrap();
        // At the round after the connection went idle (the first, here), not before.
        let after = paused.elapsed();
        let tick = Duration::from_millis(5); // the timer wheel rounds up to its millisecond
        assert!(
            after > idle - Duration::from_secs(1) && after <= idle + tick,
            "{after:?}"
        );
        assert_eq!(transport.pool.idle().len(), 0);
    }

    #[test]
    fn a_reaper_that_ended_with_its_runtime_is_started_again() {
        use std::io::{Read as _, Write as _};

        // A server on threads of its own (it outlives the runtimes): it answers every request
        // ("A=1" bodies) and reports each connection's index when the client closes it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/x", listener.local_addr().unwrap());
        let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for (index, stream) in listener.incoming().enumerate() {
                let (Ok(mut stream), closed_tx) = (stream, closed_tx.clone()) else {
                    return;
                };
                std::thread::spawn(move || {
                    let mut request = Vec::new();
                    let mut byte = [0u8; 1];
                    while let Ok(1) = stream.read(&mut byte) {
                        request.push(byte[0]);
                        if request.ends_with(b"A=1") {
                            request.clear();
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if stream.write_all(answer).is_err() {
                                break;
                            }
                        }
                    }
                    let _ = closed_tx.send(index);
                });
            }
        });
        let idle = Duration::from_secs(30);
        let transport = DefaultTransport::with_tls(
            client_tls(rustls::RootCertStore::empty()),
            Duration::from_secs(5),
            idle,
        );
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        // The first connection goes idle under a runtime that is then dropped, with its reaper
        // (and the connection's own task, which closes it).
        let first = runtime();
        assert_eq!(first.block_on(body_of(&transport, &url)), "ok");
        drop(first);
        runtime().block_on(async {
            assert_eq!(closed.recv().await, Some(0));
            // The next connection kept must get a reaper of its own, which closes it: the
            // clock runs on past its round, then the close reaches the server (on the real
            // clock: the report comes from the server's thread, not through this runtime).
            assert_eq!(body_of(&transport, &url).await, "ok");
            assert_eq!(transport.pool.idle().len(), 1);
            tokio::time::pause();
            tokio::time::sleep(idle + Duration::from_secs(1)).await;
            assert_eq!(transport.pool.idle().len(), 0, "no reaper ran");
            tokio::time::resume();
            let reaped = tokio::time::timeout(Duration::from_secs(10), closed.recv()).await;
            assert_eq!(reaped.expect("the reaped connection was closed"), Some(1));
        });
    }
}
