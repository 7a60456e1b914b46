//! Which proxy a request goes through: hyper-util's `Matcher` (the variables curl and reqwest
//! read), an explicit proxy URL, or none. Only `http://` proxies are spoken to; HTTPS
//! destinations go through them in a `CONNECT` tunnel, so the proxy carries TLS it cannot read.

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, Uri};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};

use crate::error::{ConfigError, ConfigErrorKind};

/// The proxy setting of the default transport.
///
/// - [`Proxy::from_env`] (the default): `HTTPS_PROXY` for `https` URLs, `HTTP_PROXY` for `http`
///   ones, `ALL_PROXY` for both when the specific one is unset, and `NO_PROXY` (a comma list of
///   hosts, domains with their subdomains, IP addresses or networks, or `*`), each upper or lower
///   case, read the way curl and reqwest read them, when the transport is built.
/// - [`Proxy::url`]: one proxy for every request, whatever the environment says.
/// - [`Proxy::none`]: connect directly.
///
/// Credentials in the proxy URL's user info (`http://user:password@proxy:3128`) are sent as
/// `Proxy-Authorization: Basic` on the `CONNECT` (or the plain HTTP request) and nowhere else;
/// `Debug` and errors never show them.
///
/// ```
/// use twilio_transport::Proxy;
///
/// let proxy = Proxy::url("http://user:secret@proxy.internal:3128")?;
/// assert!(!format!("{proxy:?}").contains("secret"));
/// # Ok::<(), twilio_transport::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Proxy {
    matcher: Option<Arc<Matcher>>,
    /// The explicit proxy URL, kept to rebuild the matcher with a `NO_PROXY` list.
    url: Option<Arc<str>>,
    /// What `Debug` shows: where the setting came from, never the URL's user info.
    origin: &'static str,
}

impl Proxy {
    /// The proxy variables of the environment, read now. In a CGI program (`REQUEST_METHOD`
    /// set) they are ignored, as curl and reqwest do: there `HTTP_PROXY` comes from a request
    /// header.
    pub fn from_env() -> Self {
        // `*` leaves out every host, as in curl; hyper-util's matcher applies it to host names
        // only, not to IP addresses.
        let no_proxy = ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|name| std::env::var(name).ok());
        if no_proxy.is_some_and(|list| list.trim() == "*") {
            return Self {
                origin: "environment",
                ..Self::none()
            };
        }
        Self {
            matcher: Some(Arc::new(Matcher::from_env())),
            url: None,
            origin: "environment",
        }
    }

    /// No proxy: every connection is made directly.
    pub fn none() -> Self {
        Self {
            matcher: None,
            url: None,
            origin: "none",
        }
    }

    /// Every request through the `http://` proxy at `url` (`http://[user:password@]host[:port]`,
    /// port 80 when absent).
    ///
    /// # Errors
    /// [`ConfigError`] of kind `InvalidProxy` when `url` is not such a URL (the message never
    /// repeats it, as it may hold a password).
    pub fn url(url: &str) -> Result<Self, ConfigError> {
        let invalid = |detail| ConfigError::new(ConfigErrorKind::InvalidProxy, detail);
        let uri: Uri = url
            .parse()
            .map_err(|_| invalid("the proxy URL cannot be parsed"))?;
        if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
            return Err(invalid("the proxy URL must start with http://"));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(invalid("the proxy URL has no host"));
        }
        if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(invalid("the proxy URL must not have a path or query"));
        }
        let matcher = Matcher::builder().all(url.to_owned()).build();
        Ok(Self {
            matcher: Some(Arc::new(matcher)),
            url: Some(url.into()),
            origin: "explicit",
        })
    }

    /// An explicit proxy that leaves out the hosts of `no_proxy`, a list in the syntax of the
    /// `NO_PROXY` variable (`localhost, .internal, 10.0.0.0/8`, or `*` for every host). No effect on
    /// [`from_env`](Self::from_env) (which reads `NO_PROXY` itself) or [`none`](Self::none).
    #[must_use]
    pub fn with_no_proxy(mut self, no_proxy: &str) -> Self {
        if no_proxy.trim() == "*" {
            self.matcher = None;
        } else if let Some(url) = &self.url {
            let matcher = Matcher::builder()
                .all(url.to_string())
                .no(no_proxy.to_owned())
                .build();
            self.matcher = Some(Arc::new(matcher));
        }
        self
    }

    /// The proxy for `destination`, if one is to be used.
    pub(super) fn route(&self, destination: &Uri) -> Option<Route> {
        let intercept = self.matcher.as_ref()?.intercept(destination)?;
        Some(Route::of(&intercept))
    }
}

