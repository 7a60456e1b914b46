//! Hosts that share nothing but an OpenBao server (issue 17, "Proof"): one rotator (the
//! `twilio-rotate` binary), N follower processes and two webhook validator processes, each in a
//! working directory of its own with an environment of its own (no shared file, no shared
//! variable: only the Vault URL and a token).
//!
//! * Each follower calls the emulator from several tasks with a client that follows the Vault
//!   store; each validator (`twilio_webhooks::Validator::follow` on the Vault store) checks the
//!   webhooks this test sends it while the rotations run: genuine ones, signed by the emulator
//!   with its primary token of that instant as Twilio signs them, and forged ones (signed with a
//!   token of nobody's, or a parameter changed after signing). Both kinds of follower publish
//!   heartbeats to Vault.
//! * The rotations run with **no hand-off grace** (`rotate --grace 0`): only the fleet gate
//!   stands between staging and promotion, and each rotation's report says how many live
//!   followers it waited for (every follower and both validators). Through every rotation: not
//!   one request fails, not one genuine webhook is rejected, not one forged one accepted, and
//!   no output of any process holds a token.
//! * A second case stops one follower (SIGSTOP) with a long-lived heartbeat: `rotate --max-wait`
//!   waits for it and then, by the default policy, does not promote (nothing changed, a
//!   `resume` does the same with the recorded max-wait, `status` names the follower it waits
//!   for); `complete --force --gate-policy promote-anyway` (forced
//!   past the hand-off grace only) then promotes after the max-wait.
//!
//! Scale: the issue's, and CI's: `TWILIO_FLEET_PROCESSES` (default 20) processes ×
//! `TWILIO_FLEET_TASKS` (default 10) tasks through `TWILIO_FLEET_ROTATIONS` (default 10)
//! rotations, with 2 validators: about 50,000 requests and 6,000 webhooks in under a minute on
//! two shared cores (figures in `docs/benchmarks.md`, "The fleet on Vault"). Smaller for a quick
//! run: `TWILIO_FLEET_PROCESSES=4 TWILIO_FLEET_TASKS=4 TWILIO_FLEET_ROTATIONS=3`.

// The store crate's helper starts the servers; these tests use part of it.
#[allow(dead_code)]
#[path = "../../twilio-store/tests/vault/bao.rs"]
mod bao;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use twilio_accounts::Client;
use twilio_emulator::Emulator;
use twilio_store::vault::VaultTokenStore;
use twilio_store::{FollowerRole, Heartbeat, RotationPhase, TokenFingerprint, TokenStore};
use twilio_webhooks::{Algorithm, Validator, WebhookRequest};

use bao::Bao;

// Only `BIN` and `text`: the fleet runs the CLI with an environment of its own.
#[allow(dead_code)]
mod support;
use support::temp_dir::TempDir;
use support::{BIN, text};

/// The follower and validator processes' settings (their whole environment, with
/// `VAULT_TOKEN`).
const STORE_VAR: &str = "FLEET_STORE";
const BASE_URL_VAR: &str = "FLEET_BASE_URL";
const TASKS_VAR: &str = "FLEET_TASKS";
const INTERVAL_VAR: &str = "FLEET_INTERVAL_MS";

/// How often followers reload the record (their heartbeats live three of these).
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// The pause of each follower task between two requests.
const CALL_PAUSE: Duration = Duration::from_millis(50);
/// The pause between two rounds of webhooks (one genuine and one forged to each validator).
const WEBHOOK_PAUSE: Duration = Duration::from_millis(20);
/// The webhook validator processes.
const VALIDATORS: usize = 2;
/// What marks a process's own lines in its output (the test harness writes there too).
const MARK: &str = "FLEET ";

/// The policies of the rotation guide's Vault recipe, for `secret/twilio/prod` (the rotator
/// removes the heartbeats of followers gone for good).
const ROTATOR_POLICY: &str = r#"
path "secret/data/twilio/prod"                  { capabilities = ["read", "create", "update"] }
path "secret/data/twilio/prod.followers/*"      { capabilities = ["read"] }
path "secret/metadata/twilio/prod.followers"    { capabilities = ["list"] }
path "secret/metadata/twilio/prod.followers/*"  { capabilities = ["read", "delete"] }
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

