//! `CreateSafelist`: `POST /v1/SafeList/Numbers`.

use crate::model::Safelist;

phone_number_operation! {
    /// Adds a number or 1k prefix to the SafeList. From `client.safelist().create(phone_number)`.
    ///
    /// The phone number goes in the `PhoneNumber` form field.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let entry = client.safelist().create("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub struct CreateSafelist => POST, phone number in Body;

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the phone number is not `+` and 1 to 15
    /// digits (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.safelist().create("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> Safelist = response::call;
}
