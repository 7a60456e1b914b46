//! `DeleteSecondaryAuthToken`: `DELETE /v1/AuthTokens/Secondary`.

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::request::ParamsIn;
use crate::response;

/// Deletes the secondary Auth Token. From `client.secondary_auth_token().delete()`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// client.secondary_auth_token().delete().send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct DeleteSecondaryAuthToken {
    client: Client,
    suppress_email_notification: Option<bool>,
}

impl DeleteSecondaryAuthToken {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            suppress_email_notification: None,
        }
    }

    /// Whether Twilio skips the e-mail about this change (query parameter
    /// `SuppressEmailNotification` on this operation; not sent unless set).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().delete().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn suppress_email_notification(mut self, suppress: bool) -> Self {
        self.suppress_email_notification = Some(suppress);
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        super::suppress_email_request(
            Method::DELETE,
            "/v1/AuthTokens/Secondary",
            self.suppress_email_notification,
            ParamsIn::Query,
        )
    }

    /// Sends the request; `Ok(())` on `204 No Content`.
    ///
    /// # Errors
    /// Any [`Error`]: transport or API error (such as 404 when there is no secondary token).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().delete().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<(), Error> {
        let request = self.build_request()?;
        response::call_empty(&self.client, "DeleteSecondaryAuthToken", request).await
    }
}

#[cfg(test)]
mod tests {
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn flag_is_a_query_parameter() {
        let r = client()
            .secondary_auth_token()
            .delete()
            .suppress_email_notification(false)
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::DELETE);
        assert_eq!(r.uri().path(), "/v1/AuthTokens/Secondary");
        assert_eq!(query(&r), pairs(&[("SuppressEmailNotification", "false")]));
        assert_no_body(&r);
    }

    #[test]
    fn without_flag_no_query() {
        let r = client()
            .secondary_auth_token()
            .delete()
            .build_request()
            .unwrap();
        assert_eq!(r.uri(), "/v1/AuthTokens/Secondary");
        assert_no_body(&r);
    }
}
