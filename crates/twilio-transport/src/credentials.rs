//! [`Credentials`] (one account's HTTP Basic pair) and [`SharedCredentials`] (a hot-swappable
//! handle read by the auth layer on every attempt).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine as _;
use http::HeaderValue;
use tokio::sync::Notify;
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

use crate::error::CredentialsError;

/// The credentials of one Twilio account: the Account SID with its Auth Token, or an API key
/// SID with its secret (the Account SID is then still the one used in URLs).
///
/// The `Authorization` header value is built once, here, and marked sensitive. `Debug` shows the
/// SIDs only, never the secret.
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<CredentialsInner>,
}

struct CredentialsInner {
    account_sid: AccountSid,
    api_key_sid: Option<ApiKeySid>,
    authorization: HeaderValue,
}

impl Credentials {
    /// Account SID + Auth Token.
    ///
    /// # Errors
    /// [`CredentialsError`] when the token holds characters not allowed in a header (possible
    /// only for tokens that came through `serde`, as `AuthToken::new` already refuses them).
    pub fn from_auth_token(
        account: AccountSid,
        token: AuthToken,
    ) -> Result<Self, CredentialsError> {
        token.check_header_safe().map_err(CredentialsError::new)?;
        let authorization = basic(account.as_str(), token.expose_secret())?;
        Ok(Self {
            inner: Arc::new(CredentialsInner {
                account_sid: account,
                api_key_sid: None,
                authorization,
            }),
        })
    }

    /// API key SID + secret, acting on `account`.
    ///
    /// # Errors
    /// [`CredentialsError`] when the secret holds characters not allowed in a header.
    pub fn from_api_key(
        account: AccountSid,
        key: ApiKeySid,
        secret: ApiKeySecret,
    ) -> Result<Self, CredentialsError> {
        secret.check_header_safe().map_err(CredentialsError::new)?;
        let authorization = basic(key.as_str(), secret.expose_secret())?;
        Ok(Self {
            inner: Arc::new(CredentialsInner {
                account_sid: account,
                api_key_sid: Some(key),
                authorization,
            }),
        })
    }

    /// The Account SID used in URLs.
    pub fn account_sid(&self) -> AccountSid {
        self.inner.account_sid
    }

    /// The API key SID when these are API key credentials.
    pub fn api_key_sid(&self) -> Option<ApiKeySid> {
        self.inner.api_key_sid
    }

    /// The prepared `Authorization` value (sensitive); cloning it does not allocate.
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.inner.authorization
    }

    /// Whether `other` holds the same account, key and secret.
    fn same_as(&self, other: &Credentials) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.inner.account_sid == other.inner.account_sid
                && self.inner.authorization.as_bytes() == other.inner.authorization.as_bytes())
    }
}

fn basic(user: &str, password: &str) -> Result<HeaderValue, CredentialsError> {
    let mut raw = String::with_capacity(user.len() + 1 + password.len());
    raw.push_str(user);
    raw.push(':');
    raw.push_str(password);
    let mut value = String::from("Basic ");
    base64::engine::general_purpose::STANDARD.encode_string(raw.as_bytes(), &mut value);
    // Wipe the plain pair; the encoded header stays (it has to be sent).
    zero_string(raw);
    let mut header =
        HeaderValue::from_maybe_shared(bytes::Bytes::from(value)).map_err(CredentialsError::new)?;
    header.set_sensitive(true);
    Ok(header)
}

fn zero_string(s: String) {
    let mut bytes = s.into_bytes();
    for b in bytes.iter_mut() {
        *b = 0;
    }
    std::hint::black_box(&bytes);
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.inner.account_sid.as_str())
            .field(
                "api_key_sid",
                &self.inner.api_key_sid.as_ref().map(|k| k.as_str()),
            )
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A shared, hot-swappable handle on [`Credentials`].
///
/// Clones share the same slot. [`replace`](Self::replace) swaps the whole pair atomically: every
/// request made through a client holding this handle uses either the old or the new pair, never
/// a mix, and the client needs no rebuild.
///
/// The handle also knows which requests are on the wire with which credentials, for a token
/// rotation:
///
/// * every [`replace`](Self::replace) that changes the credentials starts a new
///   [`generation`](Self::generation);
/// * a request signed with credentials that have since been replaced, and answered `401`, is
///   re-sent once with the current ones by the [`RetryLayer`](crate::RetryLayer) given this
///   handle (a `401` means Twilio did nothing);
/// * [`wait_for_replaced`](Self::wait_for_replaced) waits until no request signed with
///   replaced credentials is still in flight, so that a promotion need not cut them off.
#[derive(Clone)]
pub struct SharedCredentials {
    shared: Arc<Shared>,
}

