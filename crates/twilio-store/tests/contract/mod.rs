//! The contract every store shared between hosts keeps, checked by each backend's tests against
//! its real server: OpenBao (`tests/vault`) and moto's AWS Secrets Manager
//! (`twilio-store-aws`'s `tests/moto`, which includes this file by path). Each check takes
//! store handles as separate hosts would have them (their own clients, nothing cached).

#![allow(dead_code)] // each test binary uses part of it

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use twilio_store::{
    LeaseOwner, LeasedRecord, RotationPhase, StoreError, StoreErrorKind, StoredToken, TokenRecord,
    TokenStore,
};
use twilio_types::{AccountSid, AuthToken};

pub(crate) const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

/// Token number `n`: 32 hex digits, distinct for every `n`.
pub(crate) fn token_text(n: u8) -> String {
    format!(
        "{:032x}",
        u128::from(n) * 0x0101_0101_0101_0101_0101_0101_0101_0101
    )
}

pub(crate) fn token(n: u8) -> AuthToken {
    AuthToken::new(token_text(n)).expect("a valid token")
}

/// A first record of [`ACCOUNT`] with token `n` as current.
pub(crate) fn record(n: u8) -> TokenRecord {
    TokenRecord::new(ACCOUNT.parse::<AccountSid>().expect("sid"), token(n))
}

