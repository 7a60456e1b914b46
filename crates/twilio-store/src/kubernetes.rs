//! [`KubernetesSecretStore`]: a read-only [`TokenStore`] over a Kubernetes Secret mounted as a
//! volume, for the processes that follow a rotation from inside a pod.

use std::ffi::OsString;
use std::fs::{self, File};
use std::hash::{Hash as _, Hasher as _};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use crate::{
    ChangeStamp, Heartbeat, StoreError, StoreErrorKind, StoreFuture, TokenRecord, TokenStore,
};

/// The Secret key that holds the record by default: `twilio-token-store.json`.
pub const DEFAULT_SECRET_KEY: &str = "twilio-token-store.json";

/// The link kubelet swaps to publish a new version of the Secret's files.
const DATA_LINK: &str = "..data";

/// The largest record read: a record is well under 2 KiB, so anything bigger is not one.
const MAX_RECORD_LEN: u64 = 64 * 1024;

/// How many times a read starts over when kubelet swapped the volume under it (each swap
/// removes the version being read). kubelet swaps at most once per sync (about a minute), so a
/// second attempt is rare; the bound is generous because a reader descheduled at the wrong
/// instant on a loaded machine can be overtaken several times in a row (the tests swap
/// continuously and have seen four attempts), and only a volume rewritten without pause uses
/// it up.
const MAX_READ_ATTEMPTS: usize = 50;

/// A read-only [`TokenStore`] over a Kubernetes Secret volume: the record's JSON form (as
/// [`TokenRecord::encode`] writes it) under one key of the Secret, [`DEFAULT_SECRET_KEY`]
/// unless told otherwise.
///
/// The rotation never writes here. It writes the secrets manager the Secret is synced from (for
/// example Vault or OpenBao through the External Secrets Operator, which copies the whole KV
/// secret, that is the record's JSON, into the Secret's key when the `ExternalSecret` names no
/// `property`); kubelet then updates every pod's volume 60–90 s later. So the record here is
/// the very record the rotator wrote, revision included.
///
/// * **One version per read.** kubelet writes each version of the Secret into a new
///   timestamped directory (`..2026_12_03_14_00_00.123456789/`), then points the `..data`
///   link at it with one atomic `rename`, and removes the old directory; each key is a link
///   `KEY -> ..data/KEY`. [`load`](TokenStore::load) reads the `..data` link once and reads the
///   key inside the directory it names, so a read never mixes two versions; if kubelet removed
///   that directory meanwhile, the read starts over with the new one.
/// * **Cheap to follow.** [`change_stamp`](TokenStore::change_stamp) is one `readlink` of
///   `..data`: it changes exactly when kubelet publishes a new version.
/// * **Read-only.** [`save`](TokenStore::save) and the heartbeats are
///   [`StoreErrorKind::Unsupported`]: the volume is kubelet's, and a write there would be
///   overwritten by the next sync. A follower of this store therefore publishes no heartbeat,
///   and the rotation's fleet gate cannot see it: its hand-off grace must cover the sync
///   interval plus kubelet's delay plus the follower's reload interval.
/// * **Only volumes that update.** Environment variables from a Secret and `subPath` mounts are
///   copied once when the container starts and never updated, so a process reading them would
///   keep a revoked token after the next rotation. [`open`](Self::open) refuses a path that is
///   a single file or a directory without `..data` with [`StoreErrorKind::Invalid`], saying so.
///
/// The files' access is kubelet's (the volume's `defaultMode`, 0644 unless set; `0400` is
/// better), so unlike [`FileTokenStore`](crate::FileTokenStore) this store does not insist on
/// `0600`: the volume is visible inside the pod only.
///
/// ```
/// use twilio_store::{KubernetesSecretStore, StoreErrorKind, TokenStore, DEFAULT_SECRET_KEY};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     // This store's futures are ready when first polled.
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     match std::pin::pin!(f).poll(&mut cx) { std::task::Poll::Ready(v) => v, _ => unreachable!() }
/// # }
/// # let dir = std::env::temp_dir().join(format!("twilio-k8s-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # let version = dir.join("..2026_12_03_14_00_00.123456789");
/// # std::fs::create_dir_all(&version)?;
/// # let record = twilio_store::TokenRecord::new(
/// #     "AC0123456789abcdef0123456789abcdef".parse()?,
/// #     twilio_types::AuthToken::new("0123456789abcdef0123456789abcdef")?,
/// # );
/// # std::fs::write(version.join(DEFAULT_SECRET_KEY), record.encode().as_bytes())?;
/// # std::os::unix::fs::symlink("..2026_12_03_14_00_00.123456789", dir.join("..data"))?;
/// # std::os::unix::fs::symlink(format!("..data/{DEFAULT_SECRET_KEY}"), dir.join(DEFAULT_SECRET_KEY))?;
/// // The Secret's volume, mounted (without subPath) at, say, /var/run/secrets/twilio:
/// let store = KubernetesSecretStore::open(&dir)?;
/// let record = block_on(store.load())?.expect("the Secret holds a record");
/// assert_eq!(record.account_sid.as_str(), "AC0123456789abcdef0123456789abcdef");
/// assert!(store.change_stamp().is_some());
///
/// // The rotation writes the secrets manager the Secret is synced from, never the volume.
/// assert_eq!(block_on(store.save(&record)).unwrap_err().kind(), StoreErrorKind::Unsupported);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct KubernetesSecretStore {
    dir: PathBuf,
    key: String,
}

