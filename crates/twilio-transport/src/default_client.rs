//! The default transport: hyper's HTTP/1.1 and HTTP/2 connections pooled by hyper-util's
//! composable pool (`client::pool`): per origin (`map`, keyed by scheme and authority; the proxy
//! route follows from them) a `negotiate` that inspects each new connection after TLS and gives
//! an `h2` one to a `singleton` (one multiplexed HTTP/2 connection, shared) and any other to a
//! `cache` of idle HTTP/1.1 connections. The connector is [`connect`]'s: TCP by hyper-util's
//! `HttpConnector`, directly or through a [`Proxy`], TLS by rustls with the `ring` provider
//! passed explicitly (nothing process-global is installed). No file of ours implements
//! connection pooling: we say when a connection goes back (after its whole answer, once it can
//! take a request), which ones the pool drops (`retain`: closed, idle longer than the idle
//! timeout, poisoned) and nothing else. Only this module names hyper, hyper-util or rustls; none
//! of their types is public.
//!
//! What is ours besides: what hyper-util's legacy `Client` did on top of hyper's connections
//! (the `Host` header, the origin-form or, to a proxy in plain HTTP, absolute-form target; a
//! request a reused HTTP/1.1 connection handed back unwritten sent once more on a new one), and
//! the errors. hyper says which failures the server never processed (a request handed back
//! unsent, `REFUSED_STREAM`, a graceful `GOAWAY` above the stream's id) only through its
//! error's sources; [`failed`] turns them into
//! [`TransportErrorKind::NotProcessed`](crate::TransportErrorKind::NotProcessed), which the
//! retry policy sends again for any method, once, marked [`NewConnection`]: such a request goes
//! on a connection opened for it outside the pool (the first stream there, which a server
//! shutting down gracefully still processes), and the connection that turned it away is
//! poisoned (the singleton drops it; those in flight on it finish). A call that gives up on an
//! HTTP/1.1 connection (its future dropped, by a timeout for instance, or its answer's body
//! dropped unread) closes that connection instead of returning it to the cache.

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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{TrySendError, http1, http2};
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::client::pool::{cache, map::Map, negotiate, singleton::Singleton};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use pin_project_lite::pin_project;
use tower::Service;

use self::connect::{Abort, Connector, Stream};
pub use self::proxy::Proxy;
use self::proxy::ProxyRefusal;
use crate::error::{BoxError, ConfigError, ConfigErrorKind, TransportError};
use crate::retry::NewConnection;

/// The default transport: hyper-util's composable connection pool with rustls, directly or
/// through a [`Proxy`]. Cheap to clone; clones share the connection pool. Usable on its own as
/// the innermost service of a custom stack (wrap it in [`BodyLimitLayer`](crate::BodyLimitLayer)
/// to get `Response<Bytes>`); it sends only to absolute `http` and `https` URIs and never
/// follows redirects.
///
/// It needs a Tokio runtime (with the I/O and time drivers) when it sends.
#[derive(Clone)]
pub struct DefaultTransport {
    pool: Arc<Pool>,
    proxy: Proxy,
}

/// The request body hyper's connections are given.
type Body0 = Full<Bytes>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// A checkout of the pool for a URI.
type Checkout = Box<dyn Fn(&Uri) -> BoxFuture<Result<Lease, BoxError>> + Send + Sync>;

/// hyper-util's pool parts composed per origin, behind one type-erased checkout (their types
/// cannot be named), and the connector for a connection of a request's own.
struct Pool {
    checkout: Checkout,
    connector: Connector,
    idle_timeout: Duration,
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
    /// [connect](TransportError::is_connect) error) and pool idle timeout (a connection,
    /// HTTP/1.1 or HTTP/2, unused that long is not used again; zero keeps none), through the proxies of
    /// the environment ([`Proxy::from_env`]; see [`with_proxy`](Self::with_proxy)).
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
        Self {
            pool: Arc::new(Pool::new(connector, pool_idle_timeout)),
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
        let sending: BoxFuture<_> = match self.prepare(request) {
            Ok((request, plain_proxy)) => {
                Box::pin(Arc::clone(&self.pool).send(request, plain_proxy))
            }
            Err(error) => Box::pin(std::future::ready(Err(error))),
        };
        DefaultFuture { sending }
    }
}

