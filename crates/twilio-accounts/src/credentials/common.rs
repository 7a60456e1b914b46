//! Request building shared by the AWS and public-key credential operations (same shapes,
//! different paths and create parameter): pure functions from parameters to a request, called
//! by the builders that [`credential_resource!`](super::resource) generates.

use bytes::Bytes;
use http::{Method, Request};
use twilio_types::{AccountSid, CredentialSid};

use crate::error::Error;
use crate::form::Form;
use crate::request::{self, FixedPath};

/// Twilio's documented maximum for `FriendlyName`.
const MAX_FRIENDLY_NAME: usize = 64;

fn instance_path(base: &str, sid: &CredentialSid) -> String {
    format!("{base}/{sid}")
}

fn check_friendly_name(name: &str) -> Result<(), Error> {
    let count = name.chars().count();
    if count > MAX_FRIENDLY_NAME {
        return Err(Error::invalid_argument(
            "friendly_name",
            format!("must be at most {MAX_FRIENDLY_NAME} characters long, got {count}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            "friendly_name",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// `POST {base}` with the required secret/key under `key`.
pub(crate) fn create_request(
    base: &'static FixedPath,
    key: &'static str,
    value: &str,
    friendly_name: Option<&str>,
    account_sid: Option<&AccountSid>,
) -> Result<Request<Bytes>, Error> {
    let mut body = Form::new();
    body.push(key, value);
    if let Some(name) = friendly_name {
        check_friendly_name(name)?;
        body.push("FriendlyName", name);
    }
    body.push_opt("AccountSid", account_sid.map(AccountSid::to_string));
    request::build(Method::POST, base, &Form::new(), &body)
}

/// `GET {base}/{sid}`.
pub(crate) fn fetch_request(base: &str, sid: &CredentialSid) -> Result<Request<Bytes>, Error> {
    request::build(
        Method::GET,
        instance_path(base, sid),
        &Form::new(),
        &Form::new(),
    )
}

/// `POST {base}/{sid}` with the optional `FriendlyName`.
pub(crate) fn update_request(
    base: &str,
    sid: &CredentialSid,
    friendly_name: Option<&str>,
) -> Result<Request<Bytes>, Error> {
    let mut body = Form::new();
    if let Some(name) = friendly_name {
        check_friendly_name(name)?;
        body.push("FriendlyName", name);
    }
    request::build(Method::POST, instance_path(base, sid), &Form::new(), &body)
}

/// `DELETE {base}/{sid}`.
pub(crate) fn delete_request(base: &str, sid: &CredentialSid) -> Result<Request<Bytes>, Error> {
    request::build(
        Method::DELETE,
        instance_path(base, sid),
        &Form::new(),
        &Form::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_name_limit() {
        assert!(check_friendly_name(&"é".repeat(64)).is_ok());
        let e = check_friendly_name(&"x".repeat(65)).unwrap_err();
        assert!(e.to_string().contains("64"));
        assert!(check_friendly_name("a\nb").is_err());
    }
}
