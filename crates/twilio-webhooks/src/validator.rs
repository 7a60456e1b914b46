//! [`Validator`]: a set of keys (the rotation's tokens and any SharedKeys) that a webhook's
//! signature is checked against.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
/// Which of the rotation's tokens signed a request: the store's staging label.
pub use twilio_store::TokenLabel;
use twilio_store::{Follower, FollowerId, FollowerRole, TokenFingerprint, TokenRecord, TokenStore};
use twilio_types::AuthToken;
use zeroize::Zeroizing;

use crate::form;
use crate::rejection::{Rejection, clip};
use crate::request::{Payload, WebhookRequest};
use crate::signature::{Algorithm, SignatureSettings, mac_base64, params_suffix};
use crate::url;

/// How long `previous` is accepted after a rotation completed, unless configured otherwise.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(15 * 60);

/// The key that signed an accepted request: one of the tokens (named by label and
/// fingerprint, never by value) or a SharedKey (by id).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchedKey {
    /// An Auth Token of the set.
    Token {
        /// Its label.
        label: TokenLabel,
        /// Its fingerprint.
        fingerprint: TokenFingerprint,
    },
    /// A SharedKey, by id.
    SharedKey {
        /// The SharedKey's id.
        id: String,
    },
}

impl fmt::Display for MatchedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token { label, fingerprint } => write!(f, "{label} token {fingerprint}"),
            Self::SharedKey { id } => write!(f, "SharedKey {id}"),
        }
    }
}

/// What an accepted request was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    key: MatchedKey,
    algorithm: Algorithm,
}

impl Verified {
    /// The key that signed the request.
    pub fn key(&self) -> &MatchedKey {
        &self.key
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// A SharedKey (Webhooks v1 `SharedKeys`): its id, as Twilio names it in the
/// `X-Twilio-Webhooks-Signature-Settings` header, and its secret. `Debug` shows the id only.
#[derive(Clone)]
pub struct SharedKey {
    id: String,
    secret: Zeroizing<Vec<u8>>,
}

impl SharedKey {
    /// The SharedKey `id` with `secret`.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            secret: Zeroizing::new(secret.into().into_bytes()),
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One token of the set.
struct TokenEntry {
    label: TokenLabel,
    secret: Zeroizing<Vec<u8>>,
    fingerprint: TokenFingerprint,
    /// `previous` only: when the rotation that replaced it completed (`None`: never accepted).
    completed_at: Option<OffsetDateTime>,
}

impl TokenEntry {
    fn new(label: TokenLabel, token: &AuthToken, completed_at: Option<OffsetDateTime>) -> Self {
        Self {
            label,
            secret: Zeroizing::new(token.expose_secret().as_bytes().to_vec()),
            fingerprint: TokenFingerprint::of(token),
            completed_at,
        }
    }

    /// `current` and `pending` always; `previous` for `overlap` after its rotation completed.
    fn accepted_at(&self, now: OffsetDateTime, overlap: Duration) -> bool {
        match self.label {
            TokenLabel::Previous => self.completed_at.is_some_and(|done| now < done + overlap),
            // `current`, `pending` (and a label a later store may add).
            _ => true,
        }
    }
}

#[derive(Default)]
struct Keys {
    tokens: Vec<TokenEntry>,
    shared: Vec<SharedKey>,
}

/// Checks webhook signatures against a set of keys: `current`, and during a rotation
/// `pending` and `previous` (the labels of the rotation's [`TokenStore`]), plus any
/// [`SharedKey`]s.
///
/// Cheap to clone: clones share the key set, so a clone given to a server sees the tokens a
/// [`follow`](Self::follow) task or [`apply`](Self::apply) installs. `Debug` shows labels and
/// fingerprints only.
///
/// ```
/// use twilio_webhooks::{Algorithm, TokenLabel, Validator, WebhookRequest, MatchedKey, sign};
/// use twilio_types::AuthToken;
///
/// let validator = Validator::new(AuthToken::new("12345")?);
/// let url = "https://example.com/sms";
/// let signature = sign(Algorithm::HmacSha1, "12345", url, &[("Body", "hi")]);
/// let verified = validator
///     .validate(&WebhookRequest::new(url).signature(Some(&signature)).form_body(b"Body=hi"))?;
/// assert!(matches!(verified.key(), MatchedKey::Token { label: TokenLabel::Current, .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Validator {
    keys: Arc<RwLock<Keys>>,
    overlap: Duration,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.read();
        let tokens: Vec<String> = keys
            .tokens
            .iter()
            .map(|t| format!("{} {}", t.label, t.fingerprint))
            .collect();
        let shared: Vec<&str> = keys.shared.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Validator")
            .field("tokens", &tokens)
            .field("shared_keys", &shared)
            .field("overlap", &self.overlap)
            .finish()
    }
}

impl Validator {
    /// A validator that accepts `current` only.
    pub fn new(current: AuthToken) -> Self {
        let keys = Keys {
            tokens: vec![TokenEntry::new(TokenLabel::Current, &current, None)],
            shared: Vec::new(),
        };
        Self {
            keys: Arc::new(RwLock::new(keys)),
            overlap: DEFAULT_OVERLAP,
        }
    }

