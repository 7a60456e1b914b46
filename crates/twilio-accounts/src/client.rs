//! [`Client`] and [`ClientBuilder`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::Service;
use twilio_store::TokenStore;
use twilio_transport::{
    BoxError, ConfigError, ConfigErrorKind, Credentials, HttpClient, HttpClientBuilder,
    RetryConfig, SharedCredentials,
};
use twilio_types::AccountSid;

use crate::auth_tokens::{AuthTokenPromotionResource, SecondaryAuthTokenResource};
use crate::bulk_consents::BulkConsentsResource;
use crate::bulk_contacts::BulkContactsResource;
use crate::compliance_signals::ComplianceSignalsCheckResource;
use crate::credentials::CredentialsResource;
use crate::env;
use crate::error::Error;
use crate::follow::{self, StoreFollower};
use crate::messaging_geopermissions::MessagingGeopermissionsResource;
use crate::safelist::SafelistResource;

/// The Twilio Accounts v1 client: the entry point to every operation.
///
/// Cheap to clone (clones share one connection pool and one credentials handle), `Send` and
/// `Sync`: build one and clone it into every task that needs it. It has no type parameters;
/// a custom HTTP stack goes in through [`ClientBuilder::transport`] or
/// [`Client::from_http_client`].
///
/// Calls run on a Tokio runtime with the time driver enabled (timeouts and retry back-off
/// use Tokio timers): `#[tokio::main]` and `#[tokio::test]` have it; a hand-built runtime
/// needs `enable_time()` (or `enable_all()`).
///
/// ```no_run
/// # async fn run() -> Result<(), twilio_accounts::Error> {
/// let client = twilio_accounts::Client::from_env()?;
/// let page = client.credentials().aws().list().page_size(20).send().await?;
/// for credential in page.items {
///     println!("{:?} {:?}", credential.sid, credential.friendly_name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    http: HttpClient,
    /// The task keeping the credentials on a token store's working token, for a client
    /// built with [`ClientBuilder::build_following`]; it stops with the last clone.
    follower: Option<Arc<StoreFollower>>,
}

impl Client {
    /// A client for `credentials` with the default configuration (`https://accounts.twilio.com`,
    /// default timeouts and retries). It does not read the environment: use
    /// [`from_env`](Self::from_env), or [`builder`](Self::builder) for a region or edge.
    ///
    /// ```no_run
    /// use twilio_accounts::Client;
    /// use twilio_transport::Credentials;
    /// use twilio_types::{AccountSid, AuthToken};
    ///
    /// let account: AccountSid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse()?;
    /// let token = AuthToken::new(std::env::var("MY_TOKEN")?)?;
    /// let client = Client::new(Credentials::from_auth_token(account, token)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// Only if the built-in TLS configuration cannot be built, which does not happen with the
    /// bundled root certificates. [`Client::builder`] returns that case as an error instead.
    #[cfg(feature = "default-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
    pub fn new(credentials: Credentials) -> Self {
        // Nothing here can be invalid (the environment is not read), so only a TLS set-up
        // failure of the built-in client could make this fail.
        match Self::builder()
            .read_environment(false)
            .credentials(credentials)
            .build()
        {
            Ok(client) => client,
            Err(e) => panic!("the default HTTP client could not be built: {e}"),
        }
    }

    /// A client configured from the environment: `TWILIO_ACCOUNT_SID` with
    /// `TWILIO_AUTH_TOKEN`, or `TWILIO_API_KEY` + `TWILIO_API_SECRET` with
    /// `TWILIO_ACCOUNT_SID`, plus the optional `TWILIO_REGION` and `TWILIO_EDGE`, and
    /// `TWILIO_ACCOUNTS_BASE_URL` for another base URL such as an emulator's
    /// `http://127.0.0.1:4010` (`https`, or `http` for loopback only).
    ///
    /// ```no_run
    /// let client = twilio_accounts::Client::from_env()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Build`] naming the variable that is missing or malformed (an `SK…` value in
    /// `TWILIO_ACCOUNT_SID` is reported as "an Account SID starts with `AC`"). Secret values
    /// are never echoed.
    #[cfg(feature = "default-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` instead of the
    /// process environment (for tests, or configuration held elsewhere).
    ///
    /// ```
    /// use twilio_accounts::{Client, Error};
    ///
    /// let err = Client::from_env_with(|name| match name {
    ///     "TWILIO_ACCOUNT_SID" => Some("SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
    ///     _ => None,
    /// })
    /// .unwrap_err();
    /// assert!(err.to_string().contains("starts with `AC`"));
    /// ```
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    #[cfg(feature = "default-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
    pub fn from_env_with(lookup: impl FnMut(&str) -> Option<String>) -> Result<Self, Error> {
        ClientBuilder::from_env_with(lookup)?.build()
    }

