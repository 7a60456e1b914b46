//! Unit-test support: a client whose transport answers every request with an empty 500, for
//! tests that only build requests.

use bytes::Bytes;
use http::{Request, Response};
use twilio_transport::{Credentials, RetryConfig};
use twilio_types::{AccountSid, AuthToken};

use crate::client::Client;

/// The token used by unit-test clients.
pub(crate) const TEST_TOKEN: &str = "unit-test-token-0123456789abcdef";

/// A client on `http://127.0.0.1:9` with a canned transport.
pub(crate) fn client() -> Client {
    let account = AccountSid::from_static("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let credentials =
        Credentials::from_auth_token(account, AuthToken::new(TEST_TOKEN).unwrap()).unwrap();
    let service = tower::service_fn(|_req: Request<Bytes>| async {
        Ok::<_, std::convert::Infallible>(
            Response::builder()
                .status(500)
                .body(http_body_util::Full::new(Bytes::new()))
                .unwrap(),
        )
    });
    Client::builder()
        .credentials(credentials)
        .base_url("http://127.0.0.1:9")
        .retry(RetryConfig::disabled())
        .transport(service)
        .build()
        .unwrap()
}
