//! `DeleteSafelist`: `DELETE /v1/SafeList/Numbers`.

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::request::ParamsIn;
use crate::response;

/// Removes a number or prefix from the SafeList. From `client.safelist().delete(phone_number)`.
///
/// The phone number goes in the `PhoneNumber` query parameter.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// client.safelist().delete("+18001234567").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct DeleteSafelist {
    client: Client,
    phone_number: String,
}

impl DeleteSafelist {
    pub(crate) fn new(client: Client, phone_number: String) -> Self {
        Self {
            client,
            phone_number,
        }
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        super::phone_number_request(Method::DELETE, &self.phone_number, ParamsIn::Query)
    }

    /// Sends the request; `Ok(())` on `204 No Content`.
    ///
    /// # Errors
    /// [`Error::Build`] when the phone number is not `+` and 1 to 15 digits (nothing sent),
    /// or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.safelist().delete("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<(), Error> {
        let request = self.build_request()?;
        response::call_empty(&self.client, "DeleteSafelist", request).await
    }
}
