//! `application/x-www-form-urlencoded` encoding for request bodies and query strings.
//!
//! Twilio takes PascalCase keys, repeated keys for arrays and `true` / `false` for booleans.
//! Every byte outside the unreserved set `A-Z a-z 0-9 - . _ ~` is percent-encoded, spaces
//! included (`%20`, never `+`), so the output means the same thing to a strict form decoder
//! and to an RFC 3986 query decoder, and a literal `+` in a PEM key or a phone number
//! always arrives as `+`.

use std::fmt::Write as _;

/// An ordered list of key/value pairs, encoded on demand.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Form {
    pairs: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Form {
    // Values can be secrets (AWS credentials): print the keys only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Form {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`.
    pub(crate) fn push(&mut self, key: &'static str, value: impl Into<String>) {
        self.pairs.push((key, value.into()));
    }

    /// Appends `key=value` when `value` is `Some`.
    pub(crate) fn push_opt(&mut self, key: &'static str, value: Option<impl Into<String>>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }

    /// Appends a boolean as `true` / `false` when set.
    pub(crate) fn push_bool(&mut self, key: &'static str, value: Option<bool>) {
        if let Some(value) = value {
            self.push(key, if value { "true" } else { "false" });
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `k1=v1&k2=v2`, percent-encoded.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_component(key, &mut out);
            out.push('=');
            encode_component(value, &mut out);
        }
        out
    }
}

/// Percent-encodes `input` into `out`: unreserved bytes as they are, everything else `%XX`.
pub(crate) fn encode_component(input: &str, out: &mut String) {
    for &byte in input.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// Why a form string could not be decoded.
#[cfg(test)]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecodeFormError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Decodes `k=v&k=v` the way a form decoder does (`+` is a space). Test support: the
/// request builders never decode.
#[cfg(test)]
pub(crate) fn decode(input: &str) -> Result<Vec<(String, String)>, DecodeFormError> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    input
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode_component(k)?, decode_component(v)?))
        })
        .collect()
}

#[cfg(test)]
fn decode_component(input: &str) -> Result<String, DecodeFormError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(DecodeFormError::BadEscape)?;
                let hex = std::str::from_utf8(hex).map_err(|_| DecodeFormError::BadEscape)?;
                let byte = u8::from_str_radix(hex, 16).map_err(|_| DecodeFormError::BadEscape)?;
                out.push(byte);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| DecodeFormError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_reserved_characters_and_newlines() {
        let mut form = Form::new();
        form.push(
            "PublicKey",
            "-----BEGIN PUBLIC KEY-----\nMIIB+a/b=\n-----END PUBLIC KEY-----",
        );
        form.push("FriendlyName", "a b&c=d");
        form.push("PhoneNumber", "+18001234567");
        assert_eq!(
            form.encode(),
            "PublicKey=-----BEGIN%20PUBLIC%20KEY-----%0AMIIB%2Ba%2Fb%3D%0A-----END%20PUBLIC%20KEY-----\
             &FriendlyName=a%20b%26c%3Dd&PhoneNumber=%2B18001234567"
        );
    }

    #[test]
    fn booleans_and_options() {
        let mut form = Form::new();
        form.push_bool("A", Some(true));
        form.push_bool("B", Some(false));
        form.push_bool("C", None);
        form.push_opt("D", None::<String>);
        assert_eq!(form.encode(), "A=true&B=false");
        assert!(Form::new().is_empty());
        assert_eq!(Form::new().encode(), "");
    }

    #[test]
    fn non_ascii_is_utf8_percent_encoded() {
        let mut out = String::new();
        encode_component("é☃", &mut out);
        assert_eq!(out, "%C3%A9%E2%98%83");
    }

    #[test]
    fn debug_shows_keys_only() {
        let mut form = Form::new();
        form.push("Credentials", "AKIA:very-secret");
        let debug = format!("{form:?}");
        assert!(debug.contains("Credentials"));
        assert!(!debug.contains("very-secret"));
    }

    #[test]
    fn decoder_rejects_bad_input() {
        assert_eq!(decode("a=%4"), Err(DecodeFormError::BadEscape));
        assert_eq!(decode("a=%zz"), Err(DecodeFormError::BadEscape));
        assert_eq!(decode("a=%FF"), Err(DecodeFormError::NotUtf8));
        assert_eq!(
            decode("a+b=c+d").unwrap(),
            vec![("a b".into(), "c d".into())]
        );
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_values(values in proptest::collection::vec(any::<String>(), 0..6)) {
            const KEYS: [&str; 6] = ["Items", "Items", "FriendlyName", "PublicKey", "PhoneNumber", "Items"];
            let mut form = Form::new();
            for (i, value) in values.iter().enumerate() {
                form.push(KEYS[i], value.clone());
            }
            let encoded = form.encode();
            // Only unreserved characters, `%`, `=` and `&` may appear on the wire.
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%=&".contains(&b)));
            let decoded = decode(&encoded).unwrap();
            let expected: Vec<(String, String)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (KEYS[i].to_owned(), v.clone()))
                .collect();
            prop_assert_eq!(decoded, expected);
        }
    }
}