    /// A builder for every setting: base URL, region, edge, timeouts, retries, user agent,
    /// shared credentials, custom transport.
    ///
    /// ```
    /// use std::time::Duration;
    /// use twilio_accounts::{AccountSid, AuthToken, Credentials};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let account = AccountSid::parse("AC0123456789abcdef0123456789abcdef")?;
    /// let credentials = Credentials::from_auth_token(account, AuthToken::new("your_auth_token")?)?;
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials)
    ///     .region("au1")
    ///     .edge("sydney")
    ///     .attempt_timeout(Duration::from_secs(10))
    ///     .user_agent_extension("my-app/1.2")
    ///     .build()?;
    /// assert_eq!(client.account_sid(), account);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client over an already configured [`HttpClient`] (custom transport, shared pool).
    ///
    /// ```
    /// use twilio_accounts::{AccountSid, AuthToken, Credentials, HttpClient};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let account = AccountSid::parse("AC0123456789abcdef0123456789abcdef")?;
    /// let credentials = Credentials::from_auth_token(account, AuthToken::new("your_auth_token")?)?;
    /// let http = HttpClient::builder().credentials(credentials).build()?;
    /// let client = twilio_accounts::Client::from_http_client(http);
    /// assert_eq!(client.account_sid(), account);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_http_client(http: HttpClient) -> Self {
        Self {
            http,
            follower: None,
        }
    }

    /// A client with the default configuration that authenticates with the token `store` says
    /// works and follows it (see [`follow`](crate::follow)): a rotation run elsewhere
    /// switches this client to the new token before the old one stops working.
    /// [`ClientBuilder::build_following`] does the same with other settings.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use twilio_accounts::Client;
    /// use twilio_accounts::follow::DEFAULT_RELOAD_INTERVAL;
    /// use twilio_store::FileTokenStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = Arc::new(FileTokenStore::open("tokens.json")?);
    /// let client = Client::following(store, DEFAULT_RELOAD_INTERVAL).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`ClientBuilder::build_following`].
    #[cfg(feature = "default-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
    pub async fn following(store: Arc<dyn TokenStore>, interval: Duration) -> Result<Self, Error> {
        Self::builder()
            .read_environment(false)
            .build_following(store, interval)
            .await
    }

    /// The follower keeping this client on its token store's working token, for a client
    /// built with [`ClientBuilder::build_following`] or [`Client::following`].
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// if let Some(follower) = client.store_follower() {
    ///     follower.reload_now().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn store_follower(&self) -> Option<&StoreFollower> {
        self.follower.as_deref()
    }

    /// The account the client acts for (from its current credentials).
    ///
    /// ```no_run
    /// # fn demo(client: twilio_accounts::Client) {
    /// println!("{}", client.account_sid());
    /// # }
    /// ```
    pub fn account_sid(&self) -> AccountSid {
        self.http.credentials().account_sid()
    }

    /// The credentials handle the client authenticates with. Replacing its content (for example
    /// after promoting a new Auth Token) switches every clone of the client at once.
    ///
    /// ```no_run
    /// # fn demo(client: twilio_accounts::Client, new_credentials: twilio_accounts::Credentials) {
    /// client.shared_credentials().replace(new_credentials);
    /// # }
    /// ```
    pub fn shared_credentials(&self) -> &SharedCredentials {
        self.http.credentials()
    }

    /// The HTTP layer every operation goes through. For the `rotation` module, which sends
    /// requests with other credentials or checks the base URL.
    #[allow(dead_code)] // for the `rotation` module
    pub(crate) fn http_client(&self) -> &HttpClient {
        &self.http
    }

    /// A client with the same configuration and connection pool but a separate credentials
    /// handle holding `credentials` (through [`HttpClient::with_credentials`]). For the
    /// `rotation` module, which verifies a new token without touching the shared handle.
    #[allow(dead_code)] // for the `rotation` module
    pub(crate) fn with_credentials(&self, credentials: Credentials) -> Client {
        Client {
            http: self.http.with_credentials(credentials),
            follower: None,
        }
    }

    /// The secondary Auth Token (`/v1/AuthTokens/Secondary`): `create()`, `delete()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let secondary = client.secondary_auth_token().create().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn secondary_auth_token(&self) -> SecondaryAuthTokenResource {
        SecondaryAuthTokenResource::new(self.clone())
    }

    /// Auth Token promotion (`/v1/AuthTokens/Promote`): `update()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let promoted = client.auth_token_promotion().update().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn auth_token_promotion(&self) -> AuthTokenPromotionResource {
        AuthTokenPromotionResource::new(self.clone())
    }

    /// Stored credentials (`/v1/Credentials`): `aws()` and `public_key()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let keys = client.credentials().public_key().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(&self) -> CredentialsResource {
        CredentialsResource::new(self.clone())
    }

    /// The SafeList (`/v1/SafeList/Numbers`): `create()`, `fetch()`, `delete()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let entry = client.safelist().fetch("+18001234567").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn safelist(&self) -> SafelistResource {
        SafelistResource::new(self.clone())
    }

    /// Bulk consents (`/v1/Consents/Bulk`): `create(items)`.
    ///
    /// ```no_run
    /// use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let item = ConsentItem::new("+15005550006", "ad388b5a46b33b874b0d41f7226db2ef", "+15005550001",
    ///     ConsentStatus::OptIn, ConsentSource::Website);
    /// let result = client.bulk_consents().create(vec![item]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn bulk_consents(&self) -> BulkConsentsResource {
        BulkConsentsResource::new(self.clone())
    }

    /// Bulk contacts (`/v1/Contacts/Bulk`): `create(items)`.
    ///
    /// ```no_run
    /// use twilio_accounts::bulk_contacts::ContactItem;
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let item = ContactItem::new("+15005550006", "ad388b5a46b33b874b0d41f7226db2ef", "US", "94105");
    /// let result = client.bulk_contacts().create(vec![item]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn bulk_contacts(&self) -> BulkContactsResource {
        BulkContactsResource::new(self.clone())
    }

    /// Messaging geo permissions (`/v1/Messaging/GeoPermissions`): `fetch()`, `update()`.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let permissions = client.messaging_geopermissions().fetch().country_code("IN,PK").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn messaging_geopermissions(&self) -> MessagingGeopermissionsResource {
        MessagingGeopermissionsResource::new(self.clone())
    }

    /// The Compliance Signals check (`/v1/ComplianceSignals/Check`): `create()`. Beyond
    /// Twilio's published OpenAPI document; see [`compliance_signals`](crate::compliance_signals).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use twilio_accounts::compliance_signals::{Signal, UseCase};
    /// let answer = client
    ///     .compliance_signals_check()
    ///     .create()
    ///     .signal(Signal::QuietHours)
    ///     .to("+14155552671".parse()?)
    ///     .country_iso_code("US")
    ///     .use_case(UseCase::Marketing)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn compliance_signals_check(&self) -> ComplianceSignalsCheckResource {
        ComplianceSignalsCheckResource::new(self.clone())
    }
}

