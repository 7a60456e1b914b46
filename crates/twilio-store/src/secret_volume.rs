//! [`SecretVolumeStore`]: a read-only [`TokenStore`] over a Kubernetes Secret mounted as a
//! volume, for pods that follow a rotation run elsewhere (issue 17 §3).
//!
//! Kubelet writes a Secret volume as `DIR/..TIMESTAMP/KEY` files, points the symbolic link
//! `DIR/..data` at the current `..TIMESTAMP` directory, and makes `DIR/KEY` a link to
//! `..data/KEY`. An update writes a new `..TIMESTAMP` directory and swaps `..data` to it with one
//! atomic rename, typically 60–90 s after the Secret changed (its sync period plus cache TTL); a
//! reader therefore sees the old record or the new one, never a mix. Environment variables and
//! `subPath` mounts are never updated: mount the whole Secret as a directory.

use std::fs;
use std::hash::{Hash as _, Hasher as _};
use std::io;
use std::path::{Path, PathBuf};

use crate::{ChangeStamp, StoreError, StoreErrorKind, StoreFuture, TokenRecord, TokenStore};

/// The largest record read (as for the file store).
const MAX_LEN: u64 = 64 * 1024;

/// A read-only [`TokenStore`] over a mounted Kubernetes Secret whose key `KEY` holds the
/// record's JSON form ([`TokenRecord::encode`]): the same text the rotator writes to the secrets
/// manager the Secret is synced from (External Secrets Operator, Vault Secrets Operator, …).
///
/// [`load`](TokenStore::load) reads `DIR/KEY`; [`change_stamp`](TokenStore::change_stamp) is the
/// target of `DIR/..data` (one `readlink`), which kubelet changes at every update; a
/// [`save`](TokenStore::save) is [`StoreErrorKind::Unsupported`]: the rotator writes the secrets
/// manager, never the pod's volume. File permissions are not checked (kubelet applies the
/// volume's `defaultMode`; set it to `0400`).
///
/// ```no_run
/// use std::sync::Arc;
/// use twilio_store::{Follower, SecretVolumeStore};
///
/// let store = Arc::new(SecretVolumeStore::new("/var/run/secrets/twilio", "record.json"));
/// let follower = Follower::new(store);
/// ```
#[derive(Debug, Clone)]
pub struct SecretVolumeStore {
    dir: PathBuf,
    key: String,
}

impl SecretVolumeStore {
    /// The store of key `key` of the Secret mounted at `dir`.
    pub fn new(dir: impl Into<PathBuf>, key: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            key: key.into(),
        }
    }

    /// The file read: `DIR/KEY`.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.key)
    }

    fn read(&self) -> Result<Option<TokenRecord>, StoreError> {
        use std::io::Read as _;
        let path = self.path();
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            // A Secret without the key (or not mounted yet): nothing to follow.
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(StoreError::new(
                    StoreErrorKind::Io,
                    format!("reading {}: {err}", path.display()),
                )
                .with_source(err));
            }
        };
        let mut text = zeroize::Zeroizing::new(String::new());
        file.take(MAX_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|err| {
                StoreError::new(
                    StoreErrorKind::Io,
                    format!("reading {}: {err}", path.display()),
                )
                .with_source(err)
            })?;
        if text.len() as u64 > MAX_LEN {
            return Err(StoreError::new(
                StoreErrorKind::Malformed,
                format!("{} is larger than any record", path.display()),
            ));
        }
        TokenRecord::decode(&text).map(Some).map_err(|err| {
            StoreError::new(
                StoreErrorKind::Malformed,
                format!("{}: {}", path.display(), err.message()),
            )
        })
    }

    fn stamp(&self) -> Option<ChangeStamp> {
        let target = fs::read_link(self.dir.join("..data")).ok()?;
        let mut hasher = std::hash::DefaultHasher::new();
        target.hash(&mut hasher);
        Some(ChangeStamp::new(hasher.finish()))
    }
}

