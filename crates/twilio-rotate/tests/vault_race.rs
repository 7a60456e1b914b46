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

race::race_tests!(Backend::vault(), Backend::vault_persistent(), 8);
