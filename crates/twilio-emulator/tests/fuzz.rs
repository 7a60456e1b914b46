//! Property test: arbitrary methods, paths, queries, headers and bodies (authenticated or
//! not) never make the emulator answer 5xx or something that is not a Twilio response,
//! and it keeps serving afterwards.

mod common;

use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use twilio_emulator::Emulator;

/// A runtime with an emulator on it (small body limit, so large bodies hit the 413 path).
fn fixture() -> (Runtime, Emulator) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime
        .block_on(Emulator::builder().max_body_bytes(4096).start())
        .unwrap();
    (runtime, emulator)
}

const PATHS: &[&str] = &[
    "/v1/AuthTokens/Promote",
    "/v1/AuthTokens/Secondary",
    "/v1/Consents/Bulk",
    "/v1/Contacts/Bulk",
    "/v1/Credentials/AWS",
    "/v1/Credentials/AWS/CR0123456789abcdef0123456789abcdef",
    "/v1/Credentials/PublicKeys",
    "/v1/Credentials/PublicKeys/CR0123456789abcdef0123456789abcdef",
    "/v1/Messaging/GeoPermissions",
    "/v1/SafeList/Numbers",
];

/// Characters allowed in a request-target (so the HTTP layer parses it), including `%`.
fn uri_chars() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9/._~%+=&,:;@!$'()*-]{0,80}").unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    path: String,
    query: String,
    auth: u8,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    let method = prop::sample::select(vec!["GET", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"]);
    let path = prop_oneof![
        prop::sample::select(PATHS).prop_map(str::to_owned),
        (prop::sample::select(PATHS), uri_chars()).prop_map(|(p, s)| format!("{p}{s}")),
        uri_chars().prop_map(|s| format!("/{s}")),
    ];
    let query = prop_oneof![Just(String::new()), uri_chars()];
    let content_type = prop::sample::select(vec![
        None,
        Some("application/x-www-form-urlencoded"),
        Some("application/json"),
        Some("text/plain; charset=utf-8"),
    ]);
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        uri_chars().prop_map(String::into_bytes),
        prop::sample::select(vec![
            "Items=%7B%7D".to_owned(),
            "Items=%7B%22contact_id%22%3A1%7D".to_owned(),
            "Permissions=%7B%22country_code%22%3A%22US%22%7D".to_owned(),
            "Credentials=a%3Ab&FriendlyName=x".to_owned(),
            "PhoneNumber=%2B18001234567".to_owned(),
            "SuppressEmailNotification=maybe".to_owned(),
        ])
        .prop_map(String::into_bytes),
        Just(vec![b'a'; 5000]),
    ];
    (method, path, query, 0u8..4, content_type, body).prop_map(
        |(method, path, query, auth, content_type, body)| Case {
            method,
            path,
            query,
            auth,
            content_type,
            body,
        },
    )
}

async fn send(emulator: &Emulator, case: &Case) -> (u16, Option<String>, Vec<u8>) {
    let auth = match case.auth {
        0 => emulator.basic_auth_header(),
        1 => common::basic(emulator.account_sid().as_str(), "wrong"),
        2 => "Basic %%%".to_owned(),
        _ => String::new(),
    };
    let mut head = format!("{} {}", case.method, case.path);
    if !case.query.is_empty() {
        head.push('?');
        head.push_str(&case.query);
    }
    head.push_str(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if !auth.is_empty() {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    if let Some(ct) = case.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", case.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&case.body);

    let mut tcp = tokio::net::TcpStream::connect(emulator.local_addr())
        .await
        .unwrap();
    let _ = tcp.write_all(&bytes).await;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("no answer")
        .ok();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let request_id = text
        .lines()
        .find_map(|l| l.strip_prefix("twilio-request-id: "))
        .map(str::to_owned);
    let body = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| out[i + 4..].to_vec())
        .unwrap_or_default();
    (status, request_id, body)
}

/// Checks one answer: a Twilio response (JSON error body with its status and code, or an
/// empty 204), or the HTTP layer's bare 400 for bytes it cannot parse; never a 5xx.
fn check_answer(
    case: &Case,
    status: u16,
    request_id: Option<String>,
    body: &[u8],
) -> Result<(), TestCaseError> {
    prop_assert!((200..500).contains(&status), "{case:?} -> {status}");
    if request_id.is_some() {
        if status == 204 {
            prop_assert!(body.is_empty());
        } else {
            let json: Value = serde_json::from_slice(body)
                .map_err(|e| TestCaseError::fail(format!("{case:?}: {e}")))?;
            if status >= 400 {
                prop_assert_eq!(&json["status"], &Value::from(status));
                prop_assert!(json["code"].as_u64().is_some());
            }
        }
    } else {
        prop_assert_eq!(status, 400, "{:?}", case);
    }
    Ok(())
}

#[test]
fn arbitrary_requests_never_get_5xx_and_the_emulator_keeps_serving() {
    let (runtime, emulator) = fixture();
    let (runtime, emulator) = (&runtime, &emulator);
    // A fixed seed keeps the run reproducible; change it to explore other inputs.
    let config = ProptestConfig {
        cases: 400,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_7E57),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        let (status, request_id, body) = runtime.block_on(send(emulator, &case));
        check_answer(&case, status, request_id, &body)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }

    // Afterwards, an ordinary request is served as usual.
    let case = Case {
        method: "GET",
        path: "/v1/Credentials/AWS".into(),
        query: String::new(),
        auth: 0,
        content_type: None,
        body: Vec::new(),
    };
    let (status, request_id, _) = runtime.block_on(send(emulator, &case));
    assert_eq!(status, 200);
    assert!(request_id.is_some());
}
