//! Paging: the parameters shared by the `list()` builders, and the lazy [`ItemStream`] that
//! follows `meta.next_page_url`.
//!
//! A next-page URL is followed only when its scheme, host and port are those of the client's
//! base URL and it has no user info (`user@`); anything else stops the stream with an
//! [`Error::Build`] and nothing is sent to it.

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::{Method, Request, Uri};

use crate::client::Client;
use crate::error::Error;
use crate::form::Form;
use crate::model::Page;
use crate::model::page::PageItem;
use crate::request;
use crate::response;

/// The largest page Twilio serves.
pub(crate) const MAX_PAGE_SIZE: u32 = 1000;

/// `PageSize`, `Page`, `PageToken`, the client-side `limit`, and a resume point.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListParams {
    pub(crate) page_size: Option<u32>,
    pub(crate) page: Option<u32>,
    pub(crate) page_token: Option<String>,
    pub(crate) limit: Option<u32>,
    /// A `next_page_url` saved from an earlier page: the listing starts there instead.
    pub(crate) resume_from: Option<String>,
}

impl ListParams {
    /// The query of the first page, after checking the values.
    pub(crate) fn query(&self) -> Result<Form, Error> {
        if let Some(size) = self.page_size
            && !(1..=MAX_PAGE_SIZE).contains(&size)
        {
            return Err(Error::invalid_argument(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE} (the API's limit), got {size}"),
            ));
        }
        if self.limit == Some(0) {
            return Err(Error::invalid_argument("limit", "must be at least 1"));
        }
        if let Some(token) = &self.page_token {
            request::check_text("page_token", token, false)?;
        }
        // With a limit below the default page size, ask for no more than needed.
        let page_size = self
            .page_size
            .or_else(|| self.limit.map(|l| l.min(MAX_PAGE_SIZE)));
        let mut query = Form::new();
        query.push_opt("PageSize", page_size.map(|n| n.to_string()));
        query.push_opt("Page", self.page.map(|n| n.to_string()));
        query.push_opt("PageToken", self.page_token.clone());
        Ok(query)
    }

    /// The request for the first page of `path`, or for the saved resume point (which
    /// carries its own paging parameters, so `page_size`, `page` and `page_token` are not
    /// added to it; they and `limit` are still checked).
    pub(crate) fn first_request(
        &self,
        client: &Client,
        path: &'static str,
    ) -> Result<Request<Bytes>, Error> {
        let query = self.query()?;
        match &self.resume_from {
            Some(url) => next_request(client, url),
            None => request::build(Method::GET, path, &query, &Form::new()),
        }
    }
}

/// Sends the first-page request and applies the limit to the page.
pub(crate) async fn first_page<T: PageItem>(
    client: &Client,
    operation: &'static str,
    params: &ListParams,
    path: &'static str,
) -> Result<Page<T>, Error> {
    let request = params.first_request(client, path)?;
    let mut page: Page<T> = response::call(client, operation, request).await?;
    if let Some(limit) = params.limit {
        page.items
            .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    Ok(page)
}

/// The request for a `next_page_url`, or an error when it leaves the client's base URL.
pub(crate) fn next_request(client: &Client, next_page_url: &str) -> Result<Request<Bytes>, Error> {
    let refused = |reason: &'static str| Error::invalid_argument("meta.next_page_url", reason);
    let uri: Uri = next_page_url.parse().map_err(|e| {
        Error::build_with_source(
            Some("meta.next_page_url".into()),
            "is not a valid URL; not followed",
            e,
        )
    })?;
    let path_and_query = match (uri.scheme_str(), uri.authority()) {
        // A path must be absolute; `//host/…` is a host to many parsers, so it is refused too.
        (None, None) if !uri.path().starts_with('/') || uri.path().starts_with("//") => {
            return Err(refused("is not an absolute URL or a path; not followed"));
        }
        (None, None) => uri.path_and_query(),
        // Twilio's links never carry `user@`: one that does is refused, whatever its host.
        (Some(_), Some(authority)) if authority.as_str().contains('@') => {
            return Err(refused(
                "carries user info (`user@host`), which Twilio never sends; not followed",
            ));
        }
        (Some(_), Some(_)) => {
            if !client.http_client().base_url().same_origin(&uri) {
                return Err(refused(
                    "points to a different scheme or host than the client's base URL; not followed",
                ));
            }
            uri.path_and_query()
        }
        _ => return Err(refused("is not an absolute URL or a path; not followed")),
    };
    let target = path_and_query.map_or("/", |pq| pq.as_str());
    // The path and query are used verbatim: Twilio already encoded them.
    request::build(Method::GET, target.to_owned(), &Form::new(), &Form::new())
}

/// Every page of a list, fetched one at a time as the stream is polled. From the `list()`
/// builders' `pages()`.
///
/// Use it to checkpoint a long listing: each page's [`meta.next_page_url`] is where the rest
/// begins, and the builders' `resume_from(url)` starts a new listing there (in another
/// process, after a restart). No request is sent until the first poll; the stream ends after
/// the last page (`next_page_url` null), when the builder's `limit` is reached (the last page
/// is cut to it), when a `next_page_url` leads back to a page already fetched (a loop, of any
/// length, in the server's links), or after an error.
///
/// [`meta.next_page_url`]: crate::model::PageMeta::next_page_url
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let mut pages = client.credentials().aws().list().page_size(100).pages();
/// while let Some(page) = pages.try_next().await? {
///     println!("{} items", page.items.len());
///     // Save `page.meta.next_page_url` to resume here later with `.resume_from(url)`.
/// }
/// # Ok(()) }
/// ```
pub struct PageStream<T> {
    inner: Pin<Box<dyn Stream<Item = Result<Page<T>, Error>> + Send>>,
}

impl<T> fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream").finish_non_exhaustive()
    }
}

