//! One page of a list response (`credentials` + `meta`).

use std::marker::PhantomData;

use serde::Deserialize;
use serde_json::Number;

use super::Decode;
use super::wire::{FromWire, PageVisitor};
use crate::decode::Fields;
use crate::error::DecodeError;

/// A record type that comes in pages.
pub(crate) trait PageItem: Decode {
    /// The key of the records array in the page object.
    const KEY: &'static str;
}

/// One page of a list: its records and the paging metadata.
///
/// Returned by the `list().send()` calls; `list().into_stream()` follows
/// [`PageMeta::next_page_url`] for you.
///
/// ```
/// use twilio_accounts::model::{CredentialAws, Page};
///
/// let page = Page::<CredentialAws>::from_json(
///     br#"{"credentials":[],"meta":{"page":0,"page_size":50,"next_page_url":null,"key":"credentials"}}"#,
/// )?;
/// assert!(page.items.is_empty());
/// assert_eq!(page.meta.page_size(), Some(50));
/// assert!(page.meta.next_page_url.is_none());
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The records of this page (`credentials` on the wire); empty when absent or `null`.
    pub items: Vec<T>,
    /// The paging metadata; every field `None` when `meta` is absent or `null`.
    pub meta: PageMeta,
}

/// The `meta` object of a list response.
///
/// `page` and `page_size` are kept as JSON numbers because the spec does not bound them;
/// [`page`](Self::page) and [`page_size`](Self::page_size) read them as `i64`.
///
/// ```
/// # use twilio_accounts::model::{CredentialAws, Page};
/// # let page = Page::<CredentialAws>::from_json(br#"{"meta":{"page":-3}}"#)?;
/// assert_eq!(page.meta.page(), Some(-3));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PageMeta {
    /// The URL of the first page.
    pub first_page_url: Option<String>,
    /// The key of the records array (`credentials`).
    pub key: Option<String>,
    /// The URL of the next page; `None` on the last page.
    pub next_page_url: Option<String>,
    /// The page index as sent.
    pub page_number: Option<Number>,
    /// The page size as sent.
    pub page_size_number: Option<Number>,
    /// The URL of the previous page; `None` on the first page.
    pub previous_page_url: Option<String>,
    /// The URL of this page.
    pub url: Option<String>,
}

impl PageMeta {
    /// `page` as an `i64`, when it is an integer in that range.
    ///
    /// ```
    /// use twilio_accounts::model::{CredentialAws, Page};
    /// let p = Page::<CredentialAws>::from_json(br#"{"credentials":[],"meta":{"page":2,"page_size":50}}"#)?;
    /// assert_eq!(p.meta.page(), Some(2));
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn page(&self) -> Option<i64> {
        self.page_number.as_ref().and_then(Number::as_i64)
    }

    /// `page_size` as an `i64`, when it is an integer in that range.
    ///
    /// ```
    /// use twilio_accounts::model::{CredentialAws, Page};
    /// let p = Page::<CredentialAws>::from_json(br#"{"credentials":[],"meta":{"page":0,"page_size":50}}"#)?;
    /// assert_eq!(p.meta.page_size(), Some(50));
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn page_size(&self) -> Option<i64> {
        self.page_size_number.as_ref().and_then(Number::as_i64)
    }

    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            first_page_url: f.string("first_page_url")?,
            key: f.string("key")?,
            next_page_url: f.string("next_page_url")?,
            page_number: f.number("page")?,
            page_size_number: f.number("page_size")?,
            previous_page_url: f.string("previous_page_url")?,
            url: f.string("url")?,
        })
    }
}

/// The derive twin of [`PageMeta`] (see [`super::wire`]).
#[derive(Deserialize)]
#[serde(remote = "PageMeta")]
struct PageMetaWire {
    first_page_url: Option<String>,
    key: Option<String>,
    next_page_url: Option<String>,
    #[serde(rename = "page")]
    page_number: Option<Number>,
    #[serde(rename = "page_size")]
    page_size_number: Option<Number>,
    previous_page_url: Option<String>,
    url: Option<String>,
}

impl FromWire for PageMeta {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PageMetaWire::deserialize(d)
    }
}

impl<T: PageItem> FromWire for Page<T> {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let visitor = PageVisitor {
            key: T::KEY,
            marker: PhantomData,
        };
        let (items, meta) = d.deserialize_map(visitor)?;
        Ok(Self { items, meta })
    }
}

impl<T: PageItem> Decode for Page<T> {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            items: f.objects(T::KEY, T::decode)?.unwrap_or_default(),
            meta: f
                .object("meta")?
                .map(|m| PageMeta::decode(&m))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}
