//! [`TokenRecord`]: one account's tokens under their staging labels, and its JSON form.

use std::fmt;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{StoreError, StoreErrorKind, TokenFingerprint};
use twilio_types::{AccountSid, AuthToken, timestamp};

/// The format tag of the record's JSON form; a record with another tag is refused.
const FORMAT: &str = "twilio-token-store/1";

/// A token in the store, with its fingerprint and when it was written there.
///
/// `Debug` shows the fingerprint and the time, never the token.
#[derive(Clone)]
pub struct StoredToken {
    token: AuthToken,
    fingerprint: TokenFingerprint,
    written_at: OffsetDateTime,
}

impl StoredToken {
    /// `token`, written to the store at `written_at`.
    pub fn new(token: AuthToken, written_at: OffsetDateTime) -> Self {
        Self {
            fingerprint: TokenFingerprint::of(&token),
            token,
            written_at,
        }
    }

    /// The token.
    pub fn token(&self) -> &AuthToken {
        &self.token
    }

    /// The token's fingerprint (safe to print).
    pub fn fingerprint(&self) -> TokenFingerprint {
        self.fingerprint
    }

    /// When the token was written to the store.
    pub fn written_at(&self) -> OffsetDateTime {
        self.written_at
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("fingerprint", &self.fingerprint)
            .field("written_at", &self.written_at)
            .finish()
    }
}

/// Where a rotation stands, as recorded in the store **before** the step it names is taken, so
/// that a process that crashes in the middle of a step leaves a record that says what to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationPhase {
    /// No rotation in progress: only `current` (and perhaps `previous`) matter.
    Idle,
    /// A secondary token may have been requested from Twilio but is not stored yet: Twilio may
    /// hold a secondary that nobody knows, and nothing depends on it.
    Creating,
    /// `pending` is stored and authenticates as the account's secondary token: both tokens work,
    /// and followers may use `pending` already.
    Staged,
    /// The promotion of `pending` may have been sent: either token may be the primary now.
    Promoting,
}

impl RotationPhase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Creating => "creating",
            Self::Staged => "staged",
            Self::Promoting => "promoting",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "idle" => Self::Idle,
            "creating" => Self::Creating,
            "staged" => Self::Staged,
            "promoting" => Self::Promoting,
            _ => return None,
        })
    }
}

/// One account's tokens under the staging labels of a rotation (after AWS Secrets Manager's
/// `AWSCURRENT` / `AWSPENDING` / `AWSPREVIOUS`), and the rotation's progress.
///
/// `Debug` shows fingerprints only.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The account the tokens belong to.
    pub account_sid: AccountSid,
    /// The account's primary token as far as the store knows.
    pub current: StoredToken,
    /// The new token of a rotation in progress (the account's secondary token once staged).
    pub pending: Option<StoredToken>,
    /// The token `current` replaced at the last completed rotation (revoked by Twilio; kept so
    /// that webhook validators can accept requests signed just before the promotion).
    pub previous: Option<StoredToken>,
    /// Where the rotation stands.
    pub phase: RotationPhase,
    /// When `phase` was entered.
    pub phase_since: OffsetDateTime,
    /// When the last rotation completed (`current` became the primary), if one has.
    pub completed_at: Option<OffsetDateTime>,
    /// Incremented by every [`save`](crate::TokenStore::save); 0 for a record never saved.
    pub revision: u64,
}

