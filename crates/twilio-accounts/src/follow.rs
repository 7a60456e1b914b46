//! Following a [`TokenStore`]: keeping a process's credentials on the token the store says
//! works, so that an Auth Token rotation run elsewhere never locks this process out.
//!
//! A rotation writes the new token to the store as `pending` and waits a hand-off grace
//! before it promotes it. A [`StoreFollower`] reloads the store on an interval (and, for a
//! store with a cheap [`change_stamp`](TokenStore::change_stamp) such as
//! [`FileTokenStore`](twilio_store::FileTokenStore), within
//! [`CHANGE_CHECK_INTERVAL`] of a change) and switches its [`SharedCredentials`]:
//!
//! * to `pending` as soon as the record is **staged** (phase `Staged` or `Promoting`): the new
//!   token is then the account's secondary token, which authenticates exactly like the
//!   primary, and after the promotion it is the primary;
//! * to `current` otherwise (no rotation in progress, or one that has only begun to create
//!   the secondary).
//!
//! If the store cannot be read, holds no record, holds another account's record or a token
//! that cannot be sent, the follower keeps the credentials it has and logs a `tracing`
//! warning; it tries again at the next check.
//!
//! ```no_run
//! use std::sync::Arc;
//! use twilio_accounts::Client;
//! use twilio_accounts::follow::DEFAULT_RELOAD_INTERVAL;
//! use twilio_store::FileTokenStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(FileTokenStore::open("/var/lib/my-app/twilio-tokens.json")?);
//! // Credentials from the store, kept on its working token for as long as a clone of the
//! // client lives.
//! let client = Client::following(store, DEFAULT_RELOAD_INTERVAL).await?;
//! let page = client.credentials().aws().list().send().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
pub use twilio_store::{CHANGE_CHECK_INTERVAL, MIN_RELOAD_INTERVAL};
use twilio_store::{
    Follower, FollowerId, FollowerRole, Holds, RotationPhase, StoreError, StoreErrorKind,
    StoredToken, TokenFingerprint, TokenLabel, TokenRecord, TokenStore,
};
use twilio_transport::{Credentials, SharedCredentials};
use twilio_types::{AccountSid, AuthToken};

/// How often a follower reloads its store by default: 5 seconds.
///
/// A rotation's hand-off grace (the wait between staging a new token and promoting it)
/// defaults to twice this, so that every follower has switched to the new token before the
/// old one stops working. A follower with a longer interval needs a longer grace.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// Keeps a [`SharedCredentials`] on the token a [`TokenStore`] says works, from a Tokio
/// task that lives as long as this handle: dropping it stops the task.
///
/// ```no_run
/// use std::sync::Arc;
/// use twilio_accounts::follow::{StoreFollower, DEFAULT_RELOAD_INTERVAL};
/// use twilio_accounts::{Client, Credentials, SharedCredentials};
/// use twilio_store::FileTokenStore;
///
/// # async fn run(initial: Credentials) -> Result<(), Box<dyn std::error::Error>> {
/// let shared = SharedCredentials::new(initial);
/// let store = Arc::new(FileTokenStore::open("tokens.json")?);
/// let follower = StoreFollower::spawn(store, shared.clone(), DEFAULT_RELOAD_INTERVAL);
/// follower.reload_now().await?; // now rather than within the first check
/// let client = Client::builder().credentials(shared).build()?;
/// // … use `client`; keep `follower` alive as long as it is used.
/// # Ok(()) }
/// ```
pub struct StoreFollower {
    follower: Arc<Follower>,
    applier: Arc<Applier>,
    task: JoinHandle<()>,
}

impl StoreFollower {
    /// Starts following `store` into `credentials`, reloading every `interval` (see
    /// [`DEFAULT_RELOAD_INTERVAL`]; at least [`MIN_RELOAD_INTERVAL`]) and when the store's
    /// change stamp moves. The first reload starts at once. Where the store keeps heartbeats,
    /// the follower publishes one (role [`FollowerRole::Client`], valid three intervals) at
    /// every reload, naming the token it uses, for the rotation's fleet gate.
    ///
    /// `credentials` must be for the store's account: a record of another account is refused
    /// (and logged), never followed. The follower sets Auth Token credentials.
    ///
    /// # Panics
    ///
    /// If called outside a Tokio runtime (as [`tokio::spawn`] does).
    pub fn spawn(
        store: Arc<dyn TokenStore>,
        credentials: SharedCredentials,
        interval: Duration,
    ) -> StoreFollower {
        Self::start(store, credentials, interval, None)
    }

