//! `UpdateAuthTokenPromotion`: `POST /v1/AuthTokens/Promote`.

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::model::AuthTokenPromotion;
use crate::request::ParamsIn;
use crate::response;

/// Promotes the secondary Auth Token to primary. From `client.auth_token_promotion().update()`.
///
/// After success the old primary token no longer authenticates: switch the client's
/// credentials (see [`Client::shared_credentials`]) to the promoted token.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let promoted = client.auth_token_promotion().update().suppress_email_notification(true).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct UpdateAuthTokenPromotion {
    client: Client,
    suppress_email_notification: Option<bool>,
}

impl UpdateAuthTokenPromotion {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            suppress_email_notification: None,
        }
    }

    /// Whether Twilio skips the e-mail about this change (form field
    /// `SuppressEmailNotification`; not sent unless set).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.auth_token_promotion().update().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn suppress_email_notification(mut self, suppress: bool) -> Self {
        self.suppress_email_notification = Some(suppress);
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        super::suppress_email_request(
            Method::POST,
            "/v1/AuthTokens/Promote",
            self.suppress_email_notification,
            ParamsIn::Body,
        )
    }

    /// Sends the request.
    ///
    /// # Errors
    /// Any [`Error`]: transport, API error (404 when there is no secondary token), or a
    /// response that does not decode.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.auth_token_promotion().update().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<AuthTokenPromotion, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "UpdateAuthTokenPromotion", request).await
    }
}

#[cfg(test)]
mod tests {
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn empty_and_with_flag() {
        let r = client()
            .auth_token_promotion()
            .update()
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri(), "/v1/AuthTokens/Promote");
        assert_no_body(&r);
        let r = client()
            .auth_token_promotion()
            .update()
            .suppress_email_notification(true)
            .build_request()
            .unwrap();
        assert_form(&r, &[("SuppressEmailNotification", "true")]);
    }
}
