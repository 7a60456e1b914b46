//! The Vault/OpenBao KV v2 store against real OpenBao servers (`bao server`, pinned by xtask):
//! round trips, Vault's own check-and-set between two "hosts" (store handles), heartbeats, and
//! the failures an operator meets (a token without permission, a sealed server, a server that
//! goes away, a malformed record), each a typed error whose messages never hold a token.

mod bao;
#[path = "../contract/mod.rs"]
mod contract;

use std::error::Error as StdError;
use std::sync::Arc;

use serde_json::json;
use twilio_store::vault::{VaultLocation, VaultToken, VaultTokenStore};
use twilio_store::{
    FollowerId, FollowerRole, Heartbeat, LeaseOwner, LeasedRecord, StoreErrorKind, StoredToken,
    TokenFingerprint, TokenLabel, TokenStore,
};

use bao::Bao;

/// Starts a dev server, or returns from the test (loudly) when OpenBao is not installed
/// outside CI.
macro_rules! dev_server {
    () => {
        match bao::binary() {
            Some(binary) => Bao::dev(&binary),
            None => return,
        }
    };
}

use contract::{all_text, record, token};

/// A store handle of its own, as another host would have: its own client and connections.
fn store_with(bao: &Bao, vault_token: &str, path: &str) -> VaultTokenStore {
    store_at(
        &format!("vault+http://127.0.0.1:{}/secret/{path}", bao.port()),
        vault_token,
    )
}

/// The store at `url` (any mount, any scheme), authenticated by `vault_token`.
fn store_at(url: &str, vault_token: &str) -> VaultTokenStore {
    let location = VaultLocation::parse(url, None).expect("a valid URL");
    VaultTokenStore::new(location, VaultToken::new(vault_token).expect("token"), None)
        .expect("a store")
}

fn store(bao: &Bao, path: &str) -> VaultTokenStore {
    store_with(bao, &bao.root_token, path)
}

fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
}

#[tokio::test]
async fn round_trip_with_kv_versions_as_revisions() {
    let bao = dev_server!();
    let store = store(&bao, "twilio/prod");
    assert!(store.load().await.unwrap().is_none());

    let first = record(1);
    assert_eq!(store.save(&first).await.unwrap(), 1);
    let loaded = store.load().await.unwrap().expect("saved");
    assert_eq!(loaded.revision, 1);
    assert_eq!(
        loaded.current.token().expose_secret(),
        token(1).expose_secret()
    );
    assert_eq!(loaded.current.fingerprint(), first.current.fingerprint());

    let mut next = loaded.clone();
    next.pending = Some(StoredToken::new(token(2), time::OffsetDateTime::now_utc()));
    assert_eq!(store.save(&next).await.unwrap(), 2);
    let loaded = store.load().await.unwrap().expect("saved");
    assert_eq!(loaded.revision, 2);
    assert_eq!(
        loaded.pending.as_ref().map(|p| p.fingerprint()),
        Some(next.pending.as_ref().unwrap().fingerprint())
    );

    // What other programs see: the record's JSON object as the secret's data, the revision
    // in it equal to the KV version.
    let (status, body) = bao.as_root("GET", "secret/data/twilio/prod", None);
    assert_eq!(status, 200);
    assert_eq!(body["data"]["metadata"]["version"], 2);
    assert_eq!(body["data"]["data"]["revision"], 2);
    assert_eq!(
        body["data"]["data"]["current"]["token"],
        token(1).expose_secret()
    );
}

