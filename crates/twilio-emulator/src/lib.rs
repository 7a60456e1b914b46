//! A stateful local emulator of Twilio's Accounts v1 API, for tests.
//!
//! Start it in-process, point any Twilio client at [`Emulator::base_url`], authenticate with
//! [`Emulator::account_sid`] and [`Emulator::auth_token`], and watch auth-token rotation and
//! the other Accounts v1 operations happen with real state:
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use twilio_emulator::Emulator;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = Emulator::builder().start().await?; // 127.0.0.1, a free port
//! let old_primary = emulator.auth_token();
//!
//! // Any HTTP client works; here, raw HTTP/1.1 over TCP.
//! let mut tcp = tokio::net::TcpStream::connect(emulator.local_addr()).await?;
//! let request = format!(
//!     "POST /v1/AuthTokens/Secondary HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
//!      Content-Length: 0\r\nConnection: close\r\n\r\n",
//!     emulator.local_addr(),
//!     emulator.basic_auth_header(),
//! );
//! tcp.write_all(request.as_bytes()).await?;
//! let mut response = String::new();
//! tcp.read_to_string(&mut response).await?;
//! assert!(response.starts_with("HTTP/1.1 201 Created"));
//! assert!(emulator.secondary_auth_token().is_some());
//! assert_eq!(emulator.auth_token().expose_secret(), old_primary.expose_secret());
//!
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Or run it as a program: `cargo run -p twilio-emulator -- --port 4010` prints the base
//! URL and the generated credentials and serves until Ctrl-C.
//!
//! # What it emulates
//!
//! All 20 operations of the Accounts v1 OpenAPI document, with state per account, and the
//! Compliance Signals check that only twilio-node 6.3.1 has yet (21 in all):
//!
//! * **Auth tokens** (`/v1/AuthTokens/Secondary`, `/v1/AuthTokens/Promote`). Creating a
//!   secondary token returns a fresh random 32-hex-digit token; creating again *replaces*
//!   the existing secondary (Twilio's documentation does not say; one secondary slot that
//!   the newest request wins is what its Console shows). Deleting answers 204, or 404
//!   (error 20404) when there is none. Promoting answers 200 with the new primary; from that
//!   moment the old primary is refused (401, error 20003) and the secondary slot is empty;
//!   404 (20404) when there is no secondary. The optional `SuppressEmailNotification` (form
//!   field on create and promote, query parameter on delete) must be `true` or `false`;
//!   unsuppressed changes are counted by [`Emulator::email_notifications`].
//! * **Credentials** (AWS and public keys): create (`Credentials` must look like
//!   `ID:SECRET`, `PublicKey` must be PEM-armoured, `FriendlyName` ≤ 64 characters,
//!   `AccountSid` must match `^AC[0-9a-fA-F]{32}$`), fetch, update, delete and list with
//!   `PageSize` (1–1000, default 50), `Page` and `PageToken`, and `meta` URLs on the
//!   emulator's own base URL.
//! * **SafeList**: add (adding an existing number returns the existing entry), fetch and
//!   remove by `PhoneNumber` (E.164 or a 1k prefix: `+` and 4–15 digits).
//! * **Bulk consents and contacts**: up to 25 `Items` per request (repeated form keys, each
//!   a JSON-encoded object); each item is validated on its own and answered with
//!   `error_code` 0, or 30646 (consents) / 30647 (contacts) and messages such as
//!   `INVALID_CONTACT_ID` or `INVALID_DATE_OF_CONSENT`. Valid items are upserted.
//! * **Messaging geo permissions**: a table of 51 countries (US and CA enabled at start);
//!   `GET` with an optional comma-separated `CountryCode`; `PATCH` with repeated
//!   `Permissions` objects; high-risk countries (BD, LK, NG, PK) cannot change (30649).
//! * **Compliance Signals check** (`POST /v1/ComplianceSignals/Check`, JSON body and
//!   answer with camelCase keys): quiet hours from a [configurable clock](ComplianceSignals)
//!   and a small built-in table of US area codes and ZIP prefixes. **A test double, not a
//!   compliance engine**: the rule is 21:00–08:00 recipient-local time (US federal daylight
//!   saving rule) for non-essential use cases (`EDUCATION`, `EVENTS`, `POLLING`,
//!   `ANNOUNCEMENTS`, `MARKETING`, or a `body` without a `useCase`); `OTP`,
//!   `NOTIFICATIONS`, `FRAUD`, `SECURITY`, `CUSTOMERCARE` and `DELIVERY` are essential and
//!   exempt. `reason` is `QUIET_HOURS_ACTIVE`, `OUTSIDE_QUIET_HOURS` (both with a
//!   `sendingWindow`), `USE_CASE_EXEMPT`, `LOCATION_UNKNOWN` (a number or ZIP outside the
//!   table; `stateCode` and `evaluatedUseCase` null) or `FORCED_BY_EMULATOR` (see
//!   [`ComplianceSignals::force_quiet_hours`]). These `reason` names are the emulator's:
//!   twilio-node documents the field as free text. Answers 201.
//!
//! Every request needs HTTP Basic auth: an account SID with its primary or (propagated)
//! secondary token, or an API key SID (`SK…`) with its secret; comparison is constant-time.
//! Responses carry `Content-Type: application/json` and `Twilio-Request-Id: RQ…` (32
//! random hex digits); 200 and 201 responses also carry the CORS headers the spec declares
//! (`Access-Control-Allow-Origin: *` and the other four), and a CORS preflight (`OPTIONS`,
//! no credentials) on a path the API serves answers 204 with the same headers and `Allow`.
//!
//! # Errors it answers
//!
//! Twilio's body `{code, message, more_info, status}`:
//!
//! | Condition | Status | Code |
//! | --- | --- | --- |
//! | missing or wrong credentials (checked first) | 401 + `WWW-Authenticate` | 20003 |
//! | unknown path, or a malformed SID in the path | 404 | 20404 |
//! | unknown resource instance | 404 | 20404 |
//! | method not allowed on a known path | 405 + `Allow` | 20004 |
//! | missing or invalid parameter (named in `message`) | 400 | 20001 |
//! | `PageSize` over 1000 | 400 | 20007 |
//! | malformed form or query (bad `%` escape, not UTF-8) | 400 | 20001 |
//! | body over the limit ([`EmulatorBuilder::max_body_bytes`]) | 413 | 20001 |
//! | a body that is not `application/x-www-form-urlencoded` (`application/json` for the Compliance Signals check) | 415 | 20001 |
//! | rate limit ([`RateLimit`]) | 429 + `Retry-After` | 20429 |
//! | injected status *s* ([`Fault::status`]) | *s* | 20000 + *s* |
//! | URI over 64 KiB | 414 | 20414 |
//! | request head over about 400 KiB, or more than 100 headers | 431 | 20431 |
//! | bytes that are not HTTP/1.1 | 400 | 20001 |
//!
//! The last three are refused by the HTTP layer before routing, and close the connection
//! (`Connection: close`), as 413 does. No input makes the emulator panic or answer 5xx,
//! except faults you inject. A client that sends half a request and stalls holds only its
//! own connection; shutdown closes it after the
//! [grace period](EmulatorBuilder::shutdown_grace). The guide (`docs/guide/emulator.md`)
//! lists every known difference from Twilio's documented behaviour, with the reason.
//!
//! # Fault knobs
//!
//! [`Emulator::faults`] (and the builder) add latency, a rate limit, injected error
//! statuses and connection resets (before or after the request is processed, on the next
//! *N* requests, at a rate, optionally only for one method and path), and a propagation
//! delay for new secondary tokens. See [`Faults`].
//!
//! # Test endpoints
//!
//! Off by default. [`EmulatorBuilder::test_endpoints`] (`--test-endpoints`) serves `GET
//! /__emulator/tokens` (the main account's token fingerprints, never the tokens) and `PUT
//! /__emulator/latency?ms=N`, for tests that run the emulator as a separate process.
//!
//! # What it does not emulate
//!
//! Subaccounts (an `AccountSid` parameter is only checked for its format), e-mail,
//! Twilio's other products, TLS, HTTP/2, regions and edges. Tokens, SIDs and state live in
//! memory and vanish when the emulator stops.

