//! The exit codes, each with one meaning, and how a failure's cause picks one.
//!
//! An alert can act on the code alone: `1` and `4` clear themselves on a later run, `3` is
//! cleared by `resume` (which the next scheduled run does), `2` needs a person.

use std::error::Error as StdError;

use twilio_accounts::Error;
use twilio_store::{StoreError, StoreErrorKind};

use crate::store_arg::StoreLocation;

/// Done; for `status`: healthy (Twilio accepts a stored token, or a live run that has just
/// promoted waits for Twilio to accept it; a rotation in flight is held by a live run or
/// staged with both tokens working).
pub(crate) const OK: u8 = 0;
/// Not done, nothing changed, safe to run again later; only for: another run holds the
/// store's lease (or wrote the store first), `complete` before the hand-off grace, or the
/// fleet gate's live followers do not hold the new token yet.
pub(crate) const NOT_NOW: u8 = 1;
/// A person must act: a usage or configuration error, a store that cannot be used as it is,
/// a token Twilio refuses with no rotation in flight, any other answer of Twilio's that
/// refuses a request with nothing changed (a 400 or 404: a wrong `--base-url`, say), or a
/// fleet gate that cannot read the followers' heartbeats. The message says what to do.
pub(crate) const PERSON: u8 = 2;
/// A rotation is unfinished (interrupted, or its outcome not known yet): run `resume`.
pub(crate) const RESUME: u8 = 3;
/// Twilio or the store could not be reached (network, timeouts, Twilio's 5xx or 429, store
/// I/O): nothing was decided; run the same command again later.
pub(crate) const UNREACHABLE: u8 = 4;

/// The exit-code table of `--help` (the same as the README's and the rotation guide's).
pub(crate) const HELP: &str = "\
Exit codes (one meaning each):
  0  done; `status`: healthy (Twilio accepts a stored token or a live run waits for it to; a rotation in flight is live or staged)
  1  not done, nothing changed: another run holds the lease, too early, or followers lack the new token; run it again later
  2  a person must act: usage, configuration, the store, a token or request Twilio refuses, unreadable heartbeats (the message says what to do)
  3  a rotation is unfinished or its outcome unknown: run `resume`
  4  Twilio or the store could not be reached: nothing decided; run it again later";

/// What a failure's cause says about where to go next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Twilio answered 401 or 403: the token is refused.
    Refused,
    /// No answer, a timeout, Twilio's 5xx or 429: Twilio could not be reached.
    TwilioUnreachable,
    /// The store could not be read or written (I/O).
    StoreUnreachable,
    /// Another run holds the store's lease.
    Locked,
    /// The store cannot be used as it is (malformed, permissions, missing, empty, …).
    Store(StoreErrorKind),
    /// Anything else.
    Other,
}

/// The first cause in `error`'s `source()` chain (itself included) that decides an exit code.
pub(crate) fn cause(error: &(dyn StdError + 'static)) -> Cause {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(store) = e.downcast_ref::<StoreError>() {
            return store_cause(store);
        }
        if let Some(e) = e.downcast_ref::<Error>() {
            match e {
                Error::Store(store) => return store_cause(store),
                Error::Transport(_) => return Cause::TwilioUnreachable,
                _ => {}
            }
            match e.status().map(|s| s.as_u16()) {
                Some(401 | 403) => return Cause::Refused,
                Some(429 | 500..=599) => return Cause::TwilioUnreachable,
                _ => {}
            }
        }
        next = e.source();
    }
    Cause::Other
}

fn store_cause(error: &StoreError) -> Cause {
    match error.kind() {
        StoreErrorKind::Locked => Cause::Locked,
        StoreErrorKind::Io => Cause::StoreUnreachable,
        kind => Cause::Store(kind),
    }
}

/// `error` and every cause under it, one per line (`error: …` / `  caused by: …`).
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(&format!("\n  caused by: {cause}"));
        next = cause.source();
    }
    text
}