#[tokio::test]
async fn a_stale_writer_is_refused_and_changes_nothing() {
    let bao = dev_server!();
    let host_a = store(&bao, "app");
    let host_b = store(&bao, "app");
    host_a.save(&record(1)).await.unwrap();

    let seen_by_a = host_a.load().await.unwrap().unwrap();
    let seen_by_b = host_b.load().await.unwrap().unwrap();
    let mut from_b = seen_by_b.clone();
    from_b.current = StoredToken::new(token(2), time::OffsetDateTime::now_utc());
    assert_eq!(host_b.save(&from_b).await.unwrap(), 2);

    // A still holds revision 1: its write is a Conflict and B's record stays.
    let mut from_a = seen_by_a.clone();
    from_a.current = StoredToken::new(token(3), time::OffsetDateTime::now_utc());
    let err = host_a.save(&from_a).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(
        err.to_string().contains("changed since it was read"),
        "{err}"
    );
    assert!(err.source().is_some());
    let now = host_a.load().await.unwrap().unwrap();
    assert_eq!(now.revision, 2);
    assert_eq!(now.current.fingerprint(), from_b.current.fingerprint());

    // Revision 0 means "only if nothing is stored".
    let err = host_a.save(&record(4)).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_writers_at_one_revision_exactly_one_wins() {
    let bao = dev_server!();
    store(&bao, "race").save(&record(1)).await.unwrap();
    for round in 0..5u8 {
        let host = || -> Arc<dyn TokenStore> { Arc::new(store(&bao, "race")) };
        contract::of_eight_writers_exactly_one_wins(host, round).await;
    }
}

#[tokio::test]
async fn a_token_without_permission_is_a_permissions_error() {
    let bao = dev_server!();
    store(&bao, "locked").save(&record(1)).await.unwrap();
    let reader = bao.token_with_policy(
        "reader",
        r#"path "secret/data/locked" { capabilities = ["read"] }"#,
    );
    let read_only = store_with(&bao, &reader, "locked");
    let loaded = read_only.load().await.unwrap().unwrap();
    let err = read_only.save(&loaded).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Permissions, "{err}");
    assert!(err.to_string().contains("permission denied"), "{err}");
    assert!(err.source().unwrap().to_string().contains("HTTP 403"));
    assert_no_secret(&all_text(&err), &[&reader, &bao.root_token]);

    let elsewhere = store_with(&bao, &reader, "other");
    let err = elsewhere.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Permissions, "{err}");

    let bogus = store_with(&bao, "not-a-real-token", "locked");
    let err = bogus.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Permissions, "{err}");
    assert_no_secret(&all_text(&err), &["not-a-real-token"]);
}

#[tokio::test]
async fn a_sealed_server_is_an_io_error_saying_so() {
    let bao = dev_server!();
    let store = store(&bao, "sealed");
    store.save(&record(1)).await.unwrap();
    bao.seal();
    let err = store.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(err.to_string().contains("is sealed"), "{err}");
    assert!(err.source().unwrap().to_string().contains("HTTP 503"));
    assert_no_secret(&all_text(&err), &[&bao.root_token]);
}

#[tokio::test]
async fn an_unreachable_server_is_an_io_error_with_its_cause() {
    let mut bao = dev_server!();
    let store = store(&bao, "gone");
    store.save(&record(1)).await.unwrap();
    bao.kill();
    let err = store.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(err.to_string().contains("did not answer"), "{err}");
    // The cause chain reaches the connection error.
    assert!(err.source().unwrap().source().is_some(), "{err:?}");
    let err = store.save(&record(2)).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert_no_secret(&all_text(&err), &[&bao.root_token]);
}

#[tokio::test]
async fn a_malformed_record_is_a_malformed_error() {
    let bao = dev_server!();
    let (status, _) = bao.as_root(
        "POST",
        "secret/data/odd",
        Some(&json!({"data": {"format": "something-else", "current": "x"}})),
    );
    assert_eq!(status, 200);
    let err = store(&bao, "odd").load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Malformed, "{err}");
    assert!(
        err.to_string()
            .contains("secret/odd (version 1) is not a token record"),
        "{err}"
    );
    assert!(err.source().is_some());
}

#[tokio::test]
async fn a_missing_mount_and_a_deleted_record_are_not_found() {
    let bao = dev_server!();
    let nowhere = store_at(
        &format!("vault+http://127.0.0.1:{}/nomount/app", bao.port()),
        &bao.root_token,
    );
    let err = nowhere.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");
    assert!(
        err.to_string()
            .contains("no secrets engine is mounted at `nomount`"),
        "{err}"
    );

    let store = store(&bao, "deleted");
    store.save(&record(1)).await.unwrap();
    let (status, _) = bao.as_root("DELETE", "secret/data/deleted", None);
    assert_eq!(status, 204);
    let err = store.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("latest version (1)"), "{err}");
    assert!(err.to_string().contains("undelete"), "{err}");
}