/// One follower or validator process ("host"): its pid, what it printed, its stdin.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl Process {
    /// This test binary again, running only the ignored test `role` (`follower_process` or
    /// `validator_process`), with nothing but `env`.
    fn spawn(role: &str, index: usize, env: &[(&str, String)]) -> Self {
        let dir = TempDir::new(&format!("fleet-{role}-{index}"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                role,
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
            .expect("start a fleet process");
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

    /// The process's next own line, within `timeout`.
    fn next_line(&self, timeout: Duration) -> String {
        self.lines.recv_timeout(timeout).unwrap_or_else(|e| {
            panic!(
                "process {}: no line ({e}); stderr:\n{}",
                self.child.id(),
                self.stderr.lock().unwrap()
            )
        })
    }

    /// Its heartbeat's follower id is `HOST:PID:RANDOM`.
    fn owns(&self, heartbeat: &Heartbeat) -> bool {
        heartbeat.follower.as_str().split(':').nth(1) == Some(self.child.id().to_string().as_str())
    }

    /// Ends its stdin (it then prints its summary and exits) and returns the summary.
    fn finish(&mut self) -> Value {
        drop(self.child.stdin.take());
        let summary =
            serde_json::from_str(&self.next_line(Duration::from_secs(60))).expect("a JSON summary");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{}", self.output());
        summary
    }

    fn output(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// `kill -SIG PID`, by the shell's builtin (no libc binding for one signal, and no
    /// reliance on a `kill` executable being installed).
    fn signal(&self, signal: &str) {
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {}", self.child.id())])
            .status()
            .expect("run sh");
        assert!(status.success(), "kill -{signal}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What both cases share: an OpenBao server, the emulator, the record at `secret/twilio/prod`
/// written by `init` on the rotator's host, and everything printed so far.
struct Fleet {
    _bao: Bao,
    emulator: Arc<Emulator>,
    store_url: String,
    rotator_token: String,
    follower_token: String,
    rotator_dir: TempDir,
    secrets: Vec<String>,
    outputs: Vec<String>,
}

impl Fleet {
    async fn start(binary: &std::path::Path) -> Self {
        let bao = Bao::dev(binary);
        let emulator = Emulator::builder().start().await.unwrap();
        let store_url = format!("vault+http://127.0.0.1:{}/secret/twilio/prod", bao.port());
        let rotator_token = bao.token_with_policy("twilio-rotator", ROTATOR_POLICY);
        let follower_token = bao.token_with_policy("twilio-follower", FOLLOWER_POLICY);
        let secrets = vec![
            bao.root_token.clone(),
            rotator_token.clone(),
            follower_token.clone(),
            emulator.auth_token().expose_secret().to_owned(),
        ];
        let mut fleet = Self {
            _bao: bao,
            emulator: Arc::new(emulator),
            store_url,
            rotator_token,
            follower_token,
            rotator_dir: TempDir::new("fleet-rotator"),
            secrets,
            outputs: Vec::new(),
        };
        let sid = fleet.emulator.account_sid();
        let first = fleet.emulator.auth_token();
        let init = fleet.rotate(
            &["init"],
            &[
                ("TWILIO_ACCOUNT_SID", sid.as_str()),
                ("TWILIO_AUTH_TOKEN", first.expose_secret()),
            ],
        );
        assert_eq!(init.status.code(), Some(0), "{}", text(&init));
        fleet
    }

    /// `twilio-rotate --json ARGS` on the rotator's host, with only its Vault token, the store
    /// and the emulator's URL (and `extra`) in its environment; the output is kept.
    fn rotate(&mut self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let output = Command::new(BIN)
            .arg("--json")
            .args(args)
            .current_dir(self.rotator_dir.dir())
            .env_clear()
            .env("VAULT_TOKEN", &self.rotator_token)
            .env("TWILIO_ROTATE_STORE", &self.store_url)
            .env("TWILIO_ROTATE_BASE_URL", self.emulator.base_url())
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run twilio-rotate");
        self.outputs.push(text(&output));
        output
    }

    /// A follower or validator process reloading every `interval`.
    fn spawn(&self, role: &str, index: usize, tasks: usize, interval: Duration) -> Process {
        let env = [
            ("VAULT_TOKEN", self.follower_token.clone()),
            (STORE_VAR, self.store_url.clone()),
            (BASE_URL_VAR, self.emulator.base_url()),
            (TASKS_VAR, tasks.to_string()),
            (INTERVAL_VAR, interval.as_millis().to_string()),
        ];
        Process::spawn(role, index, &env)
    }

    /// The store as a third host (with the rotator's token) reads it.
    fn reader(&self) -> VaultTokenStore {
        let token = self.rotator_token.clone();
        VaultTokenStore::from_url_and_env(&self.store_url, |name| {
            (name == "VAULT_TOKEN").then(|| token.clone())
        })
        .unwrap()
    }

    /// Waits until every one of `processes` has published a heartbeat (in `role`) holding
    /// `fingerprint`. (Not necessarily live at the instant it is read: on a loaded machine a
    /// follower may publish a little later than its heartbeat's three reload intervals.)
    async fn wait_for_heartbeats(
        &self,
        processes: &[&Process],
        role: FollowerRole,
        fingerprint: TokenFingerprint,
    ) {
        let reader = self.reader();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let heartbeats = reader.heartbeats().await.unwrap();
            let holding = processes
                .iter()
                .filter(|p| {
                    heartbeats
                        .iter()
                        .any(|h| p.owns(h) && h.role == role && h.holds(fingerprint))
                })
                .count();
            if holding == processes.len() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{holding} of {} {role:?} processes report {fingerprint}: {heartbeats:?}",
                processes.len()
            );
            tokio::time::sleep(RELOAD_INTERVAL / 5).await;
        }
    }

    /// No output of any process holds a token (or a Vault token).
    fn assert_no_secret(&self, processes: &[&Process]) {
        let mut outputs = self.outputs.clone();
        outputs.extend(processes.iter().map(|p| p.output()));
        for output in &outputs {
            for secret in &self.secrets {
                assert!(!output.contains(secret.as_str()), "a token in:\n{output}");
            }
        }
    }
}

/// The JSON a `twilio-rotate --json` run printed.
fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)))
}

