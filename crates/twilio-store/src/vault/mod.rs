//! [`VaultTokenStore`]: the record in a HashiCorp Vault or OpenBao KV v2 secrets engine, shared
//! by every host that can reach the server (feature `vault`).
//!
//! * **The record** is the KV v2 secret `MOUNT/data/PATH`; its data is the record's JSON form
//!   (a JSON object, so other programs read `current.token` with their own Vault client).
//! * **Compare-and-swap is Vault's own**: a record's [`revision`](TokenRecord::revision) is the
//!   KV version it was read at, and [`save`](TokenStore::save) writes with
//!   `options.cas = revision`; Vault refuses a write against any other version, which is a
//!   [`StoreErrorKind::Conflict`]. Two hosts therefore never overwrite each other.
//! * **Heartbeats** of followers are the secrets `MOUNT/data/PATH.followers/ID` (last writer
//!   wins), listed with `LIST MOUNT/metadata/PATH.followers`. Listing them removes those
//!   expired longer than [`HEARTBEAT_RETENTION`](crate::HEARTBEAT_RETENTION) (`DELETE
//!   MOUNT/metadata/PATH.followers/ID`, after checking that the version read is still the
//!   latest: KV v2 has no conditional delete, so a follower gone for over an hour that
//!   publishes in the instant between the two calls loses that one heartbeat and publishes it
//!   again at its next reload). Without the rotator policy's `delete` there, nothing is
//!   removed (one warning per process).
//! * **Followers poll** [`load`](TokenStore::load): one `GET` per poll, as cheap as a metadata
//!   read would be, so the store has no separate change stamp.
//! * **Auth** is a token ([`VaultToken`]), from `VAULT_TOKEN` with [`VaultTokenStore::from_url`];
//!   `VAULT_NAMESPACE` selects a namespace, `VAULT_CACERT` a private CA. The token is never
//!   printed: not by `Debug`, not in an error.
//!
//! The store's futures need a Tokio runtime (the HTTP client spawns its connections on it).
//!
//! The policies (a rotator writes the record and reads the heartbeats for the gate and
//! `status`; a follower reads the record and writes its heartbeat):
//!
//! ```hcl
//! # twilio-rotator
//! path "secret/data/twilio/prod"                { capabilities = ["read", "create", "update"] }
//! path "secret/data/twilio/prod.followers/*"    { capabilities = ["read"] }
//! path "secret/metadata/twilio/prod.followers"  { capabilities = ["list"] }
//! path "secret/metadata/twilio/prod.followers/*" { capabilities = ["read", "delete"] }
//! # twilio-follower
//! path "secret/data/twilio/prod"                { capabilities = ["read"] }
//! path "secret/data/twilio/prod.followers/*"    { capabilities = ["create", "update"] }
//! ```
//!
//! Heartbeats are written without check-and-set, so the mount (or the heartbeats' secrets)
//! must not set `cas_required`; the record is always written with it.

mod client;
mod location;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderValue, StatusCode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use client::VaultToken;
pub use location::{VaultAddress, VaultLocation};

use crate::{Heartbeat, StoreError, StoreErrorKind, StoreFuture, TokenRecord, TokenStore};
use client::{KvClient, KvError, Read};

/// The environment variables [`VaultTokenStore::from_url`] reads, as Vault's own CLI does.
const VAULT_ADDR: &str = "VAULT_ADDR";
const VAULT_TOKEN: &str = "VAULT_TOKEN";
const VAULT_NAMESPACE: &str = "VAULT_NAMESPACE";
const VAULT_CACERT: &str = "VAULT_CACERT";

/// The folder of followers' heartbeats next to the record.
const FOLLOWERS_SUFFIX: &str = ".followers";