impl DefaultTransport {
    /// Refuses what the client cannot send, before any connection; gives a request that goes
    /// to a proxy in plain HTTP the proxy's credentials. Returns the request and whether it goes
    /// to a proxy in plain HTTP (whose `407` is then the proxy's, not the server's).
    fn prepare(&self, request: Request<Bytes>) -> Result<(Request<Body0>, bool), TransportError> {
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

// ---- The pool: hyper-util's parts, composed ----

impl Pool {
    /// Per origin (scheme and authority; the proxy route follows from them) a `negotiate` pool:
    /// the connector's connection, inspected after TLS, goes to a `singleton` of one HTTP/2
    /// connection when ALPN chose `h2`, else to a `cache` of idle HTTP/1.1 connections.
    fn new(connector: Connector, idle_timeout: Duration) -> Self {
        let connect = connector.clone();
        let map = Map::builder()
            .keys(|uri: &Uri| (uri.scheme().cloned(), uri.authority().cloned()))
            .values(move |_: &Uri| {
                negotiate::builder()
                    .connect(connect.clone())
                    .inspect(|stream: &Stream| stream.connected().is_negotiated_h2())
                    .fallback(tower::layer::layer_fn(|connect| {
                        cache::builder()
                            .executor(TokioExecutor::new())
                            .build(Handshake1 { connect })
                    }))
                    .upgrade(tower::layer::layer_fn(|connect| {
                        Serialized::new(Singleton::new(Handshake2 { connect }))
                    }))
                    .build::<Uri>()
            })
            .build();
        let map: Mutex<Map<_, Uri>> = Mutex::new(map);
        let checkout = move |uri: &Uri| -> BoxFuture<Result<Lease, BoxError>> {
            // One clock reading for every expiry check of this checkout.
            let now = Instant::now();
            let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
            let origin = map.service(uri);
            // Expiry: the cache drops the connections closed meanwhile or idle too long.
            let mut cached_any = false;
            origin.fallback_mut().retain(|connection: &mut Http1| {
                let keep = connection.is_fresh(idle_timeout, now);
                cached_any |= keep;
                keep
            });
            if cached_any {
                // An idle HTTP/1.1 connection: the origin speaks HTTP/1.1, so the cache is asked
                // straight away, under the map's lock (taking an idle connection never waits),
                // without a copy of the origin's services. Through negotiate every call would
                // first try the singleton (about 11,000 instructions a call, measured, for a
                // batch that fails at once).
                let checking_out = origin.fallback_mut().call(uri.clone());
                drop(map);
                return Box::pin(async move {
                    let mut cached = checking_out.await?;
                    std::future::poll_fn(|cx| cached.poll_ready(cx)).await?;
                    let held = hold(cached, |cached| cached.inner_mut());
                    Ok(Lease::Http1(H1Lease(Some(H1Conn::Pooled(held)))))
                });
            }
            // The origin's HTTP/2 connection once poisoned, closed or idle too long is dropped
            // from its singleton here (through `retain`, never by failing the shared handle's
            // `poll_ready`, which would race a connection being made). Calls still holding it
            // finish on it; hyper closes it after them.
            origin.upgrade_mut().retain(|connection: &mut Http2| {
                connection.is_open() && connection.is_fresh(idle_timeout, now)
            });
            let mut origin = origin.clone();
            drop(map);
            let uri = uri.clone();
            Box::pin(async move {
                let mut negotiated = origin.call(uri).await?;
                if let Some(shared) = negotiated.upgraded_mut() {
                    let connection = shared.call(()).await?;
                    if !connection.is_open() {
                        // Turned away meanwhile: the next checkout drops it and connects.
                        return Err("the HTTP/2 connection is no longer usable".into());
                    }
                    connection.used(Instant::now());
                    return Ok(Lease::Http2(connection));
                }
                // An idle HTTP/1.1 connection the server closed meanwhile fails here, and the
                // cache then drops it.
                std::future::poll_fn(|cx| negotiated.poll_ready(cx)).await?;
                let held = hold(negotiated, |negotiated| {
                    negotiated
                        .fallback_mut()
                        .expect("checked above: not HTTP/2")
                        .inner_mut()
                });
                Ok(Lease::Http1(H1Lease(Some(H1Conn::Pooled(held)))))
            })
        };
        Self {
            checkout: Box::new(checkout),
            connector,
            idle_timeout,
        }
    }

    /// A connection from the pool for `uri`: one from the cache or the singleton, or a new one.
    /// A checkout that lost a race between calls negotiating the same origin's first
    /// connections (hyper-util's negotiate then reports no connection) is tried again.
    async fn checkout(&self, uri: &Uri) -> Result<Lease, TransportError> {
        let mut tries = 0;
        loop {
            match (self.checkout)(uri).await {
                Ok(lease) => return Ok(lease),
                Err(error) => {
                    tries += 1;
                    if let Some(error) = connect_error(&error) {
                        return Err(error);
                    }
                    if tries == 8 {
                        return Err(TransportError::connect(error));
                    }
                }
            }
        }
    }

    /// A connection of the request's own, outside the pool (a request sent again after a
    /// connection turned it away): closed once its answer is read.
    async fn connect_fresh(&self, uri: &Uri) -> Result<Lease, TransportError> {
        let mut connector = self.connector.clone();
        let connected = async {
            let stream = connector.call(uri.clone()).await?;
            if stream.connected().is_negotiated_h2() {
                Ok(Lease::Http2(http2_over(stream).await?))
            } else {
                Ok(Lease::Http1(H1Lease(Some(H1Conn::Own(
                    http1_over(stream).await?,
                )))))
            }
        };
        connected.await.map_err(|error: BoxError| {
            connect_error(&error).unwrap_or_else(|| TransportError::connect(error))
        })
    }

    /// One request, on a pooled connection unless it is marked [`NewConnection`]. A request an
    /// HTTP/1.1 connection of the pool handed back unsent (hyper saw it closed) goes once more
    /// on a connection of its own, as hyper-util's legacy client does.
    async fn send(
        self: Arc<Self>,
        mut request: Request<Body0>,
        plain_proxy: bool,
    ) -> Result<Response<DefaultBody>, TransportError> {
        let mut fresh = request.extensions().get::<NewConnection>().is_some();
        loop {
            let uri = request.uri().clone();
            let mut lease = if fresh {
                // Boxed: the connect and handshake futures are large, and a copy of this whole
                // future's size is made per call (its box), on the path that seldom connects.
                Box::pin(self.connect_fresh(&uri)).await?
            } else {
                self.checkout(&uri).await?
            };
            let reused_h1 = match &mut lease {
                Lease::Http1(h1) => h1.is_reused(),
                Lease::Http2(_) => false,
            };
            match self.send_on(lease, request).await {
                Ok(response) => {
                    if plain_proxy && response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED
                    {
                        let refusal = ProxyRefusal::AuthRequired;
                        return Err(TransportError::proxy(refusal.detail(), refusal));
                    }
                    return Ok(response);
                }
                Err(Failed::HandedBack(unsent, _)) if reused_h1 && !fresh => {
                    request = *unsent;
                    // Back to the absolute URI the connector needs.
                    *request.uri_mut() = uri;
                    fresh = true;
                }
                Err(Failed::HandedBack(_, error)) => return Err(error),
                Err(Failed::Other(error)) => return Err(error),
            }
        }
    }

    /// Sends `request` on `lease`, in the form that connection's protocol wants.
    async fn send_on(
        &self,
        lease: Lease,
        mut request: Request<Body0>,
    ) -> Result<Response<DefaultBody>, Failed> {
        match lease {
            Lease::Http2(connection) => {
                // Only the response is awaited: the handle is not held meanwhile (see
                // [`SharedSend`]).
                let sending = match connection.send.try_send_request(request) {
                    Ok(sending) => sending,
                    Err(unsent) => {
                        connection.poison();
                        let error = TransportError::not_processed(
                            "the HTTP/2 connection ended before the request was handed to it",
                        );
                        return Err(Failed::HandedBack(unsent, error));
                    }
                };
                // Its shared state only: the call holds no handle while it waits.
                let state = Arc::clone(&connection.state);
                drop(connection);
                match sending.await {
                    Ok(response) => Ok(response.map(|inner| DefaultBody { inner, lease: None })),
                    Err(error) => Err(failed(error, || {
                        state.poisoned.store(true, Ordering::Release);
                    })),
                }
            }
            Lease::Http1(mut lease) => {
                if request.version() == Version::HTTP_2 {
                    // Nothing written: the connection serves the next call.
                    lease.release(self.idle_timeout);
                    return Err(Failed::Other(TransportError::invalid_request(
                        "the request asks for HTTP/2 and the server chose HTTP/1.1",
                    )));
                }
                let connection = lease.connection();
                to_http1_form(&mut request, connection.proxied);
                connection.served += 1;
                let sending = connection.send.try_send_request(request);
                // Dropped from here on (a timeout, a cancelled task), `lease` closes its
                // connection: it may be writing a body nobody waits for.
                match sending.await {
                    Ok(response) => {
                        let lease = if response.body().is_end_stream() {
                            lease.release(self.idle_timeout);
                            None
                        } else {
                            Some((lease, self.idle_timeout))
                        };
                        Ok(response.map(|inner| DefaultBody { inner, lease }))
                    }
                    Err(error) => Err(failed(error, || {})),
                }
            }
        }
    }
}

/// The `Host` header and the request target HTTP/1.1 wants: the origin form (`/path?query`),
/// or the absolute URI on a connection to a proxy in plain HTTP.
fn to_http1_form(request: &mut Request<Body0>, proxied: bool) {
    let uri = request.uri().clone();
    request
        .headers_mut()
        .entry(http::header::HOST)
        .or_insert_with(|| host_header(&uri));
    if !proxied {
        let path = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        *request.uri_mut() = Uri::try_from(path).unwrap_or_else(|_| Uri::from_static("/"));
    }
}

/// `host[:port]`, the port left out when it is the scheme's default.
fn host_header(uri: &Uri) -> HeaderValue {
    let Some(authority) = uri.authority() else {
        return HeaderValue::from_static("");
    };
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    let value = match authority.port_u16() {
        Some(port) if port == default_port => authority.host(),
        // The authority without its user info (which `prepare` never lets through anyway).
        _ => authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, host)| host),
    };
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The connection a call holds.
enum Lease {
    Http1(H1Lease),
    /// A clone of the origin's one HTTP/2 connection (hyper multiplexes the calls on it).
    Http2(Http2),
}

/// How a call failed on its connection.
enum Failed {
    /// hyper handed the request back unsent: not processed (boxed: a request is large).
    HandedBack(Box<Request<Body0>>, TransportError),
    Other(TransportError),
}

/// What a failed send comes to. Not processed (safe to send again, whatever the method), as
/// RFC 9113 §8.7 and hyper say: a request hyper handed back unsent, a stream the server refused
/// (`REFUSED_STREAM`), a stream above the last id of a graceful `GOAWAY`; the connection it
/// happened on is then poisoned (`poison`), so that the pool gives it no new request. Anything
/// else may have reached the server.
fn failed(mut error: TrySendError<Request<Body0>>, poison: impl FnOnce()) -> Failed {
    let unsent = error.take_message();
    let error = error.into_error();
    let mut not_processed = unsent.is_some() || error.is_canceled();
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(e) = cause {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            let reason = h2.reason();
            if reason == Some(h2::Reason::REFUSED_STREAM)
                || (h2.is_go_away() && h2.is_remote() && reason == Some(h2::Reason::NO_ERROR))
            {
                not_processed = true;
            }
        }
        cause = e.source();
    }
    if !not_processed {
        return Failed::Other(TransportError::io(error));
    }
    poison();
    let error = TransportError::not_processed(error);
    match unsent {
        Some(request) => Failed::HandedBack(Box::new(request), error),
        None => Failed::Other(error),
    }
}

