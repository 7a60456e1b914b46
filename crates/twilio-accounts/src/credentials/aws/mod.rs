//! Aws credentials (`/v1/Credentials/AWS`): `list`, `create`, `fetch`, `update`, `delete`.
//!
//! ```no_run
//! # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
//! let one = client.credentials().aws().fetch(sid).send().await?;
//! client.credentials().aws().update(sid).friendly_name("renamed").send().await?;
//! client.credentials().aws().delete(sid).send().await?;
//! # Ok(()) }
//! ```

mod create;
mod delete;
mod fetch;
mod list;
mod update;

pub use create::CreateCredentialAws;
pub use delete::DeleteCredentialAws;
pub use fetch::FetchCredentialAws;
pub use list::ListCredentialAws;
pub use update::UpdateCredentialAws;

use twilio_types::CredentialSid;

use super::AwsCredentials;
use crate::client::Client;

/// Aws credentials, from `client.credentials().aws()`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let page = client.credentials().aws().list().page_size(10).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AwsResource {
    client: Client,
}

impl AwsResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Lists AWS credentials (`GET /v1/Credentials/AWS`, operation `ListCredentialAws`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let first_page = client.credentials().aws().list().page_size(50).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCredentialAws {
        ListCredentialAws::new(self.client.clone())
    }

    /// Creates an AWS credential (`POST /v1/Credentials/AWS`, operation `CreateCredentialAws`).
    /// `credentials` is the AWS key pair (a secret, sent as the `Credentials` form field).
    ///
    /// ```no_run
    /// use twilio_accounts::credentials::AwsCredentials;
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let secret = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?;
    /// let created = client.credentials().aws().create(secret).friendly_name("backups").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, credentials: AwsCredentials) -> CreateCredentialAws {
        CreateCredentialAws::new(self.client.clone(), credentials)
    }

    /// Fetches an AWS credential (`GET /v1/Credentials/AWS/{Sid}`, operation `FetchCredentialAws`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let sid = "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse()?;
    /// let credential = client.credentials().aws().fetch(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn fetch(&self, sid: CredentialSid) -> FetchCredentialAws {
        FetchCredentialAws::new(self.client.clone(), sid)
    }

    /// Updates the friendly name of an AWS credential (`POST /v1/Credentials/AWS/{Sid}`, operation
    /// `UpdateCredentialAws`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let updated = client.credentials().aws().update(sid).friendly_name("renamed").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, sid: CredentialSid) -> UpdateCredentialAws {
        UpdateCredentialAws::new(self.client.clone(), sid)
    }

    /// Deletes an AWS credential (`DELETE /v1/Credentials/AWS/{Sid}`, operation `DeleteCredentialAws`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// client.credentials().aws().delete(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, sid: CredentialSid) -> DeleteCredentialAws {
        DeleteCredentialAws::new(self.client.clone(), sid)
    }
}