struct Shared {
    slot: RwLock<Slot>,
    /// In-flight counters of replaced generations that may still have requests on the wire.
    retired: Mutex<Vec<Arc<InFlight>>>,
}

/// The current credentials, their generation and their in-flight counter.
struct Slot {
    credentials: Credentials,
    generation: u64,
    in_flight: Arc<InFlight>,
}

/// The requests in flight signed with one generation of the credentials.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    /// Set when the generation is replaced: only then does its last request's end wake the
    /// waiters (the current generation's requests end on every call, and nobody waits for
    /// them).
    retired: AtomicBool,
    /// Woken when the last request of this generation, replaced, ends.
    drained: Notify,
}

impl SharedCredentials {
    /// A new handle holding `credentials`, at generation 0.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            shared: Arc::new(Shared {
                slot: RwLock::new(Slot {
                    credentials,
                    generation: 0,
                    in_flight: Arc::default(),
                }),
                retired: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Swaps in new credentials for every client holding this handle (or a clone of it).
    ///
    /// Credentials equal to the current ones (the same account, key and secret) change nothing,
    /// not even the [`generation`](Self::generation).
    pub fn replace(&self, credentials: Credentials) {
        let mut slot = self
            .shared
            .slot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.credentials.same_as(&credentials) {
            return;
        }
        let retired = std::mem::take(&mut slot.in_flight);
        // Before any waiter can find it in the list below (sequentially consistent with the
        // count, so that a request ending after a waiter's last check sees the flag).
        retired.retired.store(true, Ordering::SeqCst);
        slot.credentials = credentials;
        slot.generation += 1;
        // Still under the slot's lock, so that no waiter sees the new generation without the
        // retired counter. A retired counter only goes down: nothing signs with it any more.
        let mut all = self
            .shared
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        all.retain(|in_flight| in_flight.count.load(Ordering::SeqCst) > 0);
        all.push(retired);
    }

    /// How many times the credentials have changed since this handle was made.
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// How many requests signed with credentials that have since been replaced are still in
    /// flight (sent through an [`AuthLayer`](crate::AuthLayer) and not yet answered).
    pub fn replaced_in_flight(&self) -> usize {
        self.retired()
            .iter()
            .map(|in_flight| in_flight.count.load(Ordering::SeqCst))
            .sum()
    }

    /// Waits until no request signed with credentials replaced before this call is in flight,
    /// or `timeout` has passed: `true` if none is left. Requests that start meanwhile carry the
    /// current credentials and are not waited for.
    ///
    /// Before promoting a new token, a rotation waits here (bounded) for the requests that still
    /// carry the old one, which the promotion would make fail. Needs a Tokio runtime with time.
    pub async fn wait_for_replaced(&self, timeout: Duration) -> bool {
        let retired = self.retired();
        let deadline = tokio::time::Instant::now() + timeout;
        // One generation after the other: each must drain, and the time is shared.
        for generation in &retired {
            loop {
                let notified = generation.drained.notified();
                let mut notified = std::pin::pin!(notified);
                // Registered before the check, so that a request ending in between still wakes us.
                notified.as_mut().enable();
                if generation.count.load(Ordering::SeqCst) == 0 {
                    break;
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return retired
                        .iter()
                        .all(|in_flight| in_flight.count.load(Ordering::SeqCst) == 0);
                }
            }
        }
        true
    }

    /// The Account SID of the current credentials.
    pub fn account_sid(&self) -> AccountSid {
        self.current().account_sid()
    }

    /// A snapshot of the current credentials.
    pub fn current(&self) -> Credentials {
        self.read().credentials.clone()
    }

