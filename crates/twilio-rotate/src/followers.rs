//! `status`'s fleet section: every follower's heartbeat (what it holds, by fingerprint, and how
//! stale the report is) and, while a token is pending, which live followers `complete`'s fleet
//! gate still waits for. Informational only: nothing here changes `status`'s exit code.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use twilio_store::{Heartbeat, StoreErrorKind, TokenFingerprint, TokenStore};
use twilio_types::timestamp;

/// What `status` prints about the followers, as text lines and as JSON, and what `complete`'s
/// fleet gate would find, from the same heartbeats.
pub(crate) struct Fleet {
    pub(crate) text: String,
    pub(crate) json: Value,
    pub(crate) gate: Gate,
}

/// What `complete`'s fleet gate would find now.
#[derive(Debug, PartialEq)]
pub(crate) enum Gate {
    /// Nobody to wait for (every live follower holds the pending token, no token is pending,
    /// or the store keeps no heartbeats).
    Open,
    /// These live followers do not hold the pending token.
    Lagging(Vec<String>),
    /// The heartbeats cannot be read: the gate cannot tell who holds what.
    Unreadable(String),
}

/// Reads the store's heartbeats and describes them as of the moment they were read; `pending`
/// is the staged token, if any. A store without heartbeats, or one whose heartbeats cannot be
/// read, is said in one line.
pub(crate) async fn describe(store: &dyn TokenStore, pending: Option<TokenFingerprint>) -> Fleet {
    match store.heartbeats().await {
        Ok(mut beats) => {
            beats.sort_by(|a, b| a.follower.as_str().cmp(b.follower.as_str()));
            listed(&beats, pending, OffsetDateTime::now_utc())
        }
        Err(error) if error.kind() == StoreErrorKind::Unsupported => Fleet {
            text: "followers: this store keeps no heartbeats".into(),
            json: json!({ "kept": false, "error": null, "heartbeats": [], "lagging": null }),
            gate: Gate::Open,
        },
        Err(error) => Fleet {
            text: format!("followers: the heartbeats cannot be read: {error}"),
            json: json!({
                "kept": true,
                "error": error.to_string(),
                "heartbeats": [],
                "lagging": null,
            }),
            gate: Gate::Unreadable(error.to_string()),
        },
    }
}

fn listed(beats: &[Heartbeat], pending: Option<TokenFingerprint>, now: OffsetDateTime) -> Fleet {
    let live = beats.iter().filter(|b| b.is_live_at(now)).count();
    let mut text = format!("followers: {} heartbeat(s), {live} live", beats.len());
    let mut listed = Vec::new();
    for beat in beats {
        let holds: Vec<String> = beat
            .holds
            .iter()
            .map(|(label, fp)| format!("{} {fp}", label.as_str()))
            .collect();
        let holds = if holds.is_empty() {
            "nothing".to_owned()
        } else {
            holds.join(", ")
        };
        text.push_str(&format!(
            "\n  {} ({}): holds {holds}; published {}, {}",
            beat.follower,
            beat.role.as_str(),
            ago(now - beat.published_at),
            if beat.is_live_at(now) {
                format!("live for {} more", span(beat.expires_at - now))
            } else {
                format!("expired {}", ago(now - beat.expires_at))
            }
        ));
        listed.push(json!({
            "follower": beat.follower.as_str(),
            "role": beat.role.as_str(),
            "holds": beat
                .holds
                .iter()
                .map(|(label, fp)| json!({ "label": label.as_str(), "fingerprint": fp.to_string() }))
                .collect::<Vec<_>>(),
            "published_at": timestamp::format(&beat.published_at),
            "expires_at": timestamp::format(&beat.expires_at),
            "age_seconds": (now - beat.published_at).whole_seconds(),
            "live": beat.is_live_at(now),
        }));
    }
    // The fleet gate's own rule: live followers that do not hold the pending token.
    let lagging = pending.map(|pending| {
        let lagging: Vec<&Heartbeat> = Heartbeat::lagging(beats, pending, now);
        text.push('\n');
        text.push_str(&if lagging.is_empty() {
            format!(
                "every live follower ({live}) holds the pending token {pending}: `complete`'s \
                 fleet gate waits for nobody"
            )
        } else {
            let who: Vec<String> = lagging
                .iter()
                .map(|b| format!("{} ({})", b.follower, b.role.as_str()))
                .collect();
            format!(
                "followers without the pending token {pending} (`complete` waits for them): {}",
                who.join(", ")
            )
        });
        lagging
            .iter()
            .map(|b| b.follower.as_str().to_owned())
            .collect::<Vec<_>>()
    });
    let gate = match &lagging {
        Some(who) if !who.is_empty() => Gate::Lagging(who.clone()),
        _ => Gate::Open,
    };
    Fleet {
        text,
        json: json!({ "kept": true, "error": null, "heartbeats": listed, "lagging": lagging }),
        gate,
    }
}

