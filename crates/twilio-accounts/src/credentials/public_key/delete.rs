//! `DeleteCredentialPublicKey`: `DELETE /v1/Credentials/PublicKeys/{Sid}`.

use bytes::Bytes;
use http::Request;
use twilio_types::CredentialSid;

use crate::client::Client;
use crate::credentials::common::{self, PUBLIC_KEY_PATH};
use crate::error::Error;
use crate::response;

/// Deletes a public-key credential by SID. From `client.credentials().public_key().delete(sid)`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
/// client.credentials().public_key().delete(sid).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct DeleteCredentialPublicKey {
    client: Client,
    sid: CredentialSid,
}

impl DeleteCredentialPublicKey {
    pub(crate) fn new(client: Client, sid: CredentialSid) -> Self {
        Self { client, sid }
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        common::delete_request(PUBLIC_KEY_PATH, &self.sid)
    }

    /// Sends the request; `Ok(())` on `204 No Content`.
    ///
    /// # Errors
    /// Any [`Error`] of the call (an [`Error::Api`] with status 404 when the SID is unknown).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().delete(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<(), Error> {
        let request = self.build_request()?;
        response::call_empty(&self.client, "DeleteCredentialPublicKey", request).await
    }
}