    /// A validator with the tokens of `record` (see [`apply`](Self::apply)).
    pub fn from_record(record: &TokenRecord) -> Self {
        let validator = Self::new(record.current.token().clone());
        validator.apply(record);
        validator
    }

    /// How long `previous` stays accepted after the rotation that replaced it completed
    /// (default [`DEFAULT_OVERLAP`], 15 minutes). It belongs to this value: set it before
    /// cloning the validator into a server or a [`follow`](Self::follow) task.
    #[must_use]
    pub fn with_overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// The configured overlap.
    pub fn overlap(&self) -> Duration {
        self.overlap
    }

    /// Adds (or replaces, by id) a SharedKey.
    pub fn add_shared_key(&self, key: SharedKey) {
        let mut keys = self.write();
        keys.shared.retain(|k| k.id != key.id);
        keys.shared.push(key);
    }

    /// Removes the SharedKey `id`; whether it was there.
    pub fn remove_shared_key(&self, id: &str) -> bool {
        let mut keys = self.write();
        let before = keys.shared.len();
        keys.shared.retain(|k| k.id != id);
        keys.shared.len() != before
    }

    /// Replaces the token set with the tokens of a rotation store's record: `current` and
    /// `pending` always, `previous` until [`overlap`](Self::overlap) after
    /// `record.completed_at` (never if the record has no completion time). SharedKeys are
    /// kept.
    pub fn apply(&self, record: &TokenRecord) {
        let mut tokens = vec![TokenEntry::new(
            TokenLabel::Current,
            record.current.token(),
            None,
        )];
        if let Some(pending) = &record.pending {
            tokens.push(TokenEntry::new(TokenLabel::Pending, pending.token(), None));
        }
        if let Some(previous) = &record.previous {
            tokens.push(TokenEntry::new(
                TokenLabel::Previous,
                previous.token(),
                record.completed_at,
            ));
        }
        self.write().tokens = tokens;
    }

    /// The tokens accepted at `now`, by label and fingerprint.
    pub fn accepted_tokens_at(&self, now: OffsetDateTime) -> Vec<(TokenLabel, TokenFingerprint)> {
        self.read()
            .tokens
            .iter()
            .filter(|t| t.accepted_at(now, self.overlap))
            .map(|t| (t.label, t.fingerprint))
            .collect()
    }

    /// The tokens accepted now, by label and fingerprint.
    pub fn accepted_tokens(&self) -> Vec<(TokenLabel, TokenFingerprint)> {
        self.accepted_tokens_at(OffsetDateTime::now_utc())
    }

