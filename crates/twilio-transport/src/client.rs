//! [`HttpClient`], the concrete client endpoint crates use, and its [`HttpClientBuilder`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use http::{Request, Response};
use http_body::Body;
use tower::util::{BoxCloneSyncService, Oneshot};
use tower::{Layer as _, Service, ServiceBuilder, ServiceExt as _};

use crate::auth::{AuthLayer, AuthService};
use crate::base_url::{BaseUrl, BaseUrlLayer, BaseUrlService};
use crate::body::{BodyLimitLayer, DEFAULT_MAX_RESPONSE_BODY_BYTES};
use crate::credentials::{Credentials, SharedCredentials};
use crate::environment::Location;
use crate::error::{BoxError, ConfigError, ConfigErrorKind, TransportError};
use crate::headers::{HeadersLayer, HeadersService, UserAgent};
use crate::retry::{RetryConfig, RetryLayer, RetryService};
use crate::trace::{TraceLayer, TraceService};

/// The client's whole stack, the public layers over [`Transport`], as [`stack`] composes them:
/// one concrete type, cloned per call (reference counts only, with the default transport; a
/// custom one's box is cloned too) and driven as `oneshot` drives any service.
type Stack = BaseUrlService<TraceService<RetryService<HeadersService<AuthService<Transport>>>>>;

/// What the stack sends through: [`BodyLimitLayer`] over the default hyper client, kept
/// concrete so that a call boxes nothing for it, or over any service given to
/// [`HttpClientBuilder::transport`], type-erased.
#[derive(Clone)]
enum Transport {
    #[cfg(feature = "default-client")]
    Default(crate::body::BodyLimitService<crate::default_client::DefaultTransport>),
    Custom(CustomTransport),
}

#[cfg(feature = "default-client")]
type DefaultTransportFuture = crate::body::BodyLimitFuture<
    crate::default_client::DefaultFuture,
    crate::default_client::DefaultBody,
>;
/// Without the default client there is only the custom case; this side is never built.
#[cfg(not(feature = "default-client"))]
type DefaultTransportFuture = std::future::Pending<Result<Response<Bytes>, TransportError>>;

/// A builder's custom transport (body limit included), type-erased once. Its readiness is
/// awaited through the stack's `poll_ready`, before the attempt and its timer start, as for any
/// tower service. (Each clone of the stack clones this box: one allocation per call and one more
/// for the retry's copy of the stack; an `Arc` around it would save them but move the readiness
/// wait into the attempt, where a timeout would look like a request possibly sent.)
type CustomTransport = BoxCloneSyncService<Request<Bytes>, Response<Bytes>, TransportError>;
type CustomFuture = <CustomTransport as Service<Request<Bytes>>>::Future;

impl Service<Request<Bytes>> for Transport {
    type Response = Response<Bytes>;
    type Error = TransportError;
    type Future = Either<DefaultTransportFuture, CustomFuture>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        match self {
            #[cfg(feature = "default-client")]
            Self::Default(transport) => transport.poll_ready(cx),
            Self::Custom(transport) => transport.poll_ready(cx),
        }
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        match self {
            #[cfg(feature = "default-client")]
            Self::Default(transport) => Either::Left(transport.call(request)),
            Self::Custom(transport) => Either::Right(transport.call(request)),
        }
    }
}

/// The future of [`HttpClient::send`]: the stack driven as `oneshot` drives it (ready, then
/// called on the first poll, so the span opens when the call starts), boxed once so that the
/// caller's future stays small.
type SendFuture = Pin<Box<Oneshot<Stack, Request<Bytes>>>>;

/// Default per-attempt timeout (Twilio's own server-side limit is 30 s).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default overall deadline across all attempts and back-off.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// The HTTP client endpoint crates send through. Cheap to clone (clones share the connection
/// pool, the retry budget and the credentials handle), `Send + Sync`, and its `Debug` shows no
/// secret.
///
/// A call goes, in order, through the public layers: [`BaseUrlLayer`] → [`TraceLayer`] →
/// [`RetryLayer`] (deadline-aware, one timer per attempt) → [`HeadersLayer`] → [`AuthLayer`] →
/// [`BodyLimitLayer`] → the transport; the same stack, composed with `tower::ServiceBuilder`,
/// behaves the same (see the crate docs).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    service: Stack,
    transport: Transport,
    settings: Settings,
    credentials: SharedCredentials,
}

#[derive(Clone, Debug)]
struct Settings {
    base_url: BaseUrl,
    user_agent: UserAgent,
    retry: RetryConfig,
    attempt_timeout: Duration,
    deadline: Duration,
    max_response_body_bytes: usize,
}

