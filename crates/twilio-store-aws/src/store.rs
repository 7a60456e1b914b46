//! [`SecretsManagerStore`]: the calls, the compare-and-swap and the label projection.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use twilio_store::{StoreError, StoreErrorKind, StoreFuture, StoredToken, TokenRecord, TokenStore};
use twilio_types::{AccountSid, AuthToken};

use crate::error::{code, store_error};
use crate::labels::{self, CURRENT, LabelMap, NEXT, PENDING, PREVIOUS, RECORD, Wanted};
use crate::value;

/// How many times the labels are re-read and moved after a write before giving up (another
/// writer may be moving them at the same moment).
const PROJECTION_ROUNDS: usize = 3;

/// The default bound on one Secrets Manager call, retries included: the SDK bounds only the
/// connect (3.1 s), so an endpoint that accepts and never answers would stall a rotator or a
/// follower for ever.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`TokenStore`] in one AWS Secrets Manager secret; see the [crate docs](crate).
pub struct SecretsManagerStore {
    secret_id: String,
    client: OnceCell<Client>,
    operation_timeout: Duration,
    cache: Mutex<Cache>,
}

/// What was read before: versions never change, so a version read once is never read again.
#[derive(Default)]
struct Cache {
    /// The committed record and the version holding it.
    record: Option<(String, Committed)>,
    /// Token versions read for a secret without a record (rotated by someone else).
    tokens: HashMap<String, (AccountSid, StoredToken)>,
}

/// A record as committed: the record and the versions its tokens are in.
#[derive(Clone)]
struct Committed {
    record: TokenRecord,
    versions: Wanted,
}