/// A [`TokenStore`] in a Vault/OpenBao KV v2 secret; see the [module docs](self).
///
/// ```no_run
/// # async fn example() -> Result<(), twilio_store::StoreError> {
/// use twilio_store::TokenStore;
/// use twilio_store::vault::VaultTokenStore;
///
/// // VAULT_TOKEN (and VAULT_NAMESPACE, if any) come from the environment.
/// let store = VaultTokenStore::from_url("vault://vault.example.com/secret/twilio/prod")?;
/// if let Some(record) = store.load().await? {
///     println!("current token {} at revision {}", record.current.fingerprint(), record.revision);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct VaultTokenStore {
    location: VaultLocation,
    namespace: Option<String>,
    token: VaultToken,
    client: KvClient,
    /// Vault refused to delete a dead follower's heartbeat (no `delete` in the policy): this
    /// store stops trying (and has warned once).
    pruning_refused: Arc<AtomicBool>,
}

impl fmt::Debug for VaultTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultTokenStore")
            .field("location", &self.location.to_string())
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl VaultTokenStore {
    /// The store at `location`, authenticated by `token`, in `namespace` (Vault Enterprise or
    /// OpenBao namespaces; `None` for the root).
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if `namespace` cannot be sent in a header (it must be
    /// visible ASCII), or the TLS configuration cannot be built.
    pub fn new(
        location: VaultLocation,
        token: VaultToken,
        namespace: Option<&str>,
    ) -> Result<Self, StoreError> {
        let namespace = namespace.filter(|n| !n.is_empty()).map(str::to_owned);
        let client = Self::client(&location, &token, namespace.as_deref(), None)?;
        Ok(Self {
            location,
            namespace,
            token,
            client,
            pruning_refused: Arc::default(),
        })
    }

    /// The same store trusting only the certificate authorities in the PEM file at `path`
    /// (what `VAULT_CACERT` names), for a server whose certificate a private CA issued.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if the file cannot be read or holds no certificate.
    pub fn with_ca_file(self, path: &Path) -> Result<Self, StoreError> {
        let invalid = |message: String| StoreError::new(StoreErrorKind::Invalid, message);
        let certificates = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| {
                invalid(format!(
                    "cannot read the CA certificates in {}",
                    path.display()
                ))
                .with_source(e)
            })?;
        if certificates.is_empty() {
            return Err(invalid(format!(
                "{} holds no PEM certificate",
                path.display()
            )));
        }
        let client = Self::client(
            &self.location,
            &self.token,
            self.namespace.as_deref(),
            Some(&certificates),
        )?;
        Ok(Self { client, ..self })
    }

    fn client(
        location: &VaultLocation,
        token: &VaultToken,
        namespace: Option<&str>,
        ca: Option<&[CertificateDer<'static>]>,
    ) -> Result<KvClient, StoreError> {
        let header = namespace
            .map(|n| {
                n.bytes()
                    .all(|b| b.is_ascii_graphic())
                    .then(|| HeaderValue::from_str(n).ok())
                    .flatten()
                    .ok_or_else(|| {
                        StoreError::new(
                            StoreErrorKind::Invalid,
                            "the Vault namespace holds characters other than visible ASCII",
                        )
                    })
            })
            .transpose()?;
        KvClient::new(
            location.address(),
            location.mount(),
            token.clone(),
            header,
            ca,
        )
        .map_err(|e| {
            StoreError::new(
                StoreErrorKind::Invalid,
                "cannot build the TLS configuration",
            )
            .with_source(e)
        })
    }

    /// The store named by a URL of the CLI's form (see [`VaultLocation::parse`]), with the
    /// server from `VAULT_ADDR` when the URL names none, the token from `VAULT_TOKEN`, the
    /// namespace from `VAULT_NAMESPACE` and the CA certificates from the PEM file named by
    /// `VAULT_CACERT` (the webpki roots when unset), as Vault's own CLI reads them.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] naming what is wrong with the URL or the environment
    /// (`VAULT_TOKEN` unset or unusable, `VAULT_CACERT` unreadable); never the token itself.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        Self::from_url_and_env(url, |name| std::env::var(name).ok())
    }

    /// [`from_url`](Self::from_url) with the environment given as a function (for tests and
    /// for programs that keep their settings elsewhere).
    ///
    /// # Errors
    ///
    /// As [`from_url`](Self::from_url).
    pub fn from_url_and_env(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, StoreError> {
        let location = VaultLocation::parse(url, env(VAULT_ADDR).as_deref())?;
        let token = env(VAULT_TOKEN).filter(|t| !t.is_empty()).ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Invalid,
                "VAULT_TOKEN is not set: the Vault store authenticates with a token",
            )
        })?;
        let token = VaultToken::new(token).map_err(|_| {
            StoreError::new(
                StoreErrorKind::Invalid,
                "VAULT_TOKEN holds characters other than visible ASCII",
            )
        })?;
        let store = Self::new(location, token, env(VAULT_NAMESPACE).as_deref())?;
        match env(VAULT_CACERT).filter(|p| !p.is_empty()) {
            Some(path) => store.with_ca_file(Path::new(&path)).map_err(|e| {
                StoreError::new(StoreErrorKind::Invalid, "VAULT_CACERT is not usable")
                    .with_source(e)
            }),
            None => Ok(store),
        }
    }

    /// Where the record is.
    pub fn location(&self) -> &VaultLocation {
        &self.location
    }

    /// `MOUNT/PATH`, how messages name the record.
    fn record_name(&self) -> String {
        format!("{}/{}", self.location.mount(), self.location.path())
    }

    fn followers_path(&self) -> String {
        format!("{}{FOLLOWERS_SUFFIX}", self.location.path())
    }

    async fn load_record(&self) -> Result<Option<TokenRecord>, StoreError> {
        let read = self
            .client
            .read(self.location.path())
            .await
            .map_err(|e| self.error(e, "reading the record"))?;
        match read {
            Read::Missing => Ok(None),
            Read::Deleted { version } => Err(StoreError::new(
                StoreErrorKind::NotFound,
                format!(
                    "the latest version ({version}) of the record {} was deleted in Vault: \
                     undelete it (`bao kv undelete -mount={} -versions={version} {}`)",
                    self.record_name(),
                    self.location.mount(),
                    self.location.path()
                ),
            )),
            Read::Found(found) => {
                let mut record = TokenRecord::decode(&found.value).map_err(|e| {
                    StoreError::new(
                        StoreErrorKind::Malformed,
                        format!(
                            "the record {} (version {}) is not a token record",
                            self.record_name(),
                            found.version
                        ),
                    )
                    .with_source(e)
                })?;
                record.revision = found.version;
                Ok(Some(record))
            }
        }
    }

    async fn save_record(&self, record: &TokenRecord) -> Result<u64, StoreError> {
        // The JSON says the revision it will have: the KV version after this write.
        let mut written = record.clone();
        written.revision = record.revision.saturating_add(1);
        let text = written.encode();
        self.client
            .write(self.location.path(), &text, Some(record.revision))
            .await
            .map_err(|e| self.error(e, "writing the record"))
    }

    async fn publish(&self, heartbeat: &Heartbeat) -> Result<(), StoreError> {
        // A `FollowerId` is one path segment that needs no escaping (`A-Za-z0-9._:-`, no
        // leading `.`).
        let path = format!("{}/{}", self.followers_path(), heartbeat.follower.as_str());
        self.client
            .write(&path, &heartbeat.encode(), None)
            .await
            .map(drop)
            .map_err(|e| self.error(e, "publishing a heartbeat"))
    }

    async fn list_heartbeats(&self) -> Result<Vec<Heartbeat>, StoreError> {
        let folder = self.followers_path();
        let keys = self
            .client
            .list(&folder)
            .await
            .map_err(|e| self.error(e, "listing the heartbeats"))?;
        let mut heartbeats = Vec::with_capacity(keys.len());
        // A key ending in `/` is a folder someone else made there, not a heartbeat.
        for key in keys.iter().filter(|k| !k.ends_with('/')) {
            let path = format!("{folder}/{key}");
            let read = self
                .client
                .read(&path)
                .await
                .map_err(|e| self.error(e, "reading a heartbeat"))?;
            // Listed, then deleted before the read: gone, not an error.
            let Read::Found(found) = read else { continue };
            let heartbeat = Heartbeat::decode(&found.value).map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Malformed,
                    format!(
                        "the heartbeat {}/{path} is not a heartbeat",
                        self.location.mount()
                    ),
                )
                .with_source(e)
            })?;
            if heartbeat.is_prunable_at(time::OffsetDateTime::now_utc()) {
                self.prune(&path, found.version).await;
            } else {
                heartbeats.push(heartbeat);
            }
        }
        Ok(heartbeats)
    }

    /// Removes the heartbeat at `path` of a follower gone for good, if `version` is still its
    /// latest. Best effort: a failure leaves it, and a refusal stops this store trying.
    async fn prune(&self, path: &str, version: u64) {
        if self.pruning_refused.load(Ordering::Relaxed) {
            return;
        }
        match self.client.delete_if_latest(path, version).await {
            Ok(_) => {}
            Err(e) if e.status() == Some(StatusCode::FORBIDDEN) => {
                if !self.pruning_refused.swap(true, Ordering::Relaxed) {
                    let error = self.error(e, "removing a dead follower's heartbeat");
                    tracing::warn!(%error, "heartbeats of followers gone for good are not removed: the token may not delete MOUNT/metadata/PATH.followers/*");
                }
            }
            Err(e) => {
                let error = self.error(e, "removing a dead follower's heartbeat");
                tracing::debug!(%error, "a dead follower's heartbeat stays until the next listing");
            }
        }
    }

    /// The store error for a failed KV call made while `doing`, with the call in `source()`.
    fn error(&self, error: KvError, doing: &str) -> StoreError {
        let server = self.location.address();
        let (kind, message) = match error.status() {
            None if error.is_unexpected() => (
                StoreErrorKind::Io,
                format!(
                    "{doing}: the Vault server at {server} answered in a form the KV v2 API does not document (is `{}` a KV version 2 mount?)",
                    self.location.mount()
                ),
            ),
            None => (
                StoreErrorKind::Io,
                format!("{doing}: the Vault server at {server} did not answer"),
            ),
            Some(StatusCode::BAD_REQUEST)
                if error.says("check-and-set parameter did not match") =>
            {
                (
                    StoreErrorKind::Conflict,
                    format!(
                        "{doing}: the record {} changed since it was read (Vault's check-and-set \
                     refused the write; nothing was written)",
                        self.record_name()
                    ),
                )
            }
            Some(StatusCode::BAD_REQUEST) if error.says("Upgrading from non-versioned") => (
                StoreErrorKind::Io,
                format!(
                    "{doing}: the KV mount `{}` on {server} is being upgraded to version 2 and \
                     is briefly unavailable; try again",
                    self.location.mount()
                ),
            ),
            Some(StatusCode::BAD_REQUEST) if error.says("check-and-set parameter required") => (
                StoreErrorKind::Invalid,
                format!(
                    "{doing}: the mount `{}` requires check-and-set on every write \
                     (`cas_required`), and heartbeats are written without it: turn \
                     `cas_required` off for the mount or for `{}`",
                    self.location.mount(),
                    self.followers_path()
                ),
            ),
            Some(StatusCode::FORBIDDEN) => (
                StoreErrorKind::Permissions,
                format!(
                    "{doing}: the Vault token may not do this on {} (permission denied: check \
                     the token's policy, or whether it expired)",
                    self.record_name()
                ),
            ),
            Some(StatusCode::SERVICE_UNAVAILABLE) if error.says("sealed") => (
                StoreErrorKind::Io,
                format!("{doing}: the Vault server at {server} is sealed"),
            ),
            Some(StatusCode::NOT_FOUND) if error.says("no handler for route") => (
                StoreErrorKind::NotFound,
                format!(
                    "{doing}: no secrets engine is mounted at `{}` on {server}",
                    self.location.mount()
                ),
            ),
            Some(status) if status.is_redirection() => (
                StoreErrorKind::Io,
                format!(
                    "{doing}: the Vault server at {server} redirected (HTTP {}; a standby \
                     node?): redirects are not followed, point the store at the active node",
                    status.as_u16()
                ),
            ),
            Some(status) => (
                StoreErrorKind::Io,
                format!(
                    "{doing}: the Vault server at {server} answered HTTP {}",
                    status.as_u16()
                ),
            ),
        };
        StoreError::new(kind, message).with_source(error)
    }
}

