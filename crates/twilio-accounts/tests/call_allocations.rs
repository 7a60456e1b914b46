//! Heap allocations of one whole SDK call, `client.secondary_auth_token().create().send()`
//! (request building, the tower stack, response checks and decoding), over an in-memory
//! transport that answers at once with a realistic body.
//!
//! A plain `main` (`harness = false`) so that no test-harness thread allocates while the
//! counting region is open. The ceiling is the count measured before issue 9 (decoding through
//! `serde_json::Value`, the hand-written retry service): a change to the call's path may not
//! allocate more than that (`docs/benchmarks.md` has the figures).

use std::alloc::System;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use twilio_accounts::{Client, Credentials};
use twilio_types::{AccountSid, AuthToken};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations per call before issue 9, measured with this program on that code.
const BEFORE: usize = 27;
/// What one call allocates now (the retry layer's copy doubles as the 401 re-send's, a fixed path
/// is never copied; three of these are the custom transport's type erasure, which the default
/// transport does not need): a change that adds one fails here.
const NOW: usize = 13;

const BODY: &[u8] = br#"{"account_sid":"AC0123456789abcdef0123456789abcdef","date_created":"2015-07-31T04:00:00Z","date_updated":"2015-07-31T04:00:00Z","secondary_auth_token":"fedcba9876543210fedcba9876543210","url":"https://accounts.twilio.com/v1/AuthTokens/Secondary"}"#;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let transport = tower::service_fn(|_request: Request<Bytes>| async {
        Ok::<_, std::convert::Infallible>(
            Response::builder()
                .status(201)
                .header("content-type", "application/json; charset=utf-8")
                .header("twilio-request-id", "RQ0123456789abcdef0123456789abcdef")
                .body(Full::new(Bytes::from_static(BODY)))
                .unwrap(),
        )
    });
    let credentials = Credentials::from_auth_token(
        AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
        AuthToken::new("0123456789abcdef0123456789abcdef").unwrap(),
    )
    .unwrap();
    let client = Client::builder()
        .credentials(credentials)
        .read_environment(false)
        .transport(transport)
        .build()
        .unwrap();
    let call = || async {
        let token = client.secondary_auth_token().create().send().await.unwrap();
        assert!(token.secondary_auth_token.is_some());
    };
    runtime.block_on(async {
        for _ in 0..10 {
            call().await; // warm-up: lazily initialised state (tracing callsites, timers)
        }
    });
    const CALLS: usize = 100;
    let region = Region::new(GLOBAL);
    runtime.block_on(async {
        for _ in 0..CALLS {
            call().await;
        }
    });
    let stats = region.change();
    let per_call = stats.allocations / CALLS;
    println!(
        "one call: {per_call} allocations, {} bytes (before issue 9: {BEFORE} allocations)",
        stats.bytes_allocated / CALLS
    );
    assert!(
        per_call <= NOW,
        "a call allocates {per_call} times, more than the {NOW} it did (and {BEFORE} before issue 9)"
    );
}