impl KubernetesSecretStore {
    /// Opens the Secret volume mounted at `dir`, with the record under [`DEFAULT_SECRET_KEY`].
    ///
    /// # Errors
    ///
    /// As [`open_key`](Self::open_key).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_key(dir, DEFAULT_SECRET_KEY)
    }

    /// Opens the Secret volume mounted at `dir`, with the record under `key`, and reads the
    /// record once to check it.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`] if `key` is not a Secret key (letters, digits, `-`, `_`,
    /// `.`; not starting with `..`), or if `dir` is not a volume kubelet updates: a single file
    /// (a `subPath` mount, or a key's path given for the volume's) or a directory without
    /// `..data`. [`StoreErrorKind::NotFound`] if there is nothing at `dir` or the Secret has no
    /// such key, [`StoreErrorKind::Malformed`] if the key does not hold a record,
    /// [`StoreErrorKind::Io`] if it cannot be read.
    pub fn open_key(dir: impl AsRef<Path>, key: &str) -> Result<Self, StoreError> {
        let store = Self {
            dir: dir.as_ref().to_owned(),
            key: check_key(key)?.to_owned(),
        };
        store.check_volume()?;
        store.read()?;
        Ok(store)
    }

    /// The volume's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Secret key that holds the record.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Refuses what is not a volume kubelet keeps up to date, saying why it matters.
    fn check_volume(&self) -> Result<(), StoreError> {
        let dir = self.dir.display();
        let metadata = fs::metadata(&self.dir).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                StoreError::new(
                    StoreErrorKind::NotFound,
                    format!("no Secret volume at {dir}: mount the Secret there (volumeMounts[].mountPath)"),
                )
                .with_source(err)
            } else {
                self.io_error("reading", err)
            }
        })?;
        if !metadata.is_dir() {
            let hint = match self.dir.parent() {
                Some(parent) if is_link(&parent.join(DATA_LINK)) => format!(
                    "; it looks like a key of the volume at {}: give that directory (and the key name if not {DEFAULT_SECRET_KEY})",
                    parent.display()
                ),
                _ => String::new(),
            };
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!(
                    "{dir} is a single file, not a Secret volume: a `subPath` mount is copied once \
                     and never updated, so a rotation would leave this process with a revoked \
                     token; mount the whole Secret as a volume, without subPath{hint}"
                ),
            ));
        }
        if !is_link(&self.dir.join(DATA_LINK)) {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!(
                    "{dir} has no `{DATA_LINK}` link, so it is not a Secret volume that kubelet \
                     updates (a `subPath` mount or a copy never changes, and a rotation would \
                     leave this process with a revoked token); mount the whole Secret as a \
                     volume, or use a file store for a plain directory"
                ),
            ));
        }
        Ok(())
    }

    /// Reads and decodes the key in the version `..data` names now, starting over if kubelet
    /// swapped versions during the read.
    fn read(&self) -> Result<TokenRecord, StoreError> {
        for _ in 0..MAX_READ_ATTEMPTS {
            let version = self.version()?;
            let path = self.dir.join(&version).join(&self.key);
            match read_capped(&path) {
                Ok(text) if text.len() as u64 > MAX_RECORD_LEN => {
                    return Err(self.malformed("is larger than any record"));
                }
                Ok(text) => return self.decode(&text),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    // Either kubelet removed this version after publishing a new one (read
                    // again), or the Secret has no such key.
                    if self.version()? == version {
                        return Err(self.missing_key(err));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::InvalidData => {
                    return Err(self.malformed("is not UTF-8 text"));
                }
                Err(err) => return Err(self.io_error("reading", err)),
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Io,
            format!(
                "the Secret at {} changed {MAX_READ_ATTEMPTS} times while its key {} was read",
                self.dir.display(),
                self.key
            ),
        ))
    }

    /// The name of the version directory `..data` points at now (one `readlink`).
    fn version(&self) -> Result<OsString, StoreError> {
        let link = fs::read_link(self.dir.join(DATA_LINK)).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                StoreError::new(
                    StoreErrorKind::NotFound,
                    format!(
                        "no Secret volume at {}: its `{DATA_LINK}` link is gone",
                        self.dir.display()
                    ),
                )
                .with_source(err)
            } else {
                self.io_error("reading the `..data` link of", err)
            }
        })?;
        Ok(link.into_os_string())
    }

    fn decode(&self, text: &str) -> Result<TokenRecord, StoreError> {
        TokenRecord::decode(text).map_err(|err| self.malformed(&format!(": {}", err.message())))
    }

    /// The keys the Secret does have (names only, never values), for the missing-key error.
    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with(".."))
            .collect();
        keys.sort();
        keys
    }

    fn missing_key(&self, err: io::Error) -> StoreError {
        StoreError::new(
            StoreErrorKind::NotFound,
            format!(
                "the Secret mounted at {} has no key {} (its keys: {})",
                self.dir.display(),
                self.key,
                match self.keys() {
                    keys if keys.is_empty() => "none".to_owned(),
                    keys => keys.join(", "),
                }
            ),
        )
        .with_source(err)
    }

    fn malformed(&self, what: &str) -> StoreError {
        StoreError::new(
            StoreErrorKind::Malformed,
            format!(
                "the key {} of the Secret at {} {what}",
                self.key,
                self.dir.display()
            ),
        )
    }

    fn io_error(&self, doing: &str, err: io::Error) -> StoreError {
        StoreError::new(
            StoreErrorKind::Io,
            format!("{doing} the Secret volume at {}: {err}", self.dir.display()),
        )
        .with_source(err)
    }

    fn stamp(&self) -> Option<ChangeStamp> {
        let version = self.version().ok()?;
        let mut hasher = std::hash::DefaultHasher::new();
        version.hash(&mut hasher);
        Some(ChangeStamp::new(hasher.finish()))
    }
}