impl HttpClient {
    /// A builder with the defaults.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// Sends `request`, whose URI is a path and query (`/v1/Credentials/AWS?PageSize=50`) or an
    /// absolute URI on the base URL, and returns the final response **whatever its status**,
    /// with its body read into `Bytes`. Redirects are never followed.
    ///
    /// The returned future does not borrow the client (it is `Send + 'static`, so it can be
    /// spawned as it is); the call starts when it is first polled, and its `twilio.http` span
    /// then, under the span it is polled in. A URI that is not on the base URL fails the call
    /// with nothing sent (and no span).
    ///
    /// # Errors
    /// [`TransportError`] when no response could be had: URI rejected (nothing sent), connect
    /// failure, timeout, deadline, I/O error or body over the size limit, after any retries.
    pub fn send(
        &self,
        request: Request<Bytes>,
    ) -> impl Future<Output = Result<Response<Bytes>, TransportError>> + Send + use<> {
        let call: SendFuture = Box::pin(self.inner.service.clone().oneshot(request));
        call
    }

    /// The effective base URL (scheme and authority, after region/edge rewriting).
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.settings.base_url
    }

    /// The credentials handle; [`SharedCredentials::replace`] on it affects this client and every
    /// clone of it.
    pub fn credentials(&self) -> &SharedCredentials {
        &self.inner.credentials
    }

    /// The `User-Agent` sent.
    pub fn user_agent(&self) -> &str {
        self.inner.settings.user_agent.as_str()
    }

    /// The retry configuration.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.settings.retry
    }

    /// The per-attempt timeout.
    pub fn attempt_timeout(&self) -> Duration {
        self.inner.settings.attempt_timeout
    }

    /// The overall deadline of one call.
    pub fn deadline(&self) -> Duration {
        self.inner.settings.deadline
    }

    /// The maximum response body size.
    pub fn max_response_body_bytes(&self) -> usize {
        self.inner.settings.max_response_body_bytes
    }

    /// Same configuration, connection pool and retry budget, a separate credentials handle.
    pub fn with_credentials(&self, credentials: Credentials) -> HttpClient {
        let credentials = SharedCredentials::new(credentials);
        let transport = self.inner.transport.clone();
        HttpClient {
            inner: Arc::new(ClientInner {
                service: stack(&self.inner.settings, &credentials, transport.clone()),
                transport,
                settings: self.inner.settings.clone(),
                credentials,
            }),
        }
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.settings;
        f.debug_struct("HttpClient")
            .field("base_url", &s.base_url)
            .field("credentials", &self.inner.credentials)
            .field("user_agent", &s.user_agent.as_str())
            .field("retry", &s.retry)
            .field("attempt_timeout", &s.attempt_timeout)
            .field("deadline", &s.deadline)
            .field("max_response_body_bytes", &s.max_response_body_bytes)
            .finish()
    }
}

/// The client's stack: the public layers, in the order the crate docs explain, composed as a
/// user would compose them.
fn stack(settings: &Settings, credentials: &SharedCredentials, transport: Transport) -> Stack {
    ServiceBuilder::new()
        .layer(BaseUrlLayer::new(settings.base_url.clone()))
        .layer(TraceLayer::new())
        .layer(
            RetryLayer::new(settings.retry.clone())
                .deadline(settings.deadline)
                .attempt_timeout(settings.attempt_timeout)
                .resend_on_replaced(credentials.clone()),
        )
        .layer(HeadersLayer::new(settings.user_agent.clone()))
        .layer(AuthLayer::new(credentials.clone()))
        .service(transport)
}

