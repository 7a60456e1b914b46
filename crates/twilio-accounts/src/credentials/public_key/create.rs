//! `CreateCredentialPublicKey`: `POST /v1/Credentials/PublicKeys`.

use bytes::Bytes;
use http::Request;
use twilio_types::AccountSid;

use crate::client::Client;
use crate::credentials::common::{self, PUBLIC_KEY_PATH};
use crate::error::Error;
use crate::model::CredentialPublicKey;
use crate::request::check_text;
use crate::response;

/// Creates a public-key credential. From `client.credentials().public_key().create(..)`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let pem = std::fs::read_to_string("key.pem")?;
/// let created = client.credentials().public_key().create(pem).friendly_name("signing").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct CreateCredentialPublicKey {
    client: Client,
    public_key: String,
    friendly_name: Option<String>,
    account_sid: Option<AccountSid>,
}

impl CreateCredentialPublicKey {
    pub(crate) fn new(client: Client, public_key: String) -> Self {
        Self {
            client,
            public_key,
            friendly_name: None,
            account_sid: None,
        }
    }

    /// A descriptive name, up to 64 characters (`FriendlyName`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, pem: String) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().create(pem).friendly_name("backups").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn friendly_name(mut self, friendly_name: impl Into<String>) -> Self {
        self.friendly_name = Some(friendly_name.into());
        self
    }

    /// The subaccount to associate the credential with (`AccountSid`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, pem: String) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().create(pem).account_sid("ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".parse().expect("a valid SID")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn account_sid(mut self, account_sid: AccountSid) -> Self {
        self.account_sid = Some(account_sid);
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        check_text("public_key", &self.public_key, true)?;
        common::create_request(
            PUBLIC_KEY_PATH,
            "PublicKey",
            &self.public_key,
            self.friendly_name.as_deref(),
            self.account_sid.as_ref(),
        )
    }

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`] for invalid input (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, pem: String) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().create(pem).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CredentialPublicKey, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "CreateCredentialPublicKey", request).await
    }
}
