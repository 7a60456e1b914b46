//! [`BaseUrl`]: where requests go (scheme + authority), region/edge host rewriting, and
//! [`BaseUrlLayer`], which turns the path-and-query URIs of endpoint crates into absolute ones.

use std::fmt;
use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv6Addr};
use std::task::{Context, Poll};

use futures_util::future::Either;
use http::Request;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use tower::{Layer, Service};

use crate::error::{ConfigError, ConfigErrorKind, TransportError};

/// The Twilio host of the Accounts v1 API, used when no base URL is given.
pub const DEFAULT_HOST: &str = "accounts.twilio.com";

/// The scheme and authority every request goes to, e.g. `https://accounts.twilio.com`.
///
/// Only `https` is accepted, except plain `http` for loopback hosts (`127.0.0.0/8`, `::1`,
/// `localhost`), for emulators and tests. `Display` prints it without a trailing `/`.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
}

impl BaseUrl {
    /// Parses `https://host[:port]` (an optional trailing `/` is allowed; no path, query,
    /// fragment or user info).
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidBaseUrl`, or `InsecureBaseUrl` for `http` to a host that
    /// is not loopback.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |detail| ConfigError::new(ConfigErrorKind::InvalidBaseUrl, detail);
        let uri: Uri = url
            .parse()
            .map_err(|e| invalid("base URL is not a valid URL").with_source(e))?;
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(invalid("base URL must be absolute (scheme://host)"));
        };
        if let Some(pq) = &parts.path_and_query
            && (!(pq.path().is_empty() || pq.path() == "/") || pq.query().is_some())
        {
            return Err(invalid("base URL must not have a path or query"));
        }
        if authority.as_str().contains('@') {
            return Err(invalid("base URL must not contain user info"));
        }
        if authority.host().is_empty() {
            return Err(invalid("base URL has no host"));
        }
        if scheme == Scheme::HTTP {
            if !is_loopback(authority.host()) {
                return Err(ConfigError::new(
                    ConfigErrorKind::InsecureBaseUrl,
                    "plain http is allowed only for loopback hosts; use https",
                ));
            }
        } else if scheme != Scheme::HTTPS {
            return Err(invalid(
                "base URL scheme must be https (or http for loopback)",
            ));
        }
        Ok(Self { scheme, authority })
    }

    /// The default, `https://accounts.twilio.com`.
    pub fn twilio() -> Self {
        Self {
            scheme: Scheme::HTTPS,
            authority: Authority::from_static(DEFAULT_HOST),
        }
    }

