//! Tests of [`FileTokenStore`]: privacy, atomic and durable writes under faults, the
//! compare-and-swap across handles and threads, the followers' heartbeats.

use std::process::{Command, Stdio};

use time::OffsetDateTime;

use super::*;
use crate::test_util::now;
use crate::{RotationPhase, StoredToken};
use twilio_types::{AccountSid, AuthToken};

const TOKEN: &str = "aaaabbbbccccddddeeeeffff00001111";
const NEW: &str = "fedcba9876543210fedcba9876543210";

/// A write step where a test makes the store's write fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// Half the record reaches the temporary file, then the disk is full.
    Write,
    /// Flushing the temporary file fails.
    Sync,
    /// Renaming (or linking) it into place fails.
    Rename,
    /// Flushing the directory after the rename fails.
    SyncDir,
}

/// Fails with the injected error if `fault` is the one planned at `at`; a write fault first
/// writes half of `bytes`, as a disk that fills up in the middle of the record does.
pub(super) fn inject(
    fault: Option<Fault>,
    at: Fault,
    file: &mut impl io::Write,
    bytes: &[u8],
) -> io::Result<()> {
    if fault != Some(at) {
        return Ok(());
    }
    if at == Fault::Write {
        file.write_all(&bytes[..bytes.len() / 2])?;
        return Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "injected: no space left on device",
        ));
    }
    Err(io::Error::other(format!("injected {at:?} failure")))
}

/// A directory under the system's temporary directory, removed (with anything mounted on it
/// unmounted) when dropped.
struct TempDir {
    path: PathBuf,
    mounted: bool,
}

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "twilio-file-store-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self {
            path,
            mounted: false,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Mounts a tmpfs of `size` on the directory; `false` (and nothing mounted) where this
    /// process may not mount (not root, or no `mount` in the sandbox).
    fn mount_tmpfs(&mut self, size: &str) -> bool {
        if !running_as_root() {
            return false;
        }
        let options = format!("size={size},mode=0700");
        self.mounted = run(
            "mount",
            &["-t", "tmpfs", "-o", &options, "tmpfs"],
            &self.path,
        );
        self.mounted
    }

    fn remount(&self, mode: &str) {
        assert!(
            run("mount", &["-o", &format!("remount,{mode}")], &self.path),
            "remount {mode}"
        );
    }

    /// Names in the directory, sorted.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(&self.path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.mounted {
            run("umount", &["-l"], &self.path);
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Runs `program ARGS... PATH`; whether it succeeded.
fn run(program: &str, args: &[&str], path: &Path) -> bool {
    Command::new(program)
        .args(args)
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Root ignores directory permissions, so the read-only tests need another way for it.
fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let dir = TempDir::new("uid");
        fs::write(dir.file("probe"), b"").unwrap();
        fs::metadata(dir.file("probe")).unwrap().uid() == 0
    }
    #[cfg(not(unix))]
    false
}

fn record() -> TokenRecord {
    TokenRecord::new(
        AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
        AuthToken::new(TOKEN).unwrap(),
    )
}

fn staged(mut record: TokenRecord) -> TokenRecord {
    record.pending = Some(StoredToken::new(
        AuthToken::new(NEW).unwrap(),
        OffsetDateTime::now_utc(),
    ));
    record.phase = RotationPhase::Staged;
    record
}

fn load(store: &FileTokenStore) -> Result<TokenRecord, StoreError> {
    now(store.load()).map(|record| record.expect("a file store always holds a record"))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn assert_no_secret(err: &StoreError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains(NEW), "{shown}");
}

