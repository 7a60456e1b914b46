//! [`Heartbeat`]: what one follower of the store holds, published to the store so that the
//! rotation can check that every live follower has the pending token before promoting it
//! (the fleet acknowledgement gate, issue 17 §4). Fingerprints only, never a token.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use twilio_types::timestamp;

use crate::{StoreError, StoreErrorKind, TokenFingerprint, TokenLabel};

/// The format tag of a heartbeat's JSON form.
const FORMAT: &str = "twilio-token-store-heartbeat/1";

/// How long a heartbeat stays in the store after it expired: one hour. Until then `status`
/// shows the follower as expired (a process that died or hung, worth a look); after that the
/// stores that keep heartbeats remove it when they list them (see
/// [`TokenStore::heartbeats`](crate::TokenStore::heartbeats)), so the followers of a fleet whose
/// processes come and go do not pile up. A live heartbeat is never removed: only one whose
/// follower has not published for its whole lifetime plus this long.
pub const HEARTBEAT_RETENTION: Duration = Duration::from_secs(60 * 60);

/// A follower's name: 1 to 128 characters of `A-Z a-z 0-9 . _ : -`, not starting with `.`
/// (it names a file or a key in some stores).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FollowerId(String);

impl FollowerId {
    /// `name`, if it is a valid follower id.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] naming the rule broken.
    pub fn new(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if name.is_empty()
            || name.len() > 128
            || name.starts_with('.')
            || !name.chars().all(valid_char)
        {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                "a follower id is 1 to 128 characters of A-Z a-z 0-9 . _ : - and does not start with .",
            ));
        }
        Ok(Self(name))
    }

    /// A new id for a follower in this process: `HOST:PID:RANDOM`, with the host name cut to
    /// what an id may hold.
    pub fn for_this_process() -> Self {
        let owner = crate::LeaseOwner::this_process();
        let cleaned: String = owner
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .skip_while(|c| *c == '.')
            .take(128)
            .collect();
        Self(cleaned)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FollowerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of process a follower is: both must hold the pending token before a promotion
/// (Twilio signs webhooks with the primary, so a validator needs the new token first too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FollowerRole {
    /// An SDK client that authenticates with the store's tokens.
    Client,
    /// A webhook validator that checks signatures with them.
    WebhookValidator,
}

impl FollowerRole {
    /// `"client"` or `"webhook-validator"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::WebhookValidator => "webhook-validator",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "client" => Self::Client,
            "webhook-validator" => Self::WebhookValidator,
            _ => return None,
        })
    }
}

/// One follower's report: which tokens it holds (by fingerprint), when it said so, and until
/// when the report counts (a follower that stops publishing drops out of the gate then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// Who reports.
    pub follower: FollowerId,
    /// What kind of follower.
    pub role: FollowerRole,
    /// The tokens it holds, by label and fingerprint.
    pub holds: Vec<(TokenLabel, TokenFingerprint)>,
    /// When it was published.
    pub published_at: OffsetDateTime,
    /// When it stops counting unless a newer one replaces it.
    pub expires_at: OffsetDateTime,
}

impl Heartbeat {
    /// Whether the heartbeat still counts at `now`.
    pub fn is_live_at(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    /// Whether the heartbeat expired more than [`HEARTBEAT_RETENTION`] before `now`: a
    /// follower gone for good, whose heartbeat the store removes when it lists them.
    pub fn is_prunable_at(&self, now: OffsetDateTime) -> bool {
        now - self.expires_at > HEARTBEAT_RETENTION
    }

    /// Whether the follower holds a token with `fingerprint` (under any label).
    pub fn holds(&self, fingerprint: TokenFingerprint) -> bool {
        self.holds.iter().any(|(_, held)| *held == fingerprint)
    }

    /// The followers the fleet gate still waits for: those of `heartbeats` live at `now` that
    /// do not hold `fingerprint`. Expired heartbeats (a follower that stopped) do not count.
    pub fn lagging(
        heartbeats: &[Heartbeat],
        fingerprint: TokenFingerprint,
        now: OffsetDateTime,
    ) -> Vec<&Heartbeat> {
        heartbeats
            .iter()
            .filter(|beat| beat.is_live_at(now) && !beat.holds(fingerprint))
            .collect()
    }

    /// The JSON form (no secret: fingerprints only).
    pub fn encode(&self) -> String {
        let holds: Vec<Value> = self
            .holds
            .iter()
            .map(|(label, fp)| json!({ "label": label.as_str(), "fingerprint": fp.to_string() }))
            .collect();
        json!({
            "format": FORMAT,
            "follower": self.follower.as_str(),
            "role": self.role.as_str(),
            "holds": holds,
            "published_at": timestamp::format(&self.published_at),
            "expires_at": timestamp::format(&self.expires_at),
        })
        .to_string()
    }

    /// Reads what [`encode`](Self::encode) wrote.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Malformed`] naming the field.
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| malformed("the heartbeat is not a JSON object"))?;
        let object = value
            .as_object()
            .ok_or_else(|| malformed("the heartbeat is not a JSON object"))?;
        if object.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(malformed(&format!("`format` is not \"{FORMAT}\"")));
        }
        let follower = FollowerId::new(string(object, "follower")?)
            .map_err(|_| malformed("`follower` is not a follower id"))?;
        let role = FollowerRole::parse(string(object, "role")?)
            .ok_or_else(|| malformed("`role` is not a known role"))?;
        let holds = object
            .get("holds")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("`holds` is not an array"))?
            .iter()
            .map(|entry| {
                let entry = entry
                    .as_object()
                    .ok_or_else(|| malformed("`holds` has an entry that is not an object"))?;
                let label = TokenLabel::parse(string(entry, "label")?)
                    .ok_or_else(|| malformed("`holds[].label` is not a known label"))?;
                let fingerprint = string(entry, "fingerprint")?
                    .parse()
                    .map_err(|_| malformed("`holds[].fingerprint` is not a fingerprint"))?;
                Ok((label, fingerprint))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            follower,
            role,
            holds,
            published_at: instant(object, "published_at")?,
            expires_at: instant(object, "expires_at")?,
        })
    }
}