/// The transport error of a failed connect (the proxy's refusal, the connector's or a
/// handshake's failure); `None` for what is no connect failure (hyper-util's negotiate saying
/// a racing call took the connection: the checkout is tried again).
fn connect_error(error: &BoxError) -> Option<TransportError> {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&**error);
    let mut connect = false;
    while let Some(e) = cause {
        if let Some(proxy) = e.downcast_ref::<ProxyRefusal>() {
            return Some(TransportError::proxy(proxy.detail(), *proxy));
        }
        connect |= e.is::<ConnectFailed>();
        cause = e.source();
    }
    connect.then(|| TransportError::connect(format!("{error}")))
}

/// A connector's or handshake's failure, told apart from the pool's own signals.
#[derive(Debug)]
struct ConnectFailed(BoxError);

impl fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect: {}", self.0)
    }
}

impl StdError for ConnectFailed {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

// ---- Connections as hyper-util's parts keep them ----

/// What `poll_ready` of the pool's wrappers asks of a connection: can it take a request.
struct Probe;

/// An HTTP/1.1 connection as the cache keeps it.
struct Http1 {
    send: http1::SendRequest<Body0>,
    /// To a proxy in plain HTTP: requests go in absolute form.
    proxied: bool,
    abort: Option<Abort>,
    idle_since: Instant,
    /// Requests sent on it so far.
    served: u32,
    /// Given up on: never handed out again.
    retired: bool,
}

impl Http1 {
    /// Whether the cache may keep it at `now`: open, and idle less than `idle_timeout`.
    fn is_fresh(&self, idle_timeout: Duration, now: Instant) -> bool {
        !self.send.is_closed() && now.saturating_duration_since(self.idle_since) < idle_timeout
    }
}

impl Service<Probe> for Http1 {
    type Response = ();
    type Error = BoxError;
    type Future = std::future::Ready<Result<(), BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if self.retired {
            return Poll::Ready(Err("the connection was given up on".into()));
        }
        self.send.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, _: Probe) -> Self::Future {
        std::future::ready(Ok(()))
    }
}

