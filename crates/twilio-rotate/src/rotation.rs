//! `stage`, `complete`, `rotate` and `resume`: the library's durable rotation on the store,
//! and what its outcome means for the operator (the exit code and the next step).

use std::time::Duration;

use serde_json::{Value, json};
use twilio_accounts::Client;
use twilio_accounts::rotation::{AccountState, RotateAuthToken, RotationError, RotationStep};
use twilio_store::{RotationPhase, StoreErrorKind, TokenRecord};

use crate::cli::{Cli, Command, Outcome};
use crate::exit::{self, Cause};
use crate::output::{record_json, report_json, state_name};
use crate::status::just_promoted;
use crate::twilio::{self, Answer};

pub(crate) async fn run(cli: &Cli) -> Outcome {
    let (store, record) = match twilio::load(cli).await {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    let client = match twilio::client(cli, record.account_sid, record.current.token()) {
        Ok(client) => client,
        Err(outcome) => return outcome,
    };
    let idle = record.phase == RotationPhase::Idle && record.pending.is_none();
    if matches!(cli.command, Command::Resume { .. }) && idle && !just_promoted(&record) {
        return resume_idle(cli, &record, &client).await;
    }
    let mut builder: RotateAuthToken = client
        .rotate_auth_token()
        .store(store.clone())
        .propagation_window(Duration::from_secs(cli.propagation_window));
    builder = crate::hooks::install(crate::cli::with_gate(cli, builder, &record.choices));
    let result = match &cli.command {
        Command::Stage => builder.stage().await,
        Command::Complete { force } => builder.force(*force).complete().await,
        Command::Rotate { grace } => {
            with_grace(builder, grace.map(Duration::from_secs))
                .send()
                .await
        }
        // The interrupted run's choices, as it recorded them, unless overridden.
        Command::Resume { grace } => {
            let grace = grace.map(Duration::from_secs);
            let recorded = record.choices.hand_off_grace;
            with_grace(builder, grace.or(recorded)).resume().await
        }
        Command::Init { .. } | Command::Status => {
            return Outcome::person("not a rotation command");
        }
    };
    let mut outcome = match result {
        Ok(report) => Outcome {
            code: exit::OK,
            text: report.to_string(),
            json: report_json(&report),
        },
        Err(err) => failure(cli, &record, &err),
    };
    // Where the store stands now, as fingerprints.
    if let (Ok(Some(record)), Value::Object(map)) = (store.load().await, &mut outcome.json) {
        map.insert("store".into(), record_json(&record));
    }
    outcome
}

fn with_grace(builder: RotateAuthToken, grace: Option<Duration>) -> RotateAuthToken {
    match grace {
        Some(grace) => builder.hand_off_grace(grace),
        None => builder,
    }
}

/// `resume` with no rotation in flight: one request says whether the stored token still works.
/// (Right after a promotion the library's own `resume` runs instead: it waits for propagation.)
async fn resume_idle(cli: &Cli, record: &TokenRecord, client: &Client) -> Outcome {
    match twilio::probe(client).await {
        Answer::Works => Outcome {
            code: exit::OK,
            text: format!(
                "nothing to resume: no rotation in flight, and Twilio accepts the current token {}",
                record.current.fingerprint()
            ),
            json: json!({ "state": state_name(AccountState::Unchanged), "steps": [] }),
        },
        Answer::Refused(e) => twilio::stale_token(cli, record, &e),
        Answer::Unreachable(e) => twilio::unreachable(
            "to check the stored token",
            &e,
            "no rotation is in flight and the store is unchanged: run resume again later",
        ),
        Answer::Failed(e) => Outcome::person(format!(
            "Twilio's answer did not tell whether it accepts the current token: {}",
            exit::chain(&e)
        )),
    }
}

/// A rotation that did not end as asked: the exit code and the next step follow the cause.
fn failure(cli: &Cli, record: &TokenRecord, err: &RotationError) -> Outcome {
    let state = err.state();
    let unchanged = state == AccountState::Unchanged;
    let resuming = matches!(cli.command, Command::Resume { .. });
    let cause = exit::cause(err);
    let raced = cause == Cause::Store(StoreErrorKind::Conflict) && unchanged;
    if cause == Cause::Locked || raced {
        // This run did nothing; the run holding the lock may be anywhere in its rotation, so
        // nothing is said about the account's tokens.
        return Outcome {
            code: exit::NOT_NOW,
            text: format!(
                "error: {}\nthis run changed nothing: another run holds the store's lease (or \
                 wrote the store first) and may be in the middle of a rotation (`twilio-rotate --store {} status` shows where it \
                 stands); run this again once it has finished",
                exit::chain(err.error()),
                cli.store
            ),
            json: json!({
                "error": exit::chain(err.error()),
                "state": Value::Null,
                "locked_by_another_run": true,
            }),
        };
    }
    let (code, next) = match cause {
        Cause::Store(_) if unchanged => {
            let advice = match store_error(err) {
                Some(e) => exit::store_advice(e, &cli.store),
                None => "fix the store, then run this again".into(),
            };
            (exit::PERSON, advice)
        }
        Cause::StoreUnreachable if unchanged => (
            exit::UNREACHABLE,
            "the store could not be read or written; nothing changed: run this again later".into(),
        ),
        Cause::TwilioUnreachable if unchanged && !resuming => (
            exit::UNREACHABLE,
            "could not reach Twilio; nothing changed: run this again later".into(),
        ),
        Cause::TwilioUnreachable if resuming => (
            exit::UNREACHABLE,
            format!(
                "could not reach Twilio, so resume decided nothing: the interrupted rotation stays \
                 recorded in the store (phase {:?}); run resume again when Twilio answers",
                record.phase
            ),
        ),
        Cause::Refused
            if unchanged
                && record.phase == RotationPhase::Idle
                && err.failed_step() == RotationStep::CreateSecondary =>
        {
            // The refusal itself (401, Twilio's code), not the workflow's wrapper.
            let refusal = match err.error() {
                twilio_accounts::Error::Workflow(w) => w.cause().unwrap_or(err.error()),
                other => other,
            };
            return twilio::stale_token(cli, record, refusal);
        }
        _ if unchanged => (exit::NOT_NOW, "nothing changed: safe to run again".into()),
        _ if state == AccountState::Staged && err.failed_step() == RotationStep::HandOffGrace => (
            exit::NOT_NOW,
            "still staged, nothing changed: run complete again once the hand-off grace has passed"
                .into(),
        ),
        _ if resuming && state == AccountState::Unknown => (
            exit::PERSON,
            "resume could not tell which stored token is the primary; both stay stored. A person \
             must act: check the account's Auth Tokens in the Twilio Console"
                .into(),
        ),
        _ => (
            exit::RESUME,
            format!(
                "the rotation is not finished: run `twilio-rotate --store {} resume`",
                cli.store
            ),
        ),
    };
    let mut json = report_json(err.report());
    if let Value::Object(map) = &mut json {
        map.insert("error".into(), exit::chain(err).into());
        map.insert("failed_step".into(), err.failed_step().name().into());
        map.insert("next".into(), next.clone().into());
    }
    let text = if code == exit::UNREACHABLE {
        // An outage decided nothing: no account-state story, only what could not be reached.
        format!("error: {next}\n  cause: {}", exit::deepest(err))
    } else {
        format!("error: {}\n{}\n{next}", exit::chain(err), err.report())
    };
    Outcome { code, text, json }
}

/// The store error under `err`, if that is what failed.
fn store_error(err: &RotationError) -> Option<&twilio_store::StoreError> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(store) = e.downcast_ref::<twilio_store::StoreError>() {
            return Some(store);
        }
        if let Some(twilio_accounts::Error::Store(store)) = e.downcast_ref() {
            return Some(store);
        }
        next = e.source();
    }
    None
}
