//! Twilio date-time fields as [`time::OffsetDateTime`], with serde `with` helpers.
//!
//! Accepted input ([`parse`]):
//!
//! * **RFC 3339** as Twilio emits it: `2015-07-31T04:00:00Z`, `2023-05-04T09:42:00+00:00`,
//!   with optional fractional seconds of any length up to nanoseconds
//!   (`1894-10-12T16:18:34.0Z`). As RFC 3339 allows, the `T` and `Z` may also be
//!   lowercase, and a single space may stand for the `T`. A leap second (`:60`) is accepted only where it can occur (the last
//!   second of a UTC day) and is read as `…:59.999999999`. Not accepted: a missing
//!   offset, basic (separator-less) ISO 8601 forms, and
//!   offsets with seconds.
//! * **RFC 2822** because parts of the spec describe it: `Fri, 31 Jul 2015 04:00:00 +0000`
//!   (the weekday is optional but, when present, must match the date).
//!
//! No surrounding whitespace is allowed. Output ([`format()`]) is always RFC 3339.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use time::OffsetDateTime;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Credential {
//!     #[serde(with = "twilio_types::timestamp")]
//!     date_created: OffsetDateTime,
//!     #[serde(with = "twilio_types::timestamp::option", default)]
//!     date_updated: Option<OffsetDateTime>,
//! }
//!
//! let c: Credential = serde_json::from_str(
//!     r#"{"date_created": "Fri, 31 Jul 2015 04:00:00 +0000", "date_updated": null}"#,
//! )?;
//! assert_eq!(c.date_created.unix_timestamp(), 1_438_315_200);
//! assert_eq!(c.date_updated, None);
//! assert_eq!(
//!     serde_json::to_string(&c)?,
//!     r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":null}"#,
//! );
//!
//! let missing: Credential = serde_json::from_str(r#"{"date_created": "2015-07-31T04:00:00Z"}"#)?;
//! assert_eq!(missing.date_updated, None);
//!
//! assert!(serde_json::from_str::<Credential>(r#"{"date_created": "yesterday"}"#).is_err());
//! # Ok::<(), serde_json::Error>(())
//! ```

use core::fmt;
use core::fmt::Write as _;

use time::OffsetDateTime;
use time::UtcOffset;
use time::format_description::well_known::{Rfc2822, Rfc3339};

/// The error returned by [`parse`] for input that is neither RFC 3339 nor RFC 2822.
///
/// For syntax errors, [`source`](std::error::Error::source) holds the parser's detailed
/// reason for the format the input resembled (RFC 3339 if it starts with a digit,
/// RFC 2822 otherwise). An RFC 2822 date-time whose day of the week contradicts its
/// date is rejected too.
///
/// ```
/// let err = twilio_types::timestamp::parse("2015-07-31 04:00:00").unwrap_err();
/// assert_eq!(err.to_string(), "invalid timestamp: expected an RFC 3339 or RFC 2822 date-time");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, Clone)]
pub struct ParseTimestampError {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Syntax(time::error::Parse),
    WeekdayMismatch,
}

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner {
            Inner::Syntax(_) => {
                f.write_str("invalid timestamp: expected an RFC 3339 or RFC 2822 date-time")
            }
            Inner::WeekdayMismatch => {
                f.write_str("invalid timestamp: the day of the week does not match the date")
            }
        }
    }
}

impl std::error::Error for ParseTimestampError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner {
            Inner::Syntax(e) => Some(e),
            Inner::WeekdayMismatch => None,
        }
    }
}

/// The English three-letter abbreviation RFC 2822 uses for a weekday.
fn weekday_abbreviation(t: &OffsetDateTime) -> &'static str {
    match t.weekday() {
        time::Weekday::Monday => "Mon",
        time::Weekday::Tuesday => "Tue",
        time::Weekday::Wednesday => "Wed",
        time::Weekday::Thursday => "Thu",
        time::Weekday::Friday => "Fri",
        time::Weekday::Saturday => "Sat",
        time::Weekday::Sunday => "Sun",
    }
}