mod api;
mod compliance;
mod error;
mod faults;
mod form;
mod quiet_hours;
mod random;
mod refused;
mod server;
mod state;
mod test_endpoints;
mod validate;
mod webhook;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

pub use crate::compliance::ComplianceSignals;
pub use crate::error::{Error, ErrorKind};
pub use crate::faults::{Fault, FaultAction, Faults, RateLimit};

use crate::server::Shared;
use crate::state::{Account, Registry};
use crate::validate::COUNTRIES;

/// The default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The default [shutdown grace period](EmulatorBuilder::shutdown_grace): 5 seconds.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Configuration for an [`Emulator`]; from [`Emulator::builder`].
///
/// Every setter takes and returns `Self`. Nothing is checked until [`start`](Self::start).
pub struct EmulatorBuilder {
    host: IpAddr,
    port: u16,
    account: Option<(AccountSid, AuthToken)>,
    extra_accounts: Vec<(AccountSid, AuthToken)>,
    api_keys: Vec<(ApiKeySid, ApiKeySecret)>,
    max_body_bytes: usize,
    shutdown_grace: Duration,
    latency: Duration,
    rate_limit: Option<RateLimit>,
    propagation_delay: Duration,
    faults: Vec<Fault>,
    fault_seed: Option<u64>,
    compliance_clock: Option<time::OffsetDateTime>,
    forced_quiet_hours: Option<bool>,
    test_endpoints: bool,
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("account", &self.account.as_ref().map(|(sid, _)| sid))
            .field("extra_accounts", &self.extra_accounts.len())
            .field(
                "api_keys",
                &self.api_keys.iter().map(|(sid, _)| sid).collect::<Vec<_>>(),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("latency", &self.latency)
            .field("rate_limit", &self.rate_limit)
            .field("propagation_delay", &self.propagation_delay)
            .field("faults", &self.faults)
            .field("compliance_clock", &self.compliance_clock)
            .field("forced_quiet_hours", &self.forced_quiet_hours)
            .field("test_endpoints", &self.test_endpoints)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            account: None,
            extra_accounts: Vec::new(),
            api_keys: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            latency: Duration::ZERO,
            rate_limit: None,
            propagation_delay: Duration::ZERO,
            faults: Vec::new(),
            fault_seed: None,
            compliance_clock: None,
            forced_quiet_hours: None,
            test_endpoints: false,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on. Default `127.0.0.1`.
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port to listen on. Default 0: a free port chosen by the OS.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Fixes the main account's SID and primary token (for reproducible tests). By default
    /// both are random.
    pub fn account(mut self, sid: AccountSid, auth_token: AuthToken) -> Self {
        self.account = Some((sid, auth_token));
        self
    }

    /// Adds another account with a fixed SID and primary token.
    pub fn extra_account(mut self, sid: AccountSid, auth_token: AuthToken) -> Self {
        self.extra_accounts.push((sid, auth_token));
        self
    }

    /// Adds an API key (`SK…` + secret) that authenticates as the main account.
    pub fn api_key(mut self, sid: ApiKeySid, secret: ApiKeySecret) -> Self {
        self.api_keys.push((sid, secret));
        self
    }

    /// The largest request body accepted; larger ones answer 413. Default
    /// [`DEFAULT_MAX_BODY_BYTES`]; must be at least 1.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// How long [`Emulator::shutdown`] (and dropping the handle) lets requests in flight
    /// finish before it closes their connections; this includes clients that have sent half
    /// a request and stalled. Default [`DEFAULT_SHUTDOWN_GRACE`] (5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Initial added latency (see [`Faults::set_latency`]).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Initial rate limit (see [`Faults::set_rate_limit`]).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Initial propagation delay for new secondary tokens (see
    /// [`Faults::set_propagation_delay`]).
    pub fn propagation_delay(mut self, delay: Duration) -> Self {
        self.propagation_delay = delay;
        self
    }

    /// An initial fault rule (see [`Faults::inject`]).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Seeds the random source of [`Fault::probability`], for reproducible runs. By
    /// default the seed is random.
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = Some(seed);
        self
    }

