//! Rotate an account's Auth Token safely, and watch every step.
//!
//! ```text
//! cargo run -p twilio-accounts --example rotate_auth_token
//! ```
//!
//! With no `TWILIO_ACCOUNT_SID` / `TWILIO_AUTH_TOKEN` in the environment this starts the
//! Accounts v1 emulator in-process, rotates its token (with a simulated propagation delay),
//! prints each step with token fingerprints and timings, then proves that the old token is
//! refused by sending a real request with it.
//!
//! With those variables set it explains how to rotate the real account, and does nothing
//! unless given `--live --write-token FILE` (the new token is written to `FILE`, created with
//! owner-only permissions, because the old one stops working).
//!
//! Tokens are never printed: only their fingerprints (the first 8 hex digits of their SHA-256;
//! compare with `printf %s "$TOKEN" | sha256sum | cut -c1-8`).

use std::error::Error as StdError;
use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use twilio_accounts::rotation::{
    AccountState, RotationError, RotationReport, StepOutcome, TokenFingerprint, VerifyBackoff,
};
use twilio_accounts::{Client, Credentials};
use twilio_emulator::Emulator;

mod support;

use support::chain;
use twilio_types::AuthToken;

/// The propagation delay the emulator simulates, so the verification visibly waits.
const DEMO_PROPAGATION: Duration = Duration::from_millis(1200);

const USAGE: &str = "\
usage: cargo run -p twilio-accounts --example rotate_auth_token -- [--emulator | --live --write-token FILE]

  (no flags)         without TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN: rotate against the in-process emulator
  --emulator         use the emulator even when TWILIO_* variables are set
  --live             rotate the real account in TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN
  --write-token FILE with --live: where to write the new Auth Token (created, owner-only; must not exist)
  --suppress-email   with --live: ask Twilio not to e-mail the account's owners about the change
  -h, --help         this text";

#[derive(Default)]
struct Args {
    live: bool,
    emulator: bool,
    suppress_email: bool,
    write_token: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut iter = std::env::args_os().skip(1);
    while let Some(arg) = iter.next() {
        match arg.to_str() {
            Some("--live") => args.live = true,
            Some("--emulator") => args.emulator = true,
            Some("--suppress-email") => args.suppress_email = true,
            Some("--write-token") => {
                let path = iter.next().ok_or("--write-token needs a file name")?;
                args.write_token = Some(PathBuf::from(path));
            }
            Some("-h" | "--help") => return Err(String::new()),
            _ => return Err(format!("unknown argument {}", arg.to_string_lossy())),
        }
    }
    if args.live && args.emulator {
        return Err("--live and --emulator exclude each other".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let has_env = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());

    if args.live {
        live(&args).await
    } else if has_env && !args.emulator {
        explain_live();
        ExitCode::SUCCESS
    } else {
        emulated().await
    }
}

/// The default: a full rotation against the in-process emulator.
async fn emulated() -> ExitCode {
    println!("Auth Token rotation, against the in-process Twilio Accounts emulator");
    println!("(no TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN set; nothing leaves this machine)\n");

    let emulator = match Emulator::builder()
        .propagation_delay(DEMO_PROPAGATION)
        .start()
        .await
    {
        Ok(emulator) => emulator,
        Err(e) => return fail("could not start the emulator", &e),
    };
    let old_token = emulator.auth_token();
    println!("emulator:      {}", emulator.base_url());
    println!("account:       {}", emulator.account_sid());
    println!(
        "current token: {} (fingerprint)",
        TokenFingerprint::of(&old_token)
    );
    println!(
        "               new tokens take {:.1}s to authenticate here, like Twilio's propagation delay\n",
        DEMO_PROPAGATION.as_secs_f64()
    );

    let client = match client_for(&emulator, old_token.clone()) {
        Ok(client) => client,
        Err(e) => return fail("could not build the client", &*e),
    };
    println!("rotating (create secondary, verify, switch the client, promote, verify) ...\n");
    let result = client
        .rotate_auth_token()
        .suppress_email_notification(true)
        .verify_backoff(VerifyBackoff::new(
            Duration::from_millis(200),
            Duration::from_secs(2),
        ))
        .send()
        .await;
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            print_failure(&err);
            emulator.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    print_steps(&report);

    println!("\nchecking the result with real requests:");
    let mut ok = true;
    let new_token = emulator.auth_token();
    let old_fp = TokenFingerprint::of(&old_token);
    let new_fp = TokenFingerprint::of(&new_token);
    let old_client = match client_for(&emulator, old_token) {
        Ok(client) => client,
        Err(e) => return fail("could not build a client with the old token", &*e),
    };
    match old_client
        .credentials()
        .aws()
        .list()
        .page_size(1)
        .send()
        .await
    {
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 401) => println!(
            "  old token {old_fp}: refused, HTTP 401{}",
            e.code()
                .map(|c| format!(" (Twilio error {c})"))
                .unwrap_or_default()
        ),
        Err(e) => {
            ok = false;
            println!("  old token {old_fp}: unexpected failure: {}", chain(&e));
        }
        Ok(_) => {
            ok = false;
            println!("  old token {old_fp}: STILL ACCEPTED - the rotation did not revoke it");
        }
    }
    match client.credentials().aws().list().page_size(1).send().await {
        Ok(_) => println!("  new token {new_fp}: accepted (the rotated client keeps working)"),
        Err(e) => {
            ok = false;
            println!("  new token {new_fp}: refused: {}", chain(&e));
        }
    }
    let secondary = emulator.secondary_auth_token();
    println!(
        "  emulator state: primary {}, secondary slot {}",
        TokenFingerprint::of(&emulator.auth_token()),
        if secondary.is_some() {
            "NOT empty"
        } else {
            "empty"
        }
    );
    ok &= secondary.is_none() && report.new_token() == Some(new_fp);
    emulator.shutdown().await;

