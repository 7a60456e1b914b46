//! Table tests for timestamp parsing, formatting and the serde helpers.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::datetime;
use twilio_types::timestamp;

#[test]
fn accepted_inputs() {
    let cases: &[(&str, OffsetDateTime)] = &[
        ("2015-07-31T04:00:00Z", datetime!(2015-07-31 04:00:00 UTC)),
        (
            "2023-05-04T09:42:00+00:00",
            datetime!(2023-05-04 09:42:00 UTC),
        ),
        ("1894-10-12T16:18:34.0Z", datetime!(1894-10-12 16:18:34 UTC)),
        (
            "2015-07-31T04:00:00.123456789Z",
            datetime!(2015-07-31 04:00:00.123456789 UTC),
        ),
        (
            "2015-07-31T06:00:00+02:00",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "2015-07-30T23:00:00-05:00",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        ("2015-07-31t04:00:00z", datetime!(2015-07-31 04:00:00 UTC)),
        ("2015-07-31 04:00:00Z", datetime!(2015-07-31 04:00:00 UTC)),
        (
            "2016-12-31T23:59:60Z",
            datetime!(2016-12-31 23:59:59.999999999 UTC),
        ),
        (
            "Fri, 31 Jul 2015 04:00:00 +0000",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "31 Jul 2015 04:00:00 +0000",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "Fri, 31 Jul 2015 06:00:00 +0200",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "Fri, 31 Jul 2015 03:30:00 -0030",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "Fri, 31 Jul 2015 04:30:00 +0030",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "Fri, 31 Jul 2015 02:30:00 -0130",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
        (
            "2015-07-31T03:30:00-00:30",
            datetime!(2015-07-31 04:00:00 UTC),
        ),
    ];
    for (input, expected) in cases {
        let parsed = timestamp::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(parsed, *expected, "input {input:?}");
    }
    // The offset is kept.
    let t = timestamp::parse("2015-07-31T06:00:00+02:00").unwrap();
    assert_eq!(t.offset().whole_hours(), 2);
}

#[test]
fn rejected_inputs() {
    let cases = [
        "",
        "yesterday",
        "2015-07-31",
        "2015-07-31T04:00:00",       // no offset
        "20150731T040000Z",          // basic format
        "2015-07-31T04:00:00Z ",     // trailing space
        " 2015-07-31T04:00:00Z",     // leading space
        "2015-07-31T04:00:00Z\n",    // trailing newline
        "2015-13-01T00:00:00Z",      // month 13
        "2015-02-30T00:00:00Z",      // no such day
        "2015-07-31T24:00:00Z",      // hour 24
        "2015-07-31T04:00:60Z",      // leap second at the wrong time
        "Fri, 31 Jul 2015 04:00:00", // no zone
        "1438315200",                // unix seconds
    ];
    for input in cases {
        let err = timestamp::parse(input).expect_err(input);
        assert_eq!(
            err.to_string(),
            "invalid timestamp: expected an RFC 3339 or RFC 2822 date-time"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}

#[test]
fn rfc2822_weekday_must_match_the_date() {
    for input in [
        "Thu, 31 Jul 2015 04:00:00 +0000",
        "Sat, 31 Jul 2015 04:00:00 +0000",
    ] {
        let err = timestamp::parse(input).expect_err(input);
        assert_eq!(
            err.to_string(),
            "invalid timestamp: the day of the week does not match the date"
        );
    }
    // The weekday is that of the local date, not the UTC one.
    assert!(timestamp::parse("Sat, 01 Aug 2015 01:00:00 +0300").is_ok());
    assert!(timestamp::parse("Fri, 31 Jul 2015 23:00:00 -0300").is_ok());
}

#[test]
fn formatting() {
    let cases: &[(OffsetDateTime, &str)] = &[
        (datetime!(2015-07-31 04:00:00 UTC), "2015-07-31T04:00:00Z"),
        (
            datetime!(2015-07-31 04:00:00.5 UTC),
            "2015-07-31T04:00:00.5Z",
        ),
        (
            datetime!(2015-07-31 04:00:00.000000001 UTC),
            "2015-07-31T04:00:00.000000001Z",
        ),
        (
            datetime!(2015-07-31 04:00:00.120 UTC),
            "2015-07-31T04:00:00.12Z",
        ),
        (
            datetime!(2015-07-31 04:00:00 +05:30),
            "2015-07-31T04:00:00+05:30",
        ),
        (
            datetime!(2015-07-31 04:00:00 -01:00),
            "2015-07-31T04:00:00-01:00",
        ),
        (datetime!(0001-01-01 00:00:00 UTC), "0001-01-01T00:00:00Z"),
        (datetime!(9999-12-31 23:59:59 UTC), "9999-12-31T23:59:59Z"),
        (
            datetime!(2015-07-31 04:00:30 +00:00:30),
            "2015-07-31T04:00:00Z",
        ),
        (datetime!(-0001-01-01 00:00:00 UTC), "-0001-01-01T00:00:00Z"),
    ];
    for (t, expected) in cases {
        assert_eq!(timestamp::format(t), *expected);
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Resource {
    #[serde(with = "twilio_types::timestamp")]
    date_created: OffsetDateTime,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
}

#[test]
fn serde_helpers() {
    let r: Resource = serde_json::from_str(
        r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":"Fri, 31 Jul 2015 04:00:00 +0000"}"#,
    )
    .unwrap();
    assert_eq!(r.date_created, datetime!(2015-07-31 04:00:00 UTC));
    assert_eq!(r.date_updated, Some(datetime!(2015-07-31 04:00:00 UTC)));
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":"2015-07-31T04:00:00Z"}"#
    );

    let r: Resource =
        serde_json::from_str(r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":null}"#)
            .unwrap();
    assert_eq!(r.date_updated, None);
    let r: Resource = serde_json::from_str(r#"{"date_created":"2015-07-31T04:00:00Z"}"#).unwrap();
    assert_eq!(r.date_updated, None);
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":null}"#
    );

    for bad in [
        r#"{"date_created":"nope"}"#,
        r#"{"date_created":null}"#,
        r#"{"date_created":12}"#,
        r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":"nope"}"#,
        r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":""}"#,
        r#"{"date_created":"2015-07-31T04:00:00Z","date_updated":3}"#,
    ] {
        let err = serde_json::from_str::<Resource>(bad).expect_err(bad);
        assert!(!err.to_string().is_empty());
    }
    let err = serde_json::from_str::<Resource>(r#"{"date_created":"nope"}"#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid timestamp: expected an RFC 3339 or RFC 2822 date-time ("),
        "{err}"
    );
}

#[test]
fn serialize_refuses_unrepresentable_years() {
    let r = Resource {
        date_created: datetime!(-0001-01-01 00:00:00 UTC),
        date_updated: None,
    };
    assert!(serde_json::to_string(&r).is_err());
    let r = Resource {
        date_created: datetime!(2015-07-31 04:00:00 UTC),
        date_updated: Some(datetime!(-0005-01-01 00:00:00 UTC)),
    };
    assert!(serde_json::to_string(&r).is_err());
}
