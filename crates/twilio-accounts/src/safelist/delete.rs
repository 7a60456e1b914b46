//! `DeleteSafelist`: `DELETE /v1/SafeList/Numbers`.

phone_number_operation! {
    /// Removes a number or prefix from the SafeList. From `client.safelist().delete(phone_number)`.
    ///
    /// The phone number goes in the `PhoneNumber` query parameter.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// client.safelist().delete("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub struct DeleteSafelist => DELETE, phone number in Query;

    /// Sends the request; `Ok(())` on `204 No Content`.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the phone number is not `+` and 1 to 15
    /// digits (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.safelist().delete("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> () = response::call_empty;
}
