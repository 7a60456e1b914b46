//! The fleet of `support/fleet.rs` on a Vault/OpenBao server (`cargo xtask openbao` installs
//! `bao`): rotations with `--grace 0`, the fleet gate counting every follower's and validator's
//! heartbeat; and a follower that stops heartbeating holding the promotion until the gate's
//! policy decides (Vault only: Secrets Manager keeps no heartbeats).

#[path = "support/backend.rs"]
mod backend;
#[path = "support/fleet.rs"]
mod fleet;
// Only `BIN`, `text` and `TempDir`: the fleet runs the CLI with an environment of its own.
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use twilio_store::{FollowerRole, RotationPhase, TokenFingerprint};

use backend::Backend;
use fleet::{Fleet, RELOAD_INTERVAL, gate_step, json_of};
use support::text;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_with_webhook_validators_follows_rotations_through_the_gate() {
    let Some(backend) = Backend::vault() else {
        return;
    };
    fleet::a_fleet_with_webhook_validators_follows_rotations(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_stops_heartbeating_holds_the_promotion_until_the_policy_decides() {
    let Some(backend) = Backend::vault() else {
        return;
    };
    let mut fleet = Fleet::start(backend).await;
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

fleet::fleet_processes!();