impl Default for Proxy {
    /// [`Proxy::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Where the setting came from is what an operator needs; the URL may hold a password.
        f.debug_struct("Proxy")
            .field("from", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A proxy chosen for one destination.
#[derive(Clone)]
pub(super) struct Route {
    /// `http://host:port/` of the proxy, without user info.
    pub(super) uri: Uri,
    /// `Basic …` from the proxy URL's user info, marked sensitive.
    pub(super) auth: Option<HeaderValue>,
}

impl Route {
    fn of(intercept: &Intercept) -> Self {
        let auth = intercept.basic_auth().cloned().map(|mut value| {
            value.set_sensitive(true);
            value
        });
        Self {
            uri: intercept.uri().clone(),
            auth,
        }
    }

    /// Whether the transport can speak to this proxy (`http://` only: no TLS to the proxy, no
    /// SOCKS).
    pub(super) fn is_supported(&self) -> bool {
        self.uri.scheme() == Some(&http::uri::Scheme::HTTP)
    }

    /// Whether the proxy runs on this machine: the only proxy a plain `http` request (and its
    /// `Authorization`, readable by the proxy) may go to.
    pub(super) fn is_loopback(&self) -> bool {
        let host = self.uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Why a proxy did not carry a request: the source of a
/// [`TransportErrorKind::Proxy`](crate::TransportErrorKind::Proxy) error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyRefusal {
    /// The proxy answered `407 Proxy Authentication Required`.
    AuthRequired,
    /// The proxy answered the `CONNECT` with a status other than 200, or not in HTTP.
    TunnelRefused,
    /// The proxy URL's scheme is not `http` (TLS to the proxy and SOCKS are not supported).
    UnsupportedScheme,
    /// A plain `http` request would go to a proxy on another machine, which could read it
    /// (credentials included).
    PlainHttpToRemoteProxy,
}

impl ProxyRefusal {
    pub(crate) fn detail(self) -> &'static str {
        match self {
            Self::AuthRequired => {
                "the proxy asks for credentials (407 Proxy Authentication Required)"
            }
            Self::TunnelRefused => "the proxy refused to open a tunnel (CONNECT)",
            Self::UnsupportedScheme => "only http:// proxies are supported",
            Self::PlainHttpToRemoteProxy => {
                "a plain http request goes only to a proxy on this machine (add the host to NO_PROXY)"
            }
        }
    }
}

impl fmt::Display for ProxyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail())
    }
}