impl TokenRecord {
    /// A first record: `current` only, no rotation in progress, written now.
    pub fn new(account_sid: AccountSid, current: AuthToken) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            account_sid,
            current: StoredToken::new(current, now),
            pending: None,
            previous: None,
            phase: RotationPhase::Idle,
            phase_since: now,
            completed_at: None,
            revision: 0,
        }
    }

    /// Every stored token with its label, `current` first: what a follower may authenticate
    /// with, or a validator may accept.
    pub fn tokens(&self) -> impl Iterator<Item = (&'static str, &StoredToken)> {
        std::iter::once(("current", &self.current))
            .chain(self.pending.iter().map(|t| ("pending", t)))
            .chain(self.previous.iter().map(|t| ("previous", t)))
    }

    /// The record's JSON form (what [`decode`](Self::decode) reads back), for stores that keep
    /// it as one string or file. It **contains the tokens**: write it only to private storage;
    /// the buffer is zeroed when dropped.
    pub fn encode(&self) -> Zeroizing<String> {
        fn token(t: &StoredToken) -> Value {
            json!({
                "token": t.token.expose_secret(),
                "fingerprint": t.fingerprint.to_string(),
                "written_at": timestamp::format(&t.written_at),
            })
        }
        let value = json!({
            "format": FORMAT,
            "account_sid": self.account_sid.as_str(),
            "revision": self.revision,
            "phase": self.phase.as_str(),
            "phase_since": timestamp::format(&self.phase_since),
            "completed_at": self.completed_at.as_ref().map(timestamp::format),
            "current": token(&self.current),
            "pending": self.pending.as_ref().map(token),
            "previous": self.previous.as_ref().map(token),
        });
        // `{:#}` is serde_json's infallible pretty form: no error to turn into an empty record
        // that a store would then write. (The intermediate `Value` is not zeroed: serde_json
        // offers no way to.)
        Zeroizing::new(format!("{value:#}"))
    }

    /// Reads a record written by [`encode`](Self::encode).
    ///
    /// # Errors
    ///
    /// A [`StoreErrorKind::Malformed`] error naming the field (never its value) if `text` is not
    /// such a record, including a token whose stored fingerprint does not match it.
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| malformed("the record is not a JSON object"))?;
        let object = value
            .as_object()
            .ok_or_else(|| malformed("the record is not a JSON object"))?;
        match object.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            _ => return Err(malformed(&format!("`format` is not \"{FORMAT}\""))),
        }
        let account_sid = string(object, "account_sid")?
            .parse()
            .map_err(|_| malformed("`account_sid` is not an Account SID"))?;
        let revision = object
            .get("revision")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("`revision` is not a non-negative integer"))?;
        let phase = RotationPhase::parse(string(object, "phase")?)
            .ok_or_else(|| malformed("`phase` is not a known rotation phase"))?;
        Ok(Self {
            account_sid,
            current: stored_token(object, "current")?
                .ok_or_else(|| malformed("`current` is missing"))?,
            pending: stored_token(object, "pending")?,
            previous: stored_token(object, "previous")?,
            phase,
            phase_since: time(object, "phase_since")?
                .ok_or_else(|| malformed("`phase_since` is missing"))?,
            completed_at: time(object, "completed_at")?,
            revision,
        })
    }
}

fn malformed(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Malformed,
        format!("malformed record: {what}"),
    )
}

fn string<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a str, StoreError> {
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("`{name}` is not a string")))
}

fn time(object: &Map<String, Value>, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => timestamp::parse(text)
            .map(Some)
            .map_err(|_| malformed(&format!("`{name}` is not an RFC 3339 timestamp"))),
        Some(_) => Err(malformed(&format!("`{name}` is not a string"))),
    }
}

