//! Installing and running a pinned `@stoplight/prism-cli`.
//!
//! Prism is installed with npm into `.tools/prism` at the workspace root (ignored by git).
//! Every Prism process lives inside a [`Prism`] guard that kills it when dropped, so no exit
//! path (error, early return, panic) leaves one running.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Result, cmd};

/// The pinned Prism version (CONTRACT.md §11 was checked with 5.14.x).
pub(crate) const PRISM_VERSION: &str = "5.14.2";
const PACKAGE: &str = "@stoplight/prism-cli";
/// How long Prism may take to start on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Lines of Prism output kept for error messages.
const LOG_LINES: usize = 400;

/// The install folder, `<workspace>/.tools/prism`.
pub(crate) fn install_dir() -> PathBuf {
    crate::workspace_root().join(".tools").join("prism")
}

/// Makes sure the pinned Prism is installed and returns the path of its executable.
///
/// Fails loudly (never skips) when node or npm is missing or the install fails.
pub(crate) fn ensure_installed() -> Result<PathBuf> {
    let dir = install_dir();
    let bin = dir.join("node_modules").join(".bin").join("prism");
    check_node_version(&require_tool("node")?)?;
    if installed_version(&dir).as_deref() == Some(PRISM_VERSION) && bin.is_file() {
        println!(
            "    prism {PRISM_VERSION} already installed in {}",
            dir.display()
        );
        return Ok(bin);
    }
    require_tool("npm")?;
    let mut install = Command::new("npm");
    install.args(["install", "--prefix"]).arg(&dir).args([
        "--no-audit",
        "--no-fund",
        "--save-exact",
        &format!("{PACKAGE}@{PRISM_VERSION}"),
    ]);
    cmd::run_step("contract: npm install prism", &mut install).map_err(|e| {
        format!("{e}\n(the contract check needs npm and access to the npm registry)")
    })?;
    match installed_version(&dir) {
        Some(v) if v == PRISM_VERSION && bin.is_file() => Ok(bin),
        other => Err(format!(
            "npm install finished but {} holds {PACKAGE} {:?}, expected {PRISM_VERSION}",
            dir.display(),
            other
        )),
    }
}

/// The oldest Node.js that Prism 5.14.2 supports (its `engines` field).
const MIN_NODE: (u32, u32, u32) = (18, 20, 1);

/// Runs `tool --version` and returns what it printed; fails with a clear message when the
/// tool is missing or broken.
fn require_tool(tool: &str) -> Result<String> {
    let needs = format!(
        "the contract check needs Node.js >= {}.{}.{} and npm (it installs {PACKAGE}@{PRISM_VERSION} itself)",
        MIN_NODE.0, MIN_NODE.1, MIN_NODE.2
    );
    match Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => Err(format!(
            "`{tool} --version` failed ({}); {needs}",
            out.status
        )),
        Err(e) => Err(format!("`{tool}` not found ({e}); {needs}")),
    }
}

/// Checks `node --version` output (`v20.11.0`) against [`MIN_NODE`].
pub(crate) fn check_node_version(printed: &str) -> Result<()> {
    let parsed = printed
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>();
    match parsed.as_deref() {
        Some(&[major, minor, patch]) if (major, minor, patch) >= MIN_NODE => Ok(()),
        Some(&[_, _, _]) => Err(format!(
            "Node.js {printed} is too old: Prism {PRISM_VERSION} needs >= {}.{}.{}",
            MIN_NODE.0, MIN_NODE.1, MIN_NODE.2
        )),
        _ => Err(format!(
            "could not read the Node.js version from `{printed}`"
        )),
    }
}

/// The version in `<dir>/node_modules/@stoplight/prism-cli/package.json`, if any.
fn installed_version(dir: &Path) -> Option<String> {
    let manifest = dir
        .join("node_modules")
        .join("@stoplight")
        .join("prism-cli")
        .join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    package_version(&text)
}

/// The `version` field of a `package.json`.
pub(crate) fn package_version(package_json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(package_json).ok()?;
    value["version"].as_str().map(str::to_owned)
}

/// A free TCP port on 127.0.0.1 (bound with port 0, then released for Prism to take).
pub(crate) fn pick_free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("could not bind 127.0.0.1:0 to pick a port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("could not read the picked port: {e}"))
}

/// The URL in Prism's `Prism is listening on http://127.0.0.1:PORT` line.
pub(crate) fn listening_url(line: &str) -> Option<&str> {
    const MARKER: &str = "Prism is listening on ";
    let start = line.find(MARKER)? + MARKER.len();
    line[start..].split_whitespace().next()
}

type Log = Arc<Mutex<VecDeque<String>>>;

/// A running Prism process; killed (and reaped) on drop.
#[derive(Debug)]
pub(crate) struct Prism {
    label: String,
    child: Option<Child>,
    base_url: String,
    log: Log,
    readers: Vec<JoinHandle<()>>,
}