    /// Fixes the time the Compliance Signals check evaluates at (see
    /// [`ComplianceSignals::set_clock`]). By default it follows the system clock.
    pub fn compliance_clock(mut self, now: time::OffsetDateTime) -> Self {
        self.compliance_clock = Some(now);
        self
    }

    /// Forces `isActive` of every Compliance Signals check (see
    /// [`ComplianceSignals::force_quiet_hours`]). By default the rule decides.
    pub fn force_quiet_hours(mut self, active: bool) -> Self {
        self.forced_quiet_hours = Some(active);
        self
    }

    /// Serves the test endpoints under `/__emulator/` (default: off): `GET
    /// /__emulator/tokens` answers the fingerprints (as `twilio_store::TokenFingerprint`)
    /// of the main account's tokens (never the tokens), and `PUT /__emulator/latency?ms=N`
    /// sets the [latency](Faults::set_latency). For tests that run the emulator as a separate
    /// process (`twilio-emulator --test-endpoints`); see `docs/guide/emulator.md`.
    pub fn test_endpoints(mut self, enabled: bool) -> Self {
        self.test_endpoints = enabled;
        self
    }

    /// Binds the socket and starts serving on the current Tokio runtime.
    ///
    /// Must be called from within a Tokio runtime (the server runs as spawned tasks).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Bind`] when the address cannot be bound; [`ErrorKind::InvalidConfig`]
    /// for a zero body limit, an invalid injected status or a SID used twice;
    /// [`ErrorKind::Random`] when the OS random number generator fails.
    pub async fn start(self) -> Result<Emulator, Error> {
        if self.max_body_bytes == 0 {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "max_body_bytes must be at least 1",
            ));
        }
        let seed = match self.fault_seed {
            Some(seed) => seed,
            None => {
                let mut bytes = [0u8; 8];
                getrandom::getrandom(&mut bytes).map_err(random_error)?;
                u64::from_le_bytes(bytes)
            }
        };
        let faults = Faults::new(seed);
        faults.set_latency(self.latency);
        faults.set_propagation_delay(self.propagation_delay);
        faults.set_rate_limit(self.rate_limit);
        for fault in self.faults {
            faults.inject(fault)?;
        }

        let registry = Registry::default();
        let now = api::now_utc();
        let (sid, token) = match self.account {
            Some(pair) => pair,
            None => random_account()?,
        };
        let main = registry.insert_account(Account::new(sid, token, now));
        for (sid, token) in self.extra_accounts {
            if registry.contains(sid.as_str()) {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("account {sid} is configured twice"),
                ));
            }
            registry.insert_account(Account::new(sid, token, now));
        }
        for (key, secret) in self.api_keys {
            if registry.contains(key.as_str()) {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("API key {key} is configured twice"),
                ));
            }
            registry.insert_api_key(&key, secret, Arc::clone(&main));
        }

        let addr = SocketAddr::new(self.host, self.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::with_source(ErrorKind::Bind, format!("cannot bind {addr}"), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::with_source(ErrorKind::Bind, "cannot read the bound address", e))?;
        let shown = if local_addr.ip().is_unspecified() {
            let loopback = match local_addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(loopback, local_addr.port())
        } else {
            local_addr
        };
        let compliance = ComplianceSignals::default();
        compliance.set_clock(self.compliance_clock);
        compliance.force_quiet_hours(self.forced_quiet_hours);
        let shared = Arc::new(Shared {
            registry,
            faults,
            compliance,
            base_url: format!("http://{shown}"),
            max_body_bytes: self.max_body_bytes,
            request_count: AtomicU64::new(0),
            test_endpoints: self.test_endpoints.then(|| Arc::clone(&main)),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            Arc::clone(&shared),
            shutdown_rx,
            self.shutdown_grace,
        ));
        let account_sid = state::lock(&main).sid;
        tracing::debug!(base_url = %shared.base_url, %account_sid, "twilio emulator started");
        Ok(Emulator {
            shared,
            main,
            account_sid,
            local_addr,
            shutdown,
            task: Some(task),
        })
    }
}

