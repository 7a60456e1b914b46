//! Bulk contacts (`/v1/Contacts/Bulk`): upsert the country and ZIP code of many contacts in
//! one request.
//!
//! ```no_run
//! use twilio_accounts::bulk_contacts::ContactItem;
//! # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
//! let items = vec![ContactItem::new("+15005550006", "ad388b5a46b33b874b0d41f7226db2ef", "US", "94105")];
//! let results = client.bulk_contacts().create(items).send().await?.item_results()?;
//! # Ok(()) }
//! ```

mod create;
mod item;

pub use create::CreateBulkContacts;
pub use item::ContactItem;

use crate::client::Client;

/// Bulk contacts, from [`Client::bulk_contacts`].
///
/// ```no_run
/// # use twilio_accounts::bulk_contacts::ContactItem;
/// # async fn run(client: twilio_accounts::Client, items: Vec<ContactItem>) -> Result<(), twilio_accounts::Error> {
/// let result = client.bulk_contacts().create(items).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BulkContactsResource {
    client: Client,
}

impl BulkContactsResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Upserts contacts (`POST /v1/Contacts/Bulk`, operation `CreateBulkContacts`); each item
    /// is sent as one JSON-encoded `Items` form field.
    ///
    /// ```no_run
    /// # use twilio_accounts::bulk_contacts::ContactItem;
    /// # async fn run(client: twilio_accounts::Client, items: Vec<ContactItem>) -> Result<(), twilio_accounts::Error> {
    /// let result = client.bulk_contacts().create(items).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, items: impl IntoIterator<Item = ContactItem>) -> CreateBulkContacts {
        CreateBulkContacts::new(self.client.clone(), items.into_iter().collect())
    }
}
