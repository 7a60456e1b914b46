//! `KubernetesSecretStore` over a Secret volume built exactly as kubelet builds it (a timestamped
//! directory per version, the `..data` link, one `KEY -> ..data/KEY` link per key), updated with
//! kubelet's own swap: write the new version's directory, point a `..data_tmp` link at it,
//! `rename` that over `..data`, remove the old directory.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use twilio_store::{
    DEFAULT_SECRET_KEY, Follower, FollowerId, FollowerRole, Heartbeat, KubernetesSecretStore,
    StoreError, StoreErrorKind, StoreFuture, TokenFingerprint, TokenLabel, TokenRecord, TokenStore,
};
use twilio_types::AuthToken;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

/// A token that says which version of the Secret it came from.
fn token(version: u64) -> String {
    format!("{version:032x}")
}

/// The record of version `version`: its revision and its current token both name it, so a
/// record that mixed two versions would not match itself.
fn record(version: u64) -> TokenRecord {
    let mut record = TokenRecord::new(
        ACCOUNT.parse().unwrap(),
        AuthToken::new(token(version)).unwrap(),
    );
    record.revision = version;
    record
}

/// Runs a future whose store calls are ready at once (this store does its I/O when polled).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn now<T>(future: StoreFuture<'_, T>) -> Result<T, StoreError> {
    block_on(future)
}

/// A Secret volume in a temporary directory, written the way kubelet's `AtomicWriter` does.
struct Volume {
    dir: PathBuf,
    versions: u64,
}

impl Volume {
    fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "twilio-k8s-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self { dir, versions: 0 }
    }

    /// Publishes a new version holding `files` (key, content), as kubelet does when the Secret
    /// changed.
    fn publish(&mut self, files: &[(&str, &[u8])]) {
        self.versions += 1;
        let n = self.versions;
        let version = format!("..2026_12_03_14_{:02}_{:02}.{n:09}", n / 60 % 60, n % 60);
        let old = fs::read_link(self.dir.join("..data")).ok();
        // 1. The new version's files, complete before anything points at them.
        fs::create_dir(self.dir.join(&version)).unwrap();
        for (key, content) in files {
            fs::write(self.dir.join(&version).join(key), content).unwrap();
        }
        // 2. The swap: a `..data_tmp` link renamed over `..data` (atomic).
        symlink(&version, self.dir.join("..data_tmp")).unwrap();
        fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
        // 3. The user-visible links of new keys.
        for (key, _) in files {
            let link = self.dir.join(key);
            if fs::symlink_metadata(&link).is_err() {
                symlink(format!("..data/{key}"), link).unwrap();
            }
        }
        // 4. The old version goes.
        if let Some(old) = old {
            fs::remove_dir_all(self.dir.join(old)).unwrap();
        }
    }

    fn publish_record(&mut self, record: &TokenRecord) {
        self.publish(&[(DEFAULT_SECRET_KEY, record.encode().as_bytes())]);
    }

    /// The version directories present (kubelet keeps only the current one).
    fn version_dirs(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("..2026"))
            .collect()
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn load_follows_kubelets_swap() {
    let mut volume = Volume::new("swap");
    volume.publish_record(&record(3));
    let store = KubernetesSecretStore::open(&volume.dir).unwrap();
    assert_eq!(store.key(), DEFAULT_SECRET_KEY);

    let first = now(store.load()).unwrap().unwrap();
    assert_eq!(first.revision, 3);
    assert_eq!(first.current.token().expose_secret(), token(3));
    let stamp = store.change_stamp().expect("one readlink");
    assert_eq!(
        store.change_stamp(),
        Some(stamp),
        "unchanged volume, same stamp"
    );

    volume.publish_record(&record(4));
    assert_eq!(volume.version_dirs().len(), 1);
    assert_ne!(
        store.change_stamp(),
        Some(stamp),
        "the swap moves the stamp"
    );
    let second = now(store.load()).unwrap().unwrap();
    assert_eq!(second.revision, 4);
    assert_eq!(second.current.token().expose_secret(), token(4));

    // A Secret whose content did not change is still a new version for kubelet: the stamp
    // moves, which costs the follower one reload.
    let stamp = store.change_stamp();
    volume.publish_record(&record(4));
    assert_ne!(store.change_stamp(), stamp);
    assert_eq!(now(store.load()).unwrap().unwrap().revision, 4);
}

