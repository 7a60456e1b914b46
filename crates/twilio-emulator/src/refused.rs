//! Twilio error bodies for the requests the HTTP layer refuses on its own.
//!
//! hyper answers a request head it cannot take before the service ever sees it: `400` for
//! bytes that are not HTTP/1.1, `414` for a URI over 64 KiB, `431` for a head over its
//! buffer or with more than 100 headers. Those answers have an empty body, where Twilio
//! answers every error with its JSON body. [`RefusalRewriter`] wraps a connection's socket
//! and replaces such an answer, on its way out, with the same status carrying a Twilio error
//! body and `Connection: close` (hyper closes the connection after it either way).
//!
//! An answer is recognised by its status line (`HTTP/1.1 400 `, `414 ` or `431 `) together
//! with `content-length: 0`: the service's own answers always carry a body, so none of them
//! is ever rewritten.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::ApiError;
use crate::random::request_id;

/// A connection's socket that turns hyper's bare refusals into Twilio error responses.
#[derive(Debug)]
pub(crate) struct RefusalRewriter {
    inner: TcpStream,
    /// A replacement response not yet fully written, and how much of it has been.
    pending: Vec<u8>,
    written: usize,
}

impl RefusalRewriter {
    pub(crate) fn new(inner: TcpStream) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }

    /// The socket itself (for an injected reset).
    pub(crate) fn into_inner(self) -> TcpStream {
        self.inner
    }

    /// Writes what is left of a replacement response.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for RefusalRewriter {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for RefusalRewriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if let Some(replacement) = replacement_for(buf) {
            this.pending = replacement;
            // hyper's bytes are all "written" (replaced); the rest of the replacement goes
            // out on the next write, flush or shutdown if the socket is full now.
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The Twilio error response replacing `head` when it is one of hyper's bare refusals.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let status = match rest.get(..4)? {
        b"400 " => StatusCode::BAD_REQUEST,
        b"414 " => StatusCode::URI_TOO_LONG,
        b"431 " => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    // Only a complete head with no body: the status line and header lines.
    if end + 4 != head.len() {
        return None;
    }
    let lines: Vec<&[u8]> = head[..end].split(|&b| b == b'\n').collect();
    let is_empty_body = |line: &&[u8]| line.trim_ascii().eq_ignore_ascii_case(b"content-length: 0");
    if !lines.iter().any(is_empty_body) {
        return None;
    }
    let body = ApiError::refused_by_http_layer(status).body();
    let mut out = Vec::with_capacity(head.len() + body.len() + 160);
    for line in lines.iter().filter(|line| !is_empty_body(line)) {
        let line = line.trim_ascii_end();
        if line
            .get(..11)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"connection:"))
        {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-type: application/json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(format!("twilio-request-id: {}\r\n", request_id()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(response: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(response.to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.to_owned(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn bare_refusals_become_twilio_errors() {
        for (status, code) in [(431, 20431), (414, 20414), (400, 20001)] {
            let reason = StatusCode::from_u16(status)
                .unwrap()
                .canonical_reason()
                .unwrap();
            let bare = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\
                 date: Sat, 28 Nov 2026 15:00:00 GMT\r\n\r\n"
            );
            let replaced = replacement_for(bare.as_bytes()).expect("rewritten");
            let (head, body) = split(&replaced);
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status} {reason}\r\n")),
                "{head}"
            );
            assert!(
                head.contains("\r\ndate: Sat, 28 Nov 2026 15:00:00 GMT"),
                "{head}"
            );
            assert!(
                head.contains("\r\ncontent-type: application/json"),
                "{head}"
            );
            assert!(head.contains("\r\nconnection: close"), "{head}");
            assert!(!head.contains("content-length: 0"), "{head}");
            assert!(head.contains("\r\ntwilio-request-id: RQ"), "{head}");
            assert_eq!(body["status"], status);
            assert_eq!(body["code"], code);
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap();
            let body_len = replaced.len() - head.len() - 4;
            assert_eq!(length.parse::<usize>().unwrap(), body_len);
        }
    }

    #[test]
    fn the_services_own_answers_pass_through() {
        for head in [
            // A JSON error from the service (a 400, or an injected 431): it has a body.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 120\r\n\r\n"[..],
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 9\r\n\r\n{\"a\":1}",
            b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
            b"",
            b"HTTP/1.1 4",
        ] {
            assert_eq!(
                replacement_for(head),
                None,
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_writes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = replacement_for(&bytes);
            let mut prefixed = b"HTTP/1.1 431 x\r\n".to_vec();
            prefixed.extend_from_slice(&bytes);
            let _ = replacement_for(&prefixed);
        }
    }
}
