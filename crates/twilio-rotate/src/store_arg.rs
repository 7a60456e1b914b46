//! The `--store` argument: where the token store is, and opening it.
//!
//! The argument is a URL whose scheme picks the backend (issue 17 §5): a plain path or
//! `file:///path` is a [`FileTokenStore`]; `vault://HOST[:PORT]/MOUNT/PATH`,
//! `vault+http://LOOPBACK[:PORT]/MOUNT/PATH` and `vault:///MOUNT/PATH` (the server in
//! `VAULT_ADDR`) are a [`VaultTokenStore`](twilio_store::vault::VaultTokenStore) (feature
//! `vault`, on by default), authenticated by `VAULT_TOKEN` from the environment as Vault's own
//! CLI reads it; `aws-sm://SECRET-ID` (a secret's name or ARN) is a
//! [`SecretsManagerStore`](twilio_store_aws::SecretsManagerStore) (feature `aws`, on by
//! default), with region, credentials and endpoint from the AWS default chain. The URL is
//! checked when the flag is parsed; the credentials when the store is first used.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use twilio_store::{FileTokenStore, StoreError, TokenStore};

/// Where the token store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreLocation {
    /// A [`FileTokenStore`] at this path.
    File(PathBuf),
    /// A Vault/OpenBao KV v2 secret.
    #[cfg(feature = "vault")]
    Vault(twilio_store::vault::VaultLocation),
    /// An AWS Secrets Manager secret, by name or ARN.
    #[cfg(feature = "aws")]
    Aws(String),
}

impl StoreLocation {
    /// Parses `value`: `file:///absolute/path`, a plain path (relative or absolute), or a
    /// `vault://` / `vault+http://` URL (with `VAULT_ADDR` for `vault:///MOUNT/PATH`).
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        Self::parse_with(value, std::env::var("VAULT_ADDR").ok().as_deref())
    }

    fn parse_with(value: &str, vault_addr: Option<&str>) -> Result<Self, String> {
        if value.is_empty() {
            return Err("the store location is empty".into());
        }
        let Some((scheme, rest)) = value.split_once("://") else {
            return Ok(Self::File(PathBuf::from(value)));
        };
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "file" => parse_file_url(rest),
            "vault" | "vault+http" => parse_vault_url(&format!("{scheme}://{rest}"), vault_addr),
            "aws-sm" => parse_aws_url(rest),
            _ => Err(format!(
                "`{scheme}://` stores are not supported: give a file path, a file:///path URL, \
                 a vault://HOST/MOUNT/PATH URL or an aws-sm://SECRET-ID URL"
            )),
        }
    }

    /// Opens the store: reads nothing yet, but checks what the backend needs from the
    /// environment (`VAULT_TOKEN` for Vault).
    pub(crate) fn open(&self) -> Result<Arc<dyn TokenStore>, StoreError> {
        match self {
            Self::File(path) => Ok(Arc::new(FileTokenStore::open(path)?)),
            #[cfg(feature = "vault")]
            Self::Vault(location) => Ok(Arc::new(twilio_store::vault::VaultTokenStore::from_url(
                &location.to_string(),
            )?)),
            #[cfg(feature = "aws")]
            Self::Aws(secret_id) => Ok(Arc::new(twilio_store_aws::SecretsManagerStore::new(
                secret_id.as_str(),
            )?)),
        }
    }
}

/// Why the parser refused a `--store` value, for a message that does not repeat the value
/// (clap's own does): a credential pasted into the URL by mistake must not reach the output.
pub(crate) fn refusal(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use std::error::Error as _;

    if error.kind() != ErrorKind::ValueValidation {
        return None;
    }
    match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) if arg.starts_with("--store") => {}
        _ => return None,
    }
    error.source().map(ToString::to_string)
}

/// `file:///path` (empty host) or `file://localhost/path`; no query or fragment.
fn parse_file_url(rest: &str) -> Result<StoreLocation, String> {
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(
            "a file:// URL names no host and takes an absolute path (file:///path)".to_owned(),
        );
    }
    if path.contains(['?', '#']) {
        return Err("a file:// URL takes no query or fragment".to_owned());
    }
    let path = percent_decode(path).ok_or("the file:// URL has a bad %-escape")?;
    Ok(StoreLocation::File(PathBuf::from(path)))
}

#[cfg(feature = "vault")]
fn parse_vault_url(url: &str, vault_addr: Option<&str>) -> Result<StoreLocation, String> {
    twilio_store::vault::VaultLocation::parse(url, vault_addr)
        .map(StoreLocation::Vault)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "vault"))]
fn parse_vault_url(url: &str, _vault_addr: Option<&str>) -> Result<StoreLocation, String> {
    let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
    Err(format!(
        "`{scheme}://` stores need the `vault` feature, and this twilio-rotate was built \
         without it (it is on by default: `cargo install twilio-rotate`)"
    ))
}