/// The origin's HTTP/2 connection as the singleton keeps it (each call a clone).
#[derive(Clone)]
struct Http2 {
    send: SharedSend,
    state: Arc<Http2State>,
}

/// What every clone of an [`Http2`] shares.
struct Http2State {
    /// Set when the connection turned a request away: the singleton drops it.
    poisoned: AtomicBool,
    opened: Instant,
    /// When a call last took it, in milliseconds after `opened` (the pool idle timeout counts
    /// from there, as it does for an HTTP/1.1 connection from the end of its last answer).
    used_ms: AtomicU64,
}

impl Http2 {
    fn new(send: SharedSend) -> Self {
        Self {
            send,
            state: Arc::new(Http2State {
                poisoned: AtomicBool::new(false),
                opened: Instant::now(),
                used_ms: AtomicU64::new(0),
            }),
        }
    }

    fn poison(&self) {
        self.state.poisoned.store(true, Ordering::Release);
    }

    /// Taken by a call at `now`. Written only when the millisecond changed: every call of the
    /// origin shares this word, and a read of it stays cheap on other cores.
    fn used(&self, now: Instant) {
        let ms = self.ms_at(now);
        if self.state.used_ms.load(Ordering::Relaxed) < ms {
            self.state.used_ms.fetch_max(ms, Ordering::Relaxed);
        }
    }

    /// Neither poisoned nor closed.
    fn is_open(&self) -> bool {
        !self.state.poisoned.load(Ordering::Acquire) && !self.send.is_closed()
    }

    /// Whether the singleton may keep it at `now`: unused for less than `idle_timeout` (zero
    /// keeps none: every checkout then gets a connection of its own making).
    fn is_fresh(&self, idle_timeout: Duration, now: Instant) -> bool {
        let idle_ms = self
            .ms_at(now)
            .saturating_sub(self.state.used_ms.load(Ordering::Relaxed));
        u128::from(idle_ms) < idle_timeout.as_millis()
    }

    fn ms_at(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.state.opened);
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Never probed (only a checked-out HTTP/1.1 connection is); `Negotiated` needs both sides to
/// serve the same request type.
impl Service<Probe> for Http2 {
    type Response = ();
    type Error = BoxError;
    type Future = std::future::Ready<Result<(), BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Probe) -> Self::Future {
        std::future::ready(Ok(()))
    }
}

/// Hands out a clone of the connection (the singleton's `Singled` keeps its own).
impl Service<()> for Http2 {
    type Response = Http2;
    type Error = BoxError;
    type Future = std::future::Ready<Result<Http2, BoxError>>;

    /// Always ready: whether the connection is usable is the checkout's business (see
    /// [`Http2::is_open`]).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, (): ()) -> Self::Future {
        std::future::ready(Ok(self.clone()))
    }
}

/// hyper-util 0.1.21's `singleton`, used so that a batch has no waiter: a call while the
/// connection is being made waits here, under one lock per origin, and calls the singleton once
/// the making ended. Its futures forget nothing when they complete: a waiter dropped after its
/// batch ended removes its id from whatever batch is current (ids restart at 0 in each), which
/// leaves a waiter of that batch unwoken or makes hyper-util panic ("singleton participant
/// polled after making was canceled"; seen under `hot_swap` and
/// `misbehaving::refused_streams_fail_no_call_and_duplicate_none`). Without waiters, only a
/// batch's driver takes part, and it is polled and dropped under the lock.
#[derive(Clone)]
struct Serialized<S> {
    inner: S,
    shared: Arc<Mutex<Making>>,
}

