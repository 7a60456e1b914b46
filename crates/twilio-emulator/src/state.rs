//! Emulated accounts: tokens, credentials, SafeList, consents, contacts, geo permissions.
//!
//! Each account sits behind its own `std::sync::Mutex`; a request authenticates and runs
//! its operation under one acquisition of that lock (never across an `.await`), so every
//! request sees the state either entirely before or entirely after any other request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use time::OffsetDateTime;
use tokio::time::Instant;
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

use crate::random::constant_time_eq;
use crate::validate::COUNTRIES;

/// A token with the time it was created.
pub(crate) struct Token {
    pub(crate) value: AuthToken,
    pub(crate) created: OffsetDateTime,
    /// Before this instant the token does not authenticate (propagation delay).
    pub(crate) usable_at: Option<Instant>,
}

/// One stored AWS or public-key credential.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    pub(crate) sid: String,
    pub(crate) account_sid: String,
    pub(crate) friendly_name: Option<String>,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
}

/// Credentials of one kind, in creation order.
#[derive(Debug, Default)]
pub(crate) struct CredentialStore {
    next_seq: u64,
    by_seq: BTreeMap<u64, Credential>,
    seq_of: HashMap<String, u64>,
}

impl CredentialStore {
    pub(crate) fn insert(&mut self, credential: Credential) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.seq_of.insert(credential.sid.clone(), seq);
        self.by_seq.insert(seq, credential);
    }

    fn seq(&self, sid: &str) -> Option<u64> {
        self.seq_of.get(sid).copied()
    }

    pub(crate) fn get(&self, sid: &str) -> Option<&Credential> {
        self.seq(sid).and_then(|s| self.by_seq.get(&s))
    }

    pub(crate) fn get_mut(&mut self, sid: &str) -> Option<&mut Credential> {
        let seq = self.seq(sid)?;
        self.by_seq.get_mut(&seq)
    }

    pub(crate) fn remove(&mut self, sid: &str) -> Option<Credential> {
        let seq = self.seq_of.remove(sid)?;
        self.by_seq.remove(&seq)
    }

    /// Up to `n` credentials with sequence numbers above `after` (all when `None`).
    pub(crate) fn page_after(&self, after: Option<u64>, n: usize) -> Vec<(u64, &Credential)> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        if after == Some(u64::MAX) {
            return Vec::new();
        }
        self.by_seq
            .range(start..)
            .take(n)
            .map(|(s, c)| (*s, c))
            .collect()
    }

    /// The last `n` credentials with sequence numbers below `before`, in ascending order.
    pub(crate) fn page_before(&self, before: u64, n: usize) -> Vec<(u64, &Credential)> {
        let mut page: Vec<_> = self
            .by_seq
            .range(..before)
            .rev()
            .take(n)
            .map(|(s, c)| (*s, c))
            .collect();
        page.reverse();
        page
    }

    pub(crate) fn any_after(&self, seq: u64) -> bool {
        seq < u64::MAX && self.by_seq.range(seq + 1..).next().is_some()
    }

    pub(crate) fn any_before(&self, seq: u64) -> bool {
        self.by_seq.range(..seq).next().is_some()
    }
}

/// A consent record (`contact_id` + `sender_id` → latest status).
#[derive(Debug, Clone)]
pub(crate) struct Consent {
    pub(crate) status: String,
    pub(crate) source: String,
    pub(crate) date_of_consent: Option<String>,
}

/// A contact record.
#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) country_iso_code: Option<String>,
    pub(crate) zip_code: Option<String>,
}

/// Everything one emulated account holds.
pub(crate) struct Account {
    pub(crate) sid: AccountSid,
    pub(crate) primary: Token,
    pub(crate) secondary: Option<Token>,
    pub(crate) aws: CredentialStore,
    pub(crate) public_keys: CredentialStore,
    /// Phone number → `GN…` SID.
    pub(crate) safelist: BTreeMap<String, String>,
    pub(crate) consents: HashMap<(String, String), Consent>,
    pub(crate) contacts: HashMap<String, Contact>,
    /// Enabled flag per entry of [`COUNTRIES`].
    pub(crate) geo: Vec<bool>,
    /// Token-change e-mails Twilio would have sent (not suppressed).
    pub(crate) email_notifications: u64,
}

impl Account {
    pub(crate) fn new(sid: AccountSid, token: AuthToken, now: OffsetDateTime) -> Self {
        Self {
            sid,
            primary: Token {
                value: token,
                created: now,
                usable_at: None,
            },
            secondary: None,
            aws: CredentialStore::default(),
            public_keys: CredentialStore::default(),
            safelist: BTreeMap::new(),
            consents: HashMap::new(),
            contacts: HashMap::new(),
            geo: COUNTRIES.iter().map(|c| c.enabled_by_default).collect(),
            email_notifications: 0,
        }
    }