    if ok {
        println!("\ndone: the account's Auth Token was rotated and the old token no longer works.");
        println!(
            "To rotate a real account: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; running this again then explains the --live flag."
        );
        ExitCode::SUCCESS
    } else {
        println!("\nthe rotation reported success, but the checks above disagree.");
        ExitCode::FAILURE
    }
}

fn client_for(emulator: &Emulator, token: AuthToken) -> Result<Client, Box<dyn StdError>> {
    let credentials = Credentials::from_auth_token(emulator.account_sid(), token)?;
    Ok(Client::builder()
        .credentials(credentials)
        .base_url(&emulator.base_url())
        .build()?)
}

/// With credentials in the environment but without `--live`: explain, change nothing.
fn explain_live() {
    let sid = std::env::var("TWILIO_ACCOUNT_SID").unwrap_or_else(|_| "(not set)".into());
    println!("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are set (account {sid}).");
    println!("Nothing was changed: rotating a real account's Auth Token revokes the current one,");
    println!("so this example does it only when asked explicitly:\n");
    println!(
        "  cargo run -p twilio-accounts --example rotate_auth_token -- --live --write-token new-token.txt\n"
    );
    println!(
        "It then creates a secondary token, verifies it, promotes it, verifies it again, and writes"
    );
    println!(
        "the new token to new-token.txt (owner-only permissions). Update every place that uses the"
    );
    println!(
        "old token (TWILIO_AUTH_TOKEN included) right after. Add --suppress-email to ask Twilio not"
    );
    println!("to e-mail the account's owners.\n");
    println!("To see a rotation without touching your account, run with --emulator.");
}

/// `--live`: the real account.
async fn live(args: &Args) -> ExitCode {
    let Some(path) = &args.write_token else {
        eprintln!(
            "error: --live needs --write-token FILE: the old token stops working, so the new one"
        );
        eprintln!("must be kept somewhere (the example never prints tokens).\n\n{USAGE}");
        return ExitCode::from(2);
    };
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(e) => return fail("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not usable", &e),
    };
    // Create the file first, so a bad path fails before the account is touched.
    let mut file = match create_private(path) {
        Ok(file) => file,
        Err(e) => return fail(&format!("cannot create {}", path.display()), &e),
    };
    println!(
        "rotating the Auth Token of {} on Twilio ...\n",
        client.account_sid()
    );
    let mut request = client.rotate_auth_token();
    if args.suppress_email {
        request = request.suppress_email_notification(true);
    }
    let (report, failure) = match request.send().await {
        Ok(report) => (report, None),
        Err(err) => {
            print_failure(&err);
            let (error, report) = err.into_parts();
            (report, Some(error))
        }
    };
    if failure.is_none() {
        print_steps(&report);
    }
    let mut code = if failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    match report.new_auth_token() {
        Some(token) => match file
            .write_all(token.expose_secret().as_bytes())
            .and_then(|()| file.sync_all())
        {
            Ok(()) => println!(
                "\nthe new token (fingerprint {}) is in {}: update TWILIO_AUTH_TOKEN and your other configuration now.",
                TokenFingerprint::of(token),
                path.display()
            ),
            Err(e) => {
                code = fail(&format!("could not write {}", path.display()), &e);
                eprintln!(
                    "the new primary token is shown in the Twilio Console (Account > API keys & tokens)."
                );
            }
        },
        None => {
            drop(file);
            let _ = std::fs::remove_file(path);
            println!(
                "\nthe old token is still the primary; {} was not kept.",
                path.display()
            );
        }
    }
    code
}

#[cfg(unix)]
fn create_private(path: &PathBuf) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &PathBuf) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn print_steps(report: &RotationReport) {
    for (i, step) in report.steps().iter().enumerate() {
        let mark = match step.outcome() {
            StepOutcome::Succeeded => "ok",
            StepOutcome::Skipped => "--",
            _ => "!!",
        };
        let attempts = if step.attempts() > 1 {
            format!(", {} attempts", step.attempts())
        } else {
            String::new()
        };
        println!(
            "  {}. [{mark}] {:<40} at {:>6.3}s, took {:>6.3}s{attempts}",
            i + 1,
            step.step().description(),
            step.started().as_secs_f64(),
            step.elapsed().as_secs_f64(),
        );
        if let Some(note) = step.note() {
            println!("         {note}");
        }
    }
    println!(
        "\n  result after {:.3}s: {}",
        report.elapsed().as_secs_f64(),
        report.state()
    );
}

fn print_failure(err: &RotationError) {
    eprintln!("the rotation did not complete: {err}");
    let mut cause = err.source();
    while let Some(c) = cause {
        eprintln!("  caused by: {c}");
        cause = c.source();
    }
    eprintln!();
    print_steps(err.report());
    let advice = match err.state() {
        AccountState::Unchanged => "nothing changed; it is safe to run the rotation again.",
        AccountState::UnchangedSecondaryRemains => {
            "a secondary token is left; delete it (client.secondary_auth_token().delete()) or rotate again."
        }
        AccountState::RotatedUnverified => {
            "the new token IS the primary; store it, then check again in a minute (propagation)."
        }
        _ => {
            "check in the Twilio Console which token is the primary; the client holds the one that works."
        }
    };
    eprintln!("\n{advice}");
}

fn fail(what: &str, err: &dyn StdError) -> ExitCode {
    eprintln!("error: {what}: {}", chain(err));
    ExitCode::FAILURE
}