/// Whether a call is making the connection, and the calls waiting for it to end.
#[derive(Default)]
struct Making {
    making: bool,
    waiting: Vec<std::task::Waker>,
}

impl<M> Serialized<Singleton<M, ()>>
where
    M: Service<(), Response = Http2>,
{
    fn new(inner: Singleton<M, ()>) -> Self {
        Self {
            inner,
            shared: Arc::default(),
        }
    }

    /// The singleton's `retain`, under the lock.
    fn retain(&mut self, keep: impl FnMut(&mut Http2) -> bool) {
        let _one_at_a_time = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.retain(keep);
    }
}

impl<M> Service<()> for Serialized<Singleton<M, ()>>
where
    M: Service<(), Response = Http2> + Clone + Unpin,
    M::Error: Into<BoxError>,
{
    type Response = <Singleton<M, ()> as Service<()>>::Response;
    type Error = <Singleton<M, ()> as Service<()>>::Error;
    type Future = SerializedFuture<Singleton<M, ()>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, (): ()) -> Self::Future {
        SerializedFuture {
            state: Calling::Waiting(self.inner.clone()),
            shared: Arc::clone(&self.shared),
        }
    }
}

/// A call of [`Serialized`].
struct SerializedFuture<S: Service<()>> {
    state: Calling<S>,
    shared: Arc<Mutex<Making>>,
}

enum Calling<S: Service<()>> {
    /// Not called yet (another call is making the connection).
    Waiting(S),
    /// Called; `drives` when this call makes the connection.
    Called {
        future: S::Future,
        drives: bool,
    },
    Done,
}

impl<M> Future for SerializedFuture<Singleton<M, ()>>
where
    M: Service<(), Response = Http2> + Clone + Unpin,
    M::Error: Into<BoxError>,
{
    type Output = Result<
        <Singleton<M, ()> as Service<()>>::Response,
        <Singleton<M, ()> as Service<()>>::Error,
    >;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut shared = this.shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Calling::Waiting(singleton) = &mut this.state {
            if shared.making {
                shared.waiting.push(cx.waker().clone());
                return Poll::Pending;
            }
            let drives = singleton.is_empty();
            shared.making = drives;
            let future = singleton.call(());
            this.state = Calling::Called { future, drives };
        }
        let Calling::Called { future, drives } = &mut this.state else {
            panic!("SerializedFuture polled after completion");
        };
        let output = std::task::ready!(Pin::new(future).poll(cx));
        if *drives {
            shared.making = false;
            shared.waiting.drain(..).for_each(std::task::Waker::wake);
        }
        // Dropped under the lock.
        this.state = Calling::Done;
        Poll::Ready(output)
    }
}

impl<S: Service<()>> Drop for SerializedFuture<S> {
    fn drop(&mut self) {
        if let Calling::Called { drives, .. } = &self.state {
            let drives = *drives;
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            self.state = Calling::Done;
            if drives {
                shared.making = false;
                shared.waiting.drain(..).for_each(std::task::Waker::wake);
            }
        }
    }
}

/// The cache's connector: the connection (inspected by negotiate: not `h2`), then hyper's
/// HTTP/1.1 handshake.
#[derive(Clone)]
struct Handshake1<C> {
    connect: C,
}

impl<C> Service<Uri> for Handshake1<C>
where
    C: Service<Uri, Response = Stream, Error = BoxError>,
    C::Future: Send + 'static,
{
    type Response = Http1;
    type Error = BoxError;
    type Future = BoxFuture<Result<Http1, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.connect.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.connect.call(uri);
        Box::pin(async move { http1_over(connecting.await?).await })
    }
}

/// The singleton's connector: the connection negotiate found to be `h2`, then hyper's HTTP/2
/// handshake.
#[derive(Clone)]
struct Handshake2<C> {
    connect: C,
}

impl<C> Service<()> for Handshake2<C>
where
    C: Service<(), Response = Stream, Error = BoxError>,
    C::Future: Send + 'static,
{
    type Response = Http2;
    type Error = BoxError;
    type Future = BoxFuture<Result<Http2, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.connect.poll_ready(cx)
    }

    fn call(&mut self, (): ()) -> Self::Future {
        let connecting = self.connect.call(());
        Box::pin(async move { http2_over(connecting.await?).await })
    }
}

/// hyper's HTTP/1.1 client connection over `stream`, driven by a task of its own.
async fn http1_over(stream: Stream) -> Result<Http1, BoxError> {
    let connected = stream.connected();
    let mut extras = http::Extensions::new();
    connected.get_extras(&mut extras);
    let (send, connection) = http1::Builder::new()
        .handshake(stream)
        .await
        .map_err(|e| ConnectFailed(e.into()))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "HTTP/1.1 connection ended");
        }
    });
    tracing::debug!(
        proxied = connected.is_proxied(),
        "HTTP/1.1 connection opened"
    );
    Ok(Http1 {
        send,
        proxied: connected.is_proxied(),
        abort: extras.remove::<Abort>(),
        idle_since: Instant::now(),
        served: 0,
        retired: false,
    })
}