fn random_error(e: getrandom::Error) -> Error {
    Error::with_source(
        ErrorKind::Random,
        "the OS random number generator failed",
        e,
    )
}

fn random_account() -> Result<(AccountSid, AuthToken), Error> {
    let sid = random::hex32("AC").map_err(random_error)?;
    let sid = AccountSid::parse(&sid).map_err(|e| {
        Error::with_source(ErrorKind::Random, "generated an invalid account SID", e)
    })?;
    let token = random::hex32("").map_err(random_error)?;
    let token = AuthToken::new(token)
        .map_err(|e| Error::with_source(ErrorKind::Random, "generated an invalid token", e))?;
    Ok((sid, token))
}

/// A running emulator. Dropping it stops the server (in the background);
/// [`shutdown`](Self::shutdown) stops it and waits.
pub struct Emulator {
    shared: Arc<Shared>,
    main: Arc<Mutex<Account>>,
    account_sid: AccountSid,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.shared.base_url)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

/// An API key (`SK…` SID and secret) created by [`Emulator::add_api_key`].
#[derive(Debug, Clone)]
pub struct ApiKey {
    sid: ApiKeySid,
    secret: ApiKeySecret,
}

impl ApiKey {
    /// The key's SID, the Basic-auth username.
    pub fn sid(&self) -> ApiKeySid {
        self.sid
    }

