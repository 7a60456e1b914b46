//! The command line on a Vault/OpenBao store (`--store vault+http://…`): real `twilio-rotate`
//! processes against a real OpenBao dev server and the emulator. `init` writes the record with
//! check-and-set against "nothing stored", `status`, `rotate`, a rotation killed while staged
//! and finished by `resume`, and what an operator meets when the server is down, the token is
//! missing or its policy forbids the call. No output holds a Vault token or an Auth Token.

// The store crate's helper starts the servers; these tests use part of it.
#[allow(dead_code)]
#[path = "../../twilio-store/tests/vault/bao.rs"]
mod bao;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twilio_emulator::Emulator;
use twilio_store::vault::VaultTokenStore;
use twilio_store::{RotationPhase, TokenFingerprint, TokenRecord, TokenStore};

use bao::Bao;

mod support;
use support::{Runs, command, text};

/// `--store STORE --base-url URL ARGS`.
fn at<'a>(store: &'a str, base_url: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--store", store, "--base-url", base_url];
    all.extend_from_slice(args);
    all
}

/// The record as another host reads it.
async fn record(store: &VaultTokenStore) -> TokenRecord {
    store.load().await.expect("load").expect("a record")
}

/// The emulator's secondary token (one this test must never see printed).
fn secondary(emulator: &Emulator) -> String {
    let token = emulator.secondary_auth_token().expect("staged");
    token.expose_secret().to_owned()
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_status_rotate_resume_on_openbao() {
    let Some(binary) = bao::binary() else { return };
    let bao = Bao::dev(&binary);
    let emulator = Emulator::builder().start().await.unwrap();
    let url = emulator.base_url();
    let sid = emulator.account_sid();
    let first = emulator.auth_token();
    let store = format!("vault+http://127.0.0.1:{}/secret/twilio/prod", bao.port());
    let mut secrets = vec![bao.root_token.clone(), first.expose_secret().to_owned()];
    let vault = [("VAULT_TOKEN", bao.root_token.as_str())];
    let init_env = [
        ("VAULT_TOKEN", bao.root_token.as_str()),
        ("TWILIO_ACCOUNT_SID", sid.as_str()),
        ("TWILIO_AUTH_TOKEN", first.expose_secret()),
    ];
    // The test's own view of the record: another host's handle on the same secret.
    let other_host = VaultTokenStore::from_url_and_env(&store, |name| {
        (name == "VAULT_TOKEN").then(|| bao.root_token.clone())
    })
    .unwrap();
    let mut runs = Runs::default();

    // Before init: an empty secret, and the way to fill it.
    runs.run(
        &at(&store, &url, &["status"]),
        &vault,
        2,
        &["is empty", "init"],
    );
    runs.run(
        &at(&store, &url, &["init"]),
        &init_env[1..],
        2,
        &["VAULT_TOKEN is not set"],
    );
    assert!(other_host.load().await.unwrap().is_none());

    // init: a check-and-set write against "nothing stored"; never over an existing record.
    runs.run(
        &at(&store, &url, &["init"]),
        &init_env,
        0,
        &["Twilio accepts it"],
    );
    let (status, raw) = bao.as_root("GET", "secret/data/twilio/prod", None);
    assert_eq!(status, 200);
    assert_eq!(raw["data"]["metadata"]["version"], 1);
    assert_eq!(
        raw["data"]["data"]["current"]["token"],
        first.expose_secret()
    );
    runs.run(
        &at(&store, &url, &["init"]),
        &init_env,
        2,
        &["already exists", "init --force"],
    );
    runs.run(
        &at(&store, &url, &["init", "--force"]),
        &init_env,
        0,
        &["Twilio accepts it"],
    );
    assert_eq!(record(&other_host).await.revision, 2, "one CAS write");
    runs.run(
        &at(&store, &url, &["status"]),
        &vault,
        0,
        &[
            "Twilio accepts the current token",
            "vault+http://127.0.0.1:",
            // No follower has published: an empty list, not an error.
            "\nfollowers: 0 heartbeat(s), 0 live\n",
        ],
    );

    // A whole rotation; the record in Vault holds the token Twilio now accepts.
    runs.run(
        &at(&store, &url, &["rotate", "--grace", "0"]),
        &vault,
        0,
        &["rotated"],
    );
    let second = emulator.auth_token();
    secrets.push(second.expose_secret().to_owned());
    assert_ne!(second.expose_secret(), first.expose_secret());
    let stored = record(&other_host).await;
    assert_eq!(stored.current.fingerprint(), TokenFingerprint::of(&second));
    assert_eq!(stored.phase, RotationPhase::Idle);

    // A rotation killed during its grace: `status` says staged, `resume` from another process
    // finishes it with the grace the run recorded (3 s).
    let mut rotating = command(&at(&store, &url, &["rotate", "--grace", "3"]), &vault)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_staged(&other_host, &mut rotating).await;
    rotating.kill().unwrap();
    rotating.wait().unwrap();
    let staged = emulator.secondary_auth_token().expect("staged");
    secrets.push(staged.expose_secret().to_owned());
    runs.run(
        &at(&store, &url, &["status"]),
        &vault,
        0,
        &["both tokens work"],
    );
    let resumed = runs.run(&at(&store, &url, &["--json", "resume"]), &vault, 0, &[]);
    let resumed: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(resumed["state"], "Rotated", "{resumed}");
    assert_eq!(
        emulator.auth_token().expose_secret(),
        staged.expose_secret()
    );
    assert_eq!(
        record(&other_host).await.current.fingerprint(),
        TokenFingerprint::of(&staged)
    );

    // stage and complete as two runs.
    runs.run(&at(&store, &url, &["stage"]), &vault, 0, &["staged"]);
    secrets.push(secondary(&emulator));
    runs.run(
        &at(&store, &url, &["complete", "--force"]),
        &vault,
        0,
        &["rotated"],
    );
    secrets.push(emulator.auth_token().expose_secret().to_owned());
    assert_eq!(
        record(&other_host).await.current.fingerprint(),
        TokenFingerprint::of(&emulator.auth_token())
    );

    // A token that may use the record but not list the followers' heartbeats: the fleet gate
    // cannot see the fleet, so `complete` does not promote and every later run would stop
    // there too: exit 2, with the policy to grant (not 3 "run resume"), or promote anyway.
    let no_list = bao.token_with_policy(
        "record-only",
        r#"path "secret/data/twilio/prod" { capabilities = ["create", "read", "update"] }
path "secret/metadata/twilio/prod" { capabilities = ["read"] }"#,
    );
    secrets.push(no_list.clone());
    let no_list_env = [("VAULT_TOKEN", no_list.as_str())];
    runs.run(&at(&store, &url, &["stage"]), &vault, 0, &["staged"]);
    secrets.push(secondary(&emulator));
    let gate = runs.run(
        &at(&store, &url, &["complete", "--force", "--max-wait", "1"]),
        &no_list_env,
        2,
        &[
            "not promoted, nothing changed",
            "cannot read the followers' heartbeats",
            "permission denied",
            "`list` on `secret/metadata/twilio/prod.followers`",
            "--gate-policy promote-anyway",
        ],
    );
    assert!(!text(&gate).contains("resume`"), "{}", text(&gate));
    assert_eq!(record(&other_host).await.phase, RotationPhase::Staged);
    runs.run(
        &at(
            &store,
            &url,
            &[
                "complete",
                "--force",
                "--max-wait",
                "1",
                "--gate-policy",
                "promote-anyway",
            ],
        ),
        &no_list_env,
        0,
        &["rotated"],
    );
    secrets.push(emulator.auth_token().expose_secret().to_owned());

    // A token that may read the record and see the fleet but not write: `complete` stops at
    // its first write (the lease) with the record as it was: 2, a person must act, and the
    // staged secondary is not called gone.
    let read_only = bao.token_with_policy(
        "read-only",
        r#"path "secret/data/twilio/prod" { capabilities = ["read"] }
path "secret/metadata/twilio/prod" { capabilities = ["read"] }
path "secret/metadata/twilio/prod.followers" { capabilities = ["list"] }
path "secret/data/twilio/prod.followers/*" { capabilities = ["read"] }"#,
    );
    secrets.push(read_only.clone());
    runs.run(&at(&store, &url, &["stage"]), &vault, 0, &["staged"]);
    secrets.push(secondary(&emulator));
    let staged = record(&other_host).await;
    let refused = runs.run(
        &at(&store, &url, &["complete", "--force"]),
        &[("VAULT_TOKEN", read_only.as_str())],
        2,
        &[
            "permission denied",
            "this run left no secondary token behind",
        ],
    );
    assert!(
        !text(&refused).contains("no secondary token is left,"),
        "{}",
        text(&refused)
    );
    let after = record(&other_host).await;
    assert_eq!(after.phase, RotationPhase::Staged);
    assert_eq!(after.revision, staged.revision);
    runs.run(
        &at(&store, &url, &["complete", "--force"]),
        &vault,
        0,
        &["rotated"],
    );
    secrets.push(emulator.auth_token().expose_secret().to_owned());

    // What an operator meets, each with its exit code: a server that does not answer is 4
    // (run it again later); a token whose policy forbids the call, or a URL that would send
    // the token in clear across a network, is 2 (a person must act).
    let down = format!(
        "vault+http://127.0.0.1:{}/secret/twilio/prod",
        closed_port()
    );
    runs.run(
        &at(&down, &url, &["status"]),
        &vault,
        4,
        &["did not answer"],
    );
    runs.run(
        &at(&down, &url, &["init"]),
        &init_env,
        4,
        &["did not answer"],
    );
    runs.run(
        &at(&down, &url, &["rotate", "--grace", "0"]),
        &vault,
        4,
        &["did not answer"],
    );
    let reader = bao.token_with_policy(
        "elsewhere",
        r#"path "secret/data/elsewhere" { capabilities = ["read"] }"#,
    );
    secrets.push(reader.clone());
    let denied = runs.run(
        &at(&store, &url, &["rotate", "--grace", "0"]),
        &[("VAULT_TOKEN", reader.as_str())],
        2,
        &["permission denied", "policy"],
    );
    assert!(!text(&denied).contains("chmod"), "{}", text(&denied));
    runs.run(
        &at(
            "vault+http://vault.example.com/secret/twilio/prod",
            &url,
            &["status"],
        ),
        &vault,
        2,
        &["loopback"],
    );

    // A token pasted into the URL is refused without being repeated (clap would echo it).
    let pasted = format!("hvs.{}", bao::random_id());
    let in_url = format!("vault://{pasted}@vault.example.com/secret/twilio/prod");
    runs.run(
        &at(&in_url, &url, &["status"]),
        &vault,
        2,
        &["carries no credentials", "VAULT_TOKEN"],
    );
    runs.run(
        &["status"],
        &[("TWILIO_ROTATE_STORE", in_url.as_str())],
        2,
        &["carries no credentials"],
    );
    runs.run(
        &["--help"],
        &[("TWILIO_ROTATE_STORE", in_url.as_str())],
        0,
        &["--store"],
    );
    secrets.push(pasted);

    runs.assert_none_holds(&secrets);
    emulator.shutdown().await;
}

/// Waits until the record in Vault says staged (the rotating child still running).
async fn wait_until_staged(store: &VaultTokenStore, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "rotate ended early");
        if let Ok(Some(record)) = store.load().await
            && record.phase == RotationPhase::Staged
        {
            return;
        }
        assert!(Instant::now() < deadline, "never staged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
