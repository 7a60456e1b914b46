//! [`TokenRecord`]: one account's tokens under their staging labels, and its JSON form.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{Lease, LeaseOwner, StoreError, StoreErrorKind, TokenFingerprint, TokenLabel};
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

/// What `complete` does when the fleet gate's max-wait ends before every live follower holds
/// the pending token (issue 17 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatePolicy {
    /// Do not promote: the rotation stays staged (both tokens keep working).
    DoNotPromote,
    /// Promote anyway: followers that did not report the pending token fail until they reload.
    PromoteAnyway,
}

impl GatePolicy {
    /// `"do-not-promote"` or `"promote-anyway"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoNotPromote => "do-not-promote",
            Self::PromoteAnyway => "promote-anyway",
        }
    }

    /// The policy named `name` (as [`as_str`](Self::as_str) writes it), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "do-not-promote" => Self::DoNotPromote,
            "promote-anyway" => Self::PromoteAnyway,
            _ => return None,
        })
    }
}

/// The choices a rotation was started with, recorded so that `resume` from another process
/// keeps the interrupted run's choices (issue 18). Every field is optional: unset means the
/// default of whoever resumes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationChoices {
    /// How long after staging the promotion may be sent.
    pub hand_off_grace: Option<Duration>,
    /// How long `complete` waits for every live follower to report the pending token.
    pub max_wait: Option<Duration>,
    /// What `complete` does when that wait ends first.
    pub gate_policy: Option<GatePolicy>,
    /// How long after a promotion Twilio may still refuse the new token: `status` and
    /// `resume` in another process judge a refused new token by the rotating run's window.
    pub propagation_window: Option<Duration>,
}

impl RotationChoices {
    /// No choice recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
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
    /// The rotation's lock: who holds it and until when ([`LeasedRecord`](crate::LeasedRecord)).
    pub lease: Option<Lease>,
    /// The choices of the rotation in progress (or the last one), for `resume`.
    pub choices: RotationChoices,
    /// The store's revision of this record: what [`load`](crate::TokenStore::load) read, and
    /// what [`save`](crate::TokenStore::save) compares before writing; 0 for a record never
    /// saved.
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
            lease: None,
            choices: RotationChoices::new(),
            revision: 0,
        }
    }

    /// Every stored token with its label, `current` first: what a follower may authenticate
    /// with, or a validator may accept.
    pub fn tokens(&self) -> impl Iterator<Item = (TokenLabel, &StoredToken)> {
        std::iter::once((TokenLabel::Current, &self.current))
            .chain(self.pending.iter().map(|t| (TokenLabel::Pending, t)))
            .chain(self.previous.iter().map(|t| (TokenLabel::Previous, t)))
    }

    /// The fingerprint of every stored token with its label, `current` first (what a follower
    /// holding this record reports in its heartbeat).
    pub fn fingerprints(&self) -> Vec<(TokenLabel, TokenFingerprint)> {
        self.tokens()
            .map(|(label, token)| (label, token.fingerprint()))
            .collect()
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
        let mut value = json!({
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
        // Added by issue 17, written only when set, so that a record without them reads the
        // same as one written before.
        if let Some(lease) = &self.lease {
            value["lease"] = json!({
                "owner": lease.owner.as_str(),
                "expires_at": timestamp::format(&lease.expires_at),
                "fence": lease.fence,
            });
        }
        if !self.choices.is_empty() {
            let millis =
                |d: Option<Duration>| d.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            value["choices"] = json!({
                "hand_off_grace_ms": millis(self.choices.hand_off_grace),
                "max_wait_ms": millis(self.choices.max_wait),
                "gate_policy": self.choices.gate_policy.map(GatePolicy::as_str),
                "propagation_window_ms": millis(self.choices.propagation_window),
            });
        }
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
            lease: lease(object)?,
            choices: choices(object)?,
            revision,
        })
    }
}

fn lease(object: &Map<String, Value>) -> Result<Option<Lease>, StoreError> {
    let entry = match object.get("lease") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(entry)) => entry,
        Some(_) => return Err(malformed("`lease` is not an object")),
    };
    let owner = string(entry, "owner").map_err(|_| malformed("`lease.owner` is not a string"))?;
    Ok(Some(Lease {
        owner: LeaseOwner::new(owner),
        expires_at: time(entry, "expires_at")?
            .ok_or_else(|| malformed("`lease.expires_at` is missing"))?,
        fence: entry
            .get("fence")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("`lease.fence` is not a non-negative integer"))?,
    }))
}

