//! `CreateSecondaryAuthToken`: `POST /v1/AuthTokens/Secondary`.

use crate::model::SecondaryAuthToken;

suppress_email_operation! {
    /// Creates a secondary Auth Token. From `client.secondary_auth_token().create()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let created = client.secondary_auth_token().create().suppress_email_notification(true).send().await?;
    /// let token = created.secondary_auth_token.expect("Twilio returns the token");
    /// # Ok(()) }
    /// ```
    pub struct CreateSecondaryAuthToken => POST "/v1/AuthTokens/Secondary", flag in Body;

    /// Whether Twilio skips the e-mail to the account's owners and administrators about this
    /// change (form field `SuppressEmailNotification`; not sent unless set).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().create().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    fn suppress_email_notification;

    /// Sends the request.
    ///
    /// # Errors
    /// Any [`Error`](crate::Error): transport, API error (such as 401 for bad credentials), or
    /// a response that does not decode.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().create().send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> SecondaryAuthToken = response::call;
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
