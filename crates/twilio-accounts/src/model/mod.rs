//! Response models: one struct per response schema of the spec.
//!
//! Every field is an `Option` because the spec makes every field nullable; `null` and a missing
//! field both read as `None`, and fields Twilio adds later are ignored. SIDs are typed
//! ([`twilio_types`]), dates are [`time::OffsetDateTime`], and the sensitive
//! `auth_token` / `secondary_auth_token` are [`AuthToken`](twilio_types::AuthToken)s whose
//! `Debug` is redacted. The structs are `#[non_exhaustive]`: read their fields, but build them
//! only by decoding (each has a `from_json`), so new fields are not breaking changes.
//!
//! ```
//! use twilio_accounts::model::Safelist;
//!
//! let entry = Safelist::from_json(br#"{"sid":"GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","phone_number":"+18001234567"}"#)?;
//! assert_eq!(entry.phone_number.as_deref(), Some("+18001234567"));
//! # Ok::<(), twilio_accounts::DecodeError>(())
//! ```

mod auth_token;
mod bulk;
mod credential;
mod geopermissions;
pub(crate) mod page;
mod safelist;
mod unknown;

pub use auth_token::{AuthTokenPromotion, SecondaryAuthToken};
pub use bulk::{BulkConsents, BulkContacts, BulkItemResult};
pub use credential::{CredentialAws, CredentialPublicKey};
pub use geopermissions::{GeoPermission, GeoPermissionType, MessagingGeopermissions};
pub use page::{Page, PageMeta};
pub use safelist::Safelist;
pub use unknown::UnknownValue;

use crate::decode::{Fields, parse_object};
use crate::error::DecodeError;

/// A model decodable from the fields of a JSON object.
pub(crate) trait Decode: Sized {
    fn decode(fields: &Fields<'_>) -> Result<Self, DecodeError>;
}

/// Decodes a whole response body into `T`.
pub(crate) fn from_json<T: Decode>(body: &[u8]) -> Result<T, DecodeError> {
    let value = parse_object(body)?;
    T::decode(&Fields::new(&value, String::new())?)
}
