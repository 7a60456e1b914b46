//! Stored credentials (`/v1/Credentials`): AWS keys ([`aws`]) and public keys
//! ([`public_key`]), each with `list`, `create`, `fetch`, `update` and `delete`.
//!
//! ```no_run
//! use twilio_accounts::credentials::AwsCredentials;
//! # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
//! let secret = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?;
//! let created = client.credentials().aws().create(secret).friendly_name("backups").send().await?;
//! # Ok(()) }
//! ```

mod resource;

pub mod aws;
mod aws_credentials;
mod common;
pub mod public_key;

pub use aws_credentials::AwsCredentials;

use crate::client::Client;

/// Stored credentials, from [`Client::credentials`].
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let aws = client.credentials().aws().list().send().await?;
/// let keys = client.credentials().public_key().list().send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CredentialsResource {
    client: Client,
}

impl CredentialsResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// AWS credentials (`/v1/Credentials/AWS`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let page = client.credentials().aws().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn aws(&self) -> aws::AwsResource {
        aws::AwsResource::new(self.client.clone())
    }

    /// Public-key credentials (`/v1/Credentials/PublicKeys`).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let page = client.credentials().public_key().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn public_key(&self) -> public_key::PublicKeyResource {
        public_key::PublicKeyResource::new(self.client.clone())
    }
}

#[cfg(test)]
mod tests {
    use twilio_types::{AccountSid, CredentialSid};

    use super::AwsCredentials;
    use crate::request::test_support::*;
    use crate::test_util::client;

