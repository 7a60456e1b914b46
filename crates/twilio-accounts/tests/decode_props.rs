//! Property tests: the response decoders never panic, whatever the bytes or JSON, and what
//! decodes keeps its values.

use proptest::prelude::*;
use serde_json::Value;
use twilio_accounts::model::{
    AuthTokenPromotion, BulkConsents, BulkContacts, CredentialAws, CredentialPublicKey,
    MessagingGeopermissions, Page, Safelist, SecondaryAuthToken,
};
use twilio_types::strategies::{near_miss_sid_string, valid_sid_string};
use twilio_types::{AccountSid, CredentialSid};

fn decode_all(body: &[u8]) {
    let _ = AuthTokenPromotion::from_json(body);
    let _ = SecondaryAuthToken::from_json(body);
    let _ = CredentialAws::from_json(body);
    let _ = CredentialPublicKey::from_json(body);
    let _ = Safelist::from_json(body);
    let _ = Page::<CredentialAws>::from_json(body);
    let _ = Page::<CredentialPublicKey>::from_json(body);
    if let Ok(m) = BulkConsents::from_json(body) {
        let _ = m.item_results();
    }
    if let Ok(m) = BulkContacts::from_json(body) {
        let _ = m.item_results();
    }
    if let Ok(m) = MessagingGeopermissions::from_json(body) {
        let _ = m.permission_entries();
    }
}

/// Any JSON value, with the field names the models read so that the typed paths are hit.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("sid".to_owned()),
        Just("account_sid".to_owned()),
        Just("auth_token".to_owned()),
        Just("secondary_auth_token".to_owned()),
        Just("date_created".to_owned()),
        Just("url".to_owned()),
        Just("credentials".to_owned()),
        Just("meta".to_owned()),
        Just("page".to_owned()),
        Just("next_page_url".to_owned()),
        Just("items".to_owned()),
        Just("permissions".to_owned()),
        Just("error_code".to_owned()),
        Just("error_messages".to_owned()),
        Just("enabled".to_owned()),
        Just("phone_number".to_owned()),
        "[a-z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "(AC|CR|GN)[0-9a-fA-F]{30,34}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        decode_all(&body);
        // Wrapped the way list and bulk responses are, to reach the nested decoders.
        for wrapped in [
            serde_json::json!({"credentials": [value.clone()], "meta": value.clone()}),
            serde_json::json!({"items": [value.clone()], "permissions": [value.clone()]}),
        ] {
            decode_all(&serde_json::to_vec(&wrapped).unwrap());
        }
    }

    #[test]
    fn strings_and_names_round_trip(name in any::<String>(), phone in "\\+[0-9]{1,15}") {
        let body = serde_json::json!({"friendly_name": name, "url": name});
        let c = CredentialAws::from_json(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(c.friendly_name.as_deref(), Some(name.as_str()));
        let body = serde_json::json!({"phone_number": phone});
        let s = Safelist::from_json(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(s.phone_number.as_deref(), Some(phone.as_str()));
    }

    #[test]
    fn any_integer_page_decodes(page in any::<i64>(), huge in any::<f64>()) {
        let body = format!(r#"{{"meta":{{"page":{page},"page_size":{}}}}}"#, serde_json::to_string(&huge).unwrap());
        let p = Page::<CredentialAws>::from_json(body.as_bytes()).unwrap();
        prop_assert_eq!(p.meta.page(), Some(page));
    }

    #[test]
    fn valid_sids_round_trip_and_near_misses_name_the_field(
        sid in valid_sid_string(CredentialSid::PREFIX),
        account in valid_sid_string(AccountSid::PREFIX),
        bad in near_miss_sid_string(CredentialSid::PREFIX),
        secs in -2_000_000_000i64..4_000_000_000,
    ) {
        let date = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let body = serde_json::json!({"credentials": [{
            "sid": sid, "account_sid": account,
            "date_created": twilio_types::timestamp::format(&date),
        }]});
        let page = Page::<CredentialPublicKey>::from_json(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(page.items[0].sid.map(|s| s.to_string()), Some(sid));
        prop_assert_eq!(page.items[0].account_sid.map(|s| s.to_string()), Some(account));
        prop_assert_eq!(page.items[0].date_created, Some(date));
        let body = serde_json::json!({"credentials": [{}, {"sid": bad}]});
        let err = Page::<CredentialPublicKey>::from_json(&serde_json::to_vec(&body).unwrap()).unwrap_err();
        prop_assert_eq!(err.field(), Some("credentials[1].sid"));
    }
}
