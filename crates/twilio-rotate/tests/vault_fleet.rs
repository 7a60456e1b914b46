//! Hosts that share nothing but an OpenBao server (issue 17, "Proof", scaled down): one rotator
//! (the `twilio-rotate` binary) and N follower processes, each in a working directory of its
//! own with an environment of its own (no shared file, no shared variable: only the Vault URL
//! and a token), each calling the emulator from several tasks with a client that follows the
//! Vault store. Through several rotations not one request fails; every follower's heartbeat in
//! Vault names the final token; no output of any process holds a token.
//!
//! Scale: `TWILIO_FLEET_PROCESSES` (default 4) processes × `TWILIO_FLEET_TASKS` (default 4)
//! tasks through `TWILIO_FLEET_ROTATIONS` (default 3) rotations; CI runs the defaults. The
//! issue's 20 × 10 through 10 rotations:
//! `TWILIO_FLEET_PROCESSES=20 TWILIO_FLEET_TASKS=10 TWILIO_FLEET_ROTATIONS=10`.
//!
//! The hand-off rests on the grace (10 reload intervals), not on the fleet gate: on this
//! branch `complete` does not wait for heartbeats yet. The followers publish them, and the test
//! checks that each one names the token in use, which is the gate's input.

// The store crate's helper starts the servers; these tests use part of it.
#[allow(dead_code)]
#[path = "../../twilio-store/tests/vault/bao.rs"]
mod bao;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use twilio_accounts::Client;
use twilio_emulator::Emulator;
use twilio_store::vault::VaultTokenStore;
use twilio_store::{FollowerRole, TokenFingerprint, TokenStore};

use bao::Bao;

// Only `BIN` and `text`: the fleet runs the CLI with an environment of its own.
#[allow(dead_code)]
mod support;
use support::temp_dir::TempDir;
use support::{BIN, text};

/// The follower processes' settings (their whole environment, with `VAULT_TOKEN`).
const STORE_VAR: &str = "FLEET_STORE";
const BASE_URL_VAR: &str = "FLEET_BASE_URL";
const TASKS_VAR: &str = "FLEET_TASKS";
const INTERVAL_VAR: &str = "FLEET_INTERVAL_MS";

/// How often followers reload the record; the rotations' grace is ten of these.
const RELOAD_INTERVAL: Duration = Duration::from_millis(500);
const GRACE_SECONDS: u64 = 5;
/// The pause of each follower task between two requests.
const CALL_PAUSE: Duration = Duration::from_millis(50);
/// What marks a follower's own lines in its output (the test harness writes there too).
const MARK: &str = "FLEET ";

/// The policies of the rotation guide's Vault recipe, for `secret/twilio/prod`.
const ROTATOR_POLICY: &str = r#"
path "secret/data/twilio/prod"                { capabilities = ["read", "create", "update"] }
path "secret/data/twilio/prod.followers/*"    { capabilities = ["read"] }
path "secret/metadata/twilio/prod.followers"  { capabilities = ["list"] }
"#;
const FOLLOWER_POLICY: &str = r#"
path "secret/data/twilio/prod"                { capabilities = ["read"] }
path "secret/data/twilio/prod.followers/*"    { capabilities = ["create", "update"] }
"#;

fn setting(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
        Err(_) => default,
    }
}

/// One follower process: its pid, what it printed, and its "host".
struct FollowerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl FollowerProcess {
    /// This test binary again, running only [`follower_process`], with nothing but `env`.
    fn spawn(index: usize, env: &[(&str, String)]) -> Self {
        let dir = TempDir::new(&format!("fleet-follower-{index}"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "follower_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .current_dir(dir.dir())
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a follower process");
        let (send, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let all = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                all.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(at) = line.find(MARK) {
                    let _ = send.send(line[at + MARK.len()..].to_owned());
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let all = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            all.lock().unwrap().push_str(&text);
        });
        Self {
            child,
            lines,
            stdout,
            stderr,
            _dir: dir,
        }
    }

    /// The follower's next own line, within `timeout`.
    fn next_line(&self, timeout: Duration) -> String {
        self.lines.recv_timeout(timeout).unwrap_or_else(|e| {
            panic!(
                "follower {}: no line ({e}); stderr:\n{}",
                self.child.id(),
                self.stderr.lock().unwrap()
            )
        })
    }

    fn output(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }
}

/// `twilio-rotate` from a working directory of its own, with only `env`.
fn rotator(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir.dir())
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run twilio-rotate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_other_hosts_follows_rotations_with_no_failed_request() {
    let Some(binary) = bao::binary() else { return };
    let processes = setting("TWILIO_FLEET_PROCESSES", 4);
    let tasks = setting("TWILIO_FLEET_TASKS", 4);
    let rotations = setting("TWILIO_FLEET_ROTATIONS", 3);
    let bao = Bao::dev(&binary);
    let emulator = Emulator::builder().start().await.unwrap();
    let base_url = emulator.base_url();
    let store_url = format!("vault+http://127.0.0.1:{}/secret/twilio/prod", bao.port());
    let rotator_token = bao.token_with_policy("twilio-rotator", ROTATOR_POLICY);
    let follower_token = bao.token_with_policy("twilio-follower", FOLLOWER_POLICY);
    let mut secrets = vec![
        bao.root_token.clone(),
        rotator_token.clone(),
        follower_token.clone(),
        emulator.auth_token().expose_secret().to_owned(),
    ];
    let mut outputs = Vec::new();

    // The rotator's host: `init` from the account's token.
    let rotator_dir = TempDir::new("fleet-rotator");
    let sid = emulator.account_sid();
    let first = emulator.auth_token();
    let rotator_env = [
        ("VAULT_TOKEN", rotator_token.as_str()),
        ("TWILIO_ROTATE_STORE", store_url.as_str()),
        ("TWILIO_ROTATE_BASE_URL", base_url.as_str()),
    ];
    let mut init_env = rotator_env.to_vec();
    init_env.extend([
        ("TWILIO_ACCOUNT_SID", sid.as_str()),
        ("TWILIO_AUTH_TOKEN", first.expose_secret()),
    ]);
    let init = rotator(&rotator_dir, &["init"], &init_env);
    outputs.push(text(&init));
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));

