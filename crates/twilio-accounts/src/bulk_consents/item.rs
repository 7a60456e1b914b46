//! The request item of a bulk consents upsert (CONTRACT.md §5).

use std::fmt;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::bulk_items::{CheckedItem, check_item_fields};
use crate::error::Error;
use crate::model::UnknownValue;

/// One contact's consent, sent as a JSON object in an `Items` form field.
///
/// ```
/// use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
/// use time::macros::datetime;
///
/// let item = ConsentItem::new(
///     "+15005550006",
///     "ad388b5a46b33b874b0d41f7226db2ef",
///     "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
///     ConsentStatus::OptOut,
///     ConsentSource::OptOutMessage,
/// )
/// .date_of_consent(datetime!(2025-02-28 10:05:27 UTC));
/// assert_eq!(item.status(), &ConsentStatus::OptOut);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentItem {
    contact_id: String,
    correlation_id: String,
    sender_id: String,
    status: ConsentStatus,
    source: ConsentSource,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_date"
    )]
    date_of_consent: Option<OffsetDateTime>,
}

fn serialize_date<S: Serializer>(date: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(d) => s.serialize_str(&twilio_types::timestamp::format(d)),
        None => s.serialize_none(),
    }
}

impl ConsentItem {
    /// A consent item.
    ///
    /// - `contact_id`: the contact's phone number in E.164 format;
    /// - `correlation_id`: your unique 32-character ID that Twilio echoes in the result;
    /// - `sender_id`: a Messaging Service SID (`MG…`) or a sender phone number;
    /// - `status`, `source`: see [`ConsentStatus`] and [`ConsentSource`].
    ///
    /// ```
    /// use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.status(), &ConsentStatus::OptIn);
    /// ```
    pub fn new(
        contact_id: impl Into<String>,
        correlation_id: impl Into<String>,
        sender_id: impl Into<String>,
        status: ConsentStatus,
        source: ConsentSource,
    ) -> Self {
        Self {
            contact_id: contact_id.into(),
            correlation_id: correlation_id.into(),
            sender_id: sender_id.into(),
            status,
            source,
            date_of_consent: None,
        }
    }

    /// When the consent was given (sent as RFC 3339, UTC).
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// use time::macros::datetime;
    /// let item = item.date_of_consent(datetime!(2024-05-01 12:00 UTC));
    /// assert_eq!(item.date_of_consent_value(), Some(datetime!(2024-05-01 12:00 UTC)));
    /// ```
    pub fn date_of_consent(mut self, date: OffsetDateTime) -> Self {
        self.date_of_consent = Some(date);
        self
    }

    /// The contact's phone number.
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.contact_id(), "+15005550006");
    /// ```
    pub fn contact_id(&self) -> &str {
        &self.contact_id
    }

    /// The correlation ID.
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.correlation_id(), "c-1");
    /// ```
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// The sender.
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.sender_id(), "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    /// ```
    pub fn sender_id(&self) -> &str {
        &self.sender_id
    }

    /// The consent status.
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.status().as_str(), "opt-in");
    /// ```
    pub fn status(&self) -> &ConsentStatus {
        &self.status
    }

    /// Where the consent came from.
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.source(), &ConsentSource::Website);
    /// ```
    pub fn source(&self) -> &ConsentSource {
        &self.source
    }

    /// When the consent was given, if set.
    ///
    /// ```
    /// # use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # let item = ConsentItem::new("+15005550006", "c-1", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ConsentStatus::OptIn, ConsentSource::Website);
    /// assert_eq!(item.date_of_consent_value(), None);
    /// ```
    pub fn date_of_consent_value(&self) -> Option<OffsetDateTime> {
        self.date_of_consent
    }
}

impl CheckedItem for ConsentItem {
    fn check(&self, index: usize) -> Result<(), Error> {
        check_item_fields(
            "items",
            index,
            &[
                ("contact_id", &self.contact_id),
                ("correlation_id", &self.correlation_id),
                ("sender_id", &self.sender_id),
                ("status", self.status.as_str()),
                ("source", self.source.as_str()),
            ],
        )
    }
}

/// A consent status. Twilio documents `opt-in` and `opt-out`; other values are kept,
/// opaque, in `Unknown` (see [`UnknownValue`]): build them with `From<&str>`.
///
/// ```
/// use twilio_accounts::bulk_consents::ConsentStatus;
/// assert_eq!(ConsentStatus::OptIn.as_str(), "opt-in");
/// assert_eq!(ConsentStatus::from("opt-out"), ConsentStatus::OptOut);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsentStatus {
    /// `opt-in`.
    OptIn,
    /// `opt-out`.
    OptOut,
    /// A value this version does not know, sent as is (built only by parsing).
    #[deprecated(
        note = "do not match `Unknown` directly: a later version may give its value a variant of its own; match the known variants, then a wildcard arm reading `as_str()`"
    )]
    Unknown(UnknownValue),
}

impl ConsentStatus {
    /// The wire value.
    ///
    /// ```
    /// use twilio_accounts::bulk_consents::ConsentStatus;
    /// assert_eq!(ConsentStatus::OptOut.as_str(), "opt-out");
    /// ```
    pub fn as_str(&self) -> &str {
        #[allow(deprecated)]
        match self {
            ConsentStatus::OptIn => "opt-in",
            ConsentStatus::OptOut => "opt-out",
            ConsentStatus::Unknown(v) => v.as_str(),
        }
    }
}

