//! Which URLs a signature is checked against: the variants the official validators try, and
//! nothing looser.
//!
//! Twilio's back end is not consistent about the port: the official validators (twilio-python
//! 9.13 `RequestValidator.validate`, twilio-node 6.3 `validateRequest`) check the URL as
//! received **without** its port and **with** it (the scheme's default port added when it has
//! none). twilio-python compares the URL as `urllib` re-assembles it (scheme lowercased, an empty
//! `?` or `#` dropped); twilio-node then tries the URL as normalised by WHATWG `new URL()`
//! (percent-encoding, dot segments, lowercase host, default port dropped), with and without
//! its query string re-encoded by Node's legacy `querystring` module. [`candidates`] returns
//! exactly that union.

use std::fmt::Write as _;

/// Why a URL cannot be a webhook URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUrl;

/// The parts of an absolute `http(s)://` URL, split without normalising anything (as
/// twilio-node's `splitUrl`).
struct Split<'a> {
    /// `https://` as written.
    scheme: &'a str,
    /// `user:pass@`, or empty.
    user_info: &'a str,
    host: &'a str,
    /// `:8443` (with the colon), or empty.
    port: &'a str,
    /// Path, query and fragment.
    rest: &'a str,
}

impl<'a> Split<'a> {
    fn of(url: &'a str) -> Result<Self, InvalidUrl> {
        let scheme_end = url.find("://").ok_or(InvalidUrl)?;
        let scheme_name = &url[..scheme_end];
        if !(scheme_name.eq_ignore_ascii_case("http") || scheme_name.eq_ignore_ascii_case("https"))
        {
            return Err(InvalidUrl);
        }
        if url.bytes().any(|b| b < b' ' || b == 0x7f) {
            return Err(InvalidUrl);
        }
        let after = scheme_end + 3;
        let authority_len = url[after..]
            .find(['/', '?', '#'])
            .unwrap_or(url.len() - after);
        let authority = &url[after..after + authority_len];
        let host_start = authority.rfind('@').map_or(0, |at| at + 1);
        let host_and_port = &authority[host_start..];
        // A colon starts the port only after the closing bracket of an IPv6 literal.
        let search_from = host_and_port.rfind(']').map_or(0, |b| b + 1);
        let port_start = host_and_port[search_from..]
            .find(':')
            .map(|i| i + search_from);
        let (host, port) = match port_start {
            Some(i) => host_and_port.split_at(i),
            None => (host_and_port, ""),
        };
        if host.is_empty() {
            return Err(InvalidUrl);
        }
        Ok(Self {
            scheme: &url[..after],
            user_info: &authority[..host_start],
            host,
            port,
            rest: &url[after + authority_len..],
        })
    }

    fn is_https(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("https://")
    }

    fn without_port(&self) -> String {
        [self.scheme, self.user_info, self.host, self.rest].concat()
    }

    fn with_port(&self) -> String {
        let port = match (self.port, self.is_https()) {
            ("", true) => ":443",
            ("", false) => ":80",
            (port, _) => port,
        };
        [self.scheme, self.user_info, self.host, port, self.rest].concat()
    }
}

/// The URLs a signature for a request to `url` is accepted for, without duplicates, the
/// as-received forms first.
///
/// # Errors
///
/// [`InvalidUrl`] when `url` is not an absolute `http://` or `https://` URL with a host and
/// without control characters.
#[cfg(test)]
pub(crate) fn candidates(url: &str) -> Result<Vec<String>, InvalidUrl> {
    let mut out = as_received(url)?;
    out.extend(normalised(url, &out));
    Ok(out)
}

/// The URL as received, without and with its port (what both official validators check
/// first, and what a genuine request matches).
///
/// # Errors
///
/// As [`candidates`].
pub(crate) fn as_received(url: &str) -> Result<Vec<String>, InvalidUrl> {
    let split = Split::of(url)?;
    let (without, with) = (split.without_port(), split.with_port());
    Ok(if without == with {
        vec![without]
    } else {
        vec![without, with]
    })
}

/// The other variants the official validators accept for `url` (a valid URL: see
/// [`as_received`]), leaving out those in `already`: the re-assembled and normalised forms.
pub(crate) fn normalised(url: &str, already: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |candidate: String| {
        if !already.contains(&candidate) && !out.contains(&candidate) {
            out.push(candidate);
        }
    };
    // twilio-python: as `urlparse(...).geturl()` re-assembles it.
    let python = python_geturl(url);
    if python != url
        && let Ok(split) = Split::of(&python)
    {
        push(split.without_port());
        push(split.with_port());
    }
    // twilio-node: as normalised by `new URL()`, and with its legacy query string.
    if let Some(split) = whatwg_normalise(url)
        .as_deref()
        .and_then(|n| Split::of(n).ok())
    {
        let (without, with) = (split.without_port(), split.with_port());
        let (legacy_without, legacy_with) =
            (legacy_querystring(&without), legacy_querystring(&with));
        push(without);
        push(with);
        push(legacy_without);
        push(legacy_with);
    }
    out
}