/// Configures a [`Client`]. Every setter takes and returns the builder; [`build`](Self::build)
/// checks everything.
///
/// ```no_run
/// # let credentials = twilio_accounts::Credentials::from_auth_token(
/// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
/// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
/// # ).expect("valid credentials");
/// let client = twilio_accounts::Client::builder()
///     .credentials(credentials)
///     .base_url("http://127.0.0.1:4010")
///     .build()?;
/// # Ok::<(), twilio_accounts::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `.build()`"]
pub struct ClientBuilder {
    http: HttpClientBuilder,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// An empty builder (same as [`Client::builder`]).
    ///
    /// ```
    /// use twilio_accounts::ClientBuilder;
    /// let builder = ClientBuilder::new().base_url("http://127.0.0.1:4010");
    /// // Without credentials, `build()` says which setting is missing.
    /// assert!(builder.build().is_err());
    /// ```
    pub fn new() -> Self {
        Self {
            http: HttpClient::builder(),
        }
    }

    /// A builder preset from the environment (see [`Client::from_env`]); more settings can
    /// follow.
    ///
    /// ```no_run
    /// let client = twilio_accounts::ClientBuilder::from_env()?
    ///     .user_agent_extension("my-app/1.0")
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Build`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    ///
    /// ```
    /// let err = twilio_accounts::ClientBuilder::from_env_with(|_| None).unwrap_err();
    /// assert!(err.to_string().contains("TWILIO_ACCOUNT_SID"));
    /// ```
    ///
    /// # Errors
    /// [`Error::Build`] naming the variable that is missing or malformed.
    pub fn from_env_with(mut lookup: impl FnMut(&str) -> Option<String>) -> Result<Self, Error> {
        let credentials = env::read(&mut lookup)?;
        // `lookup` is the only source: the transport reads where requests go
        // (`TWILIO_ACCOUNTS_BASE_URL`, `TWILIO_REGION`, `TWILIO_EDGE`) through it too, not
        // through the process environment.
        Ok(Self::new()
            .credentials(credentials)
            .map(|b| b.environment(lookup)))
    }

