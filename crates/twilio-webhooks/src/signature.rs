//! The string Twilio signs and the HMAC over it: [`Algorithm`], the
//! `X-Twilio-Webhooks-Signature-Settings` header, and [`sign`].
//!
//! Twilio signs the full URL it requested followed, for a form-encoded POST, by every parameter
//! sorted by name, each name followed by its value; a name sent several times contributes each
//! of its distinct values, sorted, each preceded by the name. The HMAC (SHA-1 with the Auth
//! Token, or the algorithm of the settings header with a SharedKey secret) is sent base64-encoded.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use sha2::Sha256;

/// The name of the header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The name of the header Twilio adds to webhooks signed with a SharedKey:
/// `key=<shared key id>,algorithm=<algorithm>`.
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// A signing algorithm Twilio uses for webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA1: the legacy scheme, always used with the Auth Token.
    HmacSha1,
    /// HMAC-SHA256: the SharedKey scheme (`algorithm=HMAC_SHA256`).
    HmacSha256,
}

impl Algorithm {
    /// The name Twilio uses in the settings header (`HMAC_SHA1`, `HMAC_SHA256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC_SHA1",
            Self::HmacSha256 => "HMAC_SHA256",
        }
    }

    /// The algorithm with this name, compared without regard to ASCII case as the official
    /// validators do; `None` for a name this crate does not know.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("HMAC_SHA1") {
            Some(Self::HmacSha1)
        } else if name.eq_ignore_ascii_case("HMAC_SHA256") {
            Some(Self::HmacSha256)
        } else {
            None
        }
    }

    /// The length of a base64 signature made with this algorithm.
    pub(crate) fn signature_len(self) -> usize {
        match self {
            Self::HmacSha1 => 28,
            Self::HmacSha256 => 44,
        }
    }
}

/// The fields of an `X-Twilio-Webhooks-Signature-Settings` header, read the way twilio-python
/// 9.13 and twilio-node 6.3 read it: comma-separated `name=value` parts, names and values
/// trimmed, the first non-empty `algorithm` and `key` win, a missing `algorithm` means
/// `HMAC_SHA1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignatureSettings<'a> {
    /// The SharedKey id (`key=`), if present.
    pub(crate) key: Option<&'a str>,
    /// The algorithm's name as sent (`HMAC_SHA1` when absent).
    pub(crate) algorithm: &'a str,
}

impl<'a> SignatureSettings<'a> {
    pub(crate) fn parse(header: &'a str) -> Self {
        let mut key = None;
        let mut algorithm = None;
        for part in header.split(',') {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if value.is_empty() {
                continue;
            }
            if name == "algorithm" && algorithm.is_none() {
                algorithm = Some(value);
            } else if name == "key" && key.is_none() {
                key = Some(value);
            }
        }
        Self {
            key,
            algorithm: algorithm.unwrap_or("HMAC_SHA1"),
        }
    }
}

/// The parameter part of the signed string: the parameters sorted by name (Unicode code point
/// order, which is UTF-8 byte order), each distinct value of a name sorted and preceded by the
/// name.
pub(crate) fn params_suffix<N: AsRef<str>, V: AsRef<str>>(params: &[(N, V)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let len = pairs.iter().map(|(n, v)| n.len() + v.len()).sum();
    let mut out = String::with_capacity(len);
    for (name, value) in pairs {
        out.push_str(name);
        out.push_str(value);
    }
    out
}

/// A keyed MAC over `url` then `suffix`, in base64.
pub(crate) fn mac_base64(algorithm: Algorithm, secret: &[u8], url: &str, suffix: &str) -> String {
    let digest = match algorithm {
        Algorithm::HmacSha1 => {
            let mut mac = <Hmac<Sha1>>::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(url.as_bytes());
            mac.update(suffix.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::HmacSha256 => {
            let mut mac =
                <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(url.as_bytes());
            mac.update(suffix.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The signature Twilio sends for a request to `url` with form `params` (empty for GET or a
/// `bodySHA256` request), made with `secret` (the Auth Token, or a SharedKey secret).
///
/// `url` is used exactly as given: sign the URL Twilio will request.
///
/// ```
/// use twilio_webhooks::{Algorithm, sign};
///
/// // The example of Twilio's security documentation.
/// let signature = sign(
///     Algorithm::HmacSha1,
///     "12345",
///     "https://mycompany.com/myapp.php?foo=1&bar=2",
///     &[("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"),
///       ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212")],
/// );
/// assert_eq!(signature, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
/// ```
pub fn sign<N: AsRef<str>, V: AsRef<str>>(
    algorithm: Algorithm,
    secret: &str,
    url: &str,
    params: &[(N, V)],
) -> String {
    mac_base64(algorithm, secret.as_bytes(), url, &params_suffix(params))
}

/// The hex SHA-256 of a raw body, as Twilio puts it in the `bodySHA256` query parameter.
///
/// ```
/// assert_eq!(
///     twilio_webhooks::body_sha256(b"{\"a\":1}"),
///     "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862",
/// );
/// ```
pub fn body_sha256(body: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(64);
    for byte in digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_header_like_the_official_parsers() {
        let s = SignatureSettings::parse("key=webhooks_sharedkey_1, algorithm = HMAC_SHA256");
        assert_eq!(s.key, Some("webhooks_sharedkey_1"));
        assert_eq!(s.algorithm, "HMAC_SHA256");
        assert_eq!(SignatureSettings::parse("").algorithm, "HMAC_SHA1");
        assert_eq!(
            SignatureSettings::parse("algorithm=").algorithm,
            "HMAC_SHA1"
        );
        assert_eq!(SignatureSettings::parse("algorithm").algorithm, "HMAC_SHA1");
        assert_eq!(SignatureSettings::parse("algorithm=a=b").algorithm, "a=b");
        assert_eq!(SignatureSettings::parse("key=k").key, Some("k"));
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(
            Algorithm::from_name("hmac_sha256"),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(Algorithm::from_name("HMAC_SHA1"), Some(Algorithm::HmacSha1));
        assert_eq!(Algorithm::from_name("HMAC_SHA512"), None);
        assert_eq!(Algorithm::HmacSha256.name(), "HMAC_SHA256");
    }

    #[test]
    fn repeated_names_contribute_distinct_sorted_values() {
        let suffix = params_suffix(&[("b", "2"), ("a", "z"), ("a", "y"), ("a", "z")]);
        assert_eq!(suffix, "ayazb2");
    }

    #[test]
    fn signature_lengths() {
        assert_eq!(
            sign::<&str, &str>(Algorithm::HmacSha1, "k", "u", &[]).len(),
            28
        );
        assert_eq!(
            sign::<&str, &str>(Algorithm::HmacSha256, "k", "u", &[]).len(),
            44
        );
    }
}
