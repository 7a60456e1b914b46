//! Fault knobs: latency, rate limit, injected statuses, connection resets, propagation delay.

mod common;

use std::time::Duration;

use common::{Conn, Env, basic};
use hyper::Method;
use twilio_emulator::{Emulator, Fault, RateLimit};

#[tokio::test]
async fn added_latency_delays_responses() {
    let env = Env::start().await;
    env.emu.faults().set_latency(Duration::from_millis(300));
    assert_eq!(env.emu.faults().latency(), Duration::from_millis(300));
    let start = std::time::Instant::now();
    assert_eq!(env.get("/v1/Credentials/AWS").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    env.emu.faults().set_latency(Duration::ZERO);
    assert_eq!(env.emu.faults().latency(), Duration::ZERO);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let emu = Emulator::builder()
        .rate_limit(RateLimit::new(2, Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let env = Env { emu };
    assert_eq!(env.get("/v1/Credentials/AWS").await.status, 200);
    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);
    let limited = env.post("/v1/AuthTokens/Promote", "").await;
    let body = limited.assert_error(429, 20429);
    assert_eq!(body["message"], "Too Many Requests");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // The refused promotion did not happen.
    assert!(env.emu.secondary_auth_token().is_some());
    env.emu.faults().set_rate_limit(None);
    assert_eq!(env.post("/v1/AuthTokens/Promote", "").await.status, 200);
}

#[tokio::test]
async fn injected_statuses_on_the_next_n_requests() {
    let env = Env::start().await;
    let faults = env.emu.faults();
    faults.inject(Fault::status(503).times(2)).unwrap();
    assert_eq!(faults.pending(), 1);
    for _ in 0..2 {
        let body = env
            .post("/v1/AuthTokens/Secondary", "")
            .await
            .assert_error(503, 20503);
        assert_eq!(body["message"], "Service Unavailable");
    }
    assert!(
        env.emu.secondary_auth_token().is_none(),
        "faults before processing change nothing"
    );
    assert_eq!(faults.pending(), 0);
    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);

    faults.inject(Fault::status(500).times(1)).unwrap();
    env.get("/v1/Credentials/AWS")
        .await
        .assert_error(500, 20500);
    faults.inject(Fault::status(429).times(1)).unwrap();
    let resp = env.get("/v1/Credentials/AWS").await;
    resp.assert_error(429, 20429);
    assert_eq!(resp.header("retry-after"), Some("1"));
    assert!(faults.inject(Fault::status(302)).is_err());
    assert_eq!(env.get("/v1/Credentials/AWS").await.status, 200);
}

#[tokio::test]
async fn filtered_faults_hit_only_their_route() {
    let env = Env::start().await;
    env.emu
        .faults()
        .inject(
            Fault::status(502)
                .on("POST", "/v1/AuthTokens/Promote")
                .times(1),
        )
        .unwrap();
    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);
    assert_eq!(env.get("/v1/Credentials/AWS").await.status, 200);
    env.post("/v1/AuthTokens/Promote", "")
        .await
        .assert_error(502, 20502);
    assert!(env.emu.secondary_auth_token().is_some());
    assert_eq!(env.post("/v1/AuthTokens/Promote", "").await.status, 200);
}

#[tokio::test]
async fn connection_resets_drop_the_connection_without_a_response() {
    let env = Env::start().await;
    let auth = env.auth();
    env.emu.faults().inject(Fault::reset().times(1)).unwrap();
    let mut conn = Conn::open(env.emu.local_addr()).await;
    let result = conn
        .try_send(
            Method::POST,
            "/v1/AuthTokens/Secondary",
            Some(&auth),
            None,
            "",
        )
        .await;
    assert!(
        result.is_err(),
        "expected a dropped connection, got {result:?}"
    );
    assert!(env.emu.secondary_auth_token().is_none());
    // A new connection works.
    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);
}

#[tokio::test]
async fn faults_after_processing_lose_the_response_but_keep_the_change() {
    let env = Env::start().await;
    let faults = env.emu.faults();
    let old = env.emu.auth_token();
    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);
    faults
        .inject(
            Fault::reset()
                .on("POST", "/v1/AuthTokens/Promote")
                .after_processing()
                .times(1),
        )
        .unwrap();
    let auth = env.auth();
    let mut conn = Conn::open(env.emu.local_addr()).await;
    assert!(
        conn.try_send(
            Method::POST,
            "/v1/AuthTokens/Promote",
            Some(&auth),
            None,
            ""
        )
        .await
        .is_err()
    );
    // The promotion happened although the client never heard of it.
    assert_ne!(env.emu.auth_token().expose_secret(), old.expose_secret());
    assert!(env.emu.secondary_auth_token().is_none());

    assert_eq!(env.post("/v1/AuthTokens/Secondary", "").await.status, 201);
    faults
        .inject(
            Fault::status(500)
                .on("POST", "/v1/AuthTokens/Promote")
                .after_processing()
                .times(1),
        )
        .unwrap();
    let before = env.emu.auth_token();
    env.post("/v1/AuthTokens/Promote", "")
        .await
        .assert_error(500, 20500);
    assert_ne!(env.emu.auth_token().expose_secret(), before.expose_secret());
}

