//! `FetchSafelist`: `GET /v1/SafeList/Numbers`.

use crate::model::Safelist;

phone_number_operation! {
    /// Checks whether a number or prefix is on the SafeList (an
    /// [`Error::Api`](crate::Error::Api) with status 404 when it is not). From
    /// `client.safelist().fetch(phone_number)`.
    ///
    /// The phone number goes in the `PhoneNumber` query parameter.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let entry = client.safelist().fetch("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub struct FetchSafelist => GET, phone number in Query;

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the phone number is not `+` and 1 to 15
    /// digits (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.safelist().fetch("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> Safelist = response::call;
}
