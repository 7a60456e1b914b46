//! `application/x-www-form-urlencoded` decoding for request bodies and query strings.
//!
//! Strict: a malformed percent escape or a value that is not UTF-8 after decoding is an
//! error (the caller answers 400), never a panic or a lossy replacement.

use crate::error::ApiError;

/// Decoded `key=value` pairs in wire order; repeated keys are kept.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// Why decoding failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FormError {
    BadEscape,
    NotUtf8,
}

impl Params {
    /// Decodes `input` (a body or a query string without the leading `?`).
    pub(crate) fn parse(input: &[u8]) -> Result<Self, FormError> {
        let mut pairs = Vec::new();
        for part in input.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (key, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            let key = decode(key)?;
            if key.is_empty() {
                continue;
            }
            pairs.push((key, decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// Like [`Params::parse`], mapping failures to the 400 the emulator answers.
    pub(crate) fn parse_or_400(input: &[u8], what: &str) -> Result<Self, ApiError> {
        Self::parse(input).map_err(|e| {
            let why = match e {
                FormError::BadEscape => "malformed percent-encoding",
                FormError::NotUtf8 => "not valid UTF-8",
            };
            ApiError::bad_request(format!("Invalid {what}: {why}"))
        })
    }

    /// The first value of `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub(crate) fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(input: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = input.get(i + 1).copied().and_then(hex_val);
                let lo = input.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(FormError::BadEscape),
                }
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

/// Percent-encodes `value` for a query string (unreserved characters pass through).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_plus_and_escapes() {
        let p = Params::parse(b"A=1&B=a+b%2Bc&&C&A=2&=x").unwrap();
        assert_eq!(p.get("A"), Some("1"));
        assert_eq!(p.get_all("A").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(p.get("B"), Some("a b+c"));
        assert_eq!(p.get("C"), Some(""));
        assert_eq!(p.get("D"), None);
    }

    #[test]
    fn rejects_bad_escapes_and_invalid_utf8() {
        assert_eq!(Params::parse(b"A=%zz").unwrap_err(), FormError::BadEscape);
        assert_eq!(Params::parse(b"A=%4").unwrap_err(), FormError::BadEscape);
        assert_eq!(Params::parse(b"A=%ff%fe").unwrap_err(), FormError::NotUtf8);
        assert_eq!(Params::parse(b"A=\xff").unwrap_err(), FormError::NotUtf8);
    }

    proptest::proptest! {
        #[test]
        fn any_string_round_trips_through_encode_and_parse(key in "[A-Za-z]{1,8}", value in ".*") {
            let p = Params::parse(format!("{key}={}", encode(&value)).as_bytes()).unwrap();
            proptest::prop_assert_eq!(p.get(&key), Some(value.as_str()));
        }

        #[test]
        fn arbitrary_bytes_parse_or_fail_cleanly(input in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            // Never panics; whatever it accepts is valid UTF-8 with non-empty keys.
            if let Ok(p) = Params::parse(&input) {
                proptest::prop_assert!(p.pairs.iter().all(|(k, _)| !k.is_empty()));
            }
        }

        #[test]
        fn repeated_keys_keep_wire_order(values in proptest::collection::vec(".*", 0..8)) {
            let body: Vec<String> = values.iter().map(|v| format!("Items={}", encode(v))).collect();
            let p = Params::parse(body.join("&").as_bytes()).unwrap();
            let got: Vec<&str> = p.get_all("Items").collect();
            let want: Vec<&str> = values.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn encode_round_trips() {
        let s = "+1 800/é&=?";
        let encoded = encode(s);
        let p = Params::parse(format!("X={encoded}").as_bytes()).unwrap();
        assert_eq!(p.get("X"), Some(s));
    }
}
