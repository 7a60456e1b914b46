//! [`IdleList`], the default transport's idle connections: which connection a request takes,
//! which one is too old to take, and where a finished one goes. No I/O and no clock of its own
//! (the caller passes the time), so it is tested alone, with stand-in connections.

use std::collections::VecDeque;
use std::time::Duration;

use http::Uri;
use http::uri::{Authority, Scheme};
use tokio::time::Instant;

/// Where a connection goes: a URI's scheme and authority. Compared byte by byte (ASCII case
/// folded), not hashed: a client talks to one origin, two or three at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    scheme: Scheme,
    authority: Authority,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URI; `None` for any other URI.
    pub(super) fn of(uri: &Uri) -> Option<Self> {
        let scheme = uri.scheme()?;
        if *scheme != Scheme::HTTP && *scheme != Scheme::HTTPS {
            return None;
        }
        Some(Self {
            scheme: scheme.clone(),
            authority: uri.authority()?.clone(),
        })
    }

    pub(super) fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    pub(super) fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Whether `uri` goes to this origin (the request's own URI, compared without a copy).
    fn is_of(&self, uri: &Uri) -> bool {
        uri.scheme() == Some(&self.scheme) && uri.authority() == Some(&self.authority)
    }
}

/// What the list needs to know about a connection.
pub(super) trait Liveness {
    /// True once the connection can send nothing more (closed by either side).
    fn is_closed(&self) -> bool;
}

struct Entry<C> {
    origin: Origin,
    conn: C,
    /// When it went idle (HTTP/1) or was last handed out (HTTP/2).
    since: Instant,
}

impl<C> Entry<C> {
    fn is_expired(&self, now: Instant, timeout: Duration) -> bool {
        now.saturating_duration_since(self.since) >= timeout
    }
}

/// The idle connections of a pool. An HTTP/1.1 connection carries one request at a time: it is
/// taken out while it does and put back when its response has been read. An HTTP/2 connection
/// carries many at once, so it stays in the list and each request gets a handle to it. A
/// connection unused for the idle timeout is never handed out again (the server may have closed
/// it meanwhile); it is dropped, which closes it, the next time the list is used or reaped.
pub(super) struct IdleList<H1, H2> {
    /// Oldest first: `since` never decreases along it, so the expired ones are a prefix.
    http1: VecDeque<Entry<H1>>,
    http2: Vec<Entry<H2>>,
    timeout: Duration,
    /// Whether a reaper is running for this list (see [`IdleList::reap`]).
    reaping: bool,
}

impl<H1: Liveness, H2: Liveness + Clone> IdleList<H1, H2> {
    pub(super) fn new(timeout: Duration) -> Self {
        Self {
            http1: VecDeque::new(),
            http2: Vec::new(),
            timeout,
            reaping: false,
        }
    }

    /// Drops the connections idle for the timeout: the HTTP/1.1 ones at the front, and HTTP/2
    /// ones that idled out or closed.
    fn drop_expired(&mut self, now: Instant) {
        let timeout = self.timeout;
        while self
            .http1
            .front()
            .is_some_and(|entry| entry.is_expired(now, timeout))
        {
            self.http1.pop_front();
        }
        self.http2
            .retain(|entry| !entry.is_expired(now, timeout) && !entry.conn.is_closed());
    }

    /// True when something was just kept and no reaper runs yet: the caller starts one, which
    /// calls [`reap`](Self::reap) every idle timeout until the list is empty.
    fn wants_reaper(&mut self) -> bool {
        let start = !self.reaping;
        self.reaping = true;
        start
    }

    /// The reaper's round: drops what idled out or closed, whatever its place in the list;
    /// returns whether to go on (there is something left to reap), else the reaper ends.
    pub(super) fn reap(&mut self, now: Instant) -> bool {
        self.drop_expired(now);
        self.http1.retain(|entry| !entry.conn.is_closed());
        self.reaping = !(self.http1.is_empty() && self.http2.is_empty());
        self.reaping
    }

    /// The reaper [`wants_reaper`](Self::wants_reaper) asked for did not start, or ended early:
    /// the next connection kept asks for another.
    pub(super) fn reaper_not_started(&mut self) {
        self.reaping = false;
    }

    /// How long a reaper waits between rounds: the idle timeout.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A connection to `uri`'s origin, if one is idle and usable: an HTTP/2 connection shared,
    /// else the HTTP/1.1 connection that went idle last (the one least likely to have been
    /// closed by the server).
    pub(super) fn take(&mut self, uri: &Uri, now: Instant) -> Option<Taken<H1, H2>> {
        self.drop_expired(now);
        // HTTP/2 first: usually empty, else one connection per origin.
        if let Some(entry) = self.http2.iter_mut().find(|entry| entry.origin.is_of(uri)) {
            entry.since = now;
            return Some(Taken::Http2(entry.conn.clone()));
        }
        let mut i = self.http1.len();
        while i > 0 {
            i -= 1;
            if self.http1[i].origin.is_of(uri) {
                let entry = self.http1.remove(i)?;
                if !entry.conn.is_closed() {
                    return Some(Taken::Http1(entry.conn));
                }
            }
        }
        None
    }

