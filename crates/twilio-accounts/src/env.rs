//! Reading the credentials from `TWILIO_*` environment variables. (Where requests go,
//! `TWILIO_ACCOUNTS_BASE_URL`, `TWILIO_REGION` and `TWILIO_EDGE`, is the transport's to read:
//! `twilio_transport::environment`, given the same lookup.)
//!
//! Pure: the variables come through a lookup function, so tests never touch the process
//! environment. Errors name the variable and say what is wrong, and never contain a secret
//! (SID prefixes may be quoted, token values never are).

use twilio_transport::Credentials;
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken, ParseSidErrorKind};

use crate::error::Error;

pub(crate) const ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
pub(crate) const AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
pub(crate) const API_KEY: &str = "TWILIO_API_KEY";
pub(crate) const API_SECRET: &str = "TWILIO_API_SECRET";

/// Reads and checks the credentials variables.
pub(crate) fn read(mut lookup: impl FnMut(&str) -> Option<String>) -> Result<Credentials, Error> {
    let mut get = |name: &'static str| lookup(name).filter(|v| !v.is_empty());

    let account = get(ACCOUNT_SID).ok_or_else(|| {
        Error::invalid_argument(
            ACCOUNT_SID,
            "is not set (it must hold your Account SID, `AC…`)",
        )
    })?;
    let account = parse_sid::<AccountSid>(ACCOUNT_SID, &account, "an Account SID", "AC")?;

    let credentials = if let Some(key) = get(API_KEY) {
        let key = parse_sid::<ApiKeySid>(API_KEY, &key, "an API key SID", "SK")?;
        let secret = get(API_SECRET).ok_or_else(|| {
            Error::invalid_argument(
                API_SECRET,
                "is not set (it is required with TWILIO_API_KEY)",
            )
        })?;
        let secret = ApiKeySecret::new(secret).map_err(|e| {
            Error::build_with_source(Some(API_SECRET.into()), "is not a valid API key secret", e)
        })?;
        Credentials::from_api_key(account, key, secret).map_err(|e| {
            Error::build_with_source(
                Some(API_SECRET.into()),
                "cannot be used for authentication",
                e,
            )
        })?
    } else {
        let Some(token) = get(AUTH_TOKEN) else {
            // A secret without its key is a half-configured API key, not a missing token.
            if get(API_SECRET).is_some() {
                return Err(Error::invalid_argument(
                    API_KEY,
                    "is not set (it is required with TWILIO_API_SECRET)",
                ));
            }
            return Err(Error::invalid_argument(
                AUTH_TOKEN,
                "is not set (set it, or TWILIO_API_KEY and TWILIO_API_SECRET)",
            ));
        };
        let token = AuthToken::new(token).map_err(|e| {
            Error::build_with_source(Some(AUTH_TOKEN.into()), "is not a valid Auth Token", e)
        })?;
        Credentials::from_auth_token(account, token).map_err(|e| {
            Error::build_with_source(
                Some(AUTH_TOKEN.into()),
                "cannot be used for authentication",
                e,
            )
        })?
    };

    Ok(credentials)
}

/// The SID prefixes people confuse, for a precise message.
fn prefix_name(value: &str) -> Option<&'static str> {
    match value.get(..2) {
        Some("AC") => Some("an Account SID (`AC…`)"),
        Some("SK") => Some("an API key SID (`SK…`)"),
        Some("CR") => Some("a Credential SID (`CR…`)"),
        Some("MG") => Some("a Messaging Service SID (`MG…`)"),
        Some("PN") => Some("a phone number SID (`PN…`)"),
        _ => None,
    }
}