#[tokio::test]
async fn the_store_is_built_from_the_url_and_the_environment_and_never_shows_the_token() {
    let bao = dev_server!();
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let err = VaultTokenStore::from_url_and_env("vault+http://127.0.0.1:1/secret/app", env(&[]))
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Invalid);
    assert!(err.to_string().contains("VAULT_TOKEN is not set"), "{err}");
    let err = VaultTokenStore::from_url_and_env(
        "vault+http://127.0.0.1:1/secret/app",
        env(&[("VAULT_TOKEN", "bad token\n")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("VAULT_TOKEN holds"), "{err}");
    assert_no_secret(&all_text(&err), &["bad token"]);

    let addr = bao.addr();
    let token = bao.root_token.clone();
    let store = VaultTokenStore::from_url_and_env("vault:///secret/from-env", |name| match name {
        "VAULT_ADDR" => Some(addr.clone()),
        "VAULT_TOKEN" => Some(token.clone()),
        _ => None,
    })
    .unwrap();
    store.save(&record(1)).await.unwrap();
    assert_eq!(store.load().await.unwrap().unwrap().revision, 1);
    assert_eq!(
        store.location().to_string(),
        format!("vault+http://127.0.0.1:{}/secret/from-env", bao.port())
    );
    let debug = format!("{store:?}");
    assert!(debug.contains("from-env"), "{debug}");
    assert_no_secret(&debug, &[&bao.root_token]);
}

/// A server killed while a writer is busy: the writer gets a typed Io error; after a restart
/// (sealed: an Io error saying so) and the unseal, the record is whole, at the last
/// acknowledged revision or at most the one write in flight after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_mid_write_leaves_the_record_whole() {
    let Some(binary) = bao::binary() else { return };
    let mut bao = Bao::persistent(&binary);
    let store = Arc::new(store_at(
        &format!("vault+http://127.0.0.1:{}/kv/app", bao.port()),
        &bao.root_token,
    ));
    store.save(&record(1)).await.unwrap();

    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut acknowledged = 1u64;
            loop {
                let n = u8::try_from(acknowledged + 1).expect("killed before revision 255");
                let step = async {
                    let mut next = store.load().await?.expect("saved");
                    next.current = StoredToken::new(token(n), time::OffsetDateTime::now_utc());
                    store.save(&next).await
                };
                match step.await {
                    Ok(revision) => {
                        assert_eq!(revision, u64::from(n));
                        acknowledged = revision;
                    }
                    Err(e) => return (e, acknowledged),
                }
            }
        })
    };
    // Let some writes land, then kill the server under the writer.
    let started = std::time::Instant::now();
    while store.load().await.unwrap().unwrap().revision < 5 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    bao.kill();
    let (err, acknowledged) = writer.await.unwrap();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(err.to_string().contains("did not answer"), "{err}");

    bao.restart();
    let err = store.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(err.to_string().contains("sealed"), "{err}");

    bao.unseal();
    let record = store.load().await.unwrap().expect("the record survived");
    // Whole: it decodes, and its token is the one written at its revision.
    let n = u8::try_from(record.revision).unwrap();
    assert_eq!(
        record.current.fingerprint(),
        TokenFingerprint::of(&token(n))
    );
    assert!(
        record.revision == acknowledged || record.revision == acknowledged + 1,
        "revision {} after {acknowledged} acknowledged writes",
        record.revision
    );
}

