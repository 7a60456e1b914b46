//! Every response example in the vendored spec decodes into its model, with the values it
//! holds. The examples are read from the spec itself, not copied.

mod common;

use common::spec;
use time::macros::datetime;
use twilio_accounts::model::{
    AuthTokenPromotion, BulkConsents, BulkContacts, CredentialAws, CredentialPublicKey,
    MessagingGeopermissions, Page, Safelist, SecondaryAuthToken,
};

/// Every (operationId, example name, example body) of a JSON success response.
fn examples() -> Vec<(String, String, Vec<u8>)> {
    let spec = spec();
    let mut out = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            for response in op["responses"].as_object().unwrap().values() {
                let Some(examples) = response.pointer("/content/application~1json/examples") else {
                    continue;
                };
                for (name, example) in examples.as_object().unwrap() {
                    out.push((
                        id.to_owned(),
                        name.clone(),
                        serde_json::to_vec(&example["value"]).unwrap(),
                    ));
                }
            }
        }
    }
    out
}

const AC: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CR: &str = "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn check_credential_fields(
    sid: Option<String>,
    account: Option<String>,
    name: Option<&str>,
    created: Option<time::OffsetDateTime>,
    url: Option<&str>,
    segment: &str,
) {
    assert_eq!(sid.as_deref(), Some(CR));
    assert_eq!(account.as_deref(), Some(AC));
    assert_eq!(name, Some("friendly_name"));
    assert_eq!(created, Some(datetime!(2015-07-31 04:00:00 UTC)));
    assert_eq!(
        url,
        Some(format!("https://accounts.twilio.com/v1/Credentials/{segment}/{CR}").as_str())
    );
}

