//! `UpdateCredentialPublicKey`: `POST /v1/Credentials/PublicKeys/{Sid}`.

use bytes::Bytes;
use http::Request;
use twilio_types::CredentialSid;

use crate::client::Client;
use crate::credentials::common::{self, PUBLIC_KEY_PATH};
use crate::error::Error;
use crate::model::CredentialPublicKey;
use crate::response;

/// Updates the friendly name of a public-key credential. From
/// `client.credentials().public_key().update(sid)`. Without `friendly_name` the request has no
/// body (Twilio then changes nothing).
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
/// let updated = client.credentials().public_key().update(sid).friendly_name("renamed").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct UpdateCredentialPublicKey {
    client: Client,
    sid: CredentialSid,
    friendly_name: Option<String>,
}

impl UpdateCredentialPublicKey {
    pub(crate) fn new(client: Client, sid: CredentialSid) -> Self {
        Self {
            client,
            sid,
            friendly_name: None,
        }
    }

    /// The new descriptive name, up to 64 characters (`FriendlyName`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().update(sid).friendly_name("backups").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn friendly_name(mut self, friendly_name: impl Into<String>) -> Self {
        self.friendly_name = Some(friendly_name.into());
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        common::update_request(PUBLIC_KEY_PATH, &self.sid, self.friendly_name.as_deref())
    }

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`] for a name over 64 characters (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().update(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CredentialPublicKey, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "UpdateCredentialPublicKey", request).await
    }
}