/// Parses an RFC 3339 date-time, or failing that an RFC 2822 one.
///
/// See the [module documentation](self) for exactly what is accepted.
///
/// ```
/// use twilio_types::timestamp;
///
/// let a = timestamp::parse("2015-07-31T04:00:00Z")?;
/// let b = timestamp::parse("2015-07-31T04:00:00+00:00")?;
/// let c = timestamp::parse("Fri, 31 Jul 2015 04:00:00 +0000")?;
/// assert_eq!(a, b);
/// assert_eq!(a, c);
/// assert!(timestamp::parse("31/07/2015").is_err());
/// # Ok::<(), timestamp::ParseTimestampError>(())
/// ```
///
/// # Errors
///
/// Returns [`ParseTimestampError`] if `s` is neither.
pub fn parse(s: &str) -> Result<OffsetDateTime, ParseTimestampError> {
    let rfc3339 = match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let rfc2822 = match OffsetDateTime::parse(s, &Rfc2822) {
        Ok(t) => {
            let t = fix_rfc2822_negative_sub_hour_offset(s, t);
            // The parser checks the weekday's spelling, not that it matches the date.
            let has_weekday = s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic);
            if has_weekday && s.get(..3) != Some(weekday_abbreviation(&t)) {
                return Err(ParseTimestampError {
                    inner: Inner::WeekdayMismatch,
                });
            }
            return Ok(t);
        }
        Err(e) => e,
    };
    let looks_like_rfc3339 = s.as_bytes().first().is_some_and(u8::is_ascii_digit);
    Err(ParseTimestampError {
        inner: Inner::Syntax(if looks_like_rfc3339 { rfc3339 } else { rfc2822 }),
    })
}

/// `time`'s RFC 2822 parser reads a negative offset of less than an hour (`-0030`) as
/// positive; the local date and time are right, so only the offset's sign is restored.
fn fix_rfc2822_negative_sub_hour_offset(s: &str, t: OffsetDateTime) -> OffsetDateTime {
    let zone = s.len().checked_sub(5).and_then(|start| s.get(start..));
    let offset = t.offset();
    if zone.is_some_and(|z| z.starts_with("-00"))
        && offset.is_positive()
        && let Ok(negated) = UtcOffset::from_whole_seconds(-offset.whole_seconds())
    {
        return t.replace_offset(negated);
    }
    t
}

/// Formats a date-time as RFC 3339: `2015-07-31T04:00:00Z`.
///
/// A zero offset is written `Z`, any other offset as `+hh:mm`/`-hh:mm` (the offset is
/// kept, so the result denotes the same instant). Fractional seconds appear only when
/// non-zero, without trailing zeros. An offset with a seconds component, which RFC 3339
/// cannot express, is converted to UTC first.
///
/// Years outside `0000..=9999` cannot be written in RFC 3339; they are written in the
/// ISO 8601 expanded form (`-0001-01-01T00:00:00Z`, `+10000-…`), which [`parse`] does
/// not accept, and the serde helpers refuse to serialize them.
///
/// ```
/// use time::macros::datetime;
/// use twilio_types::timestamp;
///
/// assert_eq!(timestamp::format(&datetime!(2015-07-31 04:00:00 UTC)), "2015-07-31T04:00:00Z");
/// assert_eq!(timestamp::format(&datetime!(2015-07-31 04:00:00.25 -05:00)), "2015-07-31T04:00:00.25-05:00");
/// ```
pub fn format(t: &OffsetDateTime) -> String {
    let mut t = *t;
    if t.offset().seconds_past_minute() != 0
        && let Some(utc) = t.checked_to_offset(UtcOffset::UTC)
    {
        t = utc;
    }
    let mut out = String::with_capacity(35);
    let year = t.year();
    // `write!` to a String cannot fail.
    let _ = if (0..=9999).contains(&year) {
        write!(out, "{year:04}")
    } else {
        write!(out, "{year:+05}")
    };
    let _ = write!(
        out,
        "-{:02}-{:02}T{:02}:{:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let mut digits = [0u8; 9];
        let mut n = nanos;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        out.push('.');
        out.extend(digits[..len].iter().map(|&d| char::from(d)));
    }
    let offset = t.offset();
    if offset.is_utc() {
        out.push('Z');
    } else {
        let sign = if offset.is_negative() { '-' } else { '+' };
        let (h, m, s) = offset.as_hms();
        let _ = write!(out, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs());
        if s != 0 {
            // Only reachable when converting to UTC overflowed the supported range.
            let _ = write!(out, ":{:02}", s.unsigned_abs());
        }
    }
    out
}