#[test]
fn a_reader_racing_many_swaps_sees_only_whole_versions() {
    const SWAPS: u64 = 300;
    let mut volume = Volume::new("race");
    volume.publish_record(&record(1));
    let store = Arc::new(KubernetesSecretStore::open(&volume.dir).unwrap());
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut loads, mut last) = (0u64, 0u64);
            while !done.load(Ordering::Acquire) {
                let record = now(store.load())
                    .unwrap_or_else(|err| panic!("load {loads} failed during a swap: {err}"))
                    .expect("a record");
                assert_eq!(
                    record.current.token().expose_secret(),
                    token(record.revision),
                    "a record mixing two versions"
                );
                assert!(
                    record.revision >= last,
                    "went back from {last} to {}",
                    record.revision
                );
                last = record.revision;
                loads += 1;
            }
            loads
        })
    };
    for version in 2..=SWAPS {
        volume.publish_record(&record(version));
    }
    done.store(true, Ordering::Release);
    let loads = reader.join().expect("the reader saw only whole records");
    assert!(loads > 0);
    assert_eq!(now(store.load()).unwrap().unwrap().revision, SWAPS);
    assert_eq!(volume.version_dirs().len(), 1);
}

#[test]
fn a_follower_picks_up_the_swap() {
    let mut volume = Volume::new("follower");
    volume.publish_record(&record(1));
    let store: Arc<dyn TokenStore> = Arc::new(KubernetesSecretStore::open(&volume.dir).unwrap());
    // The heartbeat is asked for, refused (read-only), and does not stop the follower.
    let follower = Follower::new(store).with_heartbeat(
        FollowerId::new("pod-1").unwrap(),
        FollowerRole::Client,
        Duration::from_secs(30),
    );
    let seen: Arc<Mutex<Vec<TokenFingerprint>>> = Arc::default();
    let sink = seen.clone();
    follower.subscribe(move |record| {
        sink.lock().unwrap().push(record.current.fingerprint());
        Ok(record.fingerprints())
    });

    block_on(follower.reload()).unwrap();
    assert!(!follower.check(), "nothing changed yet");
    let fingerprint = |v: u64| TokenFingerprint::of(&AuthToken::new(token(v)).unwrap());
    assert_eq!(
        follower.holds(),
        vec![(TokenLabel::Current, fingerprint(1))]
    );

    let mut staged = record(2);
    staged.pending = Some(twilio_store::StoredToken::new(
        AuthToken::new(token(99)).unwrap(),
        time::OffsetDateTime::UNIX_EPOCH,
    ));
    volume.publish_record(&staged);
    assert!(follower.check(), "the swap is seen by the cheap check");
    block_on(follower.reload()).unwrap();
    assert!(!follower.check());
    assert_eq!(*seen.lock().unwrap(), vec![fingerprint(1), fingerprint(2)]);
    assert_eq!(
        follower.holds(),
        vec![
            (TokenLabel::Current, fingerprint(2)),
            (TokenLabel::Pending, fingerprint(99)),
        ]
    );

    // The volume goes away (the Secret was deleted): the follower keeps what it holds.
    fs::remove_file(volume.dir.join("..data")).unwrap();
    let err = block_on(follower.reload()).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");
    assert_eq!(follower.holds().len(), 2);
}

#[test]
fn writes_are_refused_with_where_to_write_instead() {
    let mut volume = Volume::new("readonly");
    volume.publish_record(&record(5));
    let store = KubernetesSecretStore::open(&volume.dir).unwrap();
    let loaded = now(store.load()).unwrap().unwrap();
    let err = now(store.save(&loaded)).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unsupported);
    let message = err.to_string();
    assert!(message.contains("read-only"), "{message}");
    assert!(message.contains("secrets manager"), "{message}");
    assert!(!message.contains(&token(5)));

    let heartbeat = Heartbeat {
        follower: FollowerId::new("pod-1").unwrap(),
        role: FollowerRole::Client,
        holds: loaded.fingerprints(),
        published_at: time::OffsetDateTime::UNIX_EPOCH,
        expires_at: time::OffsetDateTime::UNIX_EPOCH + Duration::from_secs(30),
    };
    let err = now(store.publish_heartbeat(&heartbeat)).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unsupported);
    assert_eq!(
        now(store.heartbeats()).unwrap_err().kind(),
        StoreErrorKind::Unsupported
    );
    // Nothing was written into the volume.
    assert_eq!(now(store.load()).unwrap().unwrap().revision, 5);
    assert_eq!(volume.version_dirs().len(), 1);
}

