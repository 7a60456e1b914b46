//! `POST /v1/ComplianceSignals/Check`: the Compliance Signals check (quiet hours), the one
//! operation with a JSON body, as twilio-node 6.3.1 calls it; and its test knobs.
//!
//! The rule and its location table are in [`quiet_hours`](crate::quiet_hours); this module
//! validates the request, picks the recipient's location and use case, and writes the answer.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::Reply;
use crate::error::ApiError;
use crate::quiet_hours::{self, State};
use crate::validate::is_e164;

/// The path of the operation.
pub(crate) const PATH: &str = "/v1/ComplianceSignals/Check";
/// The longest `body`, in characters.
const MAX_BODY_CHARS: usize = 1600;

/// The use cases twilio-node 6.3.1 documents, and whether the emulator treats each as
/// essential (exempt from quiet hours).
const USE_CASES: [(&str, bool); 11] = [
    ("OTP", true),
    ("NOTIFICATIONS", true),
    ("FRAUD", true),
    ("SECURITY", true),
    ("CUSTOMERCARE", true),
    ("DELIVERY", true),
    ("EDUCATION", false),
    ("EVENTS", false),
    ("POLLING", false),
    ("ANNOUNCEMENTS", false),
    ("MARKETING", false),
];
const CHANNELS: [&str; 4] = ["SMS", "MMS", "RCS", "CALL"];

/// The `reason` values the emulator answers with.
pub(crate) mod reason {
    /// A non-essential message inside the recipient's quiet hours.
    pub(crate) const ACTIVE: &str = "QUIET_HOURS_ACTIVE";
    /// A non-essential message outside the recipient's quiet hours.
    pub(crate) const INACTIVE: &str = "OUTSIDE_QUIET_HOURS";
    /// An essential use case: quiet hours do not apply.
    pub(crate) const EXEMPT: &str = "USE_CASE_EXEMPT";
    /// The emulator's table cannot place the recipient.
    pub(crate) const LOCATION_UNKNOWN: &str = "LOCATION_UNKNOWN";
    /// [`ComplianceSignals::force_quiet_hours`] decided the answer.
    pub(crate) const FORCED: &str = "FORCED_BY_EMULATOR";
}

/// The Compliance Signals check's knobs: the clock it evaluates at and a forced answer. From
/// [`Emulator::compliance_signals`](crate::Emulator::compliance_signals) (and the builder).
/// Clones share the same knobs.
///
/// ```
/// use time::macros::datetime;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), twilio_emulator::Error> {
/// let emulator = twilio_emulator::Emulator::builder()
///     .compliance_clock(datetime!(2026-11-28 20:00 UTC))
///     .start()
///     .await?;
/// let knobs = emulator.compliance_signals();
/// assert_eq!(knobs.now(), datetime!(2026-11-28 20:00 UTC));
/// knobs.force_quiet_hours(Some(true)); // every check now answers `isActive: true`
/// knobs.set_clock(None); // back to the system clock
/// # emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ComplianceSignals {
    knobs: Arc<Mutex<Knobs>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Knobs {
    clock: Option<OffsetDateTime>,
    forced: Option<bool>,
}

impl fmt::Debug for ComplianceSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let knobs = self.get();
        f.debug_struct("ComplianceSignals")
            .field("clock", &knobs.clock)
            .field("forced", &knobs.forced)
            .finish()
    }
}

