//! `FetchCredentialPublicKey`: `GET /v1/Credentials/PublicKeys/{Sid}`.

use bytes::Bytes;
use http::Request;
use twilio_types::CredentialSid;

use crate::client::Client;
use crate::credentials::common::{self, PUBLIC_KEY_PATH};
use crate::error::Error;
use crate::model::CredentialPublicKey;
use crate::response;

/// Fetchs a public-key credential by SID. From `client.credentials().public_key().fetch(sid)`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
/// let credential = client.credentials().public_key().fetch(sid).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct FetchCredentialPublicKey {
    client: Client,
    sid: CredentialSid,
}

impl FetchCredentialPublicKey {
    pub(crate) fn new(client: Client, sid: CredentialSid) -> Self {
        Self { client, sid }
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        common::fetch_request(PUBLIC_KEY_PATH, &self.sid)
    }

    /// Sends the request.
    ///
    /// # Errors
    /// Any [`Error`] of the call (an [`Error::Api`] with status 404 when the SID is unknown).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().fetch(sid).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CredentialPublicKey, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "FetchCredentialPublicKey", request).await
    }
}
