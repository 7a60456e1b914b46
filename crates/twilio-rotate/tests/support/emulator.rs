//! The emulator as a separate process: `twilio-emulator --test-endpoints`, built once per test
//! binary, read through its opt-in test endpoints (`GET /__emulator/tokens` names its tokens by
//! fingerprint only, `PUT /__emulator/latency?ms=N` changes its latency), killed when dropped.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

/// The manifest of the `twilio-emulator` package this package depends on, from `cargo
/// metadata`: the workspace member, or the unpacked crate standing in for it when the
/// packaged crate tests itself (`cargo build -p twilio-emulator` of a dev-dependency there
/// makes cargo itself panic, so the build goes by its manifest instead).
fn emulator_manifest() -> String {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "-q", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        output.status
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "twilio-emulator")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("twilio-emulator among the packages")
        .to_owned()
}

/// The `twilio-emulator` executable, built once per test binary. A test of another package
/// has no `CARGO_BIN_EXE_twilio-emulator`, so it asks cargo, and takes the path cargo
/// reports (wherever `CARGO_TARGET_DIR` points).
fn emulator_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let output = Command::new(env!("CARGO"))
            .args(["build", "-q", "--manifest-path"])
            .arg(emulator_manifest())
            .args([
                "--bin",
                "twilio-emulator",
                "--message-format=json-render-diagnostics",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(
            output.status.success(),
            "building twilio-emulator failed: {}",
            output.status
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| {
                m["reason"] == "compiler-artifact" && m["target"]["name"] == "twilio-emulator"
            })
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no twilio-emulator executable")
    })
}

/// A `twilio-emulator --test-endpoints` process; killed and reaped on drop, so no emulator
/// outlives its case, even one that panics.
pub(crate) struct EmulatorProcess {
    child: Child,
    pub(crate) base_url: String,
    pub(crate) account_sid: String,
    /// The primary token it started with (it printed it): only for `init`, and to search
    /// the outputs for.
    pub(crate) first_token: String,
}

/// The tokens an emulator accepts, by fingerprint.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) primary: String,
    pub(crate) secondary: Option<String>,
}

impl EmulatorProcess {
    /// Starts an emulator on a free port with `latency` per request and waits for it to
    /// print its base URL and credentials.
    pub(crate) fn start(latency: Duration) -> Self {
        let child = Command::new(emulator_binary())
            .args(["--port", "0", "--test-endpoints", "--latency-ms"])
            .arg(latency.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn twilio-emulator");
        let mut emulator = Self {
            child,
            base_url: String::new(),
            account_sid: String::new(),
            first_token: String::new(),
        };
        let stdout = emulator.child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            let line = line.trim();
            if let Some(url) = line.strip_prefix("Twilio Accounts v1 emulator listening on ") {
                url.clone_into(&mut emulator.base_url);
            } else if let Some(sid) = line.strip_prefix("TWILIO_ACCOUNT_SID=") {
                sid.clone_into(&mut emulator.account_sid);
            } else if let Some(token) = line.strip_prefix("TWILIO_AUTH_TOKEN=") {
                token.clone_into(&mut emulator.first_token);
            } else if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        assert!(
            emulator.base_url.starts_with("http://127.0.0.1:")
                && emulator.account_sid.starts_with("AC")
                && !emulator.first_token.is_empty(),
            "twilio-emulator did not announce itself ({})",
            emulator.base_url
        );
        // It prints nothing more; keep the pipe open and drained all the same.
        std::thread::spawn(move || lines.for_each(drop));
        emulator
    }

    /// One request to a test endpoint; returns the status and the body.
    fn seam(&self, request_line: &str) -> (u16, String) {
        let host = self.base_url.trim_start_matches("http://");
        let mut tcp = TcpStream::connect(host).expect("connect to the emulator");
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            tcp,
            "{request_line} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        (status, body.to_owned())
    }

    /// What `GET /__emulator/tokens` says (it never shows a token: checked here too).
    pub(crate) fn accepted(&self) -> Accepted {
        let (status, body) = self.seam("GET /__emulator/tokens");
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains(&self.first_token), "a token in {body}");
        let json: Value = serde_json::from_str(&body).expect("tokens JSON");
        assert_eq!(json["account_sid"], self.account_sid.as_str());
        Accepted {
            primary: json["primary"].as_str().expect("primary").to_owned(),
            secondary: json["secondary"].as_str().map(str::to_owned),
        }
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        let (status, body) = self.seam(&format!(
            "PUT /__emulator/latency?ms={}",
            latency.as_millis()
        ));
        assert_eq!(status, 204, "{body}");
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
