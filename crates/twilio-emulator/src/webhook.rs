//! Signing webhooks the way Twilio does (`X-Twilio-Signature`), for tests of webhook receivers
//! that run while the emulator rotates tokens.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;

/// Twilio's legacy webhook signature: base64 of HMAC-SHA1, keyed with `token`, over `url`
/// followed by the parameters sorted by name, each name followed by its value (a repeated
/// name: its distinct values, sorted).
pub(crate) fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut pairs = params.to_vec();
    pairs.sort_unstable();
    pairs.dedup();
    let Ok(mut mac) = <Hmac<Sha1>>::new_from_slice(token.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(url.as_bytes());
    for (name, value) in pairs {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_documentation_example() {
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ];
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn repeated_names_and_order() {
        let a = sign(
            "k",
            "https://x/",
            &[("b", "1"), ("a", "2"), ("a", "1"), ("a", "2")],
        );
        let b = sign("k", "https://x/", &[("a", "1"), ("a", "2"), ("b", "1")]);
        assert_eq!(a, b);
        assert_ne!(a, sign("k", "https://x/", &[("a", "1"), ("b", "1")]));
    }
}
