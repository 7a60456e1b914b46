//! Where a record lives in Vault/OpenBao: the server's address, the KV v2 mount and the path,
//! parsed from the CLI's `vault://` URL form or given piece by piece.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::{StoreError, StoreErrorKind};

/// Vault's default listener port.
const DEFAULT_PORT: u16 = 8200;

/// The address of a Vault/OpenBao server: `https://HOST:PORT`, or `http://` on a loopback host
/// only (a dev server on the same machine), so a token never crosses a network in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultAddress {
    tls: bool,
    host: String,
    port: u16,
}

impl VaultAddress {
    /// An `https` address.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if `host` is not a DNS name, an IPv4 address or a bracketed
    /// IPv6 address, or `port` is 0.
    pub fn https(host: &str, port: u16) -> Result<Self, StoreError> {
        Self::new(true, host, port).map_err(invalid)
    }

    /// A plain `http` address, for a server on a loopback host (`localhost`, `127.0.0.0/8`,
    /// `[::1]`) only.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if `host` is not a loopback host, or as for
    /// [`https`](Self::https).
    pub fn loopback_http(host: &str, port: u16) -> Result<Self, StoreError> {
        Self::new(false, host, port).map_err(invalid)
    }

    fn new(tls: bool, host: &str, port: u16) -> Result<Self, String> {
        check_host(host)?;
        if port == 0 {
            return Err("the port must be between 1 and 65535".into());
        }
        if !tls && !is_loopback(host) {
            return Err(format!(
                "plain http is allowed only to a loopback host (localhost, 127.0.0.1, [::1]), \
                 not `{host}`: the Vault token would cross the network in clear; use https"
            ));
        }
        Ok(Self {
            tls,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Parses a `VAULT_ADDR` value: `https://HOST[:PORT]` or `http://LOOPBACK[:PORT]`, with at
    /// most a trailing `/`.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] naming what is wrong.
    pub fn parse(addr: &str) -> Result<Self, StoreError> {
        Self::parse_addr(addr).map_err(invalid)
    }

    fn parse_addr(addr: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = addr.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = addr.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(
                "a Vault address starts with `https://` (or `http://` for a loopback dev server)"
                    .into(),
            );
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(
                "a Vault address is `scheme://host[:port]`, without a path, query or fragment"
                    .into(),
            );
        }
        let (host, port) = split_authority(authority)?;
        Self::new(tls, host, port)
    }

    /// Whether the connection uses TLS (`https`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The host (lower case; an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// One record's place in Vault/OpenBao: a server, a KV v2 mount and a path in it.
///
/// The record is the KV v2 secret `MOUNT/data/PATH`; followers' heartbeats are the secrets
/// under `MOUNT/data/PATH.followers/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultLocation {
    address: VaultAddress,
    mount: String,
    path: String,
}

impl VaultLocation {
    /// The record at `path` in the KV v2 engine mounted at `mount` (each may hold several
    /// `/`-separated segments, e.g. a mount `team/kv`).
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if a segment is empty, `.` or `..`, or holds a character
    /// other than ASCII letters, digits and `-_.~@:+=`.
    pub fn new(address: VaultAddress, mount: &str, path: &str) -> Result<Self, StoreError> {
        check_segments("mount", mount).map_err(invalid)?;
        check_segments("path", path).map_err(invalid)?;
        Ok(Self {
            address,
            mount: mount.to_owned(),
            path: path.to_owned(),
        })
    }

    /// Parses the CLI's URL form:
    ///
    /// * `vault://HOST[:PORT]/MOUNT/PATH`: https to `HOST` (port 8200 by default);
    /// * `vault+http://HOST[:PORT]/MOUNT/PATH`: plain http, to a loopback host only;
    /// * `vault:///MOUNT/PATH` (no host): the server in `vault_addr` (the `VAULT_ADDR`
    ///   variable).
    ///
    /// `MOUNT` is the first segment; `PATH` is the rest (one segment or more). For a mount with
    /// a `/` in its name use [`new`](Self::new).
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] naming what is wrong (never echoing a user-info part, which
    /// could be a credential).
    pub fn parse(url: &str, vault_addr: Option<&str>) -> Result<Self, StoreError> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("vault://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("vault+http://") {
            (false, rest)
        } else {
            return Err(invalid(
                "a Vault store URL is `vault://HOST[:PORT]/MOUNT/PATH` \
                 (or `vault+http://` for a dev server on a loopback host)",
            ));
        };
        if rest.contains(['?', '#']) {
            return Err(invalid(
                "a Vault store URL takes no query or fragment: `vault://HOST[:PORT]/MOUNT/PATH`",
            ));
        }
        let (authority, full_path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err(invalid(
                "a Vault store URL carries no credentials: give the token in VAULT_TOKEN",
            ));
        }
        let address = if authority.is_empty() {
            let addr = vault_addr.filter(|a| !a.is_empty()).ok_or_else(|| {
                invalid("the store URL names no Vault server and VAULT_ADDR is not set")
            })?;
            let address =
                VaultAddress::parse_addr(addr).map_err(|e| invalid(format!("VAULT_ADDR: {e}")))?;
            if !tls && address.tls {
                return Err(invalid(
                    "`vault+http:///` asks for plain http but VAULT_ADDR is https",
                ));
            }
            address
        } else {
            let (host, port) = split_authority(authority).map_err(invalid)?;
            VaultAddress::new(tls, host, port).map_err(invalid)?
        };
        let (mount, path) = full_path.split_once('/').ok_or_else(|| {
            invalid("a Vault store URL needs a mount and a path: `vault://HOST/MOUNT/PATH`")
        })?;
        Self::new(address, mount, path)
    }

    /// The server.
    pub fn address(&self) -> &VaultAddress {
        &self.address
    }

    /// The KV v2 mount.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The record's path in the mount.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// The URL form [`VaultLocation::parse`] reads back (`vault://` or `vault+http://`).
impl fmt::Display for VaultLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.address.tls {
            "vault"
        } else {
            "vault+http"
        };
        write!(
            f,
            "{scheme}://{}:{}/{}/{}",
            self.address.host, self.address.port, self.mount, self.path
        )
    }
}

