//! The AWS Secrets Manager store against a real `moto_server` (pinned by xtask): round trips
//! with the AWS staging labels, the compare-and-swap between "hosts" (store handles with their
//! own clients), the lease, versions written by the AWS rotation Lambda, and the failures an
//! operator meets, each a typed error whose messages never hold a token.

// The store contract every shared backend keeps (the Vault tests run it too).
#[path = "../../../twilio-store/tests/contract/mod.rs"]
mod contract;
mod server;

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use twilio_store::{RotationPhase, StoreErrorKind, StoredToken, TokenStore};
use twilio_store_aws::{Client, SecretsManagerStore};

use server::Moto;

/// Starts a server, or returns from the test (loudly) when moto is not installed outside CI.
macro_rules! moto {
    () => {
        match server::launcher() {
            Some(launcher) => Moto::start(&launcher),
            None => return,
        }
    };
}

use contract::{ACCOUNT, all_text, record, token, token_text};

/// An SDK client of its own for `endpoint` (another host's), with the fake credentials.
fn client_for(endpoint: &str, key_id: &str) -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(key_id, "testing", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

fn client(moto: &Moto) -> Client {
    client_for(&moto.endpoint(), "testing")
}

fn store(moto: &Moto, secret: &str) -> SecretsManagerStore {
    SecretsManagerStore::with_client(secret, client(moto)).expect("a store")
}

fn assert_no_token(text: &str) {
    for n in 0..=255 {
        assert!(
            !text.contains(&token_text(n)),
            "a token leaked into: {text}"
        );
    }
}

/// The token JSON under `label`, read as an AWS-native consumer reads it.
async fn under_label(client: &Client, secret: &str, label: &str) -> Option<serde_json::Value> {
    let out = client
        .get_secret_value()
        .secret_id(secret)
        .version_stage(label)
        .send()
        .await
        .ok()?;
    serde_json::from_str(out.secret_string()?).ok()
}

fn native(n: u8) -> serde_json::Value {
    serde_json::json!({"account_sid": ACCOUNT, "auth_token": token_text(n)})
}

#[tokio::test]
async fn a_rotation_moves_the_aws_labels_and_round_trips() {
    let moto = moto!();
    let store = store(&moto, "twilio/prod");
    let raw = client(&moto);
    assert!(store.load().await.unwrap().is_none());

    assert_eq!(store.save(&record(1)).await.unwrap(), 1);
    let mut stored = store.load().await.unwrap().expect("saved");
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.current.token().expose_secret(), token_text(1));
    assert_eq!(
        under_label(&raw, "twilio/prod", "AWSCURRENT").await,
        Some(native(1))
    );
    assert_eq!(under_label(&raw, "twilio/prod", "AWSPENDING").await, None);

    // Staged: the new token is AWSPENDING.
    stored.pending = Some(StoredToken::new(token(2), time::OffsetDateTime::now_utc()));
    stored.phase = RotationPhase::Staged;
    assert_eq!(store.save(&stored).await.unwrap(), 2);
    assert_eq!(
        under_label(&raw, "twilio/prod", "AWSPENDING").await,
        Some(native(2))
    );
    assert_eq!(
        under_label(&raw, "twilio/prod", "AWSCURRENT").await,
        Some(native(1))
    );

    // Promoted: AWSCURRENT is the new token, AWSPREVIOUS the old, no AWSPENDING.
    let mut promoted = store.load().await.unwrap().unwrap();
    assert_eq!(promoted.revision, 2);
    promoted.previous = Some(promoted.current.clone());
    promoted.current = promoted.pending.take().unwrap();
    promoted.phase = RotationPhase::Idle;
    assert_eq!(store.save(&promoted).await.unwrap(), 3);
    assert_eq!(
        under_label(&raw, "twilio/prod", "AWSCURRENT").await,
        Some(native(2))
    );
    assert_eq!(
        under_label(&raw, "twilio/prod", "AWSPREVIOUS").await,
        Some(native(1))
    );
    assert_eq!(under_label(&raw, "twilio/prod", "AWSPENDING").await, None);

    // Another host (a fresh store, nothing cached) reads the same record.
    let other = self::store(&moto, "twilio/prod")
        .load()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.revision, 3);
    assert_eq!(other.current.token().expose_secret(), token_text(2));
    assert_eq!(
        other.previous.as_ref().unwrap().token().expose_secret(),
        token_text(1)
    );
    assert!(other.pending.is_none());
    assert_eq!(other.phase, RotationPhase::Idle);
    assert_no_token(&format!("{other:?} {store:?}"));
}

