//! Auth Tokens: the secondary token (`/v1/AuthTokens/Secondary`) and its promotion to primary
//! (`/v1/AuthTokens/Promote`).
//!
//! ```no_run
//! # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
//! let secondary = client.secondary_auth_token().create().suppress_email_notification(true).send().await?;
//! // … deploy the new token, then:
//! let promoted = client.auth_token_promotion().update().send().await?;
//! # Ok(()) }
//! ```

/// Writes one auth-token operation: a builder holding the client and the optional
/// `SuppressEmailNotification` flag, its setter, its pure `build_request` and `send`. The three
/// operations differ only in method, path, where the flag goes and what comes back, so each
/// file says just that (with its docs), and a fix here fixes all three.
macro_rules! suppress_email_operation {
    (
        $(#[$doc:meta])*
        pub struct $Name:ident => $method:ident $path:literal, flag in $place:ident;
        $(#[$setter_doc:meta])*
        fn suppress_email_notification;
        $(#[$send_doc:meta])*
        async fn send -> $Out:ty = response::$call:ident;
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Name {
            client: $crate::client::Client,
            suppress_email_notification: Option<bool>,
        }

        impl $Name {
            pub(crate) fn new(client: $crate::client::Client) -> Self {
                Self {
                    client,
                    suppress_email_notification: None,
                }
            }

            $(#[$setter_doc])*
            pub fn suppress_email_notification(mut self, suppress: bool) -> Self {
                self.suppress_email_notification = Some(suppress);
                self
            }

            pub(crate) fn build_request(
                &self,
            ) -> Result<http::Request<bytes::Bytes>, $crate::error::Error> {
                static PATH: $crate::request::FixedPath = $crate::request::FixedPath::new($path);
                super::suppress_email_request(
                    http::Method::$method,
                    &PATH,
                    self.suppress_email_notification,
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

mod promotion_update;
mod secondary_create;
mod secondary_delete;

pub use promotion_update::UpdateAuthTokenPromotion;
pub use secondary_create::CreateSecondaryAuthToken;
pub use secondary_delete::DeleteSecondaryAuthToken;

use bytes::Bytes;
use http::{Method, Request};

use crate::client::Client;
use crate::error::Error;
use crate::form::Form;
use crate::request::{self, FixedPath, ParamsIn};

/// The request of each of the three operations: their only parameter is the optional
/// `SuppressEmailNotification` flag, sent only when set, in the place the spec gives it.
fn suppress_email_request(
    method: Method,
    path: &'static FixedPath,
    suppress_email_notification: Option<bool>,
    place: ParamsIn,
) -> Result<Request<Bytes>, Error> {
    let mut params = Form::new();
    params.push_bool("SuppressEmailNotification", suppress_email_notification);
    request::build_with(method, path, &params, place)
}

/// The secondary Auth Token, from [`Client::secondary_auth_token`].
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// client.secondary_auth_token().delete().send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SecondaryAuthTokenResource {
    client: Client,
}

impl SecondaryAuthTokenResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Creates a secondary Auth Token (`POST /v1/AuthTokens/Secondary`, operation
    /// `CreateSecondaryAuthToken`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let created = client.secondary_auth_token().create().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateSecondaryAuthToken {
        CreateSecondaryAuthToken::new(self.client.clone())
    }

    /// Deletes the secondary Auth Token (`DELETE /v1/AuthTokens/Secondary`, operation
    /// `DeleteSecondaryAuthToken`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// client.secondary_auth_token().delete().suppress_email_notification(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self) -> DeleteSecondaryAuthToken {
        DeleteSecondaryAuthToken::new(self.client.clone())
    }
}

/// Auth Token promotion, from [`Client::auth_token_promotion`].
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// client.auth_token_promotion().update().send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthTokenPromotionResource {
    client: Client,
}

impl AuthTokenPromotionResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Promotes the secondary Auth Token to primary (`POST /v1/AuthTokens/Promote`, operation
    /// `UpdateAuthTokenPromotion`). The old primary token stops working at once.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let promoted = client.auth_token_promotion().update().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self) -> UpdateAuthTokenPromotion {
        UpdateAuthTokenPromotion::new(self.client.clone())
    }
}
