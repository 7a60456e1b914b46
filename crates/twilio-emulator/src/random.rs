//! Identifiers and secrets from the operating system's CSPRNG (`getrandom`).

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

/// A `Twilio-Request-Id` value: `RQ` + 32 random hex characters, like Twilio's.
///
/// From `fastrand`'s per-thread generator (randomly seeded): request ids are not secrets,
/// so the hot path need not ask the OS for randomness, but they must not be guessable from
/// one another or collide across emulators the way a counter would.
pub(crate) fn request_id() -> String {
    let mut out = String::with_capacity(34);
    out.push_str("RQ");
    push_hex(&mut out, &fastrand::u128(..).to_be_bytes());
    out
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
    fn request_ids_are_random_and_well_formed() {
        let ids: Vec<String> = (0..1000).map(|_| request_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 34, "{id}");
            assert!(id.starts_with("RQ"), "{id}");
            assert!(id[2..].bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        // Not a counter: consecutive ids differ in more than their low bits. Two counter
        // values 1000 apart share their first 28 hex digits; random ids almost never do.
        let shared_prefixes = ids.windows(2).filter(|w| w[0][..20] == w[1][..20]).count();
        assert_eq!(shared_prefixes, 0);
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