fn stored_token(
    object: &Map<String, Value>,
    label: &str,
) -> Result<Option<StoredToken>, StoreError> {
    let entry = match object.get(label) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(entry)) => entry,
        Some(_) => return Err(malformed(&format!("`{label}` is not an object"))),
    };
    let token = AuthToken::new(
        string(entry, "token")
            .map_err(|_| malformed(&format!("`{label}.token` is not a string")))?,
    )
    .map_err(|_| malformed(&format!("`{label}.token` is not a usable Auth Token")))?;
    let stored = StoredToken::new(
        token,
        time(entry, "written_at")?
            .ok_or_else(|| malformed(&format!("`{label}.written_at` is missing")))?,
    );
    match entry.get("fingerprint").and_then(Value::as_str) {
        Some(fingerprint) if fingerprint == stored.fingerprint.to_string() => Ok(Some(stored)),
        _ => Err(malformed(&format!(
            "`{label}.fingerprint` does not match its token"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "aaaabbbbccccddddeeeeffff00001111";
    const NEW: &str = "fedcba9876543210fedcba9876543210";

    fn record() -> TokenRecord {
        let mut record = TokenRecord::new(
            "AC0123456789abcdef0123456789abcdef".parse().unwrap(),
            AuthToken::new(TOKEN).unwrap(),
        );
        record.pending = Some(StoredToken::new(
            AuthToken::new(NEW).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
        ));
        record.phase = RotationPhase::Staged;
        record.revision = 7;
        record
    }

    #[test]
    fn round_trips() {
        let record = record();
        let back = TokenRecord::decode(&record.encode()).unwrap();
        assert_eq!(back.account_sid, record.account_sid);
        assert_eq!(back.current.token().expose_secret(), TOKEN);
        assert_eq!(back.pending.as_ref().unwrap().token().expose_secret(), NEW);
        assert!(back.previous.is_none());
        assert_eq!(back.phase, RotationPhase::Staged);
        assert_eq!(back.revision, 7);
        assert_eq!(
            back.current.written_at().unix_timestamp(),
            record.current.written_at().unix_timestamp()
        );
        let labels: Vec<_> = back.tokens().map(|(label, _)| label).collect();
        assert_eq!(labels, ["current", "pending"]);
    }

    #[test]
    fn debug_shows_no_token() {
        let text = format!("{:?}", record());
        assert!(!text.contains(TOKEN) && !text.contains(NEW), "{text}");
        assert!(text.contains("fingerprint"));
    }

    #[test]
    fn malformed_records_name_the_field_never_the_value() {
        let good = record().encode().to_string();
        let cases = [
            ("not json", "not a JSON object".to_owned()),
            ("[]", "not a JSON object".to_owned()),
            (
                &good.replace(FORMAT, "twilio-token-store/9"),
                "`format`".to_owned(),
            ),
            (
                &good.replace("\"staged\"", "\"later\""),
                "`phase`".to_owned(),
            ),
            (
                &good.replace(TOKEN, "00000000000000000000000000000000"),
                "`current.fingerprint` does not match".to_owned(),
            ),
            (
                &good.replace(NEW, "has space"),
                "`pending.token` is not a usable".to_owned(),
            ),
            (
                &good.replace("AC0123", "XX0123"),
                "`account_sid`".to_owned(),
            ),
        ];
        for (text, expected) in cases {
            let err = TokenRecord::decode(text).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Malformed);
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(&expected), "{shown}");
            assert!(!shown.contains(TOKEN) && !shown.contains(NEW), "{shown}");
        }
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        fn token() -> impl Strategy<Value = AuthToken> {
            // Printable ASCII (with `"` and `\`, which JSON escapes) and other non-space,
            // non-control characters.
            "[!-~\u{a1}-\u{2fff}]{1,48}"
                .prop_filter_map("not header-safe", |text| AuthToken::new(text).ok())
        }

        fn instant() -> impl Strategy<Value = OffsetDateTime> {
            // From 1970 to the end of year 9999, to the nanosecond.
            (0_i128..253_402_300_800_000_000_000)
                .prop_map(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap())
        }

        fn stored() -> impl Strategy<Value = StoredToken> {
            (token(), instant()).prop_map(|(token, at)| StoredToken::new(token, at))
        }

        fn phase() -> impl Strategy<Value = RotationPhase> {
            prop_oneof![
                Just(RotationPhase::Idle),
                Just(RotationPhase::Creating),
                Just(RotationPhase::Staged),
                Just(RotationPhase::Promoting),
            ]
        }

        prop_compose! {
            fn any_record()(
                account in "[0-9a-fA-F]{32}",
                current in stored(),
                pending in proptest::option::of(stored()),
                previous in proptest::option::of(stored()),
                phase in phase(),
                phase_since in instant(),
                completed_at in proptest::option::of(instant()),
                revision in any::<u64>(),
            ) -> TokenRecord {
                TokenRecord {
                    account_sid: format!("AC{account}").parse().unwrap(),
                    current,
                    pending,
                    previous,
                    phase,
                    phase_since,
                    completed_at,
                    revision,
                }
            }
        }

        fn same_token(a: Option<&StoredToken>, b: Option<&StoredToken>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    a.token().expose_secret() == b.token().expose_secret()
                        && a.fingerprint() == b.fingerprint()
                        && a.written_at() == b.written_at()
                }
                _ => false,
            }
        }

        proptest! {
            #[test]
            fn encode_then_decode_gives_the_record_back(record in any_record()) {
                let text = record.encode();
                let back = TokenRecord::decode(&text).unwrap();
                prop_assert_eq!(back.account_sid, record.account_sid);
                prop_assert!(same_token(Some(&back.current), Some(&record.current)));
                prop_assert!(same_token(back.pending.as_ref(), record.pending.as_ref()));
                prop_assert!(same_token(back.previous.as_ref(), record.previous.as_ref()));
                prop_assert_eq!(back.phase, record.phase);
                prop_assert_eq!(back.phase_since, record.phase_since);
                prop_assert_eq!(back.completed_at, record.completed_at);
                prop_assert_eq!(back.revision, record.revision);
                prop_assert_eq!(back.encode(), text);
            }

            #[test]
            fn decode_never_panics_and_names_no_token(
                record in any_record(),
                cut in any::<prop::sample::Index>(),
                junk in "[\\PC]{0,4}",
            ) {
                // A record cut short or with junk spliced in: refused (or, rarely, still a
                // record), never a panic, and never a token in the error.
                let text = record.encode();
                let mut at = cut.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let damaged = format!("{}{junk}", &text[..at]);
                if let Err(err) = TokenRecord::decode(&damaged) {
                    prop_assert_eq!(err.kind(), StoreErrorKind::Malformed);
                    let shown = format!("{err} {err:?}");
                    for (_, stored) in record.tokens() {
                        let secret = stored.token().expose_secret();
                        prop_assert!(secret.len() < 4 || !shown.contains(secret), "{}", shown);
                    }
                }
            }
        }
    }
}