/// Builds an [`HttpClient`]; every setter takes and returns `Self`, and everything is checked in
/// [`build`](Self::build).
#[derive(Clone)]
pub struct HttpClientBuilder {
    credentials: Option<SharedCredentials>,
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
    environment: Environment,
    attempt_timeout: Duration,
    deadline: Duration,
    retry: RetryConfig,
    user_agent_extensions: Vec<String>,
    max_response_body_bytes: usize,
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
    /// The default transport's proxy; `None`: the environment's, or none without
    /// `read_environment`.
    #[cfg(feature = "default-client")]
    proxy: Option<crate::Proxy>,
    /// A custom transport, type-erased with the body limit put around it in `build`.
    transport: Option<Arc<dyn Fn(usize) -> CustomTransport + Send + Sync>>,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        Self {
            credentials: None,
            base_url: None,
            region: None,
            edge: None,
            environment: Environment::Process,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            retry: RetryConfig::default(),
            user_agent_extensions: Vec::new(),
            max_response_body_bytes: DEFAULT_MAX_RESPONSE_BODY_BYTES,
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            #[cfg(feature = "default-client")]
            proxy: None,
            transport: None,
        }
    }
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HttpClientBuilder");
        d.field("credentials", &self.credentials)
            .field("base_url", &self.base_url.as_deref().map(redact_user_info))
            .field("region", &self.region)
            .field("edge", &self.edge)
            .field("environment", &self.environment)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("user_agent_extensions", &self.user_agent_extensions)
            .field("max_response_body_bytes", &self.max_response_body_bytes)
            .field("connect_timeout", &self.connect_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout);
        #[cfg(feature = "default-client")]
        d.field("proxy", &self.proxy);
        d.field("custom_transport", &self.transport.is_some())
            .finish()
    }
}

impl HttpClientBuilder {
    /// The credentials (required). Pass a [`SharedCredentials`] to keep a handle for hot swaps.
    pub fn credentials(mut self, credentials: impl Into<SharedCredentials>) -> Self {
        self.credentials = Some(credentials.into());
        self
    }

    /// Overrides the base URL (`https://host[:port]`; `http` only for loopback hosts), e.g. an
    /// emulator's `http://127.0.0.1:PORT`. Region and edge apply to it only if it is a
    /// `twilio.com` host.
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_owned());
        self
    }

    /// The Twilio region (`au1`, `ie1`, `us1`…); beats `TWILIO_REGION`.
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }

    /// The Twilio edge location (`sydney`, `dublin`…); beats `TWILIO_EDGE`. An edge without a
    /// region uses `us1`.
    pub fn edge(mut self, edge: &str) -> Self {
        self.edge = Some(edge.to_owned());
        self
    }

    /// Whether `build()` reads the process environment for the settings not given explicitly
    /// (default `true`): `TWILIO_ACCOUNTS_BASE_URL` for the base URL, `TWILIO_REGION` and
    /// `TWILIO_EDGE` for a `twilio.com` base URL (see [`environment`](crate::environment)), and,
    /// for the default transport, the proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`; see [`Proxy::from_env`](crate::Proxy::from_env)) unless
    /// [`proxy`](Self::proxy) is set.
    pub fn read_environment(mut self, yes: bool) -> Self {
        self.environment = if yes {
            Environment::Process
        } else {
            Environment::Off
        };
        self
    }

    /// Reads the variables [`read_environment`](Self::read_environment) names through `lookup`
    /// now, instead of the process environment at `build()` (a configuration held elsewhere, a
    /// test). Explicit settings still beat them; a bad value fails `build()`, naming the
    /// variable. The default transport still reads the proxy variables from the process
    /// (set [`proxy`](Self::proxy) to choose one).
    pub fn environment(mut self, lookup: impl FnMut(&str) -> Option<String>) -> Self {
        self.environment = Environment::Given(Location::read(lookup));
        self
    }

    /// The per-attempt timeout, covering the whole response body (default 30 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The overall deadline of one call across all attempts and back-off (default 60 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The retry configuration (default [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Appends an extension to the `User-Agent` (visible ASCII, no spaces), e.g. `my-app/1.2`.
    pub fn user_agent_extension(mut self, extension: &str) -> Self {
        self.user_agent_extensions.push(extension.to_owned());
        self
    }

    /// The maximum response body size in bytes (default 4 MiB).
    pub fn max_response_body_bytes(mut self, max: usize) -> Self {
        self.max_response_body_bytes = max;
        self
    }

    /// The connect timeout of the default transport, TCP connect and TLS handshake together
    /// (default 10 s). A connection not ready in time is a connect error, retried for every
    /// method since the request never left.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long the default transport keeps an idle pooled connection (default 90 s, at most a
    /// day: a longer one is a configuration error).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The default transport's proxy, instead of the environment's: [`Proxy::url`] for one
    /// proxy, [`Proxy::none`] for none.
    ///
    /// [`Proxy::url`]: crate::Proxy::url
    /// [`Proxy::none`]: crate::Proxy::none
    #[cfg(feature = "default-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "default-client")))]
    pub fn proxy(mut self, proxy: crate::Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Sends through `service` instead of the default transport: any `tower::Service` over
    /// `http` types (another client, a proxy, a recorder, a test double). Its response body is
    /// read with the size limit; its errors become [`TransportError`]s (return
    /// [`TransportError::connect`] for "never sent" so every method may be retried).
    /// Wrap a service that is not `Clone` in `tower::buffer::Buffer`.
    pub fn transport<S, B>(mut self, service: S) -> Self
    where
        S: Service<Request<Bytes>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.transport = Some(Arc::new(move |max| {
            BoxCloneSyncService::new(BodyLimitLayer::new(max).layer(service.clone()))
        }));
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    /// [`ConfigError`]: missing credentials, invalid or insecure base URL, invalid region/edge,
    /// invalid user-agent extension, zero timeout or body limit, a pool idle timeout over a day,
    /// TLS set-up failure, or no
    /// transport (without the `default-client` feature).
    pub fn build(self) -> Result<HttpClient, ConfigError> {
        let credentials = self.credentials.clone().ok_or_else(|| {
            ConfigError::new(
                ConfigErrorKind::MissingCredentials,
                "credentials are required",
            )
        })?;
        if self.attempt_timeout.is_zero()
            || self.deadline.is_zero()
            || self.connect_timeout.is_zero()
        {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidLimit,
                "timeouts must be greater than zero",
            ));
        }
        if self.max_response_body_bytes == 0 {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidLimit,
                "the response body limit must be greater than zero",
            ));
        }
        let location = match &self.environment {
            Environment::Process => Location::read(|name| std::env::var(name).ok()),
            Environment::Given(location) => location.clone(),
            Environment::Off => Location::default(),
        };
        let base_url = location.base_url(
            self.base_url.as_deref(),
            self.region.as_deref(),
            self.edge.as_deref(),
        )?;
        let user_agent = UserAgent::new(&self.user_agent_extensions)?;

        let transport = match &self.transport {
            Some(erase) => Transport::Custom(erase(self.max_response_body_bytes)),
            None => default_transport(&self)?,
        };
        let settings = Settings {
            base_url,
            user_agent,
            retry: self.retry,
            attempt_timeout: self.attempt_timeout,
            deadline: self.deadline,
            max_response_body_bytes: self.max_response_body_bytes,
        };
        Ok(HttpClient {
            inner: Arc::new(ClientInner {
                service: stack(&settings, &credentials, transport.clone()),
                transport,
                settings,
                credentials,
            }),
        })
    }
}