fn open_err(dir: &Path, key: &str) -> StoreError {
    KubernetesSecretStore::open_key(dir, key).unwrap_err()
}

#[test]
fn what_is_not_a_live_secret_volume_is_refused_clearly() {
    let mut volume = Volume::new("errors");

    // Nothing mounted.
    let err = open_err(&volume.dir.join("absent"), DEFAULT_SECRET_KEY);
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("mountPath"), "{err}");

    // A plain directory (no `..data`): a copy, or a subPath mount of a directory.
    let err = open_err(&volume.dir, DEFAULT_SECRET_KEY);
    assert_eq!(err.kind(), StoreErrorKind::Invalid, "{err}");
    assert!(err.to_string().contains("`..data`"), "{err}");

    // A subPath mount of the key: a single file.
    let single = volume.dir.join("subpath.json");
    fs::write(&single, record(1).encode().as_bytes()).unwrap();
    let err = open_err(&single, DEFAULT_SECRET_KEY);
    assert_eq!(err.kind(), StoreErrorKind::Invalid, "{err}");
    assert!(err.to_string().contains("subPath"), "{err}");
    assert!(!err.to_string().contains("looks like a key"), "{err}");
    fs::remove_file(&single).unwrap();

    // The key's own path given for the volume's: the error names the directory to give.
    volume.publish(&[("other", b"x"), (DEFAULT_SECRET_KEY, b"{}")]);
    let err = open_err(&volume.dir.join(DEFAULT_SECRET_KEY), DEFAULT_SECRET_KEY);
    assert_eq!(err.kind(), StoreErrorKind::Invalid, "{err}");
    assert!(
        err.to_string().contains(&format!(
            "looks like a key of the volume at {}",
            volume.dir.display()
        )),
        "{err}"
    );

    // A key that is not there: the error lists the keys that are (names only).
    let err = open_err(&volume.dir, "tokens.json");
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("(its keys: other, {DEFAULT_SECRET_KEY})")),
        "{err}"
    );

    // Not a key a Secret can have.
    assert_eq!(
        open_err(&volume.dir, "../etc").kind(),
        StoreErrorKind::Invalid
    );
}

#[test]
fn a_malformed_record_is_refused_without_printing_it() {
    let mut volume = Volume::new("malformed");
    let mut text = record(7).encode().to_string();
    text = text.replace("twilio-token-store/1", "something-else/9");
    volume.publish(&[(DEFAULT_SECRET_KEY, text.as_bytes())]);
    let err = open_err(&volume.dir, DEFAULT_SECRET_KEY);
    assert_eq!(err.kind(), StoreErrorKind::Malformed, "{err}");
    assert!(err.to_string().contains(DEFAULT_SECRET_KEY), "{err}");
    assert!(!format!("{err} {err:?}").contains(&token(7)), "{err:?}");

    // An empty key (an ExternalSecret whose property matched nothing) and an oversized one.
    for content in [Vec::new(), vec![b' '; 70 * 1024], vec![0xff; 10]] {
        volume.publish(&[(DEFAULT_SECRET_KEY, &content)]);
        let err = open_err(&volume.dir, DEFAULT_SECRET_KEY);
        assert_eq!(err.kind(), StoreErrorKind::Malformed, "{err}");
    }

    // Opened while good, it reports a bad version at the next load, and the good one after.
    volume.publish_record(&record(8));
    let store = KubernetesSecretStore::open(&volume.dir).unwrap();
    volume.publish(&[(DEFAULT_SECRET_KEY, b"not json")]);
    assert_eq!(
        now(store.load()).unwrap_err().kind(),
        StoreErrorKind::Malformed
    );
    volume.publish_record(&record(9));
    assert_eq!(now(store.load()).unwrap().unwrap().revision, 9);
}