#[tokio::test]
async fn faults_at_a_rate_are_reproducible_with_a_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let emu = Emulator::builder()
            .fault_seed(seed)
            .fault(Fault::status(500).probability(0.5))
            .start()
            .await
            .unwrap();
        let mut conn = Conn::open(emu.local_addr()).await;
        let auth = emu.basic_auth_header();
        let mut statuses = Vec::new();
        for _ in 0..100 {
            statuses.push(
                conn.send(Method::GET, "/v1/Credentials/AWS", Some(&auth), None, "")
                    .await
                    .status,
            );
        }
        statuses
    }
    let a = run(11).await;
    assert_eq!(a, run(11).await);
    let failures = a.iter().filter(|&&s| s == 500).count();
    assert!((20..=80).contains(&failures), "{failures}");
    assert!(a.iter().all(|&s| s == 200 || s == 500));
}

#[tokio::test]
async fn reset_at_a_rate_keeps_the_server_healthy() {
    let emu = Emulator::builder()
        .fault_seed(3)
        .fault(Fault::reset().probability(0.3))
        .start()
        .await
        .unwrap();
    let auth = emu.basic_auth_header();
    let (mut ok, mut dropped) = (0, 0);
    for _ in 0..60 {
        let mut conn = Conn::open(emu.local_addr()).await;
        match conn
            .try_send(Method::GET, "/v1/Credentials/AWS", Some(&auth), None, "")
            .await
        {
            Ok(resp) => {
                assert_eq!(resp.status, 200);
                ok += 1;
            }
            Err(_) => dropped += 1,
        }
    }
    assert!(ok > 0 && dropped > 0, "ok {ok}, dropped {dropped}");
    emu.faults().clear();
    assert_eq!(emu.faults().pending(), 0);
    let mut conn = Conn::open(emu.local_addr()).await;
    assert_eq!(conn.get("/v1/Credentials/AWS", &auth).await.status, 200);
    assert_eq!(emu.request_count(), 61);
}

/// An emulator with `delay` as propagation delay and a freshly created secondary token;
/// returns it with the Basic auth of that token.
async fn with_new_secondary(delay: Duration) -> (Env, String) {
    let emu = Emulator::builder()
        .propagation_delay(delay)
        .start()
        .await
        .unwrap();
    let env = Env { emu };
    let created = env.post("/v1/AuthTokens/Secondary", "").await.json();
    let token = created["secondary_auth_token"].as_str().unwrap();
    let auth = basic(env.emu.account_sid().as_str(), token);
    (env, auth)
}

#[tokio::test]
async fn propagation_delay_keeps_a_new_secondary_from_authenticating() {
    let (env, auth) = with_new_secondary(Duration::from_secs(3600)).await;
    let sid = env.emu.account_sid();
    let mut conn = Conn::open(env.emu.local_addr()).await;
    conn.get("/v1/Credentials/AWS", &auth)
        .await
        .assert_error(401, 20003);
    // Promotion still works (authenticated with the primary); the promoted token then works.
    assert_eq!(env.post("/v1/AuthTokens/Promote", "").await.status, 200);
    assert_eq!(conn.get("/v1/Credentials/AWS", &auth).await.status, 200);

    // Without a delay a new secondary works at once.
    env.emu.faults().set_propagation_delay(Duration::ZERO);
    let created = env.post("/v1/AuthTokens/Secondary", "").await.json();
    let token = created["secondary_auth_token"].as_str().unwrap().to_owned();
    let resp = conn
        .get("/v1/Credentials/AWS", &basic(sid.as_str(), &token))
        .await;
    assert_eq!(resp.status, 200);
}

#[tokio::test(start_paused = true)]
async fn propagation_delay_follows_a_paused_tokio_clock() {
    let (env, auth) = with_new_secondary(Duration::from_secs(60)).await;
    let mut conn = Conn::open(env.emu.local_addr()).await;
    conn.get("/v1/Credentials/AWS", &auth)
        .await
        .assert_error(401, 20003);
    // An idle keep-alive connection survives the clock jumping ahead.
    tokio::time::sleep(Duration::from_secs(59)).await;
    conn.get("/v1/Credentials/AWS", &auth)
        .await
        .assert_error(401, 20003);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(conn.get("/v1/Credentials/AWS", &auth).await.status, 200);
    // Latency follows the paused clock too: a minute passes in no real time.
    env.emu.faults().set_latency(Duration::from_secs(60));
    let start = tokio::time::Instant::now();
    assert_eq!(conn.get("/v1/Credentials/AWS", &auth).await.status, 200);
    assert!(start.elapsed() >= Duration::from_secs(60));
}
