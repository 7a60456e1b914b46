//! Table tests for SID parsing: every error message, every type, every trait.

use std::collections::HashSet;
use std::str::FromStr;

use twilio_types::{
    AccountSid, ApiKeySid, CredentialSid, MessagingServiceSid, ParseSidError, ParseSidErrorKind,
    SafelistSid,
};

const HEX32: &str = "0123456789abcdef0123456789ABCDEF";

fn sid(prefix: &str) -> String {
    format!("{prefix}{HEX32}")
}

#[test]
fn error_messages_account_sid() {
    let cases: &[(&str, &str)] = &[
        ("", "invalid Account SID: expected 34 characters, found 0"),
        (
            "AC1234567890",
            "invalid Account SID: expected 34 characters, found 12",
        ),
        (
            "AC0123456789abcdef0123456789ABCDEF0",
            "invalid Account SID: expected 34 characters, found 35",
        ),
        (
            "AC0123456789abcdef0123456789ABCDEF\n",
            "invalid Account SID: expected 34 characters, found 35",
        ),
        (
            "AC0123456789abcdef0123456789ABCDE",
            "invalid Account SID: expected 34 characters, found 33",
        ),
        (
            "ac0123456789abcdef0123456789ABCDEF",
            "invalid Account SID: expected prefix \"AC\"",
        ),
        (
            "Ac0123456789abcdef0123456789ABCDEF",
            "invalid Account SID: expected prefix \"AC\"",
        ),
        (
            "SK0123456789abcdef0123456789ABCDEF",
            "invalid Account SID: expected prefix \"AC\"",
        ),
        (
            "AC0123g56789abcdef0123456789ABCDEF",
            "invalid Account SID: character 7 is not a hexadecimal digit",
        ),
        (
            "ACx123456789abcdef0123456789ABCDEF",
            "invalid Account SID: character 3 is not a hexadecimal digit",
        ),
        (
            "AC0123456789abcdef0123456789ABCDE ",
            "invalid Account SID: character 34 is not a hexadecimal digit",
        ),
        (
            "AC0123456789abcdef0123456789ABCDE\0",
            "invalid Account SID: character 34 is not a hexadecimal digit",
        ),
        // Arabic-Indic digit three: 34 characters, 35 bytes.
        (
            "AC0123456789abcdef0123456789ABCDE\u{0663}",
            "invalid Account SID: character 34 is not a hexadecimal digit",
        ),
        // Fullwidth A at character 5.
        (
            "AC01\u{FF21}3456789abcdef0123456789ABCDEF",
            "invalid Account SID: character 5 is not a hexadecimal digit",
        ),
        // 34 bytes but only 33 characters (one two-byte character).
        (
            "AC0123456789abcdef0123456789ABCD\u{00E9}",
            "invalid Account SID: expected 34 characters, found 33",
        ),
        // Non-ASCII in the prefix with 34 characters.
        (
            "\u{FF21}C0123456789abcdef0123456789ABCDEF",
            "invalid Account SID: expected prefix \"AC\"",
        ),
    ];
    for (input, expected) in cases {
        let err = AccountSid::parse(input).unwrap_err();
        assert_eq!(err.to_string(), *expected, "input {input:?}");
        assert_eq!(err.expected_prefix(), "AC");
        assert_eq!(err.type_name(), "Account SID");
    }
}

#[test]
fn error_kinds() {
    let cases: &[(&str, ParseSidErrorKind)] = &[
        ("AC12", ParseSidErrorKind::Length { found: 4 }),
        ("\u{0663}", ParseSidErrorKind::Length { found: 1 }),
        (
            "ac0123456789abcdef0123456789ABCDEF",
            ParseSidErrorKind::Prefix,
        ),
        (
            "AC0123456789abcdef0123456789ABCDEg",
            ParseSidErrorKind::NonHexDigit { position: 34 },
        ),
    ];
    for (input, kind) in cases {
        assert_eq!(
            AccountSid::parse(input).unwrap_err().kind(),
            *kind,
            "input {input:?}"
        );
    }
}

#[test]
fn every_type_names_itself_and_its_prefix() {
    fn check<T: FromStr<Err = ParseSidError> + std::fmt::Debug>(prefix: &str, name: &str) {
        let wrong_prefix = sid(if prefix == "AC" { "SK" } else { "AC" });
        let err = T::from_str(&wrong_prefix).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid {name}: expected prefix \"{prefix}\"")
        );
        assert_eq!(err.expected_prefix(), prefix);
        let err = T::from_str("x").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid {name}: expected 34 characters, found 1")
        );
        let err = T::from_str(&format!("{prefix}{}", "z".repeat(32))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid {name}: character 3 is not a hexadecimal digit")
        );
        assert!(T::from_str(&sid(prefix)).is_ok());
    }
    check::<AccountSid>("AC", "Account SID");
    check::<CredentialSid>("CR", "Credential SID");
    check::<SafelistSid>("GN", "SafeList SID");
    check::<ApiKeySid>("SK", "API Key SID");
    check::<MessagingServiceSid>("MG", "Messaging Service SID");
}

