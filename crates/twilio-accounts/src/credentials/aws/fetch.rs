//! `FetchCredentialAws`: `GET /v1/Credentials/AWS/{Sid}`.

use bytes::Bytes;
use http::Request;
use twilio_types::CredentialSid;

use crate::client::Client;
use crate::credentials::common::{self, AWS_PATH};
use crate::error::Error;
use crate::model::CredentialAws;
use crate::response;

/// Fetchs an AWS credential by SID. From `client.credentials().aws().fetch(sid)`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
/// let credential = client.credentials().aws().fetch(sid).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct FetchCredentialAws {
    client: Client,
    sid: CredentialSid,
}

impl FetchCredentialAws {
    pub(crate) fn new(client: Client, sid: CredentialSid) -> Self {
        Self { client, sid }
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        common::fetch_request(AWS_PATH, &self.sid)
    }

    /// Sends the request.
    ///
    /// # Errors
    /// Any [`Error`] of the call (an [`Error::Api`] with status 404 when the SID is unknown).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().aws().fetch(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CredentialAws, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "FetchCredentialAws", request).await
    }
}