    /// The key's secret, the Basic-auth password.
    pub fn secret(&self) -> &ApiKeySecret {
        &self.secret
    }
}

/// A consent stored by `POST /v1/Consents/Bulk` (upserted per contact and sender).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsentRecord {
    /// The contact's E.164 number.
    pub contact_id: String,
    /// The Messaging Service SID, number or short code the consent is for.
    pub sender_id: String,
    /// `opt-in` or `opt-out`.
    pub status: String,
    /// How the consent was collected (`website`, `offline`, ...).
    pub source: String,
    /// The RFC 3339 time of consent, when given.
    pub date_of_consent: Option<String>,
}

/// A contact stored by `POST /v1/Contacts/Bulk` (upserted per contact).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContactRecord {
    /// The contact's E.164 number.
    pub contact_id: String,
    /// The ISO country code, upper case, when given.
    pub country_iso_code: Option<String>,
    /// The postal code, when given.
    pub zip_code: Option<String>,
}

/// A consistent copy of one account's state, from [`Emulator::snapshot`].
///
/// `Debug` redacts the tokens (they are [`AuthToken`]s).
#[derive(Debug, Clone)]
pub struct AccountSnapshot {
    account_sid: AccountSid,
    auth_token: AuthToken,
    secondary_auth_token: Option<AuthToken>,
    email_notifications: u64,
    aws_credentials: Vec<String>,
    public_key_credentials: Vec<String>,
    safelist: Vec<String>,
    consents: Vec<ConsentRecord>,
    contacts: Vec<ContactRecord>,
    enabled_countries: Vec<String>,
}