impl Prism {
    /// Starts `prism <args...> -h 127.0.0.1 -p <free port> ...` and waits until it answers.
    ///
    /// `args` receives the port and returns the full argument list. A port taken between
    /// picking and binding is retried with another port.
    pub(crate) fn start(
        label: &str,
        bin: &Path,
        args: impl Fn(u16) -> Vec<String>,
    ) -> Result<Self> {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = pick_free_port()?;
            match Self::start_on(label, bin, &args(port), port) {
                Ok(prism) => return Ok(prism),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn start_on(label: &str, bin: &Path, args: &[String], port: u16) -> Result<Self> {
        let line = format!("prism {}", args.join(" "));
        println!("    starting {label}: {line}");
        let mut child = Command::new(bin)
            .args(args)
            .current_dir(crate::workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start `{line}`: {e}"))?;
        let log: Log = Arc::new(Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(drain(out, Arc::clone(&log)));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(drain(err, Arc::clone(&log)));
        }
        let mut prism = Self {
            label: label.to_owned(),
            child: Some(child),
            base_url: format!("http://127.0.0.1:{port}"),
            log,
            readers,
        };
        prism.wait_ready(port)?;
        Ok(prism)
    }

    /// Waits for the "listening" line and a TCP connection to succeed.
    fn wait_ready(&mut self, port: u16) -> Result<()> {
        let started = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                // The pipes are closed now: let the readers finish so the log is complete.
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Err(format!(
                    "{} exited during start-up ({status}); its output:\n{}",
                    self.label,
                    self.log_tail(60)
                ));
            }
            let announced = self
                .lines()
                .iter()
                .any(|line| listening_url(line).is_some());
            if announced && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                println!(
                    "    {} listening on {} (after {})",
                    self.label,
                    self.base_url,
                    cmd::human(started.elapsed())
                );
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{} did not start listening within {}; its output:\n{}",
                    self.label,
                    cmd::human(START_TIMEOUT),
                    self.log_tail(60)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    fn lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The last `n` lines Prism printed.
    pub(crate) fn log_tail(&self, n: usize) -> String {
        let lines = self.lines();
        let skip = lines.len().saturating_sub(n);
        lines[skip..].join("\n")
    }

    /// Stops Prism now (also done on drop).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine; anything else leaves nothing we could do better.
            let _ = child.kill();
            let _ = child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads `stream` line by line into `log` (keeping the last [`LOG_LINES`]) until it closes,
/// so Prism never blocks on a full pipe.
fn drain(stream: impl Read + Send + 'static, log: Log) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let reader = BufReader::new(stream);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
            if log.len() == LOG_LINES {
                log.pop_front();
            }
            log.push_back(line);
        }
    })
}

/// A temporary directory removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<system temp>/xtask-<name>-<pid>`.
    pub(crate) fn new(name: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("could not create {}: {e}", path.display()))?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_url() {
        let line = "[4:31:47 AM] › [CLI] ▶  start     Prism is listening on http://127.0.0.1:4599";
        assert_eq!(listening_url(line), Some("http://127.0.0.1:4599"));
        assert_eq!(
            listening_url("Prism is listening on http://127.0.0.1:1 \r"),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(listening_url("[CLI] …  awaiting  Starting Prism…"), None);
        assert_eq!(listening_url("Prism is listening on "), None);
    }

    /// A missing node or npm is an error naming what the contract check needs, never a
    /// skip.
    #[test]
    fn missing_tools_fail_loudly() {
        let err = require_tool("/nonexistent/npm").unwrap_err();
        assert!(err.contains("`/nonexistent/npm` not found"), "{err}");
        assert!(err.contains("needs Node.js"), "{err}");
        let err = require_tool("false").unwrap_err();
        assert!(err.contains("`false --version` failed"), "{err}");
    }

    #[test]
    fn node_versions() {
        assert_eq!(check_node_version("v20.20.2\n"), Ok(()));
        assert_eq!(check_node_version("v18.20.1"), Ok(()));
        assert_eq!(check_node_version("v22.0.0"), Ok(()));
        assert!(
            check_node_version("v18.20.0")
                .unwrap_err()
                .contains("too old")
        );
        assert!(
            check_node_version("v16.20.2")
                .unwrap_err()
                .contains("too old")
        );
        assert!(
            check_node_version("nonsense")
                .unwrap_err()
                .contains("could not read")
        );
        assert!(check_node_version("v20.1").is_err());
    }

    #[test]
    fn reads_package_versions() {
        assert_eq!(
            package_version(r#"{"name":"@stoplight/prism-cli","version":"5.14.2"}"#).as_deref(),
            Some("5.14.2")
        );
        assert_eq!(package_version("{}"), None);
        assert_eq!(package_version("nope"), None);
    }

    #[test]
    fn picked_ports_are_free_and_bindable() {
        let port = pick_free_port().unwrap();
        assert_ne!(port, 0);
        // The port was released: binding it again works.
        drop(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap());
    }

    #[test]
    fn guard_kills_the_process_on_drop() {
        // A stand-in for Prism that announces itself and never exits.
        let port_holder = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = port_holder.local_addr().unwrap().port();
        let script = "echo \"Prism is listening on http://127.0.0.1:$1\"; exec sleep 600";
        let args = ["-c", script, "fake-prism", &port.to_string()].map(str::to_owned);

        let mut prism = Prism::start_on("fake", Path::new("/bin/sh"), &args, port).unwrap();
        assert_eq!(prism.base_url(), format!("http://127.0.0.1:{port}"));
        let mut child = prism.child.take().unwrap();
        let pid = child.id();
        assert!(
            child.try_wait().unwrap().is_none(),
            "pid {pid} should still run"
        );
        prism.child = Some(child);
        drop(prism);
        // After drop the process is killed and reaped: `kill -0` finds no such process.
        let alive = Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!alive.success(), "process {pid} survived the guard");
    }

    #[test]
    fn start_reports_an_early_exit_with_the_output() {
        let script = "echo 'EADDRINUSE: address already in use' >&2; exit 3";
        let args = ["-c", script].map(str::to_owned);
        let err = Prism::start_on("failing", Path::new("/bin/sh"), &args, 1).unwrap_err();
        assert!(err.contains("exited during start-up"), "{err}");
        assert!(err.contains("EADDRINUSE"), "{err}");
    }

    #[test]
    fn temp_dirs_are_removed_on_drop() {
        let dir = TempDir::new("tempdir-test").unwrap();
        let path = dir.path().to_owned();
        std::fs::write(path.join("x"), "y").unwrap();
        drop(dir);
        assert!(!path.exists());
    }
}