impl From<&str> for ConsentStatus {
    fn from(s: &str) -> Self {
        match s {
            "opt-in" => ConsentStatus::OptIn,
            "opt-out" => ConsentStatus::OptOut,
            #[allow(deprecated)]
            other => ConsentStatus::Unknown(UnknownValue::new(other)),
        }
    }
}

impl fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ConsentStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a consent came from. Twilio documents `website`, `offline`, `opt-in-message`,
/// `opt-out-message` and `others`; other values are kept, opaque, in `Unknown` (see
/// [`UnknownValue`]): build them with `From<&str>`.
///
/// ```
/// use twilio_accounts::bulk_consents::ConsentSource;
/// assert_eq!(ConsentSource::OptInMessage.as_str(), "opt-in-message");
/// assert_eq!(ConsentSource::from("kiosk").as_str(), "kiosk"); // sent as is
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsentSource {
    /// `website`.
    Website,
    /// `offline`.
    Offline,
    /// `opt-in-message`.
    OptInMessage,
    /// `opt-out-message`.
    OptOutMessage,
    /// `others`.
    Others,
    /// A value this version does not know, sent as is (built only by parsing).
    #[deprecated(
        note = "do not match `Unknown` directly: a later version may give its value a variant of its own; match the known variants, then a wildcard arm reading `as_str()`"
    )]
    Unknown(UnknownValue),
}

impl ConsentSource {
    /// The wire value.
    ///
    /// ```
    /// use twilio_accounts::bulk_consents::ConsentSource;
    /// assert_eq!(ConsentSource::OptInMessage.as_str(), "opt-in-message");
    /// ```
    pub fn as_str(&self) -> &str {
        #[allow(deprecated)]
        match self {
            ConsentSource::Website => "website",
            ConsentSource::Offline => "offline",
            ConsentSource::OptInMessage => "opt-in-message",
            ConsentSource::OptOutMessage => "opt-out-message",
            ConsentSource::Others => "others",
            ConsentSource::Unknown(v) => v.as_str(),
        }
    }
}

impl From<&str> for ConsentSource {
    fn from(s: &str) -> Self {
        match s {
            "website" => ConsentSource::Website,
            "offline" => ConsentSource::Offline,
            "opt-in-message" => ConsentSource::OptInMessage,
            "opt-out-message" => ConsentSource::OptOutMessage,
            "others" => ConsentSource::Others,
            #[allow(deprecated)]
            other => ConsentSource::Unknown(UnknownValue::new(other)),
        }
    }
}

impl fmt::Display for ConsentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ConsentSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn json_shape() {
        let item = ConsentItem::new(
            "+19999999999",
            "ad388b5a46b33b874b0d41f7226db2ef",
            "MG00000000000000000000000000000001",
            ConsentStatus::OptOut,
            ConsentSource::Website,
        )
        .date_of_consent(datetime!(2025-02-28 10:05:27 UTC));
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"contact_id":"+19999999999","correlation_id":"ad388b5a46b33b874b0d41f7226db2ef","sender_id":"MG00000000000000000000000000000001","status":"opt-out","source":"website","date_of_consent":"2025-02-28T10:05:27Z"}"#
        );
        let item = ConsentItem::new(
            "+1",
            "c",
            "123456",
            ConsentStatus::from("pending"),
            ConsentSource::OptInMessage,
        );
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"contact_id":"+1","correlation_id":"c","sender_id":"123456","status":"pending","source":"opt-in-message"}"#
        );
    }

    #[test]
    fn enums_round_trip() {
        for s in [
            ConsentStatus::OptIn,
            ConsentStatus::OptOut,
            ConsentStatus::from("x"),
        ] {
            assert_eq!(ConsentStatus::from(s.as_str()), s);
        }
        for s in [
            ConsentSource::Website,
            ConsentSource::Offline,
            ConsentSource::OptInMessage,
            ConsentSource::OptOutMessage,
            ConsentSource::Others,
            ConsentSource::from("x"),
        ] {
            assert_eq!(ConsentSource::from(s.as_str()), s);
            assert_eq!(s.to_string(), s.as_str());
        }
    }

    #[test]
    fn known_values_never_parse_as_unknown() {
        for known in ["opt-in", "opt-out"] {
            assert!(!format!("{:?}", ConsentStatus::from(known)).contains("Unknown"));
        }
        for known in [
            "website",
            "offline",
            "opt-in-message",
            "opt-out-message",
            "others",
        ] {
            assert!(!format!("{:?}", ConsentSource::from(known)).contains("Unknown"));
        }
        assert_eq!(
            format!("{:?}", ConsentSource::from("kiosk")),
            r#"Unknown("kiosk")"#
        );
    }

    #[test]
    fn check_names_the_item() {
        let item = ConsentItem::new("", "c", "s", ConsentStatus::OptIn, ConsentSource::Website);
        let e = item.check(3).unwrap_err();
        let Error::Build(b) = e else { panic!() };
        assert_eq!(b.field(), Some("items[3].contact_id"));
    }
}
