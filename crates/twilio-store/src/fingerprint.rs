//! [`TokenFingerprint`]: a short, non-reversible name for an Auth Token.

use std::fmt;

use sha2::{Digest as _, Sha256};
use twilio_types::AuthToken;

/// A short, non-reversible name for an Auth Token: the first 8 hexadecimal digits (32 bits) of
/// the SHA-256 of the token.
///
/// The rotation report names tokens only by fingerprint, so it is safe to print, log and store.
/// 32 bits of a hash cannot give the token back (a Twilio Auth Token carries 128 random bits),
/// yet are plenty to tell the old token from the new one, or to check which token a
/// configuration holds. The same fingerprint is easy to compute by hand:
///
/// ```text
/// printf %s "$TWILIO_AUTH_TOKEN" | sha256sum | cut -c1-8
/// ```
///
/// ```
/// use twilio_store::TokenFingerprint;
/// use twilio_types::AuthToken;
///
/// let token = AuthToken::new("0123456789abcdef0123456789abcdef")?;
/// let fingerprint = TokenFingerprint::of(&token);
/// assert_eq!(fingerprint.to_string().len(), 8);
/// assert!(fingerprint.matches(&token));
/// assert!(!format!("{fingerprint} {fingerprint:?}").contains("0123456789abcdef"));
/// # Ok::<(), twilio_types::InvalidSecretError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenFingerprint([u8; 4]);

impl TokenFingerprint {
    /// The fingerprint of `token`.
    ///
    /// ```
    /// use twilio_store::TokenFingerprint;
    ///
    /// // printf %s abc | sha256sum → ba7816bf…
    /// let token = twilio_types::AuthToken::new("abc")?;
    /// assert_eq!(TokenFingerprint::of(&token).to_string(), "ba7816bf");
    /// # Ok::<(), twilio_types::InvalidSecretError>(())
    /// ```
    pub fn of(token: &AuthToken) -> Self {
        let digest = Sha256::digest(token.expose_secret().as_bytes());
        Self([digest[0], digest[1], digest[2], digest[3]])
    }

    /// Whether `token` has this fingerprint (a quick check, not a proof: 32 bits can collide).
    ///
    /// ```
    /// use twilio_store::TokenFingerprint;
    ///
    /// let stored = twilio_types::AuthToken::new("abc")?;
    /// let other = twilio_types::AuthToken::new("abd")?;
    /// let fingerprint = TokenFingerprint::of(&stored);
    /// assert!(fingerprint.matches(&stored) && !fingerprint.matches(&other));
    /// # Ok::<(), twilio_types::InvalidSecretError>(())
    /// ```
    pub fn matches(&self, token: &AuthToken) -> bool {
        Self::of(token) == *self
    }
}

impl std::str::FromStr for TokenFingerprint {
    type Err = ParseFingerprintError;

    /// Reads the 8 lower- or upper-case hexadecimal digits that `Display` writes.
    ///
    /// ```
    /// use twilio_store::TokenFingerprint;
    ///
    /// let token = twilio_types::AuthToken::new("abc")?;
    /// let parsed: TokenFingerprint = "ba7816bf".parse()?;
    /// assert_eq!(parsed, TokenFingerprint::of(&token));
    /// assert!("ba7816b".parse::<TokenFingerprint>().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_hexdigit) {
            return Err(ParseFingerprintError);
        }
        let mut out = [0_u8; 4];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| ParseFingerprintError)?;
        }
        Ok(Self(out))
    }
}

/// A string that is not a [`TokenFingerprint`] (8 hexadecimal digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseFingerprintError;

impl fmt::Display for ParseFingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a token fingerprint is 8 hexadecimal digits")
    }
}

impl std::error::Error for ParseFingerprintError {}

impl fmt::Display for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenFingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_sha256_prefix() {
        // printf %s abc | sha256sum → ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        let fp = TokenFingerprint::of(&AuthToken::new("abc").unwrap());
        assert_eq!(fp.to_string(), "ba7816bf");
        assert_eq!(format!("{fp:?}"), "TokenFingerprint(ba7816bf)");
    }

    proptest::proptest! {
        #[test]
        fn display_and_parse_round_trip(bytes in proptest::array::uniform4(0_u8..)) {
            let fp = TokenFingerprint(bytes);
            proptest::prop_assert_eq!(fp.to_string().parse::<TokenFingerprint>(), Ok(fp));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,12}") {
            let _ = text.parse::<TokenFingerprint>();
        }
    }

    #[test]
    fn distinguishes_tokens() {
        let a = AuthToken::new("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let b = AuthToken::new("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab").unwrap();
        assert_ne!(TokenFingerprint::of(&a), TokenFingerprint::of(&b));
        assert!(TokenFingerprint::of(&a).matches(&a));
        assert!(!TokenFingerprint::of(&a).matches(&b));
    }
}
