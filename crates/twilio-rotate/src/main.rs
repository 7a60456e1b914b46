//! `twilio-rotate`: rotate a Twilio account's Auth Token without locking anyone out.
//!
//! ```text
//! export TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=…   # once, to write the store
//! twilio-rotate --store /secrets/twilio.json init
//! twilio-rotate --store /secrets/twilio.json rotate --grace 120
//! twilio-rotate --store /secrets/twilio.json status --json
//! VAULT_TOKEN=… twilio-rotate --store vault://vault.example.com/secret/twilio rotate
//! ```
//!
//! Every step is recorded in the store (a file, or a Vault/OpenBao secret) before anything
//! depends on it (see `docs/guide/rotation.md`); after a crash, `resume` finishes or rolls
//! back. Tokens never reach stdout, stderr or logs: only their fingerprints.

mod cli;
mod exit;
mod followers;
mod hooks;
mod init;
mod output;
mod rotation;
mod status;
mod store_arg;
mod twilio;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            if let Some(why) = store_arg::refusal(&err) {
                eprintln!("error: --store (or TWILIO_ROTATE_STORE) is not usable: {why}");
                return ExitCode::from(exit::PERSON);
            }
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::PERSON
            } else {
                exit::OK
            });
        }
    };
    // Warnings and errors of the library (a store briefly unreadable, requests still in flight
    // at the promotion) go to stderr; they name tokens by fingerprint only.
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::PERSON);
        }
    };
    ExitCode::from(runtime.block_on(cli::run(cli)))
}