/// hyper's HTTP/2 client connection over `stream`, driven by a task of its own: see
/// [`OneTask`].
async fn http2_over(stream: Stream) -> Result<Http2, BoxError> {
    let executor = OneTask::default();
    let (send, dispatch) = http2::Builder::new(executor.clone())
        .timer(TokioTimer::new())
        .handshake(stream)
        .await
        .map_err(|e| ConnectFailed(e.into()))?;
    let connection = executor.take_connection();
    let send = SharedSend::new(send);
    // Weak: the handle must go when the pool and the calls have dropped the connection (hyper's
    // dispatch ends when its last handle is dropped, and the connection closes after its
    // streams), not live as long as the dispatch it keeps going.
    let ended = send.downgrade();
    tokio::spawn(async move {
        let dispatch = async move {
            let dispatched = dispatch.await;
            // The dispatch (and its queue) is gone: the handle goes too, see [`SharedSend`].
            SharedSend::close(&ended);
            if let Err(error) = dispatched {
                tracing::debug!(%error, "HTTP/2 connection ended");
            }
        };
        match connection {
            Some(connection) => drop(futures_util::future::join(connection, dispatch).await),
            None => dispatch.await,
        }
    });
    tracing::debug!("HTTP/2 connection opened");
    Ok(Http2::new(send))
}

/// The one handle of hyper's HTTP/2 connection, shared by every clone of [`Http2`], and dropped
/// by the connection's task as soon as hyper's dispatch has ended. hyper's dispatch takes
/// requests off a tokio unbounded queue; when it ends (a graceful `GOAWAY`, the connection
/// closed) it drops the queue's receiver, which hands back every request queued, unsent. But a
/// send racing that drop (tokio 1.54 `mpsc::chan`: the sender counts its message in before the
/// receiver closes the queue, and writes it after the receiver has emptied it) leaves the
/// request in the queue, neither sent nor handed back, until the last handle of the queue is
/// dropped; a call holding a handle while it awaits its answer (as hyper-util's legacy
/// `Client` does, and we did) then waits for ever (seen: about 1 run in 150 of the graceful
/// `GOAWAY` stress, a call leased the connection, no stream opened for it, the connection
/// ended). Here no call holds a handle while it waits, and the connection's task drops the one
/// handle once the dispatch ended (under the lock every send takes, so after any send that
/// started): the queue is then freed, and a request left in it handed back, not processed. The
/// task holds it weakly: once the pool drops the connection (idle, poisoned) and no call holds
/// it, the handle goes, hyper's dispatch ends, and the connection closes after its streams.
#[derive(Clone)]
struct SharedSend(Arc<Mutex<Option<http2::SendRequest<Body0>>>>);

/// What hyper's HTTP/2 connection answers a request.
type Answer = Result<Response<Incoming>, TrySendError<Request<Body0>>>;

impl SharedSend {
    fn new(send: http2::SendRequest<Body0>) -> Self {
        Self(Arc::new(Mutex::new(Some(send))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<http2::SendRequest<Body0>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.lock()
            .as_ref()
            .is_none_or(http2::SendRequest::is_closed)
    }

    /// Queues `request` on the connection; the request back when the connection has ended.
    fn try_send_request(
        &self,
        request: Request<Body0>,
    ) -> Result<impl Future<Output = Answer> + use<>, Box<Request<Body0>>> {
        match self.lock().as_mut() {
            Some(send) => Ok(send.try_send_request(request)),
            None => Err(Box::new(request)),
        }
    }

    /// What the connection's task keeps: it holds the handle only while something else does.
    fn downgrade(&self) -> std::sync::Weak<Mutex<Option<http2::SendRequest<Body0>>>> {
        Arc::downgrade(&self.0)
    }

    /// Drops the handle, if any `Http2` still holds it (the connection's task, once the
    /// dispatch ended).
    fn close(shared: &std::sync::Weak<Mutex<Option<http2::SendRequest<Body0>>>>) {
        if let Some(shared) = shared.upgrade() {
            drop(SharedSend(shared).lock().take());
        }
    }
}

/// The executor of hyper's HTTP/2 client connection. hyper splits the connection in two
/// futures: h2's connection (reads and writes the frames; hyper gives it to the executor during
/// the handshake, the first future it gives) and the dispatch (returned by the handshake: takes
/// each request off the queue, opens its stream, then checks the connection is still usable).
/// Driven by two tasks, they run in parallel on a multi-threaded runtime, and a `GOAWAY` the
/// connection reads between the dispatch's opening of a stream and its check fails that stream
/// with the `GOAWAY`'s error, the request not handed back, although its `HEADERS` may already
/// be on the wire below the last stream id (processed: a GET with its end-of-stream flag is);
/// that error is the one a stream above the last id gets (not processed), so [`failed`] would
/// have a processed GET sent again. Here the connection's future is kept and driven in the
/// dispatch's task (`http2_over`): never in parallel, so a `GOAWAY` fails a stream only as
/// h2 says (above the last id) and a request taken after it is handed back unsent. Every other
/// future (a request's body, its response) is spawned.
#[derive(Clone, Default)]
struct OneTask {
    connection: Arc<Mutex<Captured>>,
}

/// What became of the first future hyper gave [`OneTask`].
#[derive(Default)]
enum Captured {
    #[default]
    Waiting,
    Held(BoxFuture<()>),
    Taken,
}

impl OneTask {
    /// The connection's future, once the handshake gave it (`None` if it gave none).
    fn take_connection(&self) -> Option<BoxFuture<()>> {
        let mut captured = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        match std::mem::replace(&mut *captured, Captured::Taken) {
            Captured::Held(connection) => Some(connection),
            Captured::Waiting | Captured::Taken => None,
        }
    }
}

impl<F> hyper::rt::Executor<F> for OneTask
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        let mut captured = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*captured, Captured::Waiting) {
            *captured = Captured::Held(Box::pin(future));
        } else {
            tokio::spawn(future);
        }
    }
}