#[test]
fn every_spec_example_decodes() {
    let all = examples();
    // 16 operations answer with a JSON body (the 4 deletes answer 204; the 2 lists have 2 examples each).
    let ops: std::collections::BTreeSet<_> = all.iter().map(|(id, ..)| id.clone()).collect();
    assert_eq!(ops.len(), 16, "{ops:?}");
    for (id, name, body) in &all {
        let context = format!("{id}/{name}");
        match id.as_str() {
            "UpdateAuthTokenPromotion" => {
                let m = AuthTokenPromotion::from_json(body).expect(&context);
                assert_eq!(m.account_sid.map(|s| s.to_string()).as_deref(), Some(AC));
                assert_eq!(
                    m.auth_token.as_ref().map(|t| t.expose_secret()),
                    Some("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
                );
                assert_eq!(m.date_updated, Some(datetime!(2015-07-31 04:00:00 UTC)));
                assert_eq!(
                    m.url.as_deref(),
                    Some("https://accounts.twilio.com/v1/AuthTokens/Promote")
                );
            }
            "CreateSecondaryAuthToken" => {
                let m = SecondaryAuthToken::from_json(body).expect(&context);
                assert_eq!(
                    m.secondary_auth_token.as_ref().map(|t| t.expose_secret()),
                    Some("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
                );
                assert_eq!(m.date_created, Some(datetime!(2015-07-31 04:00:00 UTC)));
                assert_eq!(m.account_sid.map(|s| s.to_string()).as_deref(), Some(AC));
            }
            "CreateBulkConsents" => {
                let m = BulkConsents::from_json(body).expect(&context);
                let r = m.item_results().expect(&context);
                assert_eq!(r.len(), 2);
                assert!(r[0].is_success());
                assert_eq!(r[1].error_code, Some(30646));
                assert_eq!(
                    r[1].error_messages.as_deref(),
                    Some(
                        &[
                            "INVALID_CONTACT_ID".to_owned(),
                            "INVALID_DATE_OF_CONSENT".to_owned()
                        ][..]
                    )
                );
                assert_eq!(
                    r[1].correlation_id.as_deref(),
                    Some("02520cfa6c432f0e3ec3a38c122d428d")
                );
            }
            "CreateBulkContacts" => {
                let m = BulkContacts::from_json(body).expect(&context);
                let r = m.item_results().expect(&context);
                assert_eq!(r.len(), 2);
                assert_eq!(r[1].error_code, Some(30647));
                assert!(!r[1].is_success());
            }
            "ListCredentialAws" => {
                let p = Page::<CredentialAws>::from_json(body).expect(&context);
                assert_eq!(p.meta.key.as_deref(), Some("credentials"));
                assert_eq!(p.meta.page(), Some(0));
                assert_eq!(p.meta.page_size(), Some(50));
                assert_eq!(p.meta.next_page_url, None);
                assert_eq!(
                    p.meta.first_page_url.as_deref(),
                    Some("https://accounts.twilio.com/v1/Credentials/AWS?PageSize=50&Page=0")
                );
                for c in p.items {
                    check_credential_fields(
                        c.sid.map(|s| s.to_string()),
                        c.account_sid.map(|s| s.to_string()),
                        c.friendly_name.as_deref(),
                        c.date_created,
                        c.url.as_deref(),
                        "AWS",
                    );
                }
            }
            "ListCredentialPublicKey" => {
                let p = Page::<CredentialPublicKey>::from_json(body).expect(&context);
                assert_eq!(p.meta.page_size(), Some(50));
                for c in p.items {
                    check_credential_fields(
                        c.sid.map(|s| s.to_string()),
                        c.account_sid.map(|s| s.to_string()),
                        c.friendly_name.as_deref(),
                        c.date_created,
                        c.url.as_deref(),
                        "PublicKeys",
                    );
                }
            }
            "CreateCredentialAws" | "FetchCredentialAws" | "UpdateCredentialAws" => {
                let c = CredentialAws::from_json(body).expect(&context);
                check_credential_fields(
                    c.sid.map(|s| s.to_string()),
                    c.account_sid.map(|s| s.to_string()),
                    c.friendly_name.as_deref(),
                    c.date_created,
                    c.url.as_deref(),
                    "AWS",
                );
                assert_eq!(c.date_updated, Some(datetime!(2015-07-31 04:00:00 UTC)));
            }
            "CreateCredentialPublicKey"
            | "FetchCredentialPublicKey"
            | "UpdateCredentialPublicKey" => {
                let c = CredentialPublicKey::from_json(body).expect(&context);
                check_credential_fields(
                    c.sid.map(|s| s.to_string()),
                    c.account_sid.map(|s| s.to_string()),
                    c.friendly_name.as_deref(),
                    c.date_created,
                    c.url.as_deref(),
                    "PublicKeys",
                );
            }
            "FetchMessagingGeopermissions" => {
                let m = MessagingGeopermissions::from_json(body).expect(&context);
                let p = m.permission_entries().expect(&context);
                assert_eq!(p.len(), 2);
                assert_eq!(p[0].country_code.as_deref(), Some("IN"));
                assert_eq!(p[0].prefix.as_deref(), Some("+91"));
                assert_eq!(p[0].enabled, Some(false));
                assert_eq!(p[1].message.as_deref(), Some("High Risk Country"));
                assert_eq!(
                    p[1].permission_type,
                    Some(twilio_accounts::model::GeoPermissionType::Country)
                );
            }
            "UpdateMessagingGeopermissions" => {
                let m = MessagingGeopermissions::from_json(body).expect(&context);
                let p = m.permission_entries().expect(&context);
                assert_eq!(p[1].error_code, Some(30649));
                assert_eq!(
                    p[1].error_messages.as_deref(),
                    Some(&["High risk country permission cannot be updated".to_owned()][..])
                );
            }
            "CreateSafelist" | "FetchSafelist" => {
                let m = Safelist::from_json(body).expect(&context);
                assert_eq!(
                    m.sid.map(|s| s.to_string()).as_deref(),
                    Some("GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
                );
                assert_eq!(m.phone_number.as_deref(), Some("+18001234567"));
            }
            other => panic!("no model mapped for the example of {other}"),
        }
    }
}

#[test]
fn every_field_null_or_absent_decodes_to_none() {
    let all_null = br#"{"sid":null,"account_sid":null,"friendly_name":null,"date_created":null,"date_updated":null,"url":null,"auth_token":null,"secondary_auth_token":null,"phone_number":null,"items":null,"permissions":null,"credentials":null,"meta":null}"#;
    for body in [&all_null[..], b"{}"] {
        let c = CredentialAws::from_json(body).unwrap();
        assert!(c.sid.is_none() && c.date_created.is_none() && c.url.is_none());
        assert!(
            AuthTokenPromotion::from_json(body)
                .unwrap()
                .auth_token
                .is_none()
        );
        assert!(
            SecondaryAuthToken::from_json(body)
                .unwrap()
                .secondary_auth_token
                .is_none()
        );
        assert!(Safelist::from_json(body).unwrap().sid.is_none());
        assert!(
            BulkConsents::from_json(body)
                .unwrap()
                .item_results()
                .unwrap()
                .is_empty()
        );
        assert!(
            BulkContacts::from_json(body)
                .unwrap()
                .item_results()
                .unwrap()
                .is_empty()
        );
        assert!(
            MessagingGeopermissions::from_json(body)
                .unwrap()
                .permission_entries()
                .unwrap()
                .is_empty()
        );
        let p = Page::<CredentialPublicKey>::from_json(body).unwrap();
        assert!(p.items.is_empty() && p.meta.next_page_url.is_none());
    }
}

#[test]
fn prism_dynamic_shapes_decode() {
    // What Prism's `Prefer: dynamic=true` generates (CONTRACT.md §11): unknown fields, odd
    // URIs, fractional seconds and old years, negative / huge page numbers, and any JSON in
    // the untyped fields.
    let page = br#"{"credentials":[{"sid":"CRaBcDeF0123456789abcdefABCDEF0123","account_sid":"AC0123456789abcdefABCDEF0123456789","friendly_name":"esse proident voluptate do et","date_created":"1894-10-12T16:18:34.0Z","date_updated":null,"url":"https://ZcWW.ebbzMv.8T,b0qDJ","extra":{"x":1}}],
        "meta":{"page":-81274612,"page_size":1e300,"key":"Lorem","next_page_url":null,"first_page_url":"https://a.b,c","url":"http://x.y"}}"#;
    let p = Page::<CredentialAws>::from_json(page).unwrap();
    assert_eq!(
        p.items[0].date_created,
        Some(datetime!(1894-10-12 16:18:34 UTC))
    );
    assert_eq!(p.meta.page(), Some(-81_274_612));
    assert_eq!(p.meta.page_size(), None);
    assert!(p.meta.page_size_number.is_some());
    for items in [r#"{"a":1}"#, r#""lorem""#, "-5", "[1,2]", "true"] {
        let body = format!(r#"{{"items":{items},"unknown":[]}}"#);
        let m = BulkConsents::from_json(body.as_bytes()).unwrap();
        assert!(m.items.is_some());
        // The typed view reports the mismatch instead of panicking.
        let _ = m.item_results();
        let body = format!(r#"{{"permissions":{items}}}"#);
        assert!(
            MessagingGeopermissions::from_json(body.as_bytes())
                .unwrap()
                .permissions
                .is_some()
        );
    }
    let t = br#"{"auth_token":"esse proident voluptate do et","date_created":"2020-01-01T00:00:00.123456+02:00"}"#;
    let m = AuthTokenPromotion::from_json(t).unwrap();
    assert_eq!(
        m.auth_token.unwrap().expose_secret(),
        "esse proident voluptate do et"
    );
}

#[test]
fn malformed_values_name_their_field() {
    let cases: [(&[u8], Option<&str>); 8] = [
        (br#"{"credentials":[{"sid":"CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},{"sid":"GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]}"#, Some("credentials[1].sid")),
        (br#"{"credentials":[{"date_created":"yesterday"}]}"#, Some("credentials[0].date_created")),
        (br#"{"credentials":[{"account_sid":"AC123"}]}"#, Some("credentials[0].account_sid")),
        (br#"{"credentials":{}}"#, Some("credentials")),
        (br#"{"meta":{"next_page_url":5}}"#, Some("meta.next_page_url")),
        (br#"{"meta":[]}"#, Some("meta")),
        (br#"{"credentials":[}"#, None),
        (b"[]", None),
    ];
    for (body, field) in cases {
        let e = Page::<CredentialAws>::from_json(body).unwrap_err();
        assert_eq!(e.field(), field, "{}", String::from_utf8_lossy(body));
        assert!(std::error::Error::source(&e).is_some());
    }
    let e = AuthTokenPromotion::from_json(br#"{"auth_token":12}"#).unwrap_err();
    assert_eq!(e.field(), Some("auth_token"));
    let e = Safelist::from_json(br#"{"sid":"GN"}"#).unwrap_err();
    assert_eq!(e.field(), Some("sid"));
    let m = MessagingGeopermissions::from_json(br#"{"permissions":[{"enabled":"yes"}]}"#).unwrap();
    assert_eq!(
        m.permission_entries().unwrap_err().field(),
        Some("permissions[0].enabled")
    );
    let m = BulkContacts::from_json(br#"{"items":[{"error_messages":["a",1]}]}"#).unwrap();
    assert_eq!(
        m.item_results().unwrap_err().field(),
        Some("items[0].error_messages[1]")
    );
}
