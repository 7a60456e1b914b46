//! Real OpenBao servers for the tests: `bao server -dev` (in memory) or a server with raft
//! storage in a temporary directory (survives a restart), each on 127.0.0.1 with a free port.
//!
//! `cargo xtask ci` installs the pinned `bao` into `.tools/openbao` and names it in
//! `TWILIO_TEST_BAO`. Without it a test fails under `CI=true` and is skipped loudly elsewhere.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The variable `cargo xtask ci` sets to the `bao` binary.
const ENV: &str = "TWILIO_TEST_BAO";
/// How long a server may take to answer on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `bao` binary, or `None` (after a loud message) when it is not installed outside CI.
///
/// # Panics
///
/// Under `CI=true` when the variable is unset or names no file: CI must run these tests.
pub(crate) fn binary() -> Option<PathBuf> {
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
                "CI=true and {why}: `cargo xtask ci` installs OpenBao into .tools/openbao"
            );
            eprintln!(
                "\n!!! SKIPPED: a Vault store test needs OpenBao and {why}.\n\
                 !!! `cargo xtask openbao` installs it into .tools/openbao and prints the \
                 {ENV}=... to set.\n"
            );
            None
        }
    }
}

/// A random string for tokens and names (no dependency: the std hasher's random keys).
pub(crate) fn random_id() -> String {
    let a = RandomState::new().build_hasher().finish();
    let mut h = RandomState::new().build_hasher();
    h.write_u64(a);
    format!("{a:016x}{:016x}", h.finish())
}

/// A free port on 127.0.0.1 (bound with port 0, then released for the server).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A running OpenBao server; killed (and reaped) when dropped.
#[derive(Debug)]
pub(crate) struct Bao {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    /// The root token (the dev token this test picked, or the one `init` returned).
    pub(crate) root_token: String,
    /// The server's own directory (raft data, config and unseal key, or a dev server's TLS
    /// files), removed on drop; `None` for a plain dev server.
    persistent: Option<Persistent>,
}

#[derive(Debug)]
struct Persistent {
    dir: PathBuf,
    unseal_key: String,
}

impl Bao {
    /// `bao server -dev` with a root token of the test's own; KV v2 is mounted at `secret/`.
    pub(crate) fn dev(binary: &Path) -> Self {
        let port = free_port();
        let root_token = format!("dev-{}", random_id());
        let child = Command::new(binary)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .spawn()
            .expect("start bao server -dev");
        let bao = Self {
            binary: binary.to_owned(),
            child: Some(child),
            port,
            root_token,
            persistent: None,
        };
        bao.wait_for_health(&[200]);
        bao
    }

