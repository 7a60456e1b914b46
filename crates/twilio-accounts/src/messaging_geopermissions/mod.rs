//! Messaging geo permissions (`/v1/Messaging/GeoPermissions`): which countries messages may
//! be sent to.
//!
//! ```no_run
//! use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
//! # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
//! let current = client.messaging_geopermissions().fetch().country_code("IN,PK,US").send().await?;
//! let result = client
//!     .messaging_geopermissions()
//!     .update([GeoPermissionUpdate::new("IN", false)])
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```

mod fetch;
mod permission;
mod update;

pub use crate::model::GeoPermissionType;
pub use fetch::FetchMessagingGeopermissions;
pub use permission::GeoPermissionUpdate;
pub use update::UpdateMessagingGeopermissions;

use crate::client::Client;
use crate::request::FixedPath;

/// `/v1/Messaging/GeoPermissions`.
static PATH: FixedPath = FixedPath::new("/v1/Messaging/GeoPermissions");

/// Messaging geo permissions, from [`Client::messaging_geopermissions`].
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let all = client.messaging_geopermissions().fetch().send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MessagingGeopermissionsResource {
    client: Client,
}

impl MessagingGeopermissionsResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Reads the geo permissions (`GET /v1/Messaging/GeoPermissions`, operation
    /// `FetchMessagingGeopermissions`), optionally filtered with
    /// [`country_code`](FetchMessagingGeopermissions::country_code).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let some = client.messaging_geopermissions().fetch().country_code("IN,PK").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn fetch(&self) -> FetchMessagingGeopermissions {
        FetchMessagingGeopermissions::new(self.client.clone())
    }

    /// Enables or disables countries (`PATCH /v1/Messaging/GeoPermissions` with a form body,
    /// operation `UpdateMessagingGeopermissions`); each permission is sent as one
    /// JSON-encoded `Permissions` form field.
    ///
    /// ```no_run
    /// use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client
    ///     .messaging_geopermissions()
    ///     .update([GeoPermissionUpdate::new("IN", false), GeoPermissionUpdate::new("PK", true)])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn update(
        &self,
        permissions: impl IntoIterator<Item = GeoPermissionUpdate>,
    ) -> UpdateMessagingGeopermissions {
        UpdateMessagingGeopermissions::new(self.client.clone(), permissions.into_iter().collect())
    }
}