impl std::error::Error for ProxyRefusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_proxy_is_checked_and_never_shows_its_password() {
        for bad in [
            "proxy:3128",
            "https://proxy:3128",
            "socks5://proxy:1080",
            "http://",
            "http://proxy:3128/path",
            "not a url",
        ] {
            let error = Proxy::url(bad).unwrap_err();
            assert_eq!(error.kind(), ConfigErrorKind::InvalidProxy, "{bad}");
        }
        let proxy = Proxy::url("http://user:s3cr3t-pass@proxy.internal:3128").unwrap();
        assert!(!format!("{proxy:?}").contains("s3cr3t"));
        let route = proxy
            .route(&Uri::from_static("https://accounts.twilio.com/v1"))
            .unwrap();
        assert_eq!(route.uri, "http://proxy.internal:3128/");
        assert!(route.is_supported());
        let auth = route.auth.unwrap();
        assert!(auth.is_sensitive());
        assert!(!format!("{auth:?}").contains("dXNl"));
        // base64("user:s3cr3t-pass")
        assert_eq!(auth, "Basic dXNlcjpzM2NyM3QtcGFzcw==");
        let error = Proxy::url("http://user:s3cr3t-pass@proxy/x").unwrap_err();
        assert!(!format!("{error:?} {error}").contains("s3cr3t"));
    }

    #[test]
    fn no_proxy_leaves_hosts_out_of_an_explicit_proxy() {
        let proxy = Proxy::url("http://127.0.0.1:3128")
            .unwrap()
            .with_no_proxy("localhost, .internal");
        assert!(
            proxy
                .route(&Uri::from_static("https://api.internal/"))
                .is_none()
        );
        assert!(
            proxy
                .route(&Uri::from_static("http://localhost:8080/"))
                .is_none()
        );
        let route = proxy
            .route(&Uri::from_static("https://accounts.twilio.com/"))
            .unwrap();
        assert!(route.is_loopback());
        assert!(
            !Proxy::url("http://proxy.example:3128")
                .unwrap()
                .route(&Uri::from_static("http://127.0.0.1/"))
                .unwrap()
                .is_loopback()
        );
        assert!(
            Proxy::url("http://127.0.0.1:3128")
                .unwrap()
                .with_no_proxy("*")
                .route(&Uri::from_static("http://127.0.0.1:8080/"))
                .is_none()
        );
        // Nothing to leave out of no proxy at all.
        assert!(
            Proxy::none()
                .with_no_proxy("*")
                .route(&Uri::from_static("https://x/"))
                .is_none()
        );
    }

    const VARIABLES: [&str; 8] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ];
    const DESTINATIONS: [&str; 3] = [
        "https://accounts.twilio.com/v1",
        "http://127.0.0.1:4010/v1",
        "https://vault.internal/v1",
    ];

    /// Prints the proxy of each destination as `Proxy::from_env` reads the variables of this
    /// process; run in a child process by the test below, which sets them (a test cannot set its
    /// own process's variables safely).
    #[test]
    #[ignore = "run in a child process by proxy_variables_are_read_as_curl_reads_them"]
    fn print_the_routes_of_the_environment() {
        let proxy = Proxy::from_env();
        for destination in DESTINATIONS {
            let route = proxy.route(&Uri::from_static(destination));
            println!(
                "ROUTE {destination} {}",
                route.map_or("direct".to_owned(), |r| r.uri.to_string())
            );
        }
    }

    #[test]
    fn proxy_variables_are_read_as_curl_reads_them() {
        let direct = "direct";
        for (variables, expected) in [
            (
                &[("HTTPS_PROXY", "http://p1:1")][..],
                ["http://p1:1/", direct, "http://p1:1/"],
            ),
            (
                &[("https_proxy", "http://p1:1")],
                ["http://p1:1/", direct, "http://p1:1/"],
            ),
            (
                &[("HTTP_PROXY", "http://p2:2")],
                [direct, "http://p2:2/", direct],
            ),
            (&[("http_proxy", "p2:2")], [direct, "http://p2:2/", direct]),
            (
                &[("ALL_PROXY", "http://p3:3")],
                ["http://p3:3/", "http://p3:3/", "http://p3:3/"],
            ),
            (
                &[("all_proxy", "http://p3:3"), ("HTTPS_PROXY", "http://p1:1")],
                ["http://p1:1/", "http://p3:3/", "http://p1:1/"],
            ),
            (
                &[
                    ("ALL_PROXY", "http://p3:3"),
                    ("NO_PROXY", ".internal, 127.0.0.0/8"),
                ],
                ["http://p3:3/", direct, direct],
            ),
            (
                &[("ALL_PROXY", "http://p3:3"), ("no_proxy", "*")],
                [direct, direct, direct],
            ),
            (&[], [direct, direct, direct]),
        ] {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap());
            child.args([
                "--ignored",
                "--exact",
                "default_client::proxy::tests::print_the_routes_of_the_environment",
                "--nocapture",
                "--test-threads=1",
            ]);
            for name in VARIABLES.iter().chain(&["REQUEST_METHOD"]) {
                child.env_remove(name);
            }
            child.envs(variables.iter().copied());
            let output = child.output().unwrap();
            let printed = String::from_utf8_lossy(&output.stdout);
            for (destination, expected) in DESTINATIONS.iter().zip(expected) {
                // The harness may print its own text before the first line, never after one.
                let line = format!("ROUTE {destination} {expected}\n");
                assert!(
                    printed.contains(&line),
                    "{variables:?}: expected {line:?} in\n{printed}"
                );
            }
        }
    }

    #[test]
    fn none_routes_nothing() {
        let uri = Uri::from_static("https://accounts.twilio.com/v1");
        assert!(Proxy::none().route(&uri).is_none());
    }
}