    /// Follows `store`: reads it now and then every `interval` (and within
    /// [`CHANGE_CHECK_INTERVAL`](twilio_store::CHANGE_CHECK_INTERVAL) of a change, for a store
    /// with a change stamp), installing its tokens with [`apply`](Self::apply), so that a token
    /// staged by a rotation is accepted before Twilio signs with it and the replaced one is
    /// dropped after the overlap, without a restart. It is the store crate's
    /// [`Follower`](twilio_store::Follower), shared with the SDK client; where the store keeps
    /// heartbeats, it publishes one (role
    /// [`WebhookValidator`](twilio_store::FollowerRole::WebhookValidator), valid three
    /// intervals) naming the tokens it accepts, so that a rotation's fleet gate waits for it.
    ///
    /// The future never completes: spawn it on your runtime and abort it to stop. It sleeps
    /// with the function you give, so it needs no particular runtime
    /// (`validator.follow(store, interval, tokio::time::sleep)`). A failed or empty read keeps
    /// the tokens already installed and is logged as a `tracing` warning.
    pub fn follow<S, F>(
        &self,
        store: Arc<dyn TokenStore>,
        interval: Duration,
        sleep: S,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: FnMut(Duration) -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        let follower = Follower::new(store).with_heartbeat(
            FollowerId::for_this_process(),
            FollowerRole::WebhookValidator,
            interval.saturating_mul(3),
        );
        let validator = self.clone();
        follower.subscribe(move |record| {
            validator.apply(record);
            tracing::debug!(
                revision = record.revision,
                tokens = ?validator,
                "webhook validator installed the store's tokens"
            );
            Ok(validator.accepted_tokens())
        });
        Arc::new(follower).run(interval, sleep)
    }

    /// Checks `request`'s signature now.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] saying why the request is not accepted.
    pub fn validate(&self, request: &WebhookRequest<'_>) -> Result<Verified, Rejection> {
        self.validate_at(request, OffsetDateTime::now_utc())
    }

    /// Checks `request`'s signature as of `now` (which decides whether `previous` is still
    /// accepted).
    ///
    /// # Errors
    ///
    /// A [`Rejection`] saying why the request is not accepted.
    pub fn validate_at(
        &self,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<Verified, Rejection> {
        // Which scheme: the settings header, when present, names the algorithm and SharedKey.
        let settings = request
            .settings
            .filter(|h| !h.is_empty())
            .map(SignatureSettings::parse);
        let algorithm = match settings {
            None => Algorithm::HmacSha1,
            Some(settings) => Algorithm::from_name(settings.algorithm).ok_or_else(|| {
                let algorithm = clip(settings.algorithm);
                tracing::warn!(
                    algorithm = %algorithm,
                    "webhook signed with an unsupported algorithm: rejected (upgrade twilio-webhooks if Twilio added one)"
                );
                Rejection::UnsupportedAlgorithm { algorithm }
            })?,
        };
        let signature = request.signature.ok_or(Rejection::MissingSignature)?;
        if signature.len() != algorithm.signature_len()
            || !signature
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            return Err(Rejection::MalformedSignature);
        }
        let urls = url::as_received(request.url).map_err(|_| Rejection::InvalidUrl)?;

        // What the signature covers besides the URL, and the body hash to check.
        let body_hash = query_param(request.url, "bodySHA256");
        let (suffix, body) = match (body_hash.is_some(), request.payload) {
            (true, Payload::Params(_)) => return Err(Rejection::RawBodyRequired),
            (true, Payload::FormBody(body) | Payload::Raw(body)) => (String::new(), body),
            (true, Payload::Empty) => (String::new(), &[][..]),
            (false, Payload::Empty) => (String::new(), &[][..]),
            (false, Payload::Params(params)) => (params_suffix(params), &[][..]),
            (false, Payload::FormBody(body)) => {
                let params = form::decode(body).map_err(|_| Rejection::MalformedBody)?;
                (params_suffix(&params), &[][..])
            }
            (false, Payload::Raw([])) => (String::new(), &[][..]),
            (false, Payload::Raw(_)) => return Err(Rejection::UnsignedBody),
        };

        // The URL as received first: what genuine requests match. The normalised variants
        // (which cost more to build) only when no key signs those.
        let mut key = self.find_key(settings, algorithm, &urls, &suffix, signature, now)?;
        if key.is_none() {
            let more = url::normalised(request.url, &urls);
            if !more.is_empty() {
                key = self.find_key(settings, algorithm, &more, &suffix, signature, now)?;
            }
        }
        let key = key.ok_or(Rejection::SignatureMismatch)?;
        if let Some(expected) = body_hash {
            let actual = crate::signature::body_sha256(body);
            if !bool::from(actual.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(Rejection::BodyHashMismatch);
            }
        }
        Ok(Verified { key, algorithm })
    }

