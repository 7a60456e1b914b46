//! `UpdateMessagingGeopermissions`: `PATCH /v1/Messaging/GeoPermissions`.

use super::GeoPermissionUpdate;
use crate::model::MessagingGeopermissions;

crate::bulk_items::json_items_operation! {
    /// Updates messaging geo permissions. From
    /// `client.messaging_geopermissions().update(permissions)`.
    ///
    /// ```no_run
    /// use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client
    ///     .messaging_geopermissions()
    ///     .update([GeoPermissionUpdate::new("IN", false)])
    ///     .send()
    ///     .await?;
    /// for p in result.permission_entries()? {
    ///     if p.error_code.unwrap_or(0) != 0 {
    ///         println!("{:?} not updated: {:?}", p.country_code, p.error_messages);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub struct UpdateMessagingGeopermissions => PATCH &super::PATH,
        permissions: Vec<GeoPermissionUpdate> as "Permissions";

    /// Sends the request. Per-country outcomes are in
    /// [`MessagingGeopermissions::permission_entries`].
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) for no permissions or an empty country code
    /// (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, permissions: Vec<twilio_accounts::messaging_geopermissions::GeoPermissionUpdate>) -> Result<(), twilio_accounts::Error> {
    /// let result = client.messaging_geopermissions().update(permissions).send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> MessagingGeopermissions;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn patch_with_one_json_string_per_permission() {
        let r = client()
            .messaging_geopermissions()
            .update([
                GeoPermissionUpdate::new("IN", false),
                GeoPermissionUpdate::new("PK", true),
            ])
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::PATCH);
        assert_eq!(r.uri(), "/v1/Messaging/GeoPermissions");
        assert_form(
            &r,
            &[
                (
                    "Permissions",
                    r#"{"country_code":"IN","type":"country","enabled":false}"#,
                ),
                (
                    "Permissions",
                    r#"{"country_code":"PK","type":"country","enabled":true}"#,
                ),
            ],
        );
    }

    #[test]
    fn empty_is_refused() {
        let e = client()
            .messaging_geopermissions()
            .update([])
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("`permissions`"));
    }
}
