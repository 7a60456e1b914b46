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
