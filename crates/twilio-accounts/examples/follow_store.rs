//! A long-running service that follows the token store an Auth Token rotation writes, and
//! keeps working while the token is rotated under it.
//!
//! ```text
//! cargo run -p twilio-accounts --example follow_store                    # the demo
//! cargo run -p twilio-accounts --example follow_store -- --store FILE    # your service
//! ```
//!
//! With `--store FILE` (the file `twilio-rotate init` wrote) this is the service itself:
//! `Client::following(store, DEFAULT_RELOAD_INTERVAL)` authenticates with the token the store
//! says works and re-reads the store every 5 s, so a `twilio-rotate rotate` run from another
//! process moves it to the new token before the old one stops working. It calls Twilio every
//! 30 s and runs until stopped (Ctrl-C).
//!
//! Without arguments it shows the same thing on this machine and exits by itself: the Accounts
//! v1 emulator in-process, a store file in a temporary directory, the service calling every
//! 20 ms from a client built like `Client::following` (pointed at the emulator), and a rotation
//! through the same store, as `twilio-rotate rotate` would run it. It prints each token the
//! service switches to (by fingerprint, never the token) and exits 0 when every call succeeded
//! and the service ended on the new token, 1 otherwise.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use twilio_accounts::follow::DEFAULT_RELOAD_INTERVAL;
use twilio_accounts::rotation::{TokenFingerprint, VerifyBackoff};
use twilio_accounts::store::{FileTokenStore, TokenLabel, TokenRecord, TokenStore};
use twilio_accounts::{Client, Credentials};
use twilio_emulator::Emulator;

mod support;

use support::chain;

/// How often the demo's service re-reads the store, and calls.
const DEMO_RELOAD: Duration = Duration::from_millis(20);

/// The demo rotation's hand-off grace: the rotation guide asks for at least twice the reload
/// interval; fifty times leaves room for a loaded machine.
const DEMO_GRACE: Duration = Duration::from_secs(1);

/// Calls the demo's service makes after the rotation, on the new token.
const CALLS_AFTER: usize = 10;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let result = match (args.next(), args.next(), args.next()) {
        (None, _, _) => demo().await,
        (Some(flag), Some(path), None) if flag == "--store" => serve(PathBuf::from(path)).await,
        _ => {
            eprintln!(
                "usage: cargo run -p twilio-accounts --example follow_store [-- --store FILE]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {}", chain(&*error));
            ExitCode::FAILURE
        }
    }
}

/// The service against Twilio: follows the store at `path` until stopped.
async fn serve(path: PathBuf) -> Result<bool, Box<dyn StdError>> {
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::open(&path)?);
    let client = Client::following(store, DEFAULT_RELOAD_INTERVAL).await?;
    println!(
        "following {} for account {}",
        path.display(),
        client.account_sid()
    );
    let mut last = None;
    loop {
        report_switch(&client, &mut last);
        match client.credentials().aws().list().page_size(1).send().await {
            Ok(_) => println!("call: ok"),
            Err(error) => println!("call: failed: {}", chain(&error)),
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// Prints the token the client follows when it changed since `last`.
fn report_switch(client: &Client, last: &mut Option<(TokenLabel, TokenFingerprint)>) {
    let now = client.store_follower().and_then(|f| f.following());
    if now.is_some() && now != *last {
        if let Some((label, fingerprint)) = now {
            println!("service: now authenticating with the {label} token {fingerprint}");
        }
        *last = now;
    }
}

/// The demo: the service and a rotation, both on the in-process emulator.
async fn demo() -> Result<bool, Box<dyn StdError>> {
    let emulator = Emulator::builder().start().await?;
    let dir = TempDir::new()?;
    let path = dir.0.join("tokens.json");
    let old = emulator.auth_token();
    FileTokenStore::create(
        &path,
        &TokenRecord::new(emulator.account_sid(), old.clone()),
    )?;
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::open(&path)?);
    println!("emulator {}, store {}", emulator.base_url(), path.display());
    println!("current token {}", TokenFingerprint::of(&old));

    // The service: what `Client::following(store, interval)` builds, on the emulator's URL.
    let service = Client::builder()
        .read_environment(false)
        .base_url(&emulator.base_url())
        .build_following(Arc::clone(&store), DEMO_RELOAD)
        .await?;
    let rotated = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(run_service(service.clone(), Arc::clone(&rotated)));

    // Another process's rotation, through the same store.
    tokio::time::sleep(DEMO_RELOAD * 5).await;
    let operator = Client::builder()
        .read_environment(false)
        .base_url(&emulator.base_url())
        .credentials(Credentials::from_auth_token(emulator.account_sid(), old)?)
        .build()?;
    println!("rotating through the store (hand-off grace {DEMO_GRACE:?}) ...");
    let report = operator
        .rotate_auth_token()
        .store(Arc::clone(&store))
        .hand_off_grace(DEMO_GRACE)
        .verify_backoff(VerifyBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(200),
        ))
        .send()
        .await;
    rotated.store(true, Ordering::SeqCst);
    let (calls, failed) = running.await?;
    let new = TokenFingerprint::of(&emulator.auth_token());
    emulator.shutdown().await;

    if let Err(error) = report {
        println!("rotation failed: {}", chain(&error));
        return Ok(false);
    }
    let following = service.store_follower().and_then(|f| f.following());
    let on_new = following.is_some_and(|(_, fingerprint)| fingerprint == new);
    println!(
        "rotated to {new}; the service made {calls} calls, {failed} failed, and ended on token {}",
        following.map_or_else(|| "(none)".into(), |(_, f)| f.to_string())
    );
    Ok(failed == 0 && on_new)
}

/// Calls every [`DEMO_RELOAD`] until [`CALLS_AFTER`] calls after `rotated` is set;
/// returns the number of calls and of failures.
async fn run_service(client: Client, rotated: Arc<AtomicBool>) -> (usize, usize) {
    let (mut calls, mut failed, mut after) = (0, 0, 0);
    let mut last = None;
    while after < CALLS_AFTER {
        if rotated.load(Ordering::SeqCst) {
            after += 1;
        }
        report_switch(&client, &mut last);
        calls += 1;
        if let Err(error) = client.credentials().aws().list().page_size(1).send().await {
            failed += 1;
            println!("service: call failed: {}", chain(&error));
        }
        tokio::time::sleep(DEMO_RELOAD).await;
    }
    report_switch(&client, &mut last);
    (calls, failed)
}

/// A private temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("follow-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