impl fmt::Debug for SecretsManagerStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerStore")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerStore {
    /// The store in the secret `secret_id` (a name or an ARN), reached with the AWS default
    /// configuration: region, credentials (environment, profile, web identity, ECS, EC2
    /// instance metadata) and endpoint (`AWS_ENDPOINT_URL_SECRETS_MANAGER`,
    /// `AWS_ENDPOINT_URL`), loaded at the first call.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if `secret_id` cannot name a secret (empty, longer than
    /// 2048 characters, or with characters a secret name or ARN never has).
    pub fn new(secret_id: impl Into<String>) -> Result<Self, StoreError> {
        let secret_id = check_secret_id(secret_id.into())?;
        Ok(Self {
            secret_id,
            client: OnceCell::new(),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            cache: Mutex::default(),
        })
    }

    /// Bounds each Secrets Manager call of the default client, its retries included
    /// ([`DEFAULT_OPERATION_TIMEOUT`] unless set); each attempt gets a third of it. A call
    /// past it fails with [`StoreErrorKind::Io`] ("did not answer in time"). A client given to
    /// [`with_client`](Self::with_client) keeps its own timeouts.
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The store in `secret_id`, through a client the caller configured.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_client(secret_id: impl Into<String>, client: Client) -> Result<Self, StoreError> {
        let store = Self::new(secret_id)?;
        store
            .client
            .set(client)
            .unwrap_or_else(|_| unreachable!("a new cell is empty"));
        Ok(store)
    }

    /// The store named by a URL of the CLI's form: `aws-sm://SECRET-ID`, where `SECRET-ID` is
    /// the secret's name (`aws-sm://twilio/prod`) or its ARN
    /// (`aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio/prod-AbCdEf`).
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if the URL is not of that form.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let id = url
            .split_once("://")
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("aws-sm"))
            .map(|(_, id)| id)
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Invalid,
                    "an AWS Secrets Manager store is named aws-sm://SECRET-ID (a name or an ARN)",
                )
            })?;
        Self::new(id)
    }

    /// The secret's name or ARN, as given.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                // rustls with ring, as the rest of the workspace: no aws-lc-sys C build.
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                let timeouts = timeouts(self.operation_timeout);
                let config = aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .timeout_config(timeouts)
                    .load()
                    .await;
                Client::new(&config)
            })
            .await
    }

    fn fail<E>(&self, error: SdkError<E, HttpResponse>, doing: &str) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        store_error(error, doing, &self.secret_id)
    }

    /// Where the labels are; `None` when the secret does not exist.
    async fn describe(&self) -> Result<Option<LabelMap>, StoreError> {
        let doing = "reading the secret's versions";
        let out = match self
            .client()
            .await
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(self.fail(e, doing)),
        };
        if out.deleted_date().is_some() {
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                format!(
                    "{doing}: the secret {} is scheduled for deletion (restore it with `aws \
                     secretsmanager restore-secret`, or pick another secret)",
                    self.secret_id
                ),
            ));
        }
        Ok(Some(LabelMap::from_versions(
            out.version_ids_to_stages().unwrap_or(&HashMap::new()),
        )))
    }

    /// The text of version `version_id`, and when it was created.
    async fn read_version(
        &self,
        version_id: &str,
    ) -> Result<(Zeroizing<String>, Option<OffsetDateTime>), StoreError> {
        let out = self
            .client()
            .await
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_id(version_id)
            .send()
            .await
            .map_err(|e| self.fail(e, "reading a version of the secret"))?;
        let created = out
            .created_date()
            .and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok());
        let text = out.secret_string().ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Malformed,
                format!(
                    "the version {version_id} of the secret {} holds binary data, not a Twilio \
                     token's JSON",
                    self.secret_id
                ),
            )
        })?;
        Ok((Zeroizing::new(text.to_owned()), created))
    }

    /// The committed record in version `version_id` (cached: versions never change).
    async fn committed(&self, version_id: &str) -> Result<Committed, StoreError> {
        if let Some((cached, committed)) = &self.lock().record
            && cached == version_id
        {
            return Ok(committed.clone());
        }
        let (text, _) = self.read_version(version_id).await?;
        let committed = decode_record(&text).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Malformed,
                format!(
                    "the version {version_id} labelled {RECORD} in the secret {} is not a token \
                     record",
                    self.secret_id
                ),
            )
            .with_source(e)
        })?;
        self.lock().record = Some((version_id.to_owned(), committed.clone()));
        Ok(committed)
    }

    /// The token in version `version_id` (cached).
    async fn token(&self, version_id: &str) -> Result<(AccountSid, StoredToken), StoreError> {
        if let Some(found) = self.lock().tokens.get(version_id) {
            return Ok(found.clone());
        }
        let (text, created) = self.read_version(version_id).await?;
        let (account, token) = value::decode(&text).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Malformed,
                format!(
                    "the version {version_id} of the secret {} is not a Twilio token",
                    self.secret_id
                ),
            )
            .with_source(e)
        })?;
        let found = (
            account,
            StoredToken::new(token, created.unwrap_or_else(OffsetDateTime::now_utc)),
        );
        self.lock()
            .tokens
            .insert(version_id.to_owned(), found.clone());
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn load_record(&self) -> Result<Option<TokenRecord>, StoreError> {
        let Some(labels) = self.describe().await? else {
            return Ok(None);
        };
        match labels.get(RECORD) {
            Ok(Some(version)) => Ok(Some(self.committed(version).await?.record)),
            Ok(None) => self.labels_only(&labels).await.map(Some),
            Err(()) => Err(self.on_several(RECORD)),
        }
    }

    fn on_several(&self, label: &str) -> StoreError {
        StoreError::new(
            StoreErrorKind::Malformed,
            format!(
                "the label {label} is on more than one version of the secret {}",
                self.secret_id
            ),
        )
    }

    /// A secret without our record (written by the AWS rotation Lambda, or by hand): its
    /// tokens under the labels, at revision 0 (this store writes only secrets it created).
    async fn labels_only(&self, labels: &LabelMap) -> Result<TokenRecord, StoreError> {
        let current = labels
            .get(CURRENT)
            .map_err(|()| self.on_several(CURRENT))?
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Malformed,
                    format!("the secret {} has no {CURRENT} version", self.secret_id),
                )
            })?
            .to_owned();
        let (account, current_token) = self.token(&current).await?;
        let other = |label: &'static str| {
            let version = labels.get(label).map_err(|()| self.on_several(label));
            let current = current.clone();
            async move {
                match version? {
                    // The Lambda leaves AWSPENDING on the version it made current.
                    Some(version) if version != current => {
                        let (sid, token) = self.token(version).await?;
                        if sid != account {
                            return Err(StoreError::new(
                                StoreErrorKind::Malformed,
                                format!(
                                    "the {label} version of the secret {} is another account's \
                                     token",
                                    self.secret_id
                                ),
                            ));
                        }
                        Ok(Some(token))
                    }
                    _ => Ok(None),
                }
            }
        };
        let pending = other(PENDING).await?;
        let previous = other(PREVIOUS).await?;
        let mut record = TokenRecord::new(account, current_token.token().clone());
        record.current = current_token;
        if let Some(pending) = pending {
            record.phase = twilio_store::RotationPhase::Staged;
            record.phase_since = pending.written_at();
            record.pending = Some(pending);
        }
        record.previous = previous;
        // Only the versions still labelled stay cached.
        let keep: Vec<String> = [CURRENT, PENDING, PREVIOUS]
            .iter()
            .filter_map(|l| labels.get(l).ok().flatten().map(str::to_owned))
            .collect();
        self.lock().tokens.retain(|id, _| keep.contains(id));
        Ok(record)
    }

    async fn save_record(&self, record: &TokenRecord) -> Result<u64, StoreError> {
        if record.revision == 0 {
            return self.create(record).await;
        }
        let stale = |why: &str| {
            StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "writing the record: {why} (the record in {} changed since it was read; \
                     nothing was written)",
                    self.secret_id
                ),
            )
        };
        let labels = self.describe().await?.ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::NotFound,
                format!(
                    "writing the record: the secret {} no longer exists",
                    self.secret_id
                ),
            )
        })?;
        let Some(from) = labels.get(RECORD).map_err(|()| self.on_several(RECORD))? else {
            return Err(stale("the secret holds no record written by this store"));
        };
        let from = from.to_owned();
        let committed = self.committed(&from).await?;
        if committed.record.revision != record.revision {
            return Err(stale(&format!(
                "it is at revision {}, not {}",
                committed.record.revision, record.revision
            )));
        }
        let versions = self.versions_for(record, Some(&committed)).await?;
        let next = record.revision.saturating_add(1);
        let text = encode_record(record, next, &versions);
        let to = self.put(&text, NEXT).await?;
        self.move_record(&from, &to).await?;
        self.remember(&to, record, next, &versions);
        self.project(&to, &versions).await?;
        Ok(next)
    }

    /// The first write: creates the secret (exactly one creator succeeds), then its record.
    async fn create(&self, record: &TokenRecord) -> Result<u64, StoreError> {
        if self.secret_id.starts_with("arn:") {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                "creating the secret: a new secret is named by its name, not an ARN",
            ));
        }
        let id = fresh_version_id();
        let text = value::encode(&record.account_sid, record.current.token());
        let created = self
            .client()
            .await
            .create_secret()
            .name(&self.secret_id)
            .client_request_token(&id)
            .secret_string(text.as_str())
            .description("A Twilio account's Auth Tokens (twilio-store-aws): AWSCURRENT is the token in use.")
            .send()
            .await;
        if let Err(e) = created {
            let exists = code(&e) == Some("ResourceExistsException");
            // A retried create that had succeeded: our version is current.
            let ours = match self.describe().await {
                Ok(Some(labels)) => labels.get(CURRENT) == Ok(Some(id.as_str())),
                _ => false,
            };
            if !ours {
                return Err(if exists {
                    StoreError::new(
                        StoreErrorKind::Conflict,
                        format!(
                            "creating the secret: {} already exists (this store writes only a \
                             secret it created; nothing was written)",
                            self.secret_id
                        ),
                    )
                } else {
                    self.fail(e, "creating the secret")
                });
            }
        }
        let mut versions = Wanted {
            current: id,
            ..Wanted::default()
        };
        let rest = self.versions_for(record, None).await?;
        versions.pending = rest.pending;
        versions.previous = rest.previous;
        let text = encode_record(record, 1, &versions);
        // Only the creator gets here, so the record label needs no compare-and-swap.
        let to = self.put(&text, RECORD).await?;
        self.remember(&to, record, 1, &versions);
        self.project(&to, &versions).await?;
        Ok(1)
    }

    fn remember(&self, version: &str, record: &TokenRecord, revision: u64, versions: &Wanted) {
        let mut record = record.clone();
        record.revision = revision;
        self.lock().record = Some((
            version.to_owned(),
            Committed {
                record,
                versions: versions.clone(),
            },
        ));
    }

    /// The versions holding `record`'s tokens: those of `committed` for tokens it already
    /// holds, new versions for new tokens. (A version's `current` is only used by `save`.)
    async fn versions_for(
        &self,
        record: &TokenRecord,
        committed: Option<&Committed>,
    ) -> Result<Wanted, StoreError> {
        let known: Vec<(&AuthToken, &String)> = committed
            .map(|c| {
                let mut known = vec![(c.record.current.token(), &c.versions.current)];
                if let (Some(t), Some(v)) = (&c.record.pending, &c.versions.pending) {
                    known.push((t.token(), v));
                }
                if let (Some(t), Some(v)) = (&c.record.previous, &c.versions.previous) {
                    known.push((t.token(), v));
                }
                known
            })
            .unwrap_or_default();
        let version_of = async |token: &AuthToken| -> Result<String, StoreError> {
            if let Some((_, v)) = known
                .iter()
                .find(|(t, _)| t.expose_secret() == token.expose_secret())
            {
                return Ok((*v).clone());
            }
            self.put(&value::encode(&record.account_sid, token), NEXT)
                .await
        };
        let current = version_of(record.current.token()).await?;
        let pending = match &record.pending {
            Some(t) => Some(version_of(t.token()).await?),
            None => None,
        };
        let previous = match &record.previous {
            Some(t) => Some(version_of(t.token()).await?),
            None => None,
        };
        Ok(Wanted {
            current,
            pending,
            previous,
        })
    }

    /// A new version holding `text`, labelled `label`; its id.
    async fn put(&self, text: &str, label: &str) -> Result<String, StoreError> {
        // A fresh ClientRequestToken for every value: a token is never reused for another
        // value (moto would overwrite; AWS refuses), and the SDK's retries of this call send
        // the same token and value, which Secrets Manager takes as one write.
        let id = fresh_version_id();
        self.client()
            .await
            .put_secret_value()
            .secret_id(&self.secret_id)
            .client_request_token(&id)
            .secret_string(text)
            .version_stages(label)
            .send()
            .await
            .map_err(|e| self.fail(e, "writing a version of the secret"))?;
        Ok(id)
    }

    /// The compare-and-swap: moves the record label from `from` to `to`, which Secrets
    /// Manager refuses if it is no longer on `from`.
    async fn move_record(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let moved = self
            .client()
            .await
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage(RECORD)
            .remove_from_version_id(from)
            .move_to_version_id(to)
            .send()
            .await;
        let Err(e) = moved else { return Ok(()) };
        let labels = self.describe().await?.unwrap_or_default();
        match labels.get(RECORD) {
            // The SDK retried a move that had succeeded.
            Ok(Some(on)) if on == to => Ok(()),
            Ok(Some(on)) if on == from => Err(self.fail(e, "moving the record label")),
            _ => Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "writing the record: another writer committed first (the {RECORD} label \
                     of {} moved; nothing was written)",
                    self.secret_id
                ),
            )),
        }
    }

    /// Moves the AWS labels to the versions of the record committed in `record_version`,
    /// unless a newer record was committed meanwhile (its writer moves them).
    async fn project(&self, record_version: &str, versions: &Wanted) -> Result<(), StoreError> {
        for _ in 0..PROJECTION_ROUNDS {
            let labels = self.describe().await?.unwrap_or_default();
            if labels.get(RECORD) != Ok(Some(record_version)) || versions.holds_in(&labels) {
                return Ok(());
            }
            for step in labels::plan(&labels, versions) {
                let moved = self
                    .client()
                    .await
                    .update_secret_version_stage()
                    .secret_id(&self.secret_id)
                    .version_stage(step.label)
                    .set_remove_from_version_id(step.from)
                    .set_move_to_version_id(step.to)
                    .send()
                    .await;
                if moved.is_err() {
                    // Someone moved a label meanwhile: read them again.
                    break;
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Io,
            format!(
                "the record was written, but the labels {CURRENT}/{PENDING}/{PREVIOUS} of {} \
                 could not all be moved to its tokens (AWS-native readers see the old ones until \
                 the next write moves them)",
                self.secret_id
            ),
        ))
    }
}