#[tokio::test]
async fn a_stale_writer_is_refused_and_changes_nothing() {
    let moto = moto!();
    let a = store(&moto, "stale");
    let b = store(&moto, "stale");
    a.save(&record(1)).await.unwrap();
    let read_by_a = a.load().await.unwrap().unwrap();
    let mut by_b = b.load().await.unwrap().unwrap();
    by_b.pending = Some(StoredToken::new(token(2), time::OffsetDateTime::now_utc()));
    b.save(&by_b).await.unwrap();

    let mut late = read_by_a.clone();
    late.pending = Some(StoredToken::new(token(3), time::OffsetDateTime::now_utc()));
    let err = a.save(&late).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert_no_token(&all_text(&err));
    let stored = a.load().await.unwrap().unwrap();
    assert_eq!(stored.revision, 2);
    assert_eq!(
        stored.pending.unwrap().token().expose_secret(),
        token_text(2)
    );
    assert_eq!(
        under_label(&client(&moto), "stale", "AWSPENDING").await,
        Some(native(2))
    );

    // A second first write: the secret exists, so it is a conflict too.
    let err = b.save(&record(9)).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert_eq!(a.load().await.unwrap().unwrap().revision, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_eight_concurrent_writers_at_one_revision_exactly_one_wins_each_round() {
    let moto = moto!();
    store(&moto, "race").save(&record(1)).await.unwrap();
    for round in 0..4u8 {
        let host = || -> Arc<dyn TokenStore> { Arc::new(store(&moto, "race")) };
        let n = contract::of_eight_writers_exactly_one_wins(host, round).await;
        // What AWS-native readers see follows the winner.
        assert_eq!(
            under_label(&client(&moto), "race", "AWSPENDING").await,
            Some(native(n))
        );
    }
}

#[tokio::test]
async fn the_lease_is_taken_over_after_expiry_and_the_lost_holder_writes_nothing() {
    let moto = moto!();
    store(&moto, "lease").save(&record(1)).await.unwrap();
    // Long enough for the calls of a save to a loaded emulator to fit inside it.
    contract::the_lease_is_taken_over_and_the_lost_holder_writes_nothing(
        Arc::new(store(&moto, "lease")),
        Arc::new(store(&moto, "lease")),
        Duration::from_secs(5),
    )
    .await;
    // The lost holder's staged token never reached AWSPENDING either.
    assert_eq!(
        under_label(&client(&moto), "lease", "AWSPENDING").await,
        None
    );
}

#[tokio::test]
async fn a_secret_rotated_by_the_aws_lambda_is_read_from_its_labels() {
    let moto = moto!();
    let raw = client(&moto);
    // What a Terraform module and the rotation Lambda write: the two fields (and perhaps more).
    let first = raw
        .create_secret()
        .name("lambda")
        .secret_string(
            serde_json::json!({"account_sid": ACCOUNT, "auth_token": token_text(1), "note": "x"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let first = first.version_id().unwrap().to_owned();
    let store = store(&moto, "lambda");
    let read = store.load().await.unwrap().unwrap();
    assert_eq!(read.revision, 0);
    assert_eq!(read.current.token().expose_secret(), token_text(1));
    assert!(read.pending.is_none() && read.previous.is_none());
    assert_eq!(read.phase, RotationPhase::Idle);

    // createSecret: AWSPENDING on a new version.
    let pending_id = "00000000-0000-4000-8000-000000000002";
    raw.put_secret_value()
        .secret_id("lambda")
        .client_request_token(pending_id)
        .secret_string(native(2).to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let read = store.load().await.unwrap().unwrap();
    assert_eq!(read.phase, RotationPhase::Staged);
    assert_eq!(read.pending.unwrap().token().expose_secret(), token_text(2));

    // finishSecret: AWSCURRENT moves (AWSPENDING stays on it, as the Lambda leaves it).
    raw.update_secret_version_stage()
        .secret_id("lambda")
        .version_stage("AWSCURRENT")
        .move_to_version_id(pending_id)
        .remove_from_version_id(&first)
        .send()
        .await
        .unwrap();
    let read = store.load().await.unwrap().unwrap();
    assert_eq!(read.current.token().expose_secret(), token_text(2));
    assert!(
        read.pending.is_none(),
        "AWSPENDING on the current version is no rotation"
    );
    assert_eq!(
        read.previous.unwrap().token().expose_secret(),
        token_text(1)
    );
    assert_eq!(read.phase, RotationPhase::Idle);

    // This store never writes a secret it did not create.
    let err = store.save(&record(3)).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert_eq!(
        under_label(&raw, "lambda", "AWSCURRENT").await,
        Some(native(2))
    );
}

#[tokio::test]
async fn a_version_that_is_not_a_token_is_malformed_without_showing_it() {
    let moto = moto!();
    let raw = client(&moto);
    raw.create_secret()
        .name("plain")
        .secret_string(token_text(5))
        .send()
        .await
        .unwrap();
    let err = store(&moto, "plain").load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Malformed, "{err}");
    assert!(err.to_string().contains("not a Twilio token"), "{err}");
    assert_no_token(&all_text(&err));
}

#[tokio::test]
async fn missing_unreachable_and_refused_are_told_apart() {
    let mut moto = moto!();
    let store = store(&moto, "nowhere");
    assert!(store.load().await.unwrap().is_none());
    let mut at_one = record(1);
    at_one.revision = 1;
    let err = store.save(&at_one).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");

    // An ARN cannot be created.
    let arn = SecretsManagerStore::with_client(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nowhere-AbCdEf",
        client(&moto),
    )
    .unwrap();
    assert_eq!(
        arn.save(&record(1)).await.unwrap_err().kind(),
        StoreErrorKind::Invalid
    );

    // The server goes away: Io, with the cause.
    moto.kill();
    let err = store.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(err.source().is_some());
}

#[tokio::test]
async fn credentials_aws_refuses_are_a_permissions_error() {
    let Some(launcher) = server::launcher() else {
        return;
    };
    // moto checks signatures and IAM when told to (after 0 free actions): our fake key is
    // unknown to it, as a revoked or mistyped key is to AWS.
    let moto = Moto::start_with(&launcher, &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let store =
        SecretsManagerStore::with_client("denied", client_for(&moto.endpoint(), "AKIAUNKNOWN"))
            .unwrap();
    let err = store.load().await.unwrap_err();
    assert_eq!(
        err.kind(),
        StoreErrorKind::Permissions,
        "{}",
        all_text(&err)
    );
    let err = store.save(&record(4)).await.unwrap_err();
    assert_eq!(
        err.kind(),
        StoreErrorKind::Permissions,
        "{}",
        all_text(&err)
    );
    assert_no_token(&all_text(&err));
}

#[tokio::test]
async fn heartbeats_are_unsupported_on_secrets_manager() {
    let moto = moto!();
    let store = store(&moto, "beats");
    let err = store.heartbeats().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unsupported);
}

/// A writer that died between its compare-and-swap and the label moves: the record is
/// committed (every host reads it), AWS-native readers see the old labels, and the next write
/// by another host moves them.
#[tokio::test]
async fn labels_left_behind_by_a_dead_writer_are_moved_by_the_next_write() {
    let moto = moto!();
    let raw = client(&moto);
    let a = store(&moto, "behind");
    a.save(&record(1)).await.unwrap();
    let mut staged = a.load().await.unwrap().unwrap();
    staged.pending = Some(StoredToken::new(token(2), time::OffsetDateTime::now_utc()));
    a.save(&staged).await.unwrap();
    // Undo the label move, as if the writer had died right after its compare-and-swap.
    let described = raw
        .describe_secret()
        .secret_id("behind")
        .send()
        .await
        .unwrap();
    let pending = described
        .version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == "AWSPENDING"))
        .map(|(id, _)| id.clone())
        .unwrap();
    raw.update_secret_version_stage()
        .secret_id("behind")
        .version_stage("AWSPENDING")
        .remove_from_version_id(pending)
        .send()
        .await
        .unwrap();
    assert_eq!(under_label(&raw, "behind", "AWSPENDING").await, None);

    // Another host reads the committed record, and its next write moves the labels.
    let b = store(&moto, "behind");
    let mut read = b.load().await.unwrap().unwrap();
    assert_eq!(read.revision, 2);
    assert_eq!(
        read.pending.as_ref().unwrap().token().expose_secret(),
        token_text(2)
    );
    read.phase = RotationPhase::Staged;
    assert_eq!(b.save(&read).await.unwrap(), 3);
    assert_eq!(
        under_label(&raw, "behind", "AWSPENDING").await,
        Some(native(2))
    );
    assert_eq!(
        under_label(&raw, "behind", "AWSCURRENT").await,
        Some(native(1))
    );
}

/// Hosts that share nothing but the Secrets Manager endpoint: three processes of this test
/// binary, each in a working directory of its own with the store from its own environment
/// (`aws-sm://hosts`, the default credential chain reading fake keys, the region and
/// `AWS_ENDPOINT_URL`), each make 8 increments of a counter in the record (read, modify,
/// compare-and-swap; a Conflict is retried). The counter ends at 1 + 3 × 8: none lost.
#[tokio::test]
async fn processes_sharing_only_the_endpoint_lose_no_write() {
    if let Ok(spec) = std::env::var(contract::CHILD_ENV) {
        let (writes, url) = spec.split_once(' ').expect("WRITES URL");
        let store = SecretsManagerStore::from_url(url).unwrap();
        return contract::child_writer(&store, writes.parse().unwrap()).await;
    }
    let moto = moto!();
    store(&moto, "hosts").save(&record(1)).await.unwrap();
    const WRITERS: u8 = 3;
    const WRITES: u64 = 8;
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (conflicts, outputs) = contract::spawn_writers(
        "processes_sharing_only_the_endpoint_lose_no_write",
        WRITERS,
        WRITES,
        "aws-sm://hosts",
        &env,
    );
    for output in &outputs {
        assert_no_token(output);
    }
    let stored = store(&moto, "hosts").load().await.unwrap().unwrap();
    let total = 1 + u64::from(WRITERS) * WRITES;
    assert_eq!(stored.revision, total);
    assert_eq!(u64::from(contract::counter_of(&stored)), total);
    assert_eq!(
        under_label(&client(&moto), "hosts", "AWSCURRENT").await,
        Some(native(u8::try_from(total).unwrap()))
    );
    eprintln!(
        "{WRITERS} processes, {} writes, {conflicts} conflicts retried",
        total - 1
    );
}