/// `aws-sm://NAME` or `aws-sm://arn:aws:secretsmanager:…`: the secret's name or ARN, as the
/// AWS CLI's `--secret-id` takes it.
#[cfg(feature = "aws")]
fn parse_aws_url(secret_id: &str) -> Result<StoreLocation, String> {
    twilio_store_aws::SecretsManagerStore::new(secret_id)
        .map(|_| StoreLocation::Aws(secret_id.to_owned()))
        .map_err(|e| format!("aws-sm://SECRET-ID: {}", e.message()))
}

#[cfg(not(feature = "aws"))]
fn parse_aws_url(_secret_id: &str) -> Result<StoreLocation, String> {
    Err(
        "`aws-sm://` stores need the `aws` feature, and this twilio-rotate was built without \
         it (it is on by default: `cargo install twilio-rotate`)"
            .to_owned(),
    )
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            #[cfg(feature = "vault")]
            Self::Vault(location) => write!(f, "{location}"),
            #[cfg(feature = "aws")]
            Self::Aws(secret_id) => write!(f, "aws-sm://{secret_id}"),
        }
    }
}

/// `%XX` escapes of a URL path, decoded (UTF-8).
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Result<StoreLocation, String> {
        Ok(StoreLocation::File(PathBuf::from(path)))
    }

    #[test]
    fn plain_paths_and_file_urls() {
        assert_eq!(StoreLocation::parse("store.json"), file("store.json"));
        assert_eq!(
            StoreLocation::parse("/secrets/twilio.json"),
            file("/secrets/twilio.json")
        );
        assert_eq!(
            StoreLocation::parse("file:///secrets/twilio.json"),
            file("/secrets/twilio.json")
        );
        assert_eq!(
            StoreLocation::parse("FILE://localhost/secrets/a%20b.json"),
            file("/secrets/a b.json")
        );
    }

    #[test]
    fn other_forms_are_refused_with_the_reason() {
        for (value, why) in [
            ("", "empty"),
            ("s3://bucket/twilio.json", "not supported"),
            ("file://host/secrets", "names no host"),
            ("file://relative", "names no host"),
            ("file:///a?b", "no query"),
            ("file:///a%zz", "bad %-escape"),
            ("file:///a%ff", "bad %-escape"),
        ] {
            let err = StoreLocation::parse_with(value, None).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
        }
    }

    #[cfg(feature = "vault")]
    #[test]
    fn vault_urls_are_checked_when_parsed() {
        let shown = |value: &str, addr: Option<&str>| {
            StoreLocation::parse_with(value, addr).map(|l| {
                assert!(matches!(l, StoreLocation::Vault(_)), "{value}: {l:?}");
                l.to_string()
            })
        };
        assert_eq!(
            shown("vault://vault.internal/kv/twilio/prod", None).unwrap(),
            "vault://vault.internal:8200/kv/twilio/prod"
        );
        assert_eq!(
            shown("VAULT+HTTP://127.0.0.1:8300/secret/twilio", None).unwrap(),
            "vault+http://127.0.0.1:8300/secret/twilio"
        );
        assert_eq!(
            shown("vault:///secret/twilio", Some("https://bao.internal:8443")).unwrap(),
            "vault://bao.internal:8443/secret/twilio"
        );
        // Each refusal names what is wrong.
        for (value, why) in [
            ("vault+http://vault.internal/kv/twilio", "loopback"),
            ("vault:///secret/twilio", "VAULT_ADDR"),
        ] {
            let err = shown(value, None).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
        }
    }

    #[cfg(feature = "aws")]
    #[test]
    fn aws_urls_name_a_secret_by_name_or_arn() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio/prod-AbCdEf";
        for (value, id) in [
            ("aws-sm://twilio/prod", "twilio/prod"),
            ("AWS-SM://twilio/prod", "twilio/prod"),
            (&format!("aws-sm://{arn}"), arn),
        ] {
            let location = StoreLocation::parse_with(value, None).unwrap();
            assert_eq!(location, StoreLocation::Aws(id.to_owned()), "{value}");
            assert_eq!(location.to_string(), format!("aws-sm://{id}"));
        }
        for value in ["aws-sm://", "aws-sm://has space", "aws-sm://a?b"] {
            let err = StoreLocation::parse_with(value, None).unwrap_err();
            assert!(err.contains("SECRET-ID"), "{value}: {err}");
        }
    }

    #[cfg(not(feature = "aws"))]
    #[test]
    fn aws_urls_need_the_feature() {
        let err = StoreLocation::parse_with("aws-sm://twilio/prod", None).unwrap_err();
        assert!(err.contains("`aws` feature"), "{err}");
    }

    #[cfg(not(feature = "vault"))]
    #[test]
    fn vault_urls_need_the_feature() {
        let err = StoreLocation::parse_with("vault://vault.internal/kv/twilio", None).unwrap_err();
        assert!(err.contains("`vault` feature"), "{err}");
    }
}