/// Every text an error shows: its Display, Debug and those of each cause.
pub(crate) fn all_text(error: &StoreError) -> String {
    let mut text = format!("{error}\n{error:?}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    text
}

/// Eight hosts save a record with their own pending token at the same revision: exactly one
/// wins (at the next revision; the others get `Conflict`), and every host then reads the
/// winner's. Returns the winner's token number.
pub(crate) async fn of_eight_writers_exactly_one_wins(
    host: impl Fn() -> Arc<dyn TokenStore>,
    round: u8,
) -> u8 {
    let hosts: Vec<_> = (0..8).map(|_| host()).collect();
    let base = hosts[0].load().await.unwrap().expect("a record");
    let tasks: Vec<_> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = Arc::clone(host);
            let mut mine = base.clone();
            let n = 10 + round * 8 + u8::try_from(i).unwrap();
            mine.pending = Some(StoredToken::new(token(n), time::OffsetDateTime::now_utc()));
            tokio::spawn(async move { (host.save(&mine).await, n) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (Ok(revision), n) => winners.push((revision, n)),
            (Err(e), _) => assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "round {round}: exactly one writer wins");
    let (revision, n) = winners[0];
    assert_eq!(revision, base.revision + 1);
    let stored = host().load().await.unwrap().unwrap();
    assert_eq!(stored.revision, revision);
    assert_eq!(
        stored.pending.unwrap().token().expose_secret(),
        token_text(n)
    );
    n
}

/// Host A holds the lease and dies (stops renewing); B is refused until A's lease of `short`
/// expires, then takes it over; A, back, can write nothing (its staged token never lands), and
/// B's release clears the lease. The store must hold a record.
pub(crate) async fn the_lease_is_taken_over_and_the_lost_holder_writes_nothing(
    host_a: Arc<dyn TokenStore>,
    host_b: Arc<dyn TokenStore>,
    short: Duration,
) {
    let owner_a = LeaseOwner::new("host-a:101:aaaa");
    let owner_b = LeaseOwner::new("host-b:202:bbbb");
    let mut held_a = LeasedRecord::acquire(Arc::clone(&host_a), owner_a.clone(), short)
        .await
        .unwrap()
        .expect("a record");
    let mut next = held_a.record().clone();
    next.phase = RotationPhase::Creating;
    held_a.save(next).await.unwrap();
    let revision_a = held_a.record().revision;

    let err = LeasedRecord::acquire(Arc::clone(&host_b), owner_b.clone(), short)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Locked, "{err}");
    assert!(err.to_string().contains("host-a:101:aaaa"), "{err}");
    assert_eq!(host_b.load().await.unwrap().unwrap().revision, revision_a);

    tokio::time::sleep(short + Duration::from_millis(200)).await;
    let held_b = LeasedRecord::acquire(Arc::clone(&host_b), owner_b.clone(), short * 20)
        .await
        .unwrap()
        .expect("a record");
    let stored = host_a.load().await.unwrap().unwrap();
    assert_eq!(
        stored.lease.as_ref().map(|l| l.owner.clone()),
        Some(owner_b)
    );
    assert_eq!(stored.phase, RotationPhase::Creating);

    let mut late = held_a.record().clone();
    late.phase = RotationPhase::Staged;
    late.pending = Some(StoredToken::new(token(7), time::OffsetDateTime::now_utc()));
    let err = held_a.save(late).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    let after = host_a.load().await.unwrap().unwrap();
    assert_eq!(after.revision, held_b.record().revision);
    assert_eq!(after.phase, RotationPhase::Creating);
    assert!(after.pending.is_none());
    held_b.release().await.unwrap();
    assert!(host_a.load().await.unwrap().unwrap().lease.is_none());
}

/// Set in the child processes of [`processes_sharing_only_the_server_lose_no_write`]:
/// `WRITES URL`.
pub(crate) const CHILD_ENV: &str = "TWILIO_STORE_TEST_CHILD";

/// `n` of a record whose current token is `token(n)`.
pub(crate) fn counter_of(record: &TokenRecord) -> u8 {
    let value = u128::from_str_radix(record.current.token().expose_secret(), 16).unwrap();
    u8::try_from(value / 0x0101_0101_0101_0101_0101_0101_0101_0101).unwrap()
}

/// Hosts that share nothing but the store's server: `writers` processes of the running test
/// binary (re-run as test `test`, which calls [`child_writer`] when [`CHILD_ENV`] is set), each
/// in a working directory of its own with only `env` and `url`, make `writes` increments of a
/// counter in the record (read, modify, compare-and-swap; a Conflict is retried). The record
/// at `url` must hold `record(1)`. Returns the conflicts retried and every child's output
/// (for the caller's secret search); asserts that each child made its writes.
pub(crate) fn spawn_writers(
    test: &str,
    writers: u8,
    writes: u64,
    url: &str,
    env: &[(&str, &str)],
) -> (u64, Vec<String>) {
    let children: Vec<_> = (0..writers)
        .map(|id| {
            let dir = std::env::temp_dir().join(format!(
                "twilio-store-host-{}-{id}-{}",
                std::process::id(),
                time::OffsetDateTime::now_utc().unix_timestamp_nanos()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let child = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", test, "--nocapture", "--test-threads=1"])
                .current_dir(&dir)
                .env_clear()
                .env(CHILD_ENV, format!("{writes} {url}"))
                .envs(env.iter().copied())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (dir, child)
        })
        .collect();
    let mut conflicts = 0;
    let mut outputs = Vec::new();
    for (dir, child) in children {
        let out = child.wait_with_output().unwrap();
        let _ = std::fs::remove_dir_all(dir);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a child failed:\n{stdout}\n{stderr}");
        let report = stdout
            .lines()
            .find_map(|l| l.split_once("child wrote ").map(|(_, report)| report))
            .unwrap_or_else(|| panic!("no report in:\n{stdout}"));
        let (done, retried) = report.split_once(" conflicts ").expect("the report's form");
        assert_eq!(done.parse::<u64>().unwrap(), writes);
        conflicts += retried.trim().parse::<u64>().unwrap();
        outputs.push(format!("{stdout}{stderr}"));
    }
    (conflicts, outputs)
}

/// One "host" (the child side of [`spawn_writers`]): `writes` acknowledged increments of the
/// record's counter through `store`, then the report line.
pub(crate) async fn child_writer(store: &dyn TokenStore, writes: u64) {
    let (mut done, mut conflicts) = (0, 0);
    while done < writes {
        let mut next = store.load().await.unwrap().expect("the record is stored");
        // The record counts the writes: `current` is token(n), the next write token(n + 1).
        let n = counter_of(&next) + 1;
        next.current = StoredToken::new(token(n), time::OffsetDateTime::now_utc());
        match store.save(&next).await {
            Ok(_) => done += 1,
            Err(e) if e.kind() == StoreErrorKind::Conflict => conflicts += 1,
            Err(e) => panic!("child: {e}"),
        }
    }
    println!("child wrote {done} conflicts {conflicts}");
}