    /// `https://accounts.<edge>.<region>.twilio.com` and so on, rewritten as the official SDKs do:
    /// an edge without a region uses region `us1`; a region or edge already in the host is
    /// replaced by the one given.
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidRegionOrEdge` when a value is not a DNS label or this base
    /// URL is not a `twilio.com` host.
    pub fn with_region_edge(
        &self,
        region: Option<&str>,
        edge: Option<&str>,
    ) -> Result<Self, ConfigError> {
        if region.is_none() && edge.is_none() {
            return Ok(self.clone());
        }
        for label in region.iter().chain(edge.iter()) {
            if !is_dns_label(label) {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidRegionOrEdge,
                    "region and edge must be DNS labels (a-z, 0-9, '-')",
                ));
            }
        }
        let host = self.host();
        if !is_twilio_host(host) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidRegionOrEdge,
                "region and edge apply only to twilio.com hosts",
            ));
        }
        let rewritten = rewrite_host(host, region, edge);
        let authority = match self.port() {
            Some(port) => format!("{rewritten}:{port}"),
            None => rewritten,
        };
        let authority = Authority::try_from(authority).map_err(|e| {
            ConfigError::new(
                ConfigErrorKind::InvalidRegionOrEdge,
                "rewritten host is invalid",
            )
            .with_source(e)
        })?;
        Ok(Self {
            scheme: self.scheme.clone(),
            authority,
        })
    }

    /// `"https"` or `"http"`.
    pub fn scheme(&self) -> &str {
        self.scheme.as_str()
    }

    /// The host (IPv6 addresses keep their brackets).
    pub fn host(&self) -> &str {
        self.authority.host()
    }

    /// The explicit port, if the URL had one.
    pub fn port(&self) -> Option<u16> {
        self.authority.port_u16()
    }

    /// True when the host is `*.twilio.com`, so region/edge rewriting applies.
    pub fn is_twilio(&self) -> bool {
        is_twilio_host(self.host())
    }

    /// True when `uri` is an absolute URI on this base's origin: the same scheme, host (both
    /// compared without regard to case) and port (an absent port is the scheme's default), and
    /// no user info. The
    /// one "same origin" check: [`resolve`](Self::resolve) uses it for request URIs and the
    /// endpoint crates for the links a response carries (`next_page_url`).
    pub fn same_origin(&self, uri: &Uri) -> bool {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return false;
        };
        let default_port = |scheme: &str| {
            if scheme.eq_ignore_ascii_case("https") {
                Some(443)
            } else if scheme.eq_ignore_ascii_case("http") {
                Some(80)
            } else {
                None
            }
        };
        // User info (`user@host`) is never part of this origin: a base URL has none.
        !authority.as_str().contains('@')
            && scheme.eq_ignore_ascii_case(self.scheme())
            && authority.host().eq_ignore_ascii_case(self.host())
            && authority.port_u16().or_else(|| default_port(scheme))
                == self.port().or_else(|| default_port(self.scheme()))
    }

    /// Resolves a request URI against this base: a path-and-query URI gets this scheme and
    /// authority; an absolute URI is accepted only when its scheme and authority are these.
    ///
    /// # Errors
    /// A [`TransportError`] of kind `InvalidRequest` otherwise.
    pub fn resolve(&self, uri: Uri) -> Result<Uri, TransportError> {
        let absolute = uri.scheme().is_some() || uri.authority().is_some();
        let same_origin = absolute && self.same_origin(&uri);
        let mut parts = uri.into_parts();
        match (&parts.scheme, &parts.authority) {
            (None, None) => {}
            (Some(_), Some(_)) if same_origin => {}
            (Some(_), Some(_)) => {
                return Err(TransportError::invalid_request(
                    "absolute URI does not match the base URL's scheme and host",
                ));
            }
            _ => {
                return Err(TransportError::invalid_request(
                    "URI must be a path and query",
                ));
            }
        }
        let path_ok = parts
            .path_and_query
            .as_ref()
            .is_some_and(|pq| pq.path().starts_with('/'));
        if !path_ok {
            if parts.path_and_query.is_none() {
                parts.path_and_query = Some(PathAndQuery::from_static("/"));
            } else {
                return Err(TransportError::invalid_request(
                    "URI path must start with '/'",
                ));
            }
        }
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        Uri::from_parts(parts)
            .map_err(|_| TransportError::invalid_request("URI cannot be made absolute"))
    }

    /// [`resolve`](Self::resolve) on `request`'s URI, in place (what [`BaseUrlLayer`] and
    /// `HttpClient::send` do to every request).
    pub(crate) fn resolve_request<B>(
        &self,
        request: &mut Request<B>,
    ) -> Result<(), TransportError> {
        let uri = std::mem::take(request.uri_mut());
        *request.uri_mut() = self.resolve(uri)?;
        Ok(())
    }
}

impl Default for BaseUrl {
    fn default() -> Self {
        Self::twilio()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({self})")
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_twilio_host(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    lower.ends_with(".twilio.com")
}

/// `product[.edge][.region].twilio.com`, following twilio-python's `get_hostname`.
fn rewrite_host(host: &str, region: Option<&str>, edge: Option<&str>) -> String {
    let pieces: Vec<&str> = host.split('.').collect();
    let prefix = pieces[0];
    let suffix = &pieces[pieces.len() - 2..];
    let (mut cur_edge, mut cur_region) = (None, None);
    match pieces.len() {
        4 => cur_region = Some(pieces[1]),
        5 => {
            cur_edge = Some(pieces[1]);
            cur_region = Some(pieces[2]);
        }
        _ => {}
    }
    let edge = edge.or(cur_edge);
    let region = region.or(cur_region).or(edge.map(|_| "us1"));
    let mut out = String::from(prefix);
    for part in [edge, region].into_iter().flatten() {
        out.push('.');
        out.push_str(part);
    }
    for part in suffix {
        out.push('.');
        out.push_str(part);
    }
    out
}

/// A layer that makes every request URI absolute against a [`BaseUrl`] (see
/// [`BaseUrl::resolve`]); a rejected URI fails the call before the inner service sees it.
#[derive(Debug, Clone)]
pub struct BaseUrlLayer {
    base: BaseUrl,
}

impl BaseUrlLayer {
    /// Resolves against `base`.
    pub fn new(base: BaseUrl) -> Self {
        Self { base }
    }
}

impl<S> Layer<S> for BaseUrlLayer {
    type Service = BaseUrlService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        BaseUrlService {
            inner,
            base: self.base.clone(),
        }
    }
}

/// The service made by [`BaseUrlLayer`].
#[derive(Debug, Clone)]
pub struct BaseUrlService<S> {
    inner: S,
    base: BaseUrl,
}

impl<S, B> Service<Request<B>> for BaseUrlService<S>
where
    S: Service<Request<B>>,
    S::Error: From<TransportError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<S::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match self.base.resolve_request(&mut req) {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(e) => Either::Left(ready(Err(e.into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt as _;

    #[test]
    fn region_and_edge_rewrite_like_the_official_sdks() {
        let b = BaseUrl::twilio();
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, None, "https://accounts.twilio.com"),
            (
                Some("au1"),
                Some("sydney"),
                "https://accounts.sydney.au1.twilio.com",
            ),
            (
                None,
                Some("sydney"),
                "https://accounts.sydney.us1.twilio.com",
            ),
            (Some("ie1"), None, "https://accounts.ie1.twilio.com"),
        ];
        for (region, edge, want) in cases {
            assert_eq!(
                b.with_region_edge(*region, *edge).unwrap().to_string(),
                *want
            );
        }
        // A region already in the host is replaced; an existing edge is kept.
        let existing = BaseUrl::parse("https://accounts.dublin.ie1.twilio.com").unwrap();
        assert_eq!(
            existing
                .with_region_edge(Some("au1"), None)
                .unwrap()
                .to_string(),
            "https://accounts.dublin.au1.twilio.com"
        );
        let with_port = BaseUrl::parse("https://accounts.twilio.com:8443/").unwrap();
        assert_eq!(
            with_port
                .with_region_edge(Some("au1"), None)
                .unwrap()
                .to_string(),
            "https://accounts.au1.twilio.com:8443"
        );
    }

    #[test]
    fn region_edge_rejects_bad_labels_and_foreign_hosts() {
        let b = BaseUrl::twilio();
        for bad in ["", "AU1", "a.b", "-x", "x y"] {
            let e = b.with_region_edge(Some(bad), None).unwrap_err();
            assert_eq!(e.kind(), ConfigErrorKind::InvalidRegionOrEdge, "{bad:?}");
        }
        let local = BaseUrl::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            local
                .with_region_edge(Some("au1"), None)
                .unwrap_err()
                .kind(),
            ConfigErrorKind::InvalidRegionOrEdge
        );
    }

    #[test]
    fn http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://localhost:1",
            "http://[::1]:80",
            "https://example.com/",
        ] {
            let b = BaseUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!b.to_string().ends_with('/'));
        }
        for insecure in [
            "http://accounts.twilio.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "http://[::2]",
        ] {
            assert_eq!(
                BaseUrl::parse(insecure).unwrap_err().kind(),
                ConfigErrorKind::InsecureBaseUrl,
                "{insecure}"
            );
        }
        for invalid in [
            "accounts.twilio.com",
            "ftp://x.com",
            "https://x.com/v1",
            "https://x.com?a=b",
            "https://u:p@x.com",
            "/v1",
            "",
        ] {
            assert_eq!(
                BaseUrl::parse(invalid).unwrap_err().kind(),
                ConfigErrorKind::InvalidBaseUrl,
                "{invalid}"
            );
        }
        let b = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (b.scheme(), b.host(), b.port()),
            ("http", "127.0.0.1", Some(8080))
        );
    }

    #[test]
    fn same_origin_compares_scheme_host_and_port() {
        let b = BaseUrl::twilio();
        let same = |u: &str| b.same_origin(&u.parse().unwrap());
        assert!(same("https://accounts.twilio.com/v1/x?Page=1"));
        assert!(same("HTTPS://Accounts.Twilio.com/v1/x"));
        assert!(
            same("https://accounts.twilio.com:443/v1/x"),
            "the default port"
        );
        for other in [
            "/v1/x",
            "http://accounts.twilio.com/v1/x",
            "https://accounts.twilio.com:8443/v1/x",
            "https://accounts.twilio.com.evil.com/v1/x",
            "https://user@accounts.twilio.com/v1/x",
            "https://api.twilio.com/v1/x",
        ] {
            assert!(!same(other), "{other}");
        }
        let local = BaseUrl::parse("http://127.0.0.1:4010").unwrap();
        assert!(local.same_origin(&"http://127.0.0.1:4010/v1/x".parse().unwrap()));
        assert!(!local.same_origin(&"http://127.0.0.1/v1/x".parse().unwrap()));
        let default_port = BaseUrl::parse("http://localhost").unwrap();
        assert!(default_port.same_origin(&"http://localhost:80/".parse().unwrap()));
    }

    #[test]
    fn resolve_accepts_relative_and_matching_absolute_only() {
        let b = BaseUrl::twilio();
        let ok = b
            .resolve("/v1/Credentials/AWS?PageSize=50".parse().unwrap())
            .unwrap();
        assert_eq!(
            ok.to_string(),
            "https://accounts.twilio.com/v1/Credentials/AWS?PageSize=50"
        );
        let same = b
            .resolve("https://ACCOUNTS.twilio.com/v1/x".parse().unwrap())
            .unwrap();
        assert_eq!(same.path(), "/v1/x");
        for bad in [
            "https://evil.com/v1/x",
            "http://accounts.twilio.com/v1/x",
            "https://accounts.twilio.com:444/v1/x",
            "https://user@accounts.twilio.com/v1/x",
            "accounts.twilio.com:443",
        ] {
            let e = b.resolve(bad.parse().unwrap()).unwrap_err();
            assert!(e.is_invalid_request(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Any text: an error or a base URL that keeps the rules (https, or http to loopback
        /// only) and prints back to itself.
        #[test]
        fn parse_never_panics_and_keeps_the_rules(url in "\\PC{0,40}") {
            if let Ok(base) = BaseUrl::parse(&url) {
                proptest::prop_assert!(
                    base.scheme() == "https" || (base.scheme() == "http" && is_loopback(base.host()))
                );
                proptest::prop_assert_eq!(BaseUrl::parse(&base.to_string()).ok(), Some(base));
            }
        }

        /// URL-like text with arbitrary hosts and ports.
        #[test]
        fn parse_urls_with_any_host(
            scheme in "https?|ftp",
            host in "[a-zA-Z0-9.\\-\\[\\]:@]{0,30}",
            port in proptest::option::of(proptest::prelude::any::<u16>()),
        ) {
            let url = match port {
                Some(p) => format!("{scheme}://{host}:{p}"),
                None => format!("{scheme}://{host}"),
            };
            if let Ok(base) = BaseUrl::parse(&url) {
                proptest::prop_assert!(base.scheme() == "https" || is_loopback(base.host()));
                proptest::prop_assert!(!base.to_string().contains('@'));
            }
        }
    }

    #[tokio::test]
    async fn layer_fails_before_calling_inner() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        let svc = BaseUrlLayer::new(BaseUrl::twilio()).layer(tower::service_fn(
            move |req: Request<()>| {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { Ok::<_, TransportError>(req.uri().to_string()) }
            },
        ));
        let ok = svc
            .clone()
            .oneshot(Request::get("/v1/a").body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(ok, "https://accounts.twilio.com/v1/a");
        let err = svc
            .oneshot(Request::get("https://evil.com/v1/a").body(()).unwrap())
            .await
            .unwrap_err();
        assert!(err.is_invalid_request());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
