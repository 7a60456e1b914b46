//! Decoding every response model (and a 50-item page) with the SDK's `from_json` against a plain
//! `#[derive(Deserialize)]` into the same field types, from the same bytes.
//!
//! Run: `cargo bench -p twilio-accounts --bench decode`. Each case runs in interleaved rounds
//! (`BENCH_ROUNDS`, default 9; each side about `BENCH_MS` ms per round, default 40); the ratio
//! printed is the median of the per-round ratios (SDK time / derive time; target ≤ 1.3).
//! `BENCH_FILTER=text` runs only the cases whose name contains it, and `BENCH_ITERS=N` runs
//! each side exactly N times once (for callgrind).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Number, Value};
use time::OffsetDateTime;
use twilio_accounts::model::{
    AuthTokenPromotion, BulkConsents, BulkContacts, ComplianceSignalsCheck, CredentialAws,
    CredentialPublicKey, MessagingGeopermissions, Page, Safelist, SecondaryAuthToken,
};
use twilio_types::{AccountSid, AuthToken, CredentialSid, SafelistSid};

const ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DATE: &str = "2015-07-31T04:00:00Z";

// The derive twins: field for field the types of the SDK models.

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveSecondaryAuthToken {
    account_sid: Option<AccountSid>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_created: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
    secondary_auth_token: Option<AuthToken>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveAuthTokenPromotion {
    account_sid: Option<AccountSid>,
    auth_token: Option<AuthToken>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_created: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveCredential {
    sid: Option<CredentialSid>,
    account_sid: Option<AccountSid>,
    friendly_name: Option<String>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_created: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveMeta {
    first_page_url: Option<String>,
    key: Option<String>,
    next_page_url: Option<String>,
    page: Option<Number>,
    page_size: Option<Number>,
    previous_page_url: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DerivePage {
    credentials: Option<Vec<DeriveCredential>>,
    meta: Option<DeriveMeta>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveSafelist {
    sid: Option<SafelistSid>,
    phone_number: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveItems {
    items: Option<Value>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DerivePermissions {
    permissions: Option<Value>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveComplianceSignalsCheck {
    signals: Option<DeriveComplianceSignals>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeriveComplianceSignals {
    #[serde(rename = "quietHours")]
    quiet_hours: Option<DeriveQuietHours>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct DeriveQuietHours {
    is_active: Option<bool>,
    reason: Option<String>,
    evaluated_use_case: Option<String>,
    location: Option<DeriveLocation>,
    sending_window: Option<DeriveSendingWindow>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct DeriveLocation {
    country_iso_code: Option<String>,
    state_code: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct DeriveSendingWindow {
    #[serde(with = "twilio_types::timestamp::option", default)]
    start_at: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    end_at: Option<OffsetDateTime>,
}

fn credential(i: usize) -> String {
    format!(
        r#"{{"sid":"CR{i:032x}","account_sid":"{ACCOUNT}","friendly_name":"key {i}","date_created":"{DATE}","date_updated":"{DATE}","url":"https://accounts.twilio.com/v1/Credentials/AWS/CR{i:032x}"}}"#
    )
}

fn page(n: usize) -> String {
    let items: Vec<String> = (0..n).map(credential).collect();
    format!(
        r#"{{"credentials":[{}],"meta":{{"page":0,"page_size":{n},"first_page_url":"https://accounts.twilio.com/v1/Credentials/AWS?PageSize={n}&Page=0","previous_page_url":null,"key":"credentials","next_page_url":"https://accounts.twilio.com/v1/Credentials/AWS?PageSize={n}&Page=1&PageToken=PAcr","url":"https://accounts.twilio.com/v1/Credentials/AWS?PageSize={n}&Page=0"}}}}"#,
        items.join(",")
    )
}

/// One case: a name, a body, and the two decoders.
struct Case {
    name: &'static str,
    body: Vec<u8>,
    sdk: fn(&[u8]),
    derive: fn(&[u8]),
}

macro_rules! case {
    ($name:expr, $body:expr, $sdk:ty, $derive:ty) => {
        Case {
            name: $name,
            body: $body.into_bytes(),
            sdk: |b| {
                black_box(<$sdk>::from_json(black_box(b)).unwrap());
            },
            derive: |b| {
                black_box(serde_json::from_slice::<$derive>(black_box(b)).unwrap());
            },
        }
    };
}

fn cases() -> Vec<Case> {
    let token = format!(
        r#"{{"account_sid":"{ACCOUNT}","date_created":"{DATE}","date_updated":"{DATE}","secondary_auth_token":"fedcba9876543210fedcba9876543210","url":"https://accounts.twilio.com/v1/AuthTokens/Secondary"}}"#
    );
    let promotion = format!(
        r#"{{"account_sid":"{ACCOUNT}","auth_token":"fedcba9876543210fedcba9876543210","date_created":"{DATE}","date_updated":"{DATE}","url":"https://accounts.twilio.com/v1/AuthTokens"}}"#
    );
    let bulk = r#"{"items":[{"correlation_id":"c1","error_code":0,"error_messages":[]},{"correlation_id":"c2","error_code":21211,"error_messages":["Invalid 'To' Phone Number"]}]}"#;
    let quiet = r#"{"signals":{"quietHours":{"isActive":true,"reason":"QUIET_HOURS_ACTIVE","evaluatedUseCase":"non-essential","location":{"countryIsoCode":"US","stateCode":"CA"},"sendingWindow":{"startAt":"2026-11-28T16:00:00Z","endAt":"2026-11-29T05:00:00Z"}}}}"#;
    let geo = r#"{"permissions":[{"country_code":"US","type":"country","enabled":true},{"country_code":"CA","type":"country","enabled":false,"error_code":null}]}"#;
    vec![
        case!(
            "SecondaryAuthToken",
            token,
            SecondaryAuthToken,
            DeriveSecondaryAuthToken
        ),
        case!(
            "AuthTokenPromotion",
            promotion,
            AuthTokenPromotion,
            DeriveAuthTokenPromotion
        ),
        case!(
            "CredentialAws",
            credential(7),
            CredentialAws,
            DeriveCredential
        ),
        case!(
            "CredentialPublicKey",
            credential(7),
            CredentialPublicKey,
            DeriveCredential
        ),
        case!(
            "Page<CredentialAws> (50 items)",
            page(50),
            Page<CredentialAws>,
            DerivePage
        ),
        case!(
            "Page<CredentialPublicKey> (50 items)",
            page(50),
            Page<CredentialPublicKey>,
            DerivePage
        ),
        case!(
            "Safelist",
            r#"{"sid":"GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","phone_number":"+18001234567"}"#
                .to_owned(),
            Safelist,
            DeriveSafelist
        ),
        case!("BulkConsents", bulk.to_owned(), BulkConsents, DeriveItems),
        case!("BulkContacts", bulk.to_owned(), BulkContacts, DeriveItems),
        case!(
            "MessagingGeopermissions",
            geo.to_owned(),
            MessagingGeopermissions,
            DerivePermissions
        ),
        case!(
            "ComplianceSignalsCheck",
            quiet.to_owned(),
            ComplianceSignalsCheck,
            DeriveComplianceSignalsCheck
        ),
    ]
}

/// Runs `f` for about `budget` and returns the time per call.
fn time_per_call(f: fn(&[u8]), body: &[u8], budget: Duration) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        for _ in 0..16 {
            f(body);
        }
        n += 16;
    }
    start.elapsed() / n
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let filter = std::env::var("BENCH_FILTER").unwrap_or_default();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.name.contains(&filter))
        .collect();
    if let Some(iters) = env("BENCH_ITERS") {
        let side = std::env::var("BENCH_ONLY").unwrap_or_else(|_| "sdk".into());
        for case in &cases {
            let f = if side == "derive" {
                case.derive
            } else {
                case.sdk
            };
            for _ in 0..iters {
                f(&case.body);
            }
        }
        return;
    }
    let rounds = env("BENCH_ROUNDS").unwrap_or(9) as usize;
    let budget = Duration::from_millis(env("BENCH_MS").unwrap_or(40));
    println!(
        "decode: SDK from_json vs derive into the same field types; {rounds} interleaved rounds"
    );
    for case in &cases {
        (case.sdk)(&case.body); // both must accept the body
        (case.derive)(&case.body);
        let (mut sdk, mut derive, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (s, d) = if round % 2 == 0 {
                let s = time_per_call(case.sdk, &case.body, budget);
                (s, time_per_call(case.derive, &case.body, budget))
            } else {
                let d = time_per_call(case.derive, &case.body, budget);
                (time_per_call(case.sdk, &case.body, budget), d)
            };
            sdk.push(s.as_secs_f64() * 1e9);
            derive.push(d.as_secs_f64() * 1e9);
            ratios.push(s.as_secs_f64() / d.as_secs_f64());
        }
        let ratio = median(&mut ratios);
        println!(
            "  {:<38} sdk {:>9.0} ns  derive {:>9.0} ns  ratio {ratio:.2}x{}",
            case.name,
            median(&mut sdk),
            median(&mut derive),
            if ratio <= 1.3 { "" } else { "  (over 1.3x)" }
        );
    }
}