/// Where `build()` takes the settings the environment may give.
#[derive(Clone)]
enum Environment {
    /// The process environment, read at `build()`.
    Process,
    /// Variables read through a lookup given to [`HttpClientBuilder::environment`].
    Given(Location),
    /// None.
    Off,
}

impl fmt::Debug for Environment {
    /// Which source, not the values: a base URL given there may hold a password until `build()`
    /// refuses it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Process => "Process",
            Self::Given(_) => "Given",
            Self::Off => "Off",
        })
    }
}

#[cfg(feature = "default-client")]
fn default_transport(settings: &HttpClientBuilder) -> Result<Transport, ConfigError> {
    let proxy = match (&settings.proxy, &settings.environment) {
        (Some(proxy), _) => proxy.clone(),
        (None, Environment::Off) => crate::Proxy::none(),
        // The proxy variables always come from the process, as curl and reqwest read them.
        (None, Environment::Process | Environment::Given(_)) => crate::Proxy::from_env(),
    };
    let transport = crate::default_client::DefaultTransport::with_proxy(
        settings.connect_timeout,
        settings.pool_idle_timeout,
        proxy,
    )?;
    Ok(Transport::Default(
        BodyLimitLayer::new(settings.max_response_body_bytes).layer(transport),
    ))
}

#[cfg(not(feature = "default-client"))]
fn default_transport(_settings: &HttpClientBuilder) -> Result<Transport, ConfigError> {
    Err(ConfigError::new(
        ConfigErrorKind::MissingTransport,
        "no transport: enable the `default-client` feature or call `transport(..)`",
    ))
}