fn choices(object: &Map<String, Value>) -> Result<RotationChoices, StoreError> {
    let entry = match object.get("choices") {
        None | Some(Value::Null) => return Ok(RotationChoices::new()),
        Some(Value::Object(entry)) => entry,
        Some(_) => return Err(malformed("`choices` is not an object")),
    };
    let millis = |name: &str| match entry.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(|ms| Some(Duration::from_millis(ms)))
            .ok_or_else(|| malformed(&format!("`choices.{name}` is not a non-negative integer"))),
    };
    let gate_policy = match entry.get("gate_policy") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_str()
                .and_then(GatePolicy::parse)
                .ok_or_else(|| malformed("`choices.gate_policy` is not a known policy"))?,
        ),
    };
    Ok(RotationChoices {
        hand_off_grace: millis("hand_off_grace_ms")?,
        max_wait: millis("max_wait_ms")?,
        gate_policy,
        propagation_window: millis("propagation_window_ms")?,
    })
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
        assert_eq!(labels, [TokenLabel::Current, TokenLabel::Pending]);
        assert!(back.lease.is_none() && back.choices.is_empty());
    }

    /// A record exactly as the code before issue 17 wrote it (no lease, no choices): still read.
    #[test]
    fn decodes_a_record_written_before_leases() {
        let text = r#"{
  "account_sid": "AC0123456789abcdef0123456789abcdef",
  "completed_at": null,
  "current": {
    "fingerprint": "1b8d0d5e",
    "token": "aaaabbbbccccddddeeeeffff00001111",
    "written_at": "2026-11-30T09:12:44.123456789Z"
  },
  "format": "twilio-token-store/1",
  "pending": {
    "fingerprint": "ba1f3a4e",
    "token": "fedcba9876543210fedcba9876543210",
    "written_at": "2026-11-30T09:13:01Z"
  },
  "phase": "staged",
  "phase_since": "2026-11-30T09:13:01Z",
  "previous": null,
  "revision": 4
}"#;
        let current = TokenFingerprint::of(&AuthToken::new(TOKEN).unwrap()).to_string();
        let pending = TokenFingerprint::of(&AuthToken::new(NEW).unwrap()).to_string();
        let text = text
            .replace("1b8d0d5e", &current)
            .replace("ba1f3a4e", &pending);
        let record = TokenRecord::decode(&text).unwrap();
        assert_eq!(record.revision, 4);
        assert_eq!(record.phase, RotationPhase::Staged);
        assert_eq!(record.pending.unwrap().token().expose_secret(), NEW);
        assert!(record.lease.is_none());
        assert!(record.choices.is_empty());
    }

    #[test]
    fn lease_and_choices_round_trip_and_are_checked() {
        let mut record = record();
        record.lease = Some(Lease {
            owner: LeaseOwner::new("host-a:42:0f0f"),
            expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(90),
            fence: 6,
        });
        record.choices = RotationChoices {
            hand_off_grace: Some(Duration::from_secs(30)),
            max_wait: Some(Duration::from_millis(1500)),
            gate_policy: Some(GatePolicy::PromoteAnyway),
            propagation_window: Some(Duration::from_secs(90)),
        };
        let text = record.encode().to_string();
        let back = TokenRecord::decode(&text).unwrap();
        assert_eq!(back.lease, record.lease);
        assert_eq!(back.choices, record.choices);
        for (bad, field) in [
            (
                text.replace("\"fence\": 6", "\"fence\": -1"),
                "`lease.fence`",
            ),
            (
                text.replace("promote-anyway", "maybe"),
                "`choices.gate_policy`",
            ),
            (
                text.replace("\"max_wait_ms\": 1500", "\"max_wait_ms\": \"1\""),
                "`choices.max_wait_ms`",
            ),
        ] {
            let err = TokenRecord::decode(&bad).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
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
                lease in proptest::option::of(lease()),
                choices in choices(),
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
                    lease,
                    choices,
                    revision,
                }
            }
        }

        fn lease() -> impl Strategy<Value = Lease> {
            ("[!-~]{1,40}", instant(), any::<u64>()).prop_map(|(owner, expires_at, fence)| Lease {
                owner: LeaseOwner::new(owner),
                expires_at,
                fence,
            })
        }

        fn choices() -> impl Strategy<Value = RotationChoices> {
            let millis = || proptest::option::of((0_u64..u64::MAX).prop_map(Duration::from_millis));
            let policy = proptest::option::of(prop_oneof![
                Just(GatePolicy::DoNotPromote),
                Just(GatePolicy::PromoteAnyway)
            ]);
            (millis(), millis(), policy, millis()).prop_map(
                |(hand_off_grace, max_wait, gate_policy, propagation_window)| RotationChoices {
                    hand_off_grace,
                    max_wait,
                    gate_policy,
                    propagation_window,
                },
            )
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
                prop_assert_eq!(&back.lease, &record.lease);
                prop_assert_eq!(back.choices, record.choices);
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
