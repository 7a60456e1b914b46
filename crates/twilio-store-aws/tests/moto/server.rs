//! A real `moto_server` (an AWS emulator) for the tests, on 127.0.0.1 with a free port.
//!
//! `cargo xtask ci` installs the pinned moto into `.tools/moto` and names its launcher in
//! `TWILIO_TEST_MOTO` (`cargo xtask moto` prints the line). Without it a test fails under
//! `CI=true` and is skipped loudly elsewhere. Shared by path with other test crates.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable `cargo xtask ci` sets to the launcher.
pub(crate) const ENV: &str = "TWILIO_TEST_MOTO";
/// How long a server may take to answer on a loaded machine (Python imports are slow).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// The fake credentials and region every test process uses (moto accepts any).
pub(crate) const FAKE_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

/// The launcher, or `None` (after a loud message) when it is not installed outside CI.
///
/// # Panics
///
/// Under `CI=true` when the variable is unset or names no file: CI must run these tests.
pub(crate) fn launcher() -> Option<PathBuf> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    match std::env::var_os(ENV).map(PathBuf::from) {
        Some(path) if path.is_file() => Some(path),
        other => {
            let why = match other {
                Some(path) => format!("{ENV}={} is not a file", path.display()),
                None => format!("{ENV} is not set"),
            };
            assert!(
                !in_ci,
                "CI=true and {why}: `cargo xtask ci` installs moto into .tools/moto"
            );
            eprintln!(
                "\n!!! SKIPPED: an AWS Secrets Manager test needs moto_server and {why}.\n\
                 !!! `cargo xtask moto` installs it into .tools/moto and prints the \
                 {ENV}=... to set.\n"
            );
            None
        }
    }
}

/// A running `moto_server`; killed (and reaped) when dropped.
#[derive(Debug)]
pub(crate) struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` on a free port (another port when the one
    /// picked was taken meanwhile) and waits until it answers.
    ///
    /// # Panics
    ///
    /// When no server answers within the start timeout.
    pub(crate) fn start(launcher: &Path) -> Self {
        Self::start_with(launcher, &[])
    }

    /// [`start`](Self::start) with more environment for the server (moto's settings, such
    /// as `INITIAL_NO_AUTH_ACTION_COUNT`).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub(crate) fn start_with(launcher: &Path, env: &[(&str, &str)]) -> Self {
        let started = Instant::now();
        loop {
            let port = free_port();
            let mut child = Command::new(launcher)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(FAKE_ENV)
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            loop {
                if let Some(status) = child.try_wait().expect("wait for moto_server") {
                    // Most likely the port was taken between our probe and its bind: retry.
                    assert!(
                        started.elapsed() < START_TIMEOUT,
                        "moto_server keeps exiting ({status})"
                    );
                    break;
                }
                if answers(port) {
                    return Self { child, port };
                }
                if started.elapsed() > START_TIMEOUT {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("moto_server on port {port} did not answer in {START_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its process id (to stop and continue it with signals).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The environment a process needs to reach this server: fake credentials, the region
    /// and `AWS_ENDPOINT_URL`.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = FAKE_ENV
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("AWS_ENDPOINT_URL".to_owned(), self.endpoint()));
        env
    }

    /// Stops the server now (a store that goes away).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free port on 127.0.0.1 (bound with port 0, then released for the server).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Whether moto answers HTTP on `port` (its `/moto-api/` page; any HTTP status line counts).
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
