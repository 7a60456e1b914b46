//! `stage`, `complete`, `rotate` and `resume`: the library's durable rotation on the store,
//! and what its outcome means for the operator (the exit code and the next step).

use std::time::Duration;

use serde_json::{Value, json};
use twilio_accounts::Client;
use twilio_accounts::rotation::{AccountState, RotateAuthToken, RotationError, RotationStep};
use twilio_store::{Heartbeat, RotationPhase, StoreErrorKind, TokenRecord, TokenStore};

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
    if matches!(cli.command, Command::Resume { .. }) && idle && !just_promoted(&record, cli) {
        return resume_idle(cli, &record, &client).await;
    }
    // The run's choices: the flags, else (for `resume`) what the interrupted run recorded,
    // else the library's defaults.
    let resuming = matches!(cli.command, Command::Resume { .. });
    let recorded = resuming.then_some(&record.choices);
    let mut builder: RotateAuthToken = client.rotate_auth_token().store(store.clone());
    if let Some(window) = cli
        .propagation_window
        .map(Duration::from_secs)
        .or(recorded.and_then(|c| c.propagation_window))
    {
        builder = builder.propagation_window(window);
    }
    builder = crate::hooks::install(builder);
    if let Some(max_wait) = cli
        .max_wait
        .map(Duration::from_secs)
        .or(recorded.and_then(|c| c.max_wait))
    {
        builder = builder.max_wait(max_wait);
    }
    if let Some(policy) = cli.gate_policy.or(recorded.and_then(|c| c.gate_policy)) {
        builder = builder.gate_policy(policy);
    }
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
        Err(err) if is_gate_failure(&err) => gate_failure(cli, store.as_ref(), &err).await,
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
    let now = time::OffsetDateTime::now_utc();
    if record
        .lease
        .as_ref()
        .is_some_and(|lease| lease.blocks_at(now))
    {
        // Nothing recorded in flight yet, but a live run may be starting one.
        return Outcome {
            code: exit::NOT_NOW,
            text: format!(
                "this run changed nothing: no rotation is recorded in flight, but another run \
                 holds the store's lease and may be starting one (`twilio-rotate --store {} \
                 status` shows where it stands); run resume again once it has finished",
                cli.store
            ),
            json: json!({
                "state": Value::Null,
                "locked_by_another_run": true,
            }),
        };
    }
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
        Cause::TwilioUnreachable if resuming && idle(record) => (
            exit::UNREACHABLE,
            format!(
                "could not reach Twilio, so resume could not check that Twilio accepts the \
                 token promoted last ({}); no rotation is in flight and the store is unchanged: \
                 run resume again when Twilio answers",
                record.current.fingerprint()
            ),
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
        // Twilio answered (not 401/403, not an outage) or the configuration is wrong: running
        // it again changes nothing until a person fixes the cause.
        _ if unchanged => (
            exit::PERSON,
            format!(
                "nothing changed, and running it again will not help until the cause is fixed \
                 (a wrong --base-url, account or configuration): {}",
                exit::deepest(err)
            ),
        ),
        // The store refused a write mid-rotation (a policy, a file's mode): every later run
        // meets the same refusal, so `resume` alone would fail for ever.
        Cause::Store(
            StoreErrorKind::Permissions
            | StoreErrorKind::Malformed
            | StoreErrorKind::Unsupported
            | StoreErrorKind::NotFound,
        ) => {
            let advice = match store_error(err) {
                Some(e) => exit::store_advice(e, &cli.store),
                None => "fix the store".into(),
            };
            (
                exit::PERSON,
                format!(
                    "the store refused this run, so the rotation is not finished; the store \
                     keeps the record as it was before the refusal. A person must act: \
                     {advice}; then run `twilio-rotate --store {} resume`",
                    cli.store
                ),
            )
        }
        Cause::StoreUnreachable => (
            exit::RESUME,
            format!(
                "the store could not be read or written, so the rotation is not finished; the \
                 store keeps the record as it was before: run \
                 `twilio-rotate --store {} resume` once the store answers",
                cli.store
            ),
        ),
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

/// No rotation in flight in `record` (perhaps one promoted moments ago).
fn idle(record: &TokenRecord) -> bool {
    record.phase == RotationPhase::Idle && record.pending.is_none()
}

/// The fleet gate stopped the promotion: the record stays staged, both tokens work.
fn is_gate_failure(err: &RotationError) -> bool {
    err.failed_step() == RotationStep::FleetAcknowledgement && err.state() == AccountState::Staged
}

/// Why the fleet gate did not promote, read again from the heartbeats (the library's error
/// is one sentence for both causes): followers that lag, or heartbeats that cannot be read.
async fn gate_failure(cli: &Cli, store: &dyn TokenStore, err: &RotationError) -> Outcome {
    let command = cli.command.name();
    // `rotate` staged the token itself: its rotation is unfinished (3), where `complete` and
    // `resume` changed nothing.
    let staged_now = matches!(cli.command, Command::Rotate { .. });
    let pending = match err.report().new_token() {
        Some(fingerprint) => Some(fingerprint),
        None => store
            .load()
            .await
            .ok()
            .flatten()
            .and_then(|r| r.pending.map(|p| p.fingerprint())),
    };
    let token = pending.map_or_else(
        || "the new token".to_owned(),
        |p| format!("the new token {p}"),
    );
    let (changed, again) = if staged_now {
        (
            format!("this run staged {token} (both tokens work) but did not promote it"),
            format!("run `twilio-rotate --store {} resume`", cli.store),
        )
    } else {
        (
            format!("not promoted, nothing changed ({token} stays staged, both tokens work)"),
            format!("run `twilio-rotate --store {} {command}` again", cli.store),
        )
    };
    let promote_with = if staged_now { "complete" } else { command };
    let promote_anyway = format!(
        "or promote without their confirmation: `twilio-rotate --store {} {promote_with} \
         --gate-policy promote-anyway` (followers that lack the new token then fail until they \
         reload)",
        cli.store
    );
    let (code, next, lagging) = match store.heartbeats().await {
        Err(error) => {
            let cause = exit::cause(&error);
            let advice = exit::heartbeat_advice(&error, &cli.store);
            let next = if cause == Cause::StoreUnreachable {
                format!(
                    "{changed}: the fleet gate could not read the followers' heartbeats \
                     ({error}), so it cannot tell who holds {token}. {again} later; if this \
                     persists, a person must act: {advice}, {promote_anyway}",
                    again = capitalized(&again),
                )
            } else {
                format!(
                    "{changed}: the fleet gate cannot read the followers' heartbeats ({error}), \
                     so it cannot tell who holds {token}, and running it again will not help. \
                     A person must act: {advice}, {promote_anyway}"
                )
            };
            (unreadable_code(cause, staged_now), next, None)
        }
        Ok(beats) => {
            let now = time::OffsetDateTime::now_utc();
            let lagging: Vec<&Heartbeat> = pending
                .map(|p| Heartbeat::lagging(&beats, p, now))
                .unwrap_or_default();
            let who: Vec<String> = lagging
                .iter()
                .map(|b| format!("{} ({})", b.follower, b.role.as_str()))
                .collect();
            let waiting = if who.is_empty() {
                "when the fleet gate gave up (after --max-wait) live followers lacked it; all \
                 of them hold it now"
                    .to_owned()
            } else {
                format!(
                    "{} live follower(s) still do not hold it: {}",
                    who.len(),
                    who.join(", ")
                )
            };
            let code = if staged_now {
                exit::RESUME
            } else {
                exit::NOT_NOW
            };
            let ids = lagging.iter().map(|b| b.follower.as_str().to_owned());
            (
                code,
                format!(
                    "{changed}: {waiting}. {} once they hold it, {promote_anyway}",
                    capitalized(&again)
                ),
                Some(ids.collect::<Vec<_>>()),
            )
        }
    };
    let mut json = report_json(err.report());
    if let Value::Object(map) = &mut json {
        map.insert("error".into(), next.clone().into());
        map.insert("failed_step".into(), err.failed_step().name().into());
        map.insert("next".into(), next.clone().into());
        map.insert("lagging".into(), json!(lagging));
    }
    Outcome {
        code,
        text: format!("error: {next}\n{}", err.report()),
        json,
    }
}

/// The exit code for a fleet gate that could not read the heartbeats: an unreachable store
/// may answer on the next run (4; for `rotate`, whose token is staged, 3: `resume`); any
/// other store error (a policy without `list`) stops every run until a person acts (2).
fn unreadable_code(cause: Cause, staged_now: bool) -> u8 {
    match cause {
        Cause::StoreUnreachable if staged_now => exit::RESUME,
        Cause::StoreUnreachable => exit::UNREACHABLE,
        _ => exit::PERSON,
    }
}

/// `text` with its first letter in upper case (a sentence that starts with a command).
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_heartbeats_page_a_person_unless_the_store_is_unreachable() {
        let denied = twilio_store::StoreError::new(StoreErrorKind::Permissions, "403");
        let down = twilio_store::StoreError::new(StoreErrorKind::Io, "did not answer");
        let (denied, down) = (exit::cause(&denied), exit::cause(&down));
        assert_eq!(unreadable_code(denied, false), exit::PERSON);
        assert_eq!(unreadable_code(denied, true), exit::PERSON);
        assert_eq!(unreadable_code(down, false), exit::UNREACHABLE);
        assert_eq!(unreadable_code(down, true), exit::RESUME);
    }

    #[test]
    fn capitalized_sentences() {
        assert_eq!(capitalized("run `resume`"), "Run `resume`");
        assert_eq!(capitalized(""), "");
    }
}
