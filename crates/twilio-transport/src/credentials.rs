//! [`Credentials`] (one account's HTTP Basic pair) and [`SharedCredentials`] (a hot-swappable
//! handle read by the auth layer on every attempt).

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use http::HeaderValue;
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

use crate::error::CredentialsError;

/// The credentials of one Twilio account: the Account SID with its Auth Token, or an API key
/// SID with its secret (the Account SID is then still the one used in URLs).
///
/// The `Authorization` header value is built once, here, and marked sensitive. `Debug` shows the
/// SIDs only, never the secret.
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<CredentialsInner>,
}

struct CredentialsInner {
    account_sid: AccountSid,
    api_key_sid: Option<ApiKeySid>,
    authorization: HeaderValue,
}

impl Credentials {
    /// Account SID + Auth Token.
    ///
    /// # Errors
    /// [`CredentialsError`] when the token holds characters not allowed in a header (possible
    /// only for tokens that came through `serde`, as `AuthToken::new` already refuses them).
    pub fn from_auth_token(
        account: AccountSid,
        token: AuthToken,
    ) -> Result<Self, CredentialsError> {
        token.check_header_safe().map_err(CredentialsError::new)?;
        let authorization = basic(account.as_str(), token.expose_secret())?;
        Ok(Self {
            inner: Arc::new(CredentialsInner {
                account_sid: account,
                api_key_sid: None,
                authorization,
            }),
        })
    }

    /// API key SID + secret, acting on `account`.
    ///
    /// # Errors
    /// [`CredentialsError`] when the secret holds characters not allowed in a header.
    pub fn from_api_key(
        account: AccountSid,
        key: ApiKeySid,
        secret: ApiKeySecret,
    ) -> Result<Self, CredentialsError> {
        secret.check_header_safe().map_err(CredentialsError::new)?;
        let authorization = basic(key.as_str(), secret.expose_secret())?;
        Ok(Self {
            inner: Arc::new(CredentialsInner {
                account_sid: account,
                api_key_sid: Some(key),
                authorization,
            }),
        })
    }

    /// The Account SID used in URLs.
    pub fn account_sid(&self) -> AccountSid {
        self.inner.account_sid
    }

    /// The API key SID when these are API key credentials.
    pub fn api_key_sid(&self) -> Option<ApiKeySid> {
        self.inner.api_key_sid
    }

    /// The prepared `Authorization` value (sensitive); cloning it does not allocate.
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.inner.authorization
    }
}

fn basic(user: &str, password: &str) -> Result<HeaderValue, CredentialsError> {
    let mut raw = String::with_capacity(user.len() + 1 + password.len());
    raw.push_str(user);
    raw.push(':');
    raw.push_str(password);
    let mut value = String::from("Basic ");
    base64::engine::general_purpose::STANDARD.encode_string(raw.as_bytes(), &mut value);
    // Wipe the plain pair; the encoded header stays (it has to be sent).
    zero_string(raw);
    let mut header =
        HeaderValue::from_maybe_shared(bytes::Bytes::from(value)).map_err(CredentialsError::new)?;
    header.set_sensitive(true);
    Ok(header)
}

fn zero_string(s: String) {
    let mut bytes = s.into_bytes();
    for b in bytes.iter_mut() {
        *b = 0;
    }
    std::hint::black_box(&bytes);
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.inner.account_sid.as_str())
            .field(
                "api_key_sid",
                &self.inner.api_key_sid.as_ref().map(|k| k.as_str()),
            )
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A shared, hot-swappable handle on [`Credentials`].
///
/// Clones share the same slot. [`replace`](Self::replace) swaps the whole pair atomically: every
/// request made through a client holding this handle uses either the old or the new pair, never
/// a mix, and the client needs no rebuild.
#[derive(Clone)]
pub struct SharedCredentials {
    slot: Arc<RwLock<Credentials>>,
}

impl SharedCredentials {
    /// A new handle holding `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            slot: Arc::new(RwLock::new(credentials)),
        }
    }

    /// Swaps in new credentials for every client holding this handle (or a clone of it).
    pub fn replace(&self, credentials: Credentials) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = credentials;
    }

    /// The Account SID of the current credentials.
    pub fn account_sid(&self) -> AccountSid {
        self.current().account_sid()
    }

    /// A snapshot of the current credentials.
    pub fn current(&self) -> Credentials {
        self.slot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The current `Authorization` value: a cheap clone taken under the read lock, so the pair
    /// is always consistent.
    pub(crate) fn authorization(&self) -> HeaderValue {
        self.slot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .authorization()
            .clone()
    }
}

impl From<Credentials> for SharedCredentials {
    fn from(credentials: Credentials) -> Self {
        Self::new(credentials)
    }
}

impl fmt::Debug for SharedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedCredentials")
            .field(&self.current())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const SK: &str = "SK0123456789abcdef0123456789abcdef";

    #[test]
    fn auth_token_header_is_basic_and_sensitive() {
        let c = Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new("tok3n").unwrap(),
        )
        .unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{AC}:tok3n"))
        );
        assert_eq!(c.authorization().to_str().unwrap(), expected);
        assert!(c.authorization().is_sensitive());
        assert_eq!(c.account_sid().as_str(), AC);
        assert!(c.api_key_sid().is_none());
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("tok3n") && !dbg.contains(&expected[6..]),
            "{dbg}"
        );
    }

    #[test]
    fn api_key_uses_key_sid_as_user_and_account_for_urls() {
        let c = Credentials::from_api_key(
            AccountSid::parse(AC).unwrap(),
            ApiKeySid::parse(SK).unwrap(),
            ApiKeySecret::new("s3cret").unwrap(),
        )
        .unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SK}:s3cret"))
        );
        assert_eq!(c.authorization().to_str().unwrap(), expected);
        assert_eq!(c.account_sid().as_str(), AC);
        assert_eq!(c.api_key_sid().unwrap().as_str(), SK);
    }

    #[test]
    fn shared_replace_is_seen_by_clones() {
        let a = Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new("one").unwrap(),
        )
        .unwrap();
        let b = Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new("two").unwrap(),
        )
        .unwrap();
        let shared = SharedCredentials::from(a.clone());
        let other = shared.clone();
        assert_eq!(&other.authorization(), a.authorization());
        shared.replace(b.clone());
        assert_eq!(&other.authorization(), b.authorization());
        assert!(!format!("{other:?}").contains("two"));
    }
}