impl ComplianceSignals {
    fn get(&self) -> Knobs {
        *self.knobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Knobs)) {
        f(&mut self.knobs.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Fixes the time checks evaluate at (and compare `sendAt` with); `None` follows the
    /// system clock (the default).
    pub fn set_clock(&self, now: Option<OffsetDateTime>) {
        self.update(|k| k.clock = now);
    }

    /// The time a check made now would evaluate at.
    pub fn now(&self) -> OffsetDateTime {
        self.get().clock.unwrap_or_else(crate::api::now_utc)
    }

    /// Forces `isActive` of every check (`reason` `FORCED_BY_EMULATOR`, no sending window);
    /// `None` evaluates the rule (the default). Validation still runs first.
    pub fn force_quiet_hours(&self, answer: Option<bool>) {
        self.update(|k| k.forced = answer);
    }

    /// The forced answer, if any.
    pub fn forced(&self) -> Option<bool> {
        self.get().forced
    }
}

/// Answers one request to [`PATH`] (already authenticated).
pub(crate) fn handle(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    knobs: &ComplianceSignals,
) -> Result<Reply, ApiError> {
    if method != Method::POST {
        return Err(ApiError::method_not_allowed("POST"));
    }
    if !is_json(headers.get(header::CONTENT_TYPE)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            crate::error::CODE_INVALID_PARAMETER,
            "Unsupported Content-Type: this operation takes an application/json body",
        ));
    }
    let Knobs { clock, forced } = knobs.get();
    let now = clock.unwrap_or_else(crate::api::now_utc);
    let request = Request::parse(body, now)?;
    let answer = answer(&request, forced);
    Ok(Reply {
        status: StatusCode::CREATED,
        body: Some(answer.to_string().into_bytes()),
    })
}

fn is_json(value: Option<&HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media_type = value.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// A validated request.
#[derive(Debug)]
struct Request {
    to: String,
    zip_code: Option<String>,
    /// Whether the use case is essential (a body without a use case is not).
    essential: bool,
    at: OffsetDateTime,
}

impl Request {
    fn parse(body: &[u8], now: OffsetDateTime) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("The request body is not valid JSON"))?;
        let Value::Object(fields) = value else {
            return Err(ApiError::bad_request(
                "The request body must be a JSON object",
            ));
        };

        let signals = match fields.get("signals") {
            None | Some(Value::Null) => return Err(ApiError::missing("signals")),
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(ApiError::invalid(
                    "signals",
                    "at least one signal is required",
                ));
            }
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ApiError::invalid("signals", "must be an array of strings")),
        };
        for signal in signals {
            if signal.as_str() != Some("QUIET_HOURS") {
                return Err(ApiError::invalid(
                    "signals",
                    "only QUIET_HOURS is supported",
                ));
            }
        }
        let to = required_string(&fields, "to")?;
        if !is_e164(to) {
            return Err(ApiError::invalid("to", "must be an E.164 phone number"));
        }
        let country = required_string(&fields, "countryIsoCode")?;
        if country != "US" {
            return Err(ApiError::invalid("countryIsoCode", "only US is supported"));
        }
        let text = optional_string(&fields, "body")?;
        if let Some(text) = text
            && text.chars().count() > MAX_BODY_CHARS
        {
            return Err(ApiError::invalid("body", "must be at most 1600 characters"));
        }
        let use_case = match optional_string(&fields, "useCase")? {
            None => None,
            Some(name) => Some(
                USE_CASES
                    .iter()
                    .find(|(known, _)| *known == name)
                    .ok_or_else(|| ApiError::invalid("useCase", "unknown use case"))?
                    .1,
            ),
        };
        if text.is_none() && use_case.is_none() {
            return Err(ApiError::bad_request(
                "Missing required parameter: body or useCase must be provided",
            ));
        }
        if let Some(channel) = optional_string(&fields, "channel")?
            && !CHANNELS.contains(&channel)
        {
            return Err(ApiError::invalid(
                "channel",
                "must be SMS, MMS, RCS or CALL",
            ));
        }
        let zip_code = optional_string(&fields, "zipCode")?;
        if let Some(zip) = zip_code
            && !is_zip(zip)
        {
            return Err(ApiError::invalid("zipCode", "must be 5 digits or ZIP+4"));
        }
        let at = match optional_string(&fields, "sendAt")? {
            None => now,
            Some(s) => {
                let at = OffsetDateTime::parse(s, &Rfc3339)
                    .map_err(|_| ApiError::invalid("sendAt", "must be an RFC 3339 timestamp"))?;
                if at < now {
                    return Err(ApiError::invalid("sendAt", "must not be in the past"));
                }
                at
            }
        };
        Ok(Self {
            to: to.to_owned(),
            zip_code: zip_code.map(str::to_owned),
            // The use case wins over the body; a body alone is treated as non-essential
            // (the emulator does not read message text).
            essential: use_case.unwrap_or(false),
            at,
        })
    }

    /// The state from the ZIP code when the table knows it, else from the number.
    fn state(&self) -> Option<State> {
        self.zip_code
            .as_deref()
            .and_then(quiet_hours::state_of_zip)
            .or_else(|| quiet_hours::state_of_number(&self.to))
    }
}

