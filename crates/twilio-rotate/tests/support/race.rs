//! Issue 17's proof on a shared store server (OpenBao, or AWS Secrets Manager on moto), with
//! real `twilio-rotate` processes on separate "hosts" (each its own working directory and an
//! environment holding only what reaches the store) and the `twilio-emulator` binary. Each case
//! takes a [`Backend`]; `vault_race.rs` and `aws_race.rs` run every case on theirs:
//! - two rotators started together: exactly one rotates, the other is refused by the lease
//!   or the store's compare-and-swap (exit 1) and changes nothing; the store then matches the
//!   emulator after one rotation;
//! - the store server taken away while the promotion is on its way to Twilio (OpenBao
//!   SIGKILLed, its raft data kept; moto SIGSTOPped, as it keeps its data in memory only): the
//!   rotation is left resumable, and once the server is back `resume` from another process
//!   finishes it, no token lost;
//! - the crash matrix: the rotator SIGKILLed at every checkpoint, its lease then standing for
//!   a rotator on another host (which this host cannot see die): `resume` from another process
//!   is refused while the lease lives and restores the invariant once it expires;
//! - the same at random instants (seeded: `CRASH_SEED`, printed; `VAULT_CRASH_RUNS` /
//!   `AWS_CRASH_RUNS` kills): the rotator SIGKILLed anywhere in its run, its lease (if it held
//!   one) standing for another host's until it expires, then `resume` from another process ends
//!   `Rotated` or `Unchanged` with the store matching the emulator and no token lost.
//!
//! After each `resume` the record matches the emulator, and on AWS the labels an AWS-native
//! reader sees (`AWSCURRENT`, `AWSPENDING`, `AWSPREVIOUS`) match the record. Every output is
//! searched for every token.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twilio_store::{Lease, LeaseOwner, RotationPhase, TokenRecord, TokenStore};

use super::backend::Backend;
use super::emulator::EmulatorProcess;
use super::running::Running;
use super::temp_dir::TempDir;

const ROTATE: &str = env!("CARGO_BIN_EXE_twilio-rotate");

