//! `accounts.v1.messaging_geopermissions`.

use std::fmt;

use serde_json::Value;

use serde::Deserialize;

use super::Decode;
use super::wire::{FromWire, Object, objects, string_into};
use crate::decode::{Fields, decode_objects};
use crate::error::DecodeError;
use crate::model::UnknownValue;

/// Messaging geo permissions (`/v1/Messaging/GeoPermissions`), as returned by both the fetch
/// and the update.
///
/// The spec leaves `permissions` untyped, so the raw JSON is kept in
/// [`permissions`](Self::permissions) and [`permission_entries`](Self::permission_entries)
/// reads it as the documented list of [`GeoPermission`]s.
///
/// ```
/// use twilio_accounts::model::MessagingGeopermissions;
///
/// let g = MessagingGeopermissions::from_json(
///     br#"{"permissions":[{"country_code":"IN","type":"country","enabled":false,"prefix":"+91"}]}"#,
/// )?;
/// let entries = g.permission_entries()?;
/// assert_eq!(entries[0].country_code.as_deref(), Some("IN"));
/// assert_eq!(entries[0].enabled, Some(false));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessagingGeopermissions {
    /// The `permissions` field exactly as received (any JSON).
    pub permissions: Option<Value>,
}

impl MessagingGeopermissions {
    /// Decodes a response body. Any JSON in `permissions` is accepted here; the typed view is
    /// checked by [`permission_entries`](Self::permission_entries).
    ///
    /// # Errors
    /// A [`DecodeError`] when the body is not a JSON object.
    ///
    /// ```
    /// use twilio_accounts::model::MessagingGeopermissions;
    /// let m = MessagingGeopermissions::from_json(br#"{"permissions":"any JSON is kept"}"#)?;
    /// assert!(m.permissions.is_some());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        super::from_json(body)
    }

    /// `permissions` read as the documented list; empty when absent or `null`.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the element and field (`permissions[0].enabled`) when
    /// `permissions` is not a list of permission objects.
    ///
    /// ```
    /// use twilio_accounts::model::MessagingGeopermissions;
    /// let m = MessagingGeopermissions::from_json(br#"{"permissions":[{"country_code":"IN","type":"country","enabled":false}]}"#)?;
    /// assert_eq!(m.permission_entries()?.len(), 1);
    /// let odd = MessagingGeopermissions::from_json(br#"{"permissions":[{"enabled":"yes"}]}"#)?;
    /// assert!(odd.permission_entries().is_err());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn permission_entries(&self) -> Result<Vec<GeoPermission>, DecodeError> {
        match &self.permissions {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(value) => match Vec::<Object<GeoPermission>>::deserialize(value) {
                Ok(list) => Ok(objects(list)),
                Err(_) => decode_objects(value, "permissions", GeoPermission::decode),
            },
        }
    }
}

/// The derive twin of [`MessagingGeopermissions`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "MessagingGeopermissions")]
struct MessagingGeopermissionsWire {
    permissions: Option<Value>,
}

impl FromWire for MessagingGeopermissions {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MessagingGeopermissionsWire::deserialize(d)
    }
}

impl Decode for MessagingGeopermissions {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            permissions: f.raw("permissions"),
        })
    }
}

/// The geo permission of one country. A fetch fills `prefix` and `message`; an update fills
/// `error_code` and `error_messages`.
///
/// ```
/// # use twilio_accounts::model::MessagingGeopermissions;
/// # let g = MessagingGeopermissions::from_json(br#"{"permissions":[{"country_code":"PK","enabled":true}]}"#)?;
/// for p in g.permission_entries()? {
///     println!("{:?} enabled={:?}", p.country_code, p.enabled);
/// }
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GeoPermission {
    /// The ISO country code, such as `IN`.
    pub country_code: Option<String>,
    /// The permission type (`type` on the wire), `country` today.
    pub permission_type: Option<GeoPermissionType>,
    /// Whether messaging to the country is enabled.
    pub enabled: Option<bool>,
    /// The dialling prefix, such as `+91` (fetch).
    pub prefix: Option<String>,
    /// A note such as `High Risk Country` (fetch).
    pub message: Option<String>,
    /// `0` when the update applied, otherwise a Twilio error code such as 30649 (update).
    pub error_code: Option<i64>,
    /// Why the update did not apply (update).
    pub error_messages: Option<Vec<String>>,
}

/// The derive twin of [`GeoPermission`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "GeoPermission")]
struct GeoPermissionWire {
    country_code: Option<String>,
    #[serde(rename = "type", deserialize_with = "string_into", default)]
    permission_type: Option<GeoPermissionType>,
    enabled: Option<bool>,
    prefix: Option<String>,
    message: Option<String>,
    error_code: Option<i64>,
    error_messages: Option<Vec<String>>,
}

impl FromWire for GeoPermission {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        GeoPermissionWire::deserialize(d)
    }
}

impl GeoPermission {
    pub(crate) fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            country_code: f.string("country_code")?,
            permission_type: f.string("type")?.map(GeoPermissionType::from),
            enabled: f.bool("enabled")?,
            prefix: f.string("prefix")?,
            message: f.string("message")?,
            error_code: f.integer("error_code")?,
            error_messages: f.strings("error_messages")?,
        })
    }
}

/// The type of a geo permission. Twilio documents `country` only; other values are kept,
/// opaque, in `Unknown` (see [`UnknownValue`]).
///
/// ```
/// use twilio_accounts::model::GeoPermissionType;
///
/// assert_eq!(GeoPermissionType::from("country"), GeoPermissionType::Country);
/// assert_eq!(GeoPermissionType::Country.as_str(), "country");
///
/// // A value this version does not know: match the known variants, then read the rest.
/// let kind = GeoPermissionType::from("region");
/// let label = match &kind {
///     GeoPermissionType::Country => "a country".to_owned(),
///     other => format!("something else: {}", other.as_str()),
/// };
/// assert_eq!(label, "something else: region");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GeoPermissionType {
    /// `country`.
    Country,
    /// A value this version does not know (built only by parsing).
    #[deprecated(
        note = "do not match `Unknown` directly: a later version may give its value a variant of its own; match the known variants, then a wildcard arm reading `as_str()`"
    )]
    Unknown(UnknownValue),
}

impl GeoPermissionType {
    /// The wire value.
    ///
    /// ```
    /// use twilio_accounts::model::GeoPermissionType;
    /// assert_eq!(GeoPermissionType::Country.as_str(), "country");
    /// ```
    pub fn as_str(&self) -> &str {
        #[allow(deprecated)]
        match self {
            GeoPermissionType::Country => "country",
            GeoPermissionType::Unknown(v) => v.as_str(),
        }
    }
}

impl From<&str> for GeoPermissionType {
    fn from(s: &str) -> Self {
        match s {
            "country" => GeoPermissionType::Country,
            #[allow(deprecated)]
            other => GeoPermissionType::Unknown(UnknownValue::new(other)),
        }
    }
}

impl From<String> for GeoPermissionType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "country" => GeoPermissionType::Country,
            #[allow(deprecated)]
            _ => GeoPermissionType::Unknown(UnknownValue::new(s)),
        }
    }
}

impl fmt::Display for GeoPermissionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
