//! The fleet of `support/fleet.rs` on AWS Secrets Manager (`aws-sm://twilio/prod` on a real
//! `moto_server`; `cargo xtask moto` installs it): 1 rotator, the follower processes and 2
//! webhook validators, sharing only the server, through the rotations. Secrets Manager keeps
//! no heartbeats, so the fleet gate is skipped and the hand-off grace (three of the followers'
//! reload intervals) is what keeps every request and every genuine webhook working.

#[path = "support/backend.rs"]
mod backend;
#[path = "support/fleet.rs"]
mod fleet;
// Only `BIN`, `text` and `TempDir`: the fleet runs the CLI with an environment of its own.
#[allow(dead_code)]
mod support;

use backend::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_with_webhook_validators_follows_rotations_through_the_grace() {
    let Some(backend) = Backend::aws() else {
        return;
    };
    fleet::a_fleet_with_webhook_validators_follows_rotations(backend).await;
}

fleet::fleet_processes!();