/// https end to end: trusting the dev server's own CA (as `VAULT_CACERT` does) works; the
/// default webpki roots refuse its certificate, an Io error whose cause is the TLS failure.
#[tokio::test]
async fn https_with_the_servers_own_ca() {
    let Some(binary) = bao::binary() else { return };
    let (bao, ca) = Bao::dev_tls(&binary);
    let url = format!("vault://127.0.0.1:{}/secret/tls", bao.port());
    let root = bao.root_token.clone();
    let ca_path = ca.display().to_string();
    let store = VaultTokenStore::from_url_and_env(&url, |name| match name {
        "VAULT_TOKEN" => Some(root.clone()),
        "VAULT_CACERT" => Some(ca_path.clone()),
        _ => None,
    })
    .unwrap();
    // The port is open; the server may still be mounting `secret/`.
    let started = std::time::Instant::now();
    let saved = loop {
        match store.save(&record(1)).await {
            Ok(revision) => break revision,
            Err(_) if started.elapsed() < std::time::Duration::from_secs(30) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the TLS store never worked: {e:?}"),
        }
    };
    assert_eq!(saved, 1);
    assert_eq!(store.load().await.unwrap().unwrap().revision, 1);

    let webpki_only = store_at(&url, &bao.root_token);
    let err = webpki_only.load().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");

    let err = VaultTokenStore::from_url_and_env(&url, |name| match name {
        "VAULT_TOKEN" => Some(root.clone()),
        "VAULT_CACERT" => Some("/nonexistent/ca.pem".to_owned()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Invalid);
    assert!(err.to_string().contains("VAULT_CACERT"), "{err}");
}

/// A heartbeat of follower `id` holding `token(n)` as current, published `n` seconds after
/// this test binary first asked (whole seconds: the JSON form keeps no more), live for 30 s: a
/// date in the past would be pruned.
fn heartbeat(id: &str, n: u8) -> Heartbeat {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| time::OffsetDateTime::now_utc().unix_timestamp());
    let published_at =
        time::OffsetDateTime::from_unix_timestamp(start + i64::from(n)).expect("a time");
    Heartbeat {
        follower: FollowerId::new(id).expect("a valid id"),
        role: FollowerRole::Client,
        holds: vec![(TokenLabel::Current, TokenFingerprint::of(&token(n)))],
        published_at,
        expires_at: published_at + time::Duration::seconds(30),
    }
}

/// Listing the heartbeats removes those expired longer than the retention (followers gone for
/// good), keys and all, and keeps the others; a token whose policy may not delete them keeps
/// them all without an error.
#[tokio::test]
async fn listing_heartbeats_removes_the_dead_followers_only() {
    let server = dev_server!();
    let bao = &server;
    let keys = || {
        let (status, body) = bao.as_root("LIST", "secret/metadata/prune.followers", None);
        assert_eq!(status, 200, "{body}");
        let mut keys: Vec<String> = body["data"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        keys.sort();
        keys
    };
    let at = |expires_at: time::OffsetDateTime, id: &str| Heartbeat {
        published_at: expires_at - time::Duration::seconds(30),
        expires_at,
        ..heartbeat(id, 1)
    };
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let retention = time::Duration::try_from(twilio_store::HEARTBEAT_RETENTION).unwrap();
    let live = at(now + time::Duration::seconds(30), "live:1:a");
    let expired = at(now - time::Duration::minutes(5), "expired:2:b");
    let dead = at(now - retention - time::Duration::minutes(1), "dead:3:c");
    let follower = store(bao, "prune");
    for beat in [&live, &expired, &dead] {
        follower.publish_heartbeat(beat).await.unwrap();
    }
    assert_eq!(keys(), ["dead:3:c", "expired:2:b", "live:1:a"]);

    // The rotator of the guide's policy without `delete` on the heartbeats' metadata: it
    // lists them (the dead one filtered out), and removes nothing.
    let read_only = bao.token_with_policy(
        "prune-read-only",
        r#"
        path "secret/data/prune.followers/*"    { capabilities = ["read"] }
        path "secret/metadata/prune.followers"  { capabilities = ["list"] }
        "#,
    );
    let listed = |vault_token: String| async move {
        let mut seen = store_with(bao, &vault_token, "prune")
            .heartbeats()
            .await
            .unwrap();
        seen.sort_by(|a, b| a.follower.as_str().cmp(b.follower.as_str()));
        seen
    };
    assert_eq!(listed(read_only).await, [expired.clone(), live.clone()]);
    assert_eq!(keys().len(), 3, "nothing removed without the permission");

    // With it, the dead follower's key is gone, metadata and all; the others stay.
    let rotator = bao.token_with_policy(
        "prune-rotator",
        r#"
        path "secret/data/prune.followers/*"     { capabilities = ["read"] }
        path "secret/metadata/prune.followers"   { capabilities = ["list"] }
        path "secret/metadata/prune.followers/*" { capabilities = ["read", "delete"] }
        "#,
    );
    assert_eq!(listed(rotator.clone()).await, [expired, live.clone()]);
    assert_eq!(keys(), ["expired:2:b", "live:1:a"]);
    let (status, _) = bao.as_root("GET", "secret/metadata/prune.followers/dead:3:c", None);
    assert_eq!(status, 404);

    // A follower that comes back publishes again, and is listed.
    let back = at(now + time::Duration::seconds(30), "dead:3:c");
    follower.publish_heartbeat(&back).await.unwrap();
    let seen = store_with(bao, &rotator, "prune")
        .heartbeats()
        .await
        .unwrap();
    assert!(seen.contains(&back) && seen.contains(&live));
}

#[tokio::test]
async fn heartbeats_are_published_listed_and_replaced() {
    let bao = dev_server!();
    let rotator = store(&bao, "fleet");
    assert!(rotator.heartbeats().await.unwrap().is_empty());

    // Two followers on two "hosts", each with its own handle.
    store(&bao, "fleet")
        .publish_heartbeat(&heartbeat("host-a:101:x1", 1))
        .await
        .unwrap();
    store(&bao, "fleet")
        .publish_heartbeat(&heartbeat("host-b:202:y2", 2))
        .await
        .unwrap();
    let mut seen = rotator.heartbeats().await.unwrap();
    seen.sort_by(|a, b| a.follower.as_str().cmp(b.follower.as_str()));
    assert_eq!(
        seen,
        [heartbeat("host-a:101:x1", 1), heartbeat("host-b:202:y2", 2)]
    );

    // A follower's next heartbeat replaces its last one (last writer wins).
    store(&bao, "fleet")
        .publish_heartbeat(&heartbeat("host-a:101:x1", 3))
        .await
        .unwrap();
    let seen = rotator.heartbeats().await.unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.contains(&heartbeat("host-a:101:x1", 3)));

    // They live next to the record, which they do not touch.
    let (status, body) = bao.as_root("LIST", "secret/metadata/fleet.followers", None);
    assert_eq!(status, 200);
    assert_eq!(body["data"]["keys"].as_array().unwrap().len(), 2);
    assert!(rotator.load().await.unwrap().is_none());

    // Something else written there is a Malformed error naming it.
    let (status, _) = bao.as_root(
        "POST",
        "secret/data/fleet.followers/intruder",
        Some(&json!({"data": {"hello": "world"}})),
    );
    assert_eq!(status, 200);
    let err = rotator.heartbeats().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Malformed, "{err}");
    assert!(
        err.to_string().contains("fleet.followers/intruder"),
        "{err}"
    );
}