impl TokenStore for VaultTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        Box::pin(self.load_record())
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, u64> {
        Box::pin(self.save_record(record))
    }

    fn publish_heartbeat<'a>(&'a self, heartbeat: &'a Heartbeat) -> StoreFuture<'a, ()> {
        Box::pin(self.publish(heartbeat))
    }

    fn heartbeats(&self) -> StoreFuture<'_, Vec<Heartbeat>> {
        Box::pin(self.list_heartbeats())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn store() -> VaultTokenStore {
        let location = VaultLocation::parse("vault://vault.example.com/kv/twilio/prod", None)
            .expect("a valid URL");
        VaultTokenStore::new(
            location,
            VaultToken::new("hvs.secret").unwrap(),
            Some("team-a"),
        )
        .expect("a store")
    }

    fn status(code: u16, errors: &[&str]) -> KvError {
        KvError::Status {
            call: "GET kv/data/twilio/prod on https://vault.example.com:8200".into(),
            status: StatusCode::from_u16(code).unwrap(),
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
            version: None,
        }
    }

    /// Each answer an operator can meet maps to its kind and a message that names the cause,
    /// with the exchange kept in `source()`.
    #[test]
    fn answers_map_to_typed_errors() {
        let store = store();
        let cases = [
            (
                status(
                    400,
                    &["check-and-set parameter did not match the current version"],
                ),
                StoreErrorKind::Conflict,
                "kv/twilio/prod changed since it was read",
            ),
            (
                status(
                    400,
                    &["Upgrading from non-versioned to versioned data. ..."],
                ),
                StoreErrorKind::Io,
                "is being upgraded to version 2",
            ),
            (
                status(400, &["check-and-set parameter required for this call"]),
                StoreErrorKind::Invalid,
                "turn `cas_required` off for the mount or for `twilio/prod.followers`",
            ),
            (
                status(403, &["permission denied"]),
                StoreErrorKind::Permissions,
                "permission denied",
            ),
            (
                status(503, &["Vault is sealed"]),
                StoreErrorKind::Io,
                "is sealed",
            ),
            (
                status(
                    404,
                    &["no handler for route \"kv/data/x\". route entry not found."],
                ),
                StoreErrorKind::NotFound,
                "no secrets engine is mounted at `kv`",
            ),
            (
                status(307, &[]),
                StoreErrorKind::Io,
                "redirects are not followed",
            ),
            (
                status(500, &["internal"]),
                StoreErrorKind::Io,
                "answered HTTP 500",
            ),
            (
                status(400, &["something else"]),
                StoreErrorKind::Io,
                "answered HTTP 400",
            ),
            (
                KvError::Unexpected {
                    call: "GET".into(),
                    what: "no `data.data` object",
                },
                StoreErrorKind::Io,
                "a KV version 2 mount?",
            ),
            (
                KvError::Timeout { call: "GET".into() },
                StoreErrorKind::Io,
                "did not answer",
            ),
        ];
        for (error, kind, says) in cases {
            let shown = error.to_string();
            let mapped = store.error(error, "reading the record");
            assert_eq!(mapped.kind(), kind, "{mapped}");
            assert!(mapped.to_string().contains(says), "{mapped}");
            assert!(
                mapped
                    .to_string()
                    .starts_with("token store: reading the record: ")
            );
            assert_eq!(mapped.source().map(ToString::to_string), Some(shown));
        }
    }

    #[test]
    fn debug_shows_where_not_the_token() {
        let debug = format!("{:?}", store());
        assert!(
            debug.contains("vault://vault.example.com:8200/kv/twilio/prod"),
            "{debug}"
        );
        assert!(debug.contains("team-a"), "{debug}");
        assert!(!debug.contains("hvs.secret"), "{debug}");
    }

    #[test]
    fn bad_namespaces_and_ca_files_are_invalid() {
        let location = store().location().clone();
        let token = VaultToken::new("t").unwrap();
        let err = VaultTokenStore::new(location, token, Some("team a")).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Invalid);

        let err = store()
            .with_ca_file(Path::new("/nonexistent/ca.pem"))
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Invalid);
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        assert!(err.source().is_some());

        let empty =
            std::env::temp_dir().join(format!("twilio-store-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = store().with_ca_file(&empty).unwrap_err();
        std::fs::remove_file(&empty).unwrap();
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
    }
}
