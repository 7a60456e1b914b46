//! `status`: the store's labels, what Twilio says of each stored token, and whether a rotation
//! is in flight — healthy (a live run holds the lock) or interrupted (nobody does) — and the
//! followers' heartbeats (which never change the exit code).

use serde_json::json;
use time::OffsetDateTime;
use twilio_accounts::rotation::DEFAULT_PROPAGATION_WINDOW;
use twilio_store::{RotationPhase, TokenLabel, TokenRecord};

use crate::cli::{Cli, Outcome};
use crate::exit;
use crate::followers;
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
    let verdict = verdict(cli, &record, &current, pending.as_ref(), in_flight, held);
    let (code, line, state) = match verdict {
        Ok(verdict) => verdict,
        Err(outcome) => return outcome,
    };
    let pending_fingerprint = record.pending.as_ref().map(|t| t.fingerprint());
    let fleet = followers::describe(store.as_ref(), pending_fingerprint).await;
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

/// The exit code, the verdict line and the state name; `Err` for an outcome of its own (a
/// stale token).
fn verdict(
    cli: &Cli,
    record: &TokenRecord,
    current: &Answer,
    pending: Option<&Answer>,
    in_flight: bool,
    held: bool,
) -> Result<(u8, String, &'static str), Outcome> {
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
            (
                exit::OK,
                format!(
                    "staged: both tokens work; `twilio-rotate --store {} complete` (or `resume`) \
                     promotes the new one once the hand-off grace has passed",
                    cli.store
                ),
                "Staged",
            )
        } else if held {
            (
                exit::PERSON,
                "a rotation is in progress, but Twilio refuses every stored token: a person \
                 must act (see the rotation guide)"
                    .into(),
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
        Answer::Works => Ok((
            exit::OK,
            "ok: no rotation in flight, and Twilio accepts the current token".into(),
            "Idle",
        )),
        Answer::Refused(_) if just_promoted(record) => Ok((
            exit::RESUME,
            "the current token was promoted moments ago and is not accepted yet (propagation): \
             run `resume`, which waits for it"
                .into(),
            "Idle",
        )),
        Answer::Refused(e) => Err(twilio::stale_token(cli, record, e)),
        Answer::Unreachable(e) | Answer::Failed(e) => Err(Outcome::person(format!(
            "Twilio's answer did not tell whether it accepts the current token: {}",
            exit::chain(e)
        ))),
    }
}

/// A rotation completed within the propagation window: Twilio may not accept the new
/// `current` everywhere yet.
pub(crate) fn just_promoted(record: &TokenRecord) -> bool {
    let window =
        time::Duration::try_from(DEFAULT_PROPAGATION_WINDOW).unwrap_or(time::Duration::ZERO);
    record.previous.is_some()
        && record
            .completed_at
            .is_some_and(|at| OffsetDateTime::now_utc() - at < window)
}