    // The followers' hosts.
    let follower_env = [
        ("VAULT_TOKEN", follower_token.clone()),
        (STORE_VAR, store_url.clone()),
        (BASE_URL_VAR, base_url.clone()),
        (TASKS_VAR, tasks.to_string()),
        (INTERVAL_VAR, RELOAD_INTERVAL.as_millis().to_string()),
    ];
    let mut fleet: Vec<FollowerProcess> = (0..processes)
        .map(|i| FollowerProcess::spawn(i, &follower_env))
        .collect();
    for follower in &fleet {
        assert_eq!(follower.next_line(Duration::from_secs(60)), "ready");
    }

    // The rotations, each while the fleet calls.
    let grace = GRACE_SECONDS.to_string();
    for _ in 0..rotations {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rotate = rotator(&rotator_dir, &["rotate", "--grace", &grace], &rotator_env);
        outputs.push(text(&rotate));
        assert_eq!(rotate.status.code(), Some(0), "{}", text(&rotate));
        secrets.push(emulator.auth_token().expose_secret().to_owned());
    }
    let last = TokenFingerprint::of(&emulator.auth_token());

    // Every follower's heartbeat names the final token (what a fleet gate reads).
    let reader = VaultTokenStore::from_url_and_env(&store_url, |name| {
        (name == "VAULT_TOKEN").then(|| rotator_token.clone())
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let heartbeats = reader.heartbeats().await.unwrap();
        let now = OffsetDateTime::now_utc();
        let holding = fleet
            .iter()
            .filter(|f| {
                let pid = f.child.id().to_string();
                heartbeats.iter().any(|h| {
                    h.follower.as_str().split(':').nth(1) == Some(pid.as_str())
                        && h.role == FollowerRole::Client
                        && h.is_live_at(now)
                        && h.holds(last)
                })
            })
            .count();
        if holding == processes {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{holding} of {processes} followers report the final token: {heartbeats:?}"
        );
        tokio::time::sleep(RELOAD_INTERVAL).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Stop the fleet (end of stdin) and read each summary.
    for follower in &mut fleet {
        drop(follower.child.stdin.take());
    }
    let mut total = 0;
    for follower in &mut fleet {
        let summary: Value = serde_json::from_str(&follower.next_line(Duration::from_secs(60)))
            .expect("a JSON summary");
        let status = follower.child.wait().unwrap();
        assert!(status.success(), "follower: {}", follower.output());
        assert_eq!(
            summary["failed"],
            json!([]),
            "failed requests: {}",
            follower.output()
        );
        let ok = summary["ok"].as_object().expect("ok counts");
        let with_last = ok.get(&last.to_string()).and_then(Value::as_u64);
        assert!(
            with_last.is_some_and(|n| n > 0),
            "no request with the final token {last}: {summary}"
        );
        total += ok.values().filter_map(Value::as_u64).sum::<u64>();
        outputs.push(follower.output());
    }
    eprintln!(
        "fleet: {processes} processes x {tasks} tasks, {rotations} rotations: {total} requests, 0 failed"
    );

    for output in &outputs {
        for secret in &secrets {
            assert!(!output.contains(secret.as_str()), "a token in:\n{output}");
        }
    }
    emulator.shutdown().await;
}

/// One follower "host", started by the test above as a process of its own: a client following
/// the Vault store, `FLEET_TASKS` tasks calling the emulator until stdin ends, then one summary
/// line (requests that succeeded by the fingerprint the client followed, and every failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a follower process of the fleet test, which starts it"]
async fn follower_process() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: the fleet test sets it"))
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let store: Arc<dyn TokenStore> = Arc::new(VaultTokenStore::from_url(&var(STORE_VAR)).unwrap());
    let interval = Duration::from_millis(var(INTERVAL_VAR).parse().unwrap());
    let client = Client::builder()
        .read_environment(false)
        .base_url(&var(BASE_URL_VAR))
        .build_following(store, interval)
        .await
        .unwrap();
    let tasks: usize = var(TASKS_VAR).parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let failed = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, stop, ok, failed) = (
                client.clone(),
                Arc::clone(&stop),
                Arc::clone(&ok),
                Arc::clone(&failed),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let following = client
                        .store_follower()
                        .and_then(|f| f.following())
                        .map(|(_, fingerprint)| fingerprint.to_string())
                        .unwrap_or_default();
                    match client.credentials().aws().list().page_size(1).send().await {
                        Ok(_) => *ok.lock().unwrap().entry(following).or_default() += 1,
                        Err(e) => failed.lock().unwrap().push(format!("{following}: {e}")),
                    }
                    tokio::time::sleep(CALL_PAUSE).await;
                }
            })
        })
        .collect();
    println!("{MARK}ready");
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new()))
        .await
        .unwrap()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let summary = json!({
        "ok": *ok.lock().unwrap(),
        "failed": *failed.lock().unwrap(),
    });
    println!("{MARK}{summary}");
}
