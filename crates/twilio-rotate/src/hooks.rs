//! The crash tests' way in, compiled only with the `test-hooks` feature (off by default; only
//! the crash-matrix test build turns it on), so the binary an operator installs carries none.
//!
//! With `TWILIO_ROTATE_PAUSE_AT=<checkpoint>` the process prints
//! `twilio-rotate: paused at <checkpoint>` on stderr when the rotation reaches that boundary
//! and then parks there (the hook runs on the runtime's only thread, so the process does nothing
//! more) until the test kills it;
//! `<checkpoint>@mark` prints and goes on (to kill during the next request).

use twilio_accounts::rotation::RotateAuthToken;

#[cfg(feature = "test-hooks")]
pub(crate) fn install(builder: RotateAuthToken) -> RotateAuthToken {
    use std::io::Write as _;

    use twilio_accounts::rotation::Checkpoint;

    let Ok(pause_at) = std::env::var("TWILIO_ROTATE_PAUSE_AT") else {
        return builder;
    };
    let (name, pause) = match pause_at.strip_suffix("@mark") {
        Some(name) => (name, false),
        None => (pause_at.as_str(), true),
    };
    let Some(wanted) = Checkpoint::parse(name) else {
        eprintln!("twilio-rotate: TWILIO_ROTATE_PAUSE_AT: no checkpoint `{name}`");
        return builder;
    };
    builder.on_checkpoint(move |name| {
        if name != wanted {
            return;
        }
        eprintln!("twilio-rotate: paused at {name}");
        let _ = std::io::stderr().flush();
        if pause {
            // The hook is synchronous: park this thread for good. The test kills the process.
            loop {
                std::thread::park();
            }
        }
    })
}

/// Without the feature: nothing, whatever the environment says.
#[cfg(not(feature = "test-hooks"))]
pub(crate) fn install(builder: RotateAuthToken) -> RotateAuthToken {
    builder
}