/// `12s ago`, or `in 3s` for a time ahead of this clock (another host's clock runs ahead).
fn ago(elapsed: Duration) -> String {
    if elapsed.is_negative() {
        format!("in {} (clocks differ)", span(-elapsed))
    } else {
        format!("{} ago", span(elapsed))
    }
}

/// A duration as an operator reads it: `42s`, `5m 3s`, `2h 10m`.
fn span(d: Duration) -> String {
    let s = d.whole_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use twilio_store::{StoreError, StoreFuture, TokenRecord};

    use super::*;

    /// A store that keeps no heartbeats (the trait's default), like a read-only volume.
    #[derive(Debug)]
    struct NoHeartbeats;

    impl TokenStore for NoHeartbeats {
        fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
            Box::pin(async { Ok(None) })
        }

        fn save<'a>(&'a self, _: &'a TokenRecord) -> StoreFuture<'a, u64> {
            Box::pin(async { Err(StoreError::new(StoreErrorKind::Unsupported, "read-only")) })
        }
    }

    #[tokio::test]
    async fn a_store_without_heartbeats_is_one_line() {
        let fleet = describe(&NoHeartbeats, None).await;
        assert_eq!(fleet.text, "followers: this store keeps no heartbeats");
        assert_eq!(fleet.json["kept"], false);
        assert_eq!(fleet.json["error"], Value::Null);
        assert_eq!(fleet.gate, Gate::Open);
    }

    /// The gate `status` reports is the one the listed heartbeats show: a live follower
    /// without the pending token holds it shut; an expired one, or no pending token, does not.
    #[test]
    fn the_gate_follows_the_listed_heartbeats() {
        use twilio_store::{FollowerId, FollowerRole, TokenLabel};
        use twilio_types::AuthToken;

        let now = OffsetDateTime::now_utc();
        let old =
            TokenFingerprint::of(&AuthToken::new("0123456789abcdef0123456789abcdef").unwrap());
        let new =
            TokenFingerprint::of(&AuthToken::new("fedcba9876543210fedcba9876543210").unwrap());
        let beat = |name: &str, holds: TokenFingerprint, expires_in: i64| Heartbeat {
            follower: FollowerId::new(name).unwrap(),
            role: FollowerRole::Client,
            holds: vec![(TokenLabel::Current, holds)],
            published_at: now - Duration::seconds(5),
            expires_at: now + Duration::seconds(expires_in),
        };
        let beats = [beat("a", new, 30), beat("b", old, 30), beat("c", old, -30)];
        let fleet = listed(&beats, Some(new), now);
        assert_eq!(fleet.gate, Gate::Lagging(vec!["b".to_owned()]));
        assert_eq!(fleet.json["lagging"], json!(["b"]));
        assert!(
            fleet
                .text
                .contains("(`complete` waits for them): b (client)"),
            "{}",
            fleet.text
        );
        assert_eq!(listed(&beats[..1], Some(new), now).gate, Gate::Open);
        assert_eq!(listed(&beats, None, now).gate, Gate::Open);
    }

    #[test]
    fn spans_read_as_an_operator_says_them() {
        assert_eq!(span(Duration::seconds(42)), "42s");
        assert_eq!(span(Duration::seconds(303)), "5m 3s");
        assert_eq!(span(Duration::seconds(7800)), "2h 10m");
        assert_eq!(ago(Duration::seconds(-3)), "in 3s (clocks differ)");
        assert_eq!(ago(Duration::milliseconds(1500)), "1s ago");
    }
}