#[test]
fn round_trips_through_the_file() {
    let dir = TempDir::new("round-trip");
    let path = dir.file("tokens.json");
    let store = FileTokenStore::create(&path, &record()).unwrap();
    assert_eq!(store.path(), path);
    let first = load(&store).unwrap();
    assert_eq!(first.revision, 1);
    assert_eq!(first.current.token().expose_secret(), TOKEN);
    assert_eq!(first.phase, RotationPhase::Idle);

    let reopened = FileTokenStore::open(&path).unwrap();
    now(reopened.save(&staged(first.clone()))).unwrap();
    let second = load(&store).unwrap();
    assert_eq!(second.revision, 2);
    assert_eq!(second.phase, RotationPhase::Staged);
    assert_eq!(second.pending.unwrap().token().expose_secret(), NEW);
    assert_eq!(second.account_sid, first.account_sid);

    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    // Only the store file and its write lock: no temporary file left behind.
    assert_eq!(dir.entries(), ["tokens.json", "tokens.json.lock"]);
}

#[test]
fn create_never_overwrites() {
    let dir = TempDir::new("create");
    let path = dir.file("tokens.json");
    FileTokenStore::create(&path, &record()).unwrap();
    let before = fs::read(&path).unwrap();
    let err = FileTokenStore::create(&path, &staged(record())).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::AlreadyExists);
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);

    // Nor a file that is not a store, nor through a dangling symbolic link.
    fs::write(dir.file("other"), b"precious").unwrap();
    let err = FileTokenStore::create(dir.file("other"), &record()).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::AlreadyExists);
    assert_eq!(fs::read(dir.file("other")).unwrap(), b"precious");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.file("nowhere"), dir.file("link")).unwrap();
        let err = FileTokenStore::create(dir.file("link"), &record()).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::AlreadyExists);
        assert!(!dir.file("nowhere").exists());
    }
    assert_eq!(dir.entries(), ["link", "other", "tokens.json"]);
}

#[test]
fn open_of_a_missing_file_is_not_found() {
    let dir = TempDir::new("missing");
    let err = FileTokenStore::open(dir.file("absent.json")).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert!(err.to_string().contains("absent.json"), "{err}");
    assert!(std::error::Error::source(&err).is_some());

    // A store whose file disappears says so on the next load.
    let store = FileTokenStore::create(dir.file("gone.json"), &record()).unwrap();
    fs::remove_file(store.path()).unwrap();
    assert_eq!(load(&store).unwrap_err().kind(), StoreErrorKind::NotFound);
}

#[cfg(unix)]
#[test]
fn wider_permissions_are_refused() {
    let dir = TempDir::new("permissions");
    let path = dir.file("tokens.json");
    let store = FileTokenStore::create(&path, &record()).unwrap();
    for wide in [0o644, 0o640, 0o604, 0o660, 0o700, 0o610, 0o601, 0o4600] {
        chmod(&path, wide);
        let err = FileTokenStore::open(&path).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Permissions, "{wide:o}");
        assert!(err.to_string().contains(&format!("{wide:04o}")), "{err}");
        assert!(err.to_string().contains("0600"), "{err}");
        assert_no_secret(&err);
        // An open store checks again at every load.
        assert_eq!(
            load(&store).unwrap_err().kind(),
            StoreErrorKind::Permissions
        );
    }
    for narrow in [0o600, 0o400] {
        chmod(&path, narrow);
        FileTokenStore::open(&path).unwrap();
        load(&store).unwrap();
    }
    // A save puts back a 0600 file.
    now(store.save(&load(&store).unwrap())).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn malformed_content_is_refused_without_showing_it() {
    let dir = TempDir::new("malformed");
    let path = dir.file("tokens.json");
    let good = record().encode().to_string();
    let huge = format!("{good}{}", " ".repeat(70_000));
    let wrong_token = good.replacen(TOKEN, NEW, 1);
    let wrong_phase = good.replace("\"idle\"", "\"???\"");
    let cases: [(&[u8], &str); 6] = [
        (b"", "not a JSON object"),
        (
            b"{\"token\": \"aaaabbbbccccddddeeeeffff00001111\"",
            "not a JSON object",
        ),
        (b"\xff\xfe not text", "not UTF-8"),
        (huge.as_bytes(), "larger than any record"),
        (
            wrong_token.as_bytes(),
            "`current.fingerprint` does not match",
        ),
        (wrong_phase.as_bytes(), "`phase`"),
    ];
    for (content, expected) in cases {
        let _ = fs::remove_file(&path);
        fs::write(&path, content).unwrap();
        #[cfg(unix)]
        chmod(&path, 0o600);
        let err = FileTokenStore::open(&path).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Malformed, "{err}");
        assert!(err.to_string().contains(expected), "{err}");
        assert!(err.to_string().contains("tokens.json"), "{err}");
        assert_no_secret(&err);
    }
    // A directory is not a store file.
    let err = FileTokenStore::open(&dir.path).unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Invalid | StoreErrorKind::Io),
        "{err}"
    );
}