    fn map(mut self, f: impl FnOnce(HttpClientBuilder) -> HttpClientBuilder) -> Self {
        self.http = f(self.http);
        self
    }

    /// The credentials: a [`Credentials`] (the client gets its own handle) or a
    /// [`SharedCredentials`] handle shared with other clients. Required. (A client over an
    /// already built [`HttpClient`] comes from [`Client::from_http_client`] instead, which
    /// takes no other setting.)
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials)
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn credentials(self, credentials: impl Into<SharedCredentials>) -> Self {
        let credentials = credentials.into();
        self.map(|b| b.credentials(credentials))
    }

    /// An explicit base URL such as `http://127.0.0.1:4010` (an emulator or mock); the default
    /// is `https://accounts.twilio.com`.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).base_url("http://127.0.0.1:4010")
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn base_url(self, url: &str) -> Self {
        self.map(|b| b.base_url(url))
    }

    /// The Twilio region, such as `au1` (host `accounts.<edge>.<region>.twilio.com`).
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).region("au1")
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn region(self, region: &str) -> Self {
        self.map(|b| b.region(region))
    }

    /// The Twilio edge location, such as `sydney` (region `us1` when none is set).
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).region("au1").edge("sydney")
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn edge(self, edge: &str) -> Self {
        self.map(|b| b.edge(edge))
    }

    /// The timeout of one attempt.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).attempt_timeout(std::time::Duration::from_secs(10))
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn attempt_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.attempt_timeout(timeout))
    }

    /// The overall deadline of a call, retries included.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).deadline(std::time::Duration::from_secs(30))
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn deadline(self, deadline: Duration) -> Self {
        self.map(|b| b.deadline(deadline))
    }

    /// The timeout for establishing a connection.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).connect_timeout(std::time::Duration::from_secs(3))
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.connect_timeout(timeout))
    }

    /// How long an idle pooled connection is kept.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).pool_idle_timeout(std::time::Duration::from_secs(30))
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn pool_idle_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.pool_idle_timeout(timeout))
    }

    /// The retry settings (see [`RetryConfig`]; [`RetryConfig::disabled`] turns retries off).
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).retry(twilio_accounts::RetryConfig::disabled())
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn retry(self, retry: RetryConfig) -> Self {
        self.map(|b| b.retry(retry))
    }

    /// Appends `extension` (such as `my-app/1.2`) to the `User-Agent` header. Can be called
    /// several times.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).user_agent_extension("my-app/1.2")
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn user_agent_extension(self, extension: &str) -> Self {
        self.map(|b| b.user_agent_extension(extension))
    }

    /// The largest response body accepted, in bytes.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).max_response_body_bytes(1 << 20)
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn max_response_body_bytes(self, max: usize) -> Self {
        self.map(|b| b.max_response_body_bytes(max))
    }

    /// A custom transport: any `tower::Service` from `http::Request<Bytes>` to an
    /// `http::Response` (see [`HttpClientBuilder::transport`]). It replaces the built-in HTTPS
    /// client; authentication, retries and timeouts still apply.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::{Request, Response};
    /// # fn creds() -> twilio_transport::Credentials {
    /// #     let sid = twilio_types::AccountSid::from_static("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    /// #     twilio_transport::Credentials::from_auth_token(sid, twilio_types::AuthToken::new("t").unwrap()).unwrap()
    /// # }
    ///
    /// let canned = tower::service_fn(|_req: Request<Bytes>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(Bytes::from_static(b"{}"))))
    /// });
    /// let client = twilio_accounts::Client::builder().credentials(creds()).transport(canned).build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn transport<S, B>(self, service: S) -> Self
    where
        S: Service<Request<Bytes>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.map(|b| b.transport(service))
    }

    /// The proxy of the built-in client, instead of the one the environment names
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`): see [`transport::Proxy`].
    ///
    /// [`transport::Proxy`]: crate::transport::Proxy
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// use twilio_accounts::transport::Proxy;
    ///
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials)
    ///     .proxy(Proxy::url("http://proxy.internal:3128")?)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "default-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
    pub fn proxy(self, proxy: crate::transport::Proxy) -> Self {
        self.map(|b| b.proxy(proxy))
    }

    /// Whether `build()` also reads `TWILIO_ACCOUNTS_BASE_URL`, `TWILIO_REGION` and
    /// `TWILIO_EDGE` for a base URL, region or edge not set here (default `true`; region and
    /// edge apply to `twilio.com` base URLs only), and the built-in client the proxy variables
    /// unless [`proxy`](Self::proxy) is set.
    ///
    /// ```no_run
    /// # let credentials = twilio_accounts::Credentials::from_auth_token(
    /// #     twilio_accounts::AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
    /// #     twilio_accounts::AuthToken::new("your_auth_token").expect("a header-safe token"),
    /// # ).expect("valid credentials");
    /// let client = twilio_accounts::Client::builder()
    ///     .credentials(credentials).read_environment(false)
    ///     .build()?;
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn read_environment(self, yes: bool) -> Self {
        self.map(|b| b.read_environment(yes))
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Build`] naming the setting that is missing or invalid (no credentials, a base
    /// URL that is not `https` outside loopback, a region that is not a DNS label, …); the
    /// transport's configuration error is the `source()`.
    ///
    /// ```
    /// use twilio_accounts::{Client, Credentials};
    /// let credentials = Credentials::from_auth_token(
    ///     "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse()?,
    ///     twilio_accounts::AuthToken::new("an-auth-token")?,
    /// )?;
    /// let client = Client::builder().credentials(credentials).base_url("http://127.0.0.1:4010").build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        self.http
            .build()
            .map(Client::from_http_client)
            .map_err(config_error)
    }

    /// Builds a client that authenticates with the token `store` says works (its `pending`
    /// token once a rotation has staged it, else `current`) and follows it from a Tokio task
    /// reloading every `interval` (see [`follow`](crate::follow)). Credentials set on this
    /// builder are replaced by the store's. The task stops when the last clone of the client
    /// is dropped.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use twilio_accounts::Client;
    /// use twilio_accounts::follow::DEFAULT_RELOAD_INTERVAL;
    /// use twilio_store::FileTokenStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = Arc::new(FileTokenStore::open("tokens.json")?);
    /// let client = Client::builder()
    ///     .base_url("http://127.0.0.1:4010")
    ///     .build_following(store, DEFAULT_RELOAD_INTERVAL)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Build`] for the field `store` when the store cannot be read, holds no record
    /// or holds a token that cannot be sent (the [`StoreError`](twilio_store::StoreError)
    /// is the `source()`) or when there is no Tokio runtime to follow it from; otherwise as
    /// [`build`](Self::build).
    pub async fn build_following(
        self,
        store: Arc<dyn TokenStore>,
        interval: Duration,
    ) -> Result<Client, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid_argument(
                "store",
                "can only be followed on a Tokio runtime",
            ));
        }
        let (credentials, applied) =
            follow::initial_credentials(store.as_ref())
                .await
                .map_err(|err| {
                    Error::build_with_source(
                        Some("store".into()),
                        "cannot give the client its credentials",
                        err,
                    )
                })?;
        let mut client = self.credentials(credentials).build()?;
        let shared = client.shared_credentials().clone();
        client.follower = Some(Arc::new(follow::attach(store, shared, interval, applied)));
        Ok(client)
    }
}

fn config_error(e: ConfigError) -> Error {
    let field = match e.kind() {
        ConfigErrorKind::MissingCredentials => Some("credentials"),
        ConfigErrorKind::InvalidBaseUrl | ConfigErrorKind::InsecureBaseUrl => Some("base_url"),
        ConfigErrorKind::InvalidRegionOrEdge => Some("region/edge"),
        ConfigErrorKind::InvalidUserAgent => Some("user_agent_extension"),
        ConfigErrorKind::InvalidRetry => Some("retry"),
        ConfigErrorKind::InvalidLimit => Some("timeouts/limits"),
        _ => None,
    };
    Error::build_with_source(
        field.map(Into::into),
        "is invalid: the client was not built",
        e,
    )
}