    /// Whether `password` is the primary token or a usable secondary token.
    /// Both comparisons always run, in constant time.
    pub(crate) fn token_matches(&self, password: &[u8], now: Instant) -> bool {
        let primary = constant_time_eq(self.primary.value.expose_secret().as_bytes(), password);
        let secondary = self.secondary.as_ref().is_some_and(|t| {
            let equal = constant_time_eq(t.value.expose_secret().as_bytes(), password);
            equal && t.usable_at.is_none_or(|at| now >= at)
        });
        primary | secondary
    }
}

/// Who a Basic-auth username names.
#[derive(Clone)]
pub(crate) enum Principal {
    /// An account SID: the password is one of its tokens.
    Account(Arc<Mutex<Account>>),
    /// An API key SID: the password is the key's secret.
    ApiKey(Arc<Mutex<Account>>, Arc<ApiKeySecret>),
}

/// All accounts and API keys, by SID (as sent, case-sensitive, like Twilio's usernames).
#[derive(Default)]
pub(crate) struct Registry {
    principals: RwLock<HashMap<String, Principal>>,
}

impl Registry {
    pub(crate) fn insert_account(&self, account: Account) -> Arc<Mutex<Account>> {
        let sid = account.sid.as_str().to_owned();
        let account = Arc::new(Mutex::new(account));
        self.write()
            .insert(sid, Principal::Account(Arc::clone(&account)));
        account
    }

    pub(crate) fn insert_api_key(
        &self,
        key: &ApiKeySid,
        secret: ApiKeySecret,
        account: Arc<Mutex<Account>>,
    ) {
        self.write().insert(
            key.as_str().to_owned(),
            Principal::ApiKey(account, Arc::new(secret)),
        );
    }

    pub(crate) fn contains(&self, username: &str) -> bool {
        self.read().contains_key(username)
    }

    pub(crate) fn principal(&self, username: &str) -> Option<Principal> {
        self.read().get(username).cloned()
    }

    pub(crate) fn account(&self, sid: &str) -> Option<Arc<Mutex<Account>>> {
        match self.principal(sid)? {
            Principal::Account(a) => Some(a),
            Principal::ApiKey(..) => None,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Principal>> {
        self.principals.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Principal>> {
        self.principals.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Locks an account, recovering from poisoning (the state is plain data and every
/// operation validates before it mutates, so a panic elsewhere cannot leave it torn).
pub(crate) fn lock(account: &Mutex<Account>) -> MutexGuard<'_, Account> {
    account.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(sid: &str) -> Credential {
        let now = OffsetDateTime::UNIX_EPOCH;
        Credential {
            sid: sid.into(),
            account_sid: "AC".into(),
            friendly_name: None,
            created: now,
            updated: now,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn secondary_token_authenticates_only_after_its_propagation_delay() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let sid = AccountSid::parse("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let mut account = Account::new(sid, AuthToken::new("primary").unwrap(), now);
        let start = Instant::now();
        account.secondary = Some(Token {
            value: AuthToken::new("secondary").unwrap(),
            created: now,
            usable_at: Some(start + std::time::Duration::from_secs(60)),
        });
        assert!(account.token_matches(b"primary", start));
        assert!(!account.token_matches(b"secondary", start));
        assert!(!account.token_matches(b"secondary", start + std::time::Duration::from_secs(59)));
        assert!(account.token_matches(b"secondary", start + std::time::Duration::from_secs(60)));
        assert!(!account.token_matches(b"other", start + std::time::Duration::from_secs(60)));
        assert!(!account.token_matches(b"", start));
    }

    #[test]
    fn credential_store_pages() {
        let mut store = CredentialStore::default();
        for i in 0..5 {
            store.insert(cred(&format!("CR{i}")));
        }
        assert_eq!(store.page_after(None, usize::MAX).len(), 5);
        let first: Vec<_> = store.page_after(None, 2).iter().map(|(s, _)| *s).collect();
        assert_eq!(first, [0, 1]);
        let next: Vec<_> = store
            .page_after(Some(1), 2)
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(next, [2, 3]);
        let prev: Vec<_> = store.page_before(2, 2).iter().map(|(s, _)| *s).collect();
        assert_eq!(prev, [0, 1]);
        assert!(store.any_after(3));
        assert!(!store.any_after(4));
        assert!(store.any_before(1));
        assert!(!store.any_before(0));
        assert!(store.page_after(Some(u64::MAX), 2).is_empty());
        assert!(!store.any_after(u64::MAX));
        assert!(store.remove("cr2").is_none());
        assert!(store.remove("CR2").is_some());
        assert!(store.get("CR2").is_none());
        assert_eq!(
            store
                .page_after(Some(1), 2)
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>(),
            [3, 4]
        );
    }
}
