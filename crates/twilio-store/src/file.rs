//! [`FileTokenStore`]: a [`TokenStore`] in one private JSON file, written atomically and durably.

use std::fs::{self, File, OpenOptions};
use std::hash::{Hash as _, Hasher as _};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{
    ChangeStamp, Heartbeat, StoreError, StoreErrorKind, StoreFuture, TokenRecord, TokenStore,
};

/// The largest store file read: a record is well under 2 KiB, so anything bigger is not one.
const MAX_FILE_LEN: u64 = 64 * 1024;

/// A [`TokenStore`] kept in one JSON file (the [`TokenRecord::encode`] form), private to its
/// owner.
///
/// * **Private.** [`create`](Self::create) makes the file with mode `0600` (owner read and
///   write only); [`open`](Self::open) and every [`load`](TokenStore::load) refuse a file that
///   grants anything more (group or other access, or execute) with
///   [`StoreErrorKind::Permissions`], because such a file may already have leaked its tokens.
///   (Unix only: elsewhere the file gets the directory's default access.)
/// * **Atomic and durable.** Every write goes to a new `0600` temporary file in the same
///   directory, which is flushed to disk (`fsync`), renamed over the store file, and then the
///   directory itself is flushed, so the new name survives a crash. A reader sees either the
///   old record or the new one, never a mix; a write that fails (a full disk, a read-only
///   directory, a crash) leaves the previous record intact and removes its temporary file.
/// * **Compare-and-swap.** [`save`](TokenStore::save) takes an exclusive advisory lock
///   ([`File::lock`]) on a sidecar file next to the store, `PATH.lock` (mode `0600`, holds no
///   data, left in place afterwards), reads the stored revision, and writes only if it is still
///   the record's; otherwise [`StoreErrorKind::Conflict`]. The lock is held for that one write
///   only (the rotation's own lock is the [lease](crate::LeasedRecord) in the record), and the
///   operating system releases it when its holder exits, even if it is killed.
/// * **Heartbeats.** [`publish_heartbeat`](TokenStore::publish_heartbeat) writes one file per
///   follower, `PATH.followers/ID.json` (`0600`, atomically), and
///   [`heartbeats`](TokenStore::heartbeats) lists them, removing those expired longer than
///   [`HEARTBEAT_RETENTION`](crate::HEARTBEAT_RETENTION): each is renamed aside (atomically),
///   read again, and put back by hard link (which never replaces a newer file) if its follower
///   published again meanwhile.
/// * **Cheap to follow.** [`change_stamp`](TokenStore::change_stamp) costs one `stat`, so a
///   follower can notice a new record long before its next full reload.
///
/// The futures this store returns do their small amount of blocking I/O (one read of a file
/// under 2 KiB, or one write and two `fsync`s) when first polled and are then ready at once:
/// the store needs no async runtime. On a disk whose `fsync` can take long, call
/// [`save`](TokenStore::save) from a thread where blocking is allowed.
///
/// Keep the file on a local disk or a shared volume that honours `fsync`, `rename` and `flock`
/// (ext4, XFS, tmpfs, NFSv4); writes replace the file, so a symbolic link at `PATH` is
/// replaced by a regular file.
///
/// ```
/// use twilio_store::{FileTokenStore, StoreErrorKind, TokenRecord, TokenStore};
/// use twilio_types::{AccountSid, AuthToken};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     // The file store's futures are ready when first polled.
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     match std::pin::pin!(f).poll(&mut cx) { std::task::Poll::Ready(v) => v, _ => unreachable!() }
/// # }
/// # let dir = std::env::temp_dir().join(format!("twilio-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("tokens.json");
/// # let _ = std::fs::remove_file(&path);
///
/// let account: AccountSid = "AC0123456789abcdef0123456789abcdef".parse()?;
/// let token = AuthToken::new("0123456789abcdef0123456789abcdef")?;
/// let store = FileTokenStore::create(&path, &TokenRecord::new(account, token))?;
///
/// // Creating again refuses to overwrite; opening checks the file's access and content.
/// let again = FileTokenStore::create(&path, &TokenRecord::new(account, AuthToken::new("x")?));
/// assert_eq!(again.unwrap_err().kind(), StoreErrorKind::AlreadyExists);
/// let store = FileTokenStore::open(store.path())?;
///
/// let record = block_on(store.load())?.expect("created with a record");
/// assert_eq!(record.revision, 1);
/// assert_eq!(block_on(store.save(&record))?, 2);
/// // `record` is stale now: a second save of it is refused.
/// assert_eq!(block_on(store.save(&record)).unwrap_err().kind(), StoreErrorKind::Conflict);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
    followers_dir: PathBuf,
    /// A write fault to inject, for the tests of what a failed write leaves behind.
    #[cfg(test)]
    fault: Option<tests::Fault>,
}

