//! The value of one token version: the JSON object `{"account_sid": "AC…", "auth_token": "…"}`
//! that every AWS-native consumer (and the AWS rotation Lambda) reads and writes.

use serde_json::{Value, json};
use zeroize::Zeroizing;

use twilio_store::{StoreError, StoreErrorKind};
use twilio_types::{AccountSid, AuthToken};

/// Encodes one token version's `SecretString`. Exactly the two fields, so a consumer that
/// checks for unknown fields is not surprised.
pub(crate) fn encode(account_sid: &AccountSid, token: &AuthToken) -> Zeroizing<String> {
    let value = json!({
        "account_sid": account_sid.as_str(),
        "auth_token": token.expose_secret(),
    });
    Zeroizing::new(value.to_string())
}

/// Decodes a token version's `SecretString`; other fields are ignored (a version written by
/// another tool may carry more). The error never holds the text (it is a secret).
pub(crate) fn decode(text: &str) -> Result<(AccountSid, AuthToken), StoreError> {
    let malformed = |what: &str| {
        StoreError::new(
            StoreErrorKind::Malformed,
            format!("the secret version's value is not a Twilio token: {what}"),
        )
    };
    // serde_json's error would quote the text: dropped, never kept as a source.
    let value: Value = serde_json::from_str(text)
        .map_err(|_| malformed("not a JSON object (expected {\"account_sid\", \"auth_token\"})"))?;
    let object = value.as_object().ok_or_else(|| {
        malformed("not a JSON object (expected {\"account_sid\", \"auth_token\"})")
    })?;
    let account_sid = object
        .get("account_sid")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("`account_sid` is not a string"))?
        .parse()
        .map_err(|_| malformed("`account_sid` is not an Account SID"))?;
    let token = object
        .get("auth_token")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("`auth_token` is not a string"))?;
    let token =
        AuthToken::new(token).map_err(|_| malformed("`auth_token` is not a usable Auth Token"))?;
    Ok((account_sid, token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_and_ignores_extra_fields() {
        let sid: AccountSid = SID.parse().unwrap();
        let text = encode(&sid, &AuthToken::new(TOKEN).unwrap());
        assert_eq!(
            *text,
            format!(r#"{{"account_sid":"{SID}","auth_token":"{TOKEN}"}}"#)
        );
        let (back_sid, back) = decode(&text).unwrap();
        assert_eq!(back_sid, sid);
        assert_eq!(back.expose_secret(), TOKEN);
        let lambda = format!(
            r#"{{"auth_token": "{TOKEN}", "account_sid": "{SID}", "rotated_by": "lambda"}}"#
        );
        assert_eq!(decode(&lambda).unwrap().1.expose_secret(), TOKEN);
    }

    #[test]
    fn refusals_name_the_field_and_never_the_value() {
        for (text, field) in [
            (format!("\"{TOKEN}\""), "not a JSON object"),
            (TOKEN.to_owned(), "not a JSON object"),
            (format!(r#"{{"auth_token":"{TOKEN}"}}"#), "`account_sid`"),
            (
                format!(r#"{{"account_sid":"AC1","auth_token":"{TOKEN}"}}"#),
                "Account SID",
            ),
            (
                format!(r#"{{"account_sid":"{SID}","auth_token":1}}"#),
                "`auth_token`",
            ),
            (
                format!(r#"{{"account_sid":"{SID}","auth_token":"{TOKEN}\n"}}"#),
                "usable",
            ),
        ] {
            let err = decode(&text).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Malformed);
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(field), "{shown}");
            assert!(!shown.contains(TOKEN), "{shown}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(text in ".{0,200}") {
            let _ = decode(&text);
        }

        #[test]
        fn every_usable_token_round_trips(token in "[0-9a-zA-Z]{1,64}") {
            let sid: AccountSid = SID.parse().unwrap();
            let token = AuthToken::new(token).unwrap();
            let (_, back) = decode(&encode(&sid, &token)).unwrap();
            prop_assert_eq!(back.expose_secret(), token.expose_secret());
        }
    }
}
