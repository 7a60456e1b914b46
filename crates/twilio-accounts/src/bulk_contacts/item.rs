//! The request item of a bulk contacts upsert (CONTRACT.md §5).

use serde::Serialize;

use crate::bulk_items::{CheckedItem, check_item_fields};
use crate::error::Error;

/// One contact, sent as a JSON object in an `Items` form field.
///
/// ```
/// use twilio_accounts::bulk_contacts::ContactItem;
///
/// let item = ContactItem::new("+19999999999", "ad388b5a46b33b874b0d41f7226db2eh", "US", "12345");
/// assert_eq!(item.country_iso_code(), "US");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactItem {
    contact_id: String,
    correlation_id: String,
    country_iso_code: String,
    zip_code: String,
}

impl ContactItem {
    /// A contact item.
    ///
    /// - `contact_id`: the contact's phone number in E.164 format;
    /// - `correlation_id`: your unique 32-character ID that Twilio echoes in the result;
    /// - `country_iso_code`: the ISO country code, such as `US`;
    /// - `zip_code`: the postal code.
    ///
    /// ```
    /// use twilio_accounts::bulk_contacts::ContactItem;
    /// let item = ContactItem::new("+15005550006", "c-1", "US", "94105");
    /// assert_eq!(item.zip_code(), "94105");
    /// ```
    pub fn new(
        contact_id: impl Into<String>,
        correlation_id: impl Into<String>,
        country_iso_code: impl Into<String>,
        zip_code: impl Into<String>,
    ) -> Self {
        Self {
            contact_id: contact_id.into(),
            correlation_id: correlation_id.into(),
            country_iso_code: country_iso_code.into(),
            zip_code: zip_code.into(),
        }
    }

    /// The contact's phone number.
    ///
    /// ```
    /// # use twilio_accounts::bulk_contacts::ContactItem;
    /// # let item = ContactItem::new("+15005550006", "c-1", "US", "94105");
    /// assert_eq!(item.contact_id(), "+15005550006");
    /// ```
    pub fn contact_id(&self) -> &str {
        &self.contact_id
    }

    /// The correlation ID.
    ///
    /// ```
    /// # use twilio_accounts::bulk_contacts::ContactItem;
    /// # let item = ContactItem::new("+15005550006", "c-1", "US", "94105");
    /// assert_eq!(item.correlation_id(), "c-1");
    /// ```
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// The ISO country code.
    ///
    /// ```
    /// # use twilio_accounts::bulk_contacts::ContactItem;
    /// # let item = ContactItem::new("+15005550006", "c-1", "US", "94105");
    /// assert_eq!(item.country_iso_code(), "US");
    /// ```
    pub fn country_iso_code(&self) -> &str {
        &self.country_iso_code
    }

    /// The postal code.
    ///
    /// ```
    /// # use twilio_accounts::bulk_contacts::ContactItem;
    /// # let item = ContactItem::new("+15005550006", "c-1", "US", "94105");
    /// assert_eq!(item.zip_code(), "94105");
    /// ```
    pub fn zip_code(&self) -> &str {
        &self.zip_code
    }
}

impl CheckedItem for ContactItem {
    fn check(&self, index: usize) -> Result<(), Error> {
        check_item_fields(
            "items",
            index,
            &[
                ("contact_id", &self.contact_id),
                ("correlation_id", &self.correlation_id),
                ("country_iso_code", &self.country_iso_code),
                ("zip_code", &self.zip_code),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_check() {
        let item = ContactItem::new("+19", "c", "US", "12345");
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"contact_id":"+19","correlation_id":"c","country_iso_code":"US","zip_code":"12345"}"#
        );
        let Err(Error::Build(b)) = ContactItem::new("+1", "c", "US", "").check(2) else {
            panic!()
        };
        assert_eq!(b.field(), Some("items[2].zip_code"));
    }
}
