//! `CreateSecondaryAuthToken`: `POST /v1/AuthTokens/Secondary`.

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::model::SecondaryAuthToken;
use crate::request::ParamsIn;
use crate::response;

/// Creates a secondary Auth Token. From `client.secondary_auth_token().create()`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let created = client.secondary_auth_token().create().suppress_email_notification(true).send().await?;
/// let token = created.secondary_auth_token.expect("Twilio returns the token");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct CreateSecondaryAuthToken {
    client: Client,
    suppress_email_notification: Option<bool>,
}

impl CreateSecondaryAuthToken {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            suppress_email_notification: None,
        }
    }

    /// Whether Twilio skips the e-mail to the account's owners and administrators about this
    /// change (form field `SuppressEmailNotification`; not sent unless set).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().create().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn suppress_email_notification(mut self, suppress: bool) -> Self {
        self.suppress_email_notification = Some(suppress);
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        super::suppress_email_request(
            Method::POST,
            "/v1/AuthTokens/Secondary",
            self.suppress_email_notification,
            ParamsIn::Body,
        )
    }

    /// Sends the request.
    ///
    /// # Errors
    /// Any [`Error`]: transport, API error (such as 401 for bad credentials), or a response
    /// that does not decode.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().create().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<SecondaryAuthToken, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "CreateSecondaryAuthToken", request).await
    }
}

#[cfg(test)]
mod tests {
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn without_flag_sends_no_body() {
        let r = client()
            .secondary_auth_token()
            .create()
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri(), "/v1/AuthTokens/Secondary");
        assert_no_body(&r);
    }

    #[test]
    fn flag_is_a_form_field() {
        let r = client()
            .secondary_auth_token()
            .create()
            .suppress_email_notification(true)
            .build_request()
            .unwrap();
        assert_form(&r, &[("SuppressEmailNotification", "true")]);
        assert_eq!(r.uri().query(), None);
    }
}