/// The cases below as the tests of one binary: each on a fresh server from `$backend`
/// (`$persistent` for the store that goes away: its data must survive that), `$random_runs`
/// random kills by default.
macro_rules! race_tests {
    ($backend:expr, $persistent:expr, $random_runs:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_rotators_race_exactly_one_rotates() {
            let Some(backend) = $backend else { return };
            race::two_rotators_race_exactly_one_rotates(backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_store_gone_mid_promotion_leaves_a_resumable_rotation() {
            let Some(backend) = $persistent else { return };
            race::a_store_gone_mid_promotion_leaves_a_resumable_rotation(backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn killed_at_every_checkpoint_resume_from_another_host_after_the_lease() {
            let Some(backend) = $backend else { return };
            race::killed_at_every_checkpoint_resume_from_another_host_after_the_lease(backend)
                .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn killed_at_random_instants_resume_from_another_host_after_the_lease() {
            let Some(backend) = $backend else { return };
            race::killed_at_random_instants_resume_from_another_host_after_the_lease(
                backend,
                $random_runs,
            )
            .await;
        }
    };
}
pub(crate) use race_tests;

/// One "host": a working directory of its own, removed when dropped.
struct Host(TempDir);

impl Host {
    fn new(name: &str) -> Self {
        Self(TempDir::new(&format!("race-{name}")))
    }

    /// `twilio-rotate --store STORE --base-url URL --json ARGS`, run in this host's directory
    /// with nothing in its environment but what reaches the store (`env`) and `extra`.
    fn command(
        &self,
        store: &str,
        emulator: &EmulatorProcess,
        env: &[(String, String)],
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> Command {
        let mut cmd = Command::new(ROTATE);
        cmd.env_clear()
            .current_dir(self.0.dir())
            .args(["--store", store, "--base-url", &emulator.base_url, "--json"])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied())
            .stdin(Stdio::null());
        cmd
    }
}

/// `init` with the emulator's first token.
fn init(host: &Host, store: &str, emulator: &EmulatorProcess, env: &[(String, String)]) -> Output {
    let output = host
        .command(
            store,
            emulator,
            env,
            &["init"],
            &[
                ("TWILIO_ACCOUNT_SID", emulator.account_sid.as_str()),
                ("TWILIO_AUTH_TOKEN", emulator.first_token.as_str()),
            ],
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "init: {}", text(&output));
    output
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The record as a third host reads it.
async fn record(store: &dyn TokenStore) -> TokenRecord {
    store.load().await.expect("load").expect("a record")
}

/// The store matches the emulator: idle, `current` is Twilio's primary, and every token
/// Twilio accepts is stored; on AWS the labels match the record too.
async fn assert_matches(
    backend: &Backend,
    store: &str,
    case: &str,
    record: &TokenRecord,
    emulator: &EmulatorProcess,
) {
    let accepted = emulator.accepted();
    assert_eq!(record.phase, RotationPhase::Idle, "{case}");
    assert!(record.pending.is_none(), "{case}: still pending");
    // A rotator killed after taking the lease, before it changed anything, leaves an `Idle`
    // record with its lease; `resume` (nothing to resume: one check of the stored token)
    // leaves that lease, which no longer holds anyone up once expired.
    let now = time::OffsetDateTime::now_utc();
    assert!(
        record.lease.as_ref().is_none_or(|l| l.expires_at <= now),
        "{case}: a live lease left behind"
    );
    assert_eq!(
        record.current.fingerprint().to_string(),
        accepted.primary,
        "{case}: current is not Twilio's primary"
    );
    let stored: Vec<String> = record
        .tokens()
        .map(|(_, t)| t.fingerprint().to_string())
        .collect();
    for fingerprint in std::iter::once(&accepted.primary).chain(&accepted.secondary) {
        assert!(
            stored.contains(fingerprint),
            "{case}: Twilio accepts {fingerprint}, the store holds {stored:?}"
        );
    }
    backend.assert_native_view(case, store, record).await;
}

/// `resume` succeeded and ended `Rotated` or `Unchanged` (printed with `case`).
fn assert_resumed(case: &str, resumed: &Output) {
    assert_eq!(resumed.status.code(), Some(0), "{case}: {}", text(resumed));
    let json: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    let state = json["state"].as_str().unwrap_or_default();
    assert!(
        state == "Rotated" || state == "Unchanged",
        "{case}: resume ended in {json}"
    );
    eprintln!("{case}: resume ended in {state}");
}

/// Every token the record holds.
fn tokens_of(record: &TokenRecord) -> impl Iterator<Item = String> + '_ {
    record
        .tokens()
        .map(|(_, t)| t.token().expose_secret().to_owned())
}

fn assert_no_secret(outputs: &[String], secrets: &[String]) {
    for output in outputs {
        for secret in secrets {
            assert!(!output.contains(secret.as_str()), "a secret in:\n{output}");
        }
    }
}

/// Two rotators on two hosts start together, three times: exactly one rotates each time.
pub(crate) async fn two_rotators_race_exactly_one_rotates(backend: Backend) {
    let emulator = EmulatorProcess::start(Duration::ZERO);
    let store = backend.store_url("race");
    let env = backend.env();
    let third_host = backend.reader(&store);
    let (a, b) = (Host::new("a"), Host::new("b"));
    let mut outputs = vec![text(&init(&a, &store, &emulator, &env))];
    let mut secrets = backend.secrets();
    secrets.push(emulator.first_token.clone());

    for round in 0..3 {
        let before = record(&*third_host).await;
        // Both start at once; the winner then holds the lease through a 2 s hand-off grace,
        // far longer than the loser needs to start and ask for it.
        let rotate = |host: &Host| {
            Running::spawn(host.command(&store, &emulator, &env, &["rotate", "--grace", "2"], &[]))
        };
        let (first, second) = (rotate(&a), rotate(&b));
        let results = [first.wait(), second.wait()];
        for (_, stdout, stderr) in &results {
            outputs.push(format!("{stdout}{stderr}"));
        }
        let case = format!("{} round {round}: {results:?}", backend.name());
        let winners: Vec<_> = results.iter().filter(|r| r.0 == Some(0)).collect();
        let losers: Vec<_> = results.iter().filter(|r| r.0 != Some(0)).collect();
        assert_eq!((winners.len(), losers.len()), (1, 1), "{case}");
        let (code, stdout, stderr) = losers[0];
        assert_eq!(*code, Some(1), "{case}: the loser's exit code");
        let json: Value = serde_json::from_str(stdout.trim()).expect("the loser's JSON");
        assert_eq!(json["locked_by_another_run"], true, "{case}");
        let error = json["error"].as_str().unwrap_or_default();
        // Refused by the lease, or (when both read the record before either took the lease)
        // by the store's compare-and-swap on the write that would have taken it: Vault's
        // check-and-set, or Secrets Manager refusing to move the record's label.
        assert!(
            error.contains("another rotation holds the lease")
                || error.contains("check-and-set refused the write; nothing was written")
                || error.contains("nothing was written"),
            "{case}"
        );
        assert!(!stderr.contains("ERROR"), "{case}");
        let json: Value = serde_json::from_str(winners[0].1.trim()).expect("the winner's JSON");
        assert_eq!(json["state"], "Rotated", "{case}");

        // Exactly one rotation: the token current before the round is now `previous`, and
        // Twilio's primary is the new `current`.
        let after = record(&*third_host).await;
        assert_matches(&backend, &store, &case, &after, &emulator).await;
        let previous = after.previous.as_ref().expect("a previous token");
        assert_eq!(
            previous.fingerprint(),
            before.current.fingerprint(),
            "{case}: more than one rotation"
        );
        assert_ne!(
            after.current.fingerprint(),
            before.current.fingerprint(),
            "{case}"
        );
        secrets.extend(tokens_of(&after));
    }
    assert_no_secret(&outputs, &secrets);
}

/// The store server goes away while the promotion is on its way to Twilio; once it is back,
/// `resume` on another host finishes the rotation. `backend` must keep its data through
/// [`Backend::take_away`] (a persistent OpenBao, or moto).
pub(crate) async fn a_store_gone_mid_promotion_leaves_a_resumable_rotation(mut backend: Backend) {
    let emulator = EmulatorProcess::start(Duration::ZERO);
    let store = backend.store_url("prod");
    let env = backend.env();
    let third_host = backend.reader(&store);
    let (a, b) = (Host::new("a"), Host::new("b"));
    let mut outputs = vec![text(&init(&a, &store, &emulator, &env))];
    let first = record(&*third_host).await;

    // The rotation records `Promoting` (both tokens stored), then the server goes away while
    // the promotion is on its way to Twilio (1 s of latency per request: it goes long before
    // the rotator's next write), so Twilio promotes and the store cannot record it.
    let first_fingerprint = first.current.fingerprint().to_string();
    emulator.set_latency(Duration::from_secs(1));
    let rotating = Running::spawn(a.command(
        &store,
        &emulator,
        &env,
        &["rotate", "--grace", "0"],
        &[("TWILIO_ROTATE_PAUSE_AT", "promoting@mark")],
    ));
    assert!(rotating.wait_for_marker(), "never reached promoting");
    backend.take_away();
    if backend.name() == "vault" {
        // A server that is gone refuses connections: the rotator says so and stops.
        let (code, stdout, stderr) = rotating.wait();
        outputs.push(format!("{stdout}{stderr}"));
        // Twilio promoted the new token: not "nothing decided" (4) but "unfinished: run
        // resume" (3), and the report says the store could not record it.
        assert_eq!(code, Some(3), "{stdout}{stderr}");
        let report: Value = serde_json::from_str(stdout.trim()).expect("the rotator's JSON");
        assert_eq!(report["failed_step"], "record_in_store", "{report}");
        assert!(
            report["next"]
                .as_str()
                .unwrap_or_default()
                .contains("resume"),
            "{report}"
        );
        assert!(
            report["error"]
                .as_str()
                .unwrap_or_default()
                .contains("did not answer"),
            "{report}"
        );
    } else {
        // A stopped moto accepts connections and answers nothing, and the AWS SDK bounds only
        // the connect (no read or operation timeout by default): the rotator waits on its
        // write. Once Twilio has promoted, it is killed there, as a scheduler's timeout would.
        let deadline = Instant::now() + Duration::from_secs(60);
        while emulator.accepted().primary == first_fingerprint {
            assert!(Instant::now() < deadline, "Twilio never promoted");
            std::thread::sleep(Duration::from_millis(50));
        }
        outputs.push(rotating.kill());
    }
    emulator.set_latency(Duration::ZERO);
    let accepted = emulator.accepted();
    assert_ne!(accepted.primary, first_fingerprint, "not promoted");

    // Back (same data): `resume` on another host finishes the rotation. (The dead rotator's
    // lease does not block: its owner is a dead process.)
    backend.bring_back();
    let resumed = b
        .command(&store, &emulator, &env, &["resume"], &[])
        .output()
        .unwrap();
    outputs.push(text(&resumed));
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    let json: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(json["state"], "Rotated", "{json}");
    let after = record(&*third_host).await;
    assert_matches(&backend, &store, "after resume", &after, &emulator).await;
    // No token lost: Twilio's new primary was in the store before the promotion.
    assert_eq!(after.current.fingerprint().to_string(), accepted.primary);
    assert_eq!(
        after.previous.as_ref().map(|p| p.fingerprint()),
        Some(first.current.fingerprint())
    );

    let mut secrets = backend.secrets();
    secrets.push(emulator.first_token.clone());
    secrets.extend(tokens_of(&after));
    assert_no_secret(&outputs, &secrets);
}

/// The rotator SIGKILLed at each checkpoint; `resume` from another host, refused while the
/// dead rotator's lease (as another host's) lives, restores the invariant once it expired.
pub(crate) async fn killed_at_every_checkpoint_resume_from_another_host_after_the_lease(
    backend: Backend,
) {
    let env = backend.env();
    let (a, b) = (Host::new("a"), Host::new("b"));
    for checkpoint in [
        "creating",
        "created",
        "pending_stored",
        "staged",
        "promoting",
        "promoted",
        "recorded",
    ] {
        let case = format!("{} {checkpoint}", backend.name());
        let emulator = EmulatorProcess::start(Duration::ZERO);
        let store = backend.store_url(checkpoint);
        let third_host = backend.reader(&store);
        let mut outputs = vec![text(&init(&a, &store, &emulator, &env))];

        let rotating = Running::spawn(a.command(
            &store,
            &emulator,
            &env,
            &["rotate", "--grace", "0"],
            &[("TWILIO_ROTATE_PAUSE_AT", checkpoint)],
        ));
        assert!(rotating.wait_for_marker(), "{case}: never paused");
        outputs.push(rotating.kill());

        // The dead rotator's lease, as if it had run on another host: this host cannot see
        // that process die, so only the expiry frees it (5 s from now: room for the refused
        // `resume` below on a loaded machine).
        let (killed, expires_at) =
            as_if_from_another_host(&*third_host, Duration::from_secs(5)).await;
        let expires_at = expires_at.unwrap_or_else(|| panic!("{case}: no lease"));
        let resume = || {
            b.command(&store, &emulator, &env, &["resume", "--grace", "0"], &[])
                .output()
                .unwrap()
        };
        let refused = resume();
        outputs.push(text(&refused));
        assert_eq!(refused.status.code(), Some(1), "{case}: {}", text(&refused));
        let refusal: Value = serde_json::from_slice(&refused.stdout).unwrap();
        assert_eq!(
            refusal["locked_by_another_run"],
            Value::Bool(true),
            "{case}: refused for another reason: {}",
            text(&refused)
        );
        let unchanged = record(&*third_host).await;
        assert_eq!(unchanged.revision, killed.revision, "{case}: resume wrote");

        // Once the lease has expired, `resume` from the other host restores the invariant.
        while time::OffsetDateTime::now_utc() <= expires_at {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let resumed = resume();
        outputs.push(text(&resumed));
        assert_resumed(&case, &resumed);
        let after = record(&*third_host).await;
        assert_matches(&backend, &store, &case, &after, &emulator).await;
        let again = resume();
        outputs.push(text(&again));
        assert_eq!(again.status.code(), Some(0), "{case}: second resume");

        let mut secrets = backend.secrets();
        secrets.push(emulator.first_token.clone());
        secrets.extend(tokens_of(&killed));
        secrets.extend(tokens_of(&after));
        assert_no_secret(&outputs, &secrets);
    }
}

/// The dead rotator's lease (if the kill left one), rewritten as another host's that expires
/// `after` from now: this host could see its own process die, another host cannot. Returns the
/// record as rewritten and when the lease expires.
async fn as_if_from_another_host(
    store: &dyn TokenStore,
    after: Duration,
) -> (TokenRecord, Option<time::OffsetDateTime>) {
    let mut killed = record(store).await;
    let Some(lease) = killed.lease.as_ref() else {
        return (killed, None);
    };
    let expires_at = time::OffsetDateTime::now_utc() + after;
    killed.lease = Some(Lease {
        owner: LeaseOwner::new("another-host:4242:00000000feedf00d"),
        expires_at,
        fence: lease.fence,
    });
    killed.revision = store.save(&killed).await.expect("rewrite the lease");
    (killed, Some(expires_at))
}

/// The rotator SIGKILLed at `runs` seeded random instants of its run (`CRASH_SEED`), then
/// `resume` from another host after the lease.
pub(crate) async fn killed_at_random_instants_resume_from_another_host_after_the_lease(
    backend: Backend,
    default_runs: usize,
) {
    let env = backend.env();
    let (a, b) = (Host::new("a"), Host::new("b"));
    let latency = Duration::from_millis(15);

    // How long a whole rotation takes here: the kills are spread over it.
    let whole = {
        let emulator = EmulatorProcess::start(latency);
        let store = backend.store_url("timing");
        init(&a, &store, &emulator, &env);
        let started = Instant::now();
        let (code, stdout, stderr) =
            Running::spawn(a.command(&store, &emulator, &env, &["rotate", "--grace", "0"], &[]))
                .wait();
        assert_eq!(code, Some(0), "an uninterrupted rotation: {stdout}{stderr}");
        started.elapsed()
    };

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7717_2026_u64);
    let runs_var = format!("{}_CRASH_RUNS", backend.name().to_uppercase());
    let runs: usize = std::env::var(&runs_var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_runs);
    eprintln!(
        "random kills on {}: CRASH_SEED={seed}, {runs_var}={runs} over {whole:?}",
        backend.name()
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let window = u64::try_from(whole.as_micros()).unwrap_or(u64::MAX);
    for run in 0..runs {
        let emulator = EmulatorProcess::start(latency);
        let store = backend.store_url(&format!("random-{run}"));
        let reader = backend.reader(&store);
        let mut outputs = vec![text(&init(&a, &store, &emulator, &env))];
        let delay = Duration::from_micros(rng.u64(0..=window));
        let rotating =
            Running::spawn(a.command(&store, &emulator, &env, &["rotate", "--grace", "0"], &[]));
        std::thread::sleep(delay);
        outputs.push(rotating.kill());
        emulator.set_latency(Duration::ZERO);
        // Let a request the killed process left in flight finish on the server.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (killed, expires_at) = as_if_from_another_host(&*reader, Duration::from_secs(1)).await;
        let case = format!(
            "{} CRASH_SEED={seed} run {run}: killed after {delay:?} of {whole:?} in phase {:?}, lease {}",
            backend.name(),
            killed.phase,
            if expires_at.is_some() { "held" } else { "free" }
        );
        if let Some(expires_at) = expires_at {
            while time::OffsetDateTime::now_utc() <= expires_at {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        let resumed = b
            .command(&store, &emulator, &env, &["resume", "--grace", "0"], &[])
            .output()
            .unwrap();
        outputs.push(text(&resumed));
        assert_resumed(&case, &resumed);
        let after = record(&*reader).await;
        assert_matches(&backend, &store, &case, &after, &emulator).await;

        let mut secrets = backend.secrets();
        secrets.push(emulator.first_token.clone());
        secrets.extend(tokens_of(&killed));
        secrets.extend(tokens_of(&after));
        assert_no_secret(&outputs, &secrets);
    }
}