/// A connection checked out of the cache (hyper-util's `Cached` within its `Negotiated`, whose
/// types cannot be named): back to the cache when dropped, unless it failed `poll_ready`.
trait Held: Send {
    fn connection(&mut self) -> &mut Http1;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>>;
}

struct Holding<C, F> {
    held: C,
    connection: F,
}

impl<C, F> Held for Holding<C, F>
where
    C: Service<Probe, Error = BoxError> + Send,
    F: for<'a> Fn(&'a mut C) -> &'a mut Http1 + Send,
{
    fn connection(&mut self) -> &mut Http1 {
        (self.connection)(&mut self.held)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.held.poll_ready(cx)
    }
}

/// A checked-out connection behind [`Held`]; `connection` reaches the [`Http1`] inside.
fn hold<C, F>(held: C, connection: F) -> Box<dyn Held>
where
    C: Service<Probe, Error = BoxError> + Send + 'static,
    F: for<'a> Fn(&'a mut C) -> &'a mut Http1 + Send + 'static,
{
    Box::new(Holding { held, connection })
}

/// An HTTP/1.1 connection a call holds: from the cache, or its own.
enum H1Conn {
    Pooled(Box<dyn Held>),
    Own(Http1),
}

impl H1Conn {
    fn connection(&mut self) -> &mut Http1 {
        match self {
            H1Conn::Pooled(held) => held.connection(),
            H1Conn::Own(connection) => connection,
        }
    }
}

/// The HTTP/1.1 connection of a call. Dropped while held (the call given up on, the answer's
/// body dropped unread), it closes the connection, which may be writing a request body nobody
/// waits for or be left with an answer unread; released after a whole answer, a pooled one goes
/// back to the cache once it can take a request.
struct H1Lease(Option<H1Conn>);

impl H1Lease {
    fn connection(&mut self) -> &mut Http1 {
        self.0.as_mut().expect("held until released").connection()
    }

    /// Whether the connection came from the pool and carried a request before this one.
    fn is_reused(&mut self) -> bool {
        matches!(self.0, Some(H1Conn::Pooled(_))) && self.connection().served > 0
    }

    /// After a whole answer: the connection back to the cache (when it can take the next
    /// request; a connection still writing the request body is kept out until then).
    fn release(mut self, idle_timeout: Duration) {
        let Some(H1Conn::Pooled(mut held)) = self.0.take() else {
            return; // its own connection closes when dropped
        };
        let connection = held.connection();
        connection.idle_since = Instant::now();
        if idle_timeout.is_zero() {
            connection.retired = true;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if held.poll_ready(&mut cx).is_pending() {
            tokio::spawn(async move {
                let _ = std::future::poll_fn(|cx| held.poll_ready(cx)).await;
            });
        }
    }
}

impl Drop for H1Lease {
    fn drop(&mut self) {
        let Some(mut held) = self.0.take() else {
            return;
        };
        let connection = held.connection();
        connection.retired = true;
        if let Some(abort) = &connection.abort {
            abort.abort();
        }
        if let H1Conn::Pooled(held) = &mut held {
            // Fails (retired): the cache drops it instead of taking it back.
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = held.poll_ready(&mut cx);
        }
    }
}

/// The response future of [`DefaultTransport`].
pub struct DefaultFuture {
    sending: BoxFuture<Result<Response<DefaultBody>, TransportError>>,
}

impl fmt::Debug for DefaultFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultFuture").finish_non_exhaustive()
    }
}

impl Future for DefaultFuture {
    type Output = Result<Response<DefaultBody>, TransportError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.sending.as_mut().poll(cx)
    }
}

