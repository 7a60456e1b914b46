//! `CreateCredentialAws`: `POST /v1/Credentials/AWS`.

use bytes::Bytes;
use http::Request;
use twilio_types::AccountSid;

use crate::client::Client;
use crate::credentials::AwsCredentials;
use crate::credentials::common::{self, AWS_PATH};
use crate::error::Error;
use crate::model::CredentialAws;
use crate::response;

/// Creates an AWS credential. From `client.credentials().aws().create(..)`.
///
/// ```no_run
/// use twilio_accounts::credentials::AwsCredentials;
/// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let secret = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?;
/// let created = client.credentials().aws().create(secret).friendly_name("backups").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct CreateCredentialAws {
    client: Client,
    credentials: AwsCredentials,
    friendly_name: Option<String>,
    account_sid: Option<AccountSid>,
}

impl CreateCredentialAws {
    pub(crate) fn new(client: Client, credentials: AwsCredentials) -> Self {
        Self {
            client,
            credentials,
            friendly_name: None,
            account_sid: None,
        }
    }

    /// A descriptive name, up to 64 characters (`FriendlyName`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, secret: twilio_accounts::credentials::AwsCredentials) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().aws().create(secret).friendly_name("backups").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn friendly_name(mut self, friendly_name: impl Into<String>) -> Self {
        self.friendly_name = Some(friendly_name.into());
        self
    }

    /// The subaccount to associate the credential with (`AccountSid`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, secret: twilio_accounts::credentials::AwsCredentials) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().aws().create(secret).account_sid("ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".parse().expect("a valid SID")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn account_sid(mut self, account_sid: AccountSid) -> Self {
        self.account_sid = Some(account_sid);
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        common::create_request(
            AWS_PATH,
            "Credentials",
            self.credentials.expose_secret(),
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
    /// # async fn run(client: twilio_accounts::Client, secret: twilio_accounts::credentials::AwsCredentials) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().aws().create(secret).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CredentialAws, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "CreateCredentialAws", request).await
    }
}
