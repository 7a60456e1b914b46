//! Malformed and hostile requests over raw TCP: each gets the documented error, nothing
//! panics or answers 5xx, state is untouched, and the emulator keeps serving.

mod common;

use std::time::Duration;

use common::basic;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twilio_emulator::Emulator;

/// Writes `request`, reads until the server closes, returns (status, body).
async fn raw(emu: &Emulator, request: &[u8]) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    // The server may answer and close before reading everything (e.g. 413): ignore write errors.
    let _ = tcp.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "server neither answered nor closed for {:?}",
        String::from_utf8_lossy(&request[..request.len().min(200)])
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn twilio_error(status: u16, body: &str, want_status: u16, want_code: u64, case: &str) {
    assert_eq!(status, want_status, "{case}: {body}");
    let json: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{case}: not JSON ({e}): {body}"));
    assert_eq!(json["code"], want_code, "{case}: {json}");
    assert_eq!(json["status"], want_status, "{case}: {json}");
}

#[tokio::test]
async fn hostile_requests_get_twilio_errors_and_the_server_keeps_serving() {
    let emu = Emulator::builder()
        .max_body_bytes(64 * 1024)
        .start()
        .await
        .unwrap();
    let auth = emu.basic_auth_header();
    let sid = emu.account_sid();
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let long_auth = format!("Basic {}", "A".repeat(8000));
    let nul_user = basic("\u{0}", "x");
    let wrong_token = basic(sid.as_str(), "wrong");
    let empty_token = basic(sid.as_str(), "");
    let sk_unknown = basic("SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x");
    let big_body = vec![b'x'; 64 * 1024 + 1];
    let long_path = format!("/v1/{}", "a".repeat(6000));
    let many_items: String = (0..2000).map(|i| format!("Items=%7B%7D{i}&")).collect();

    // (case, request bytes, expected status, expected Twilio code)
    let cases: Vec<(&str, Vec<u8>, u16, u64)> = vec![
        ("no auth", request("GET", "/v1/Credentials/AWS", &[], b""), 401, 20003),
        ("bearer", request("GET", "/v1/Credentials/AWS", &[("Authorization", "Bearer abc")], b""), 401, 20003),
        ("basic no creds", request("GET", "/v1/Credentials/AWS", &[("Authorization", "Basic")], b""), 401, 20003),
        ("basic bad base64", request("GET", "/v1/Credentials/AWS", &[("Authorization", "Basic !!!*")], b""), 401, 20003),
        ("basic no colon", request("GET", "/v1/Credentials/AWS", &[("Authorization", "Basic YWJj")], b""), 401, 20003),
        ("basic huge", request("GET", "/v1/Credentials/AWS", &[("Authorization", &long_auth)], b""), 401, 20003),
        ("nul user", request("GET", "/v1/Credentials/AWS", &[("Authorization", &nul_user)], b""), 401, 20003),
        ("wrong token", request("POST", "/v1/AuthTokens/Secondary", &[("Authorization", &wrong_token)], b""), 401, 20003),
        ("empty token", request("POST", "/v1/AuthTokens/Promote", &[("Authorization", &empty_token)], b""), 401, 20003),
        ("unknown key", request("GET", "/v1/Credentials/AWS", &[("Authorization", &sk_unknown)], b""), 401, 20003),
        ("unknown path", request("GET", "/v1/Accounts", &[("Authorization", &auth)], b""), 404, 20404),
        ("root", request("GET", "/", &[("Authorization", &auth)], b""), 404, 20404),
        ("long path", request("GET", &long_path, &[("Authorization", &auth)], b""), 404, 20404),
        ("dot segments", request("GET", "/v1/Credentials/AWS/../AWS", &[("Authorization", &auth)], b""), 404, 20404),
        ("encoded path", request("GET", "/v1/Credentials/%41WS", &[("Authorization", &auth)], b""), 404, 20404),
        ("bad sid", request("GET", "/v1/Credentials/AWS/CR123", &[("Authorization", &auth)], b""), 404, 20404),
        ("sid wrong prefix", request("DELETE", "/v1/Credentials/AWS/GN0123456789abcdef0123456789abcdef", &[("Authorization", &auth)], b""), 404, 20404),
        ("sid too long", request("GET", "/v1/Credentials/PublicKeys/CR0123456789abcdef0123456789abcdef0", &[("Authorization", &auth)], b""), 404, 20404),
        ("unknown method", request("BREW", "/v1/AuthTokens/Secondary", &[("Authorization", &auth)], b""), 405, 20004),
        ("wrong method", request("GET", "/v1/AuthTokens/Secondary", &[("Authorization", &auth)], b""), 405, 20004),
        ("wrong content type", request("POST", "/v1/SafeList/Numbers", &[("Authorization", &auth), ("Content-Type", "text/plain")], b"PhoneNumber=%2B18001234567"), 415, 20001),
        ("json body", request("POST", "/v1/Credentials/AWS", &[("Authorization", &auth), ("Content-Type", "application/json")], b"{\"Credentials\":\"a:b\"}"), 415, 20001),
        ("invalid utf-8", request("POST", "/v1/SafeList/Numbers", &[("Authorization", &auth), form], b"PhoneNumber=\xc3\x28"), 400, 20001),
        ("bad escape", request("POST", "/v1/Credentials/AWS", &[("Authorization", &auth), form], b"Credentials=%G1"), 400, 20001),
        ("bad query", request("GET", "/v1/SafeList/Numbers?PhoneNumber=%", &[("Authorization", &auth)], b""), 400, 20001),
        ("binary body", request("POST", "/v1/Consents/Bulk", &[("Authorization", &auth), form], &[0, 1, 2, 3, 255, 254]), 400, 20001),
        ("too many items", request("POST", "/v1/Consents/Bulk", &[("Authorization", &auth), form], many_items.as_bytes()), 400, 20001),
        ("nested json items", request("POST", "/v1/Contacts/Bulk", &[("Authorization", &auth), form], format!("Items={}", "%5B".repeat(5000)).as_bytes()), 400, 20001),
        ("body over limit", request("POST", "/v1/Credentials/AWS", &[("Authorization", &auth), form], &big_body), 413, 20001),
        ("announced huge body", b"POST /v1/Credentials/AWS HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc".to_vec(), 413, 20001),
        ("huge chunked body", {
            let mut r = b"POST /v1/Credentials/AWS HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n".to_vec();
            r.extend_from_slice(format!("Authorization: {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n").as_bytes());
            for _ in 0..80 {
                r.extend_from_slice(b"400\r\n");
                r.extend_from_slice(&[b'a'; 1024]);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        }, 413, 20001),
        ("negative page size", request("GET", "/v1/Credentials/AWS?PageSize=-5", &[("Authorization", &auth)], b""), 400, 20001),
        ("page size overflow", request("GET", "/v1/Credentials/AWS?PageSize=99999999999999999999999", &[("Authorization", &auth)], b""), 400, 20007),
        ("absurd page token", request("GET", "/v1/Credentials/AWS?PageToken=PA18446744073709551615", &[("Authorization", &auth)], b""), 200, 0),
    ];

    for (case, bytes, want_status, want_code) in &cases {
        let (status, body) = raw(&emu, bytes).await;
        if *want_status == 200 {
            assert_eq!(status, 200, "{case}: {body}");
        } else {
            twilio_error(status, &body, *want_status, *want_code, case);
        }
    }

    // Not HTTP at all, or broken HTTP: the HTTP layer answers a 4xx (or just closes);
    // never a 5xx, never a hang, and the server carries on.
    let garbage: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\x03garbage\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            (0..200)
                .map(|i| format!("X-{i}: y\r\n"))
                .collect::<String>()
        )
        .into_bytes(),
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(1_000_000)).into_bytes(),
        // Announced body never sent in full: the client gives up.
        b"POST /v1/AuthTokens/Secondary HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"
            .to_vec(),
    ];
    for bytes in &garbage {
        let mut tcp = tokio::net::TcpStream::connect(emu.local_addr())
            .await
            .unwrap();
        let _ = tcp.write_all(bytes).await;
        let _ = tcp.shutdown().await;
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
        assert!(
            read.is_ok(),
            "hung on {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
        );
        let text = String::from_utf8_lossy(&out);
        if let Some(code) = text.strip_prefix("HTTP/1.1 ").and_then(|r| r.get(..1)) {
            assert_eq!(
                code,
                "4",
                "{:?} -> {text}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
            );
        }
    }

    // State untouched by all of the above; the server still serves normally.
    let snapshot = emu.snapshot();
    assert!(snapshot.secondary_auth_token().is_none());
    assert!(snapshot.aws_credentials().is_empty());
    assert!(snapshot.safelist().is_empty());
    assert!(snapshot.consents().is_empty());
    assert!(snapshot.contacts().is_empty());
    let (status, body) = raw(
        &emu,
        &request(
            "POST",
            "/v1/AuthTokens/Secondary",
            &[("Authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(emu.secondary_auth_token().is_some());
}

/// Writes `request`, reads until the server closes; returns the head and the body.
async fn raw_exchange(emu: &Emulator, request: &[u8]) -> (String, String) {
    let mut tcp = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let _ = tcp.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "server neither answered nor closed");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

/// Requests the HTTP layer refuses before routing (an oversized URI or head, bytes that are
/// not HTTP) still get Twilio's JSON error body, a request id and `Connection: close`.
#[tokio::test]
async fn refused_heads_get_twilio_error_bodies_and_close() {
    let emu = Emulator::start().await.unwrap();
    let auth = emu.basic_auth_header();
    let many_headers: String = (0..101).map(|i| format!("X-{i}: y\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16, u64)> = vec![
        (
            "more than 100 headers",
            format!("GET /v1/Credentials/AWS HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            431,
            20431,
        ),
        (
            "a head over the buffer",
            format!("GET /v1/Credentials/AWS HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(500 * 1024)).into_bytes(),
            431,
            20431,
        ),
        (
            "a URI over 64 KiB",
            format!("GET /v1/Credentials/AWS?PageSize={} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n", "1".repeat(70_000)).into_bytes(),
            414,
            20414,
        ),
        (
            "not HTTP",
            b"\x00\x01\x02\x03garbage\r\n\r\n".to_vec(),
            400,
            20001,
        ),
    ];
    for (case, bytes, want_status, want_code) in cases {
        let (head, body) = raw_exchange(&emu, &bytes).await;
        assert!(
            head.starts_with(&format!("HTTP/1.1 {want_status} ")),
            "{case}: {head}"
        );
        let head_lower = head.to_ascii_lowercase();
        for expected in [
            "\r\nconnection: close",
            "\r\ncontent-type: application/json",
            "\r\ntwilio-request-id: rq",
        ] {
            assert!(
                head_lower.contains(expected),
                "{case}: {expected:?} missing in {head}"
            );
        }
        twilio_error(want_status, &body, want_status, want_code, case);
    }
    // The server carries on.
    let (status, body) = raw(
        &emu,
        &request(
            "GET",
            "/v1/Credentials/AWS",
            &[("Authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn pipelined_requests_on_one_connection_are_each_answered() {
    let emu = Emulator::start().await.unwrap();
    let auth = emu.basic_auth_header();
    let mut bytes = Vec::new();
    for path in [
        "/v1/Nope",
        "/v1/Credentials/AWS",
        "/v1/Credentials/AWS/CRbad",
    ] {
        bytes.extend_from_slice(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n").as_bytes(),
        );
    }
    bytes.extend_from_slice(format!("GET /v1/Credentials/AWS HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n").as_bytes());
    let mut tcp = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    tcp.write_all(&bytes).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    let statuses: Vec<&str> = out
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &out[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["404", "200", "404", "200"]);
}

#[tokio::test]
async fn slow_and_stalled_clients_hold_only_their_own_connection() {
    let grace = Duration::from_millis(300);
    let emu = Emulator::builder()
        .shutdown_grace(grace)
        .start()
        .await
        .unwrap();
    let auth = emu.basic_auth_header();
    // Slowloris: a request head trickled a few bytes at a time and never finished, plus a
    // connection that announces a body and stalls in the middle of it.
    let mut slow = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let mut stalled_body = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    stalled_body
        .write_all(
            format!(
                "POST /v1/SafeList/Numbers HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nPhone"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    for chunk in [
        &b"GET /v1/Cre"[..],
        b"dentials/AWS HT",
        b"TP/1.1\r\nHost: x\r\n",
    ] {
        slow.write_all(chunk).await.unwrap();
        // Meanwhile every other client is served at once.
        let (status, body) = raw(
            &emu,
            &request(
                "GET",
                "/v1/Credentials/AWS",
                &[("Authorization", &auth)],
                b"",
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(emu.snapshot().safelist().is_empty());

    // Shutdown waits out its grace period for the half-sent requests, then closes them:
    // it finishes, and both stalled clients see their connection end.
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), emu.shutdown())
        .await
        .expect("shutdown finishes despite stalled clients");
    assert!(started.elapsed() >= grace);
    for mut tcp in [slow, stalled_body] {
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(1), tcp.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "connection left open after shutdown");
    }
}