fn parse_sid<T>(
    variable: &'static str,
    value: &str,
    what: &'static str,
    prefix: &'static str,
) -> Result<T, Error>
where
    T: std::str::FromStr<Err = twilio_types::ParseSidError>,
{
    // Taken exactly as written, like the Auth Token: a newline from `echo` or a file is an
    // error that says so, not something trimmed in one variable and refused in another.
    if value.trim() != value {
        return Err(Error::invalid_argument(
            variable,
            "has whitespace around it (a trailing newline from a file or `echo`?): remove it",
        ));
    }
    value.parse::<T>().map_err(|e| {
        let reason = match e.kind() {
            ParseSidErrorKind::Prefix => match prefix_name(value) {
                Some(found) => format!("holds {found}, but {what} starts with `{prefix}`"),
                None => format!("is not {what}: {what} starts with `{prefix}`"),
            },
            _ => format!("is not {what} (`{prefix}` followed by 32 hexadecimal digits)"),
        };
        Error::build_with_source(Some(variable.into()), reason, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    const AC: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SK: &str = "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const SECRET: &str = "s3cr3t-value-never-shown";

    fn env(vars: &[(&str, &str)]) -> impl FnMut(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn err(vars: &[(&str, &str)]) -> (Option<String>, String, String) {
        let e = read(env(vars)).unwrap_err();
        let Error::Build(b) = &e else { panic!("{e:?}") };
        // The message, the Debug form and every cause in the source chain.
        let mut text = format!("{e} {e:?}");
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            text.push_str(&format!(" {c} {c:?}"));
            cause = c.source();
        }
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        (b.field().map(str::to_owned), e.to_string(), text)
    }

    #[test]
    fn auth_token_flow() {
        let c = read(env(&[(ACCOUNT_SID, AC), (AUTH_TOKEN, SECRET)])).unwrap();
        assert_eq!(c.account_sid().as_str(), AC);
        assert!(!format!("{c:?}").contains(SECRET));
    }

    #[test]
    fn api_key_flow() {
        let c = read(env(&[
            (ACCOUNT_SID, AC),
            (API_KEY, SK),
            (API_SECRET, SECRET),
        ]))
        .unwrap();
        assert_eq!(c.account_sid().as_str(), AC);
        assert!(!format!("{c:?}").contains(SECRET));
    }

    #[test]
    fn missing_account_sid() {
        let (field, display, _) = err(&[(AUTH_TOKEN, SECRET)]);
        assert_eq!(field.as_deref(), Some(ACCOUNT_SID));
        assert!(display.contains("is not set"), "{display}");
    }

    #[test]
    fn api_key_in_account_sid_says_ac() {
        let (field, display, _) = err(&[(ACCOUNT_SID, SK), (AUTH_TOKEN, SECRET)]);
        assert_eq!(field.as_deref(), Some(ACCOUNT_SID));
        assert!(display.contains("API key SID (`SK…`)"), "{display}");
        assert!(display.contains("starts with `AC`"), "{display}");
    }

    #[test]
    fn malformed_account_sid() {
        let (field, display, _) = err(&[(ACCOUNT_SID, "ACxyz"), (AUTH_TOKEN, SECRET)]);
        assert_eq!(field.as_deref(), Some(ACCOUNT_SID));
        assert!(display.contains("32 hexadecimal digits"), "{display}");
    }

    #[test]
    fn missing_token_and_secret() {
        let (field, display, _) = err(&[(ACCOUNT_SID, AC)]);
        assert_eq!(field.as_deref(), Some(AUTH_TOKEN));
        assert!(display.contains("TWILIO_API_KEY"), "{display}");
        let (field, _, _) = err(&[(ACCOUNT_SID, AC), (API_KEY, SK)]);
        assert_eq!(field.as_deref(), Some(API_SECRET));
        let (field, display, _) = err(&[(ACCOUNT_SID, AC), (API_SECRET, SECRET)]);
        assert_eq!(field.as_deref(), Some(API_KEY));
        assert!(display.contains("TWILIO_API_SECRET"), "{display}");
    }

    #[test]
    fn account_sid_in_api_key() {
        let (field, display, _) = err(&[(ACCOUNT_SID, AC), (API_KEY, AC), (API_SECRET, SECRET)]);
        assert_eq!(field.as_deref(), Some(API_KEY));
        assert!(display.contains("starts with `SK`"), "{display}");
    }

    #[test]
    fn bad_token_is_not_echoed() {
        let bad = "s3cr3t-value-never-shown with space";
        let (field, _, text) = err(&[(ACCOUNT_SID, AC), (AUTH_TOKEN, bad)]);
        assert_eq!(field.as_deref(), Some(AUTH_TOKEN));
        assert!(!text.contains("with space"));
        let (field, _, _) = err(&[(ACCOUNT_SID, AC), (API_KEY, SK), (API_SECRET, bad)]);
        assert_eq!(field.as_deref(), Some(API_SECRET));
    }

    #[test]
    fn a_secret_in_a_sid_variable_is_not_echoed() {
        // Swapped variables: the token lands where a SID is expected.
        let (field, display, _) = err(&[(ACCOUNT_SID, SECRET), (AUTH_TOKEN, AC)]);
        assert_eq!(field.as_deref(), Some(ACCOUNT_SID));
        assert!(display.contains("Account SID"), "{display}");
        let (field, _, _) = err(&[(ACCOUNT_SID, AC), (API_KEY, SECRET), (API_SECRET, SK)]);
        assert_eq!(field.as_deref(), Some(API_KEY));
    }

    #[test]
    fn whitespace_around_a_sid_is_refused_like_the_tokens() {
        for (variable, vars) in [
            (
                ACCOUNT_SID,
                [
                    (ACCOUNT_SID, "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
                    (AUTH_TOKEN, SECRET),
                ],
            ),
            (
                ACCOUNT_SID,
                [
                    (ACCOUNT_SID, " ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                    (AUTH_TOKEN, SECRET),
                ],
            ),
            (
                API_KEY,
                [
                    (API_KEY, "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n"),
                    (API_SECRET, SECRET),
                ],
            ),
        ] {
            let mut vars = vars.to_vec();
            if variable == API_KEY {
                vars.push((ACCOUNT_SID, AC));
            }
            let (field, display, _) = err(&vars);
            assert_eq!(field.as_deref(), Some(variable));
            assert!(display.contains("whitespace around it"), "{display}");
        }
        // The token's rule, for comparison: the same newline is refused there too.
        let (field, _, _) = err(&[
            (ACCOUNT_SID, AC),
            (AUTH_TOKEN, "s3cr3t-value-never-shown\n"),
        ]);
        assert_eq!(field.as_deref(), Some(AUTH_TOKEN));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let (field, display, _) = err(&[(ACCOUNT_SID, ""), (AUTH_TOKEN, SECRET)]);
        assert_eq!(field.as_deref(), Some(ACCOUNT_SID));
        assert!(display.contains("is not set"));
    }
}
