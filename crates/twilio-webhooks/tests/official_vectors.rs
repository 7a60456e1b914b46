//! Agreement with Twilio's official validators: every case of `tests/vectors/official.json`
//! (written by `scripts/vectors/generate.py` with twilio-python 9.13.0 and twilio-node 6.3.1)
//! is accepted here exactly when at least one of them accepts it.

use serde_json::Value;
use twilio_types::AuthToken;
use twilio_webhooks::{SharedKey, Validator, WebhookRequest};

fn cases() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/official.json");
    let text = std::fs::read_to_string(path).expect("the vector file");
    let file: Value = serde_json::from_str(&text).expect("the vector file is JSON");
    file["cases"].as_array().expect("cases").clone()
}

fn str_of<'a>(case: &'a Value, field: &str) -> Option<&'a str> {
    case[field].as_str()
}

#[test]
fn agrees_with_the_official_validators_on_every_case() {
    let cases = cases();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let (mut accepted, mut rejected, mut disagreeing) = (0, 0, Vec::new());
    for case in &cases {
        let name = str_of(case, "name").unwrap();
        let validator =
            Validator::new(AuthToken::new(str_of(case, "validator_token").unwrap()).unwrap());
        let shared = &case["shared_key"];
        validator.add_shared_key(SharedKey::new(
            shared["id"].as_str().unwrap(),
            shared["secret"].as_str().unwrap(),
        ));
        let params: Vec<(&str, &str)> = case["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect();
        let mut request = WebhookRequest::new(str_of(case, "url").unwrap())
            .signature(str_of(case, "signature"))
            .signature_settings(str_of(case, "settings"));
        request = match str_of(case, "body") {
            Some(body) => request.raw_body(body.as_bytes()),
            None => request.params(&params),
        };
        let official = case["python"].as_bool().unwrap() || case["node"].as_bool().unwrap();
        let ours = validator.validate(&request);
        if ours.is_ok() != official {
            disagreeing.push(format!("{name}: official {official}, ours {ours:?}"));
        }
        if official {
            accepted += 1
        } else {
            rejected += 1
        }
    }
    assert!(
        disagreeing.is_empty(),
        "{} disagreements:\n{}",
        disagreeing.len(),
        disagreeing.join("\n")
    );
    // Both ways: the file has plenty of each.
    assert!(
        accepted >= 100 && rejected >= 80,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn the_same_cases_sent_as_form_bodies_agree_too() {
    // Frameworks hand us the raw body; encode the parameters as Twilio would and check the
    // decoder gives back what the official validators saw.
    for case in cases() {
        if !case["body"].is_null() {
            continue;
        }
        let encoded: Vec<String> = case["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}={}",
                    encode(p[0].as_str().unwrap()),
                    encode(p[1].as_str().unwrap())
                )
            })
            .collect();
        let body = encoded.join("&");
        let validator =
            Validator::new(AuthToken::new(str_of(&case, "validator_token").unwrap()).unwrap());
        let shared = &case["shared_key"];
        validator.add_shared_key(SharedKey::new(
            shared["id"].as_str().unwrap(),
            shared["secret"].as_str().unwrap(),
        ));
        let request = WebhookRequest::new(str_of(&case, "url").unwrap())
            .signature(str_of(&case, "signature"))
            .signature_settings(str_of(&case, "settings"))
            .form_body(body.as_bytes());
        let official = case["python"].as_bool().unwrap() || case["node"].as_bool().unwrap();
        assert_eq!(
            validator.validate(&request).is_ok(),
            official,
            "{}",
            case["name"]
        );
    }
}

/// `application/x-www-form-urlencoded` encoding (space as `+`).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for &b in text.as_bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
