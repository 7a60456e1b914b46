//! The command line on an AWS Secrets Manager store (`--store aws-sm://…`): real
//! `twilio-rotate` processes against a real `moto_server` and the emulator, with credentials,
//! region and endpoint from the AWS default chain (the environment). `init` creates the secret,
//! `stage` and `complete` move the AWS staging labels, `status` reads them; a server that does
//! not answer is exit 4. No output holds an Auth Token.

#[path = "../../twilio-store-aws/tests/moto/server.rs"]
mod server;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};
use twilio_emulator::Emulator;
use twilio_store::{RotationPhase, TokenFingerprint, TokenStore};
use twilio_store_aws::{Client, SecretsManagerStore};

use server::Moto;

mod support;
use support::Runs;

fn at<'a>(store: &'a str, base_url: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--store", store, "--base-url", base_url];
    all.extend_from_slice(args);
    all
}

/// The test's own client (another host's).
fn client(moto: &Moto) -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

/// The JSON under `label`, as an AWS-native consumer reads it.
async fn under(client: &Client, label: &str) -> Option<Value> {
    let out = client
        .get_secret_value()
        .secret_id("twilio/prod")
        .version_stage(label)
        .send()
        .await
        .ok()?;
    serde_json::from_str(out.secret_string()?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_stage_complete_status_on_secrets_manager() {
    let Some(launcher) = server::launcher() else {
        return;
    };
    let moto = Moto::start(&launcher);
    let emulator = Emulator::builder().start().await.unwrap();
    let url = emulator.base_url();
    let sid = emulator.account_sid();
    let first = emulator.auth_token();
    let native = |token: &str| json!({"account_sid": sid.as_str(), "auth_token": token});
    let store = "aws-sm://twilio/prod";
    let owned = moto.env();
    let env: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut init_env = env.clone();
    init_env.push(("TWILIO_ACCOUNT_SID", sid.as_str()));
    init_env.push(("TWILIO_AUTH_TOKEN", first.expose_secret()));
    let raw = client(&moto);
    let other_host = SecretsManagerStore::with_client("twilio/prod", client(&moto)).unwrap();
    let mut secrets = vec![first.expose_secret().to_owned()];
    let mut runs = Runs::default();

    runs.run(
        &at(store, &url, &["status"]),
        &env,
        2,
        &["is empty", "init"],
    );

    // init creates the secret: AWSCURRENT is the token, in the form AWS-native readers use.
    runs.run(
        &at(store, &url, &["init"]),
        &init_env,
        0,
        &["Twilio accepts it"],
    );
    assert_eq!(
        under(&raw, "AWSCURRENT").await,
        Some(native(first.expose_secret()))
    );
    runs.run(
        &at(store, &url, &["init"]),
        &init_env,
        2,
        &["already exists"],
    );
    assert_eq!(other_host.load().await.unwrap().unwrap().revision, 1);

    // stage: the new token is AWSPENDING (both work); status says so.
    runs.run(&at(store, &url, &["stage"]), &env, 0, &["staged"]);
    let staged = emulator.secondary_auth_token().expect("staged");
    secrets.push(staged.expose_secret().to_owned());
    assert_eq!(
        under(&raw, "AWSPENDING").await,
        Some(native(staged.expose_secret()))
    );
    assert_eq!(
        under(&raw, "AWSCURRENT").await,
        Some(native(first.expose_secret()))
    );
    runs.run(
        &at(store, &url, &["status"]),
        &env,
        0,
        &["both tokens work", "aws-sm://twilio/prod"],
    );

    // complete: AWSCURRENT is the promoted token, AWSPREVIOUS the old one, no AWSPENDING.
    runs.run(
        &at(store, &url, &["complete", "--force"]),
        &env,
        0,
        &["rotated"],
    );
    assert_eq!(
        emulator.auth_token().expose_secret(),
        staged.expose_secret()
    );
    assert_eq!(
        under(&raw, "AWSCURRENT").await,
        Some(native(staged.expose_secret()))
    );
    assert_eq!(
        under(&raw, "AWSPREVIOUS").await,
        Some(native(first.expose_secret()))
    );
    assert_eq!(under(&raw, "AWSPENDING").await, None);
    let stored = other_host.load().await.unwrap().unwrap();
    assert_eq!(stored.current.fingerprint(), TokenFingerprint::of(&staged));
    assert_eq!(stored.phase, RotationPhase::Idle);
    runs.run(
        &at(store, &url, &["status"]),
        &env,
        0,
        &["Twilio accepts the current token"],
    );

    // A whole rotation in one run.
    runs.run(
        &at(store, &url, &["rotate", "--grace", "0"]),
        &env,
        0,
        &["rotated"],
    );
    let third = emulator.auth_token();
    secrets.push(third.expose_secret().to_owned());
    assert_eq!(
        under(&raw, "AWSCURRENT").await,
        Some(native(third.expose_secret()))
    );

    // A server that does not answer is exit 4 (run it again later).
    let mut down = env.clone();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{closed}");
    down.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    down.push(("AWS_ENDPOINT_URL", nowhere.as_str()));
    runs.run(
        &at(store, &url, &["status"]),
        &down,
        4,
        &["could not be reached"],
    );
    // No credentials anywhere in the chain: a person must act (2), and the message says what.
    let endpoint = moto.endpoint();
    runs.run(
        &at(store, &url, &["status"]),
        &[("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", &endpoint)],
        2,
        &[
            "could not be sent",
            "no providers in chain provided credentials",
        ],
    );
    // A bad secret id is a usage error, refused before anything runs.
    runs.run(
        &at("aws-sm://has space", &url, &["status"]),
        &env,
        2,
        &["SECRET-ID"],
    );

    runs.assert_none_holds(&secrets);
    emulator.shutdown().await;
}
