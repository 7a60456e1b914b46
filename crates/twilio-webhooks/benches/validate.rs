//! Webhook validations per second: a 15-parameter SMS webhook (form body, as received)
//! through `Validator::validate` with a 1-token and a 3-token set, beside the floor, a plain
//! HMAC-SHA1 of the same signed bytes (URL + sorted parameters, precomputed).
//!
//! Run with `cargo bench -p twilio-webhooks --bench validate` (add `-- --quick` for a short
//! run). All paths run in one process on the same input, rounds interleaved after a warm-up;
//! the report gives each path's median and minimum ns per validation over the rounds, the
//! validations per second of the median, and the ratio to the floor.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use time::OffsetDateTime;
use twilio_store::{StoredToken, TokenRecord};
use twilio_types::{AccountSid, AuthToken};
use twilio_webhooks::{Algorithm, Validator, WebhookRequest, sign};

const URL: &str = "https://hooks.example.com/twilio/sms";
const CURRENT: &str = "0123456789abcdef0123456789abcdef";
const PENDING: &str = "1123456789abcdef0123456789abcdef";
const PREVIOUS: &str = "2123456789abcdef0123456789abcdef";

/// A typical inbound SMS webhook: 15 parameters.
const PARAMS: [(&str, &str); 15] = [
    ("ToCountry", "US"),
    ("ToState", "CA"),
    ("SmsMessageSid", "SM0123456789abcdef0123456789abcdef"),
    ("NumMedia", "0"),
    ("ToCity", "SAN FRANCISCO"),
    ("FromZip", "94105"),
    ("SmsSid", "SM0123456789abcdef0123456789abcdef"),
    ("FromState", "CA"),
    ("SmsStatus", "received"),
    ("FromCity", "SAN FRANCISCO"),
    (
        "Body",
        "Hello! Are we still on for 3pm tomorrow? Reply YES or NO.",
    ),
    ("FromCountry", "US"),
    ("To", "+15557654321"),
    ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
    ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
];

fn form_body() -> String {
    PARAMS
        .iter()
        .map(|(n, v)| {
            let v: String = v
                .bytes()
                .map(|b| match b {
                    b' ' => "+".to_owned(),
                    b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
                    b => format!("%{b:02X}"),
                })
                .collect();
            format!("{n}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, per_round) = if quick { (10, 500) } else { (40, 2_000) };
    let body = form_body();

    let one = Validator::new(AuthToken::new(CURRENT).unwrap());
    let now = OffsetDateTime::now_utc();
    let mut record = TokenRecord::new(
        AccountSid::from_static("AC0123456789abcdef0123456789abcdef"),
        AuthToken::new(CURRENT).unwrap(),
    );
    record.pending = Some(StoredToken::new(AuthToken::new(PENDING).unwrap(), now));
    record.previous = Some(StoredToken::new(AuthToken::new(PREVIOUS).unwrap(), now));
    record.completed_at = Some(now);
    let three = Validator::from_record(&record);
    assert_eq!(three.accepted_tokens().len(), 3);

    let by_current = sign(Algorithm::HmacSha1, CURRENT, URL, &PARAMS);
    let by_previous = sign(Algorithm::HmacSha1, PREVIOUS, URL, &PARAMS);
    let forged = sign(Algorithm::HmacSha1, "forged-token", URL, &PARAMS);
    let request = |signature: &'static str| {
        WebhookRequest::new(URL)
            .signature(Some(signature))
            .form_body(body.as_bytes())
    };
    let by_current: &'static str = Box::leak(by_current.into_boxed_str());
    let by_previous: &'static str = Box::leak(by_previous.into_boxed_str());
    let forged: &'static str = Box::leak(forged.into_boxed_str());

    // The floor: one HMAC-SHA1 of exactly the bytes Twilio signs.
    let mut sorted = PARAMS.to_vec();
    sorted.sort_unstable();
    let signed: String = std::iter::once(URL.to_owned())
        .chain(sorted.iter().map(|(n, v)| format!("{n}{v}")))
        .collect();
    let floor = || {
        let mut mac = <Hmac<Sha1>>::new_from_slice(CURRENT.as_bytes()).unwrap();
        mac.update(black_box(signed.as_bytes()));
        black_box(mac.finalize().into_bytes());
    };

    let paths: Vec<(&str, Path<'_>)> = vec![
        ("floor: HMAC-SHA1 of the signed bytes", Box::new(floor)),
        (
            "1 token, genuine",
            Box::new(|| assert!(one.validate(black_box(&request(by_current))).is_ok())),
        ),
        (
            "3 tokens, signed by current",
            Box::new(|| assert!(three.validate(black_box(&request(by_current))).is_ok())),
        ),
        (
            "3 tokens, signed by previous",
            Box::new(|| assert!(three.validate(black_box(&request(by_previous))).is_ok())),
        ),
        (
            "3 tokens, forged (all tried)",
            Box::new(|| assert!(three.validate(black_box(&request(forged))).is_err())),
        ),
        (
            "1 token, forged",
            Box::new(|| assert!(one.validate(black_box(&request(forged))).is_err())),
        ),
    ];

    // Warm-up, then interleaved rounds.
    for (_, path) in &paths {
        for _ in 0..per_round {
            path();
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    for _ in 0..rounds {
        for (i, (_, path)) in paths.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..per_round {
                path();
            }
            samples[i].push(ns_per_op(start.elapsed(), per_round));
        }
    }

    println!(
        "webhook validation: 15-parameter SMS webhook, {rounds} rounds x {per_round} per path"
    );
    println!(
        "{:<40} {:>14} {:>12} {:>14} {:>10}",
        "path", "median ns/op", "min ns/op", "validations/s", "x floor"
    );
    let floor_median = median(&mut samples[0].clone());
    for ((name, _), samples) in paths.iter().zip(&mut samples) {
        let med = median(samples);
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{name:<40} {med:>14.0} {min:>12.0} {:>14.0} {:>9.1}x",
            1e9 / med,
            med / floor_median
        );
    }
}

/// One measured path: a validation (or the floor) of the fixed input.
type Path<'a> = Box<dyn Fn() + 'a>;

fn ns_per_op(elapsed: Duration, ops: usize) -> f64 {
    elapsed.as_nanos() as f64 / ops as f64
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