    const SID: CredentialSid = CredentialSid::from_static("CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    const ACCOUNT: AccountSid = AccountSid::from_static("ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");

    #[test]
    fn aws_create_sends_the_secret_pair() {
        let secret = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalr/K7+MDENG=").unwrap();
        let builder = client()
            .credentials()
            .aws()
            .create(secret)
            .friendly_name("ci keys")
            .account_sid(ACCOUNT);
        assert!(!format!("{builder:?}").contains("wJalr"));
        let r = builder.build_request().unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri(), "/v1/Credentials/AWS");
        assert_form(
            &r,
            &[
                ("Credentials", "AKIAIOSFODNN7EXAMPLE:wJalr/K7+MDENG="),
                ("FriendlyName", "ci keys"),
                ("AccountSid", "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
            ],
        );
        // `+`, `/` and `=` are percent-encoded, spaces are %20.
        let raw = std::str::from_utf8(r.body()).unwrap();
        assert!(
            raw.contains("wJalr%2FK7%2BMDENG%3D") && raw.contains("ci%20keys"),
            "{raw}"
        );
    }

    #[test]
    fn public_key_create_encodes_pem() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0B+/=\n-----END PUBLIC KEY-----\n";
        let r = client()
            .credentials()
            .public_key()
            .create(pem)
            .build_request()
            .unwrap();
        assert_eq!(r.uri(), "/v1/Credentials/PublicKeys");
        assert_form(&r, &[("PublicKey", pem)]);
        let raw = std::str::from_utf8(r.body()).unwrap();
        assert!(
            raw.starts_with("PublicKey=-----BEGIN%20PUBLIC%20KEY-----%0AMIIB"),
            "{raw}"
        );
        assert!(raw.contains("%2B%2F%3D%0A"), "{raw}");
        let e = client()
            .credentials()
            .public_key()
            .create("  ")
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("public_key"));
    }

    #[test]
    fn instance_operations() {
        for (r, method) in [
            (
                client().credentials().aws().fetch(SID).build_request(),
                http::Method::GET,
            ),
            (
                client().credentials().aws().delete(SID).build_request(),
                http::Method::DELETE,
            ),
            (
                client().credentials().aws().update(SID).build_request(),
                http::Method::POST,
            ),
        ] {
            let r = r.unwrap();
            assert_eq!(r.method(), method);
            assert_eq!(
                r.uri(),
                "/v1/Credentials/AWS/CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            );
            assert_no_body(&r);
        }
        for (r, method) in [
            (
                client()
                    .credentials()
                    .public_key()
                    .fetch(SID)
                    .build_request(),
                http::Method::GET,
            ),
            (
                client()
                    .credentials()
                    .public_key()
                    .delete(SID)
                    .build_request(),
                http::Method::DELETE,
            ),
            (
                client()
                    .credentials()
                    .public_key()
                    .update(SID)
                    .build_request(),
                http::Method::POST,
            ),
        ] {
            let r = r.unwrap();
            assert_eq!(r.method(), method);
            assert_eq!(
                r.uri(),
                "/v1/Credentials/PublicKeys/CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            );
            assert_no_body(&r);
        }
        let r = client()
            .credentials()
            .public_key()
            .update(SID)
            .friendly_name("n")
            .build_request()
            .unwrap();
        assert_form(&r, &[("FriendlyName", "n")]);
        let e = client()
            .credentials()
            .aws()
            .update(SID)
            .friendly_name("x".repeat(65))
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("friendly_name"));
    }

    #[test]
    fn list_requests() {
        let aws = client().credentials().aws().list();
        let public_key = client().credentials().public_key().list();
        for (r, path) in [
            (aws.build_request(), "/v1/Credentials/AWS"),
            (public_key.build_request(), "/v1/Credentials/PublicKeys"),
        ] {
            let r = r.unwrap();
            assert_eq!(r.method(), http::Method::GET);
            assert_eq!(r.uri(), path);
            assert_no_body(&r);
        }
        let aws = client().credentials().aws().list();
        let public_key = client().credentials().public_key().list();
        for r in [
            aws.page_size(20).page(3).page_token("PA1").build_request(),
            public_key
                .page_size(20)
                .page(3)
                .page_token("PA1")
                .build_request(),
        ] {
            assert_eq!(
                query(&r.unwrap()),
                pairs(&[("PageSize", "20"), ("Page", "3"), ("PageToken", "PA1")])
            );
        }
    }

    #[test]
    fn list_page_size_is_checked() {
        let aws = client().credentials().aws().list().page_size(0);
        let public_key = client().credentials().public_key().list().page_size(1001);
        for e in [aws.build_request(), public_key.build_request()] {
            assert!(e.unwrap_err().to_string().contains("1000"));
        }
    }

    /// PEM-shaped text: base64 lines (with `+`, `/`, `=`) between the armour, `\n` or `\r\n`.
    fn pem() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            proptest::collection::vec("[A-Za-z0-9+/]{1,64}={0,2}", 1..8),
            prop_oneof![Just("\n"), Just("\r\n")],
        )
            .prop_map(|(lines, eol)| {
                let mut pem = format!("-----BEGIN PUBLIC KEY-----{eol}");
                for line in lines {
                    pem.push_str(&line);
                    pem.push_str(eol);
                }
                pem.push_str("-----END PUBLIC KEY-----");
                pem.push_str(eol);
                pem
            })
    }

    proptest::proptest! {
        /// What the builders put on the wire decodes back to exactly the values given:
        /// PEM keys, AWS secrets with `+ / =`, and any Unicode friendly name.
        #[test]
        fn create_bodies_round_trip(
            pem in pem(),
            name in "\\PC{1,64}",
            secret in "[A-Za-z0-9+/=]{1,40}",
        ) {
            let r = client()
                .credentials()
                .public_key()
                .create(pem.clone())
                .friendly_name(name.clone())
                .build_request()
                .unwrap();
            proptest::prop_assert_eq!(
                form_body(&r),
                pairs(&[("PublicKey", pem.as_str()), ("FriendlyName", name.as_str())])
            );
            let aws = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", secret.clone()).unwrap();
            let r = client().credentials().aws().create(aws).build_request().unwrap();
            let expected = format!("AKIAIOSFODNN7EXAMPLE:{secret}");
            proptest::prop_assert_eq!(form_body(&r), pairs(&[("Credentials", expected.as_str())]));
        }
    }
}
