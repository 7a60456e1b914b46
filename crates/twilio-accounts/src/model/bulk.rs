//! `accounts.v1.bulk_consents` and `accounts.v1.bulk_contacts`.

use serde_json::Value;

use serde::Deserialize;

use super::Decode;
use super::wire::{FromWire, Object, objects};
use crate::decode::{Fields, decode_objects};
use crate::error::DecodeError;

/// The per-item results of a bulk consents upsert (`POST /v1/Consents/Bulk`).
///
/// The spec leaves `items` untyped, so the raw JSON is kept in [`items`](Self::items) as Twilio
/// sent it, and [`item_results`](Self::item_results) reads it as the documented list of
/// [`BulkItemResult`]s.
///
/// ```
/// use twilio_accounts::model::BulkConsents;
///
/// let r = BulkConsents::from_json(br#"{"items":[{"correlation_id":"c1","error_code":0,"error_messages":[]}]}"#)?;
/// let results = r.item_results()?;
/// assert!(results[0].is_success());
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BulkConsents {
    /// The `items` field exactly as received (any JSON).
    pub items: Option<Value>,
}

/// The per-item results of a bulk contacts upsert (`POST /v1/Contacts/Bulk`).
///
/// ```
/// use twilio_accounts::model::BulkContacts;
///
/// let r = BulkContacts::from_json(br#"{"items":[{"correlation_id":"c1","error_code":30647,"error_messages":["INVALID_CONTACT_ID"]}]}"#)?;
/// assert_eq!(r.item_results()?[0].error_code, Some(30647));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BulkContacts {
    /// The `items` field exactly as received (any JSON).
    pub items: Option<Value>,
}

macro_rules! bulk_impls {
    ($ty:ident) => {
        impl $ty {
            /// Decodes a response body. Any JSON in `items` is accepted here; the typed view
            /// is checked by [`item_results`](Self::item_results).
            ///
            /// # Errors
            /// A [`DecodeError`] when the body is not a JSON object.
            ///
            /// ```
            #[doc = concat!("use twilio_accounts::model::", stringify!($ty), ";")]
            #[doc = concat!("let r = ", stringify!($ty), r##"::from_json(br#"{"items":"any JSON is kept"}"#)?;"##)]
            /// assert!(r.items.is_some());
            #[doc = concat!("assert!(", stringify!($ty), "::from_json(b\"[]\").is_err());")]
            /// # Ok::<(), twilio_accounts::DecodeError>(())
            /// ```
            pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
                super::from_json(body)
            }

            /// `items` read as the documented list of results; empty when `items` is absent or
            /// `null`.
            ///
            /// # Errors
            /// A [`DecodeError`] naming the element and field (`items[1].error_code`) when
            /// `items` is not a list of result objects.
            ///
            /// ```
            #[doc = concat!("use twilio_accounts::model::", stringify!($ty), ";")]
            #[doc = concat!("let r = ", stringify!($ty), r##"::from_json(br#"{"items":[{"correlation_id":"c1","error_code":0}]}"#)?;"##)]
            /// assert_eq!(r.item_results()?[0].correlation_id.as_deref(), Some("c1"));
            #[doc = concat!("let odd = ", stringify!($ty), r##"::from_json(br#"{"items":[{"error_code":"x"}]}"#)?;"##)]
            /// assert_eq!(odd.item_results().unwrap_err().field(), Some("items[0].error_code"));
            /// # Ok::<(), twilio_accounts::DecodeError>(())
            /// ```
            pub fn item_results(&self) -> Result<Vec<BulkItemResult>, DecodeError> {
                match &self.items {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(items) => match Vec::<Object<BulkItemResult>>::deserialize(items) {
                        Ok(list) => Ok(objects(list)),
                        Err(_) => decode_objects(items, "items", BulkItemResult::decode),
                    },
                }
            }
        }

        const _: () = {
            type Remote = $ty;

            /// The derive twin of the model (see [`super::wire`]).
            #[derive(Deserialize)]
            #[serde(remote = "Remote")]
            struct Wire {
                items: Option<Value>,
            }

            impl FromWire for $ty {
                fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    Wire::deserialize(d)
                }
            }
        };

        impl Decode for $ty {
            fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
                Ok(Self {
                    items: f.raw("items"),
                })
            }
        }
    };
}

bulk_impls!(BulkConsents);
bulk_impls!(BulkContacts);

/// The outcome for one item of a bulk request, matched to it by `correlation_id`.
///
/// ```
/// # use twilio_accounts::model::BulkConsents;
/// # let r = BulkConsents::from_json(br#"{"items":[{"correlation_id":"c1","error_code":30646,"error_messages":["INVALID_CONTACT_ID"]}]}"#)?;
/// for result in r.item_results()? {
///     if !result.is_success() {
///         println!("{:?}: {:?}", result.correlation_id, result.error_messages);
///     }
/// }
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkItemResult {
    /// The `correlation_id` of the request item.
    pub correlation_id: Option<String>,
    /// `0` for success, otherwise a Twilio error code (such as 30646).
    pub error_code: Option<i64>,
    /// The validation errors, such as `INVALID_CONTACT_ID`; empty on success.
    pub error_messages: Option<Vec<String>>,
}

/// The derive twin of [`BulkItemResult`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "BulkItemResult")]
struct BulkItemResultWire {
    correlation_id: Option<String>,
    error_code: Option<i64>,
    error_messages: Option<Vec<String>>,
}

impl FromWire for BulkItemResult {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BulkItemResultWire::deserialize(d)
    }
}

impl BulkItemResult {
    /// Whether the item was accepted: `error_code` is `0` (or absent) and there are no error
    /// messages.
    ///
    /// ```
    /// use twilio_accounts::model::BulkContacts;
    /// let r = BulkContacts::from_json(br#"{"items":[{"correlation_id":"a","error_code":0,"error_messages":[]},{"correlation_id":"b","error_code":30646}]}"#)?;
    /// let results = r.item_results()?;
    /// assert!(results[0].is_success() && !results[1].is_success());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn is_success(&self) -> bool {
        self.error_code.unwrap_or(0) == 0 && self.error_messages.as_ref().is_none_or(Vec::is_empty)
    }

    pub(crate) fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            correlation_id: f.string("correlation_id")?,
            error_code: f.integer("error_code")?,
            error_messages: f.strings("error_messages")?,
        })
    }
}
