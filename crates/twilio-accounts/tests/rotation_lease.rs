//! The rotation's lease on a store that many hosts share (issue 17 §2): a rotator that lost its
//! lease cannot write afterwards, a stale writer is refused, and a rotator that died blocks
//! others only until its lease expires. "Other hosts" are lease owners with another host name.

// Real HTTP to the emulator through the built-in client.
#![cfg(feature = "default-client")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use twilio_accounts::rotation::{AccountState, Checkpoint};
use twilio_accounts::{Client, Error};
use twilio_emulator::Emulator;
use twilio_store::{
    LeaseOwner, LeasedRecord, MemoryTokenStore, RotationPhase, StoreErrorKind, TokenRecord,
    TokenStore,
};
use twilio_transport::Credentials;

async fn start() -> (Emulator, Arc<MemoryTokenStore>, Client) {
    let emulator = Emulator::builder().start().await.unwrap();
    let store = Arc::new(MemoryTokenStore::new());
    let record = TokenRecord::new(emulator.account_sid(), emulator.auth_token());
    store.save(&record).await.unwrap();
    let credentials =
        Credentials::from_auth_token(emulator.account_sid(), emulator.auth_token()).unwrap();
    let client = Client::builder()
        .credentials(credentials)
        .base_url(&emulator.base_url())
        .build()
        .unwrap();
    (emulator, store, client)
}

fn store_error_kind(error: &Error) -> Option<StoreErrorKind> {
    match error {
        Error::Store(e) => Some(e.kind()),
        _ => None,
    }
}

async fn take_over(store: &Arc<MemoryTokenStore>, owner: &str, lease: Duration) -> LeasedRecord {
    let store: Arc<dyn TokenStore> = store.clone();
    LeasedRecord::acquire(store, LeaseOwner::new(owner), lease)
        .await
        .unwrap()
        .expect("a record is stored")
}

/// Host A stalls at `pending_stored` past its short lease; host B takes the lease over. A's
/// next write (`Staged`) is refused, so A never records anything again and never promotes; the
/// record is exactly what B left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotator_that_lost_its_lease_cannot_write_afterwards() {
    let (emulator, store, client) = start().await;
    let taken_over = Arc::new(Mutex::new(None::<u64>));
    let hook = {
        let (store, taken_over) = (store.clone(), taken_over.clone());
        move |checkpoint| {
            if checkpoint != Checkpoint::PendingStored {
                return;
            }
            // Stalled (a GC pause, a suspended VM) past the lease…
            std::thread::sleep(Duration::from_millis(400));
            // …while host B took the lease over.
            let (store, taken_over) = (store.clone(), taken_over.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let held = rt.block_on(take_over(&store, "host-b:7:b", Duration::from_secs(60)));
                *taken_over.lock().unwrap() = Some(held.record().revision);
            })
            .join()
            .unwrap();
        }
    };
    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .lease_duration(Duration::from_millis(300))
        .hand_off_grace(Duration::ZERO)
        .on_checkpoint(hook)
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        store_error_kind(err.error()),
        Some(StoreErrorKind::Conflict),
        "{err}"
    );
    assert!(err.error().to_string().contains("lease"), "{}", err.error());
    let record = store.load().await.unwrap().unwrap();
    assert_eq!(Some(record.revision), *taken_over.lock().unwrap());
    assert_eq!(record.lease.unwrap().owner.as_str(), "host-b:7:b");
    // A stopped before `Staged` and never promoted: the old token is still the primary.
    assert_eq!(record.phase, RotationPhase::Creating);
    assert_eq!(
        emulator.auth_token().expose_secret(),
        record.current.token().expose_secret()
    );
    assert_ne!(err.state(), AccountState::Rotated);
    emulator.shutdown().await;
}

/// A rotator on another host died holding the lease: a rotation here is refused (naming the
/// owner) until the lease expires, then runs.
#[tokio::test]
async fn a_rotator_that_died_blocks_others_only_until_its_lease_expires() {
    let (emulator, store, client) = start().await;
    // Long enough that the refused attempt below surely runs inside it on a loaded machine.
    drop(take_over(&store, "host-a:1:a", Duration::from_secs(2)).await);

    let err = client
        .rotate_auth_token()
        .store(store.clone())
        .resume()
        .await
        .unwrap_err();
    assert_eq!(
        store_error_kind(err.error()),
        Some(StoreErrorKind::Locked),
        "{err}"
    );
    assert!(
        err.error().to_string().contains("host-a:1:a"),
        "{}",
        err.error()
    );
    assert_eq!(err.state(), AccountState::Unchanged);

    tokio::time::sleep(Duration::from_millis(2050)).await;
    let report = client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .send()
        .await
        .unwrap();
    assert_eq!(report.state(), AccountState::Rotated);
    let record = store.load().await.unwrap().unwrap();
    assert!(record.lease.is_none(), "the lease is released at the end");
    assert_eq!(
        record.choices.hand_off_grace,
        Some(Duration::ZERO),
        "the rotation's choices are recorded"
    );
    emulator.shutdown().await;
}

/// A writer that read the record before a rotation wrote it gets a conflict, and the
/// rotation's record stands.
#[tokio::test]
async fn a_stale_writer_gets_a_conflict() {
    let (emulator, store, client) = start().await;
    let stale = store.load().await.unwrap().unwrap();
    client
        .rotate_auth_token()
        .store(store.clone())
        .hand_off_grace(Duration::ZERO)
        .send()
        .await
        .unwrap();
    let rotated = store.load().await.unwrap().unwrap();
    let err = store.save(&stale).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    let after = store.load().await.unwrap().unwrap();
    assert_eq!(after.revision, rotated.revision);
    assert_eq!(
        after.current.token().expose_secret(),
        emulator.auth_token().expose_secret()
    );
    emulator.shutdown().await;
}