    /// Puts back an HTTP/1.1 connection whose response has been read (a closed one, or any with
    /// a zero idle timeout, is dropped instead). True when the caller must start a reaper.
    #[must_use = "start a reaper when asked"]
    pub(super) fn put_http1(&mut self, origin: Origin, conn: H1, now: Instant) -> bool {
        self.drop_expired(now);
        if conn.is_closed() || self.timeout.is_zero() {
            return false;
        }
        self.http1.push_back(Entry {
            origin,
            conn,
            since: now,
        });
        self.wants_reaper()
    }

    /// Keeps a new HTTP/2 connection for other requests to share, unless one to the same origin
    /// is already kept (requests that connect at once each open one; the others close once their
    /// requests are done) or the idle timeout is zero. True when the caller must start a reaper.
    #[must_use = "start a reaper when asked"]
    pub(super) fn add_http2(&mut self, origin: Origin, conn: &H2, now: Instant) -> bool {
        self.drop_expired(now);
        if self.timeout.is_zero() || self.http2.iter().any(|entry| entry.origin == origin) {
            return false;
        }
        self.http2.push(Entry {
            origin,
            conn: conn.clone(),
            since: now,
        });
        self.wants_reaper()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.http1.len() + self.http2.len()
    }
}

/// A connection handed out by [`IdleList::take`].
#[derive(Debug)]
pub(super) enum Taken<H1, H2> {
    Http1(H1),
    Http2(H2),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// A stand-in connection: a name, and a switch the test flips to close it.
    #[derive(Debug, Clone)]
    struct Conn {
        name: &'static str,
        closed: Arc<AtomicBool>,
    }

    impl Conn {
        fn new(name: &'static str) -> Self {
            Self {
                name,
                closed: Arc::new(AtomicBool::new(false)),
            }
        }

        fn close(&self) {
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    impl Liveness for Conn {
        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::SeqCst)
        }
    }

    const A: &str = "https://accounts.twilio.com/v1/AuthTokens";
    const B: &str = "http://127.0.0.1:8080/v1/Credentials";

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    fn origin(text: &str) -> Origin {
        Origin::of(&uri(text)).unwrap()
    }

    fn name(taken: Option<Taken<Conn, Conn>>) -> Option<String> {
        taken.map(|taken| match taken {
            Taken::Http1(conn) => format!("h1 {}", conn.name),
            Taken::Http2(conn) => format!("h2 {}", conn.name),
        })
    }

    const IDLE: Duration = Duration::from_secs(90);

    #[test]
    fn origins_are_the_scheme_and_the_authority_of_absolute_http_uris() {
        assert_eq!(origin(A), origin("https://ACCOUNTS.twilio.com/other?x=1"));
        assert_ne!(origin(A), origin("http://accounts.twilio.com/v1"));
        assert_ne!(origin(A), origin("https://accounts.twilio.com:8443/v1"));
        for bad in [
            "/v1/AuthTokens",
            "ftp://example.com/x",
            "accounts.twilio.com:443",
        ] {
            assert_eq!(Origin::of(&uri(bad)), None, "{bad}");
        }
        assert!(origin(A).is_of(&uri("https://accounts.twilio.com/v1/Credentials/AWS")));
        assert!(!origin(A).is_of(&uri("/v1/Credentials/AWS")));
    }

