//! The command line as an operator meets it: every case of the exit-code table, each run as a
//! real `twilio-rotate` process against the emulator (with its fault injection for an outage),
//! with its exit code and its message asserted; and that table is the one the crate README and
//! the rotation guide print. No token appears in any output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use std::sync::Arc;
use twilio_emulator::{Emulator, Fault};

use twilio_store::{
    FileTokenStore, FollowerId, FollowerRole, Heartbeat, LeaseOwner, LeasedRecord, RotationPhase,
    StoredToken, TokenLabel, TokenStore,
};
use twilio_types::{AccountSid, AuthToken};

mod support;
use support::temp_dir::TempDir;
use support::{command, text};

/// A token of the right shape that Twilio (the emulator) refuses.
const WRONG_TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// Another one.
const OTHER_WRONG_TOKEN: &str = "fedcba9876543210fedcba9876543210";

fn json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let value = serde_json::from_str(lines.next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {output:?}"));
    assert!(lines.next().is_none(), "more than one line: {stdout}");
    value
}

/// The cases run so far (label → exit code), every output (searched for tokens at the end),
/// and the account's tokens seen.
#[derive(Default)]
struct Table {
    cases: BTreeMap<&'static str, i32>,
    outputs: Vec<String>,
    tokens: Vec<String>,
}

impl Table {
    /// Adds the emulator's secondary token to the tokens searched for in every output.
    fn remember_secondary(&mut self, emulator: &Emulator) {
        let token = emulator.secondary_auth_token().expect("a secondary token");
        self.tokens.push(token.expose_secret().to_owned());
    }

    /// Runs `args` as case `label`: asserts the exit code, that every `must` is in the output
    /// and no `must_not` is.
    fn case(
        &mut self,
        label: &'static str,
        args: &[&str],
        env: &[(&str, &str)],
        code: i32,
        must: &[&str],
        must_not: &[&str],
    ) -> Output {
        let started = Instant::now();
        let output = command(args, env).output().unwrap();
        self.check(label, output, code, must, must_not, started)
    }

    /// [`case`](Self::case) while "another run" holds the store's lease (a live one).
    async fn case_with_live_run(
        &mut self,
        path: &Path,
        label: &'static str,
        args: &[&str],
        code: i32,
        must: &[&str],
        must_not: &[&str],
    ) -> Output {
        let held = hold_lease(path).await;
        let output = self.case(label, args, &[], code, must, must_not);
        held.release().await.unwrap();
        output
    }

    fn check(
        &mut self,
        label: &'static str,
        output: Output,
        code: i32,
        must: &[&str],
        must_not: &[&str],
        started: Instant,
    ) -> Output {
        let all = text(&output);
        assert_eq!(output.status.code(), Some(code), "{label}: {all}");
        for word in must {
            assert!(all.contains(word), "{label}: `{word}` missing from:\n{all}");
        }
        for word in must_not {
            assert!(!all.contains(word), "{label}: `{word}` in:\n{all}");
        }
        // No case waits out a propagation window or a grace it should not.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{label} took {:?}",
            started.elapsed()
        );
        assert!(
            self.cases.insert(label, code).is_none(),
            "case {label} twice"
        );
        self.outputs.push(all);
        output
    }
}

/// An emulator, and the path of a store in a fresh directory (removed when it drops).
async fn emulator_and_store_path() -> (Emulator, TempDir, PathBuf) {
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = TempDir::new("cli");
    let path = dir.path("store.json");
    (emulator, dir, path)
}

/// `init`'s environment: the account's SID and `token`.
fn account<'a>(sid: &'a AccountSid, token: &'a str) -> [(&'static str, &'a str); 2] {
    [
        ("TWILIO_ACCOUNT_SID", sid.as_str()),
        ("TWILIO_AUTH_TOKEN", token),
    ]
}

