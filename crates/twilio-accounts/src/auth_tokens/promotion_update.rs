//! `UpdateAuthTokenPromotion`: `POST /v1/AuthTokens/Promote`.

use crate::model::AuthTokenPromotion;

suppress_email_operation! {
    /// Promotes the secondary Auth Token to primary. From `client.auth_token_promotion().update()`.
    ///
    /// After success the old primary token no longer authenticates: switch the client's
    /// credentials (see [`Client::shared_credentials`](crate::Client::shared_credentials)) to
    /// the promoted token.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let promoted = client.auth_token_promotion().update().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub struct UpdateAuthTokenPromotion => POST "/v1/AuthTokens/Promote", flag in Body;

    /// Whether Twilio skips the e-mail about this change (form field
    /// `SuppressEmailNotification`; not sent unless set).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.auth_token_promotion().update().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    fn suppress_email_notification;

    /// Sends the request.
    ///
    /// # Errors
    /// Any [`Error`](crate::Error): transport, API error (404 when there is no secondary
    /// token), or a response that does not decode.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.auth_token_promotion().update().send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> AuthTokenPromotion = response::call;
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