/// The URL as Python's `urlparse(url).geturl()` gives it back: scheme lowercased, an empty
/// query or fragment dropped with its `?` or `#`.
fn python_geturl(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let scheme_end = before_query.find("://").unwrap_or(0);
    let mut out = before_query[..scheme_end].to_ascii_lowercase();
    out.push_str(&before_query[scheme_end..]);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// What WHATWG `new URL(url).toString()` gives for an `http(s)` URL with an ASCII host name or
/// dotted-quad IPv4 address and no user info; `None` for anything else (an IPv6 or
/// internationalised host, user info, a host `new URL` would refuse): no normalised variant is
/// tried for those, which can only reject more, never accept more.
fn whatwg_normalise(url: &str) -> Option<String> {
    let split = Split::of(url).ok()?;
    if !split.user_info.is_empty() || split.rest.contains('\\') {
        return None;
    }
    let https = split.is_https();
    let host = split.host;
    let host_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !host_ok || host.starts_with('.') || host.contains("..") {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let last_label = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    if last_label.starts_with(|c: char| c.is_ascii_digit()) && !is_canonical_ipv4(&host) {
        return None;
    }
    let mut out = String::with_capacity(url.len() + 8);
    out.push_str(if https { "https://" } else { "http://" });
    out.push_str(&host);
    if let Some(port) = split.port.strip_prefix(':')
        && !port.is_empty()
    {
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = port.trim_start_matches('0');
        if digits.len() > 5 {
            return None;
        }
        let number: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        if number > 65535 {
            return None;
        }
        if number != if https { 443 } else { 80 } {
            let _ = write!(out, ":{number}");
        }
    }
    let rest = split.rest;
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    normalise_path(path, &mut out);
    if let Some(query) = query {
        out.push('?');
        percent_encode(query, &mut out, |b| {
            matches!(b, b' ' | b'"' | b'#' | b'<' | b'>' | b'\'')
        });
    }
    if let Some(fragment) = fragment {
        out.push('#');
        percent_encode(fragment, &mut out, |b| {
            matches!(b, b' ' | b'"' | b'<' | b'>' | b'`')
        });
    }
    Some(out)
}

fn is_canonical_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// WHATWG path state for a special scheme: dot segments resolved, the path percent-encode set
/// applied, an empty path serialised as `/`.
fn normalise_path(path: &str, out: &mut String) {
    let mut segments: Vec<String> = Vec::new();
    let body = path.strip_prefix('/').unwrap_or(path);
    let pieces: Vec<&str> = body.split('/').collect();
    let last = pieces.len() - 1;
    for (i, piece) in pieces.into_iter().enumerate() {
        let at_end = i == last;
        let lower = piece.to_ascii_lowercase();
        let double_dot = matches!(lower.as_str(), ".." | ".%2e" | "%2e." | "%2e%2e");
        let single_dot = matches!(lower.as_str(), "." | "%2e");
        if double_dot {
            segments.pop();
            if at_end {
                segments.push(String::new());
            }
        } else if single_dot {
            if at_end {
                segments.push(String::new());
            }
        } else {
            let mut segment = String::with_capacity(piece.len());
            percent_encode(piece, &mut segment, |b| {
                matches!(
                    b,
                    b' ' | b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}'
                )
            });
            segments.push(segment);
        }
    }
    if segments.is_empty() {
        out.push('/');
    }
    for segment in segments {
        out.push('/');
        out.push_str(&segment);
    }
}

/// Appends `text` with C0 controls, DEL, non-ASCII bytes and the bytes `extra` selects
/// percent-encoded (uppercase hex); `%` itself is kept.
fn percent_encode(text: &str, out: &mut String, extra: impl Fn(u8) -> bool) {
    for &byte in text.as_bytes() {
        if !(0x20..0x7f).contains(&byte) || extra(byte) {
            let _ = write!(out, "%{byte:02X}");
        } else {
            out.push(char::from(byte));
        }
    }
}

/// The URL with its query string parsed and re-serialised by Node's legacy `querystring`
/// module (`querystring.stringify(querystring.parse(query))`), as twilio-node's
/// `withLegacyQuerystring` does: `+` decoded as a space, repeated names grouped at their first
/// position, integer-like names moved first (JavaScript object key order), and everything
/// outside `A-Za-z0-9-_.!~*'()` percent-encoded.
fn legacy_querystring(url: &str) -> String {
    let Some(start) = url.find('?') else {
        return url.to_owned();
    };
    if start == url.len() - 1 {
        return url.to_owned();
    }
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for piece in url[start + 1..].split('&').take(1000) {
        if piece.is_empty() {
            continue;
        }
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let (key, value) = (qs_unescape(key), qs_unescape(value));
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value),
            None => keys.push((key, vec![value])),
        }
    }
    // JavaScript orders an object's integer-index keys first, ascending, then the others in
    // insertion order.
    let index = |key: &str| -> Option<u32> {
        let canonical = key == "0" || (!key.starts_with('0') && !key.is_empty());
        key.parse::<u32>()
            .ok()
            .filter(|n| canonical && key.bytes().all(|b| b.is_ascii_digit()) && *n < u32::MAX)
    };
    keys.sort_by_key(|(k, _)| index(k).map_or((1, 0), |n| (0, n)));
    let mut out = String::with_capacity(url.len() + 16);
    out.push_str(&url[..=start]);
    let mut first = true;
    for (key, values) in &keys {
        for value in values {
            if !first {
                out.push('&');
            }
            first = false;
            qs_escape(key, &mut out);
            out.push('=');
            qs_escape(value, &mut out);
        }
    }
    out
}

