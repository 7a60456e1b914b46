//! How a connection is made: TCP by hyper-util's `HttpConnector`, directly or through an
//! `http://` proxy (hyper-util's `Tunnel` sends the `CONNECT` for HTTPS destinations), then TLS by
//! hyper-rustls; one timeout over all of it. Each connection carries an [`Abort`] handle, with
//! which a call that gives up on an HTTP/1.1 connection closes its socket.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower::Service;

use super::ConnectFailed;
use super::proxy::{Proxy, ProxyRefusal};
use crate::error::BoxError;

pub(super) type Https = hyper_rustls::HttpsConnector<Direct>;

/// The connector the client uses: TLS (for `https`) over [`Direct`], within the connect timeout.
#[derive(Clone)]
pub(super) struct Connector {
    inner: Arc<Https>,
    timeout: Duration,
}

impl Connector {
    pub(super) fn new(tls: rustls::ClientConfig, proxy: Proxy, timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(Direct { tcp, proxy });
        Self {
            inner: Arc::new(https),
            timeout,
        }
    }
}

/// A connection the connector made: plain or TLS, perhaps through a proxy.
pub(super) type Stream = <Https as Service<Uri>>::Response;

impl Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    /// Always ready, like the connectors inside.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connect = Https::clone(&self.inner).call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connect).await {
                Ok(result) => result.map_err(|e| ConnectFailed(e).into()),
                Err(_) => Err(ConnectFailed(
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connect and TLS handshake timed out",
                    )
                    .into(),
                )
                .into()),
            }
        })
    }
}

/// The TCP part: to the destination, or to the proxy chosen for it (tunnelled for `https`,
/// plain for `http`, where the client then sends the absolute URI).
#[derive(Clone)]
pub(super) struct Direct {
    tcp: HttpConnector,
    proxy: Proxy,
}

type TunnelError = <Tunnel<HttpConnector> as Service<Uri>>::Error;

impl Service<Uri> for Direct {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let route = self.proxy.route(&destination);
        Box::pin(async move {
            let Some(route) = route else {
                return Ok(Conn::new(tcp.call(destination).await?, false));
            };
            if !route.is_supported() {
                return Err(ProxyRefusal::UnsupportedScheme.into());
            }
            if destination.scheme() != Some(&http::uri::Scheme::HTTPS) {
                return Ok(Conn::new(tcp.call(route.uri).await?, true));
            }
            let mut tunnel = Tunnel::new(route.uri, tcp);
            if let Some(auth) = route.auth {
                tunnel = tunnel.with_auth(auth);
            }
            match tunnel.call(destination).await {
                Ok(io) => Ok(Conn::new(io, false)),
                Err(TunnelError::ProxyAuthRequired) => Err(ProxyRefusal::AuthRequired.into()),
                Err(TunnelError::ConnectFailed(cause)) => Err(cause),
                Err(TunnelError::Io(cause)) => Err(cause.into()),
                Err(_) => Err(ProxyRefusal::TunnelRefused.into()),
            }
        })
    }
}

/// A TCP connection (perhaps a tunnel) with its [`Abort`] handle, and whether it goes to an
/// HTTP proxy (so that the client sends absolute URIs on it).
pub(super) struct Conn {
    io: TokioIo<TcpStream>,
    proxied: bool,
    abort: Abort,
}

impl Conn {
    fn new(io: TokioIo<TcpStream>, proxied: bool) -> Self {
        Self {
            io,
            proxied,
            abort: Abort::default(),
        }
    }

    /// Fails the read or write once aborted: hyper then drops the connection, closing it.
    fn check(&self, cx: &mut Context<'_>) -> io::Result<()> {
        self.abort.0.waker.register(cx.waker());
        if self.abort.0.aborted.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the call gave up on this connection",
            ));
        }
        Ok(())
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io
            .connected()
            .proxy(self.proxied)
            .extra(self.abort.clone())
    }
}

impl Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// Closes a connection from outside its task: the next read or write on it fails, and the task
/// is woken to make one.
#[derive(Clone, Default)]
pub(super) struct Abort(Arc<AbortState>);

#[derive(Default)]
struct AbortState {
    aborted: AtomicBool,
    waker: AtomicWaker,
}

impl Abort {
    pub(super) fn abort(&self) {
        self.0.aborted.store(true, Ordering::Release);
        self.0.waker.wake();
    }
}