impl TokenStore for SecretsManagerStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        Box::pin(self.load_record())
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, u64> {
        Box::pin(self.save_record(record))
    }

    // No heartbeats (the default `Unsupported`): on Secrets Manager each one would be a
    // billed write and a new secret version; see the crate docs.
}

/// Refuses ids that cannot name a secret: the name's characters (`A-Za-z0-9/_+=.@-`) or an
/// ARN's (`:` too), 1..=2048 of them.
fn check_secret_id(id: String) -> Result<String, StoreError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c);
    if id.is_empty() || id.len() > 2048 || !id.chars().all(ok_char) {
        return Err(StoreError::new(
            StoreErrorKind::Invalid,
            "a secret is named by 1 to 2048 of A-Z a-z 0-9 / _ + = . @ - (or by its ARN)",
        ));
    }
    Ok(id)
}

/// A new ClientRequestToken (a random UUID, as the AWS CLI makes).
fn fresh_version_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The record version's text: the record's JSON form (at `revision`) and the versions of its
/// tokens (`aws_version_ids`).
fn encode_record(record: &TokenRecord, revision: u64, versions: &Wanted) -> Zeroizing<String> {
    let mut record = record.clone();
    record.revision = revision;
    let text = record.encode();
    let mut value: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| unreachable!("encode writes JSON"));
    value["aws_version_ids"] = json!({
        "current": versions.current,
        "pending": versions.pending,
        "previous": versions.previous,
    });
    Zeroizing::new(format!("{value:#}"))
}

