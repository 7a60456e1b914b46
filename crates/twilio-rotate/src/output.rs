//! What the commands print: a readable text, or with `--json` one JSON object. Tokens appear
//! only as fingerprints.

use serde_json::{Value, json};
use twilio_accounts::rotation::{AccountState, RotationReport};
use twilio_store::TokenRecord;

/// The machine-friendly name of a state.
pub(crate) fn state_name(state: AccountState) -> &'static str {
    match state {
        AccountState::Rotated => "Rotated",
        AccountState::RotatedUnverified => "RotatedUnverified",
        AccountState::Unchanged => "Unchanged",
        AccountState::UnchangedSecondaryRemains => "UnchangedSecondaryRemains",
        AccountState::Staged => "Staged",
        _ => "Unknown",
    }
}

/// The store's labels as fingerprints.
pub(crate) fn record_json(record: &TokenRecord) -> Value {
    let fp = |t: Option<&twilio_store::StoredToken>| {
        t.map(|t| Value::String(t.fingerprint().to_string()))
            .unwrap_or(Value::Null)
    };
    json!({
        "account_sid": record.account_sid.as_str(),
        "phase": format!("{:?}", record.phase),
        "revision": record.revision,
        "current": fp(Some(&record.current)),
        "pending": fp(record.pending.as_ref()),
        "previous": fp(record.previous.as_ref()),
    })
}

/// The report's steps with their timings.
pub(crate) fn report_json(report: &RotationReport) -> Value {
    let steps: Vec<Value> = report
        .steps()
        .iter()
        .map(|s| {
            json!({
                "step": s.step().name(),
                "outcome": s.outcome().to_string(),
                "started_ms": s.started().as_millis() as u64,
                "elapsed_ms": s.elapsed().as_millis() as u64,
                "attempts": s.attempts(),
                "note": s.note(),
            })
        })
        .collect();
    json!({
        "state": state_name(report.state()),
        "new_token": report.new_token().map(|f| f.to_string()),
        "elapsed_ms": report.elapsed().as_millis() as u64,
        "steps": steps,
    })
}