#[test]
fn prefixes() {
    assert_eq!(AccountSid::PREFIX, "AC");
    assert_eq!(CredentialSid::PREFIX, "CR");
    assert_eq!(SafelistSid::PREFIX, "GN");
    assert_eq!(ApiKeySid::PREFIX, "SK");
    assert_eq!(MessagingServiceSid::PREFIX, "MG");
}

#[test]
fn conversions_and_traits() {
    let s = sid("AC");
    let a = AccountSid::parse(&s).unwrap();
    let b: AccountSid = s.parse().unwrap();
    let c = AccountSid::try_from(s.as_str()).unwrap();
    let d = AccountSid::try_from(s.clone()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a, d);
    let copied = a; // Copy
    assert_eq!(copied, a);
    assert_eq!(a.as_str(), s);
    assert_eq!(a.as_ref() as &str, s);
    assert_eq!(a.to_string(), s);
    assert_eq!(format!("{a:?}"), format!("AccountSid({s:?})"));
    assert_eq!(std::mem::size_of::<AccountSid>(), 34);

    // Case of the hex digits is preserved and significant for equality.
    let lower = AccountSid::parse(&s.to_lowercase().replacen("ac", "AC", 1)).unwrap();
    assert_ne!(lower, a);

    let mut set = HashSet::new();
    set.insert(a);
    assert!(set.contains(&b));

    let small = AccountSid::from_static("AC00000000000000000000000000000000");
    let big = AccountSid::from_static("ACffffffffffffffffffffffffffffffff");
    assert!(small < big);
    assert!(small < a);
}

#[test]
fn from_static_in_const_context() {
    const SID: ApiKeySid = ApiKeySid::from_static("SK0123456789abcdef0123456789abcdef");
    assert_eq!(SID.as_str(), "SK0123456789abcdef0123456789abcdef");
}

#[test]
#[should_panic(expected = "invalid Account SID literal: expected prefix \"AC\"")]
fn from_static_panics_on_bad_prefix() {
    let _ = AccountSid::from_static("SK0123456789abcdef0123456789abcdef");
}

#[test]
#[should_panic(expected = "invalid Credential SID literal: expected 34 characters")]
fn from_static_panics_on_bad_length() {
    let _ = CredentialSid::from_static("CR0");
}

#[test]
#[should_panic(expected = "invalid SafeList SID literal: non-hexadecimal character")]
fn from_static_panics_on_non_hex() {
    let _ = SafelistSid::from_static("GN0123456789abcdef0123456789abcdeG");
}

#[test]
fn serde_round_trip_and_errors() {
    let s = sid("MG");
    let sid = MessagingServiceSid::parse(&s).unwrap();
    let json = serde_json::to_string(&sid).unwrap();
    assert_eq!(json, format!("\"{s}\""));
    // Borrowed and owned (escaped strings force an owned buffer) input both work.
    let back: MessagingServiceSid = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sid);
    let escaped = format!("\"\\u004D{}\"", &s[1..]);
    let back: MessagingServiceSid = serde_json::from_str(&escaped).unwrap();
    assert_eq!(back, sid);
    let back: MessagingServiceSid =
        serde_json::from_value(serde_json::Value::String(s.clone())).unwrap();
    assert_eq!(back, sid);

    let err = serde_json::from_str::<MessagingServiceSid>("\"MG12\"").unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        "invalid Messaging Service SID: expected 34 characters, found 4 \
         (Messaging Service SIDs are \"MG\" followed by 32 hexadecimal digits) \
         at line 1 column 6"
    );
    assert!(
        msg.contains("invalid Messaging Service SID: expected 34 characters, found 4"),
        "{msg}"
    );
    assert!(msg.contains("\"MG\""), "{msg}");

    let err =
        serde_json::from_str::<MessagingServiceSid>(&format!("\"{}\"", sid_for("AC"))).unwrap_err();
    assert!(err.to_string().contains("expected prefix \"MG\""), "{err}");

    let err = serde_json::from_str::<MessagingServiceSid>("42").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid type: integer `42`, expected a string holding a SID: Messaging Service SIDs \
         are \"MG\" followed by 32 hexadecimal digits at line 1 column 2"
    );
    assert!(err.to_string().contains("Messaging Service SID"), "{err}");
    assert!(err.to_string().contains("\"MG\""), "{err}");
}

fn sid_for(prefix: &str) -> String {
    sid(prefix)
}

#[test]
fn error_is_std_error_and_comparable() {
    let e1 = AccountSid::parse("").unwrap_err();
    let e2 = e1.clone();
    assert_eq!(e1, e2);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e1);
    assert!(boxed.source().is_none());
}