    /// `bao server -dev -dev-tls`: https with a certificate from a CA it makes, whose PEM
    /// file this returns. Ready once the port accepts connections (the tests' raw client speaks
    /// no TLS; a test retries its first call).
    pub(crate) fn dev_tls(binary: &Path) -> (Self, PathBuf) {
        let port = free_port();
        let root_token = format!("dev-{}", random_id());
        let dir = std::env::temp_dir().join(format!("twilio-store-bao-tls-{}", random_id()));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        let child = Command::new(binary)
            .args(["server", "-dev", "-dev-tls", "-dev-no-store-token"])
            .arg(format!("-dev-tls-cert-dir={}", dir.display()))
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server -dev -dev-tls");
        let bao = Self {
            binary: binary.to_owned(),
            child: Some(child),
            port,
            root_token,
            persistent: Some(Persistent {
                dir: dir.clone(),
                unseal_key: String::new(),
            }),
        };
        let ca = dir.join("vault-ca.pem");
        let started = Instant::now();
        while !(ca.is_file() && TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()) {
            assert!(started.elapsed() < START_TIMEOUT, "bao -dev-tls not ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        (bao, ca)
    }

    /// A server with raft storage in a fresh temporary directory, initialised,
    /// unsealed, with KV v2 mounted at `kv/`: its data survives [`restart`](Self::restart).
    pub(crate) fn persistent(binary: &Path) -> Self {
        let dir = std::env::temp_dir().join(format!("twilio-store-bao-{}", random_id()));
        std::fs::create_dir_all(dir.join("data")).expect("create the raft directory");
        let mut bao = Self {
            binary: binary.to_owned(),
            child: None,
            port: free_port(),
            root_token: String::new(),
            persistent: Some(Persistent {
                dir,
                unseal_key: String::new(),
            }),
        };
        bao.start_persistent();
        bao.wait_for_health(&[501]);
        let (status, init) = bao.call(
            "PUT",
            "sys/init",
            None,
            Some(&json!({"secret_shares": 1, "secret_threshold": 1})),
        );
        assert_eq!(status, 200, "init: {init}");
        bao.root_token = init["root_token"].as_str().expect("root_token").to_owned();
        bao.persistent.as_mut().expect("persistent").unseal_key =
            init["keys"][0].as_str().expect("keys[0]").to_owned();
        bao.unseal();
        let (status, body) = bao.as_root(
            "POST",
            "sys/mounts/kv",
            Some(&json!({"type": "kv", "options": {"version": "2"}})),
        );
        assert_eq!(status, 204, "mount kv: {body}");
        // A new KV v2 mount answers 400 "Upgrading from non-versioned to versioned data" for
        // a moment; ready once a read of a missing secret is a plain 404.
        let started = Instant::now();
        while bao.as_root("GET", "kv/data/probe", None).0 != 404 {
            assert!(started.elapsed() < START_TIMEOUT, "kv/ never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        bao
    }

    fn start_persistent(&mut self) {
        let persistent = self.persistent.as_ref().expect("a persistent server");
        let config = persistent.dir.join("config.hcl");
        let cluster_port = free_port();
        std::fs::write(
            &config,
            format!(
                "storage \"raft\" {{\n  path = \"{data}\"\n  node_id = \"n1\"\n}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  \
                 cluster_address = \"127.0.0.1:{cluster_port}\"\n  tls_disable = true\n}}\n\
                 api_addr = \"http://127.0.0.1:{port}\"\n\
                 cluster_addr = \"http://127.0.0.1:{cluster_port}\"\n",
                data = persistent.dir.join("data").display(),
                port = self.port,
            ),
        )
        .expect("write config.hcl");
        let child = Command::new(&self.binary)
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server");
        self.child = Some(child);
    }

    /// Unseals the persistent server and waits until it is active.
    pub(crate) fn unseal(&self) {
        let key = &self
            .persistent
            .as_ref()
            .expect("a persistent server")
            .unseal_key;
        let (status, body) = self.call("PUT", "sys/unseal", None, Some(&json!({"key": key})));
        assert_eq!(status, 200, "unseal: {body}");
        self.wait_for_health(&[200]);
    }

    /// Starts the persistent server again on the same port and data (still sealed).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.start_persistent();
        self.wait_for_health(&[503]);
    }

    /// SIGKILLs the server (the tests' "server goes away").
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// A token limited to `policy` (HCL), made with the root token.
    pub(crate) fn token_with_policy(&self, name: &str, policy: &str) -> String {
        let (status, body) = self.as_root(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(&json!({ "policy": policy })),
        );
        assert_eq!(status, 204, "policy: {body}");
        let (status, body) = self.as_root(
            "POST",
            "auth/token/create",
            Some(&json!({ "policies": [name], "no_default_policy": true })),
        );
        assert_eq!(status, 200, "token: {body}");
        body["auth"]["client_token"]
            .as_str()
            .expect("client_token")
            .to_owned()
    }

    /// Seals the server: every call answers 503 until it is unsealed.
    pub(crate) fn seal(&self) {
        let (status, body) = self.as_root("PUT", "sys/seal", None);
        assert_eq!(status, 204, "seal: {body}");
    }

    /// [`call`](Self::call) with the root token.
    pub(crate) fn as_root(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(method, path, Some(&self.root_token), body)
    }

    /// One HTTP/1.1 call to the API (`/v1/PATH`) with a raw socket: the tests' own view of
    /// the server, independent of the client under test.
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut stream =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to bao");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set a read timeout");
        let body = body.map(Value::to_string).unwrap_or_default();
        let token = token
            .map(|t| format!("X-Vault-Token: {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} /v1/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{token}\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send to bao");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read from bao");
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let (_, text) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        // Chunked bodies: the JSON object sits between the first `{` and the last `}`.
        let json = match (text.find('{'), text.rfind('}')) {
            (Some(start), Some(end)) => {
                serde_json::from_str(&text[start..=end]).unwrap_or_default()
            }
            _ => Value::Null,
        };
        (status, json)
    }

    /// Polls `sys/health` until it answers one of `statuses` (200 active, 429 standby,
    /// 501 not initialised, 503 sealed).
    fn wait_for_health(&self, statuses: &[u16]) {
        let started = Instant::now();
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                let (status, _) = self.call("GET", "sys/health", None, None);
                if statuses.contains(&status) {
                    return;
                }
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "bao on port {} not ready ({statuses:?}) within {START_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.kill();
        if let Some(persistent) = &self.persistent {
            let _ = std::fs::remove_dir_all(&persistent.dir);
        }
    }
}
