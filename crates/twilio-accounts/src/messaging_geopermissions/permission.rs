//! The request item of a geo-permissions update (CONTRACT.md §5).

use serde::{Serialize, Serializer};

use crate::bulk_items::{CheckedItem, check_item_fields};
use crate::error::Error;
use crate::model::GeoPermissionType;

/// One country's new geo permission, sent as a JSON object in a `Permissions` form field.
///
/// ```
/// use twilio_accounts::messaging_geopermissions::{GeoPermissionType, GeoPermissionUpdate};
///
/// let p = GeoPermissionUpdate::new("IN", false);
/// assert_eq!(p.permission_type(), &GeoPermissionType::Country);
/// assert!(!p.enabled());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeoPermissionUpdate {
    country_code: String,
    #[serde(rename = "type", serialize_with = "serialize_type")]
    permission_type: GeoPermissionType,
    enabled: bool,
}

fn serialize_type<S: Serializer>(t: &GeoPermissionType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

impl GeoPermissionUpdate {
    /// Enables (`true`) or disables (`false`) messaging to `country_code` (such as `IN`), with
    /// the permission type `country`.
    ///
    /// ```
    /// use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// let update = GeoPermissionUpdate::new("IN", false);
    /// assert!(!update.enabled());
    /// ```
    pub fn new(country_code: impl Into<String>, enabled: bool) -> Self {
        Self {
            country_code: country_code.into(),
            permission_type: GeoPermissionType::Country,
            enabled,
        }
    }

    /// Sets another permission type (`country` is the only one Twilio documents).
    ///
    /// ```
    /// # use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// # let update = GeoPermissionUpdate::new("IN", false);
    /// use twilio_accounts::messaging_geopermissions::GeoPermissionType;
    /// let update = update.with_permission_type(GeoPermissionType::from("region"));
    /// assert_eq!(update.permission_type().as_str(), "region");
    /// ```
    pub fn with_permission_type(mut self, permission_type: GeoPermissionType) -> Self {
        self.permission_type = permission_type;
        self
    }

    /// The country code.
    ///
    /// ```
    /// # use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// # let update = GeoPermissionUpdate::new("IN", false);
    /// assert_eq!(update.country_code(), "IN");
    /// ```
    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    /// The permission type.
    ///
    /// ```
    /// # use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// # let update = GeoPermissionUpdate::new("IN", false);
    /// assert_eq!(update.permission_type().as_str(), "country");
    /// ```
    pub fn permission_type(&self) -> &GeoPermissionType {
        &self.permission_type
    }

    /// Whether messaging gets enabled.
    ///
    /// ```
    /// # use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// # let update = GeoPermissionUpdate::new("IN", false);
    /// assert!(!update.enabled());
    /// ```
    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

impl CheckedItem for GeoPermissionUpdate {
    fn check(&self, index: usize) -> Result<(), Error> {
        check_item_fields(
            "permissions",
            index,
            &[
                ("country_code", self.country_code.as_str()),
                ("type", self.permission_type.as_str()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        assert_eq!(
            serde_json::to_string(&GeoPermissionUpdate::new("IN", false)).unwrap(),
            r#"{"country_code":"IN","type":"country","enabled":false}"#
        );
        let p = GeoPermissionUpdate::new("PK", true)
            .with_permission_type(GeoPermissionType::from("region"));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"country_code":"PK","type":"region","enabled":true}"#
        );
        let Err(Error::Build(b)) = GeoPermissionUpdate::new(" ", true).check(0) else {
            panic!()
        };
        assert_eq!(b.field(), Some("permissions[0].country_code"));
    }
}