/// The rotation lease (generic code over `save`) on Vault: another host is refused while the
/// lease holds, takes it over once it has expired, and the old holder can then write nothing.
#[tokio::test]
async fn the_lease_holds_expires_and_is_taken_over_between_hosts() {
    let bao = dev_server!();
    store(&bao, "lease").save(&record(1)).await.unwrap();
    // Long enough for three calls to a real server on a loaded machine to fit inside it.
    contract::the_lease_is_taken_over_and_the_lost_holder_writes_nothing(
        Arc::new(store(&bao, "lease")),
        Arc::new(store(&bao, "lease")),
        std::time::Duration::from_secs(4),
    )
    .await;
}

/// Two hosts acquiring a free lease at once: exactly one holds it (Vault's check-and-set
/// refuses the other's write, or it sees the winner's lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_hosts_acquiring_at_once_exactly_one_holds_the_lease() {
    let bao = dev_server!();
    for round in 0..5 {
        let path = format!("lease-race-{round}");
        store(&bao, &path).save(&record(1)).await.unwrap();
        let tasks: Vec<_> = ["host-a:1:a", "host-b:2:b"]
            .into_iter()
            .map(|name| {
                let host: Arc<dyn TokenStore> = Arc::new(store(&bao, &path));
                let owner = LeaseOwner::new(name);
                tokio::spawn(async move {
                    LeasedRecord::acquire(host, owner, std::time::Duration::from_secs(60)).await
                })
            })
            .collect();
        let mut holders = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(held) => holders.push(held.expect("the record is stored")),
                Err(e) => assert!(
                    matches!(e.kind(), StoreErrorKind::Conflict | StoreErrorKind::Locked),
                    "round {round}: {e}"
                ),
            }
        }
        assert_eq!(holders.len(), 1, "round {round}: exactly one holder");
        let stored = store(&bao, &path).load().await.unwrap().unwrap();
        assert_eq!(
            stored.lease.map(|l| l.owner),
            Some(holders[0].owner().clone())
        );
    }
}

/// A server that redirects (as a Vault standby node does) is not followed: the token never
/// goes to the other address, and the error says why.
#[tokio::test]
async fn a_redirect_is_never_followed() {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let elsewhere_port = elsewhere.local_addr().unwrap().port();
    elsewhere.set_nonblocking(true).unwrap();
    let redirecting = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = redirecting.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = redirecting.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).unwrap();
        write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{elsewhere_port}/v1/secret/data/app\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
    });
    let store = store_at(
        &format!("vault+http://127.0.0.1:{port}/secret/app"),
        "redirect-test-token",
    );
    let err = store.load().await.unwrap_err();
    server.join().unwrap();
    assert_eq!(err.kind(), StoreErrorKind::Io, "{err}");
    assert!(err.to_string().contains("HTTP 307"), "{err}");
    assert!(
        err.to_string().contains("redirects are not followed"),
        "{err}"
    );
    assert_no_secret(&all_text(&err), &["redirect-test-token"]);
    // Nobody connected to the redirect's target.
    assert_eq!(
        elsewhere.accept().map_err(|e| e.kind()).unwrap_err(),
        std::io::ErrorKind::WouldBlock
    );
}

