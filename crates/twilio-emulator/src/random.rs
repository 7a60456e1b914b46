//! Identifiers and secrets from the operating system's CSPRNG (`getrandom`).

use std::sync::atomic::{AtomicU64, Ordering};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// 16 random bytes as 32 lowercase hex characters, after `prefix`.
pub(crate) fn hex32(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    push_hex(&mut out, &bytes);
    Ok(out)
}

/// `Twilio-Request-Id` values: `RQ` + 32 hex characters, unique per emulator.
///
/// The first half is random per emulator, the second half a counter; request ids are not
/// secrets, so the hot path need not ask the OS for randomness.
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: String,
    counter: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes)?;
        let mut prefix = String::with_capacity(18);
        prefix.push_str("RQ");
        push_hex(&mut prefix, &bytes);
        Ok(Self {
            prefix,
            counter: AtomicU64::new(0),
        })
    }

    pub(crate) fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = String::with_capacity(34);
        out.push_str(&self.prefix);
        push_hex(&mut out, &n.to_be_bytes());
        out
    }
}

/// Whether `secret == guess`, in time that depends only on the length of `guess`: every
/// byte of the guess is compared (against the secret, cycled), whatever matches or not, so
/// neither the position of the first difference nor the secret's length shows in the timing.
pub(crate) fn constant_time_eq(secret: &[u8], guess: &[u8]) -> bool {
    let mut diff = u8::from(secret.len() != guess.len());
    if secret.is_empty() {
        return guess.is_empty();
    }
    for (i, &g) in guess.iter().enumerate() {
        // `black_box` keeps the optimiser from turning the loop into an early exit.
        diff = std::hint::black_box(diff | (g ^ secret[i % secret.len()]));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex32_has_prefix_and_length() {
        let a = hex32("CR").unwrap();
        let b = hex32("CR").unwrap();
        assert_eq!(a.len(), 34);
        assert!(a.starts_with("CR"));
        assert!(a[2..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn request_ids_are_unique_and_well_formed() {
        let ids = RequestIds::new().unwrap();
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        assert_eq!(a.len(), 34);
        assert!(a.starts_with("RQ"));
        assert!(a[2..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(!constant_time_eq(b"a", b""));
        // A guess that repeats the secret is still a different length.
        assert!(!constant_time_eq(b"ab", b"abab"));
        assert!(!constant_time_eq(b"abab", b"ab"));
    }
}