/// Every injected failure of a save leaves the previous record readable and no temporary
/// file; a failure after the rename (flushing the directory) is reported although the new
/// record is in place, because its durability is not known.
#[test]
fn a_failed_save_leaves_the_previous_record_intact() {
    for fault in [Fault::Write, Fault::Sync, Fault::Rename, Fault::SyncDir] {
        let dir = TempDir::new("fault");
        let path = dir.file("tokens.json");
        let mut store = FileTokenStore::create(&path, &record()).unwrap();
        let before = fs::read(&path).unwrap();
        store.fault = Some(fault);

        let err = now(store.save(&staged(load(&store).unwrap()))).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Io, "{fault:?}");
        assert!(std::error::Error::source(&err).is_some(), "{fault:?}");
        assert_no_secret(&err);
        assert_eq!(
            dir.entries(),
            ["tokens.json", "tokens.json.lock"],
            "{fault:?}"
        );
        let after = load(&store).unwrap();
        if fault == Fault::SyncDir {
            assert_eq!(after.phase, RotationPhase::Staged);
        } else {
            assert_eq!(fs::read(&path).unwrap(), before, "{fault:?}");
            assert_eq!(after.phase, RotationPhase::Idle, "{fault:?}");
            assert_eq!(after.revision, 1);
        }
        if fault == Fault::Write {
            assert!(err.to_string().contains("no space left"), "{err}");
        }
    }
}

#[test]
fn a_failed_create_leaves_no_file() {
    for fault in [Fault::Write, Fault::Sync, Fault::Rename] {
        let dir = TempDir::new("create-fault");
        let mut store = FileTokenStore::at(&dir.file("tokens.json"));
        store.fault = Some(fault);
        let err = store.write(&record(), Install::NoReplace).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Io, "{fault:?}");
        assert!(dir.entries().is_empty(), "{fault:?}: {:?}", dir.entries());
    }
}

/// A real read-only directory: a tmpfs remounted read-only when running as root (root
/// ignores permission bits), else a directory without write permission.
#[cfg(unix)]
#[test]
fn a_read_only_directory_fails_the_save_and_keeps_the_record() {
    let mut dir = TempDir::new("read-only");
    let as_root = running_as_root();
    if as_root && !dir.mount_tmpfs("64k") {
        eprintln!("skipped: running as root where tmpfs cannot be mounted");
        return;
    }
    let path = dir.file("tokens.json");
    let store = FileTokenStore::create(&path, &record()).unwrap();
    let before = fs::read(&path).unwrap();
    if as_root {
        dir.remount("ro");
    } else {
        chmod(&dir.path, 0o500);
    }

    let err = now(store.save(&staged(load(&store).unwrap()))).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(load(&store).unwrap().phase, RotationPhase::Idle);
    assert_eq!(dir.entries(), ["tokens.json"]);
    // Reading still works; so would a follower.
    FileTokenStore::open(&path).unwrap();

    if as_root {
        dir.remount("rw");
    } else {
        chmod(&dir.path, 0o700);
    }
}