impl AccountSnapshot {
    fn of(account: &Account) -> Self {
        let sids = |store: &state::CredentialStore| {
            store
                .page_after(None, usize::MAX)
                .into_iter()
                .map(|(_, c)| c.sid.clone())
                .collect()
        };
        Self {
            account_sid: account.sid,
            auth_token: account.primary.value.clone(),
            secondary_auth_token: account.secondary.as_ref().map(|t| t.value.clone()),
            email_notifications: account.email_notifications,
            aws_credentials: sids(&account.aws),
            public_key_credentials: sids(&account.public_keys),
            safelist: account.safelist.keys().cloned().collect(),
            consents: {
                let mut v: Vec<_> = account
                    .consents
                    .iter()
                    .map(|((contact_id, sender_id), c)| ConsentRecord {
                        contact_id: contact_id.clone(),
                        sender_id: sender_id.clone(),
                        status: c.status.clone(),
                        source: c.source.clone(),
                        date_of_consent: c.date_of_consent.clone(),
                    })
                    .collect();
                v.sort_by(|a, b| (&a.contact_id, &a.sender_id).cmp(&(&b.contact_id, &b.sender_id)));
                v
            },
            contacts: {
                let mut v: Vec<_> = account
                    .contacts
                    .iter()
                    .map(|(contact_id, c)| ContactRecord {
                        contact_id: contact_id.clone(),
                        country_iso_code: c.country_iso_code.clone(),
                        zip_code: c.zip_code.clone(),
                    })
                    .collect();
                v.sort_by(|a, b| a.contact_id.cmp(&b.contact_id));
                v
            },
            enabled_countries: COUNTRIES
                .iter()
                .zip(&account.geo)
                .filter(|(_, enabled)| **enabled)
                .map(|(c, _)| c.code.to_owned())
                .collect(),
        }
    }

    /// The account SID.
    pub fn account_sid(&self) -> AccountSid {
        self.account_sid
    }

    /// The primary auth token.
    pub fn auth_token(&self) -> &AuthToken {
        &self.auth_token
    }

    /// The secondary auth token, if one exists.
    pub fn secondary_auth_token(&self) -> Option<&AuthToken> {
        self.secondary_auth_token.as_ref()
    }

    /// Token-change notification e-mails Twilio would have sent (changes without
    /// `SuppressEmailNotification=true`).
    pub fn email_notifications(&self) -> u64 {
        self.email_notifications
    }

    /// SIDs of the AWS credentials, in creation order.
    pub fn aws_credentials(&self) -> &[String] {
        &self.aws_credentials
    }

    /// SIDs of the public-key credentials, in creation order.
    pub fn public_key_credentials(&self) -> &[String] {
        &self.public_key_credentials
    }

    /// SafeList numbers and prefixes, sorted.
    pub fn safelist(&self) -> &[String] {
        &self.safelist
    }

    /// Stored consents (the latest per contact and sender), sorted by contact and sender.
    pub fn consents(&self) -> &[ConsentRecord] {
        &self.consents
    }

    /// Stored contacts, sorted by contact.
    pub fn contacts(&self) -> &[ContactRecord] {
        &self.contacts
    }

    /// ISO codes of the countries with messaging geo permission enabled, sorted.
    pub fn enabled_countries(&self) -> &[String] {
        &self.enabled_countries
    }
}

