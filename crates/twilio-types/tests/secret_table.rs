//! Table tests for secrets: redaction, validation messages, serde.

use twilio_types::{ApiKeySecret, AuthToken, InvalidSecretErrorKind};

#[test]
fn debug_is_fixed_and_redacted() {
    let token = AuthToken::new("0123456789abcdef0123456789abcdef").unwrap();
    assert_eq!(format!("{token:?}"), "AuthToken(** redacted **)");
    assert_eq!(format!("{token:#?}"), "AuthToken(** redacted **)");
    let secret = ApiKeySecret::new("s3cr3t-value").unwrap();
    assert_eq!(format!("{secret:?}"), "ApiKeySecret(** redacted **)");
}

#[test]
fn expose_and_clone() {
    let token = AuthToken::new(String::from("tok_en:with/punctuation")).unwrap();
    let clone = token.clone();
    drop(token);
    assert_eq!(clone.expose_secret(), "tok_en:with/punctuation");
    assert!(clone.check_header_safe().is_ok());
}

#[test]
fn does_not_over_validate() {
    for ok in [
        "a",
        "short",
        "NOT-HEX-AT-ALL",
        "ünïcödé",
        "x".repeat(200).as_str(),
    ] {
        assert!(AuthToken::new(ok).is_ok(), "{ok:?}");
        assert!(ApiKeySecret::new(ok).is_ok(), "{ok:?}");
    }
}

#[test]
fn error_messages() {
    let cases: &[(&str, &str, InvalidSecretErrorKind)] = &[
        (
            "",
            "invalid Auth Token: must not be empty",
            InvalidSecretErrorKind::Empty,
        ),
        (
            "abc\u{1}def",
            "invalid Auth Token: contains a control character at position 4",
            InvalidSecretErrorKind::Control { position: 4 },
        ),
        (
            "abc\u{7f}",
            "invalid Auth Token: contains a control character at position 4",
            InvalidSecretErrorKind::Control { position: 4 },
        ),
        (
            "ab\0",
            "invalid Auth Token: contains a control character at position 3",
            InvalidSecretErrorKind::Control { position: 3 },
        ),
        (
            " leading",
            "invalid Auth Token: contains a whitespace character at position 1",
            InvalidSecretErrorKind::Whitespace { position: 1 },
        ),
        (
            "trailing\n",
            "invalid Auth Token: contains a whitespace character at position 9",
            InvalidSecretErrorKind::Whitespace { position: 9 },
        ),
        (
            "tab\there",
            "invalid Auth Token: contains a whitespace character at position 4",
            InvalidSecretErrorKind::Whitespace { position: 4 },
        ),
        (
            "é\u{00A0}x",
            "invalid Auth Token: contains a whitespace character at position 2",
            InvalidSecretErrorKind::Whitespace { position: 2 },
        ),
        (
            "a\r\nb",
            "invalid Auth Token: contains a whitespace character at position 2",
            InvalidSecretErrorKind::Whitespace { position: 2 },
        ),
    ];
    for (input, message, kind) in cases {
        let err = AuthToken::new(*input).unwrap_err();
        assert_eq!(err.to_string(), *message, "input {input:?}");
        assert_eq!(err.kind(), *kind, "input {input:?}");
        assert_eq!(err.type_name(), "Auth Token");
        if !input.is_empty() {
            assert!(!format!("{err:?}").contains(input), "{err:?}");
        }
    }
    let err = ApiKeySecret::new("has space").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid API Key Secret: contains a whitespace character at position 4"
    );
}

#[test]
fn deserialize_accepts_anything_and_check_rejects_later() {
    let t: AuthToken = serde_json::from_str(r#""with space\n""#).unwrap();
    assert_eq!(t.expose_secret(), "with space\n");
    assert_eq!(
        t.check_header_safe().unwrap_err().kind(),
        InvalidSecretErrorKind::Whitespace { position: 5 }
    );
    let empty: ApiKeySecret = serde_json::from_str(r#""""#).unwrap();
    assert_eq!(
        empty.check_header_safe().unwrap_err().to_string(),
        "invalid API Key Secret: must not be empty"
    );
    // Borrowed input.
    let t: AuthToken = serde_json::from_str(r#""plain""#).unwrap();
    assert!(t.check_header_safe().is_ok());
    // Not a string: an error that does not echo anything secret.
    assert!(serde_json::from_str::<AuthToken>("12").is_err());
}

#[test]
fn struct_holding_secret_is_redacted() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Creds {
        token: AuthToken,
    }
    let c = Creds {
        token: AuthToken::new("super-secret-token").unwrap(),
    };
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("super-secret-token"), "{dbg}");
    assert_eq!(dbg, "Creds { token: AuthToken(** redacted **) }");
}

#[test]
fn ct_eq_compares_values() {
    let token = AuthToken::new("0123456789abcdef").unwrap();
    assert!(token.ct_eq("0123456789abcdef"));
    assert!(!token.ct_eq("0123456789abcdeF"));
    assert!(!token.ct_eq("1123456789abcdef"));
    assert!(!token.ct_eq("0123456789abcde"));
    assert!(!token.ct_eq("0123456789abcdef0"));
    assert!(!token.ct_eq(""));
    let secret = ApiKeySecret::new("k").unwrap();
    assert!(secret.ct_eq("k"));
    assert!(!secret.ct_eq("K"));
}