/// A mount with `cas_required`: the record (always written with check-and-set) works; a
/// heartbeat (written without) is refused with the setting named.
#[tokio::test]
async fn a_mount_requiring_cas_takes_the_record_and_names_the_setting_for_heartbeats() {
    let bao = dev_server!();
    let (status, _) = bao.as_root(
        "POST",
        "secret/config",
        Some(&json!({"cas_required": true})),
    );
    assert_eq!(status, 204);
    let store = store(&bao, "strict");
    assert_eq!(store.save(&record(1)).await.unwrap(), 1);
    let err = store
        .publish_heartbeat(&heartbeat("host-a:1:a", 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Invalid, "{err}");
    assert!(err.to_string().contains("cas_required"), "{err}");
}

/// Hosts that share nothing but the Vault server: four processes of this test binary, each in
/// a working directory of its own and with the store from its own environment, each make 15
/// increments of a counter in the record (read, modify, compare-and-swap; a Conflict is
/// retried). The counter ends at 1 + 4 × 15: no increment lost, none doubled.
#[tokio::test]
async fn processes_sharing_only_the_server_lose_no_write() {
    if let Ok(spec) = std::env::var(contract::CHILD_ENV) {
        let (writes, url) = spec.split_once(' ').expect("WRITES URL");
        let store = VaultTokenStore::from_url(url).unwrap();
        return contract::child_writer(&store, writes.parse().unwrap()).await;
    }
    let bao = dev_server!();
    let url = format!("vault+http://127.0.0.1:{}/secret/hosts", bao.port());
    store(&bao, "hosts").save(&record(1)).await.unwrap();
    const WRITERS: u8 = 4;
    const WRITES: u64 = 15;
    let (conflicts, outputs) = contract::spawn_writers(
        "processes_sharing_only_the_server_lose_no_write",
        WRITERS,
        WRITES,
        &url,
        &[("VAULT_TOKEN", &bao.root_token)],
    );
    for output in &outputs {
        assert_no_secret(output, &[&bao.root_token]);
        for n in 0..=u8::MAX {
            assert_no_secret(output, &[token(n).expose_secret()]);
        }
    }
    let stored = store(&bao, "hosts").load().await.unwrap().unwrap();
    assert_eq!(stored.revision, 1 + u64::from(WRITERS) * WRITES);
    // No increment was lost: a write that did not see the one before it was refused.
    assert_eq!(
        u64::from(contract::counter_of(&stored)),
        1 + u64::from(WRITERS) * WRITES
    );
    eprintln!(
        "{WRITERS} processes, {} writes, {conflicts} conflicts retried",
        stored.revision - 1
    );
}

/// The one follower on Vault: a follower on another "host" picks up a pending token written by
/// the rotator's CAS save and says so in its heartbeat, which the rotator reads (the gate's
/// input).
#[tokio::test]
async fn a_follower_on_another_host_reports_the_pending_token() {
    let bao = dev_server!();
    let rotator = store(&bao, "follow");
    rotator.save(&record(1)).await.unwrap();
    let follower = twilio_store::Follower::new(Arc::new(store(&bao, "follow"))).with_heartbeat(
        FollowerId::new("host-f:9:f").unwrap(),
        FollowerRole::Client,
        std::time::Duration::from_secs(30),
    );
    follower.subscribe(|record| Ok(record.fingerprints()));
    follower.reload().await.unwrap();
    let pending = StoredToken::new(token(2), time::OffsetDateTime::now_utc());
    let held = |beats: &[Heartbeat], fingerprint| {
        beats
            .iter()
            .any(|b| b.follower.as_str() == "host-f:9:f" && b.holds(fingerprint))
    };
    assert!(!held(
        &rotator.heartbeats().await.unwrap(),
        pending.fingerprint()
    ));

    let mut staged = rotator.load().await.unwrap().unwrap();
    staged.pending = Some(pending.clone());
    rotator.save(&staged).await.unwrap();
    follower.reload().await.unwrap();
    let beats = rotator.heartbeats().await.unwrap();
    assert!(held(&beats, pending.fingerprint()), "{beats:?}");
    assert!(held(&beats, TokenFingerprint::of(&token(1))), "{beats:?}");
    assert!(
        beats
            .iter()
            .all(|b| b.is_live_at(time::OffsetDateTime::now_utc()))
    );
}