fn malformed(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Malformed,
        format!("malformed heartbeat: {what}"),
    )
}

fn string<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a str, StoreError> {
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("`{name}` is not a string")))
}

fn instant(object: &Map<String, Value>, name: &str) -> Result<OffsetDateTime, StoreError> {
    timestamp::parse(string(object, name)?)
        .map_err(|_| malformed(&format!("`{name}` is not an RFC 3339 timestamp")))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn heartbeat() -> Heartbeat {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        Heartbeat {
            follower: FollowerId::new("web-1:4242:ab").unwrap(),
            role: FollowerRole::WebhookValidator,
            holds: vec![
                (TokenLabel::Current, "0a1b2c3d".parse().unwrap()),
                (TokenLabel::Pending, "ffee0011".parse().unwrap()),
            ],
            published_at: now,
            expires_at: now + time::Duration::seconds(30),
        }
    }

    #[test]
    fn round_trips_and_checks_its_fields() {
        let text = heartbeat().encode();
        assert_eq!(Heartbeat::decode(&text).unwrap(), heartbeat());
        assert!(heartbeat().holds("ffee0011".parse().unwrap()));
        for (bad, field) in [
            (text.replace("webhook-validator", "robot"), "`role`"),
            (text.replace("ffee0011", "ffee001"), "`holds[].fingerprint`"),
            (text.replace("\"pending\"", "\"later\""), "`holds[].label`"),
            (text.replace("web-1:4242:ab", ".hidden"), "`follower`"),
            (text.replace("heartbeat/1", "heartbeat/2"), "`format`"),
        ] {
            let err = Heartbeat::decode(&bad).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Malformed);
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn lagging_is_the_live_followers_without_the_token() {
        let beat = heartbeat();
        let now = beat.published_at;
        let pending: TokenFingerprint = "ffee0011".parse().unwrap();
        let other: TokenFingerprint = "12345678".parse().unwrap();
        let mut stale = beat.clone();
        stale.follower = FollowerId::new("gone").unwrap();
        stale.holds.clear();
        stale.expires_at = now;
        let all = [beat.clone(), stale];
        assert!(Heartbeat::lagging(&all, pending, now).is_empty());
        assert_eq!(Heartbeat::lagging(&all, other, now), [&beat]);
    }

    #[test]
    fn follower_ids_are_checked() {
        for bad in ["", ".x", "a/b", "a b", &"x".repeat(129)] {
            assert_eq!(
                FollowerId::new(bad).unwrap_err().kind(),
                StoreErrorKind::Invalid
            );
        }
        FollowerId::new(FollowerId::for_this_process().as_str()).unwrap();
    }

    proptest! {
        #[test]
        fn decode_never_panics(text in "\\PC{0,200}") {
            let _ = Heartbeat::decode(&text);
        }

        #[test]
        fn any_valid_id_round_trips(id in "[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,127}") {
            let mut beat = heartbeat();
            beat.follower = FollowerId::new(id).unwrap();
            prop_assert_eq!(Heartbeat::decode(&beat.encode()).unwrap(), beat);
        }
    }
}