    /// The current `Authorization` value with its generation, counted as in flight until the
    /// returned [`Signed`] is dropped or [released](Signed::release). One read lock, so the
    /// pair is always consistent.
    pub(crate) fn sign(&self) -> Signed {
        let slot = self.read();
        slot.in_flight.count.fetch_add(1, Ordering::SeqCst);
        Signed {
            authorization: slot.credentials.authorization().clone(),
            generation: slot.generation,
            in_flight: Some(Arc::clone(&slot.in_flight)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Slot> {
        self.shared
            .slot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn retired(&self) -> Vec<Arc<InFlight>> {
        self.shared
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One attempt's `Authorization` value and generation, counted as in flight while it lives.
pub(crate) struct Signed {
    pub(crate) authorization: HeaderValue,
    generation: u64,
    in_flight: Option<Arc<InFlight>>,
}

impl Signed {
    /// Ends the attempt's in-flight count (its answer has arrived, or it was abandoned).
    pub(crate) fn release(&mut self) {
        if let Some(in_flight) = self.in_flight.take()
            && in_flight.count.fetch_sub(1, Ordering::SeqCst) == 1
            && in_flight.retired.load(Ordering::SeqCst)
        {
            in_flight.drained.notify_waiters();
        }
    }
}

impl Drop for Signed {
    fn drop(&mut self) {
        self.release();
    }
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl From<Credentials> for SharedCredentials {
    fn from(credentials: Credentials) -> Self {
        Self::new(credentials)
    }
}

impl fmt::Debug for SharedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.read();
        f.debug_struct("SharedCredentials")
            .field("credentials", &slot.credentials)
            .field("generation", &slot.generation)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const SK: &str = "SK0123456789abcdef0123456789abcdef";

    fn token(value: &str) -> Credentials {
        Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new(value).unwrap(),
        )
        .unwrap()
    }

    /// The last request of a replaced generation wakes a waiter, whichever thread ends it and
    /// however it races the waiter's own check: a lost wake-up would leave the waiter asleep
    /// for its hour-long timeout and fail the 30-second bound. Two replaced generations at once,
    /// their requests ended from plain threads in any order, many rounds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_old_request_always_wakes_the_waiter() {
        for round in 0..300 {
            let shared = SharedCredentials::new(token("first"));
            let mut guards: Vec<Signed> = (0..3).map(|_| shared.sign()).collect();
            shared.replace(token("second"));
            guards.extend((0..3).map(|_| shared.sign()));
            shared.replace(token(&format!("third{round}")));
            assert_eq!(shared.replaced_in_flight(), 6);
            let waiter = {
                let shared = shared.clone();
                tokio::spawn(
                    async move { shared.wait_for_replaced(Duration::from_secs(3600)).await },
                )
            };
            if round % 2 == 0 {
                guards.reverse();
            }
            let enders: Vec<_> = guards
                .into_iter()
                .map(|guard| std::thread::spawn(move || drop(guard)))
                .collect();
            for ender in enders {
                ender.join().unwrap();
            }
            let drained = tokio::time::timeout(Duration::from_secs(30), waiter)
                .await
                .expect("the waiter slept through the last request's end (a lost wake-up)")
                .unwrap();
            assert!(drained, "round {round}");
            assert_eq!(shared.replaced_in_flight(), 0);
        }
    }

    #[test]
    fn auth_token_header_is_basic_and_sensitive() {
        let c = Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new("tok3n").unwrap(),
        )
        .unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{AC}:tok3n"))
        );
        assert_eq!(c.authorization().to_str().unwrap(), expected);
        assert!(c.authorization().is_sensitive());
        assert_eq!(c.account_sid().as_str(), AC);
        assert!(c.api_key_sid().is_none());
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("tok3n") && !dbg.contains(&expected[6..]),
            "{dbg}"
        );
    }

    #[test]
    fn api_key_uses_key_sid_as_user_and_account_for_urls() {
        let c = Credentials::from_api_key(
            AccountSid::parse(AC).unwrap(),
            ApiKeySid::parse(SK).unwrap(),
            ApiKeySecret::new("s3cret").unwrap(),
        )
        .unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SK}:s3cret"))
        );
        assert_eq!(c.authorization().to_str().unwrap(), expected);
        assert_eq!(c.account_sid().as_str(), AC);
        assert_eq!(c.api_key_sid().unwrap().as_str(), SK);
    }

    #[test]
    fn shared_replace_is_seen_by_clones() {
        let a = Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new("one").unwrap(),
        )
        .unwrap();
        let b = Credentials::from_auth_token(
            AccountSid::parse(AC).unwrap(),
            AuthToken::new("two").unwrap(),
        )
        .unwrap();
        let shared = SharedCredentials::from(a.clone());
        let other = shared.clone();
        assert_eq!(&other.sign().authorization, a.authorization());
        shared.replace(b.clone());
        assert_eq!(&other.sign().authorization, b.authorization());
        assert!(!format!("{other:?}").contains("two"));
    }
}
