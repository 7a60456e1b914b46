//! The value of one secret version: `{"account_sid": "AC…", "auth_token": "…"}` as JSON in its
//! `SecretString`, the format every consumer reads (and the AWS token store of `twilio-store`
//! writes). Read tolerantly: other fields are ignored.

use serde_json::{Map, Value};
use twilio_accounts::store::TokenFingerprint;
use twilio_types::{AccountSid, AuthToken};

use crate::error::{Error, ErrorKind};

const UNUSABLE_TOKEN: &str =
    "`auth_token` is not a usable token (empty, or characters an HTTP header cannot carry)";

/// One secret version's account and token. `Debug` shows the token's fingerprint only.
#[derive(Clone)]
pub(crate) struct TwilioSecret {
    pub(crate) account_sid: AccountSid,
    pub(crate) auth_token: AuthToken,
}

impl std::fmt::Debug for TwilioSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSecret")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &self.fingerprint())
            .finish()
    }
}

impl TwilioSecret {
    /// Parses a version's `SecretString`; `what` names the version in the error (never its
    /// content: a parse error may quote the text it failed on, so none is kept as a cause).
    pub(crate) fn parse(secret_string: &str, what: &str) -> Result<Self, Error> {
        let malformed = |why: &str| {
            Error::new(
                ErrorKind::MalformedSecret,
                format!(
                    "{what} is not a Twilio secret: {why} (expected a JSON object \
                     {{\"account_sid\": \"AC…\", \"auth_token\": \"…\"}})"
                ),
            )
        };
        let value: Value =
            serde_json::from_str(secret_string).map_err(|_| malformed("it is not JSON"))?;
        let Value::Object(fields) = value else {
            return Err(malformed("it is not a JSON object"));
        };
        let text = |name: &str| -> Result<&str, Error> {
            match fields.get(name) {
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(malformed(&format!("`{name}` is not a string"))),
                None => Err(malformed(&format!("`{name}` is missing"))),
            }
        };
        let account_sid = AccountSid::parse(text("account_sid")?)
            .map_err(|_| malformed("`account_sid` is not an Account SID (AC and 32 hex digits)"))?;
        let auth_token =
            AuthToken::new(text("auth_token")?).map_err(|_| malformed(UNUSABLE_TOKEN))?;
        auth_token
            .check_header_safe()
            .map_err(|_| malformed(UNUSABLE_TOKEN))?;
        Ok(Self {
            account_sid,
            auth_token,
        })
    }

    /// The `SecretString` to store (it holds the token: never log it).
    pub(crate) fn to_secret_string(&self) -> String {
        let mut fields = Map::new();
        fields.insert("account_sid".into(), self.account_sid.as_str().into());
        fields.insert("auth_token".into(), self.auth_token.expose_secret().into());
        Value::Object(fields).to_string()
    }

    /// The token's fingerprint, the only way logs and messages name it.
    pub(crate) fn fingerprint(&self) -> TokenFingerprint {
        TokenFingerprint::of(&self.auth_token)
    }

    /// Whether both hold the same token.
    pub(crate) fn same_token(&self, other: &Self) -> bool {
        self.auth_token.ct_eq(other.auth_token.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn round_trips_and_ignores_extra_fields() {
        let text = format!(r#"{{"account_sid":"{SID}","auth_token":"s3cr3t-token","note":1}}"#);
        let secret = TwilioSecret::parse(&text, "version v").unwrap();
        assert_eq!(secret.account_sid.as_str(), SID);
        let again = TwilioSecret::parse(&secret.to_secret_string(), "v").unwrap();
        assert!(again.same_token(&secret));
        assert!(!format!("{secret:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn each_malformed_value_is_a_typed_error_that_does_not_echo_it() {
        let cases = [
            ("s3cr3t-token", "not JSON"),
            (r#"["s3cr3t-token"]"#, "not a JSON object"),
            (
                r#"{"auth_token":"s3cr3t-token"}"#,
                "`account_sid` is missing",
            ),
            (
                r#"{"account_sid":"AC1","auth_token":"s3cr3t-token"}"#,
                "not an Account SID",
            ),
            (
                r#"{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
                "`auth_token` is missing",
            ),
            (
                r#"{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","auth_token":7}"#,
                "not a string",
            ),
            (
                r#"{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","auth_token":""}"#,
                "not a usable token",
            ),
            (
                "{\"account_sid\":\"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"auth_token\":\"s3cr3t\\ntoken\"}",
                "not a usable token",
            ),
        ];
        for (text, why) in cases {
            let err = TwilioSecret::parse(text, "version v1").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedSecret, "{text}");
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(why), "{text}: {shown}");
            assert!(shown.contains("version v1"));
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(std::error::Error::source(&err).is_none());
        }
    }
}
