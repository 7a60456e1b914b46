//! Hosts that share nothing but a store server (issue 17, "Proof"): one rotator (the
//! `twilio-rotate` binary), N follower processes and two webhook validator processes, each in a
//! working directory of its own with an environment of its own (no shared file, no shared
//! variable: only the store's URL and what reaches the server). `vault_fleet.rs` runs it on
//! OpenBao, `aws_fleet.rs` on AWS Secrets Manager (moto).
//!
//! * Each follower calls the emulator from several tasks with a client that follows the store;
//!   each validator (`twilio_webhooks::Validator::follow` on the store) checks the webhooks this
//!   test sends it while the rotations run: genuine ones, signed by the emulator with its
//!   primary token of that instant as Twilio signs them, and forged ones (signed with a token of
//!   nobody's, or a parameter changed after signing).
//! * On Vault both kinds of follower publish heartbeats, and the rotations run with **no
//!   hand-off grace** (`rotate --grace 0`): only the fleet gate stands between staging and
//!   promotion, and each rotation's report says how many live followers it waited for (every
//!   follower and both validators).
//! * Secrets Manager keeps no heartbeats (each would be a billed write and a new version of the
//!   secret), so the gate has nobody to wait for and says so: there the **hand-off grace** is
//!   what protects the followers, and the rotations run with a grace of three reload intervals
//!   (`AWS_GRACE`). A grace shorter than one reload interval would promote before some follower
//!   has reloaded and seen the pending token; that follower would then send the revoked token
//!   until its next reload (`--grace 0` fails requests on AWS).
//! * Through every rotation: not one request fails, not one genuine webhook is rejected, not
//!   one forged one accepted, and no output of any process holds a token.
//!
//! Scale: the issue's, and CI's: `TWILIO_FLEET_PROCESSES` (default 20) processes ×
//! `TWILIO_FLEET_TASKS` (default 10) tasks through `TWILIO_FLEET_ROTATIONS` (default 10)
//! rotations, with 2 validators (figures in `docs/benchmarks.md`, "The fleet on Vault" and "The
//! fleet on AWS Secrets Manager"). Smaller for a quick run:
//! `TWILIO_FLEET_PROCESSES=4 TWILIO_FLEET_TASKS=4 TWILIO_FLEET_ROTATIONS=3`.

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
use twilio_store::{FollowerRole, Heartbeat, TokenFingerprint, TokenStore};
use twilio_store_aws::SecretsManagerStore;
use twilio_webhooks::{Algorithm, Validator, WebhookRequest};

use super::backend::Backend;
use super::support::temp_dir::TempDir;
use super::support::{BIN, text};

/// The follower and validator processes' settings (their whole environment, with what reaches
/// the store server).
const STORE_VAR: &str = "FLEET_STORE";
const BASE_URL_VAR: &str = "FLEET_BASE_URL";
const TASKS_VAR: &str = "FLEET_TASKS";
const INTERVAL_VAR: &str = "FLEET_INTERVAL_MS";

/// How often followers reload the record (their heartbeats live three of these).
pub(crate) const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// The hand-off grace on AWS, where no heartbeats exist and the grace alone protects the
/// followers: three reload intervals, so every follower reloads (and takes the pending token)
/// at least once before the promotion, with two intervals to spare on a loaded machine.
const AWS_GRACE: &str = "3";
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

/// The tests the fleet's processes run as (this binary started again, `--exact --ignored`):
/// every fleet test binary declares them with this macro.
macro_rules! fleet_processes {
    () => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "a follower process of the fleet tests, which start it"]
        async fn follower_process() {
            fleet::follower_process().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "a webhook validator process of the fleet test, which starts it"]
        async fn validator_process() {
            fleet::validator_process().await;
        }
    };
}
pub(crate) use fleet_processes;

pub(crate) fn setting(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
        Err(_) => default,
    }
}

/// One follower or validator process ("host"): its pid, what it printed, its stdin.
pub(crate) struct Process {
    pub(crate) child: Child,
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
    pub(crate) fn next_line(&self, timeout: Duration) -> String {
        self.lines.recv_timeout(timeout).unwrap_or_else(|e| {
            panic!(
                "process {}: no line ({e}); stderr:\n{}",
                self.child.id(),
                self.stderr.lock().unwrap()
            )
        })
    }

    /// Its heartbeat's follower id is `HOST:PID:RANDOM`.
    pub(crate) fn owns(&self, heartbeat: &Heartbeat) -> bool {
        heartbeat.follower.as_str().split(':').nth(1) == Some(self.child.id().to_string().as_str())
    }

