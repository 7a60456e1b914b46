//! The `--store` argument: where the token store is.
//!
//! Today the only backend is a file, named by a plain path or a `file://` URL. The argument is
//! parsed into [`StoreLocation`] rather than taken as a path so that other backends (issue 17:
//! `vault://…`, `aws-sm://…`) can be added as further URL schemes without changing the flag.

use std::fmt;
use std::path::PathBuf;

/// Where the token store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreLocation {
    /// A [`FileTokenStore`](twilio_store::FileTokenStore) at this path.
    File(PathBuf),
}

impl StoreLocation {
    /// Parses `value`: `file:///absolute/path`, or a plain path (relative or absolute).
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() {
            return Err("the store location is empty".into());
        }
        let Some((scheme, rest)) = value.split_once("://") else {
            return Ok(Self::File(PathBuf::from(value)));
        };
        if !scheme.eq_ignore_ascii_case("file") {
            return Err(format!(
                "`{scheme}://` stores are not supported: give a file path or a file:///path URL"
            ));
        }
        // `file:///path` (empty host) or `file://localhost/path`; no query or fragment.
        let path = rest.strip_prefix("localhost").unwrap_or(rest);
        if !path.starts_with('/') {
            return Err(format!(
                "`{value}` names a host: a file:// URL takes an absolute path (file:///path)"
            ));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "`{value}`: a file:// URL takes no query or fragment"
            ));
        }
        let path = percent_decode(path).ok_or_else(|| format!("`{value}`: bad %-escape"))?;
        Ok(Self::File(PathBuf::from(path)))
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// `%XX` escapes of a URL path, decoded (UTF-8).
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Result<StoreLocation, String> {
        Ok(StoreLocation::File(PathBuf::from(path)))
    }

    #[test]
    fn plain_paths_and_file_urls() {
        assert_eq!(StoreLocation::parse("store.json"), file("store.json"));
        assert_eq!(
            StoreLocation::parse("/secrets/twilio.json"),
            file("/secrets/twilio.json")
        );
        assert_eq!(
            StoreLocation::parse("file:///secrets/twilio.json"),
            file("/secrets/twilio.json")
        );
        assert_eq!(
            StoreLocation::parse("FILE://localhost/secrets/a%20b.json"),
            file("/secrets/a b.json")
        );
    }

    #[test]
    fn other_forms_are_refused_with_the_reason() {
        for (value, why) in [
            ("", "empty"),
            ("vault://vault.internal/kv/twilio", "not supported"),
            ("file://host/secrets", "names a host"),
            ("file://relative", "names a host"),
            ("file:///a?b", "no query"),
            ("file:///a%zz", "bad %-escape"),
            ("file:///a%ff", "bad %-escape"),
        ] {
            let err = StoreLocation::parse(value).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
        }
    }
}