/// `querystring.unescape` with `+` as a space: valid `%XX` decoded, invalid ones kept, the
/// bytes read as UTF-8 with replacement characters.
fn qs_unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    decoded.push(high * 16 + low);
                    i += 2;
                }
                _ => decoded.push(b'%'),
            },
            b => decoded.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// `querystring.escape`: everything but `A-Za-z0-9-_.!~*'()` percent-encoded as UTF-8.
fn qs_escape(text: &str, out: &mut String) {
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_variants_like_the_official_validators() {
        assert_eq!(
            candidates("https://example.com/sms?x=1").unwrap(),
            [
                "https://example.com/sms?x=1",
                "https://example.com:443/sms?x=1"
            ]
        );
        assert_eq!(
            candidates("http://example.com:8080/a").unwrap(),
            ["http://example.com/a", "http://example.com:8080/a"]
        );
    }

    #[test]
    fn refuses_what_is_not_an_http_url() {
        for url in [
            "",
            "example.com/x",
            "ftp://example.com/",
            "https:///x",
            "https://h/\n",
        ] {
            assert_eq!(candidates(url), Err(InvalidUrl), "{url:?}");
        }
    }

    #[test]
    fn whatwg_forms() {
        let cases = [
            (
                "HTTP://Ex.COM:0080/a/./b/../c%2e/%2E%2e/d?q='",
                "http://ex.com/a/d?q=%27",
            ),
            ("https://ex.com:443", "https://ex.com/"),
            ("https://ex.com/a/..", "https://ex.com/"),
            ("https://ex.com/a/.", "https://ex.com/a/"),
            (
                "https://ex.com/a%20b/`{}^|é",
                "https://ex.com/a%20b/%60%7B%7D^|%C3%A9",
            ),
            ("https://ex.com:8443/?#", "https://ex.com:8443/?#"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                whatwg_normalise(input).as_deref(),
                Some(expected),
                "{input}"
            );
        }
        assert_eq!(whatwg_normalise("https://[::1]/"), None);
        assert_eq!(whatwg_normalise("https://ex.com:99999/"), None);
        assert_eq!(whatwg_normalise("https://0x7f.1/"), None);
    }

    #[test]
    fn legacy_querystring_like_node() {
        let cases = [
            ("u?a&&b", "u?a=&b="),
            ("u?=", "u?="),
            ("u?a=1&b&a=2", "u?a=1&a=2&b="),
            ("u?b=1&2=x&1=y&01=z", "u?1=y&2=x&b=1&01=z"),
            ("u?%zz=%4", "u?%25zz=%254"),
            ("u?%E2%82=%C3%A9", "u?%EF%BF%BD=%C3%A9"),
            ("u?+a+=+b", "u?%20a%20=%20b"),
            ("u?x=%27%20~!*()", "u?x='%20~!*()"),
            ("u?", "u?"),
            ("u", "u"),
        ];
        for (input, expected) in cases {
            assert_eq!(legacy_querystring(input), expected, "{input}");
        }
    }

    #[test]
    fn python_reassembly() {
        assert_eq!(python_geturl("HTTPS://h/x?#"), "https://h/x");
        assert_eq!(python_geturl("https://h/x?#f"), "https://h/x#f");
        assert_eq!(python_geturl("https://h/x?a"), "https://h/x?a");
    }
}
