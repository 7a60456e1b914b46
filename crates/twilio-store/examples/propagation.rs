//! Measures how long a staged token takes to reach followers of a store by polling (issue 17
//! §2: the documented bound is measured, not assumed). Not a test: it prints figures for
//! `docs/benchmarks.md`.
//!
//! ```sh
//! # A FileTokenStore in the temporary directory:
//! cargo run --release -p twilio-store --example propagation -- [FOLLOWERS] [ROUNDS]
//! # A Vault/OpenBao KV v2 store (a fresh secret under URL's path; the token in VAULT_TOKEN),
//! # followers reloading every INTERVAL_MS (default 5000, the SDK client's default):
//! cargo run --release -p twilio-store --features vault --example propagation -- \
//!     --vault vault+http://127.0.0.1:8200/secret/bench [FOLLOWERS] [ROUNDS] [INTERVAL_MS]
//! ```
//!
//! File store: each follower is a thread driving a `Follower` the way `Follower::run` does (a
//! change-stamp check every `CHANGE_CHECK_INTERVAL`, a reload when it moved). Vault: each
//! follower is `Follower::run` itself on Tokio, with a store handle (and connections) of its
//! own, as on separate hosts; the Vault store has no change stamp, so it reloads every
//! interval. The writer stages a new token, and each follower notes when its subscriber first
//! sees it. The figures are from `save` returning to the subscriber's call, per follower and
//! round.

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

/// The token a round waits for, and when it was staged.
type Wanted = Arc<Mutex<Option<(TokenFingerprint, Instant)>>>;

/// Subscribes to `follower` a subscriber that records, in `delays`, how long after staging it
/// first sees the `wanted` pending token.
fn measure(follower: &Follower, wanted: &Wanted, delays: &Arc<Mutex<Vec<Duration>>>) {
    let (wanted, delays) = (wanted.clone(), delays.clone());
    let seen = Arc::new(Mutex::new(None::<TokenFingerprint>));
    follower.subscribe(move |record| {
        if let Some(pending) = &record.pending {
            let fingerprint = pending.fingerprint();
            let mut seen = seen.lock().unwrap();
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
}

/// `record` with `token(round)` staged as pending; notes it as the one wanted from now.
fn stage(mut record: TokenRecord, round: usize, wanted: &Wanted) -> TokenRecord {
    let next = token(round);
    record.pending = Some(StoredToken::new(
        next.clone(),
        time::OffsetDateTime::now_utc(),
    ));
    record.phase = RotationPhase::Staged;
    *wanted.lock().unwrap() = Some((TokenFingerprint::of(&next), Instant::now()));
    record
}

fn report(what: &str, delays: &Mutex<Vec<Duration>>, expected: usize) {
    let mut delays = delays.lock().unwrap().clone();
    delays.sort();
    let pick = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: {} observations (expected {expected})",
        delays.len()
    );
    println!(
        "stage -> follower holds pending: min {:?}, p50 {:?}, p99 {:?}, max {:?}",
        delays[0],
        pick(0.5),
        pick(0.99),
        delays[delays.len() - 1]
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--vault") {
        #[cfg(feature = "vault")]
        return vault::main(&args[1..]);
        #[cfg(not(feature = "vault"))]
        return Err("--vault needs the `vault` feature".into());
    }
    args.truncate(2);
    let mut args = args.into_iter();
    let followers: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(20), |a| a.parse())?;

    let dir = std::env::temp_dir().join(format!("twilio-propagation-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("tokens.json");
    let _ = std::fs::remove_file(&path);
    let account = "AC0123456789abcdef0123456789abcdef".parse()?;
    FileTokenStore::create(&path, &TokenRecord::new(account, token(0)))?;

    // What each follower waits for, and when it saw it.
    let wanted: Wanted = Arc::default();
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
                measure(&follower, &wanted, &delays);
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
        let record = block_on(store.load())?.expect("a record");
        block_on(store.save(&stage(record, round, &wanted)))?;
    }
    std::thread::sleep(CHANGE_CHECK_INTERVAL * 2);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("a follower thread");
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(
        &format!(
            "file store, {followers} followers x {rounds} rounds, change check every {CHANGE_CHECK_INTERVAL:?}"
        ),
        &delays,
        followers * rounds,
    );
    Ok(())
}

#[cfg(feature = "vault")]
mod vault {
    use super::*;
    use twilio_store::vault::VaultTokenStore;

    pub(super) fn main(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
        let base = args.first().ok_or("--vault URL")?;
        let followers: usize = args.get(1).map_or(Ok(20), |a| a.parse())?;
        let rounds: usize = args.get(2).map_or(Ok(20), |a| a.parse())?;
        let interval = Duration::from_millis(args.get(3).map_or(Ok(5000), |a| a.parse())?);
        let url = format!("{base}/propagation-{}", std::process::id());
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async {
            let store = VaultTokenStore::from_url(&url)?;
            let account = "AC0123456789abcdef0123456789abcdef".parse()?;
            store.save(&TokenRecord::new(account, token(0))).await?;

            let wanted: Wanted = Arc::default();
            let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
            let mut tasks = Vec::new();
            for _ in 0..followers {
                // Followers on other hosts reload at phases of their own.
                tokio::time::sleep(interval / followers as u32).await;
                let store: Arc<dyn TokenStore> = Arc::new(VaultTokenStore::from_url(&url)?);
                let follower = Follower::new(store);
                measure(&follower, &wanted, &delays);
                tasks.push(tokio::spawn(Arc::new(follower).run(interval, tokio::time::sleep)));
            }
            for round in 1..=rounds {
                // More than an interval apart, at offsets spread over the interval.
                let offset = interval.mul_f64(((round * 37) % 100) as f64 / 100.0);
                tokio::time::sleep(interval + offset).await;
                let record = store.load().await?.expect("a record");
                store.save(&stage(record, round, &wanted)).await?;
            }
            tokio::time::sleep(interval * 2).await;
            for task in tasks {
                task.abort();
            }
            report(
                &format!(
                    "Vault/OpenBao store, {followers} followers x {rounds} rounds, reload every {interval:?} (no change stamp)"
                ),
                &delays,
                followers * rounds,
            );
            Ok(())
        })
    }
}