    #[test]
    fn the_last_idle_connection_to_the_origin_is_taken_first() {
        let now = Instant::now();
        let mut list = IdleList::<Conn, Conn>::new(IDLE);
        assert_eq!(name(list.take(&uri(A), now)), None);
        let _ = list.put_http1(origin(A), Conn::new("a1"), now);
        let _ = list.put_http1(origin(B), Conn::new("b1"), now);
        let _ = list.put_http1(origin(A), Conn::new("a2"), now + Duration::from_secs(1));
        let later = now + Duration::from_secs(2);
        assert_eq!(name(list.take(&uri(A), later)).as_deref(), Some("h1 a2"));
        assert_eq!(name(list.take(&uri(A), later)).as_deref(), Some("h1 a1"));
        assert_eq!(name(list.take(&uri(A), later)), None);
        assert_eq!(name(list.take(&uri(B), later)).as_deref(), Some("h1 b1"));
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn closed_connections_are_dropped_not_handed_out() {
        let now = Instant::now();
        let mut list = IdleList::<Conn, Conn>::new(IDLE);
        let (a1, a2) = (Conn::new("a1"), Conn::new("a2"));
        let _ = list.put_http1(origin(A), a1.clone(), now);
        let _ = list.put_http1(origin(A), a2.clone(), now);
        a2.close();
        assert_eq!(name(list.take(&uri(A), now)).as_deref(), Some("h1 a1"));
        assert_eq!(list.len(), 0);
        // Nor kept when it comes back closed.
        a1.close();
        let _ = list.put_http1(origin(A), a1, now);
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn a_connection_idle_for_the_timeout_is_dropped() {
        let now = Instant::now();
        let mut list = IdleList::<Conn, Conn>::new(IDLE);
        let _ = list.put_http1(origin(B), Conn::new("old"), now);
        let _ = list.put_http1(origin(A), Conn::new("a"), now + Duration::from_secs(10));
        // Just before the timeout both are there; at it, the first is gone, whatever its origin.
        let almost = now + IDLE - Duration::from_nanos(1);
        assert_eq!(list.len(), 2);
        assert_eq!(name(list.take(&uri(A), almost)).as_deref(), Some("h1 a"));
        let _ = list.put_http1(origin(A), Conn::new("a"), almost);
        assert_eq!(
            name(list.take(&uri(A), now + IDLE)).as_deref(),
            Some("h1 a")
        );
        assert_eq!(list.len(), 0);
        // A zero timeout keeps nothing for reuse.
        let mut none = IdleList::<Conn, Conn>::new(Duration::ZERO);
        let _ = none.put_http1(origin(A), Conn::new("a"), now);
        assert_eq!(name(none.take(&uri(A), now)), None);
    }

    #[test]
    fn an_http2_connection_is_shared_until_it_closes_or_idles_out() {
        let now = Instant::now();
        let mut list = IdleList::<Conn, Conn>::new(IDLE);
        let h2 = Conn::new("a");
        let _ = list.add_http2(origin(A), &h2, now);
        // A second connection to the same origin is not kept; one to another origin is.
        let _ = list.add_http2(origin(A), &Conn::new("a-again"), now);
        let _ = list.add_http2(origin(B), &Conn::new("b"), now);
        let _ = list.put_http1(origin(A), Conn::new("a1"), now);
        for _ in 0..3 {
            assert_eq!(name(list.take(&uri(A), now)).as_deref(), Some("h2 a"));
        }
        assert_eq!(list.len(), 3);
        // Each use restarts its idle time.
        let later = now + IDLE - Duration::from_secs(1);
        assert_eq!(name(list.take(&uri(A), later)).as_deref(), Some("h2 a"));
        assert_eq!(
            name(list.take(&uri(A), later + IDLE - Duration::from_secs(1))).as_deref(),
            Some("h2 a")
        );
        // Closed: dropped, and the next request falls back to what else is idle (here nothing:
        // the HTTP/1.1 connection idled out meanwhile).
        h2.close();
        assert_eq!(name(list.take(&uri(A), later + IDLE)), None);
        let _ = list.add_http2(origin(A), &Conn::new("a2"), later + IDLE);
        assert_eq!(
            name(list.take(&uri(A), later + IDLE)).as_deref(),
            Some("h2 a2")
        );
    }

    #[test]
    fn a_reaper_is_asked_for_once_and_runs_until_the_list_is_empty() {
        let now = Instant::now();
        let mut list = IdleList::<Conn, Conn>::new(IDLE);
        assert!(list.put_http1(origin(A), Conn::new("a1"), now));
        let closed = Conn::new("a2");
        assert!(!list.put_http1(origin(A), closed.clone(), now));
        assert!(!list.put_http1(origin(B), Conn::new("b1"), now + Duration::from_secs(5)));
        assert!(!list.add_http2(origin(B), &Conn::new("b2"), now));
        // A round before the timeout drops only what closed, wherever it is in the list.
        closed.close();
        assert!(list.reap(now + Duration::from_secs(1)));
        assert_eq!(list.len(), 3);
        assert!(list.reap(now + IDLE));
        assert_eq!(
            name(list.take(&uri(B), now + IDLE)).as_deref(),
            Some("h1 b1")
        );
        // Empty: the reaper ends, and the next connection kept asks for a new one.
        assert!(!list.reap(now + IDLE));
        assert!(list.put_http1(origin(A), Conn::new("a3"), now + IDLE));
        assert!(!list.put_http1(origin(A), Conn::new("a4"), now + IDLE));
    }

    #[test]
    fn a_zero_idle_timeout_keeps_nothing_and_needs_no_reaper() {
        let now = Instant::now();
        let mut list = IdleList::<Conn, Conn>::new(Duration::ZERO);
        assert!(!list.put_http1(origin(A), Conn::new("a"), now));
        assert!(!list.add_http2(origin(A), &Conn::new("h2"), now));
        assert_eq!(list.len(), 0);
        assert_eq!(name(list.take(&uri(A), now)), None);
    }
}