/// A real full disk: a 64 KiB tmpfs filled up before the save (root only, where `mount`
/// works; the injected [`Fault::Write`] covers the same path everywhere).
#[cfg(unix)]
#[test]
fn a_full_disk_fails_the_save_and_keeps_the_record() {
    let mut dir = TempDir::new("full");
    if !dir.mount_tmpfs("64k") {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let path = dir.file("tokens.json");
    let store = FileTokenStore::create(&path, &record()).unwrap();
    let before = fs::read(&path).unwrap();
    {
        let mut filler = File::create(dir.file("filler")).unwrap();
        let block = [0_u8; 4096];
        while filler.write_all(&block).is_ok() {}
    }

    let err = now(store.save(&staged(load(&store).unwrap()))).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    let cause = std::error::Error::source(&err)
        .and_then(|cause| cause.downcast_ref::<io::Error>())
        .expect("the I/O error is the cause");
    assert_eq!(cause.kind(), io::ErrorKind::StorageFull, "{cause}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(load(&store).unwrap().phase, RotationPhase::Idle);
    let entries = dir.entries();
    let entries: Vec<_> = entries.iter().filter(|e| !e.ends_with(".lock")).collect();
    assert_eq!(entries, ["filler", "tokens.json"]);

    // Once there is room again, the save succeeds.
    fs::remove_file(dir.file("filler")).unwrap();
    now(store.save(&staged(load(&store).unwrap()))).unwrap();
    assert_eq!(load(&store).unwrap().phase, RotationPhase::Staged);
}

#[test]
fn a_stale_writer_gets_a_conflict_and_writes_nothing() {
    let dir = TempDir::new("cas");
    let path = dir.file("tokens.json");
    let first = FileTokenStore::create(&path, &record()).unwrap();
    let second = FileTokenStore::open(&path).unwrap();

    let read_by_first = load(&first).unwrap();
    let read_by_second = load(&second).unwrap();
    assert_eq!(now(second.save(&staged(read_by_second))).unwrap(), 2);
    let before = fs::read(&path).unwrap();
    let err = now(first.save(&read_by_first)).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert!(err.to_string().contains("revision 2, not 1"), "{err}");
    assert_no_secret(&err);
    assert_eq!(fs::read(&path).unwrap(), before);
    // A record never saved (revision 0) never replaces a stored one.
    assert_eq!(
        now(first.save(&record())).unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    #[cfg(unix)]
    assert_eq!(mode(&dir.file("tokens.json.lock")), 0o600);
}

/// Threads that each read and write the record as fast as they can: every successful save is
/// one revision, and no save is lost or doubled (each success saw the revision it replaced).
#[test]
fn concurrent_writers_never_overwrite_each_other() {
    let dir = TempDir::new("cas-threads");
    let path = dir.file("tokens.json");
    FileTokenStore::create(&path, &record()).unwrap();
    let successes: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let store = FileTokenStore::open(&path).unwrap();
                    let mut won = 0;
                    for _ in 0..25 {
                        let record = load(&store).unwrap();
                        match now(store.save(&record)) {
                            Ok(revision) => {
                                assert_eq!(revision, record.revision + 1);
                                won += 1;
                            }
                            Err(err) => assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}"),
                        }
                    }
                    won
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let store = FileTokenStore::open(&path).unwrap();
    assert_eq!(load(&store).unwrap().revision, 1 + successes);
    assert!(successes >= 25, "{successes}");
}

#[test]
fn heartbeats_are_one_private_file_per_follower() {
    use crate::{FollowerId, FollowerRole, Heartbeat, TokenLabel};

    let dir = TempDir::new("heartbeats");
    let store = FileTokenStore::create(dir.file("tokens.json"), &record()).unwrap();
    assert!(now(store.heartbeats()).unwrap().is_empty());
    let at = OffsetDateTime::now_utc();
    let beat = |id: &str, fingerprint: &str| Heartbeat {
        follower: FollowerId::new(id).unwrap(),
        role: FollowerRole::Client,
        holds: vec![(TokenLabel::Current, fingerprint.parse().unwrap())],
        published_at: at,
        expires_at: at + time::Duration::seconds(30),
    };
    now(store.publish_heartbeat(&beat("b-host:2:x", "00000001"))).unwrap();
    now(store.publish_heartbeat(&beat("a-host:1:x", "00000002"))).unwrap();
    // The last heartbeat of a follower replaces its earlier one.
    now(store.publish_heartbeat(&beat("b-host:2:x", "00000003"))).unwrap();
    // Something else in the directory is not a follower.
    fs::write(dir.file("tokens.json.followers/junk.json"), b"{").unwrap();
    let all = now(store.heartbeats()).unwrap();
    assert_eq!(
        all,
        [
            beat("a-host:1:x", "00000002"),
            beat("b-host:2:x", "00000003")
        ]
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir.file("tokens.json.followers")), 0o700);
        assert_eq!(
            mode(&dir.file("tokens.json.followers/a-host:1:x.json")),
            0o600
        );
    }
}

