//! `status`: the store's labels, what Twilio says of each stored token, and whether a rotation
//! is in flight — healthy (a live run holds the lock) or interrupted (nobody does) — and the
//! followers' heartbeats (which never change the exit code).

use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;
use twilio_store::{RotationPhase, TokenLabel, TokenRecord};

use crate::cli::{Cli, Outcome};
use crate::exit;
use crate::followers::{self, Gate};
use crate::output::record_json;
use crate::twilio::{self, Answer};

pub(crate) async fn run(cli: &Cli) -> Outcome {
    let (store, record) = match twilio::load(cli).await {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    let mut text = format!(
        "store {} for {} (phase {:?}, revision {})",
        cli.store, record.account_sid, record.phase, record.revision
    );
    let mut twilio_json = serde_json::Map::new();
    let mut current = None;
    let mut pending = None;
    for (label, stored) in record.tokens() {
        let answer = match twilio::client(cli, record.account_sid, stored.token()) {
            Ok(client) => twilio::probe(&client).await,
            Err(outcome) => return outcome,
        };
        text.push_str(&format!(
            "\n  {:<8} {}  Twilio: {}",
            label.as_str(),
            stored.fingerprint(),
            answer.word()
        ));
        twilio_json.insert(label.as_str().into(), answer.word().into());
        match label {
            TokenLabel::Current => current = Some(answer),
            TokenLabel::Pending => pending = Some(answer),
            _ => {}
        }
    }
    let in_flight = record.phase != RotationPhase::Idle || record.pending.is_some();
    // Whether a live run holds the rotation's lease (a killed run's lease does not count).
    let now = OffsetDateTime::now_utc();
    let held = record
        .lease
        .as_ref()
        .is_some_and(|lease| lease.blocks_at(now));
    let Some(current) = current else {
        return Outcome::person("the store has no current token");
    };
    let pending_fingerprint = record.pending.as_ref().map(|t| t.fingerprint());
    let fleet = followers::describe(store.as_ref(), pending_fingerprint).await;
    let found = Found {
        current: &current,
        pending: pending.as_ref(),
        in_flight,
        held,
        gate: fleet.gate,
    };
    let (code, line, state) = match verdict(cli, &record, &found) {
        Ok(verdict) => verdict,
        Err(outcome) => return outcome,
    };
    text.push('\n');
    text.push_str(&fleet.text);
    text.push('\n');
    text.push_str(&line);
    Outcome {
        code,
        text,
        json: json!({
            "state": state,
            "rotation_in_flight": in_flight,
            "held_by_live_run": held,
            "store": record_json(&record),
            "twilio": twilio_json,
            "followers": fleet.json,
            "verdict": line,
        }),
    }
}

/// What `status` found: Twilio's answer for each stored token, the lease, and the fleet gate.
struct Found<'a> {
    current: &'a Answer,
    pending: Option<&'a Answer>,
    in_flight: bool,
    /// A live run holds the rotation's lease.
    held: bool,
    gate: Gate,
}