impl Emulator {
    /// A builder with the defaults: 127.0.0.1, a free port, a random account.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with the defaults; `Emulator::builder().start()`.
    ///
    /// # Errors
    ///
    /// As [`EmulatorBuilder::start`].
    pub async fn start() -> Result<Self, Error> {
        Self::builder().start().await
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The main account's SID.
    pub fn account_sid(&self) -> AccountSid {
        self.account_sid
    }

    /// The main account's *current* primary token (it changes when a secondary token is
    /// promoted).
    pub fn auth_token(&self) -> AuthToken {
        state::lock(&self.main).primary.value.clone()
    }

    /// The main account's secondary token, if one exists.
    pub fn secondary_auth_token(&self) -> Option<AuthToken> {
        state::lock(&self.main)
            .secondary
            .as_ref()
            .map(|t| t.value.clone())
    }

    /// `Basic …` for the main account and its current primary token, ready for an
    /// `Authorization` header in raw-HTTP tests. It contains the (local, test-only) token.
    pub fn basic_auth_header(&self) -> String {
        let credentials = format!(
            "{}:{}",
            self.account_sid.as_str(),
            self.auth_token().expose_secret()
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    /// The `X-Twilio-Signature` Twilio would send with a webhook to `url` carrying the form
    /// `params` (none for a GET or a `bodySHA256` webhook): HMAC-SHA1 with the main account's
    /// primary token **at this instant**, so that webhook receivers can be tested while a
    /// rotation promotes a new token.
    pub fn sign_webhook(&self, url: &str, params: &[(&str, &str)]) -> String {
        webhook::sign(self.auth_token().expose_secret(), url, params)
    }

    /// Token-change e-mails Twilio would have sent for the main account.
    pub fn email_notifications(&self) -> u64 {
        state::lock(&self.main).email_notifications
    }

    /// A consistent copy of the main account's state.
    pub fn snapshot(&self) -> AccountSnapshot {
        AccountSnapshot::of(&state::lock(&self.main))
    }

    /// A consistent copy of any account's state, or `None` for an unknown SID.
    pub fn account_snapshot(&self, sid: &AccountSid) -> Option<AccountSnapshot> {
        let account = self.shared.registry.account(sid.as_str())?;
        let snapshot = AccountSnapshot::of(&state::lock(&account));
        Some(snapshot)
    }

    /// Adds an account with a random SID and token; returns its snapshot.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Random`] when the OS random number generator fails.
    pub fn add_account(&self) -> Result<AccountSnapshot, Error> {
        let (sid, token) = random_account()?;
        let account = Account::new(sid, token, api::now_utc());
        let snapshot = AccountSnapshot::of(&account);
        self.shared.registry.insert_account(account);
        Ok(snapshot)
    }

    /// Adds an account with a fixed SID and token.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] when the SID is already in use.
    pub fn add_account_with(&self, sid: AccountSid, auth_token: AuthToken) -> Result<(), Error> {
        if self.shared.registry.contains(sid.as_str()) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("account {sid} exists"),
            ));
        }
        self.shared
            .registry
            .insert_account(Account::new(sid, auth_token, api::now_utc()));
        Ok(())
    }

    /// Creates a random API key for `account`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownAccount`] for an unknown account; [`ErrorKind::Random`] when the
    /// OS random number generator fails.
    pub fn add_api_key(&self, account: &AccountSid) -> Result<ApiKey, Error> {
        let target = self
            .shared
            .registry
            .account(account.as_str())
            .ok_or_else(|| {
                Error::new(ErrorKind::UnknownAccount, format!("no account {account}"))
            })?;
        let sid = random::hex32("SK").map_err(random_error)?;
        let sid = ApiKeySid::parse(&sid).map_err(|e| {
            Error::with_source(ErrorKind::Random, "generated an invalid key SID", e)
        })?;
        let secret = random::hex32("").map_err(random_error)?;
        let secret = ApiKeySecret::new(secret)
            .map_err(|e| Error::with_source(ErrorKind::Random, "generated an invalid secret", e))?;
        self.shared
            .registry
            .insert_api_key(&sid, secret.clone(), target);
        Ok(ApiKey { sid, secret })
    }

    /// The runtime fault knobs.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// The Compliance Signals check's knobs (clock, forced answer).
    pub fn compliance_signals(&self) -> ComplianceSignals {
        self.shared.compliance.clone()
    }

    /// The number of HTTP requests received so far (every request, whatever its outcome).
    pub fn request_count(&self) -> u64 {
        self.shared.request_count.load(Ordering::Relaxed)
    }

    /// Stops accepting connections, lets in-flight requests finish (for up to the
    /// [grace period](EmulatorBuilder::shutdown_grace), then closes what is left), and waits
    /// until the server has stopped.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