fn is_rfc3339_representable(t: &OffsetDateTime) -> bool {
    (0..=9999).contains(&t.year()) && t.offset().seconds_past_minute() == 0
}

/// Serializes an [`OffsetDateTime`] as an RFC 3339 string ([`format()`]).
///
/// For `#[serde(with = "twilio_types::timestamp")]`; see the [module docs](self).
///
/// # Errors
///
/// Fails if the year is outside `0000..=9999` or the offset has a seconds component
/// (neither can be written in RFC 3339), or if the serializer fails.
pub fn serialize<S: serde::Serializer>(
    t: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if !is_rfc3339_representable(t) {
        let utc = t.checked_to_offset(UtcOffset::UTC);
        if !utc.as_ref().is_some_and(is_rfc3339_representable) {
            return Err(serde::ser::Error::custom(
                "timestamp cannot be written as RFC 3339 (year outside 0000..=9999)",
            ));
        }
    }
    serializer.serialize_str(&format(t))
}

struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = OffsetDateTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 or RFC 2822 date-time string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OffsetDateTime, E> {
        // Serde errors carry only a message, so include the cause here.
        parse(v).map_err(|err| match &err.inner {
            Inner::Syntax(cause) => E::custom(format_args!("{err} ({cause})")),
            Inner::WeekdayMismatch => E::custom(err),
        })
    }
}

/// Deserializes an [`OffsetDateTime`] from an RFC 3339 or RFC 2822 string ([`parse`]).
///
/// For `#[serde(with = "twilio_types::timestamp")]`; see the [module docs](self).
///
/// # Errors
///
/// Fails if the value is not a string or the string is not a valid date-time.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<OffsetDateTime, D::Error> {
    deserializer.deserialize_str(TimestampVisitor)
}

/// Serde helpers for `Option<OffsetDateTime>`:
/// `#[serde(with = "twilio_types::timestamp::option", default)]`.
///
/// `null` deserializes to `None` (and `None` serializes to `null`); with `default`, a
/// missing field is `None` too. Any string must be a valid date-time: an invalid or
/// empty string is an error, never `None`.
///
/// ```
/// use serde::Deserialize;
/// use time::OffsetDateTime;
///
/// #[derive(Deserialize)]
/// struct Item {
///     #[serde(with = "twilio_types::timestamp::option", default)]
///     date_updated: Option<OffsetDateTime>,
/// }
///
/// let some: Item = serde_json::from_str(r#"{"date_updated": "2023-05-04T09:42:00+00:00"}"#)?;
/// assert!(some.date_updated.is_some());
/// let none: Item = serde_json::from_str(r#"{"date_updated": null}"#)?;
/// assert!(none.date_updated.is_none());
/// assert!(serde_json::from_str::<Item>(r#"{"date_updated": ""}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub mod option {
    use core::fmt;

    use time::OffsetDateTime;

    /// Serializes `Some` as an RFC 3339 string and `None` as null.
    ///
    /// # Errors
    ///
    /// As [`timestamp::serialize`](super::serialize).
    pub fn serialize<S: serde::Serializer>(
        t: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, serializer),
            None => serializer.serialize_none(),
        }
    }

    struct OptionVisitor;

    impl<'de> serde::de::Visitor<'de> for OptionVisitor {
        type Value = Option<OffsetDateTime>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or an RFC 3339 or RFC 2822 date-time string")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }

    /// Deserializes null as `None` and a date-time string as `Some`.
    ///
    /// # Errors
    ///
    /// Fails if the value is neither null nor a valid date-time string.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }
}
