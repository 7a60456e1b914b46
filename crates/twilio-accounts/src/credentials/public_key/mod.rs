//! Public-key credentials (`/v1/Credentials/PublicKeys`): `list`, `create`, `fetch`, `update`, `delete`.
//!
//! ```no_run
//! # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
//! let one = client.credentials().public_key().fetch(sid).send().await?;
//! client.credentials().public_key().update(sid).friendly_name("renamed").send().await?;
//! client.credentials().public_key().delete(sid).send().await?;
//! # Ok(()) }
//! ```

mod create;
mod delete;
mod fetch;
mod list;
mod update;

pub use create::CreateCredentialPublicKey;
pub use delete::DeleteCredentialPublicKey;
pub use fetch::FetchCredentialPublicKey;
pub use list::ListCredentialPublicKey;
pub use update::UpdateCredentialPublicKey;

use twilio_types::CredentialSid;

use crate::client::Client;

/// Public-key credentials, from `client.credentials().public_key()`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let page = client.credentials().public_key().list().page_size(10).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PublicKeyResource {
    client: Client,
}

impl PublicKeyResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Lists public-key credentials (`GET /v1/Credentials/PublicKeys`, operation `ListCredentialPublicKey`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let first_page = client.credentials().public_key().list().page_size(50).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCredentialPublicKey {
        ListCredentialPublicKey::new(self.client.clone())
    }

    /// Creates a public-key credential (`POST /v1/Credentials/PublicKeys`, operation `CreateCredentialPublicKey`).
    /// `public_key` is the PEM text (`-----BEGIN PUBLIC KEY-----…`); it is percent-encoded for you.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let pem = std::fs::read_to_string("key.pem")?;
    /// let created = client.credentials().public_key().create(pem).friendly_name("signing").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, public_key: impl Into<String>) -> CreateCredentialPublicKey {
        CreateCredentialPublicKey::new(self.client.clone(), public_key.into())
    }

    /// Fetches a public-key credential (`GET /v1/Credentials/PublicKeys/{Sid}`, operation `FetchCredentialPublicKey`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let sid = "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse()?;
    /// let credential = client.credentials().public_key().fetch(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn fetch(&self, sid: CredentialSid) -> FetchCredentialPublicKey {
        FetchCredentialPublicKey::new(self.client.clone(), sid)
    }

    /// Updates the friendly name of a public-key credential (`POST /v1/Credentials/PublicKeys/{Sid}`, operation
    /// `UpdateCredentialPublicKey`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let updated = client.credentials().public_key().update(sid).friendly_name("renamed").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, sid: CredentialSid) -> UpdateCredentialPublicKey {
        UpdateCredentialPublicKey::new(self.client.clone(), sid)
    }

    /// Deletes a public-key credential (`DELETE /v1/Credentials/PublicKeys/{Sid}`, operation `DeleteCredentialPublicKey`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// client.credentials().public_key().delete(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, sid: CredentialSid) -> DeleteCredentialPublicKey {
        DeleteCredentialPublicKey::new(self.client.clone(), sid)
    }
}