fn required_string<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    optional_string(fields, name)?.ok_or_else(|| ApiError::missing(name))
}

fn optional_string<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(name, "must be a string")),
    }
}

fn is_zip(zip: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match zip.split_once('-') {
        None => digits(zip, 5),
        Some((five, four)) => digits(five, 5) && digits(four, 4),
    }
}

fn timestamp(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    twilio_types::timestamp::format(&t.to_offset(time::UtcOffset::UTC))
}

/// The answer body for a validated request.
fn answer(request: &Request, forced: Option<bool>) -> Value {
    let state = request.state();
    let location = json!({
        "countryIsoCode": "US",
        "stateCode": state.map(|s| s.code),
    });
    let class = if request.essential {
        "essential"
    } else {
        "non-essential"
    };
    let quiet_hours = match (forced, state) {
        (Some(active), _) => json!({
            "isActive": active,
            "reason": reason::FORCED,
            "evaluatedUseCase": class,
            "location": location,
            "sendingWindow": null,
        }),
        (None, _) if request.essential => json!({
            "isActive": false,
            "reason": reason::EXEMPT,
            "evaluatedUseCase": class,
            "location": location,
            "sendingWindow": null,
        }),
        (None, None) => json!({
            "isActive": false,
            "reason": reason::LOCATION_UNKNOWN,
            "evaluatedUseCase": null,
            "location": location,
            "sendingWindow": null,
        }),
        (None, Some(state)) => {
            let e = quiet_hours::evaluate(state, request.at);
            json!({
                "isActive": e.active,
                "reason": if e.active { reason::ACTIVE } else { reason::INACTIVE },
                "evaluatedUseCase": class,
                "location": location,
                "sendingWindow": {
                    "startAt": timestamp(e.window_start),
                    "endAt": timestamp(e.window_end),
                },
            })
        }
    };
    json!({ "signals": { "quietHours": quiet_hours } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-28 20:00 UTC); // 12:00 in California

    fn check(body: &Value, forced: Option<bool>) -> Result<Value, ApiError> {
        let request = Request::parse(body.to_string().as_bytes(), NOW)?;
        Ok(answer(&request, forced))
    }

    fn quiet(v: &Value) -> &Value {
        &v["signals"]["quietHours"]
    }

    fn base() -> Value {
        json!({"signals": ["QUIET_HOURS"], "to": "+14155552671", "countryIsoCode": "US",
               "useCase": "MARKETING"})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = base();
        body[key] = value;
        body
    }

    #[test]
    fn open_now_with_a_window_until_nine_pm() {
        let a = check(&base(), None).unwrap();
        assert_eq!(
            quiet(&a),
            &json!({"isActive": false, "reason": "OUTSIDE_QUIET_HOURS",
                    "evaluatedUseCase": "non-essential",
                    "location": {"countryIsoCode": "US", "stateCode": "CA"},
                    "sendingWindow": {"startAt": "2026-11-28T20:00:00Z", "endAt": "2026-11-29T05:00:00Z"}})
        );
    }

    #[test]
    fn quiet_at_a_scheduled_time() {
        let a = check(&with("sendAt", json!("2026-11-28T23:30:00-08:00")), None).unwrap();
        assert_eq!(quiet(&a)["isActive"], true);
        assert_eq!(quiet(&a)["reason"], "QUIET_HOURS_ACTIVE");
        assert_eq!(
            quiet(&a)["sendingWindow"],
            json!({"startAt": "2026-11-29T16:00:00Z", "endAt": "2026-11-30T05:00:00Z"})
        );
    }

    #[test]
    fn essential_use_cases_are_exempt_and_have_no_window() {
        for use_case in [
            "OTP",
            "FRAUD",
            "SECURITY",
            "NOTIFICATIONS",
            "DELIVERY",
            "CUSTOMERCARE",
        ] {
            let a = check(&with("useCase", json!(use_case)), None).unwrap();
            assert_eq!(quiet(&a)["reason"], "USE_CASE_EXEMPT", "{use_case}");
            assert_eq!(quiet(&a)["evaluatedUseCase"], "essential");
            assert_eq!(quiet(&a)["sendingWindow"], Value::Null);
        }
        // A body alone is non-essential.
        let mut body = base();
        body.as_object_mut().unwrap().remove("useCase");
        body["body"] = json!("Your code is 123456");
        let a = check(&body, None).unwrap();
        assert_eq!(quiet(&a)["evaluatedUseCase"], "non-essential");
    }

    #[test]
    fn zip_codes_win_over_area_codes_and_unknown_places_are_said_so() {
        let a = check(&with("zipCode", json!("10001")), None).unwrap();
        assert_eq!(quiet(&a)["location"]["stateCode"], "NY");
        // 20:00 UTC is 15:00 in New York: open until 21:00 EST = 02:00 UTC.
        assert_eq!(quiet(&a)["sendingWindow"]["endAt"], "2026-11-29T02:00:00Z");
        let a = check(&with("zipCode", json!("59001")), None).unwrap();
        assert_eq!(quiet(&a)["location"]["stateCode"], "CA");
        let a = check(&with("to", json!("+19995550100")), None).unwrap();
        assert_eq!(
            quiet(&a),
            &json!({"isActive": false, "reason": "LOCATION_UNKNOWN", "evaluatedUseCase": null,
                    "location": {"countryIsoCode": "US", "stateCode": null}, "sendingWindow": null})
        );
    }

    #[test]
    fn forced_answers() {
        for forced in [true, false] {
            let a = check(&base(), Some(forced)).unwrap();
            assert_eq!(quiet(&a)["isActive"], forced);
            assert_eq!(quiet(&a)["reason"], "FORCED_BY_EMULATOR");
            assert_eq!(quiet(&a)["sendingWindow"], Value::Null);
        }
        // Validation still runs.
        assert!(check(&with("to", json!("nope")), Some(true)).is_err());
    }

    #[test]
    fn validation_errors_name_the_parameter() {
        let cases: Vec<(Value, &str)> = vec![
            (with("signals", json!([])), "signals"),
            (with("signals", json!(["OPT_OUT"])), "signals"),
            (with("signals", json!("QUIET_HOURS")), "signals"),
            (with("to", json!("4155552671")), "to"),
            (with("to", json!(14155552671u64)), "to"),
            (with("countryIsoCode", json!("CA")), "countryIsoCode"),
            (with("useCase", json!("GOSSIP")), "useCase"),
            (with("channel", json!("FAX")), "channel"),
            (with("zipCode", json!("9410")), "zipCode"),
            (with("body", json!("x".repeat(1601))), "body"),
            (with("sendAt", json!("tomorrow")), "sendAt"),
            (with("sendAt", json!("2026-11-28T19:59:59Z")), "sendAt"),
        ];
        for (body, param) in cases {
            let err = check(&body, None).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{param}");
            assert_eq!(err.code, 20001);
            assert!(err.message.contains(param), "{param}: {}", err.message);
        }
        for missing in ["signals", "to", "countryIsoCode"] {
            let mut body = base();
            body.as_object_mut().unwrap().remove(missing);
            let err = check(&body, None).unwrap_err();
            assert!(err.message.contains(missing), "{}", err.message);
        }
        let mut body = base();
        body.as_object_mut().unwrap().remove("useCase");
        let err = check(&body, None).unwrap_err();
        assert!(err.message.contains("body or useCase"), "{}", err.message);
        assert!(Request::parse(b"[1]", NOW).is_err());
        assert!(Request::parse(b"{", NOW).is_err());
        assert!(check(&with("body", json!("é".repeat(1600))), None).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::parse(&body, NOW);
        }

        #[test]
        fn never_panics_on_any_strings(to in ".{0,20}", zip in ".{0,12}", at in ".{0,30}") {
            let mut body = base();
            body["to"] = json!(to);
            body["zipCode"] = json!(zip);
            body["sendAt"] = json!(at);
            if let Ok(a) = check(&body, None) {
                prop_assert!(quiet(&a)["isActive"].is_boolean());
            }
        }
    }
}