/// `key` if it is a key a Secret can have and kubelet would project as a file.
fn check_key(key: &str) -> Result<&str, StoreError> {
    let valid = !key.is_empty()
        && key.len() <= 253
        && !key.starts_with("..")
        && key != "."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(key)
    } else {
        Err(StoreError::new(
            StoreErrorKind::Invalid,
            format!(
                "{key:?} is not a Secret key a volume projects (letters, digits, `-`, `_` and `.`, \
                 at most 253, not starting with `..`)"
            ),
        ))
    }
}

/// Whether `path` is a symbolic link (not followed).
fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The file's text, at most one byte more than [`MAX_RECORD_LEN`] (the caller refuses that).
fn read_capped(path: &Path) -> io::Result<zeroize::Zeroizing<String>> {
    let mut text = zeroize::Zeroizing::new(String::new());
    File::open(path)?
        .take(MAX_RECORD_LEN + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The error of every write to the volume.
fn read_only(dir: &Path, what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unsupported,
        format!(
            "the Kubernetes Secret mounted at {} is read-only ({what}): write the secrets manager \
             the Secret is synced from (for example Vault through the External Secrets Operator) \
             and let kubelet update the volume",
            dir.display()
        ),
    )
}

impl TokenStore for KubernetesSecretStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        Box::pin(async move { self.read().map(Some) })
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, u64> {
        let _ = record;
        Box::pin(std::future::ready(Err(read_only(
            &self.dir,
            "no record is saved here",
        ))))
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        self.stamp()
    }

    fn publish_heartbeat<'a>(&'a self, heartbeat: &'a Heartbeat) -> StoreFuture<'a, ()> {
        let _ = heartbeat;
        Box::pin(std::future::ready(Err(read_only(
            &self.dir,
            "it keeps no heartbeats",
        ))))
    }

    fn heartbeats(&self) -> StoreFuture<'_, Vec<Heartbeat>> {
        Box::pin(std::future::ready(Err(read_only(
            &self.dir,
            "it keeps no heartbeats",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_checked() {
        for good in [DEFAULT_SECRET_KEY, "token", "a.b-c_D9", ".hidden"] {
            assert_eq!(check_key(good).unwrap(), good);
        }
        let long = "k".repeat(254);
        for bad in [
            "",
            ".",
            "..",
            "..data",
            "a/b",
            "../x",
            "a b",
            "é",
            long.as_str(),
        ] {
            let err = check_key(bad).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Invalid, "{bad:?}");
        }
    }
}
