//! `accounts.v1.credential.credential_aws` and `accounts.v1.credential.credential_public_key`.

use time::OffsetDateTime;
use twilio_types::{AccountSid, CredentialSid};

use serde::Deserialize;

use super::wire::FromWire;
use super::{Decode, Page};
use crate::decode::Fields;
use crate::error::DecodeError;

/// Both credential kinds have the same record shape; this writes the struct (with the docs
/// given) and its decoders once for both.
macro_rules! credential_model {
    ($(#[$attr:meta])* $ty:ident) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $ty {
            /// The SID of the credential (`CR…`).
            pub sid: Option<CredentialSid>,
            /// The account that created the credential.
            pub account_sid: Option<AccountSid>,
            /// The name given to the credential.
            pub friendly_name: Option<String>,
            /// When the credential was created.
            pub date_created: Option<OffsetDateTime>,
            /// When the credential was last updated.
            pub date_updated: Option<OffsetDateTime>,
            /// The URL of this resource.
            pub url: Option<String>,
        }

        impl $ty {
            /// Decodes a response body.
            ///
            /// # Errors
            /// A [`DecodeError`] naming the field when the body is not a JSON object or a
            /// field has the wrong type or format.
            ///
            /// ```
            #[doc = concat!("use twilio_accounts::model::", stringify!($ty), ";")]
            #[doc = concat!("let c = ", stringify!($ty), r##"::from_json(br#"{"friendly_name":"ci","date_created":"2015-07-31T04:00:00Z"}"#)?;"##)]
            /// assert!(c.date_created.is_some());
            #[doc = concat!("let e = ", stringify!($ty), r##"::from_json(br#"{"date_created":"yesterday"}"#).unwrap_err();"##)]
            /// assert_eq!(e.field(), Some("date_created"));
            /// # Ok::<(), twilio_accounts::DecodeError>(())
            /// ```
            pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
                super::from_json(body)
            }
        }

        const _: () = {
            type Remote = $ty;

            /// The derive twin of the model (see [`super::wire`]).
            #[derive(Deserialize)]
            #[serde(remote = "Remote")]
            struct Wire {
                sid: Option<CredentialSid>,
                account_sid: Option<AccountSid>,
                friendly_name: Option<String>,
                #[serde(with = "twilio_types::timestamp::option", default)]
                date_created: Option<OffsetDateTime>,
                #[serde(with = "twilio_types::timestamp::option", default)]
                date_updated: Option<OffsetDateTime>,
                url: Option<String>,
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
                    sid: f.sid("sid")?,
                    account_sid: f.sid("account_sid")?,
                    friendly_name: f.string("friendly_name")?,
                    date_created: f.timestamp("date_created")?,
                    date_updated: f.timestamp("date_updated")?,
                    url: f.string("url")?,
                })
            }
        }

        impl super::page::PageItem for $ty {
            const KEY: &'static str = "credentials";
        }

        impl Page<$ty> {
            /// Decodes a list response body (records under `credentials`, plus `meta`).
            ///
            /// # Errors
            /// A [`DecodeError`] naming the field when the body is not a JSON object or a
            /// field has the wrong type or format.
            ///
            /// ```
            #[doc = concat!("use twilio_accounts::model::{", stringify!($ty), ", Page};")]
            #[doc = concat!("let page = Page::<", stringify!($ty), r##">::from_json(br#"{"credentials":[{"sid":"CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}],"meta":{"next_page_url":null}}"#)?;"##)]
            /// assert_eq!(page.items.len(), 1);
            /// assert!(page.meta.next_page_url.is_none());
            /// # Ok::<(), twilio_accounts::DecodeError>(())
            /// ```
            pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
                super::from_json(body)
            }
        }
    };
}

credential_model! {
    /// An AWS credential stored at Twilio (`/v1/Credentials/AWS`). The AWS secret itself is never
    /// returned.
    ///
    /// ```
    /// use twilio_accounts::model::CredentialAws;
    ///
    /// let c = CredentialAws::from_json(br#"{"sid":"CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","friendly_name":"ci"}"#)?;
    /// assert_eq!(c.friendly_name.as_deref(), Some("ci"));
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    CredentialAws
}

credential_model! {
    /// A public key stored at Twilio (`/v1/Credentials/PublicKeys`).
    ///
    /// ```
    /// use twilio_accounts::model::CredentialPublicKey;
    ///
    /// let c = CredentialPublicKey::from_json(br#"{"sid":"CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#)?;
    /// assert!(c.sid.is_some());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    CredentialPublicKey
}
