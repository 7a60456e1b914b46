//! `DeleteSecondaryAuthToken`: `DELETE /v1/AuthTokens/Secondary`.

suppress_email_operation! {
    /// Deletes the secondary Auth Token. From `client.secondary_auth_token().delete()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// client.secondary_auth_token().delete().send().await?;
    /// # Ok(()) }
    /// ```
    pub struct DeleteSecondaryAuthToken => DELETE "/v1/AuthTokens/Secondary", flag in Query;

    /// Whether Twilio skips the e-mail about this change (query parameter
    /// `SuppressEmailNotification` on this operation; not sent unless set).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().delete().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    fn suppress_email_notification;

    /// Sends the request; `Ok(())` on `204 No Content`.
    ///
    /// # Errors
    /// Any [`Error`](crate::Error): transport or API error (such as 404 when there is no
    /// secondary token).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.secondary_auth_token().delete().send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> () = response::call_empty;
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
