//! The opt-in test endpoints (`EmulatorBuilder::test_endpoints`, `--test-endpoints`):
//! `GET /__emulator/tokens` names the main account's tokens by fingerprint only, `PUT
//! /__emulator/latency?ms=N` sets the latency; both are off by default and never touch the
//! request count, the latency or the fault rules.

mod common;

use std::time::Duration;

use common::{Conn, Env};
use hyper::Method;
use twilio_emulator::{Emulator, Fault};
use twilio_store::TokenFingerprint;

async fn with_test_endpoints() -> Env {
    let emu = Emulator::builder()
        .test_endpoints(true)
        .start()
        .await
        .unwrap();
    Env { emu }
}

/// An unauthenticated request, as a test in another process sends it.
async fn seam(env: &Env, method: Method, path: &str) -> common::Resp {
    Conn::open(env.emu.local_addr())
        .await
        .send(method, path, None, None, "")
        .await
}

fn fingerprint(token: &twilio_types::AuthToken) -> String {
    TokenFingerprint::of(token).to_string()
}

#[tokio::test]
async fn tokens_follows_a_rotation_by_fingerprint_only() {
    let env = with_test_endpoints().await;
    let first = env.emu.auth_token();

    let resp = seam(&env, Method::GET, "/__emulator/tokens").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let body = resp.json();
    assert_eq!(body["account_sid"], env.emu.account_sid().as_str());
    assert_eq!(body["primary"], fingerprint(&first));
    assert!(body["secondary"].is_null(), "{body}");

    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);
    let secondary = env.emu.secondary_auth_token().unwrap();
    let resp = seam(&env, Method::GET, "/__emulator/tokens").await;
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    let body = resp.json();
    assert_eq!(body["primary"], fingerprint(&first));
    assert_eq!(body["secondary"], fingerprint(&secondary));
    for token in [&first, &secondary] {
        assert!(!text.contains(token.expose_secret()), "a token in {text}");
    }

    assert_eq!(env.post("/v1/AuthTokens/Promote", "").await.status, 200);
    let body = seam(&env, Method::GET, "/__emulator/tokens").await.json();
    assert_eq!(body["primary"], fingerprint(&secondary));
    assert!(body["secondary"].is_null(), "{body}");
}

#[tokio::test]
async fn latency_sets_the_added_latency() {
    let env = with_test_endpoints().await;
    let resp = seam(&env, Method::PUT, "/__emulator/latency?ms=300").await;
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert_eq!(env.emu.faults().latency(), Duration::from_millis(300));
    let start = std::time::Instant::now();
    assert_eq!(env.get("/v1/Credentials/AWS").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    // The seam itself is never delayed, so it can turn the latency back off at once.
    let start = std::time::Instant::now();
    let resp = seam(&env, Method::PUT, "/__emulator/latency?ms=0").await;
    assert_eq!(resp.status, 204);
    assert!(start.elapsed() < Duration::from_millis(300));
    assert_eq!(env.emu.faults().latency(), Duration::ZERO);
}

#[tokio::test]
async fn bad_requests_get_twilio_style_errors() {
    let env = with_test_endpoints().await;
    for path in [
        "/__emulator/latency",
        "/__emulator/latency?ms=",
        "/__emulator/latency?ms=soon",
        "/__emulator/latency?ms=-5",
        "/__emulator/latency?ms=%zz",
        "/__emulator/latency?ms=99999999999999999999999",
    ] {
        seam(&env, Method::PUT, path).await.assert_error(400, 20001);
    }
    let wrong = seam(&env, Method::POST, "/__emulator/tokens").await;
    wrong.assert_error(405, 20004);
    assert_eq!(wrong.header("allow"), Some("GET"));
    seam(&env, Method::GET, "/__emulator/latency")
        .await
        .assert_error(405, 20004);
    seam(&env, Method::GET, "/__emulator/other")
        .await
        .assert_error(404, 20404);
    assert_eq!(env.emu.faults().latency(), Duration::ZERO);
}

#[tokio::test]
async fn seams_bypass_faults_and_the_request_count() {
    let env = with_test_endpoints().await;
    env.emu.faults().inject(Fault::status(503)).unwrap();
    assert_eq!(
        seam(&env, Method::GET, "/__emulator/tokens").await.status,
        200
    );
    assert_eq!(
        seam(&env, Method::PUT, "/__emulator/latency?ms=1")
            .await
            .status,
        204
    );
    assert_eq!(env.emu.request_count(), 0);
    assert_eq!(env.get("/v1/Credentials/AWS").await.status, 503);
    assert_eq!(env.emu.request_count(), 1);
}

#[tokio::test]
async fn off_by_default() {
    let env = Env::start().await;
    // Without the option the paths are ordinary (unknown, unauthenticated) requests.
    seam(&env, Method::GET, "/__emulator/tokens")
        .await
        .assert_error(401, 20003);
    env.get("/__emulator/tokens").await.assert_error(404, 20404);
    seam(&env, Method::PUT, "/__emulator/latency?ms=300")
        .await
        .assert_error(401, 20003);
    assert_eq!(env.emu.faults().latency(), Duration::ZERO);
}
