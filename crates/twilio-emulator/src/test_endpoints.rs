//! Opt-in test seams under `/__emulator/`, for tests that run the emulator as a separate
//! process and so cannot call [`Emulator`](crate::Emulator)'s methods. Off by default
//! ([`EmulatorBuilder::test_endpoints`](crate::EmulatorBuilder::test_endpoints),
//! `--test-endpoints`); Twilio has no such paths.
//!
//! - `GET /__emulator/tokens`: the fingerprints of the main account's tokens (8 hex digits of
//!   SHA-256, as `twilio_store::TokenFingerprint`), `{"account_sid": "AC…", "primary": "1a2b3c4d", "secondary": "…" | null}`. Never
//!   a token: the answer is safe to print, and needs no credentials.
//! - `PUT /__emulator/latency?ms=N`: sets the added latency, as
//!   [`Faults::set_latency`]; answers 204.
//!
//! They bypass authentication, the latency, the fault rules and the request count, so that
//! observing the emulator never changes what the client under test sees.

use std::sync::Mutex;
use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use twilio_types::AuthToken;

use crate::api::Reply;
use crate::error::ApiError;
use crate::faults::Faults;
use crate::form::Params;
use crate::state::{self, Account};

/// Every test endpoint's path starts with this.
pub(crate) const PREFIX: &str = "/__emulator/";

/// Answers a request for a test endpoint, or `None` when `path` is not one (it then goes
/// through the normal pipeline).
pub(crate) fn handle(
    method: &Method,
    path: &str,
    query: Option<&str>,
    main: &Mutex<Account>,
    faults: &Faults,
) -> Option<Result<Reply, ApiError>> {
    let name = path.strip_prefix(PREFIX)?;
    Some(match name {
        "tokens" if method == Method::GET => Ok(tokens(main)),
        "latency" if method == Method::PUT => set_latency(query, faults),
        "tokens" => Err(ApiError::method_not_allowed("GET")),
        "latency" => Err(ApiError::method_not_allowed("PUT")),
        _ => Err(ApiError::not_found(path)),
    })
}

/// The fingerprints of the main account's primary and secondary tokens.
fn tokens(main: &Mutex<Account>) -> Reply {
    let account = state::lock(main);
    let body = json!({
        "account_sid": account.sid.as_str(),
        "primary": fingerprint(&account.primary.value),
        "secondary": account.secondary.as_ref().map(|t| fingerprint(&t.value)),
    });
    Reply {
        status: StatusCode::OK,
        body: Some(body.to_string().into_bytes()),
    }
}

/// A token's fingerprint: the first 8 hexadecimal digits of its SHA-256, the same as
/// `twilio_store::TokenFingerprint` (the emulator depends on no SDK crate but `twilio-types`;
/// `tests/test_endpoints.rs` checks that the two agree).
fn fingerprint(token: &AuthToken) -> String {
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `?ms=N`: the latency added before every later response.
fn set_latency(query: Option<&str>, faults: &Faults) -> Result<Reply, ApiError> {
    let params = Params::parse_or_400(query.unwrap_or("").as_bytes(), "query string")?;
    let ms = params.get("ms").ok_or_else(|| ApiError::missing("ms"))?;
    let ms: u64 = ms
        .parse()
        .map_err(|_| ApiError::invalid("ms", "expected a whole number of milliseconds"))?;
    faults.set_latency(Duration::from_millis(ms));
    Ok(Reply {
        status: StatusCode::NO_CONTENT,
        body: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilio_types::{AccountSid, AuthToken};

    fn account() -> Mutex<Account> {
        let sid = AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        let token = AuthToken::new("fedcba9876543210fedcba9876543210").unwrap();
        Mutex::new(Account::new(sid, token, crate::api::now_utc()))
    }

    #[test]
    fn other_paths_are_not_test_endpoints() {
        let (main, faults) = (account(), Faults::new(1));
        for path in [
            "/v1/AuthTokens/Secondary",
            "/__emulator",
            "/x/__emulator/tokens",
        ] {
            assert!(handle(&Method::GET, path, None, &main, &faults).is_none());
        }
    }

    #[test]
    fn tokens_names_the_tokens_by_fingerprint_only() {
        let (main, faults) = (account(), Faults::new(1));
        let reply = handle(&Method::GET, "/__emulator/tokens", None, &main, &faults)
            .unwrap()
            .unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(&reply.body.unwrap()).unwrap();
        let primary = fingerprint(&state::lock(&main).primary.value);
        assert_eq!(body["primary"], primary.as_str());
        assert_eq!(body["secondary"], serde_json::Value::Null);
        assert!(
            !body
                .to_string()
                .contains("fedcba9876543210fedcba9876543210")
        );
    }

    #[test]
    fn latency_takes_whole_milliseconds() {
        let (main, faults) = (account(), Faults::new(1));
        let put = |query| handle(&Method::PUT, "/__emulator/latency", query, &main, &faults);
        assert_eq!(put(Some("ms=250")).unwrap().unwrap().status, 204);
        assert_eq!(faults.latency(), Duration::from_millis(250));
        for bad in [
            None,
            Some(""),
            Some("ms="),
            Some("ms=-1"),
            Some("ms=1.5"),
            Some("ms=%zz"),
        ] {
            let error = put(bad).unwrap().err().unwrap();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
        assert_eq!(faults.latency(), Duration::from_millis(250));
    }

    #[test]
    fn wrong_methods_and_unknown_names_are_refused() {
        let (main, faults) = (account(), Faults::new(1));
        let status = |method: Method, path| {
            handle(&method, path, None, &main, &faults)
                .unwrap()
                .err()
                .unwrap()
                .status
        };
        assert_eq!(status(Method::POST, "/__emulator/tokens"), 405);
        assert_eq!(status(Method::GET, "/__emulator/latency"), 405);
        assert_eq!(status(Method::GET, "/__emulator/nothing"), 404);
    }
}
