//! The SafeList (`/v1/SafeList/Numbers`): phone numbers and 1k prefixes that are always
//! allowed.
//!
//! ```no_run
//! # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
//! client.safelist().create("+18001234567").send().await?;
//! let entry = client.safelist().fetch("+18001234567").send().await?;
//! client.safelist().delete("+18001234567").send().await?;
//! # Ok(()) }
//! ```

/// Writes one SafeList operation: a builder holding the client and the phone number, its
/// pure `build_request` and `send`. The three operations differ only in method, where the
/// number goes and what comes back, so each file says just that (with its docs).
macro_rules! phone_number_operation {
    (
        $(#[$doc:meta])*
        pub struct $Name:ident => $method:ident, phone number in $place:ident;
        $(#[$send_doc:meta])*
        async fn send -> $Out:ty = response::$call:ident;
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Name {
            client: $crate::client::Client,
            phone_number: String,
        }

        impl $Name {
            pub(crate) fn new(client: $crate::client::Client, phone_number: String) -> Self {
                Self {
                    client,
                    phone_number,
                }
            }

            pub(crate) fn build_request(
                &self,
            ) -> Result<http::Request<bytes::Bytes>, $crate::error::Error> {
                super::phone_number_request(
                    http::Method::$method,
                    &self.phone_number,
                    $crate::request::ParamsIn::$place,
                )
            }

            $(#[$send_doc])*
            pub async fn send(self) -> Result<$Out, $crate::error::Error> {
                let request = self.build_request()?;
                $crate::response::$call(&self.client, stringify!($Name), request).await
            }
        }
    };
}

mod create;
mod delete;
mod fetch;

pub use create::CreateSafelist;
pub use delete::DeleteSafelist;
pub use fetch::FetchSafelist;

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::form::Form;
use crate::request::{self, FixedPath, ParamsIn};

/// `/v1/SafeList/Numbers`.
static PATH: FixedPath = FixedPath::new("/v1/SafeList/Numbers");

/// Checks a SafeList phone number or prefix: `+` then 1 to 15 digits.
fn check_phone_number(value: &str) -> Result<(), Error> {
    let digits = value.strip_prefix('+').unwrap_or("");
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_argument(
            "phone_number",
            "must be an E.164 number or 1k prefix: `+` followed by 1 to 15 digits",
        ));
    }
    Ok(())
}

/// The request of each of the three operations: the checked phone number as `PhoneNumber`,
/// in the place the spec gives it (form body on create, query on fetch and delete).
fn phone_number_request(
    method: Method,
    phone_number: &str,
    place: ParamsIn,
) -> Result<Request<Bytes>, Error> {
    check_phone_number(phone_number)?;
    let mut params = Form::new();
    params.push("PhoneNumber", phone_number);
    request::build_with(method, &PATH, &params, place)
}

/// The SafeList, from [`Client::safelist`].
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let entry = client.safelist().create("+18001234567").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SafelistResource {
    client: Client,
}

impl SafelistResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Adds a number or 1k prefix (`POST /v1/SafeList/Numbers`, operation `CreateSafelist`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let entry = client.safelist().create("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, phone_number: impl Into<String>) -> CreateSafelist {
        CreateSafelist::new(self.client.clone(), phone_number.into())
    }

    /// Checks whether a number or prefix is on the SafeList (`GET /v1/SafeList/Numbers`,
    /// operation `FetchSafelist`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let entry = client.safelist().fetch("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn fetch(&self, phone_number: impl Into<String>) -> FetchSafelist {
        FetchSafelist::new(self.client.clone(), phone_number.into())
    }

    /// Removes a number or prefix (`DELETE /v1/SafeList/Numbers`, operation `DeleteSafelist`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// client.safelist().delete("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, phone_number: impl Into<String>) -> DeleteSafelist {
        DeleteSafelist::new(self.client.clone(), phone_number.into())
    }
}

#[cfg(test)]
mod tests {
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn create_is_a_form_post() {
        let r = client()
            .safelist()
            .create("+18001234567")
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri(), "/v1/SafeList/Numbers");
        assert_form(&r, &[("PhoneNumber", "+18001234567")]);
        assert_eq!(r.body().as_ref(), b"PhoneNumber=%2B18001234567");
    }

    #[test]
    fn fetch_and_delete_use_the_query() {
        let r = client().safelist().fetch("+1800").build_request().unwrap();
        assert_eq!(r.method(), http::Method::GET);
        assert_eq!(r.uri(), "/v1/SafeList/Numbers?PhoneNumber=%2B1800");
        assert_no_body(&r);
        let r = client().safelist().delete("+1800").build_request().unwrap();
        assert_eq!(r.method(), http::Method::DELETE);
        assert_eq!(query(&r), pairs(&[("PhoneNumber", "+1800")]));
        assert_no_body(&r);
    }

    #[test]
    fn phone_numbers_are_checked() {
        for bad in ["", "18001234567", "+", "+1 800", "+1234567890123456", "+1a"] {
            let e = client().safelist().create(bad).build_request().unwrap_err();
            assert!(e.to_string().contains("phone_number"), "{bad}");
            assert!(client().safelist().fetch(bad).build_request().is_err());
            assert!(client().safelist().delete(bad).build_request().is_err());
        }
    }
}