#[test]
fn listing_heartbeats_removes_those_expired_longer_than_the_retention_only() {
    use crate::{FollowerId, FollowerRole, HEARTBEAT_RETENTION, Heartbeat, TokenLabel};

    let dir = TempDir::new("pruning");
    let store = FileTokenStore::create(dir.file("tokens.json"), &record()).unwrap();
    let at = OffsetDateTime::now_utc();
    let beat = |id: &str, expired_for: time::Duration| Heartbeat {
        follower: FollowerId::new(id).unwrap(),
        role: FollowerRole::Client,
        holds: vec![(TokenLabel::Current, "00000001".parse().unwrap())],
        published_at: at - expired_for - time::Duration::seconds(30),
        expires_at: at - expired_for,
    };
    let retention = time::Duration::try_from(HEARTBEAT_RETENTION).unwrap();
    let live = beat("live:1:x", time::Duration::seconds(-30));
    let expired = beat("expired:2:x", retention - time::Duration::minutes(1));
    let dead = beat("dead:3:x", retention + time::Duration::minutes(1));
    for heartbeat in [&live, &expired, &dead] {
        now(store.publish_heartbeat(heartbeat)).unwrap();
    }
    let followers = || {
        let mut names: Vec<String> = fs::read_dir(dir.file("tokens.json.followers"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(followers().len(), 3);

    // Expired within the retention: listed (status shows it), kept. Beyond: removed, with
    // nothing left beside it.
    let all = now(store.heartbeats()).unwrap();
    assert_eq!(all, [expired.clone(), live.clone()]);
    assert_eq!(
        followers(),
        ["expired:2:x.json", "live:1:x.json"],
        "the dead follower's file is gone, and nothing else"
    );

    // A file read as dead but replaced by its follower before the pruning moved it aside
    // (the race the rename-aside guards against) is put back, not removed.
    let path = dir.file("tokens.json.followers/dead:3:x.json");
    let revived = beat("dead:3:x", time::Duration::seconds(-30));
    now(store.publish_heartbeat(&revived)).unwrap();
    store.prune(&path, at);
    assert_eq!(
        Heartbeat::decode(&fs::read_to_string(&path).unwrap()).unwrap(),
        revived
    );
    assert!(now(store.heartbeats()).unwrap().contains(&revived));
}

#[test]
fn the_change_stamp_moves_with_every_save() {
    let dir = TempDir::new("stamp");
    let store = FileTokenStore::create(dir.file("tokens.json"), &record()).unwrap();
    let first = store.change_stamp().unwrap();
    assert_eq!(store.change_stamp(), Some(first));
    let mut seen = vec![first];
    let mut record = load(&store).unwrap();
    for _ in 0..5 {
        now(store.save(&record)).unwrap();
        let stamp = store.change_stamp().unwrap();
        assert!(!seen.contains(&stamp), "a save left the stamp unchanged");
        seen.push(stamp);
        record = load(&store).unwrap();
    }
    fs::remove_file(store.path()).unwrap();
    assert_eq!(store.change_stamp(), None);
}

#[test]
fn debug_shows_the_path_only() {
    let dir = TempDir::new("debug");
    let store = FileTokenStore::create(dir.file("tokens.json"), &staged(record())).unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("tokens.json"), "{shown}");
    assert!(!shown.contains(TOKEN) && !shown.contains(NEW), "{shown}");
}
