//! `FetchMessagingGeopermissions`: `GET /v1/Messaging/GeoPermissions`.

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::form::Form;
use crate::model::MessagingGeopermissions;
use crate::{request, response};

/// Reads messaging geo permissions. From `client.messaging_geopermissions().fetch()`.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let result = client.messaging_geopermissions().fetch().country_code("IN,PK,US").send().await?;
/// for p in result.permission_entries()? {
///     println!("{:?}: {:?}", p.country_code, p.enabled);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct FetchMessagingGeopermissions {
    client: Client,
    country_code: Option<String>,
}

impl FetchMessagingGeopermissions {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            country_code: None,
        }
    }

    /// Only these countries: one ISO code or a comma-separated list such as `IN,PK,US`
    /// (query parameter `CountryCode`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.messaging_geopermissions().fetch().country_code("IN,PK,US").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn country_code(mut self, country_code: impl Into<String>) -> Self {
        self.country_code = Some(country_code.into());
        self
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        let mut query = Form::new();
        if let Some(code) = &self.country_code {
            request::check_text("country_code", code, false)?;
            query.push("CountryCode", code.as_str());
        }
        request::build(Method::GET, &super::PATH, &query, &Form::new())
    }

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`] for an empty country code (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.messaging_geopermissions().fetch().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<MessagingGeopermissions, Error> {
        let request = self.build_request()?;
        response::call(&self.client, "FetchMessagingGeopermissions", request).await
    }
}

#[cfg(test)]
mod tests {
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn with_and_without_filter() {
        let r = client()
            .messaging_geopermissions()
            .fetch()
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::GET);
        assert_eq!(r.uri(), "/v1/Messaging/GeoPermissions");
        assert_no_body(&r);
        let r = client()
            .messaging_geopermissions()
            .fetch()
            .country_code("IN,PK,US")
            .build_request()
            .unwrap();
        assert_eq!(
            r.uri(),
            "/v1/Messaging/GeoPermissions?CountryCode=IN%2CPK%2CUS"
        );
        assert_eq!(query(&r), pairs(&[("CountryCode", "IN,PK,US")]));
    }
}
