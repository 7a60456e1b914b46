//! `POST /v1/ComplianceSignals/Check` over real HTTP: JSON in and out, the clock and force
//! knobs (builder and runtime), Twilio error bodies for bad input, auth and method checks.

mod common;

use common::Conn;
use hyper::Method;
use serde_json::{Value, json};
use time::macros::datetime;
use twilio_emulator::Emulator;

const PATH: &str = "/v1/ComplianceSignals/Check";
const JSON: &str = "application/json";

async fn check(emu: &Emulator, body: &Value) -> common::Resp {
    let auth = emu.basic_auth_header();
    Conn::open(emu.local_addr())
        .await
        .send(
            Method::POST,
            PATH,
            Some(&auth),
            Some(JSON),
            body.to_string(),
        )
        .await
}

fn marketing() -> Value {
    json!({"signals": ["QUIET_HOURS"], "to": "+14155552671", "countryIsoCode": "US",
           "useCase": "MARKETING"})
}

#[tokio::test]
async fn the_clock_decides_quiet_hours() {
    // 06:00 UTC on 29 Nov 2026 is 22:00 in California.
    let emu = Emulator::builder()
        .compliance_clock(datetime!(2026-11-29 06:00 UTC))
        .start()
        .await
        .unwrap();
    let resp = check(&emu, &marketing()).await;
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    resp.assert_cors();
    let quiet = &resp.json()["signals"]["quietHours"];
    assert_eq!(quiet["isActive"], true);
    assert_eq!(quiet["reason"], "QUIET_HOURS_ACTIVE");
    assert_eq!(
        quiet["location"],
        json!({"countryIsoCode": "US", "stateCode": "CA"})
    );
    assert_eq!(
        quiet["sendingWindow"],
        json!({"startAt": "2026-11-29T16:00:00Z", "endAt": "2026-11-30T05:00:00Z"})
    );

    // Noon in California: open.
    emu.compliance_signals()
        .set_clock(Some(datetime!(2026-11-29 20:00 UTC)));
    let quiet = check(&emu, &marketing()).await.json()["signals"]["quietHours"].clone();
    assert_eq!(quiet["isActive"], false);
    assert_eq!(quiet["sendingWindow"]["startAt"], "2026-11-29T20:00:00Z");
    emu.shutdown().await;
}

#[tokio::test]
async fn the_answer_can_be_forced_from_the_builder_and_at_runtime() {
    let emu = Emulator::builder()
        .compliance_clock(datetime!(2026-11-29 20:00 UTC))
        .force_quiet_hours(true)
        .start()
        .await
        .unwrap();
    let quiet = check(&emu, &marketing()).await.json()["signals"]["quietHours"].clone();
    assert_eq!(quiet["isActive"], true);
    assert_eq!(quiet["reason"], "FORCED_BY_EMULATOR");
    assert_eq!(quiet["sendingWindow"], Value::Null);

    let knobs = emu.compliance_signals();
    assert_eq!(knobs.forced(), Some(true));
    knobs.force_quiet_hours(Some(false));
    let quiet = check(&emu, &marketing()).await.json()["signals"]["quietHours"].clone();
    assert_eq!(quiet["isActive"], false);
    knobs.force_quiet_hours(None);
    let quiet = check(&emu, &marketing()).await.json()["signals"]["quietHours"].clone();
    assert_eq!(quiet["reason"], "OUTSIDE_QUIET_HOURS");
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_twilio_error_bodies() {
    let emu = Emulator::builder()
        .compliance_clock(datetime!(2026-11-29 20:00 UTC))
        .start()
        .await
        .unwrap();
    let mut past = marketing();
    past["sendAt"] = json!("2026-11-29T19:00:00Z");
    let body = check(&emu, &past).await.assert_error(400, 20001);
    assert!(
        body["message"].as_str().unwrap().contains("sendAt"),
        "{body}"
    );

    let mut neither = marketing();
    neither.as_object_mut().unwrap().remove("useCase");
    let body = check(&emu, &neither).await.assert_error(400, 20001);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("body or useCase")
    );

    let auth = emu.basic_auth_header();
    let mut conn = Conn::open(emu.local_addr()).await;
    let form = conn
        .send(
            Method::POST,
            PATH,
            Some(&auth),
            Some("application/x-www-form-urlencoded"),
            "to=%2B1",
        )
        .await;
    form.assert_error(415, 20001);
    let not_json = conn
        .send(Method::POST, PATH, Some(&auth), Some(JSON), "{not json")
        .await;
    not_json.assert_error(400, 20001);
    let get = conn.get(PATH, &auth).await;
    get.assert_error(405, 20004);
    assert_eq!(get.header("allow"), Some("POST"));
    let anonymous = conn
        .send(
            Method::POST,
            PATH,
            None,
            Some(JSON),
            marketing().to_string(),
        )
        .await;
    anonymous.assert_error(401, 20003);
    emu.shutdown().await;
}