/// Store and base URL flags for `store` on `emulator`, followed by `args`.
fn at<'a>(store: &'a str, base_url: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--store", store, "--base-url", base_url];
    all.extend_from_slice(args);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_the_exit_code_table() {
    let (emulator, dir, path) = emulator_and_store_path().await;
    let url = emulator.base_url();
    let sid = emulator.account_sid();
    let store = path.to_str().unwrap();
    let mut t = Table::default();
    let good = emulator.auth_token();
    t.tokens.push(good.expose_secret().to_owned());
    let env_good = account(&sid, good.expose_secret());
    let env_wrong = account(&sid, WRONG_TOKEN);

    // Usage.
    let help = t.case(
        "help",
        &["--help"],
        &[],
        0,
        &[
            "--store",
            "--base-url",
            "TWILIO_ROTATE_STORE",
            "TWILIO_ROTATE_BASE_URL",
            "--max-wait",
            "--gate-policy",
            "promote-anyway",
        ],
        &[],
    );
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    t.case("bad flag", &["--bogus"], &[], 2, &["--bogus"], &[]);

    // init: nothing is written unless Twilio accepts the token.
    t.case(
        "init: no environment",
        &at(store, &url, &["init"]),
        &[],
        2,
        &["TWILIO_ACCOUNT_SID is not set"],
        &[],
    );
    t.case(
        "init: bad SID",
        &at(store, &url, &["init"]),
        &[("TWILIO_ACCOUNT_SID", "XX1"), ("TWILIO_AUTH_TOKEN", "x")],
        2,
        &["not an Account SID"],
        &[],
    );
    t.case(
        "init: token refused",
        &at(store, &url, &["init"]),
        &env_wrong,
        2,
        &["Twilio refuses TWILIO_AUTH_TOKEN", "nothing was written"],
        &[],
    );
    assert!(!path.exists(), "a refused token wrote the store");
    emulator.faults().inject(Fault::reset()).unwrap();
    t.case(
        "init: Twilio unreachable",
        &at(store, &url, &["init"]),
        &env_good,
        4,
        &[
            "could not reach Twilio",
            "nothing was written",
            "--no-verify",
        ],
        &[],
    );
    emulator.faults().clear();
    assert!(!path.exists(), "an unverified token wrote the store");

    // A stale token, with no rotation in flight: said as such, with the way out.
    t.case(
        "init --no-verify",
        &at(store, &url, &["init", "--no-verify"]),
        &env_wrong,
        0,
        &["not checked with Twilio"],
        &[],
    );
    let stale = [
        "Twilio refuses the store's current token",
        "no rotation is in flight",
        "init --force",
    ];
    let not_a_promotion = ["promotion", "run `twilio-rotate resume`", "needs attention"];
    t.case(
        "status: stale token",
        &at(store, &url, &["status"]),
        &[],
        2,
        &stale,
        &not_a_promotion,
    );
    t.case(
        "resume: stale token",
        &at(store, &url, &["resume"]),
        &[],
        2,
        &stale,
        &not_a_promotion,
    );
    t.case(
        "rotate: stale token",
        &at(store, &url, &["rotate", "--grace", "0"]),
        &[],
        2,
        &stale,
        &[],
    );
    assert!(emulator.secondary_auth_token().is_none());
    t.case(
        "init: store exists",
        &at(store, &url, &["init"]),
        &env_good,
        2,
        &["already exists", "init --force"],
        &[],
    );
    let before = std::fs::read(&path).unwrap();
    t.case(
        "init --force: token refused",
        &at(store, &url, &["init", "--force"]),
        &env_wrong,
        2,
        &["Twilio refuses TWILIO_AUTH_TOKEN", "nothing was written"],
        &[],
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "store changed");
    t.case(
        "init --force",
        &at(store, &url, &["init", "--force"]),
        &env_good,
        0,
        &["Twilio accepts it"],
        &[],
    );
    t.case(
        "status",
        &at(store, &url, &["status"]),
        &[],
        0,
        &["no rotation in flight", "Twilio accepts the current token"],
        &[],
    );

    // Twilio refuses a request for another reason than the token or an outage (a 400; a 404
    // from a --base-url that is not Twilio's Accounts API): nothing changed, but running it
    // again changes nothing until a person fixes the cause: not "run it again later".
    for (status, label) in [
        (400, "rotate: Twilio answers 400"),
        (404, "rotate: Twilio answers 404"),
    ] {
        let create = Fault::status(status).on("POST", "/v1/AuthTokens/Secondary");
        emulator.faults().inject(create.times(1)).unwrap();
        t.case(
            label,
            &at(store, &url, &["rotate", "--grace", "0"]),
            &[],
            2,
            &[
                "nothing changed",
                "will not help until the cause is fixed",
                "a wrong --base-url",
            ],
            &["safe to run again"],
        );
        emulator.faults().clear();
    }
    assert!(emulator.secondary_auth_token().is_none());

    // A live run that holds the lease with nothing in flight yet (starting) or any more
    // (just finished): not "no rotation in flight".
    t.case_with_live_run(
        &path,
        "status: idle, live run",
        &at(store, &url, &["status"]),
        0,
        &[
            "a live run holds the store's lease",
            "Twilio accepts the current token",
        ],
        &["no rotation in flight"],
    )
    .await;

    // Where the store and Twilio are: flags, environment, file URLs, causes kept.
    t.case(
        "env vars",
        &["status"],
        &[
            ("TWILIO_ROTATE_STORE", store),
            ("TWILIO_ROTATE_BASE_URL", url.as_str()),
        ],
        0,
        &["Twilio accepts the current token"],
        &[],
    );
    let file_url = format!("file://{store}");
    t.case(
        "file URL",
        &["--store", &file_url, "--base-url", &url, "status"],
        &[],
        0,
        &["Twilio accepts the current token"],
        &[],
    );
    t.case(
        "--store s3://",
        &["--store", "s3://bucket/twilio.json", "status"],
        &[],
        2,
        &["not supported"],
        &[],
    );
    t.case(
        "--base-url http",
        &[
            "--store",
            store,
            "--base-url",
            "http://example.com",
            "status",
        ],
        &[],
        2,
        &["--base-url http://example.com", "caused by", "https"],
        &[],
    );
    t.case(
        "store missing",
        &at(dir.path("none.json").to_str().unwrap(), &url, &["status"]),
        &[],
        2,
        &["init"],
        &[],
    );
    let malformed = dir.path("malformed.json");
    std::fs::write(&malformed, "not a record").unwrap();
    set_mode(&malformed, 0o600);
    t.case(
        "store malformed",
        &at(malformed.to_str().unwrap(), &url, &["status"]),
        &[],
        2,
        &["malformed"],
        &[],
    );
    set_mode(&path, 0o644);
    let wide = t.case(
        "store 0644",
        &at(store, &url, &["rotate"]),
        &[],
        2,
        &["0644", "chmod 600", "rotate` at once"],
        &[],
    );
    let wide = text(&wide);
    assert!(
        wide.find("chmod 600").unwrap() < wide.find("rotate` at once").unwrap(),
        "the file must be fixed before anything can rotate: {wide}"
    );
    set_mode(&path, 0o600);

    // Another run holds the lease: this run did nothing and says nothing of the tokens.
    {
        let shared: Arc<dyn TokenStore> = Arc::new(FileTokenStore::open(&path).unwrap());
        let held = LeasedRecord::acquire(
            shared,
            LeaseOwner::new("another-host:1:test"),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
        t.case(
            "rotate: locked by another run",
            &at(store, &url, &["rotate", "--grace", "0"]),
            &[],
            1,
            &["another run holds the store's lease", "changed nothing"],
            &["no secondary token", "unchanged:"],
        );
        held.release().await.unwrap();
    }
    assert!(emulator.secondary_auth_token().is_none());

    // A healthy rotation in flight is not "needs attention".
    let mut rotating = rotate_until_staged(store, &url, "25").await;
    t.case(
        "status: rotation in progress",
        &at(store, &url, &["status"]),
        &[],
        0,
        &[
            "a rotation is in progress",
            "live run holds the store's lease",
        ],
        &["resume"],
    );
    rotating.kill().unwrap();
    rotating.wait().unwrap();
    let new = emulator.secondary_auth_token().expect("staged");
    t.remember_secondary(&emulator);
    t.case(
        "status: staged",
        &at(store, &url, &["status"]),
        &[],
        0,
        &["staged: both tokens work", "complete"],
        &[],
    );
    t.case(
        "stage: rotation in flight",
        &at(store, &url, &["stage"]),
        &[],
        3,
        &["resume"],
        &[],
    );
    // init --force never replaces the tokens of a rotation in flight.
    let before = std::fs::read(&path).unwrap();
    t.case(
        "init --force: rotation in flight",
        &at(store, &url, &["init", "--force"]),
        &env_good,
        3,
        &[
            "a rotation is in flight",
            "run `resume` first",
            "created or staged",
        ],
        &[],
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "store changed");
    t.case(
        "complete: before the grace",
        &at(store, &url, &["--json", "complete"]),
        &[],
        1,
        &["hand_off_grace", "run complete again"],
        &[],
    );

    // An outage during resume: said as such; the rotation stays recorded.
    emulator.faults().inject(Fault::reset()).unwrap();
    t.case(
        "resume: Twilio unreachable",
        &at(store, &url, &["resume", "--propagation-window", "1"]),
        &[],
        4,
        &["could not reach Twilio", "run resume again"],
        &["whether the promotion happened"],
    );
    t.case(
        "status: Twilio unreachable",
        &at(store, &url, &["status"]),
        &[],
        4,
        &["could not reach Twilio"],
        &[],
    );
    emulator.faults().clear();
    assert_eq!(load(&path).await.phase, RotationPhase::Staged);

    // A rotation killed in the middle of the promotion: interrupted, resume finishes it.
    let mut record = load(&path).await;
    record.phase = RotationPhase::Promoting;
    FileTokenStore::open(&path)
        .unwrap()
        .save(&record)
        .await
        .unwrap();
    t.case(
        "status: interrupted",
        &at(store, &url, &["status"]),
        &[],
        3,
        &["interrupted", "resume"],
        &[],
    );
    let finished = t.case(
        "resume: finishes",
        &at(store, &url, &["--json", "resume"]),
        &[],
        0,
        &[],
        &[],
    );
    assert_eq!(json(&finished)["state"], "Rotated");
    assert_eq!(
        emulator.auth_token().expose_secret(),
        new.expose_secret(),
        "promoted"
    );
    // Twilio down right after that promotion: nothing is in flight, and resume says so.
    edit(&path, |r| r.completed_at = Some(now())).await;
    emulator.faults().inject(Fault::reset()).unwrap();
    t.case(
        "resume: Twilio unreachable after a promotion",
        &at(store, &url, &["resume", "--propagation-window", "5"]),
        &[],
        4,
        &[
            "could not reach Twilio",
            "no rotation is in flight",
            "run resume again",
        ],
        &["interrupted rotation", "stays recorded"],
    );
    emulator.faults().clear();
    t.case(
        "resume: nothing to resume",
        &at(store, &url, &["resume"]),
        &[],
        0,
        &["nothing to resume"],
        &[],
    );
    // Long after the last promotion, a live lease with nothing recorded in flight is a run
    // that may be starting one: not "nothing to resume".
    let completed_at = load(&path).await.completed_at;
    edit(&path, |r| {
        r.completed_at = Some(now() - time::Duration::hours(1))
    })
    .await;
    t.case_with_live_run(
        &path,
        "resume: idle, live run",
        &at(store, &url, &["resume"]),
        1,
        &["another run holds the store's lease", "may be starting one"],
        &["nothing to resume"],
    )
    .await;
    edit(&path, |r| r.completed_at = completed_at).await;

    // Just after a promotion Twilio may not accept the new token yet (propagation). With a
    // live run waiting for it, that is a rotation in progress, not "a person must act".
    let promoted = load(&path).await;
    let refused = || StoredToken::new(AuthToken::new(WRONG_TOKEN).unwrap(), now());
    let refused_too = || StoredToken::new(AuthToken::new(OTHER_WRONG_TOKEN).unwrap(), now());
    edit(&path, |r| {
        r.phase = RotationPhase::Promoting;
        r.current = refused();
        r.pending = Some(refused_too());
    })
    .await;
    let propagating = [
        "a rotation is in progress",
        "Twilio does not accept it yet",
        "propagation",
    ];
    let not_a_person = ["a person must act", "refuses every stored token"];
    t.case_with_live_run(
        &path,
        "status: promoting, Twilio propagating",
        &at(store, &url, &["status"]),
        0,
        &propagating,
        &not_a_person,
    )
    .await;
    // Before any promotion, a live run with every stored token refused is not propagation.
    edit(&path, |r| r.phase = RotationPhase::Staged).await;
    t.case_with_live_run(
        &path,
        "status: live run, every token refused",
        &at(store, &url, &["status"]),
        2,
        &[
            "nothing promoted yet",
            "Twilio refuses every stored token",
            "once the run has ended",
        ],
        &["propagation"],
    )
    .await;
    // An answer that says nothing about the tokens (a 400) is not "refuses every token".
    let probe = Fault::status(400).on("GET", "/v1/Credentials/AWS");
    emulator.faults().inject(probe).unwrap();
    t.case_with_live_run(
        &path,
        "status: live run, Twilio answers 400",
        &at(store, &url, &["status"]),
        2,
        &[
            "did not tell whether it accepts the stored tokens",
            "HTTP 400",
        ],
        &["refuses every stored token", "propagation"],
    )
    .await;
    emulator.faults().clear();
    edit(&path, |r| {
        r.phase = RotationPhase::Idle;
        r.pending = None;
        r.previous = Some(refused_too());
        r.completed_at = Some(now());
    })
    .await;
    t.case_with_live_run(
        &path,
        "status: just promoted, Twilio propagating",
        &at(store, &url, &["status"]),
        0,
        &propagating,
        &["resume"],
    )
    .await;
    t.case(
        "status: just promoted, no live run",
        &at(store, &url, &["status", "--propagation-window", "30"]),
        &[],
        3,
        &[
            "promoted less than the propagation window (30s) ago",
            "resume",
        ],
        &[],
    );
    // The window is --propagation-window's, not a fixed minute: promoted 20 s ago with a
    // 10 s window is no longer propagation, it is a token Twilio refuses.
    edit(&path, |r| {
        r.completed_at = Some(now() - time::Duration::seconds(20));
    })
    .await;
    t.case(
        "status: promoted longer ago than the window",
        &at(store, &url, &["status", "--propagation-window", "10"]),
        &[],
        2,
        &stale,
        &["propagation"],
    );
    // Without the flag, the window the rotating run recorded: 20 s ago is inside its 5 min.
    edit(&path, |r| {
        r.choices.propagation_window = Some(Duration::from_secs(300));
    })
    .await;
    t.case(
        "status: promoted inside the recorded window",
        &at(store, &url, &["status"]),
        &[],
        3,
        &[
            "promoted less than the propagation window (300s) ago",
            "resume",
        ],
        &[],
    );
    edit(&path, |r| {
        r.choices.propagation_window = None;
        r.phase = promoted.phase;
        r.current = promoted.current.clone();
        r.pending = promoted.pending.clone();
        r.previous = promoted.previous.clone();
        r.completed_at = promoted.completed_at;
    })
    .await;

    // Whole rotations, and Twilio not reachable at all (nothing listens: nothing was sent,
    // so nothing changed; a reset after sending would leave the create open: `resume`).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    t.case(
        "rotate: Twilio unreachable",
        &at(
            store,
            &closed,
            &["rotate", "--grace", "0", "--propagation-window", "1"],
        ),
        &[],
        4,
        &["could not reach Twilio", "nothing changed"],
        &["unchanged:"],
    );
    assert!(emulator.secondary_auth_token().is_none());
    t.case(
        "rotate",
        &at(store, &url, &["rotate", "--grace", "0"]),
        &[],
        0,
        &["rotated"],
        &[],
    );
    t.tokens
        .push(emulator.auth_token().expose_secret().to_owned());
    // A rotation killed during its grace: resume keeps the grace it recorded (3 s, not the
    // default 10 s): what is left of it is at most 3 s, whatever the timing.
    let mut rotating = rotate_until_staged(store, &url, "3").await;
    rotating.kill().unwrap();
    rotating.wait().unwrap();
    t.remember_secondary(&emulator);
    assert_eq!(
        load(&path).await.choices.hand_off_grace,
        Some(Duration::from_secs(3)),
        "the run's grace is recorded"
    );
    let kept = t.case(
        "resume: keeps the recorded grace",
        &at(store, &url, &["--json", "resume"]),
        &[],
        0,
        &["waited"],
        &[],
    );
    let kept = json(&kept);
    assert_eq!(kept["state"], "Rotated");
    let note = kept["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "hand_off_grace")
        .and_then(|s| s["note"].as_str())
        .expect("resume waited the grace")
        .to_owned();
    let waited: f64 = note
        .strip_prefix("waited ")
        .and_then(|n| n.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    assert!(
        waited <= 3.0,
        "resume used another grace than the recorded 3 s: {note}"
    );
    t.tokens
        .push(emulator.auth_token().expose_secret().to_owned());
    // The store refuses a rotation in the middle (its file made readable by others during the
    // grace): every later run meets the same refusal, so a person must act (2), not 3.
    let rotating = rotate_until_staged(store, &url, "3").await;
    set_mode(&path, 0o644);
    let refused = rotating.wait_with_output().unwrap();
    t.remember_secondary(&emulator);
    t.check(
        "rotate: store refuses mid-rotation",
        refused,
        2,
        &["the store refused this run", "chmod 600", "resume"],
        &["run complete again once the hand-off grace"],
        Instant::now(),
    );
    set_mode(&path, 0o600);
    t.case(
        "resume: after the store was fixed",
        &at(store, &url, &["resume"]),
        &[],
        0,
        &["rotated"],
        &[],
    );
    t.tokens
        .push(emulator.auth_token().expose_secret().to_owned());
    t.case(
        "stage",
        &at(store, &url, &["stage"]),
        &[],
        0,
        &["staged"],
        &[],
    );
    t.remember_secondary(&emulator);
    t.case(
        "complete --force",
        &at(store, &url, &["complete", "--force"]),
        &[],
        0,
        &["rotated"],
        &[],
    );
    // The fleet gate: a live follower still on the current token holds the promotion back.
    let files = FileTokenStore::open(&path).unwrap();
    let current = load(&path).await.current.fingerprint();
    files
        .publish_heartbeat(&Heartbeat {
            follower: FollowerId::new("web-1").unwrap(),
            role: FollowerRole::Client,
            holds: vec![(TokenLabel::Current, current)],
            published_at: now(),
            expires_at: now() + time::Duration::seconds(600),
        })
        .await
        .unwrap();
    let gate = ["--max-wait", "1"];
    let lag = [
        "1 live follower(s) still do not hold it: web-1 (client)",
        "--gate-policy promote-anyway",
    ];
    t.case(
        "rotate: followers lag",
        &at(
            store,
            &url,
            &[&["rotate", "--grace", "0"][..], &gate].concat(),
        ),
        &[],
        3,
        &[
            &lag[..],
            &["this run staged", "resume`", "complete --gate-policy"],
        ]
        .concat(),
        &["nothing changed"],
    );
    t.remember_secondary(&emulator);
    t.case(
        "status: staged, followers lag",
        &at(store, &url, &["status"]),
        &[],
        0,
        &[
            "staged: both tokens work",
            "these live followers hold it: web-1",
        ],
        &[],
    );
    t.case(
        "complete: followers lag",
        &at(store, &url, &[&["complete", "--force"][..], &gate].concat()),
        &[],
        1,
        &[
            &lag[..],
            &["not promoted, nothing changed", "complete` again"],
        ]
        .concat(),
        &["resume`"],
    );
    t.case(
        "resume: followers lag",
        &at(
            store,
            &url,
            &[&["resume", "--grace", "0"][..], &gate].concat(),
        ),
        &[],
        1,
        &[
            &lag[..],
            &["not promoted, nothing changed", "resume` again"],
        ]
        .concat(),
        &[],
    );
    // Heartbeats the gate cannot read (here: a file where the followers' directory belongs,
    // an I/O error, as a store that does not answer): not "run resume", and the way out is
    // named. (A store that refuses the read, Vault's policy, is exit 2: src/rotation.rs.)
    let followers = dir.path("store.json.followers");
    std::fs::remove_dir_all(&followers).unwrap();
    std::fs::write(&followers, "not a directory").unwrap();
    let unreadable = [
        "could not read the followers' heartbeats",
        "store.json.followers` a directory",
        "--gate-policy promote-anyway",
    ];
    t.case(
        "status: staged, heartbeats unreadable",
        &at(store, &url, &["status"]),
        &[],
        0,
        &[
            "followers' heartbeats",
            "--gate-policy promote-anyway",
            "both tokens work",
            "will not promote",
        ],
        &[],
    );
    t.case(
        "complete: heartbeats unreadable",
        &at(store, &url, &[&["complete", "--force"][..], &gate].concat()),
        &[],
        4,
        &[
            &unreadable[..],
            &["not promoted, nothing changed", "if this persists"],
        ]
        .concat(),
        &["resume`", "run complete again"],
    );
    t.case(
        "complete --gate-policy promote-anyway",
        &at(
            store,
            &url,
            &[
                &["complete", "--force", "--gate-policy", "promote-anyway"][..],
                &gate,
            ]
            .concat(),
        ),
        &[],
        0,
        &["rotated"],
        &[],
    );
    std::fs::remove_file(&followers).unwrap();
    t.tokens
        .push(emulator.auth_token().expose_secret().to_owned());
    t.case(
        "init",
        &at(dir.path("second.json").to_str().unwrap(), &url, &["init"]),
        &[
            ("TWILIO_ACCOUNT_SID", sid.as_str()),
            ("TWILIO_AUTH_TOKEN", emulator.auth_token().expose_secret()),
        ],
        0,
        &["Twilio accepts it"],
        &[],
    );

    for output in &t.outputs {
        let wrong = [WRONG_TOKEN, OTHER_WRONG_TOKEN];
        for token in t.tokens.iter().map(String::as_str).chain(wrong) {
            assert!(!output.contains(token), "a token in:\n{output}");
        }
    }
    // The table the operator reads is the table these cases ran.
    let expected = documented_codes();
    assert_eq!(exit_lines(&help), expected.meanings, "--help vs README");
    assert_eq!(t.cases, expected.cases, "cases run vs the README's table");
    emulator.shutdown().await;
}

async fn load(path: &Path) -> twilio_store::TokenRecord {
    FileTokenStore::open(path)
        .unwrap()
        .load()
        .await
        .unwrap()
        .unwrap()
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Rewrites the store's record with `change` (as a state the CLI must describe).
async fn edit(path: &Path, change: impl FnOnce(&mut twilio_store::TokenRecord)) {
    let mut record = load(path).await;
    change(&mut record);
    FileTokenStore::open(path)
        .unwrap()
        .save(&record)
        .await
        .unwrap();
}

/// The store's lease, held for a minute by "another run" (a live one, for `status`).
async fn hold_lease(path: &Path) -> LeasedRecord {
    let shared: Arc<dyn TokenStore> = Arc::new(FileTokenStore::open(path).unwrap());
    LeasedRecord::acquire(
        shared,
        LeaseOwner::new("another-host:1:test"),
        Duration::from_secs(60),
    )
    .await
    .unwrap()
    .unwrap()
}

/// A `rotate --grace GRACE` process, once the store records it staged (still in its grace).
async fn rotate_until_staged(store: &str, url: &str, grace: &str) -> Child {
    let mut rotating = command(&at(store, url, &["rotate", "--grace", grace]), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_phase(Path::new(store), RotationPhase::Staged, &mut rotating).await;
    rotating
}

/// Waits until the store records `phase` (the child still running).
async fn wait_for_phase(path: &Path, phase: RotationPhase, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "rotate ended early");
        if let Ok(store) = FileTokenStore::open(path)
            && let Ok(Some(record)) = store.load().await
            && record.phase == phase
        {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {phase:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let _ = (path, mode);
}

/// The README's exit-code table: each code's meaning, and the cases it names.
struct Documented {
    meanings: BTreeMap<u8, String>,
    cases: BTreeMap<&'static str, i32>,
}

/// Rows `| `N` | meaning | `case`, `case` |` of the exit-code table in `page`.
fn table_rows(page: &str) -> Vec<(u8, String, Vec<String>)> {
    page.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
            let [code, meaning, cases] = cells[..] else {
                return None;
            };
            let code = code.trim().trim_matches('`').parse().ok()?;
            let cases = cases
                .split("`, `")
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            Some((code, meaning.trim().to_owned(), cases))
        })
        .collect()
}

fn documented_codes() -> Documented {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows = table_rows(&readme);
    assert_eq!(rows.len(), 5, "README: one row per exit code");
    // The rotation guide prints the same table (checked in the workspace, where it is; a
    // packaged crate does not ship it).
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide/rotation.md");
    if let Ok(guide) = std::fs::read_to_string(guide) {
        assert_eq!(table_rows(&guide), rows, "docs/guide/rotation.md vs README");
    }
    let mut documented = Documented {
        meanings: BTreeMap::new(),
        cases: BTreeMap::new(),
    };
    for (code, meaning, cases) in rows {
        documented.meanings.insert(code, meaning);
        for case in cases {
            let case: &'static str = Box::leak(case.into_boxed_str());
            documented.cases.insert(case, i32::from(code));
        }
    }
    documented
}

/// `--help`'s exit-code lines (`  N  meaning`), by code.
fn exit_lines(help: &str) -> BTreeMap<u8, String> {
    help.lines()
        .filter_map(|line| {
            let (code, meaning) = line.trim().split_once("  ")?;
            Some((code.parse().ok()?, meaning.trim().to_owned()))
        })
        .collect()
}

/// The binary an operator installs (default features) has no test hook: the crash tests'
/// pause variable changes nothing. (`cargo xtask ci` runs this in its `features` step; the
/// all-features build of the crash tests has the hook.)
#[cfg(not(feature = "test-hooks"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_binary_ignores_the_test_pause() {
    let (emulator, _dir, path) = emulator_and_store_path().await;
    let url = emulator.base_url();
    let store = path.to_str().unwrap();
    let sid = emulator.account_sid();
    let token = emulator.auth_token();
    let env = account(&sid, token.expose_secret());
    let init = command(&at(store, &url, &["init"]), &env).output().unwrap();
    assert_eq!(init.status.code(), Some(0), "{init:?}");
    let rotate = command(
        &at(store, &url, &["rotate", "--grace", "0"]),
        &[("TWILIO_ROTATE_PAUSE_AT", "creating")],
    )
    .output()
    .unwrap();
    assert_eq!(rotate.status.code(), Some(0), "{rotate:?}");
    assert!(!text(&rotate).contains("paused at"), "{}", text(&rotate));
    emulator.shutdown().await;
}

/// `status` lists the followers' heartbeats (fingerprints only, how stale each is) and, while
/// a token is staged, which live followers do not hold it yet; none of it changes the exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_the_followers_and_whom_complete_waits_for() {
    let (emulator, dir, path) = emulator_and_store_path().await;
    let url = emulator.base_url();
    let store = path.to_str().unwrap();
    let sid = emulator.account_sid();
    let good = emulator.auth_token();
    let env = account(&sid, good.expose_secret());
    let run = |args: &[&str]| {
        let output = command(&at(store, &url, args), &env).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
        output
    };
    let mut outputs = vec![run(&["init"])];

    // No follower has published yet.
    let status = run(&["status"]);
    assert!(text(&status).contains("\nfollowers: 0 heartbeat(s), 0 live\n"));
    let none = json(&run(&["--json", "status"]));
    assert_eq!(none["followers"]["kept"], true);
    assert_eq!(none["followers"]["heartbeats"], serde_json::json!([]));
    assert_eq!(
        none["followers"]["lagging"],
        Value::Null,
        "no pending token"
    );
    outputs.push(status);

    // A live client and a validator that stopped 90 s ago, both on the current token.
    let files = FileTokenStore::open(&path).unwrap();
    let current = load(&path).await.current.fingerprint();
    let now = time::OffsetDateTime::now_utc();
    let beat = |id: &str, role, holds, published: i64, expires: i64| Heartbeat {
        follower: FollowerId::new(id).unwrap(),
        role,
        holds,
        published_at: now + time::Duration::seconds(published),
        expires_at: now + time::Duration::seconds(expires),
    };
    let web = |holds| beat("web-1", FollowerRole::Client, holds, -2, 600);
    files
        .publish_heartbeat(&web(vec![(TokenLabel::Current, current)]))
        .await
        .unwrap();
    let stopped = vec![(TokenLabel::Current, current)];
    let stopped = beat("old-2", FollowerRole::WebhookValidator, stopped, -120, -90);
    files.publish_heartbeat(&stopped).await.unwrap();

    // Staged: the live client lags; the stopped validator is listed but not waited for.
    outputs.push(run(&["stage"]));
    let pending = load(&path).await.pending.unwrap().fingerprint();
    let status = run(&["status"]);
    let out = text(&status);
    for line in [
        "\nfollowers: 2 heartbeat(s), 1 live\n".to_owned(),
        // (Minutes only: the seconds depend on how long the commands took.)
        format!("\n  old-2 (webhook-validator): holds current {current}; published 2m "),
        "s ago, expired 1m ".to_owned(),
        format!("\n  web-1 (client): holds current {current}; published "),
        "s ago, live for 9m ".to_owned(),
        format!(
            "\nfollowers without the pending token {pending} (`complete` waits for them): web-1 (client)\n"
        ),
        "\nstaged: both tokens work".to_owned(),
    ] {
        assert!(out.contains(&line), "`{line}` missing from:\n{out}");
    }
    outputs.push(status);
    let staged = run(&["--json", "status"]);
    let fleet = &json(&staged)["followers"];
    assert_eq!(fleet["lagging"], serde_json::json!(["web-1"]));
    let listed = fleet["heartbeats"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["follower"], "old-2");
    assert_eq!(listed[0]["role"], "webhook-validator");
    assert_eq!(listed[0]["live"], false);
    let age = listed[0]["age_seconds"].as_i64().unwrap();
    assert!((120..180).contains(&age), "age {age}");
    assert_eq!(listed[1]["follower"], "web-1");
    assert_eq!(listed[1]["live"], true);
    assert_eq!(
        listed[1]["holds"],
        serde_json::json!([{ "label": "current", "fingerprint": current.to_string() }])
    );
    outputs.push(staged);

    // Once the client holds the pending token, the gate waits for nobody.
    let both = vec![
        (TokenLabel::Current, current),
        (TokenLabel::Pending, pending),
    ];
    files.publish_heartbeat(&web(both)).await.unwrap();
    let status = run(&["status"]);
    let line = format!(
        "\nevery live follower (1) holds the pending token {pending}: `complete`'s fleet gate waits for nobody\n"
    );
    assert!(text(&status).contains(&line), "{}", text(&status));
    outputs.push(status);
    assert_eq!(
        json(&run(&["--json", "status"]))["followers"]["lagging"],
        serde_json::json!([])
    );

    // Heartbeats that cannot be read are one line, not a failed status.
    let followers = dir.path("store.json.followers");
    std::fs::remove_dir_all(&followers).unwrap();
    std::fs::write(&followers, "not a directory").unwrap();
    let status = run(&["status"]);
    assert!(
        text(&status).contains("\nfollowers: the heartbeats cannot be read: "),
        "{}",
        text(&status)
    );
    outputs.push(status);
    let unreadable = json(&run(&["--json", "status"]));
    assert!(unreadable["followers"]["error"].is_string());

    let secondary = emulator.secondary_auth_token().expect("staged");
    for output in outputs.iter().map(text) {
        for token in [good.expose_secret(), secondary.expose_secret()] {
            assert!(!output.contains(token), "a token in:\n{output}");
        }
    }
    emulator.shutdown().await;
}

/// A token pasted into the base URL's user info (flag or variable) never reaches the output or
/// `--help`: the transport refuses such a URL, and the message shows it without the user info.
#[test]
fn a_base_url_with_user_info_is_never_echoed() {
    let dir = TempDir::new("base-url");
    let store = dir.path("store.json");
    let store = store.to_str().unwrap();
    let secret = "deadbeef0123456789abcdef0badf00d";
    let url = format!("https://AC0123456789abcdef0123456789abcdef:{secret}@example.com");
    let account = [
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", WRONG_TOKEN),
    ];
    let by_flag = command(&["--store", store, "--base-url", &url, "init"], &account)
        .output()
        .unwrap();
    let mut env = account.to_vec();
    env.push(("TWILIO_ROTATE_BASE_URL", &url));
    let by_env = command(&["--store", store, "init"], &env).output().unwrap();
    let help = command(&["--help"], &env).output().unwrap();
    for output in [&by_flag, &by_env] {
        let shown = text(output);
        assert_eq!(output.status.code(), Some(2), "{shown}");
        assert!(
            shown.contains("<user info withheld>@example.com"),
            "{shown}"
        );
        assert!(!shown.contains(secret), "the token leaked: {shown}");
    }
    assert!(!text(&help).contains(secret), "the token leaked in --help");
    assert!(!Path::new(store).exists(), "init wrote a store");
}
