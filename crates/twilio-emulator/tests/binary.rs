//! The `twilio-emulator` program: prints its base URL and credentials, serves them, and stops
//! cleanly (exit status 0) on Ctrl-C (SIGINT) and on SIGTERM; with `--test-endpoints` it
//! serves the token fingerprints to another process.

#![cfg(unix)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// Kills the child if a test fails half-way, so no emulator outlives the test.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the program on a free port; returns it with the printed base URL, SID and token.
fn start() -> (Program, String, String, String) {
    start_with(&[])
}

/// [`start`] with extra arguments.
fn start_with(args: &[&str]) -> (Program, String, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_twilio-emulator"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn twilio-emulator");
    let mut program = Program(child);
    let stdout = program.0.stdout.take().expect("stdout");
    let (mut base_url, mut sid, mut token) = (None, None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout line");
        if let Some(url) = line.strip_prefix("Twilio Accounts v1 emulator listening on ") {
            base_url = Some(url.to_owned());
        } else if let Some(v) = line.trim().strip_prefix("TWILIO_ACCOUNT_SID=") {
            sid = Some(v.to_owned());
        } else if let Some(v) = line.trim().strip_prefix("TWILIO_AUTH_TOKEN=") {
            token = Some(v.to_owned());
        } else if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    (
        program,
        base_url.expect("base URL printed"),
        sid.expect("SID printed"),
        token.expect("token printed"),
    )
}

/// One raw `POST /v1/AuthTokens/Secondary`; returns the status line.
fn create_secondary(base_url: &str, sid: &str, token: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let response = raw(
        base_url,
        "POST /v1/AuthTokens/Secondary",
        &format!("Authorization: Basic {auth}\r\n"),
    );
    response.lines().next().unwrap_or_default().to_owned()
}

/// One raw HTTP/1.1 request (`request_line` without the version, `headers` each ending in
/// CRLF); returns the whole response.
fn raw(base_url: &str, request_line: &str, headers: &str) -> String {
    let host = base_url.strip_prefix("http://").expect("http base URL");
    let mut tcp = TcpStream::connect(host).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "{request_line} HTTP/1.1\r\nHost: {host}\r\n{headers}\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    response
}

/// Sends `signal` with `kill` and asserts the program exits with status 0 after printing
/// "stopped" (its graceful-shutdown path, not the signal's default action).
fn signal_and_expect_clean_stop(program: &mut Program, signal: &str) {
    let pid = program.0.id().to_string();
    let sent = Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = program.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after {signal}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{signal}: {status}");
    let mut stderr = String::new();
    program
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("stopped"), "{stderr}");
}

fn stops_cleanly_on(signal: &str) {
    let (mut program, base_url, sid, token) = start();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert_eq!(
        create_secondary(&base_url, &sid, &token),
        "HTTP/1.1 201 Created"
    );

    signal_and_expect_clean_stop(&mut program, signal);
    // The port is closed: nothing listens any more.
    let host = base_url.strip_prefix("http://").unwrap();
    assert!(TcpStream::connect(host).is_err());
}

#[test]
fn ctrl_c_stops_the_program_cleanly() {
    stops_cleanly_on("-INT");
}

#[test]
fn sigterm_stops_the_program_cleanly() {
    stops_cleanly_on("-TERM");
}

/// A supervisor may signal the program the moment it reads the readiness line; the
/// handlers must already be installed then. 50 runs, each signalled with no delay at all.
#[test]
fn sigterm_right_after_readiness_stops_cleanly_every_time() {
    for _ in 0..50 {
        let (mut program, _, _, _) = start();
        signal_and_expect_clean_stop(&mut program, "-TERM");
    }
}

#[test]
fn bad_arguments_exit_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_twilio-emulator"))
        .args(["--port", "not-a-port"])
        .output()
        .expect("run twilio-emulator");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--port: not a port number"), "{stderr}");
    assert!(stderr.contains("Usage: twilio-emulator"), "{stderr}");
}

#[test]
fn test_endpoints_name_the_tokens_by_fingerprint_to_another_process() {
    let (_program, base_url, sid, token) = start_with(&["--test-endpoints"]);
    let fingerprint = |token: &str| {
        let token = twilio_types::AuthToken::new(token.to_owned()).unwrap();
        twilio_store::TokenFingerprint::of(&token).to_string()
    };
    let tokens = raw(&base_url, "GET /__emulator/tokens", "");
    assert!(tokens.starts_with("HTTP/1.1 200 OK"), "{tokens}");
    assert!(
        tokens.contains(&format!(r#""primary":"{}""#, fingerprint(&token))),
        "{tokens}"
    );
    assert!(tokens.contains(r#""secondary":null"#), "{tokens}");
    assert!(tokens.contains(&sid), "{tokens}");

    assert_eq!(
        create_secondary(&base_url, &sid, &token),
        "HTTP/1.1 201 Created"
    );
    let tokens = raw(&base_url, "GET /__emulator/tokens", "");
    assert!(tokens.contains(r#""secondary":""#), "{tokens}");
    assert!(!tokens.contains(&token), "a token in {tokens}");

    let latency = raw(&base_url, "PUT /__emulator/latency?ms=0", "");
    assert!(latency.starts_with("HTTP/1.1 204"), "{latency}");
}

#[test]
fn without_the_flag_there_are_no_test_endpoints() {
    let (_program, base_url, _, _) = start();
    let tokens = raw(&base_url, "GET /__emulator/tokens", "");
    assert!(tokens.starts_with("HTTP/1.1 401"), "{tokens}");
}
