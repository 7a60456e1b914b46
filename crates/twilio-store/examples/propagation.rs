//! Measures how long a staged token takes to reach followers of a `FileTokenStore` by polling
//! (issue 17 §2: the documented bound is measured, not assumed). Not a test: it prints figures
//! for `docs/benchmarks.md`.
//!
//! ```sh
//! cargo run --release -p twilio-store --example propagation -- [FOLLOWERS] [ROUNDS]
//! ```
//!
//! Each follower is a thread driving a `Follower` the way `Follower::run` does (a change-stamp
//! check every `CHANGE_CHECK_INTERVAL`, a reload when it moved); the writer stages a new token,
//! and each follower notes when its subscriber first sees it. The figures are from `save`
//! returning to the subscriber's call, per follower and round.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use twilio_store::{
    CHANGE_CHECK_INTERVAL, FileTokenStore, Follower, RotationPhase, StoredToken, TokenFingerprint,
    TokenRecord, TokenStore,
};
use twilio_types::AuthToken;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn token(n: usize) -> AuthToken {
    AuthToken::new(format!("{n:032x}")).expect("hex is header-safe")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let followers: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(20), |a| a.parse())?;

    let dir = std::env::temp_dir().join(format!("twilio-propagation-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("tokens.json");
    let _ = std::fs::remove_file(&path);
    let account = "AC0123456789abcdef0123456789abcdef".parse()?;
    FileTokenStore::create(&path, &TokenRecord::new(account, token(0)))?;

    // What each follower waits for, and when it saw it.
    let wanted: Arc<Mutex<Option<(TokenFingerprint, Instant)>>> = Arc::default();
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..followers)
        .map(|_| {
            let (wanted, delays, stop, path) =
                (wanted.clone(), delays.clone(), stop.clone(), path.clone());
            std::thread::spawn(move || {
                let store: Arc<dyn TokenStore> =
                    Arc::new(FileTokenStore::open(&path).expect("the store exists"));
                let follower = Follower::new(store);
                let seen = Arc::new(Mutex::new(None::<TokenFingerprint>));
                let sink = seen.clone();
                follower.subscribe(move |record| {
                    if let Some(pending) = &record.pending {
                        let fingerprint = pending.fingerprint();
                        let mut seen = sink.lock().unwrap();
                        if *seen != Some(fingerprint) {
                            *seen = Some(fingerprint);
                            if let Some((target, at)) = *wanted.lock().unwrap()
                                && target == fingerprint
                            {
                                delays.lock().unwrap().push(at.elapsed());
                            }
                        }
                    }
                    Ok(record.fingerprints())
                });
                let _ = block_on(follower.reload());
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(CHANGE_CHECK_INTERVAL);
                    if follower.check() {
                        let _ = block_on(follower.reload());
                    }
                }
            })
        })
        .collect();

    let store = FileTokenStore::open(&path)?;
    for round in 1..=rounds {
        // Followers check at independent phases: start each round at a random-ish offset.
        std::thread::sleep(Duration::from_millis(300 + (round as u64 * 37) % 250));
        let mut record = block_on(store.load())?.expect("a record");
        let next = token(round);
        record.pending = Some(StoredToken::new(
            next.clone(),
            time::OffsetDateTime::now_utc(),
        ));
        record.phase = RotationPhase::Staged;
        *wanted.lock().unwrap() = Some((TokenFingerprint::of(&next), Instant::now()));
        block_on(store.save(&record))?;
    }
    std::thread::sleep(CHANGE_CHECK_INTERVAL * 2);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("a follower thread");
    }
    let _ = std::fs::remove_dir_all(&dir);

    let mut delays = delays.lock().unwrap().clone();
    delays.sort();
    let pick = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    println!(
        "file store, {followers} followers x {rounds} rounds = {} observations (expected {}); \
         change check every {:?}",
        delays.len(),
        followers * rounds,
        CHANGE_CHECK_INTERVAL
    );
    println!(
        "stage -> follower holds pending: min {:?}, p50 {:?}, p99 {:?}, max {:?}",
        delays[0],
        pick(0.5),
        pick(0.99),
        delays[delays.len() - 1]
    );
    Ok(())
}