/// The last cause in `error`'s `source()` chain (the failed call itself).
pub(crate) fn deepest(error: &(dyn StdError + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// What to do about a store error, for the operator: the message plus a possible order of
/// steps where the store's own message cannot give one. (The Vault and AWS stores' messages
/// say it themselves: which policy, which mount or secret; the file advice, `chmod 600`,
/// would be false for them.)
pub(crate) fn store_advice(error: &StoreError, location: &StoreLocation) -> String {
    if !matches!(location, StoreLocation::File(_)) {
        return error.to_string();
    }
    let store = location.to_string();
    match error.kind() {
        StoreErrorKind::Permissions => format!(
            "{error}\nwhat to do, in this order: (1) `chmod 600 {store}` so that the store can \
             be opened again; (2) `twilio-rotate --store {store} rotate` at once, to replace \
             the token others may have read (Twilio revokes it at the promotion); (3) find out \
             who could read the file"
        ),
        StoreErrorKind::NotFound => {
            format!("{error}\nwrite it first: `twilio-rotate --store {store} init`")
        }
        _ => error.to_string(),
    }
}

/// What to do about heartbeats the fleet gate cannot read, for this store: where the
/// followers write them, and (Vault) which policy reads them.
#[cfg_attr(not(feature = "vault"), allow(unused_variables))] // the error picks Vault's advice
pub(crate) fn heartbeat_advice(error: &StoreError, location: &StoreLocation) -> String {
    match location {
        StoreLocation::File(path) => format!(
            "make `{}.followers` a directory this user can list and read (followers write their \
             heartbeats there)",
            path.display()
        ),
        #[cfg(feature = "vault")]
        StoreLocation::Vault(vault) if error.kind() == StoreErrorKind::Permissions => format!(
            "give the Vault token a policy with `list` on `{mount}/metadata/{path}.followers` \
             and `read` on `{mount}/data/{path}.followers/*`",
            mount = vault.mount(),
            path = vault.path()
        ),
        #[allow(unreachable_patterns)] // a file-only build has no other store
        _ => "make the followers' heartbeats readable with the store's credentials".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_store_gets_the_file_advice() {
        let refused = StoreError::new(StoreErrorKind::Permissions, "refused");
        let file = StoreLocation::parse("/srv/twilio/store.json").unwrap();
        assert!(store_advice(&refused, &file).contains("chmod 600"));
        #[cfg(feature = "aws")]
        {
            let aws = StoreLocation::parse("aws-sm://twilio/prod").unwrap();
            assert_eq!(store_advice(&refused, &aws), refused.to_string());
        }
        #[cfg(feature = "vault")]
        {
            let vault = StoreLocation::parse("vault://vault.example.com/secret/twilio").unwrap();
            assert_eq!(store_advice(&refused, &vault), refused.to_string());
        }
    }

    #[derive(Debug)]
    struct Wrapper(Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapper")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn store_causes_are_found_under_wrappers() {
        let locked = StoreError::new(StoreErrorKind::Locked, "held by another run");
        assert_eq!(cause(&Wrapper(Box::new(locked))), Cause::Locked);
        let io = StoreError::new(StoreErrorKind::Io, "disk gone");
        assert_eq!(cause(&io), Cause::StoreUnreachable);
        let malformed = StoreError::new(StoreErrorKind::Malformed, "not JSON");
        assert_eq!(
            cause(&Error::Store(malformed)),
            Cause::Store(StoreErrorKind::Malformed)
        );
        assert_eq!(cause(&std::fmt::Error), Cause::Other);
    }

    #[test]
    fn chains_keep_every_cause() {
        let inner = StoreError::new(StoreErrorKind::Io, "disk gone");
        let text = chain(&Wrapper(Box::new(inner)));
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.contains("caused by: ") && text.contains("disk gone"),
            "{text}"
        );
    }

    #[test]
    fn the_permissions_advice_opens_the_store_before_rotating() {
        let error = StoreError::new(StoreErrorKind::Permissions, "mode 0644");
        let advice = store_advice(&error, &StoreLocation::File("/s.json".into()));
        let chmod = advice.find("chmod 600 /s.json").unwrap();
        let rotate = advice.find("rotate` at once").unwrap();
        assert!(chmod < rotate, "{advice}");
    }

    #[test]
    fn heartbeat_advice_names_where_the_followers_are() {
        let error = StoreError::new(StoreErrorKind::Io, "Not a directory");
        let advice = heartbeat_advice(&error, &StoreLocation::File("/s.json".into()));
        assert!(
            advice.contains("`/s.json.followers` a directory"),
            "{advice}"
        );
        #[cfg(feature = "vault")]
        {
            let location = StoreLocation::parse("vault://vault.internal/kv/twilio").unwrap();
            let denied = StoreError::new(StoreErrorKind::Permissions, "permission denied");
            let advice = heartbeat_advice(&denied, &location);
            assert!(
                advice.contains("`list` on `kv/metadata/twilio.followers`"),
                "{advice}"
            );
        }
    }

    /// A Vault token's policy is not a file mode: no `chmod` advice for a Vault store.
    #[cfg(feature = "vault")]
    #[test]
    fn vault_errors_carry_their_own_advice() {
        let location = StoreLocation::parse("vault://vault.internal/kv/twilio").unwrap();
        let error = StoreError::new(StoreErrorKind::Permissions, "check the token's policy");
        assert_eq!(store_advice(&error, &location), error.to_string());
        let error = StoreError::new(StoreErrorKind::NotFound, "no secrets engine");
        assert_eq!(store_advice(&error, &location), error.to_string());
    }
}