impl<T> Stream for PageStream<T> {
    type Item = Result<Page<T>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.as_mut().poll_next(cx)
    }
}

/// Every item of a list, fetched page by page as the stream is polled. From the `list()`
/// builders' `into_stream()`.
///
/// No request is sent until the first poll. Each page is requested only when the previous
/// one is used up; the stream ends after the last page (`next_page_url` null), when the
/// builder's `limit` is reached, or when the server's links loop back to a page already
/// fetched (see [`PageStream`]). After an error the stream ends.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
/// let mut keys = client.credentials().public_key().list().page_size(100).into_stream();
/// while let Some(key) = keys.try_next().await? {
///     println!("{:?}", key.sid);
/// }
/// # Ok(()) }
/// ```
pub struct ItemStream<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>,
}

impl<T> fmt::Debug for ItemStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream").finish_non_exhaustive()
    }
}

impl<T> Stream for ItemStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.as_mut().poll_next(cx)
    }
}

struct PagesState {
    client: Client,
    operation: &'static str,
    next: Option<Result<Request<Bytes>, Error>>,
    /// Path and query of every page requested so far, to stop at a loop of any length.
    visited: HashSet<String>,
    remaining: Option<u64>,
}

/// A stream over every page, starting with the request built from `params` for `path`.
pub(crate) fn page_stream<T: PageItem + Send + 'static>(
    client: Client,
    operation: &'static str,
    params: &ListParams,
    path: &'static str,
) -> PageStream<T> {
    let state = PagesState {
        next: Some(params.first_request(&client, path)),
        client,
        operation,
        visited: HashSet::new(),
        remaining: params.limit.map(u64::from),
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        if s.remaining == Some(0) {
            return None;
        }
        let request = match s.next.take()? {
            Ok(request) => request,
            Err(e) => return Some((Err(e), s)),
        };
        s.visited.insert(request.uri().to_string());
        let mut page = match response::call::<Page<T>>(&s.client, s.operation, request).await {
            Ok(page) => page,
            Err(e) => return Some((Err(e), s)),
        };
        if let Some(remaining) = s.remaining.as_mut() {
            let keep = usize::try_from(*remaining).unwrap_or(usize::MAX);
            page.items.truncate(keep);
            *remaining -= page.items.len() as u64;
        }
        s.next = page
            .meta
            .next_page_url
            .as_deref()
            .filter(|url| !url.is_empty())
            .map(|url| next_request(&s.client, url))
            .filter(|next| match next {
                Ok(r) if s.visited.contains(&r.uri().to_string()) => {
                    tracing::warn!(
                        operation = s.operation,
                        next_page_url = %r.uri(),
                        "the next page links back to a page already fetched; the listing stops"
                    );
                    false
                }
                _ => true,
            });
        Some((Ok(page), s))
    });
    PageStream {
        inner: Box::pin(stream),
    }
}