    /// The key among those accepted at `now` (or the SharedKey the settings name) that signs
    /// one of `urls` followed by `suffix` as `signature`.
    fn find_key(
        &self,
        settings: Option<SignatureSettings<'_>>,
        algorithm: Algorithm,
        urls: &[String],
        suffix: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MatchedKey>, Rejection> {
        let keys = self.read();
        Ok(match settings {
            Some(settings) => {
                let id = settings.key.ok_or(Rejection::MissingSharedKeyId)?;
                let shared = keys
                    .shared
                    .iter()
                    .find(|k| k.id == id)
                    .ok_or_else(|| Rejection::UnknownSharedKey { id: clip(id) })?;
                matches(algorithm, &shared.secret, urls, suffix, signature).then(|| {
                    MatchedKey::SharedKey {
                        id: shared.id.clone(),
                    }
                })
            }
            None => keys
                .tokens
                .iter()
                .filter(|t| t.accepted_at(now, self.overlap))
                .find(|t| matches(algorithm, &t.secret, urls, suffix, signature))
                .map(|t| MatchedKey::Token {
                    label: t.label,
                    fingerprint: t.fingerprint,
                }),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `secret` signs any of `urls` followed by `suffix` as `signature`. Each comparison
/// is constant-time; stopping at the first URL that matches reveals only which public URL
/// variant Twilio signed.
fn matches(
    algorithm: Algorithm,
    secret: &[u8],
    urls: &[String],
    suffix: &str,
    signature: &str,
) -> bool {
    urls.iter().any(|url| {
        let expected = mac_base64(algorithm, secret, url, suffix);
        bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    })
}

/// The first value of the query parameter `name` in `url` (before any `#`), form-decoded, as
/// Python's `parse_qs` and WHATWG `searchParams.get` read it.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split('#').next()?.split_once('?')?.1;
    let params = form::decode(query.as_bytes()).ok()?;
    params
        .into_iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign;
    use twilio_store::{MemoryTokenStore, StoredToken};
    use twilio_types::AccountSid;

    const URL: &str = "https://example.com/sms";
    const OLD: &str = "00000000000000000000000000000001";
    const NEW: &str = "00000000000000000000000000000002";

    fn token(s: &str) -> AuthToken {
        AuthToken::new(s).unwrap()
    }

    fn signed_by(secret: &str) -> String {
        sign(Algorithm::HmacSha1, secret, URL, &[("Body", "hi")])
    }

    fn check(
        validator: &Validator,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<Verified, Rejection> {
        let request = WebhookRequest::new(URL)
            .signature(Some(signature))
            .form_body(b"Body=hi");
        validator.validate_at(&request, now)
    }

    fn label(result: Result<Verified, Rejection>) -> Result<TokenLabel, Rejection> {
        result.map(|v| match v.key {
            MatchedKey::Token { label, .. } => label,
            MatchedKey::SharedKey { .. } => panic!("not a token"),
        })
    }

    fn record() -> TokenRecord {
        TokenRecord::new(
            AccountSid::from_static("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            token(OLD),
        )
    }

    #[test]
    fn a_rotation_through_its_labels() {
        let now = OffsetDateTime::now_utc();
        let mut record = record();
        // The overlap applies whenever it is set, before or after the record.
        let validator = Validator::from_record(&record).with_overlap(Duration::from_secs(60));
        assert_eq!(
            label(check(&validator, &signed_by(OLD), now)),
            Ok(TokenLabel::Current)
        );
        assert_eq!(
            label(check(&validator, &signed_by(NEW), now)),
            Err(Rejection::SignatureMismatch)
        );

        // Staged: both accepted, the new one reported as pending.
        record.pending = Some(StoredToken::new(token(NEW), now));
        validator.apply(&record);
        assert_eq!(
            label(check(&validator, &signed_by(NEW), now)),
            Ok(TokenLabel::Pending)
        );
        assert_eq!(
            label(check(&validator, &signed_by(OLD), now)),
            Ok(TokenLabel::Current)
        );

        // Completed: the old one is previous, for the overlap only.
        record.previous = Some(record.current.clone());
        record.current = record.pending.take().unwrap();
        record.completed_at = Some(now);
        validator.apply(&record);
        assert_eq!(
            label(check(&validator, &signed_by(NEW), now)),
            Ok(TokenLabel::Current)
        );
        let within = now + Duration::from_secs(59);
        assert_eq!(
            label(check(&validator, &signed_by(OLD), within)),
            Ok(TokenLabel::Previous)
        );
        let after = now + Duration::from_secs(60);
        assert_eq!(
            label(check(&validator, &signed_by(OLD), after)),
            Err(Rejection::SignatureMismatch)
        );
        assert_eq!(validator.accepted_tokens_at(after).len(), 1);
        assert_eq!(validator.accepted_tokens_at(within).len(), 2);
    }

    #[test]
    fn previous_without_a_completion_time_is_not_accepted() {
        let mut record = record();
        record.previous = Some(StoredToken::new(token(NEW), OffsetDateTime::now_utc()));
        let validator = Validator::from_record(&record);
        let result = check(&validator, &signed_by(NEW), OffsetDateTime::now_utc());
        assert_eq!(result.unwrap_err(), Rejection::SignatureMismatch);
    }

    #[test]
    fn the_default_overlap_is_fifteen_minutes() {
        assert_eq!(
            Validator::new(token(OLD)).overlap(),
            Duration::from_secs(900)
        );
        let done = OffsetDateTime::now_utc();
        let mut record = record();
        record.previous = Some(StoredToken::new(token(NEW), done));
        record.completed_at = Some(done);
        let validator = Validator::from_record(&record);
        let just_before = done + Duration::from_secs(900) - Duration::from_millis(1);
        let at_the_end = done + Duration::from_secs(900);
        assert_eq!(
            label(check(&validator, &signed_by(NEW), just_before)),
            Ok(TokenLabel::Previous)
        );
        assert_eq!(
            check(&validator, &signed_by(NEW), at_the_end).unwrap_err(),
            Rejection::SignatureMismatch
        );
    }

    #[test]
    fn reports_fingerprints_never_tokens() {
        let validator = Validator::new(token(OLD));
        validator.add_shared_key(SharedKey::new("webhooks_sharedkey_1", "shared-secret-xyz"));
        let verified = check(&validator, &signed_by(OLD), OffsetDateTime::now_utc()).unwrap();
        let shown = format!(
            "{validator:?} {verified:?} {} {:?}",
            verified.key(),
            SharedKey::new("k", "shared-secret-xyz")
        );
        assert!(shown.contains(&TokenFingerprint::of(&token(OLD)).to_string()));
        assert!(
            !shown.contains(OLD) && !shown.contains("shared-secret-xyz"),
            "{shown}"
        );
    }

    #[test]
    fn shared_keys_by_id() {
        let validator = Validator::new(token(OLD));
        validator.add_shared_key(SharedKey::new("k1", "secret-one"));
        validator.add_shared_key(SharedKey::new("k2", "secret-two"));
        let signature = sign(Algorithm::HmacSha256, "secret-two", URL, &[("Body", "hi")]);
        let request = |settings| {
            WebhookRequest::new(URL)
                .signature(Some(&signature))
                .signature_settings(Some(settings))
                .form_body(b"Body=hi")
        };
        let verified = validator
            .validate(&request("key=k2,algorithm=HMAC_SHA256"))
            .unwrap();
        assert_eq!(verified.key(), &MatchedKey::SharedKey { id: "k2".into() });
        assert_eq!(verified.algorithm(), Algorithm::HmacSha256);
        assert_eq!(
            validator
                .validate(&request("key=k1,algorithm=HMAC_SHA256"))
                .unwrap_err(),
            Rejection::SignatureMismatch
        );
        assert_eq!(
            validator
                .validate(&request("key=k3,algorithm=HMAC_SHA256"))
                .unwrap_err(),
            Rejection::UnknownSharedKey { id: "k3".into() }
        );
        assert_eq!(
            validator
                .validate(&request("algorithm=HMAC_SHA256"))
                .unwrap_err(),
            Rejection::MissingSharedKeyId
        );
        assert!(validator.remove_shared_key("k2") && !validator.remove_shared_key("k2"));
        assert_eq!(
            validator
                .validate(&request("key=k2,algorithm=HMAC_SHA256"))
                .unwrap_err(),
            Rejection::UnknownSharedKey { id: "k2".into() }
        );
    }

    #[test]
    fn typed_rejections() {
        let validator = Validator::new(token(OLD));
        let good = signed_by(OLD);
        let base = WebhookRequest::new(URL).form_body(b"Body=hi");
        let cases: Vec<(WebhookRequest<'_>, Rejection)> = vec![
            (base, Rejection::MissingSignature),
            (base.signature(Some("short")), Rejection::MalformedSignature),
            (
                base.signature(Some("!!!!!!!!!!!!!!!!!!!!!!!!!!!=")),
                Rejection::MalformedSignature,
            ),
            (
                base.signature(Some(&good))
                    .signature_settings(Some("key=k,algorithm=HMAC_SHA512")),
                Rejection::UnsupportedAlgorithm {
                    algorithm: "HMAC_SHA512".into(),
                },
            ),
            (
                WebhookRequest::new("example.com/sms").signature(Some(&good)),
                Rejection::InvalidUrl,
            ),
            (
                WebhookRequest::new(URL)
                    .signature(Some(&good))
                    .form_body(b"Body=%FF"),
                Rejection::MalformedBody,
            ),
            (
                WebhookRequest::new(URL)
                    .signature(Some(&good))
                    .raw_body(b"{}"),
                Rejection::UnsignedBody,
            ),
            (
                WebhookRequest::new("https://e.com/?bodySHA256=ab")
                    .signature(Some(&good))
                    .params(&[]),
                Rejection::RawBodyRequired,
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(
                validator.validate(&request).unwrap_err(),
                expected,
                "{request:?}"
            );
            assert!(!expected.to_string().is_empty() && !expected.code().is_empty());
        }
    }

    #[test]
    fn an_unknown_algorithm_is_never_a_fallback() {
        // The SharedKey's SHA-1 signature would match; the unknown name still rejects it.
        let validator = Validator::new(token(OLD));
        validator.add_shared_key(SharedKey::new("k", "s"));
        let signature = sign(Algorithm::HmacSha1, "s", URL, &[] as &[(&str, &str)]);
        let request = WebhookRequest::new(URL)
            .signature(Some(&signature))
            .signature_settings(Some("key=k,algorithm=HMAC_SHA3"));
        assert!(matches!(
            validator.validate(&request),
            Err(Rejection::UnsupportedAlgorithm { .. })
        ));
    }

    #[test]
    fn json_bodies_through_body_sha256() {
        let validator = Validator::new(token(OLD));
        let body = br#"{"status":"delivered"}"#;
        let url = format!(
            "https://example.com/json?bodySHA256={}",
            crate::body_sha256(body)
        );
        let signature = sign(Algorithm::HmacSha1, OLD, &url, &[] as &[(&str, &str)]);
        let request = WebhookRequest::new(&url).signature(Some(&signature));
        assert!(validator.validate(&request.raw_body(body)).is_ok());
        assert_eq!(
            validator
                .validate(&request.raw_body(br#"{"status":"failed"}"#))
                .unwrap_err(),
            Rejection::BodyHashMismatch
        );
    }

    #[test]
    fn follow_installs_the_stores_tokens_and_keeps_them_when_it_is_empty() {
        let store = Arc::new(MemoryTokenStore::new());
        let validator = Validator::new(token(OLD));
        // A sleep that is pending once, so each poll of the follower runs one read.
        let sleeps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&sleeps);
        let sleep = move |interval: Duration| {
            assert_eq!(interval, Duration::from_millis(10));
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            YieldOnce(false)
        };
        let mut follower =
            std::pin::pin!(validator.follow(store.clone(), Duration::from_millis(10), sleep));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut step = || assert!(follower.as_mut().poll(&mut cx).is_pending());

        step(); // the store is empty: the token already there stays
        assert_eq!(validator.accepted_tokens().len(), 1);
        let mut record = record();
        record.pending = Some(StoredToken::new(token(NEW), OffsetDateTime::now_utc()));
        block_on(store.save(&record)).unwrap();
        step();
        let labels: Vec<TokenLabel> = validator.accepted_tokens().iter().map(|t| t.0).collect();
        assert_eq!(labels, [TokenLabel::Current, TokenLabel::Pending]);
        assert_eq!(sleeps.load(std::sync::atomic::Ordering::SeqCst), 2);
        // And it told the store what it accepts, as a webhook validator.
        let beats = block_on(store.heartbeats()).unwrap();
        assert_eq!(beats.len(), 1);
        assert_eq!(beats[0].role, twilio_store::FollowerRole::WebhookValidator);
        assert_eq!(beats[0].holds, validator.accepted_tokens());
    }

    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            if self.0 {
                std::task::Poll::Ready(())
            } else {
                self.0 = true;
                std::task::Poll::Pending
            }
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}