pin_project! {
    /// The streaming response body of [`DefaultTransport`].
    pub struct DefaultBody {
        #[pin]
        inner: Incoming,
        // The HTTP/1.1 connection this body comes on, released at its end.
        lease: Option<(H1Lease, Duration)>,
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
            None => {
                if let Some((lease, idle_timeout)) = this.lease.take() {
                    lease.release(idle_timeout);
                }
            }
            Some(Ok(_)) if this.inner.is_end_stream() => {
                if let Some((lease, idle_timeout)) = this.lease.take() {
                    lease.release(idle_timeout);
                }
            }
            Some(Ok(_)) => {}
            // The connection is done for: closed, not pooled.
            Some(Err(_)) => drop(this.lease.take()),
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
    /// connections, those the client ended, and requests.
    struct TlsServer {
        port: u16,
        roots: rustls::RootCertStore,
        connections: Arc<std::sync::atomic::AtomicUsize>,
        ended: Arc<std::sync::atomic::AtomicUsize>,
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
            let ended = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let requests = Arc::new(Mutex::new(Vec::new()));
            let (counted, seen) = (connections.clone(), requests.clone());
            let ended_here = ended.clone();
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, seen) = (acceptor.clone(), seen.clone());
                    let ended = ended_here.clone();
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
                        ended.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
            Self {
                port,
                roots,
                connections,
                ended,
                requests,
            }
        }

        /// Waits (5 s at most) until the client has ended `n` connections.
        async fn ended(&self, n: usize) -> usize {
            let ended = || self.ended.load(std::sync::atomic::Ordering::SeqCst);
            for _ in 0..500 {
                if ended() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            ended()
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

    /// The pool idle timeout holds for the HTTP/2 connection too: unused that long, it is not
    /// used again (the singleton drops it at the next checkout); used sooner, it is. Fails when
    /// the singleton's `retain` ignores idleness.
    #[tokio::test]
    async fn an_http2_connection_idle_longer_than_the_pool_idle_timeout_is_not_used_again() {
        let server = TlsServer::start(&[b"h2"]).await;
        let idle = Duration::from_millis(400);
        let transport = DefaultTransport::with_tls(
            client_tls(server.roots.clone()),
            Duration::from_secs(5),
            idle,
            Proxy::none(),
        );
        let url = server.url();
        assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        assert_eq!(server.connections(), 1);
        tokio::time::sleep(idle + Duration::from_millis(200)).await;
        assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        assert_eq!(server.connections(), 2);
        assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
        assert_eq!(server.connections(), 2);
        // The expired connection is closed, not only left unused.
        assert_eq!(server.ended(1).await, 1);
    }

    /// A zero pool idle timeout keeps no HTTP/2 connection either: each call in turn gets one
    /// of its own.
    #[tokio::test]
    async fn with_a_zero_pool_idle_timeout_no_http2_connection_is_kept() {
        let server = TlsServer::start(&[b"h2"]).await;
        let transport = DefaultTransport::with_tls(
            client_tls(server.roots.clone()),
            Duration::from_secs(5),
            Duration::ZERO,
            Proxy::none(),
        );
        let url = server.url();
        for n in 1..=3 {
            assert_eq!(body_of(&transport, &url).await, "HTTP/2.0");
            assert_eq!(server.connections(), n);
        }
        // Each dropped from the pool at the next checkout, then closed.
        assert_eq!(server.ended(2).await, 2);
    }

    /// A [`TlsServer`] offering `h2` on a runtime of its own (so that the client's runtime counts
    /// only the client's tasks), stopped, with its connections, by [`ServerThread::stop`].
    struct ServerThread {
        uri: Uri,
        roots: rustls::RootCertStore,
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    }

    impl ServerThread {
        fn start() -> Self {
            let (started, port_and_roots) = std::sync::mpsc::channel();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                runtime.block_on(async move {
                    let server = TlsServer::start(&[b"h2"]).await;
                    started.send((server.port, server.roots.clone())).unwrap();
                    let _ = stopped.await;
                });
            });
            let (port, roots) = port_and_roots.recv().unwrap();
            let uri = format!("https://localhost:{port}/v1/AuthTokens")
                .parse()
                .unwrap();
            Self {
                uri,
                roots,
                stop,
                thread,
            }
        }

        /// A connection to the server, TLS and `h2` negotiated, no HTTP/2 yet.
        async fn connect(&self) -> Stream {
            let mut connector = Connector::new(
                client_tls(self.roots.clone()),
                Proxy::none(),
                Duration::from_secs(5),
            );
            let stream = connector.call(self.uri.clone()).await.unwrap();
            assert!(stream.connected().is_negotiated_h2());
            stream
        }

        fn get(&self) -> Request<Body0> {
            Request::get(self.uri.clone())
                .body(Full::new(Bytes::new()))
                .unwrap()
        }

        /// Stops the server's runtime: its connections close.
        fn stop(self) {
            self.stop.send(()).unwrap();
            self.thread.join().unwrap();
        }
    }

    /// The HTTP/2 connection is driven by one task (see [`OneTask`]): its h2 connection and
    /// hyper's dispatch never run in parallel. Counted on a runtime of the client's own (the
    /// server runs on another); fails when the connection's future is spawned apart.
    #[tokio::test]
    async fn an_http2_connection_is_driven_by_one_task() {
        let server = ServerThread::start();
        let stream = server.connect().await;
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();
        let connection = http2_over(stream).await.unwrap();
        assert_eq!(metrics.num_alive_tasks() - before, 1);
        let sending = connection.send.try_send_request(server.get()).ok().unwrap();
        assert_eq!(sending.await.unwrap().status(), StatusCode::OK);
        server.stop();
    }

    /// Once hyper's dispatch has ended (here the server went away), the connection's task drops
    /// the one handle of its queue ([`SharedSend`]), which frees the queue and hands back a
    /// request a racing send left in it; a request sent after is handed back at once. Fails when
    /// the task keeps the handle. (The race itself, a send preempted inside tokio's queue while
    /// the dispatch ends, cannot be staged from outside.)
    #[tokio::test]
    async fn an_ended_http2_connection_drops_its_handle_and_hands_requests_back() {
        let server = ServerThread::start();
        let connection = http2_over(server.connect().await).await.unwrap();
        let sending = connection.send.try_send_request(server.get()).ok().unwrap();
        assert_eq!(sending.await.unwrap().status(), StatusCode::OK);
        let request = server.get();
        server.stop();
        let dropped = async {
            while connection.send.lock().is_some() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), dropped)
            .await
            .expect("the handle outlived the dispatch");
        assert!(connection.send.is_closed());
        let unsent = connection.send.try_send_request(request).err();
        assert!(unsent.is_some(), "not handed back");
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