/// A stream over every item: the pages of [`page_stream`], one item at a time.
pub(crate) fn item_stream<T: PageItem + Send + 'static>(
    client: Client,
    operation: &'static str,
    params: &ListParams,
    path: &'static str,
) -> ItemStream<T> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    let items = page_stream::<T>(client, operation, params, path)
        .map_ok(|page| futures_util::stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten();
    ItemStream {
        inner: Box::pin(items.boxed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::client;

    #[test]
    fn page_size_bounds() {
        for bad in [0, 1001] {
            let p = ListParams {
                page_size: Some(bad),
                ..Default::default()
            };
            let e = p.query().unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("page_size") && text.contains("1000"),
                "{text}"
            );
        }
        for good in [1, 1000] {
            let p = ListParams {
                page_size: Some(good),
                ..Default::default()
            };
            assert!(p.query().is_ok());
        }
    }

    #[test]
    fn limit_sets_page_size_when_unset() {
        let p = ListParams {
            limit: Some(7),
            ..Default::default()
        };
        assert_eq!(p.query().unwrap().encode(), "PageSize=7");
        let p = ListParams {
            limit: Some(5000),
            ..Default::default()
        };
        assert_eq!(p.query().unwrap().encode(), "PageSize=1000");
        let p = ListParams {
            limit: Some(0),
            ..Default::default()
        };
        assert!(p.query().is_err());
    }

    #[test]
    fn all_params() {
        let p = ListParams {
            page_size: Some(50),
            page: Some(2),
            page_token: Some("PT abc".into()),
            limit: None,
            resume_from: None,
        };
        assert_eq!(
            p.query().unwrap().encode(),
            "PageSize=50&Page=2&PageToken=PT%20abc"
        );
    }

    #[test]
    fn next_url_on_the_base_host_is_followed_as_path() {
        let c = client(); // base URL http://127.0.0.1:9
        let r = next_request(
            &c,
            "http://127.0.0.1:9/v1/Credentials/AWS?PageSize=50&Page=1&PageToken=PA%2Bx",
        )
        .unwrap();
        assert_eq!(
            r.uri(),
            "/v1/Credentials/AWS?PageSize=50&Page=1&PageToken=PA%2Bx"
        );
        assert_eq!(r.method(), Method::GET);
        let r = next_request(&c, "/v1/Credentials/AWS?Page=2").unwrap();
        assert_eq!(r.uri(), "/v1/Credentials/AWS?Page=2");
    }

    /// The message of the `Error::Build` for `meta.next_page_url` that refuses `url`.
    fn refusal(c: &Client, url: &str) -> String {
        let e = next_request(c, url).unwrap_err();
        let Error::Build(b) = &e else { panic!("{e:?}") };
        assert_eq!(b.field(), Some("meta.next_page_url"), "{url}");
        e.to_string()
    }

    #[test]
    fn next_url_with_user_info_is_refused_and_says_why() {
        let c = client(); // base URL http://127.0.0.1:9
        for url in [
            "http://user@127.0.0.1:9/v1/Credentials/AWS?Page=1",
            "http://user:password@127.0.0.1:9/v1/Credentials/AWS",
            "http://@127.0.0.1:9/v1/Credentials/AWS",
        ] {
            let text = refusal(&c, url);
            assert!(text.contains("user info"), "{url}: {text}");
            assert!(!text.contains("password"), "{text}");
        }
    }

    #[test]
    fn next_url_elsewhere_is_refused() {
        let c = client();
        for url in [
            "https://127.0.0.1:9/v1/Credentials/AWS",
            "http://evil.example:9/v1/Credentials/AWS",
            "http://127.0.0.1:10/v1/Credentials/AWS",
            "https://accounts.twilio.com/v1/Credentials/AWS?Page=1",
            "not a url",
            "//evil.example/v1/Credentials/AWS",
            "v1/Credentials/AWS?Page=1",
            "*",
        ] {
            refusal(&c, url);
        }
    }
}