/// The exit code, the verdict line and the state name; `Err` for an outcome of its own (a
/// stale token).
fn verdict(
    cli: &Cli,
    record: &TokenRecord,
    found: &Found<'_>,
) -> Result<(u8, String, &'static str), Outcome> {
    let Found {
        current,
        pending,
        in_flight,
        held,
        ..
    } = *found;
    if let Some(Answer::Unreachable(e)) = [Some(current), pending]
        .into_iter()
        .flatten()
        .find(|a| matches!(a, Answer::Unreachable(_)))
    {
        return Err(twilio::unreachable(
            "to check the stored tokens",
            e,
            "the store is unchanged: run status again later",
        ));
    }
    let one_works = matches!(current, Answer::Works) || matches!(pending, Some(Answer::Works));
    // An answer that is neither "works" nor "refused" (a 400, a 404) tells nothing either way.
    if !one_works
        && let Some(Answer::Failed(e)) = [Some(current), pending]
            .into_iter()
            .flatten()
            .find(|a| matches!(a, Answer::Failed(_)))
    {
        return Err(Outcome::person(format!(
            "Twilio's answer did not tell whether it accepts the stored tokens (the store is \
             unchanged; check --base-url): {}",
            exit::chain(e)
        )));
    }
    if in_flight {
        return Ok(if held && one_works {
            (
                exit::OK,
                "a rotation is in progress: a live run holds the store's lease, and Twilio \
                 accepts a stored token"
                    .into(),
                "InProgress",
            )
        } else if !held
            && record.phase == RotationPhase::Staged
            && matches!(current, Answer::Works)
            && matches!(pending, Some(Answer::Works))
        {
            (exit::OK, staged(cli, &found.gate), "Staged")
        } else if held && record.phase == RotationPhase::Promoting {
            (exit::OK, propagating(cli), "InProgress")
        } else if held {
            (
                exit::PERSON,
                format!(
                    "a live run holds the store's lease (phase {:?}, nothing promoted yet), but \
                     Twilio refuses every stored token: the current token was changed outside \
                     this store or revoked. A person must act: once the run has ended, see the \
                     rotation guide's \"stale token\"",
                    record.phase
                ),
                "InProgress",
            )
        } else {
            (
                exit::RESUME,
                format!(
                    "a rotation was interrupted (phase {:?}, no live run holds the lease): run \
                     `twilio-rotate --store {} resume`",
                    record.phase, cli.store
                ),
                "Interrupted",
            )
        });
    }
    match current {
        Answer::Works if held => Ok((
            exit::OK,
            "a live run holds the store's lease (a rotation starting, or one just finished), \
             and Twilio accepts the current token"
                .into(),
            "InProgress",
        )),
        Answer::Works => Ok((
            exit::OK,
            "ok: no rotation in flight, and Twilio accepts the current token".into(),
            "Idle",
        )),
        Answer::Refused(_) if held && just_promoted(record, cli) => {
            Ok((exit::OK, propagating(cli), "InProgress"))
        }
        Answer::Refused(_) if just_promoted(record, cli) => Ok((
            exit::RESUME,
            format!(
                "the current token was promoted less than the propagation window ({}s) ago and \
                 Twilio does not accept it yet, and no live run is waiting for it: run \
                 `twilio-rotate --store {} resume`, which waits for it",
                propagation_window(record, cli).as_secs(),
                cli.store
            ),
            "Idle",
        )),
        Answer::Refused(e) => Err(twilio::stale_token(cli, record, e)),
        Answer::Unreachable(e) | Answer::Failed(e) => Err(Outcome::person(format!(
            "Twilio's answer did not tell whether it accepts the current token: {}",
            exit::chain(e)
        ))),
    }
}

/// The verdict for a staged rotation with both tokens working: what `complete` does next,
/// by what its fleet gate finds.
fn staged(cli: &Cli, gate: &Gate) -> String {
    let store = &cli.store;
    match gate {
        Gate::Open => format!(
            "staged: both tokens work; `twilio-rotate --store {store} complete` (or `resume`) \
             promotes the new one once the hand-off grace has passed"
        ),
        Gate::Lagging(who) => format!(
            "staged: both tokens work; `twilio-rotate --store {store} complete` (or `resume`) \
             promotes the new one once the hand-off grace has passed and these live followers \
             hold it: {} (it waits for them at most --max-wait, then does not promote unless \
             --gate-policy promote-anyway)",
            who.join(", ")
        ),
        Gate::Unreadable(error) => format!(
            "staged: both tokens work, but `complete` (or `resume`) will not promote while its \
             fleet gate cannot read the followers' heartbeats ({error}): if that persists, a \
             person must act: make them readable to the store's credentials, or promote \
             without the followers' confirmation: `twilio-rotate --store {store} complete \
             --gate-policy promote-anyway` (followers that lack the new token then fail until \
             they reload)"
        ),
    }
}

/// A live run promoted (or is promoting) the new token and waits for Twilio to accept it.
fn propagating(cli: &Cli) -> String {
    format!(
        "a rotation is in progress: a live run holds the store's lease and has promoted (or is \
         promoting) the new token; Twilio does not accept it yet (propagation: the run waits for \
         it up to its --propagation-window). Run `twilio-rotate --store {} status` again once \
         the run has finished",
        cli.store
    )
}

/// How long after a promotion Twilio may still refuse the new token: `--propagation-window`,
/// else the window the rotating run recorded in the store, else the library's 60 s.
pub(crate) fn propagation_window(record: &TokenRecord, cli: &Cli) -> Duration {
    cli.propagation_window
        .map(Duration::from_secs)
        .or(record.choices.propagation_window)
        .unwrap_or(twilio_accounts::rotation::DEFAULT_PROPAGATION_WINDOW)
}

/// A rotation completed within the [propagation window](propagation_window): Twilio may not
/// accept the new `current` everywhere yet.
pub(crate) fn just_promoted(record: &TokenRecord, cli: &Cli) -> bool {
    let window =
        time::Duration::try_from(propagation_window(record, cli)).unwrap_or(time::Duration::MAX);
    record.previous.is_some()
        && record
            .completed_at
            .is_some_and(|at| OffsetDateTime::now_utc() - at < window)
}
