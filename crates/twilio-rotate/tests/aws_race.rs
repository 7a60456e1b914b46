//! Issue 17's multi-host proof on an AWS Secrets Manager store (`aws-sm://…`), on a real
//! `moto_server` (`cargo xtask moto` installs it): the cases of `support/race.rs` (two rotators
//! race; the server stopped mid-promotion; the crash matrix at every checkpoint and at random
//! instants), each `resume` checked against the emulator and against the `AWSCURRENT` /
//! `AWSPENDING` / `AWSPREVIOUS` labels an AWS-native reader sees.
//!
//! moto keeps its data in memory, so a killed moto comes back empty: "the store goes away" is
//! moto stopped (SIGSTOP) and continued (SIGCONT), which keeps it.

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

race::race_tests!(Backend::aws(), Backend::aws(), 6);