    /// Tells a follower the final token's fingerprint: once its stdin ends it goes on until it
    /// has made a request with that token (so the summary shows it followed the last rotation).
    pub(crate) fn expect_final(&mut self, fingerprint: TokenFingerprint) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{fingerprint}").expect("write to a follower");
    }

    /// Ends its stdin (it then prints its summary and exits) and returns the summary.
    pub(crate) fn finish(&mut self) -> Value {
        drop(self.child.stdin.take());
        let summary =
            serde_json::from_str(&self.next_line(Duration::from_secs(60))).expect("a JSON summary");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{}", self.output());
        summary
    }

    pub(crate) fn output(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// `kill -SIG PID`, by the shell's builtin (no libc binding for one signal, and no
    /// reliance on a `kill` executable being installed).
    #[allow(dead_code)] // only the Vault fleet stops a follower
    pub(crate) fn signal(&self, signal: &str) {
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

/// What both cases share: the store server, the emulator, the record at `twilio/prod`
/// written by `init` on the rotator's host, and everything printed so far.
pub(crate) struct Fleet {
    backend: Backend,
    pub(crate) emulator: Arc<Emulator>,
    store_url: String,
    /// What reaches the store: on Vault a token with the rotator's or the follower's policy of
    /// the guide's recipe; on AWS the same fake keys for both.
    rotator_env: Vec<(String, String)>,
    follower_env: Vec<(String, String)>,
    rotator_dir: TempDir,
    pub(crate) secrets: Vec<String>,
    outputs: Vec<String>,
}

impl Fleet {
    pub(crate) async fn start(backend: Backend) -> Self {
        let emulator = Emulator::builder().start().await.unwrap();
        let store_url = backend.store_url("prod");
        let mut secrets = backend.secrets();
        secrets.push(emulator.auth_token().expose_secret().to_owned());
        let (rotator_env, follower_env) = match backend.bao() {
            Some(bao) => {
                let rotator = bao.token_with_policy("twilio-rotator", ROTATOR_POLICY);
                let follower = bao.token_with_policy("twilio-follower", FOLLOWER_POLICY);
                secrets.extend([rotator.clone(), follower.clone()]);
                (
                    vec![("VAULT_TOKEN".to_owned(), rotator)],
                    vec![("VAULT_TOKEN".to_owned(), follower)],
                )
            }
            None => (backend.env(), backend.env()),
        };
        let mut fleet = Self {
            backend,
            emulator: Arc::new(emulator),
            store_url,
            rotator_env,
            follower_env,
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

    /// `twilio-rotate --json ARGS` on the rotator's host, with only what reaches the store,
    /// the store and the emulator's URL (and `extra`) in its environment; the output is kept.
    pub(crate) fn rotate(&mut self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let output = Command::new(BIN)
            .arg("--json")
            .args(args)
            .current_dir(self.rotator_dir.dir())
            .env_clear()
            .envs(self.rotator_env.iter().map(|(k, v)| (k, v)))
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
    pub(crate) fn spawn(
        &self,
        role: &str,
        index: usize,
        tasks: usize,
        interval: Duration,
    ) -> Process {
        let mut env: Vec<(&str, String)> = self
            .follower_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        env.extend([
            (STORE_VAR, self.store_url.clone()),
            (BASE_URL_VAR, self.emulator.base_url()),
            (TASKS_VAR, tasks.to_string()),
            (INTERVAL_VAR, interval.as_millis().to_string()),
        ]);
        Process::spawn(role, index, &env)
    }

    /// The store as a third host reads it.
    pub(crate) fn reader(&self) -> Box<dyn TokenStore> {
        self.backend.reader(&self.store_url)
    }

    /// Waits until every one of `processes` has published a heartbeat (in `role`) holding
    /// `fingerprint`. (Not necessarily live at the instant it is read: on a loaded machine a
    /// follower may publish a little later than its heartbeat's three reload intervals.)
    pub(crate) async fn wait_for_heartbeats(
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
    pub(crate) fn assert_no_secret(&self, processes: &[&Process]) {
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
pub(crate) fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)))
}

/// The fleet gate's step in a rotation's JSON report.
pub(crate) fn gate_step(report: &Value) -> Value {
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

/// The fleet through the rotations: on Vault with `--grace 0` and the gate counting every
/// follower; on AWS with the grace (no heartbeats there).
pub(crate) async fn a_fleet_with_webhook_validators_follows_rotations(backend: Backend) {
    let gated = backend.has_heartbeats();
    let name = backend.name();
    let processes = setting("TWILIO_FLEET_PROCESSES", 20);
    let tasks = setting("TWILIO_FLEET_TASKS", 10);
    let rotations = setting("TWILIO_FLEET_ROTATIONS", 10);
    let started = Instant::now();
    let mut fleet = Fleet::start(backend).await;

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

    // The rotations, each while the fleet calls and the validators check webhooks. On Vault
    // with no grace: the gate alone waits for every follower and validator. On AWS the gate
    // has no heartbeats to count and says so; the grace does its work.
    let grace = if gated { "0" } else { AWS_GRACE };
    for rotation in 0..rotations {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rotate = fleet.rotate(&["rotate", "--grace", grace], &[]);
        assert_eq!(rotate.status.code(), Some(0), "{}", text(&rotate));
        let report = json_of(&rotate);
        assert_eq!(report["state"], "Rotated", "{report}");
        let gate = gate_step(&report);
        if gated {
            let everyone = processes + VALIDATORS;
            assert_eq!(gate["outcome"], "ok", "rotation {rotation}: {gate}");
            assert!(
                gate["note"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("{everyone} live follower(s) hold"))),
                "rotation {rotation}: the gate did not count {processes} followers and {VALIDATORS} validators: {gate}"
            );
        } else {
            assert_eq!(gate["outcome"], "skipped", "rotation {rotation}: {gate}");
        }
        let token = fleet.emulator.auth_token().expose_secret().to_owned();
        fleet.secrets.push(token);
    }
    let last = TokenFingerprint::of(&fleet.emulator.auth_token());

    // Every follower's and validator's heartbeat names the final token (on Vault; on AWS
    // each follower is told the final token below and ends once it has called with it).
    if gated {
        let clients: Vec<&Process> = followers.iter().collect();
        let checkers: Vec<&Process> = validators.iter().collect();
        fleet
            .wait_for_heartbeats(&clients, FollowerRole::Client, last)
            .await;
        fleet
            .wait_for_heartbeats(&checkers, FollowerRole::WebhookValidator, last)
            .await;
    }
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
        follower.expect_final(last);
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
        "fleet on {name}: {processes} processes x {tasks} tasks, {VALIDATORS} validators, \
         {rotations} rotations ({}): {requests} requests, 0 failed; webhooks: {genuine} \
         genuine, 0 rejected; {forged} forged, 0 accepted; {:.1} s",
        if gated {
            "grace 0, the gate".to_owned()
        } else {
            format!("grace {AWS_GRACE} s, no heartbeats")
        },
        started.elapsed().as_secs_f64()
    );
    fleet.assert_no_secret(&followers.iter().chain(&validators).collect::<Vec<_>>());
}

/// One follower "host", started by the fleet tests as a process of its own (the test
/// `follower_process` of their binary): a client following the store, `FLEET_TASKS` tasks
/// calling the emulator until stdin ends (and, if stdin named a fingerprint, until one call
/// with that token succeeded), then one summary line (requests that succeeded by the
/// fingerprint the client followed, and every failure).
pub(crate) async fn follower_process() {
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
    let last = read_stdin_to_end().await;
    if let Some(last) = last {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ok.lock().unwrap().contains_key(&last) && Instant::now() < deadline {
            tokio::time::sleep(CALL_PAUSE).await;
        }
    }
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

/// One webhook validator "host", started by the fleet test as a process of its own (the test
/// `validator_process` of its binary): `Validator::follow` on the store (publishing its heartbeat as a webhook validator),
/// checking each webhook the test writes to its stdin (one JSON line: URL, form parameters,
/// `X-Twilio-Signature`, and whether the test signed it genuinely) the moment it arrives;
/// at the end of stdin, one summary line.
pub(crate) async fn validator_process() {
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
/// stderr, the store (Vault or AWS, by its URL's scheme) and the reload interval the test named.
fn fleet_process() -> (Arc<dyn TokenStore>, Duration) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let url = fleet_var(STORE_VAR);
    let store: Arc<dyn TokenStore> = if url.starts_with("aws-sm://") {
        Arc::new(SecretsManagerStore::from_url(&url).unwrap())
    } else {
        Arc::new(VaultTokenStore::from_url(&url).unwrap())
    };
    let interval = Duration::from_millis(fleet_var(INTERVAL_VAR).parse().unwrap());
    (store, interval)
}

/// Reads stdin to its end; the last line it held, if any (the final token's fingerprint).
async fn read_stdin_to_end() -> Option<String> {
    tokio::task::spawn_blocking(|| {
        std::io::stdin()
            .lines()
            .map_while(Result::ok)
            .filter(|line| !line.trim().is_empty())
            .last()
    })
    .await
    .unwrap()
}
