//! Measures how long a staged token takes to reach followers of an AWS Secrets Manager store by
//! polling, as `twilio-store`'s `propagation` example does for the file and Vault stores. Not a
//! test: it prints figures for `docs/benchmarks.md`.
//!
//! ```sh
//! # Against moto_server (or AWS): the AWS default chain (AWS_ENDPOINT_URL, AWS_REGION, keys).
//! cargo run --release -p twilio-store-aws --example propagation -- [FOLLOWERS] [ROUNDS] [INTERVAL_MS]
//! ```
//!
//! Each follower is `Follower::run` on Tokio with a store (and SDK client) of its own, started
//! at phases spread over the interval; the store has no change stamp, so a follower sees a
//! change at its next reload. Measured from `save` returning to each follower's subscriber
//! seeing the new `pending` token.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use twilio_store::{
    Follower, RotationPhase, StoredToken, TokenFingerprint, TokenRecord, TokenStore,
};
use twilio_store_aws::SecretsManagerStore;
use twilio_types::AuthToken;

type Wanted = Arc<Mutex<Option<(TokenFingerprint, Instant)>>>;

fn token(n: usize) -> AuthToken {
    AuthToken::new(format!("{n:032x}")).expect("hex is header-safe")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let followers: usize = args.first().map_or(Ok(20), |a| a.parse())?;
    let rounds: usize = args.get(1).map_or(Ok(20), |a| a.parse())?;
    let interval = Duration::from_millis(args.get(2).map_or(Ok(5000), |a| a.parse())?);
    let secret = format!("bench/propagation-{}", std::process::id());
    let store = SecretsManagerStore::new(secret.clone())?;
    let account = "AC0123456789abcdef0123456789abcdef".parse()?;
    store.save(&TokenRecord::new(account, token(0))).await?;

    let wanted: Wanted = Arc::default();
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..followers {
        tokio::time::sleep(interval / followers as u32).await;
        let store: Arc<dyn TokenStore> = Arc::new(SecretsManagerStore::new(secret.clone())?);
        let follower = Follower::new(store);
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
        tasks.push(tokio::spawn(
            Arc::new(follower).run(interval, tokio::time::sleep),
        ));
    }
    for round in 1..=rounds {
        let offset = interval.mul_f64(((round * 37) % 100) as f64 / 100.0);
        tokio::time::sleep(interval + offset).await;
        let mut record = store.load().await?.expect("a record");
        let next = token(round);
        record.pending = Some(StoredToken::new(
            next.clone(),
            time::OffsetDateTime::now_utc(),
        ));
        record.phase = RotationPhase::Staged;
        *wanted.lock().unwrap() = Some((TokenFingerprint::of(&next), Instant::now()));
        store.save(&record).await?;
    }
    tokio::time::sleep(interval * 2).await;
    for task in tasks {
        task.abort();
    }
    let mut delays = delays.lock().unwrap().clone();
    delays.sort();
    let pick = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    println!(
        "AWS Secrets Manager store, {followers} followers x {rounds} rounds, reload every {interval:?} (no change stamp): {} observations (expected {})",
        delays.len(),
        followers * rounds
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
