//! `accounts.v1.safelist`.

use twilio_types::SafelistSid;

use serde::Deserialize;

use super::Decode;
use super::wire::FromWire;
use crate::decode::Fields;
use crate::error::DecodeError;

/// A SafeList entry: a phone number or a 1k number prefix (`/v1/SafeList/Numbers`).
///
/// ```
/// use twilio_accounts::model::Safelist;
///
/// let s = Safelist::from_json(br#"{"sid":"GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","phone_number":"+18001234567"}"#)?;
/// assert_eq!(s.sid.map(|s| s.to_string()).as_deref(), Some("GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Safelist {
    /// The SID of the entry (`GN…`).
    pub sid: Option<SafelistSid>,
    /// The phone number or 1k prefix, in E.164 format.
    pub phone_number: Option<String>,
}

impl Safelist {
    /// Decodes a response body.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the field when the body is not a JSON object or a field has the
    /// wrong type or format.
    ///
    /// ```
    /// use twilio_accounts::model::Safelist;
    /// let s = Safelist::from_json(br#"{"sid":"GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","phone_number":"+18001234567"}"#)?;
    /// assert_eq!(s.phone_number.as_deref(), Some("+18001234567"));
    /// assert!(Safelist::from_json(br#"{"sid":"XX"}"#).is_err());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        super::from_json(body)
    }
}

/// The derive twin of [`Safelist`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "Safelist")]
struct SafelistWire {
    sid: Option<SafelistSid>,
    phone_number: Option<String>,
}

impl FromWire for Safelist {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SafelistWire::deserialize(d)
    }
}

impl Decode for Safelist {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            sid: f.sid("sid")?,
            phone_number: f.string("phone_number")?,
        })
    }
}
