//! Property tests: timestamps survive format → parse and the serde round trip.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};
use twilio_types::timestamp;

/// Instants from 1900 to 2199 with nanosecond precision, in a whole-minute offset.
fn datetimes() -> impl Strategy<Value = OffsetDateTime> {
    let start = -2_208_988_800i64; // 1900-01-01T00:00:00Z
    let end = 7_258_118_400i64; // 2200-01-01T00:00:00Z
    (
        start..end,
        0u32..1_000_000_000,
        -(23 * 60 + 59)..=(23i32 * 60 + 59),
        any::<bool>(),
    )
        .prop_map(|(secs, nanos, offset_minutes, utc)| {
            let offset = if utc {
                UtcOffset::UTC
            } else {
                UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap()
            };
            (OffsetDateTime::from_unix_timestamp(secs).unwrap()
                + time::Duration::nanoseconds(i64::from(nanos)))
            .to_offset(offset)
        })
}

#[derive(Serialize, Deserialize)]
struct Wrapper {
    #[serde(with = "twilio_types::timestamp")]
    at: OffsetDateTime,
    #[serde(with = "twilio_types::timestamp::option", default)]
    maybe: Option<OffsetDateTime>,
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(t in datetimes()) {
        let s = timestamp::format(&t);
        let back = timestamp::parse(&s).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.offset(), t.offset());
        prop_assert_eq!(s.ends_with('Z'), t.offset().is_utc());
    }

    #[test]
    fn serde_round_trip(t in datetimes(), maybe in proptest::option::of(datetimes())) {
        let json = serde_json::to_string(&Wrapper { at: t, maybe }).unwrap();
        let back: Wrapper = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.at, t);
        prop_assert_eq!(back.maybe, maybe);
    }

    #[test]
    fn rfc2822_agrees_with_rfc3339(t in datetimes()) {
        let t = t.replace_nanosecond(0).unwrap();
        let rfc2822 = t.format(&time::format_description::well_known::Rfc2822).unwrap();
        prop_assert_eq!(timestamp::parse(&rfc2822).unwrap(), t);
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = timestamp::parse(&s);
    }

    /// Near misses of both formats (one character replaced, inserted or removed) never
    /// panic, and whatever is still accepted formats to RFC 3339 that parses back to
    /// the same instant: a mutation can change the value, never sneak in garbage.
    #[test]
    fn near_misses_are_errors_or_real_instants(
        t in datetimes(),
        rfc2822 in any::<bool>(),
        pos in any::<prop::sample::Index>(),
        op in 0u8..3,
        c in prop_oneof![
            prop::sample::select(&['0', '9', '6', ':', '-', '+', 'T', 'Z', '.', ' ', ',', '\n'][..]),
            any::<char>(),
        ],
    ) {
        let s = if rfc2822 {
            let t = t.replace_nanosecond(0).unwrap();
            t.format(&time::format_description::well_known::Rfc2822).unwrap()
        } else {
            timestamp::format(&t)
        };
        let mut chars: Vec<char> = s.chars().collect();
        let at = pos.index(chars.len());
        match op {
            0 => chars[at] = c,
            1 => chars.insert(at, c),
            _ => {
                chars.remove(at);
            }
        }
        let mutated: String = chars.into_iter().collect();
        if let Ok(parsed) = timestamp::parse(&mutated) {
            prop_assert_eq!(timestamp::parse(&timestamp::format(&parsed)).unwrap(), parsed);
        }
    }
}
