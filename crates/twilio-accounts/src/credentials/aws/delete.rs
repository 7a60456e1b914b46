//! `DeleteCredentialAws`: `DELETE /v1/Credentials/AWS/{Sid}`.

use bytes::Bytes;
use http::Request;
use twilio_types::CredentialSid;

use crate::client::Client;
use crate::credentials::common::{self, AWS_PATH};
use crate::error::Error;
use crate::response;

/// Deletes an AWS credential by SID. From `client.credentials().aws().delete(sid)`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
/// client.credentials().aws().delete(sid).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct DeleteCredentialAws {
    client: Client,
    sid: CredentialSid,
}

impl DeleteCredentialAws {
    pub(crate) fn new(client: Client, sid: CredentialSid) -> Self {
        Self { client, sid }
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        common::delete_request(AWS_PATH, &self.sid)
    }

    /// Sends the request; `Ok(())` on `204 No Content`.
    ///
    /// # Errors
    /// Any [`Error`] of the call (an [`Error::Api`] with status 404 when the SID is unknown).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().aws().delete(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<(), Error> {
        let request = self.build_request()?;
        response::call_empty(&self.client, "DeleteCredentialAws", request).await
    }
}