/// Splits `host[:port]` (an IPv6 host in brackets), the port defaulting to 8200.
fn split_authority(authority: &str) -> Result<(&str, u16), String> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let (host, rest) = authority.split_at(end + 1);
                match rest {
                    "" => (host, None),
                    _ => match rest.strip_prefix(':') {
                        Some(port) => (host, Some(port)),
                        None => return Err("unexpected text after the IPv6 address".into()),
                    },
                }
            }
            None => return Err("an IPv6 host needs its closing `]`".into()),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or("the port must be a number between 1 and 65535")?,
    };
    Ok((host, port))
}

/// A DNS name, an IPv4 address or a bracketed IPv6 address.
fn check_host(host: &str) -> Result<(), String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(drop)
            .map_err(|_| "the host in brackets is not an IPv6 address".into());
    }
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if labels_ok {
        Ok(())
    } else {
        Err("the host must be a DNS name, an IPv4 address or an IPv6 address in brackets".into())
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`: the rule of twilio-transport's `BaseUrl` for plain
/// http, repeated here because the store may not depend on the transport (layering).
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The characters allowed in a mount or path segment: they need no escaping in a URL path.
fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~@:+=".contains(&b)
}

fn check_segments(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    for segment in value.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!("the {what} has an empty, `.` or `..` segment"));
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !c.is_ascii() || !is_segment_byte(*c as u8))
        {
            return Err(format!(
                "the {what} holds {bad:?}: use ASCII letters, digits and `-_.~@:+=`"
            ));
        }
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Invalid, message)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(url: &str) -> Result<VaultLocation, String> {
        VaultLocation::parse(url, None).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_the_url_forms() {
        let l = parse("vault://vault.example.com/secret/twilio/prod").unwrap();
        assert_eq!(l.address().to_string(), "https://vault.example.com:8200");
        assert!(l.address().is_tls());
        assert_eq!((l.mount(), l.path()), ("secret", "twilio/prod"));

        let l = parse("vault://Vault.Example.com:443/kv/app").unwrap();
        assert_eq!(l.address().to_string(), "https://vault.example.com:443");
        assert_eq!(l.to_string(), "vault://vault.example.com:443/kv/app");

        let l = parse("vault+http://127.0.0.1:18200/secret/app").unwrap();
        assert_eq!(l.address().to_string(), "http://127.0.0.1:18200");
        assert!(!l.address().is_tls());
        assert_eq!(l.to_string(), "vault+http://127.0.0.1:18200/secret/app");

        let l = parse("vault+http://[::1]/secret/app").unwrap();
        assert_eq!(l.address().to_string(), "http://[::1]:8200");
        let l = parse("vault+http://localhost:1/secret/a.b/c-d_e~f@g:h+i=j").unwrap();
        assert_eq!(l.path(), "a.b/c-d_e~f@g:h+i=j");
        let l = parse("vault://[2001:db8::1]:8443/secret/app").unwrap();
        assert_eq!(l.address().host(), "[2001:db8::1]");
        assert_eq!(l.address().port(), 8443);
    }

    #[test]
    fn takes_the_server_from_vault_addr_when_the_url_names_none() {
        let l =
            VaultLocation::parse("vault:///secret/app", Some("https://v.example:8200/")).unwrap();
        assert_eq!(l.address().to_string(), "https://v.example:8200");
        let l = VaultLocation::parse("vault:///secret/app", Some("http://127.0.0.1:9")).unwrap();
        assert!(!l.address().is_tls());
        let l = VaultLocation::parse("vault+http:///secret/app", Some("http://localhost")).unwrap();
        assert_eq!(l.address().to_string(), "http://localhost:8200");

        let err = |addr: Option<&str>, url: &str| {
            VaultLocation::parse(url, addr).unwrap_err().to_string()
        };
        assert!(err(None, "vault:///secret/app").contains("VAULT_ADDR is not set"));
        assert!(err(Some(""), "vault:///secret/app").contains("VAULT_ADDR is not set"));
        assert!(
            err(Some("v.example"), "vault:///secret/app").starts_with("token store: VAULT_ADDR: ")
        );
        assert!(err(Some("https://v/x"), "vault:///secret/app").contains("without a path"));
        assert!(err(Some("http://10.0.0.1"), "vault:///secret/app").contains("loopback"));
        assert!(err(Some("https://v"), "vault+http:///secret/app").contains("VAULT_ADDR is https"));
    }

    #[test]
    fn refuses_bad_urls_with_a_reason() {
        let cases = [
            ("", "a Vault store URL is"),
            ("https://v.example/secret/app", "a Vault store URL is"),
            ("vault:/v/secret/app", "a Vault store URL is"),
            ("vault://v.example", "needs a mount and a path"),
            ("vault://v.example/secret", "needs a mount and a path"),
            ("vault://v.example/secret/", "the path is empty"),
            ("vault://v.example//app", "the mount is empty"),
            (
                "vault://v.example/secret/a//b",
                "empty, `.` or `..` segment",
            ),
            (
                "vault://v.example/secret/../sys",
                "empty, `.` or `..` segment",
            ),
            ("vault://v.example/secret/a b", "holds ' '"),
            ("vault://v.example/secret/%2e%2e", "holds '%'"),
            ("vault://v.example/secret/é", "holds 'é'"),
            (
                "vault://v.example/secret/app?tls=false",
                "no query or fragment",
            ),
            ("vault://v.example/secret/app#x", "no query or fragment"),
            (
                "vault://user:hunter2@v.example/secret/app",
                "carries no credentials",
            ),
            ("vault://v.example:0/secret/app", "port must be"),
            ("vault://v.example:99999/secret/app", "port must be"),
            ("vault://v.example:+80/secret/app", "port must be"),
            ("vault://v.example:/secret/app", "port must be"),
            ("vault://-bad-.example/secret/app", "must be a DNS name"),
            ("vault://v_x.example/secret/app", "must be a DNS name"),
            ("vault://[::1/secret/app", "closing `]`"),
            ("vault://[::1]x/secret/app", "after the IPv6 address"),
            ("vault://[zz]/secret/app", "not an IPv6 address"),
            (
                "vault+http://vault.example.com/secret/app",
                "only to a loopback host",
            ),
            (
                "vault+http://10.1.2.3/secret/app",
                "only to a loopback host",
            ),
        ];
        for (url, expected) in cases {
            let err = VaultLocation::parse(url, None).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Invalid, "{url}");
            assert!(err.to_string().contains(expected), "{url}: {err}");
        }
        // The user-info part (perhaps a credential) is never echoed.
        let err = parse("vault://user:hunter2@v.example/secret/app").unwrap_err();
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn addresses_check_their_parts() {
        assert!(VaultAddress::https("v.example", 8200).is_ok());
        assert!(VaultAddress::https("v.example", 0).is_err());
        assert!(VaultAddress::https("", 1).is_err());
        assert!(VaultAddress::loopback_http("127.0.0.2", 1).is_ok());
        assert!(VaultAddress::loopback_http("v.example", 1).is_err());
        assert!(VaultAddress::parse("https://v.example").is_ok());
        assert!(VaultAddress::parse("ftp://v.example").is_err());
        assert!(VaultAddress::parse("https://v.example?x").is_err());
    }

    fn segment() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_~@:+=-][A-Za-z0-9._~@:+=-]{0,11}"
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}",
            any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", Ipv6Addr::from(s))),
        ]
    }

    proptest! {
        /// Any string: a location or an Invalid error, never a panic.
        #[test]
        fn never_panics(url in "\\PC{0,80}", addr in proptest::option::of("\\PC{0,40}")) {
            if let Err(e) = VaultLocation::parse(&url, addr.as_deref()) {
                prop_assert_eq!(e.kind(), StoreErrorKind::Invalid);
            }
        }

        /// Near-valid URLs (the grammar's own pieces, shuffled): no panic either.
        #[test]
        fn never_panics_near_the_grammar(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("vault://"), Just("vault+http://"), Just("/"), Just(":"), Just("["),
                    Just("]"), Just("@"), Just("?"), Just("."), Just(".."), Just("localhost"),
                    Just("::1"), Just("8200"), Just("secret"), Just("99999"),
                ],
                0..12,
            )
        ) {
            let url = pieces.concat();
            if let Err(e) = VaultLocation::parse(&url, Some("http://127.0.0.1:1")) {
                prop_assert_eq!(e.kind(), StoreErrorKind::Invalid);
            }
        }

        /// A location's URL form reads back as the same location.
        #[test]
        fn display_parses_back(
            host in host(),
            port in 1u16..,
            tls in any::<bool>(),
            mount in proptest::collection::vec(segment(), 1..2),
            path in proptest::collection::vec(segment(), 1..4),
        ) {
            prop_assume!(mount.iter().chain(&path).all(|s| s != "." && s != ".."));
            let host = if tls { host } else { "127.0.0.1".to_owned() };
            let address = if tls {
                VaultAddress::https(&host, port)
            } else {
                VaultAddress::loopback_http(&host, port)
            };
            let location = VaultLocation::new(address.unwrap(), &mount.join("/"), &path.join("/")).unwrap();
            let parsed = VaultLocation::parse(&location.to_string(), None).unwrap();
            prop_assert_eq!(parsed, location);
        }

        /// A path segment with any character outside the allowed set is refused.
        #[test]
        fn odd_characters_are_refused(c in any::<char>(), prefix in segment()) {
            let allowed = c.is_ascii() && is_segment_byte(c as u8);
            prop_assume!(!allowed && !"/?#".contains(c));
            let url = format!("vault://v.example/secret/{prefix}{c}");
            let err = VaultLocation::parse(&url, None).unwrap_err();
            prop_assert!(err.to_string().contains("holds"), "{}", err);
        }
    }
}