/// `url` with any user info (`user:password@`) replaced, for `Debug`: `build()` refuses such
/// a base URL, but until then the builder holds the raw string, password included.
fn redact_user_info(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!("{}<redacted>{}", &url[..authority_start], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canned_builder() -> HttpClientBuilder {
        let account =
            twilio_types::AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        let token = twilio_types::AuthToken::new("0123456789abcdef0123456789abcdef").unwrap();
        HttpClient::builder()
            .credentials(Credentials::from_auth_token(account, token).unwrap())
            .read_environment(false)
            .transport(tower::service_fn(|_: Request<Bytes>| async {
                Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(
                    Bytes::new(),
                )))
            }))
    }

    fn canned_client() -> HttpClient {
        canned_builder().build().unwrap()
    }

    fn request() -> Request<Bytes> {
        Request::get("/v1/Credentials/AWS")
            .body(Bytes::new())
            .unwrap()
    }

    /// The span starts with the call, as a tower layer's would: under the span the caller polls
    /// the call in, not the one current when `send` was called, and not at all for a call that
    /// is never polled.
    #[test]
    fn the_call_span_opens_when_the_call_starts() {
        use tracing::Instrument as _;
        let client = canned_client();
        let out = crate::trace::tests::capture(|| async {
            client
                .send(request())
                .instrument(tracing::info_span!("outer"))
                .await
                .unwrap();
        });
        assert!(out.contains("outer:twilio.http{"), "{out}");

        let out = crate::trace::tests::capture(|| async {
            let call = {
                let _caller = tracing::info_span!("caller").entered();
                client.send(request())
            };
            call.await.unwrap();
        });
        assert!(
            out.contains("twilio.http{") && !out.contains("caller:twilio.http"),
            "{out}"
        );

        let out = crate::trace::tests::capture(|| async {
            drop(client.send(request()));
        });
        assert!(!out.contains("twilio.http"), "{out}");
    }

    #[test]
    fn builder_debug_redacts_base_url_user_info() {
        for (url, shown) in [
            (
                "https://user:hunter2@example.com/x",
                "https://<redacted>@example.com/x",
            ),
            (
                "http://hunter2@127.0.0.1:4010",
                "http://<redacted>@127.0.0.1:4010",
            ),
            ("user:hunter2@host", "<redacted>@host"),
            (
                "https://a@b:hunter2@host?q=1@2",
                "https://<redacted>@host?q=1@2",
            ),
            (
                "http://127.0.0.1:4010/v1?x=a@b",
                "http://127.0.0.1:4010/v1?x=a@b",
            ),
            ("", ""),
        ] {
            assert_eq!(redact_user_info(url), shown, "{url}");
            let debug = format!("{:?}", HttpClient::builder().base_url(url));
            assert!(!debug.contains("hunter2"), "{debug}");
        }
    }

    proptest::proptest! {
        #[test]
        fn redaction_never_panics_and_hides_the_user_info(
            user in "[a-z0-9:]{0,12}",
            host in "[a-z0-9.:]{0,12}",
            tail in "[/?#a-z@]{0,12}",
        ) {
            let url = format!("https://{user}SECRET@{host}{tail}");
            proptest::prop_assert!(!redact_user_info(&url).contains("SECRET"));
            let _ = redact_user_info(&tail);
        }
    }

    #[test]
    fn public_types_are_send_sync_and_the_call_future_is_send() {
        fn send_sync<T: Send + Sync + 'static>() {}
        fn clone<T: Clone>() {}
        send_sync::<HttpClient>();
        send_sync::<HttpClientBuilder>();
        send_sync::<Credentials>();
        send_sync::<SharedCredentials>();
        send_sync::<TransportError>();
        send_sync::<ConfigError>();
        send_sync::<crate::CredentialsError>();
        send_sync::<RetryConfig>();
        clone::<HttpClient>();
        clone::<HttpClientBuilder>();
        fn send_future<F: std::future::Future + Send>(_: F) {}
        fn check(client: &HttpClient) {
            send_future(client.send(Request::new(Bytes::new())));
        }
        let _ = check;
    }

    #[test]
    fn a_given_environment_replaces_the_process_one_and_hides_its_values() {
        let vars = |name: &str| match name {
            "TWILIO_ACCOUNTS_BASE_URL" => Some("https://user:hunter2@example.com".to_owned()),
            _ => None,
        };
        let builder = canned_builder().environment(vars);
        assert!(!format!("{builder:?}").contains("hunter2"));
        let e = builder.build().unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::InvalidBaseUrl);
        let client = canned_builder()
            .environment(|name| {
                (name == "TWILIO_ACCOUNTS_BASE_URL").then(|| "http://127.0.0.1:4010".to_owned())
            })
            .build()
            .unwrap();
        assert_eq!(client.base_url().to_string(), "http://127.0.0.1:4010");
        // The last word wins: reading turned off after a lookup was given.
        let client = canned_builder()
            .environment(|name| (name == "TWILIO_REGION").then(|| "au1".to_owned()))
            .read_environment(false)
            .build()
            .unwrap();
        assert_eq!(client.base_url().to_string(), "https://accounts.twilio.com");
    }
}
