//! Property tests: secrets never appear in `Debug` output.

use proptest::prelude::*;
use twilio_types::{ApiKeySecret, AuthToken};

/// Every fixed text the redacted output can contain. A secret that is a substring of
/// one of these (say `"act"`) would trivially "appear" without leaking anything, so
/// such values are excluded: the property is about the secret leaking, not about
/// coincidences with the fixed text.
const FIXED_TEXTS: &[&str] = &[
    "AuthToken(** redacted **)",
    "ApiKeySecret(** redacted **)",
    "Holder { token: AuthToken(** redacted **), key: ApiKeySecret(** redacted **), label: \"x\" }",
    // The pretty (`{:#?}`) form, whose indentation holds runs of spaces.
    "Holder {\n    token: AuthToken(** redacted **),\n    key: ApiKeySecret(** redacted **),\n    label: \"x\",\n}",
];

fn is_coincidence(s: &str) -> bool {
    FIXED_TEXTS.iter().any(|t| t.contains(s))
}

/// Arbitrary secrets: arbitrary Unicode, ASCII that resembles real tokens, and values
/// made only of the characters of the redacted text itself (the hardest case).
fn secret_strings() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-f]{32}",
        "[!-~]{1,64}",
        "[AuthTokenApiKeySecret(* redacted)]{1,40}",
    ]
    .prop_filter("non-empty", |s| !s.is_empty())
}

#[derive(Debug)]
#[allow(dead_code)] // read only through Debug
struct Holder {
    token: AuthToken,
    key: ApiKeySecret,
    label: &'static str,
}

proptest! {
    #[test]
    fn debug_never_contains_the_secret(s in secret_strings()) {
        prop_assume!(!is_coincidence(&s));
        // Through the constructors when the value is header-safe, through serde (which
        // accepts anything) otherwise: both paths must redact.
        let json = serde_json::to_string(&s).unwrap();
        let token: AuthToken = serde_json::from_str(&json).unwrap();
        let key: ApiKeySecret = serde_json::from_str(&json).unwrap();
        if let Ok(t) = AuthToken::new(s.clone()) {
            prop_assert_eq!(format!("{t:?}"), "AuthToken(** redacted **)");
        }
        for rendered in [
            format!("{token:?}"),
            format!("{token:#?}"),
            format!("{key:?}"),
            format!("{:?}", Holder { token: token.clone(), key: key.clone(), label: "x" }),
            format!("{:#?}", Holder { token, key, label: "x" }),
        ] {
            prop_assert!(!rendered.contains(s.as_str()), "{:?} leaked into {:?}", s, rendered);
        }
    }

    /// The error is fully determined by the kind and position of the first bad
    /// character, so it cannot carry any part of the value.
    #[test]
    fn errors_never_contain_the_value(
        head in "[a-zA-Z0-9_.~-]{0,20}",
        bad in prop::sample::select(&[' ', '\t', '\n', '\r', '\u{a0}', '\0', '\u{7}', '\u{7f}', '\u{85}'][..]),
        tail in any::<String>(),
    ) {
        let value = format!("{head}{bad}{tail}");
        let err = AuthToken::new(value.clone()).unwrap_err();
        let position = head.chars().count() + 1;
        let what = if bad.is_whitespace() { "whitespace" } else { "control" };
        prop_assert_eq!(
            err.to_string(),
            format!("invalid Auth Token: contains a {what} character at position {position}")
        );
        let kind = if bad.is_whitespace() { "Whitespace" } else { "Control" };
        prop_assert_eq!(
            format!("{err:?}"),
            format!("InvalidSecretError {{ kind: {kind} {{ position: {position} }}, type_name: \"Auth Token\" }}")
        );
    }

    #[test]
    fn new_accepts_iff_header_safe(s in any::<String>()) {
        let safe = !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        prop_assert_eq!(AuthToken::new(s.clone()).is_ok(), safe);
        prop_assert_eq!(ApiKeySecret::new(s.clone()).is_ok(), safe);
        let t: AuthToken = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert_eq!(t.expose_secret(), s.as_str());
        prop_assert_eq!(t.check_header_safe().is_ok(), safe);
    }
}
