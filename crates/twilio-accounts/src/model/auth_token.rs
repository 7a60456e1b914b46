//! `accounts.v1.auth_token_promotion` and `accounts.v1.secondary_auth_token`.

use time::OffsetDateTime;
use twilio_types::{AccountSid, AuthToken};

use serde::Deserialize;

use super::Decode;
use super::wire::FromWire;
use crate::decode::Fields;
use crate::error::DecodeError;

/// The result of promoting the secondary Auth Token (`POST /v1/AuthTokens/Promote`).
///
/// `auth_token` is the new primary token; its `Debug` is redacted, use
/// [`AuthToken::expose_secret`] to read it.
///
/// ```
/// use twilio_accounts::model::AuthTokenPromotion;
///
/// let p = AuthTokenPromotion::from_json(br#"{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","auth_token":"tok"}"#)?;
/// assert_eq!(p.auth_token.as_ref().map(|t| t.expose_secret()), Some("tok"));
/// assert!(!format!("{p:?}").contains("tok\""));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthTokenPromotion {
    /// The account the token belongs to.
    pub account_sid: Option<AccountSid>,
    /// The promoted token, now the primary Auth Token (sensitive).
    pub auth_token: Option<AuthToken>,
    /// When the resource was created.
    pub date_created: Option<OffsetDateTime>,
    /// When the resource was last updated.
    pub date_updated: Option<OffsetDateTime>,
    /// The URL of this resource.
    pub url: Option<String>,
}

impl AuthTokenPromotion {
    /// Decodes a response body.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the field when the body is not a JSON object or a field has the
    /// wrong type or format.
    ///
    /// ```
    /// use twilio_accounts::model::AuthTokenPromotion;
    /// let p = AuthTokenPromotion::from_json(br#"{"auth_token":"tok","url":"https://accounts.twilio.com/v1/AuthTokens"}"#)?;
    /// assert!(p.auth_token.is_some());
    /// assert!(AuthTokenPromotion::from_json(b"[]").is_err());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        super::from_json(body)
    }
}

/// The derive twin of [`AuthTokenPromotion`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "AuthTokenPromotion")]
struct AuthTokenPromotionWire {
    account_sid: Option<AccountSid>,
    auth_token: Option<AuthToken>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_created: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
    url: Option<String>,
}

impl FromWire for AuthTokenPromotion {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AuthTokenPromotionWire::deserialize(d)
    }
}

impl Decode for AuthTokenPromotion {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            account_sid: f.sid("account_sid")?,
            auth_token: f.token("auth_token")?,
            date_created: f.timestamp("date_created")?,
            date_updated: f.timestamp("date_updated")?,
            url: f.string("url")?,
        })
    }
}

/// A secondary Auth Token (`POST /v1/AuthTokens/Secondary`).
///
/// ```
/// use twilio_accounts::model::SecondaryAuthToken;
///
/// let s = SecondaryAuthToken::from_json(br#"{"secondary_auth_token":"tok2","date_created":"2015-07-31T04:00:00Z"}"#)?;
/// assert_eq!(s.secondary_auth_token.as_ref().map(|t| t.expose_secret()), Some("tok2"));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SecondaryAuthToken {
    /// The account the token belongs to.
    pub account_sid: Option<AccountSid>,
    /// When the token was created.
    pub date_created: Option<OffsetDateTime>,
    /// When the token was last updated.
    pub date_updated: Option<OffsetDateTime>,
    /// The new secondary Auth Token (sensitive).
    pub secondary_auth_token: Option<AuthToken>,
    /// The URL of this resource.
    pub url: Option<String>,
}

impl SecondaryAuthToken {
    /// Decodes a response body.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the field when the body is not a JSON object or a field has the
    /// wrong type or format.
    ///
    /// ```
    /// use twilio_accounts::model::SecondaryAuthToken;
    /// let s = SecondaryAuthToken::from_json(br#"{"secondary_auth_token":"tok2"}"#)?;
    /// assert!(s.secondary_auth_token.is_some());
    /// assert!(SecondaryAuthToken::from_json(br#"{"date_created":"yesterday"}"#).is_err());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        super::from_json(body)
    }
}

/// The derive twin of [`SecondaryAuthToken`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "SecondaryAuthToken")]
struct SecondaryAuthTokenWire {
    account_sid: Option<AccountSid>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_created: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
    secondary_auth_token: Option<AuthToken>,
    url: Option<String>,
}

impl FromWire for SecondaryAuthToken {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SecondaryAuthTokenWire::deserialize(d)
    }
}

impl Decode for SecondaryAuthToken {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            account_sid: f.sid("account_sid")?,
            date_created: f.timestamp("date_created")?,
            date_updated: f.timestamp("date_updated")?,
            secondary_auth_token: f.token("secondary_auth_token")?,
            url: f.string("url")?,
        })
    }
}