/// The fleet gate's step in a rotation's JSON report.
fn gate_step(report: &Value) -> Value {
    report["steps"]
        .as_array()
        .and_then(|steps| {
            steps
                .iter()
                .find(|s| s["step"] == "fleet_acknowledgement")
                .cloned()
        })
        .unwrap_or_else(|| panic!("no fleet gate step in {report}"))
}

/// Sends webhooks to the validators until `stop`: each round, to each validator, one genuine
/// webhook (signed as Twilio signs: by the emulator, with its primary token of that instant)
/// and one forged one (alternately signed with a token of nobody's, and a genuine signature
/// over a parameter changed afterwards). Returns how many of each it sent.
fn send_webhooks(
    emulator: Arc<Emulator>,
    mut validators: Vec<ChildStdin>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut genuine, mut forged) = (0, 0);
        let nobodys = format!("{:032x}", fastrand::u128(..));
        let mut round = 0_u64;
        while !stop.load(Ordering::Relaxed) {
            round += 1;
            for (v, stdin) in validators.iter_mut().enumerate() {
                let url = format!("https://hooks-{v}.example.com/twilio/sms?round={round}");
                let body = format!("webhook {round}");
                let params = [("From", "+15551230000"), ("Body", body.as_str())];
                let signature = emulator.sign_webhook(&url, &params);
                let send = |stdin: &mut ChildStdin, genuine: bool, params: &[(&str, &str)], sig| {
                    let line = json!({ "url": url, "params": params, "signature": sig, "genuine": genuine });
                    writeln!(stdin, "{line}").expect("write to a validator");
                };
                send(stdin, true, &params, signature.clone());
                genuine += 1;
                if round.is_multiple_of(2) {
                    let wrong = twilio_webhooks::sign(Algorithm::HmacSha1, &nobodys, &url, &params);
                    send(stdin, false, &params, wrong);
                } else {
                    let changed = [("From", "+15559990000"), ("Body", body.as_str())];
                    send(stdin, false, &changed, signature);
                }
                forged += 1;
            }
            std::thread::sleep(WEBHOOK_PAUSE);
        }
        (genuine, forged)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_with_webhook_validators_follows_rotations_through_the_gate() {
    let Some(binary) = bao::binary() else { return };
    let processes = setting("TWILIO_FLEET_PROCESSES", 20);
    let tasks = setting("TWILIO_FLEET_TASKS", 10);
    let rotations = setting("TWILIO_FLEET_ROTATIONS", 10);
    let started = Instant::now();
    let mut fleet = Fleet::start(&binary).await;

    // The followers' and validators' hosts.
    let mut followers: Vec<Process> = (0..processes)
        .map(|i| fleet.spawn("follower_process", i, tasks, RELOAD_INTERVAL))
        .collect();
    let mut validators: Vec<Process> = (0..VALIDATORS)
        .map(|i| fleet.spawn("validator_process", i, 0, RELOAD_INTERVAL))
        .collect();
    for process in followers.iter().chain(&validators) {
        assert_eq!(process.next_line(Duration::from_secs(60)), "ready");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sender = send_webhooks(
        Arc::clone(&fleet.emulator),
        validators
            .iter_mut()
            .map(|v| v.child.stdin.take().unwrap())
            .collect(),
        Arc::clone(&stop),
    );

    // The rotations, each while the fleet calls and the validators check webhooks, with no
    // grace: the gate alone waits for every follower and validator.
    for rotation in 0..rotations {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rotate = fleet.rotate(&["rotate", "--grace", "0"], &[]);
        assert_eq!(rotate.status.code(), Some(0), "{}", text(&rotate));
        let report = json_of(&rotate);
        assert_eq!(report["state"], "Rotated", "{report}");
        let gate = gate_step(&report);
        let everyone = processes + VALIDATORS;
        assert_eq!(gate["outcome"], "ok", "rotation {rotation}: {gate}");
        assert!(
            gate["note"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{everyone} live follower(s) hold"))),
            "rotation {rotation}: the gate did not count {processes} followers and {VALIDATORS} validators: {gate}"
        );
        let token = fleet.emulator.auth_token().expose_secret().to_owned();
        fleet.secrets.push(token);
    }
    let last = TokenFingerprint::of(&fleet.emulator.auth_token());

    // Every follower's and validator's heartbeat names the final token.
    let clients: Vec<&Process> = followers.iter().collect();
    let checkers: Vec<&Process> = validators.iter().collect();
    fleet
        .wait_for_heartbeats(&clients, FollowerRole::Client, last)
        .await;
    fleet
        .wait_for_heartbeats(&checkers, FollowerRole::WebhookValidator, last)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Stop the webhooks, then every process (end of stdin), and read each summary.
    stop.store(true, Ordering::Relaxed);
    let (genuine_sent, forged_sent) = sender.join().expect("the webhook sender");
    let (mut genuine, mut forged) = (0, 0);
    for validator in &mut validators {
        let summary = validator.finish();
        assert_eq!(
            summary["genuine_rejected"],
            json!([]),
            "{}",
            validator.output()
        );
        assert_eq!(
            summary["forged_accepted"],
            json!([]),
            "{}",
            validator.output()
        );
        genuine += summary["genuine_accepted"].as_u64().unwrap();
        forged += summary["forged_rejected"].as_u64().unwrap();
    }
    assert_eq!(
        (genuine, forged),
        (genuine_sent, forged_sent),
        "every webhook sent was checked"
    );
    let mut requests = 0;
    for follower in &mut followers {
        let summary = follower.finish();
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
        requests += ok.values().filter_map(Value::as_u64).sum::<u64>();
    }
    eprintln!(
        "fleet: {processes} processes x {tasks} tasks, {VALIDATORS} validators, {rotations} \
         rotations (grace 0, the gate): {requests} requests, 0 failed; webhooks: {genuine} \
         genuine, 0 rejected; {forged} forged, 0 accepted; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    fleet.assert_no_secret(&followers.iter().chain(&validators).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_stops_heartbeating_holds_the_promotion_until_the_policy_decides() {
    let Some(binary) = bao::binary() else { return };
    let mut fleet = Fleet::start(&binary).await;
    let first = TokenFingerprint::of(&fleet.emulator.auth_token());
    let mut follower = fleet.spawn("follower_process", 0, 2, RELOAD_INTERVAL);
    // A follower whose heartbeat lives a minute (three of its 20 s reloads), stopped once it
    // has published one: it holds only the first token until its heartbeat expires.
    let stuck = fleet.spawn("follower_process", 1, 1, Duration::from_secs(20));
    for process in [&follower, &stuck] {
        assert_eq!(process.next_line(Duration::from_secs(60)), "ready");
    }
    fleet
        .wait_for_heartbeats(&[&follower, &stuck], FollowerRole::Client, first)
        .await;
    stuck.signal("STOP");
    let stuck_id = {
        let beats = fleet.reader().heartbeats().await.unwrap();
        beats
            .iter()
            .find(|b| stuck.owns(b))
            .unwrap()
            .follower
            .to_string()
    };

    // Do not promote (the default policy): `rotate` stages, waits the max-wait at the gate,
    // and stops there; nothing changed at Twilio, the token is still pending in the store.
    let waited = Instant::now();
    let refused = fleet.rotate(&["rotate", "--grace", "0", "--max-wait", "3"], &[]);
    let waited = waited.elapsed();
    // 3: this run staged a token it did not promote (`resume` once the fleet holds it).
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(waited >= Duration::from_secs(3), "did not wait: {waited:?}");
    let said = text(&refused);
    assert!(
        said.contains(&stuck_id) && said.contains("did not promote it"),
        "the refusal does not name the stuck follower: {said}"
    );
    let record = fleet.reader().load().await.unwrap().unwrap();
    assert_eq!(record.phase, RotationPhase::Staged, "{said}");
    assert_eq!(record.current.fingerprint(), first, "{said}");
    let pending = record
        .pending
        .as_ref()
        .expect("still pending")
        .fingerprint();
    assert_eq!(
        TokenFingerprint::of(&fleet.emulator.auth_token()),
        first,
        "Twilio's primary changed"
    );
    fleet.secrets.push(
        record
            .pending
            .as_ref()
            .unwrap()
            .token()
            .expose_secret()
            .to_owned(),
    );

    // `resume` (from a scheduled job, say) keeps the choices the rotation recorded: it waits
    // the recorded 3 s, not the default 60 s, and refuses by the recorded policy.
    let waited = Instant::now();
    let resumed = fleet.rotate(&["resume"], &[]);
    let waited = waited.elapsed();
    // 1: not done, nothing changed (the follower still lags).
    assert_eq!(resumed.status.code(), Some(1), "{}", text(&resumed));
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(30),
        "resume waited {waited:?}, not the recorded max-wait: {}",
        text(&resumed)
    );
    assert!(text(&resumed).contains(&stuck_id), "{}", text(&resumed));
    assert_eq!(
        TokenFingerprint::of(&fleet.emulator.auth_token()),
        first,
        "resume promoted"
    );

    // `status` names whom the gate waits for.
    let status = fleet.rotate(&["status"], &[]);
    let json = json_of(&status);
    let lagging = json.to_string();
    assert!(
        lagging.contains(&format!("\"lagging\":[\"{stuck_id}\"]")),
        "status does not say the gate waits for {stuck_id}: {json}"
    );

    // Promote anyway: `complete` (forced past the hand-off grace, which is not what holds it
    // up) waits the max-wait again at the gate, then promotes.
    let waited = Instant::now();
    let promoted = fleet.rotate(
        &[
            "complete",
            "--force",
            "--max-wait",
            "3",
            "--gate-policy",
            "promote-anyway",
        ],
        &[],
    );
    let waited = waited.elapsed();
    assert_eq!(promoted.status.code(), Some(0), "{}", text(&promoted));
    assert!(waited >= Duration::from_secs(3), "did not wait: {waited:?}");
    let report = json_of(&promoted);
    assert_eq!(report["state"], "Rotated", "{report}");
    let gate = gate_step(&report);
    assert_eq!(gate["outcome"], "skipped", "{gate}");
    assert!(
        gate["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("promoting anyway after 3.0s") && n.contains(&stuck_id)),
        "{gate}"
    );
    assert_eq!(TokenFingerprint::of(&fleet.emulator.auth_token()), pending);

    // The follower that kept heartbeating never failed a request.
    fleet
        .wait_for_heartbeats(&[&follower], FollowerRole::Client, pending)
        .await;
    let summary = follower.finish();
    assert_eq!(summary["failed"], json!([]), "{}", follower.output());
    fleet.assert_no_secret(&[&follower, &stuck]);
}

/// One follower "host", started by the tests above as a process of its own: a client following
/// the Vault store, `FLEET_TASKS` tasks calling the emulator until stdin ends, then one summary
/// line (requests that succeeded by the fingerprint the client followed, and every failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a follower process of the fleet tests, which start it"]
async fn follower_process() {
    let (store, interval) = fleet_process();
    let client = Client::builder()
        .read_environment(false)
        .base_url(&fleet_var(BASE_URL_VAR))
        .build_following(store, interval)
        .await
        .unwrap();
    let tasks: usize = fleet_var(TASKS_VAR).parse().unwrap();
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
    read_stdin_to_end().await;
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

/// One webhook validator "host", started by the fleet test as a process of its own:
/// `Validator::follow` on the Vault store (publishing its heartbeat as a webhook validator),
/// checking each webhook the test writes to its stdin (one JSON line: URL, form parameters,
/// `X-Twilio-Signature`, and whether the test signed it genuinely) the moment it arrives;
/// at the end of stdin, one summary line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a webhook validator process of the fleet test, which starts it"]
async fn validator_process() {
    let (store, interval) = fleet_process();
    let record = store.load().await.unwrap().expect("the record");
    let validator = Validator::from_record(&record);
    tokio::spawn(validator.follow(store, interval, tokio::time::sleep));
    println!("{MARK}ready");
    let checked = tokio::task::spawn_blocking(move || {
        let (mut genuine_accepted, mut forged_rejected) = (0_u64, 0_u64);
        let (mut genuine_rejected, mut forged_accepted) = (Vec::new(), Vec::new());
        for line in std::io::stdin().lines() {
            let webhook: Value = serde_json::from_str(&line.unwrap()).expect("a webhook line");
            let params: Vec<(&str, &str)> = webhook["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                .collect();
            let request = WebhookRequest::new(webhook["url"].as_str().unwrap())
                .signature(webhook["signature"].as_str())
                .params(params);
            let result = validator.validate(&request);
            match (webhook["genuine"].as_bool().unwrap(), result) {
                (true, Ok(_)) => genuine_accepted += 1,
                (true, Err(e)) => genuine_rejected.push(format!("{}: {e}", webhook["url"])),
                (false, Ok(v)) => {
                    forged_accepted.push(format!("{}: {:?}", webhook["url"], v.key()))
                }
                (false, Err(_)) => forged_rejected += 1,
            }
        }
        json!({
            "genuine_accepted": genuine_accepted,
            "genuine_rejected": genuine_rejected,
            "forged_accepted": forged_accepted,
            "forged_rejected": forged_rejected,
        })
    })
    .await
    .unwrap();
    println!("{MARK}{checked}");
}

/// A setting the fleet test gave this process.
fn fleet_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: the fleet test sets it"))
}

/// What every fleet process starts with: warnings (a failed reload or heartbeat) logged to
/// stderr, the Vault store and the reload interval the test named.
fn fleet_process() -> (Arc<dyn TokenStore>, Duration) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let store = VaultTokenStore::from_url(&fleet_var(STORE_VAR)).unwrap();
    let interval = Duration::from_millis(fleet_var(INTERVAL_VAR).parse().unwrap());
    (Arc::new(store), interval)
}

async fn read_stdin_to_end() {
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new()))
        .await
        .unwrap()
        .unwrap();
}