    /// [`spawn`](Self::spawn), knowing that `credentials` already hold `applied`.
    fn start(
        store: Arc<dyn TokenStore>,
        credentials: SharedCredentials,
        interval: Duration,
        applied: Option<Applied>,
    ) -> StoreFollower {
        let interval = interval.max(MIN_RELOAD_INTERVAL);
        let applier = Arc::new(Applier {
            credentials,
            applied: Mutex::new(applied),
        });
        let follower = Arc::new(Follower::new(store).with_heartbeat(
            FollowerId::for_this_process(),
            FollowerRole::Client,
            interval.saturating_mul(3),
        ));
        let subscriber = Arc::clone(&applier);
        follower.subscribe(move |record| subscriber.apply(record));
        let task = tokio::spawn(Arc::clone(&follower).run(interval, tokio::time::sleep));
        StoreFollower {
            follower,
            applier,
            task,
        }
    }

    /// Reloads the store now and switches the credentials if the working token changed.
    ///
    /// # Errors
    ///
    /// The [`StoreError`] that made the follower keep its credentials: the store cannot be
    /// read or holds no record ([`StoreErrorKind::NotFound`]), or its record is for another
    /// account or holds a token that cannot be sent ([`StoreErrorKind::Invalid`]).
    pub async fn reload_now(&self) -> Result<(), StoreError> {
        self.follower.reload().await
    }

    /// The fingerprint of the token the follower last switched the credentials to, with its
    /// label ([`Current`](TokenLabel::Current) or [`Pending`](TokenLabel::Pending)); `None`
    /// before the first successful reload.
    pub fn following(&self) -> Option<(TokenLabel, TokenFingerprint)> {
        self.applier
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|applied| (applied.label, TokenFingerprint::of(&applied.token)))
    }

    /// The credentials handle the follower keeps up to date.
    pub fn credentials(&self) -> &SharedCredentials {
        &self.applier.credentials
    }
}

impl Drop for StoreFollower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for StoreFollower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreFollower")
            .field("store", self.follower.store())
            .field("following", &self.following())
            .finish()
    }
}

/// The subscriber that puts the store's working token into the credentials.
struct Applier {
    credentials: SharedCredentials,
    /// The token last put into `credentials` (kept to compare, never shown).
    applied: Mutex<Option<Applied>>,
}

/// The token a follower has put into its credentials, and under which label.
pub(crate) struct Applied {
    account: AccountSid,
    label: TokenLabel,
    token: AuthToken,
}

impl Applier {
    /// Switches the credentials to the record's working token, unless they hold it already;
    /// answers the token now used.
    fn apply(&self, record: &TokenRecord) -> Result<Holds, StoreError> {
        let account = self.credentials.account_sid();
        if record.account_sid != account {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!(
                    "the store holds the tokens of account {}, not of {account} that these \
                     credentials are for",
                    record.account_sid
                ),
            ));
        }
        let (label, stored) = working_token(record);
        let holds = vec![(label, stored.fingerprint())];
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if applied.as_ref().is_some_and(|applied| {
            applied.account == account && applied.token.ct_eq(stored.token().expose_secret())
        }) {
            return Ok(holds);
        }
        let credentials =
            Credentials::from_auth_token(account, stored.token().clone()).map_err(|err| {
                StoreError::new(
                    StoreErrorKind::Invalid,
                    format!("the store's {label} token cannot be sent in a header"),
                )
                .with_source(err)
            })?;
        self.credentials.replace(credentials);
        tracing::info!(
            label = label.as_str(),
            fingerprint = %stored.fingerprint(),
            revision = record.revision,
            "switched to the token store's {label} token"
        );
        *applied = Some(Applied {
            account,
            label,
            token: stored.token().clone(),
        });
        Ok(holds)
    }
}

/// The token a process should authenticate with: `pending` once staged (it authenticates as
/// the secondary token, and after the promotion as the primary), else `current`.
fn working_token(record: &TokenRecord) -> (TokenLabel, &StoredToken) {
    match (&record.phase, &record.pending) {
        (RotationPhase::Staged | RotationPhase::Promoting, Some(pending)) => {
            (TokenLabel::Pending, pending)
        }
        _ => (TokenLabel::Current, &record.current),
    }
}

/// Loads `store` once and returns credentials for its working token, for a client that then
/// follows it with [`attach`].
pub(crate) async fn initial_credentials(
    store: &dyn TokenStore,
) -> Result<(Credentials, Applied), StoreError> {
    let record = store.load().await?.ok_or_else(|| {
        StoreError::new(StoreErrorKind::NotFound, "the token store holds no record")
    })?;
    let (label, stored) = working_token(&record);
    let credentials = Credentials::from_auth_token(record.account_sid, stored.token().clone())
        .map_err(|err| {
            StoreError::new(
                StoreErrorKind::Invalid,
                format!("the store's {label} token cannot be sent in a header"),
            )
            .with_source(err)
        })?;
    let applied = Applied {
        account: record.account_sid,
        label,
        token: stored.token().clone(),
    };
    Ok((credentials, applied))
}

/// Starts a follower for credentials that [`initial_credentials`] filled.
pub(crate) fn attach(
    store: Arc<dyn TokenStore>,
    credentials: SharedCredentials,
    interval: Duration,
    applied: Applied,
) -> StoreFollower {
    StoreFollower::start(store, credentials, interval, Some(applied))
}