impl TokenStore for SecretVolumeStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        Box::pin(async move { self.read() })
    }

    fn save<'a>(&'a self, _record: &'a TokenRecord) -> StoreFuture<'a, u64> {
        let error = StoreError::new(
            StoreErrorKind::Unsupported,
            format!(
                "{} is a Kubernetes Secret volume (read-only): write the secrets manager it is \
                 synced from",
                Path::new(&self.dir).display()
            ),
        );
        Box::pin(std::future::ready(Err(error)))
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        self.stamp()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;
    use std::sync::{Arc, Mutex};

    use time::OffsetDateTime;
    use twilio_types::AuthToken;

    use super::*;
    use crate::test_util::now;
    use crate::{Follower, RotationPhase, StoredToken, TokenLabel};

    const OLD: &str = "aaaabbbbccccddddeeeeffff00001111";
    const NEW: &str = "fedcba9876543210fedcba9876543210";

    /// A Secret volume laid out as kubelet lays it out.
    struct Volume {
        dir: PathBuf,
        generation: u32,
    }

    impl Volume {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "twilio-secret-volume-{name}-{}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self { dir, generation: 0 }
        }

        /// Kubelet's update: a new `..TIMESTAMP` directory, `..data_tmp` pointing at it, renamed
        /// over `..data` (atomic), the key's link created once, the old directory removed.
        fn publish(&mut self, key: &str, contents: &str) {
            self.generation += 1;
            let old = fs::read_link(self.dir.join("..data")).ok();
            let name = format!(
                "..2026_12_03_14_00_0{}.{}",
                self.generation, self.generation
            );
            fs::create_dir(self.dir.join(&name)).unwrap();
            fs::write(self.dir.join(&name).join(key), contents).unwrap();
            symlink(&name, self.dir.join("..data_tmp")).unwrap();
            fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
            if fs::symlink_metadata(self.dir.join(key)).is_err() {
                symlink(format!("..data/{key}"), self.dir.join(key)).unwrap();
            }
            if let Some(old) = old {
                fs::remove_dir_all(self.dir.join(old)).unwrap();
            }
        }
    }

    impl Drop for Volume {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    fn record(staged: bool) -> TokenRecord {
        let mut record = TokenRecord::new(
            "AC0123456789abcdef0123456789abcdef".parse().unwrap(),
            AuthToken::new(OLD).unwrap(),
        );
        if staged {
            record.pending = Some(StoredToken::new(
                AuthToken::new(NEW).unwrap(),
                OffsetDateTime::now_utc(),
            ));
            record.phase = RotationPhase::Staged;
            record.revision = 2;
        }
        record
    }

    #[test]
    fn follows_kubelets_data_swap() {
        let mut volume = Volume::new("swap");
        let store = Arc::new(SecretVolumeStore::new(&volume.dir, "record.json"));
        assert!(now(store.load()).unwrap().is_none(), "not mounted yet");
        assert_eq!(store.change_stamp(), None);

        volume.publish("record.json", &record(false).encode());
        let follower = Follower::new(store.clone());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        follower.subscribe(move |record| {
            let holds = record.fingerprints();
            sink.lock().unwrap().push(holds.clone());
            Ok(holds)
        });
        now(Box::pin(follower.reload())).unwrap();
        assert!(!follower.check());

        volume.publish("record.json", &record(true).encode());
        assert!(follower.check(), "the ..data swap moves the change stamp");
        now(Box::pin(follower.reload())).unwrap();
        let seen = seen.lock().unwrap();
        let labels: Vec<Vec<TokenLabel>> = seen
            .iter()
            .map(|holds| holds.iter().map(|(label, _)| *label).collect())
            .collect();
        assert_eq!(
            labels,
            [
                vec![TokenLabel::Current],
                vec![TokenLabel::Current, TokenLabel::Pending]
            ]
        );
        let loaded = now(store.load()).unwrap().unwrap();
        assert_eq!(loaded.pending.unwrap().token().expose_secret(), NEW);
    }

    #[test]
    fn is_read_only_and_names_no_token() {
        let mut volume = Volume::new("read-only");
        volume.publish("record.json", &record(false).encode());
        let store = SecretVolumeStore::new(&volume.dir, "record.json");
        let err = now(store.save(&record(true))).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unsupported);
        assert_eq!(
            now(store.heartbeats()).unwrap_err().kind(),
            StoreErrorKind::Unsupported
        );
        volume.publish(
            "record.json",
            &record(false).encode().replace("idle", "later"),
        );
        let err = now(store.load()).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Malformed);
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("`phase`") && !shown.contains(OLD), "{shown}");
    }
}
