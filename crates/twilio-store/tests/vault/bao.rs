//! Real OpenBao servers for the tests: `bao server -dev` (in memory) or a server with raft
//! storage in a temporary directory (survives a restart), each on 127.0.0.1 with a free port.
//!
//! `cargo xtask ci` installs the pinned `bao` into `.tools/openbao` and names it in
//! `TWILIO_TEST_BAO`. Without it a test fails under `CI=true` and is skipped loudly elsewhere.
//!
//! A free port is found by binding port 0 and releasing it, so another process may take it
//! before `bao` binds it. While a server starts, the wait checks that the process is alive;
//! one that died saying "address already in use" is started again on a new port (a few times),
//! any other death fails the test with what the server printed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The variable `cargo xtask ci` sets to the `bao` binary.
const ENV: &str = "TWILIO_TEST_BAO";
/// How long a server may take to answer on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many ports a server start tries when another process takes the free port first.
const PORT_ATTEMPTS: usize = 5;

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
    /// What the running server printed (stdout and stderr), to tell why it died.
    printed: Arc<Mutex<String>>,
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
        let root_token = format!("dev-{}", random_id());
        let mut bao = Self::new(binary, root_token.clone(), None);
        bao.start_on_a_free_port(
            |_, port| {
                let mut command = Command::new(binary);
                command
                    .args(["server", "-dev", "-dev-no-store-token"])
                    .arg(format!("-dev-root-token-id={root_token}"))
                    .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
                    .env_remove("VAULT_TOKEN")
                    .env_remove("BAO_TOKEN");
                command
            },
            |bao| bao.wait_for_health(&[200]),
        );
        bao
    }

    fn new(binary: &Path, root_token: String, persistent: Option<Persistent>) -> Self {
        Self {
            binary: binary.to_owned(),
            child: None,
            printed: Arc::default(),
            port: 0,
            root_token,
            persistent,
        }
    }

    /// Starts `command(port)` on a free port and waits with `ready`; on a new port again when
    /// the server died because another process took the port in between.
    fn start_on_a_free_port(
        &mut self,
        command: impl Fn(&Self, u16) -> Command,
        ready: impl Fn(&mut Self) -> Result<(), Died>,
    ) {
        for _ in 0..PORT_ATTEMPTS {
            self.port = free_port();
            self.spawn(command(self, self.port));
            match ready(self) {
                Ok(()) => return,
                Err(died) if died.address_in_use() => {
                    eprintln!(
                        "bao: port {} was taken before it bound it; another port",
                        self.port
                    );
                }
                Err(died) => panic!("{died}"),
            }
        }
        panic!("bao: {PORT_ATTEMPTS} ports in a row were taken before it could bind them");
    }

    /// Spawns the server with its output collected into `printed`.
    fn spawn(&mut self, mut command: Command) {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bao server");
        self.printed = Arc::default();
        let readers: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        for mut reader in readers {
            let printed = Arc::clone(&self.printed);
            std::thread::spawn(move || {
                let mut buffer = [0; 4096];
                while let Ok(n @ 1..) = reader.read(&mut buffer) {
                    printed
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            });
        }
        self.child = Some(child);
    }

    /// `Err` if the server process has exited (with what it printed).
    fn check_alive(&mut self) -> Result<(), Died> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.child = None;
                // Let the readers take the last of its output.
                std::thread::sleep(Duration::from_millis(100));
                Err(Died {
                    port: self.port,
                    status: status.to_string(),
                    printed: self.printed.lock().unwrap().clone(),
                })
            }
            Err(e) => panic!("bao: cannot check the server process: {e}"),
        }
    }

    /// `bao server -dev -dev-tls`: https with a certificate from a CA it makes, whose PEM
    /// file this returns. Ready once the port accepts connections (the tests' raw client speaks
    /// no TLS; a test retries its first call).
    pub(crate) fn dev_tls(binary: &Path) -> (Self, PathBuf) {
        let root_token = format!("dev-{}", random_id());
        let dir = std::env::temp_dir().join(format!("twilio-store-bao-tls-{}", random_id()));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        let persistent = Persistent {
            dir: dir.clone(),
            unseal_key: String::new(),
        };
        let mut bao = Self::new(binary, root_token.clone(), Some(persistent));
        let ca = dir.join("vault-ca.pem");
        bao.start_on_a_free_port(
            |_, port| {
                let mut command = Command::new(binary);
                command
                    .args(["server", "-dev", "-dev-tls", "-dev-no-store-token"])
                    .arg(format!("-dev-tls-cert-dir={}", dir.display()))
                    .arg(format!("-dev-root-token-id={root_token}"))
                    .arg(format!("-dev-listen-address=127.0.0.1:{port}"));
                command
            },
            |bao| {
                let started = Instant::now();
                while !(ca.is_file() && TcpStream::connect((Ipv4Addr::LOCALHOST, bao.port)).is_ok())
                {
                    bao.check_alive()?;
                    assert!(started.elapsed() < START_TIMEOUT, "bao -dev-tls not ready");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(())
            },
        );
        (bao, ca)
    }

    /// A server with raft storage in a fresh temporary directory, initialised,
    /// unsealed, with KV v2 mounted at `kv/`: its data survives [`restart`](Self::restart).
    pub(crate) fn persistent(binary: &Path) -> Self {
        let dir = std::env::temp_dir().join(format!("twilio-store-bao-{}", random_id()));
        std::fs::create_dir_all(dir.join("data")).expect("create the raft directory");
        let persistent = Persistent {
            dir,
            unseal_key: String::new(),
        };
        let mut bao = Self::new(binary, String::new(), Some(persistent));
        bao.start_on_a_free_port(Self::persistent_command, |bao| bao.wait_for_health(&[501]));
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

    /// `bao server` with a configuration for `port` (and a fresh cluster port) on the raft data.
    fn persistent_command(&self, port: u16) -> Command {
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
            ),
        )
        .expect("write config.hcl");
        let mut command = Command::new(&self.binary);
        command
            .arg("server")
            .arg(format!("-config={}", config.display()));
        command
    }

    /// Unseals the persistent server and waits until it is active.
    pub(crate) fn unseal(&mut self) {
        let key = &self
            .persistent
            .as_ref()
            .expect("a persistent server")
            .unseal_key;
        let (status, body) = self.call("PUT", "sys/unseal", None, Some(&json!({"key": key})));
        assert_eq!(status, 200, "unseal: {body}");
        self.wait_for_health(&[200])
            .unwrap_or_else(|died| panic!("{died}"));
    }

    /// Starts the persistent server again on the same port and data (still sealed).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn(self.persistent_command(self.port));
        self.wait_for_health(&[503])
            .unwrap_or_else(|died| panic!("{died} (restarted on the port its data names)"));
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
        self.try_call(method, path, token, body, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{method} {path} to bao: {e}"))
    }

    /// [`call`](Self::call), with an error instead of a panic when no answer comes within
    /// `timeout`.
    fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> std::io::Result<(u16, Value)> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        stream.set_read_timeout(Some(timeout))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let token = token
            .map(|t| format!("X-Vault-Token: {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} /v1/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{token}\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:?}")))?;
        let (_, text) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        // Chunked bodies: the JSON object sits between the first `{` and the last `}`.
        let json = match (text.find('{'), text.rfind('}')) {
            (Some(start), Some(end)) => {
                serde_json::from_str(&text[start..=end]).unwrap_or_default()
            }
            _ => Value::Null,
        };
        Ok((status, json))
    }

    /// Polls `sys/health` until it answers one of `statuses` (200 active, 429 standby,
    /// 501 not initialised, 503 sealed).
    fn wait_for_health(&mut self, statuses: &[u16]) -> Result<(), Died> {
        let started = Instant::now();
        loop {
            // Alive first: a server that died left the port to whoever took it.
            self.check_alive()?;
            // A short timeout: what listens may be another process that took the port.
            let health = self.try_call("GET", "sys/health", None, None, Duration::from_secs(2));
            if let Ok((status, _)) = health
                && statuses.contains(&status)
            {
                return self.check_alive();
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "bao on port {} not ready ({statuses:?}) within {START_TIMEOUT:?}; it printed:\n{}",
                self.port,
                self.printed.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A server process that exited while it should have been starting.
#[derive(Debug)]
struct Died {
    port: u16,
    status: String,
    printed: String,
}

impl Died {
    /// Whether it died because the port was taken (Go's `bind: address already in use`).
    fn address_in_use(&self) -> bool {
        self.printed.contains("address already in use")
    }
}

impl std::fmt::Display for Died {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bao on port {} exited ({}) while starting; it printed:\n{}",
            self.port, self.status, self.printed
        )
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
