//! `FetchSafelist`: `GET /v1/SafeList/Numbers`.

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::model::Safelist;
use crate::request::ParamsIn;
use crate::response;

/// Checks whether a number or prefix is on the SafeList (an [`Error::Api`] with status 404 when it is not). From `client.safelist().fetch(phone_number)`.
///
/// The phone number goes in the `PhoneNumber` query parameter.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let entry = client.safelist().fetch("+18001234567").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct FetchSafelist {
    client: Client,
    phone_number: String,
}

impl FetchSafelist {
    pub(crate) fn new(client: Client, phone_number: String) -> Self {
        Self {
            client,
            phone_number,
        }
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        super::phone_number_request(Method::GET, &self.phone_number, ParamsIn::Query)
    }

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`] when the phone number is not `+` and 1 to 15 digits (nothing sent),
    /// or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.safelist().fetch("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Safelist, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "FetchSafelist", request).await
    }
}
