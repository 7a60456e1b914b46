//! The one definition of a stored-credential resource, shared by [`aws`](super::aws) and
//! [`public_key`](super::public_key).
//!
//! Twilio's two credential kinds have the same five operations on the same shapes; only the
//! path, the response model and the secret sent on create differ. [`credential_resource!`]
//! writes the resource handle and its five builders once for both, so a fix here fixes both.
//! Each invocation names every public type explicitly (no generic parameter reaches the
//! public API), and the request building lives in the plain functions of
//! [`common`](super::common).

/// Generates, for one credential kind, the resource handle (`list`, `create`, `fetch`,
/// `update`, `delete`) and the five request builders, with their docs and examples.
///
/// - `accessor`: the method of `client.credentials()` (`"aws"`), used in the doc examples.
/// - `path`: the collection path; instances are `{path}/{Sid}`.
/// - `create`: the builder name, the argument of `create(..)`, the type it is stored as,
///   the form key it is sent under and the function that checks it and gives the wire text.
macro_rules! credential_resource {
    (
        resource: $Resource:ident,
        accessor: $accessor:literal,
        noun: $noun:literal,
        a_noun: $a_noun:literal,
        path: $path:literal,
        model: $Model:ident,
        list: $List:ident,
        create: $Create:ident {
            arg: $arg:ident: $arg_ty:ty,
            stored: $Stored:ty,
            form_key: $form_key:literal,
            wire_value: $wire_value:path,
            arg_doc: $arg_doc:literal,
            example: $create_example:literal,
            example_param: $example_param:literal,
            example_arg: $example_arg:literal $(,)?
        },
        fetch: $Fetch:ident,
        update: $Update:ident,
        delete: $Delete:ident $(,)?
    ) => {
        use twilio_types::{AccountSid, CredentialSid};

        use $crate::client::Client;
        use $crate::credentials::common;
        use $crate::error::Error;
        use $crate::model::{$Model, Page};
        use $crate::pagination::{self, ItemStream, ListParams, PageStream};
        use $crate::response;

        #[doc = concat!("The ", $noun, " resource, from `client.credentials().", $accessor, "()`.")]
        ///
        /// ```no_run
        /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
        #[doc = concat!("let page = client.credentials().", $accessor, "().list().page_size(10).send().await?;")]
        /// # Ok(()) }
        /// ```
        #[derive(Debug, Clone)]
        pub struct $Resource {
            client: Client,
        }

        impl $Resource {
            pub(crate) fn new(client: Client) -> Self {
                Self { client }
            }

            #[doc = concat!("Lists ", $noun, " (`GET ", $path, "`, operation `", stringify!($List), "`).")]
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let first_page = client.credentials().", $accessor, "().list().page_size(50).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn list(&self) -> $List {
                $List {
                    client: self.client.clone(),
                    params: ListParams::default(),
                }
            }

            #[doc = concat!("Creates ", $a_noun, " (`POST ", $path, "`, operation `", stringify!($Create), "`).")]
            #[doc = $arg_doc]
            ///
            /// ```no_run
            #[doc = $create_example]
            /// ```
            pub fn create(&self, $arg: $arg_ty) -> $Create {
                $Create {
                    client: self.client.clone(),
                    $arg: $arg.into(),
                    friendly_name: None,
                    account_sid: None,
                }
            }

            #[doc = concat!("Fetches ", $a_noun, " (`GET ", $path, "/{Sid}`, operation `", stringify!($Fetch), "`).")]
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
            /// let sid = "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse()?;
            #[doc = concat!("let credential = client.credentials().", $accessor, "().fetch(sid).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn fetch(&self, sid: CredentialSid) -> $Fetch {
                $Fetch {
                    client: self.client.clone(),
                    sid,
                }
            }

            #[doc = concat!("Updates the friendly name of ", $a_noun, " (`POST ", $path, "/{Sid}`, operation `", stringify!($Update), "`).")]
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let updated = client.credentials().", $accessor, "().update(sid).friendly_name(\"renamed\").send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn update(&self, sid: CredentialSid) -> $Update {
                $Update {
                    client: self.client.clone(),
                    sid,
                    friendly_name: None,
                }
            }

            #[doc = concat!("Deletes ", $a_noun, " (`DELETE ", $path, "/{Sid}`, operation `", stringify!($Delete), "`).")]
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("client.credentials().", $accessor, "().delete(sid).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn delete(&self, sid: CredentialSid) -> $Delete {
                $Delete {
                    client: self.client.clone(),
                    sid,
                }
            }
        }

        // ---- list ----------------------------------------------------------------------

        #[doc = concat!("Lists ", $noun, ": one page with [`send`](Self::send), or every item with")]
        #[doc = concat!("[`into_stream`](Self::into_stream). From `client.credentials().", $accessor, "().list()`.")]
        ///
        /// ```no_run
        /// use futures_util::TryStreamExt;
        /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
        #[doc = concat!("let page = client.credentials().", $accessor, "().list().page_size(50).send().await?;")]
        /// println!("{} on this page, next: {:?}", page.items.len(), page.meta.next_page_url);
        ///
        #[doc = concat!("let all: Vec<_> = client.credentials().", $accessor, "().list().limit(200).into_stream().try_collect().await?;")]
        /// # Ok(()) }
        /// ```
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited or the stream is polled"]
        pub struct $List {
            client: Client,
            params: ListParams,
        }

        impl $List {
            /// Records per page (`PageSize`), 1 to 1000; checked before anything is sent.
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let result = client.credentials().", $accessor, "().list().page_size(50).send().await?;")]
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
            #[doc = concat!("let result = client.credentials().", $accessor, "().list().page(0).send().await?;")]
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
            #[doc = concat!("let result = client.credentials().", $accessor, "().list().page_token(\"PAaaaa\").send().await?;")]
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
            #[doc = concat!("let result = client.credentials().", $accessor, "().list().limit(200).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn limit(mut self, limit: u32) -> Self {
                self.params.limit = Some(limit);
                self
            }

            #[cfg(test)]
            pub(crate) fn build_request(&self) -> Result<http::Request<bytes::Bytes>, Error> {
                self.params.first_request(&self.client, $path)
            }

            /// Fetches the first page.
            ///
            /// # Errors
            /// [`Error::Build`] for an invalid `page_size` or `limit` (nothing sent), or any error of
            /// the call.
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let result = client.credentials().", $accessor, "().list().send().await?;")]
            /// # Ok(()) }
            /// ```
            pub async fn send(self) -> Result<Page<$Model>, Error> {
                pagination::first_page(&self.client, stringify!($List), &self.params, $path).await
            }

            /// Every item, page after page, following `meta.next_page_url` lazily.
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
            /// use futures_util::TryStreamExt;
            #[doc = concat!("let mut items = client.credentials().", $accessor, "().list().page_size(100).into_stream();")]
            /// while let Some(item) = items.try_next().await? {
            ///     println!("{:?}", item.sid);
            /// }
            /// # Ok(()) }
            /// ```
            pub fn into_stream(self) -> ItemStream<$Model> {
                pagination::item_stream(self.client, stringify!($List), &self.params, $path)
            }

            /// Every page, following `meta.next_page_url` lazily: for checkpoints (save a
            /// page's `meta.next_page_url`, continue later with
            /// [`resume_from`](Self::resume_from)). See [`PageStream`].
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
            /// use futures_util::TryStreamExt;
            #[doc = concat!("let mut pages = client.credentials().", $accessor, "().list().page_size(100).pages();")]
            /// while let Some(page) = pages.try_next().await? {
            ///     println!("{} items, resume at {:?}", page.items.len(), page.meta.next_page_url);
            /// }
            /// # Ok(()) }
            /// ```
            pub fn pages(self) -> PageStream<$Model> {
                pagination::page_stream(self.client, stringify!($List), &self.params, $path)
            }

            /// Starts the listing at `next_page_url`, a page's `meta.next_page_url` saved
            /// from an earlier listing, instead of the first page. It carries its own paging
            /// parameters, so `page_size`, `page` and `page_token` are not sent; `limit`
            /// still applies. Like every next-page URL it must be on the client's base URL
            /// (or a bare path); anything else is an [`Error::Build`] and nothing is sent.
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, saved: String) -> Result<(), twilio_accounts::Error> {
            /// use futures_util::TryStreamExt;
            #[doc = concat!("let rest: Vec<_> = client.credentials().", $accessor, "().list().resume_from(saved).into_stream().try_collect().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn resume_from(mut self, next_page_url: impl Into<String>) -> Self {
                self.params.resume_from = Some(next_page_url.into());
                self
            }
        }

        // ---- create --------------------------------------------------------------------

        #[doc = concat!("Creates ", $a_noun, ". From `client.credentials().", $accessor, "().create(..)`.")]
        ///
        /// ```no_run
        #[doc = $create_example]
        /// ```
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Create {
            client: Client,
            $arg: $Stored,
            friendly_name: Option<String>,
            account_sid: Option<AccountSid>,
        }

        impl $Create {
            /// A descriptive name, up to 64 characters (`FriendlyName`).
            ///
            /// ```no_run
            #[doc = concat!("# async fn run(client: twilio_accounts::Client, ", $example_param, ") -> Result<(), twilio_accounts::Error> {")]
            #[doc = concat!("let result = client.credentials().", $accessor, "().create(", $example_arg, ").friendly_name(\"backups\").send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn friendly_name(mut self, friendly_name: impl Into<String>) -> Self {
                self.friendly_name = Some(friendly_name.into());
                self
            }

            /// The subaccount to associate the credential with (`AccountSid`).
            ///
            /// ```no_run
            #[doc = concat!("# async fn run(client: twilio_accounts::Client, ", $example_param, ") -> Result<(), twilio_accounts::Error> {")]
            #[doc = concat!("let result = client.credentials().", $accessor, "().create(", $example_arg, ").account_sid(\"ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\".parse().expect(\"a valid SID\")).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn account_sid(mut self, account_sid: AccountSid) -> Self {
                self.account_sid = Some(account_sid);
                self
            }

            pub(crate) fn build_request(&self) -> Result<http::Request<bytes::Bytes>, Error> {
                static PATH: $crate::request::FixedPath = $crate::request::FixedPath::new($path);
                common::create_request(
                    &PATH,
                    $form_key,
                    $wire_value(&self.$arg)?,
                    self.friendly_name.as_deref(),
                    self.account_sid.as_ref(),
                )
            }

            /// Sends the request.
            ///
            /// # Errors
            /// [`Error::Build`] for invalid input (nothing sent), or any error of the call.
            ///
            /// ```no_run
            #[doc = concat!("# async fn run(client: twilio_accounts::Client, ", $example_param, ") -> Result<(), twilio_accounts::Error> {")]
            #[doc = concat!("let result = client.credentials().", $accessor, "().create(", $example_arg, ").send().await?;")]
            /// # Ok(()) }
            /// ```
            pub async fn send(self) -> Result<$Model, Error> {
                let request = self.build_request()?;
                response::call(&self.client, stringify!($Create), request).await
            }
        }

        // ---- fetch ---------------------------------------------------------------------

        #[doc = concat!("Fetches ", $a_noun, " by SID. From `client.credentials().", $accessor, "().fetch(sid)`.")]
        ///
        /// ```no_run
        /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
        #[doc = concat!("let credential = client.credentials().", $accessor, "().fetch(sid).send().await?;")]
        /// # Ok(()) }
        /// ```
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Fetch {
            client: Client,
            sid: CredentialSid,
        }

        impl $Fetch {
            pub(crate) fn build_request(&self) -> Result<http::Request<bytes::Bytes>, Error> {
                common::fetch_request($path, &self.sid)
            }

            /// Sends the request.
            ///
            /// # Errors
            /// Any [`Error`] of the call (an [`Error::Api`] with status 404 when the SID is unknown).
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let result = client.credentials().", $accessor, "().fetch(sid).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub async fn send(self) -> Result<$Model, Error> {
                let request = self.build_request()?;
                response::call(&self.client, stringify!($Fetch), request).await
            }
        }

        // ---- update --------------------------------------------------------------------

        #[doc = concat!("Updates the friendly name of ", $a_noun, ". From")]
        #[doc = concat!("`client.credentials().", $accessor, "().update(sid)`. Without `friendly_name` the request has no")]
        /// body (Twilio then changes nothing).
        ///
        /// ```no_run
        /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
        #[doc = concat!("let updated = client.credentials().", $accessor, "().update(sid).friendly_name(\"renamed\").send().await?;")]
        /// # Ok(()) }
        /// ```
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Update {
            client: Client,
            sid: CredentialSid,
            friendly_name: Option<String>,
        }

        impl $Update {
            /// The new descriptive name, up to 64 characters (`FriendlyName`).
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let result = client.credentials().", $accessor, "().update(sid).friendly_name(\"backups\").send().await?;")]
            /// # Ok(()) }
            /// ```
            pub fn friendly_name(mut self, friendly_name: impl Into<String>) -> Self {
                self.friendly_name = Some(friendly_name.into());
                self
            }

            pub(crate) fn build_request(&self) -> Result<http::Request<bytes::Bytes>, Error> {
                common::update_request($path, &self.sid, self.friendly_name.as_deref())
            }

            /// Sends the request.
            ///
            /// # Errors
            /// [`Error::Build`] for a name over 64 characters (nothing sent), or any error of the call.
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let result = client.credentials().", $accessor, "().update(sid).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub async fn send(self) -> Result<$Model, Error> {
                let request = self.build_request()?;
                response::call(&self.client, stringify!($Update), request).await
            }
        }

        // ---- delete --------------------------------------------------------------------

        #[doc = concat!("Deletes ", $a_noun, " by SID. From `client.credentials().", $accessor, "().delete(sid)`.")]
        ///
        /// ```no_run
        /// # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
        #[doc = concat!("client.credentials().", $accessor, "().delete(sid).send().await?;")]
        /// # Ok(()) }
        /// ```
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Delete {
            client: Client,
            sid: CredentialSid,
        }

        impl $Delete {
            pub(crate) fn build_request(&self) -> Result<http::Request<bytes::Bytes>, Error> {
                common::delete_request($path, &self.sid)
            }

            /// Sends the request; `Ok(())` on `204 No Content`.
            ///
            /// # Errors
            /// Any [`Error`] of the call (an [`Error::Api`] with status 404 when the SID is unknown).
            ///
            /// ```no_run
            /// # async fn run(client: twilio_accounts::Client, sid: twilio_accounts::CredentialSid) -> Result<(), twilio_accounts::Error> {
            #[doc = concat!("let result = client.credentials().", $accessor, "().delete(sid).send().await?;")]
            /// # Ok(()) }
            /// ```
            pub async fn send(self) -> Result<(), Error> {
                let request = self.build_request()?;
                response::call_empty(&self.client, stringify!($Delete), request).await
            }
        }
    };
}

pub(super) use credential_resource;