impl FileTokenStore {
    /// Writes `record` to a new store file at `path` (with its revision incremented, as
    /// [`save`](TokenStore::save) does) and returns the store.
    ///
    /// The file is made with mode `0600` and appears complete or not at all.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::AlreadyExists`] if something exists at `path` (it is never
    /// overwritten), [`StoreErrorKind::Io`] if the file cannot be written.
    pub fn create(path: impl AsRef<Path>, record: &TokenRecord) -> Result<Self, StoreError> {
        let store = Self::at(path.as_ref());
        if fs::symlink_metadata(&store.path).is_ok() {
            return Err(store.already_exists());
        }
        store.write(record, Install::NoReplace)?;
        Ok(store)
    }

    /// Opens an existing store file, checking that it is private and holds a record.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::NotFound`] if there is no file at `path`,
    /// [`StoreErrorKind::Permissions`] if the file grants more than owner read and write,
    /// [`StoreErrorKind::Malformed`] if it does not hold a record, [`StoreErrorKind::Io`] if it
    /// cannot be read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let store = Self::at(path.as_ref());
        store.read()?;
        Ok(store)
    }

    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn at(path: &Path) -> Self {
        let sibling = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        Self {
            path: path.to_owned(),
            lock_path: sibling(".lock"),
            followers_dir: sibling(".followers"),
            #[cfg(test)]
            fault: None,
        }
    }

    /// Reads and decodes the file, refusing one that is not private.
    fn read(&self) -> Result<TokenRecord, StoreError> {
        let mut file = File::open(&self.path).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                StoreError::new(
                    StoreErrorKind::NotFound,
                    format!("no store file at {}", self.path.display()),
                )
                .with_source(err)
            } else {
                self.io_error("opening", err)
            }
        })?;
        let metadata = file
            .metadata()
            .map_err(|err| self.io_error("reading", err))?;
        if !metadata.is_file() {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!("{} is not a regular file", self.path.display()),
            ));
        }
        check_private(&self.path, &metadata)?;
        let mut text = zeroize::Zeroizing::new(String::new());
        (&mut file)
            .take(MAX_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|err| match err.kind() {
                io::ErrorKind::InvalidData => self.malformed("is not UTF-8 text"),
                _ => self.io_error("reading", err),
            })?;
        if text.len() as u64 > MAX_FILE_LEN {
            return Err(self.malformed("is larger than any record"));
        }
        TokenRecord::decode(&text).map_err(|err| {
            StoreError::new(
                StoreErrorKind::Malformed,
                format!("{}: {}", self.path.display(), err.message),
            )
        })
    }

    /// The compare-and-swap of [`save`](TokenStore::save): under the write lock, checks that the
    /// stored revision is still `record.revision`, then writes it with the next one.
    fn compare_and_write(&self, record: &TokenRecord) -> Result<u64, StoreError> {
        let _lock = self.lock()?;
        let stored = match self.read() {
            Ok(stored) => stored.revision,
            Err(err) if err.kind() == StoreErrorKind::NotFound => 0,
            Err(err) => return Err(err),
        };
        if stored != record.revision {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "{} changed since it was read (revision {stored}, not {}): nothing was written",
                    self.path.display(),
                    record.revision
                ),
            ));
        }
        self.write(record, Install::Replace)
    }

    /// Writes `record` (revision + 1) to a temporary file and installs it at `path`; returns
    /// the revision written.
    fn write(&self, record: &TokenRecord, install: Install) -> Result<u64, StoreError> {
        let mut saved = record.clone();
        saved.revision = record.revision.saturating_add(1);
        let text = saved.encode();
        self.write_file(&self.path, text.as_bytes(), install)?;
        Ok(saved.revision)
    }

    /// Writes `bytes` to a temporary file in `target`'s directory, flushed, and installs it at
    /// `target`, then flushes the directory.
    fn write_file(&self, target: &Path, bytes: &[u8], install: Install) -> Result<(), StoreError> {
        let temp = self.temp_path(target);
        let written = self
            .write_temp(&temp, bytes)
            .and_then(|()| self.install(&temp, target, install));
        if let Err(err) = written {
            // Best effort: the temporary file may not exist (its creation failed) or may
            // already be gone (a failed no-replace install removes it).
            let _ = fs::remove_file(&temp);
            return Err(match (install, err.kind()) {
                (Install::NoReplace, io::ErrorKind::AlreadyExists) => self.already_exists(),
                _ => self.io_error("writing", err),
            });
        }
        self.sync_dir(target)
            .map_err(|err| self.io_error("flushing the directory of", err))
    }

    /// Creates the private temporary file and flushes `bytes` to disk.
    fn write_temp(&self, temp: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(temp)?;
        #[cfg(test)]
        tests::inject(self.fault, tests::Fault::Write, &mut file, bytes)?;
        file.write_all(bytes)?;
        #[cfg(test)]
        tests::inject(self.fault, tests::Fault::Sync, &mut file, bytes)?;
        file.sync_all()
    }

    /// Puts the flushed temporary file in place: a rename (atomic replace), or for a new store
    /// a hard link, which fails rather than replace a file created meanwhile.
    fn install(&self, temp: &Path, target: &Path, install: Install) -> io::Result<()> {
        #[cfg(test)]
        tests::inject(self.fault, tests::Fault::Rename, &mut io::sink(), &[])?;
        match install {
            Install::Replace => fs::rename(temp, target),
            Install::NoReplace => {
                fs::hard_link(temp, target)?;
                // The record is in place; a leftover temporary file would only be clutter.
                let _ = fs::remove_file(temp);
                Ok(())
            }
        }
    }

    /// Flushes the directory entry of the renamed file, so that the rename survives a crash.
    fn sync_dir(&self, target: &Path) -> io::Result<()> {
        #[cfg(test)]
        tests::inject(self.fault, tests::Fault::SyncDir, &mut io::sink(), &[])?;
        #[cfg(unix)]
        File::open(dir_of(target))?.sync_all()?;
        #[cfg(not(unix))]
        let _ = target;
        Ok(())
    }

    /// A fresh hidden name in `target`'s directory: `.NAME.PID.N.tmp`.
    fn temp_path(&self, target: &Path) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        dir_of(target).join(format!(".{name}.{}.{n}.tmp", std::process::id()))
    }

    /// Writes `heartbeat` to `PATH.followers/ID.json`, atomically (the directory is made
    /// `0700` on first use).
    fn write_heartbeat(&self, heartbeat: &Heartbeat) -> Result<(), StoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.followers_dir)
            .map_err(|err| self.io_error("creating the followers directory of", err))?;
        let target = self
            .followers_dir
            .join(format!("{}.json", heartbeat.follower.as_str()));
        self.write_file(&target, heartbeat.encode().as_bytes(), Install::Replace)
    }

    /// Every heartbeat in `PATH.followers/`; a file that is not one is skipped with a warning
    /// in its place (a follower that wrote garbage does not count, and does not stop the gate).
    /// Heartbeats expired longer than the retention are removed instead.
    fn read_heartbeats(&self) -> Result<Vec<Heartbeat>, StoreError> {
        let now = time::OffsetDateTime::now_utc();
        let entries = match fs::read_dir(&self.followers_dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(self.io_error("listing the followers of", err)),
        };
        let mut heartbeats = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|err| self.io_error("listing the followers of", err))?
                .path();
            let is_heartbeat = path.extension().is_some_and(|ext| ext == "json")
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'));
            if !is_heartbeat {
                continue;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue; // removed or being replaced meanwhile
            };
            match Heartbeat::decode(&text) {
                Ok(heartbeat) if heartbeat.is_prunable_at(now) => self.prune(&path, now),
                Ok(heartbeat) => heartbeats.push(heartbeat),
                Err(_) => {}
            }
        }
        heartbeats.sort_by(|a, b| a.follower.cmp(&b.follower));
        Ok(heartbeats)
    }

    /// Removes the heartbeat file at `path`, read as prunable at `now`, unless its follower
    /// replaced it meanwhile. The file is renamed aside to a hidden name (atomic: a follower's
    /// new file, renamed in after, is untouched) and read again; if what was moved aside is no
    /// longer prunable (replaced between the read and the rename), it goes back by hard link,
    /// which fails rather than replace an even newer one. Best effort: a failure leaves the file.
    fn prune(&self, path: &Path, now: time::OffsetDateTime) {
        let aside = self.temp_path(path);
        if fs::rename(path, &aside).is_err() {
            return; // gone, or the directory is read-only for us
        }
        let dead = fs::read_to_string(&aside)
            .ok()
            .and_then(|text| Heartbeat::decode(&text).ok())
            .is_some_and(|beat| beat.is_prunable_at(now));
        if !dead {
            let _ = fs::hard_link(&aside, path);
        }
        let _ = fs::remove_file(&aside);
    }

    /// Takes the write lock on `PATH.lock`, waiting for another writer's single write.
    fn lock(&self) -> Result<File, StoreError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&self.lock_path)
            .map_err(|err| self.io_error("opening the lock file of", err))?;
        file.lock().map_err(|err| self.io_error("locking", err))?;
        Ok(file)
    }

    fn stamp(&self) -> Option<ChangeStamp> {
        let metadata = fs::metadata(&self.path).ok()?;
        let mut hasher = std::hash::DefaultHasher::new();
        metadata.len().hash(&mut hasher);
        metadata.modified().ok().hash(&mut hasher);
        // Every save renames a new file into place, so the inode changes even when the
        // modification time's resolution is too coarse to.
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            (metadata.dev(), metadata.ino(), metadata.mode()).hash(&mut hasher);
        }
        Some(ChangeStamp::new(hasher.finish()))
    }

    fn io_error(&self, doing: &str, err: io::Error) -> StoreError {
        StoreError::new(
            StoreErrorKind::Io,
            format!("{doing} {}: {err}", self.path.display()),
        )
        .with_source(err)
    }

    fn malformed(&self, what: &str) -> StoreError {
        StoreError::new(
            StoreErrorKind::Malformed,
            format!("{} {what}", self.path.display()),
        )
    }

    fn already_exists(&self) -> StoreError {
        StoreError::new(
            StoreErrorKind::AlreadyExists,
            format!(
                "{} already exists; open it instead of creating it",
                self.path.display()
            ),
        )
    }
}

/// The directory `path` is in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// How a written temporary file takes the store file's place.
#[derive(Debug, Clone, Copy)]
enum Install {
    /// Replace the current file (every save).
    Replace,
    /// Only if there is none ([`FileTokenStore::create`]).
    NoReplace,
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & !0o600 != 0 {
        return Err(StoreError::new(
            StoreErrorKind::Permissions,
            format!(
                "{} has mode {mode:04o}, wider than owner-only 0600: its tokens may have been \
                 read by others: `chmod 600` the file first (nothing opens it until then), \
                 then rotate the token at once",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<(), StoreError> {
    Ok(())
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<TokenRecord>> {
        Box::pin(async move { self.read().map(Some) })
    }

    fn save<'a>(&'a self, record: &'a TokenRecord) -> StoreFuture<'a, u64> {
        Box::pin(async move { self.compare_and_write(record) })
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        self.stamp()
    }

    fn publish_heartbeat<'a>(&'a self, heartbeat: &'a Heartbeat) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.write_heartbeat(heartbeat) })
    }

    fn heartbeats(&self) -> StoreFuture<'_, Vec<Heartbeat>> {
        Box::pin(async move { self.read_heartbeats() })
    }
}

#[cfg(test)]
mod tests;
