//! `ListCredentialPublicKey`: `GET /v1/Credentials/PublicKeys`.

use crate::client::Client;
use crate::credentials::common::PUBLIC_KEY_PATH;
use crate::error::Error;
use crate::model::{CredentialPublicKey, Page};
use crate::pagination::{self, ItemStream, ListParams};

/// Lists public-key credentials: one page with [`send`](Self::send), or every item with
/// [`into_stream`](Self::into_stream). From `client.credentials().public_key().list()`.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let page = client.credentials().public_key().list().page_size(50).send().await?;
/// println!("{} on this page, next: {:?}", page.items.len(), page.meta.next_page_url);
///
/// let all: Vec<_> = client.credentials().public_key().list().limit(200).into_stream().try_collect().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited or the stream is polled"]
pub struct ListCredentialPublicKey {
    client: Client,
    params: ListParams,
}

impl ListCredentialPublicKey {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            params: ListParams::default(),
        }
    }

    /// Records per page (`PageSize`), 1 to 1000; checked before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().list().page_size(50).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.params.page_size = Some(page_size);
        self
    }

    /// The page index to start at (`Page`, client state only at Twilio).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().list().page(0).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn page(mut self, page: u32) -> Self {
        self.params.page = Some(page);
        self
    }

    /// The page token to start at (`PageToken`, as found in a page URL).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().list().page_token("PAaaaa").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn page_token(mut self, page_token: impl Into<String>) -> Self {
        self.params.page_token = Some(page_token.into());
        self
    }

    /// The most items to return in total (at least 1). Not sent; it caps the page returned
    /// by `send` and ends the stream, and sets `PageSize` when that is not set.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().list().limit(200).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn limit(mut self, limit: u32) -> Self {
        self.params.limit = Some(limit);
        self
    }

    #[cfg(test)]
    pub(crate) fn build_request(&self) -> Result<http::Request<bytes::Bytes>, Error> {
        self.params.first_request(PUBLIC_KEY_PATH)
    }

    /// Fetches the first page.
    ///
    /// # Errors
    /// [`Error::Build`] for an invalid `page_size` or `limit` (nothing sent), or any error of
    /// the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let result = client.credentials().public_key().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Page<CredentialPublicKey>, Error> {
        pagination::first_page(
            &self.client,
            "ListCredentialPublicKey",
            &self.params,
            PUBLIC_KEY_PATH,
        )
        .await
    }

    /// Every item, page after page, following `meta.next_page_url` lazily.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut items = client.credentials().public_key().list().page_size(100).into_stream();
    /// while let Some(item) = items.try_next().await? {
    ///     println!("{:?}", item.sid);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_stream(self) -> ItemStream<CredentialPublicKey> {
        pagination::item_stream(
            self.client,
            "ListCredentialPublicKey",
            &self.params,
            PUBLIC_KEY_PATH,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn request() {
        let r = client()
            .credentials()
            .public_key()
            .list()
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::GET);
        assert_eq!(r.uri(), "/v1/Credentials/PublicKeys");
        assert_no_body(&r);
        let r = client()
            .credentials()
            .public_key()
            .list()
            .page_size(20)
            .page(3)
            .page_token("PA1")
            .build_request()
            .unwrap();
        assert_eq!(
            query(&r),
            pairs(&[("PageSize", "20"), ("Page", "3"), ("PageToken", "PA1")])
        );
    }

    #[test]
    fn page_size_is_checked() {
        let e = client()
            .credentials()
            .public_key()
            .list()
            .page_size(0)
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("1000"));
    }
}