fn decode_record(text: &str) -> Result<Committed, StoreError> {
    let record = TokenRecord::decode(text)?;
    let malformed = |what: &str| {
        StoreError::new(
            StoreErrorKind::Malformed,
            format!("malformed record: {what}"),
        )
    };
    let value: Value = serde_json::from_str(text).map_err(|_| malformed("not JSON"))?;
    let ids = value
        .get("aws_version_ids")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("`aws_version_ids` is not an object"))?;
    let id = |label: &str| match ids.get(label) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id.clone())),
        Some(_) => Err(malformed(&format!(
            "`aws_version_ids.{label}` is not a string"
        ))),
    };
    let versions = Wanted {
        current: id("current")?.ok_or_else(|| malformed("`aws_version_ids.current` is missing"))?,
        pending: id("pending")?,
        previous: id("previous")?,
    };
    if versions.pending.is_some() != record.pending.is_some()
        || versions.previous.is_some() != record.previous.is_some()
    {
        return Err(malformed(
            "`aws_version_ids` does not match the record's tokens",
        ));
    }
    Ok(Committed { record, versions })
}

/// The default client's timeouts: the whole call, retries included, within `operation`; each
/// attempt within a third of it (so a stalled attempt leaves time for a retry).
fn timeouts(operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(operation)
        .operation_attempt_timeout(operation / 3)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "aaaabbbbccccddddeeeeffff00001111";

    /// An endpoint that accepts connections and never answers is an `Io` error once the
    /// operation timeout has passed, not a call that waits for ever.
    #[tokio::test]
    async fn a_silent_endpoint_is_io_after_the_operation_timeout() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", silent.local_addr().unwrap());
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .timeout_config(timeouts(Duration::from_millis(600)))
            .build();
        let store = SecretsManagerStore::with_client("silent", Client::from_conf(config)).unwrap();
        let err = store.load().await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
        assert!(err.to_string().contains("did not answer in time"), "{err}");
        drop(silent);
    }

    #[test]
    fn version_ids_are_fresh_uuids() {
        let a = fresh_version_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_ne!(a, fresh_version_id());
    }

    #[test]
    fn secret_ids_are_checked() {
        for good in [
            "twilio/prod",
            "a",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio/prod-AbCdEf",
        ] {
            assert!(check_secret_id(good.to_owned()).is_ok(), "{good}");
        }
        for bad in ["", "has space", "a?b", "ü", &"x".repeat(2049)] {
            let err = check_secret_id(bad.to_owned()).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn the_record_version_round_trips_with_its_version_ids() {
        let mut record = TokenRecord::new(
            "AC0123456789abcdef0123456789abcdef".parse().unwrap(),
            AuthToken::new(TOKEN).unwrap(),
        );
        record.revision = 4;
        let versions = Wanted {
            current: "v-current".to_owned(),
            pending: None,
            previous: None,
        };
        let text = encode_record(&record, 5, &versions);
        let back = decode_record(&text).unwrap();
        assert_eq!(back.record.revision, 5);
        assert_eq!(back.versions, versions);
        assert_eq!(back.record.current.token().expose_secret(), TOKEN);
        let mut wrong: Value = serde_json::from_str(&text).unwrap();
        wrong["aws_version_ids"]["pending"] = json!("v-x");
        let err = decode_record(&wrong.to_string()).err().expect("refused");
        assert!(err.to_string().contains("does not match"), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN));
    }
}
