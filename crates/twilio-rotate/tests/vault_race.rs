//! Issue 17's multi-host proof on a Vault/OpenBao store (`cargo xtask openbao` installs
//! `bao`): the cases of `support/race.rs` (two rotators race; the server killed mid-promotion,
//! restarted on its raft data; the crash matrix at every checkpoint and at random instants).

#[path = "support/backend.rs"]
mod backend;
#[path = "support/emulator.rs"]
mod emulator;
#[path = "support/race.rs"]
mod race;
#[path = "support/running.rs"]
mod running;
#[allow(dead_code)]
#[path = "support/temp_dir.rs"]
mod temp_dir;

use backend::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rotators_race_exactly_one_rotates() {
    let Some(backend) = Backend::vault() else {
        return;
    };
    race::two_rotators_race_exactly_one_rotates(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_killed_mid_promotion_leaves_a_resumable_rotation() {
    let Some(backend) = Backend::vault_persistent() else {
        return;
    };
    race::a_store_gone_mid_promotion_leaves_a_resumable_rotation(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_checkpoint_resume_from_another_host_after_the_lease() {
    let Some(backend) = Backend::vault() else {
        return;
    };
    race::killed_at_every_checkpoint_resume_from_another_host_after_the_lease(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_instants_resume_from_another_host_after_the_lease() {
    let Some(backend) = Backend::vault() else {
        return;
    };
    race::killed_at_random_instants_resume_from_another_host_after_the_lease(backend, 8).await;
}
