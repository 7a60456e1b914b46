//! Bulk consents (`/v1/Consents/Bulk`): upsert the opt-in / opt-out status of many contacts
//! in one request.
//!
//! ```no_run
//! use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
//! # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
//! let items = vec![
//!     ConsentItem::new("+15005550006", "ad388b5a46b33b874b0d41f7226db2ef", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
//!         ConsentStatus::OptIn, ConsentSource::Website),
//! ];
//! let results = client.bulk_consents().create(items).send().await?.item_results()?;
//! # Ok(()) }
//! ```

mod create;
mod item;

pub use create::CreateBulkConsents;
pub use item::{ConsentItem, ConsentSource, ConsentStatus};

use crate::client::Client;

/// Bulk consents, from [`Client::bulk_consents`].
///
/// ```no_run
/// # use twilio_accounts::bulk_consents::ConsentItem;
/// # async fn run(client: twilio_accounts::Client, items: Vec<ConsentItem>) -> Result<(), twilio_accounts::Error> {
/// let result = client.bulk_consents().create(items).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BulkConsentsResource {
    client: Client,
}

impl BulkConsentsResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Upserts consents (`POST /v1/Consents/Bulk`, operation `CreateBulkConsents`); each
    /// item is sent as one JSON-encoded `Items` form field.
    ///
    /// ```no_run
    /// # use twilio_accounts::bulk_consents::ConsentItem;
    /// # async fn run(client: twilio_accounts::Client, items: Vec<ConsentItem>) -> Result<(), twilio_accounts::Error> {
    /// let result = client.bulk_consents().create(items).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, items: impl IntoIterator<Item = ConsentItem>) -> CreateBulkConsents {
        CreateBulkConsents::new(self.client.clone(), items.into_iter().collect())
    }
}
