//! Every operation of the vendored spec (and of our own extension fragment,
//! `spec/extensions/compliance_signals.json`) has an SDK call, and each SDK call sends the
//! method, path and parameter names the spec declares. A spec update that adds an operation
//! fails here and names it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use common::{Canned, canned_client, decode_form, extension_spec, spec};
use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
use twilio_accounts::bulk_contacts::ContactItem;
use twilio_accounts::compliance_signals::{Channel, Signal, UseCase};
use twilio_accounts::credentials::AwsCredentials;
use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
use twilio_accounts::{Client, Error};
use twilio_types::{AccountSid, CredentialSid};

type Call = fn(Client) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

const SID: CredentialSid = CredentialSid::from_static("CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
const SUB: AccountSid = AccountSid::from_static("ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");

fn aws() -> AwsCredentials {
    AwsCredentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    .unwrap()
}

fn consent() -> ConsentItem {
    ConsentItem::new(
        "+15005550006",
        "ad388b5a46b33b874b0d41f7226db2ef",
        "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ConsentStatus::OptIn,
        ConsentSource::Website,
    )
    .date_of_consent(time::macros::datetime!(2025-02-28 10:05:27 UTC))
}

fn contact() -> ContactItem {
    ContactItem::new(
        "+15005550006",
        "ad388b5a46b33b874b0d41f7226db2ef",
        "US",
        "94105",
    )
}

/// operationId → (method, path, SDK call with every optional parameter set).
/// This table is the mapping the contract check (`cargo xtask contract`) mirrors.
fn table() -> Vec<(&'static str, &'static str, &'static str, Call)> {
    vec![
        (
            "UpdateAuthTokenPromotion",
            "POST",
            "/v1/AuthTokens/Promote",
            |c| {
                Box::pin(async move {
                    c.auth_token_promotion()
                        .update()
                        .suppress_email_notification(true)
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "CreateSecondaryAuthToken",
            "POST",
            "/v1/AuthTokens/Secondary",
            |c| {
                Box::pin(async move {
                    c.secondary_auth_token()
                        .create()
                        .suppress_email_notification(true)
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "DeleteSecondaryAuthToken",
            "DELETE",
            "/v1/AuthTokens/Secondary",
            |c| {
                Box::pin(async move {
                    c.secondary_auth_token()
                        .delete()
                        .suppress_email_notification(true)
                        .send()
                        .await
                })
            },
        ),
        ("CreateBulkConsents", "POST", "/v1/Consents/Bulk", |c| {
            Box::pin(async move { c.bulk_consents().create([consent()]).send().await.map(drop) })
        }),
        ("CreateBulkContacts", "POST", "/v1/Contacts/Bulk", |c| {
            Box::pin(async move { c.bulk_contacts().create([contact()]).send().await.map(drop) })
        }),
        ("ListCredentialAws", "GET", "/v1/Credentials/AWS", |c| {
            Box::pin(async move {
                c.credentials()
                    .aws()
                    .list()
                    .page_size(50)
                    .page(0)
                    .page_token("PT1")
                    .send()
                    .await
                    .map(drop)
            })
        }),
        ("CreateCredentialAws", "POST", "/v1/Credentials/AWS", |c| {
            Box::pin(async move {
                c.credentials()
                    .aws()
                    .create(aws())
                    .friendly_name("x")
                    .account_sid(SUB)
                    .send()
                    .await
                    .map(drop)
            })
        }),
        (
            "FetchCredentialAws",
            "GET",
            "/v1/Credentials/AWS/{Sid}",
            |c| Box::pin(async move { c.credentials().aws().fetch(SID).send().await.map(drop) }),
        ),
        (
            "UpdateCredentialAws",
            "POST",
            "/v1/Credentials/AWS/{Sid}",
            |c| {
                Box::pin(async move {
                    c.credentials()
                        .aws()
                        .update(SID)
                        .friendly_name("y")
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "DeleteCredentialAws",
            "DELETE",
            "/v1/Credentials/AWS/{Sid}",
            |c| Box::pin(async move { c.credentials().aws().delete(SID).send().await }),
        ),
        (
            "ListCredentialPublicKey",
            "GET",
            "/v1/Credentials/PublicKeys",
            |c| {
                Box::pin(async move {
                    c.credentials()
                        .public_key()
                        .list()
                        .page_size(50)
                        .page(0)
                        .page_token("PT1")
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "CreateCredentialPublicKey",
            "POST",
            "/v1/Credentials/PublicKeys",
            |c| {
                Box::pin(async move {
                    c.credentials()
                        .public_key()
                        .create("-----BEGIN PUBLIC KEY-----\nMIIB+/=\n-----END PUBLIC KEY-----")
                        .friendly_name("x")
                        .account_sid(SUB)
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "FetchCredentialPublicKey",
            "GET",
            "/v1/Credentials/PublicKeys/{Sid}",
            |c| {
                Box::pin(async move {
                    c.credentials()
                        .public_key()
                        .fetch(SID)
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "UpdateCredentialPublicKey",
            "POST",
            "/v1/Credentials/PublicKeys/{Sid}",
            |c| {
                Box::pin(async move {
                    c.credentials()
                        .public_key()
                        .update(SID)
                        .friendly_name("y")
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "DeleteCredentialPublicKey",
            "DELETE",
            "/v1/Credentials/PublicKeys/{Sid}",
            |c| Box::pin(async move { c.credentials().public_key().delete(SID).send().await }),
        ),
        (
            "FetchMessagingGeopermissions",
            "GET",
            "/v1/Messaging/GeoPermissions",
            |c| {
                Box::pin(async move {
                    c.messaging_geopermissions()
                        .fetch()
                        .country_code("IN,PK,US")
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        (
            "UpdateMessagingGeopermissions",
            "PATCH",
            "/v1/Messaging/GeoPermissions",
            |c| {
                Box::pin(async move {
                    c.messaging_geopermissions()
                        .update([GeoPermissionUpdate::new("IN", false)])
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
        ("CreateSafelist", "POST", "/v1/SafeList/Numbers", |c| {
            Box::pin(async move { c.safelist().create("+18001234567").send().await.map(drop) })
        }),
        ("FetchSafelist", "GET", "/v1/SafeList/Numbers", |c| {
            Box::pin(async move { c.safelist().fetch("+18001234567").send().await.map(drop) })
        }),
        ("DeleteSafelist", "DELETE", "/v1/SafeList/Numbers", |c| {
            Box::pin(async move { c.safelist().delete("+18001234567").send().await })
        }),
        (
            "CreateComplianceSignalsCheck",
            "POST",
            "/v1/ComplianceSignals/Check",
            |c| {
                Box::pin(async move {
                    c.compliance_signals_check()
                        .create()
                        .signal(Signal::QuietHours)
                        .to("+14155552671".parse().unwrap())
                        .country_iso_code("US")
                        .body("Sale ends tonight")
                        .use_case(UseCase::Marketing)
                        .channel(Channel::Sms)
                        .zip_code("94105")
                        .send_at(time::macros::datetime!(2030-01-01 12:00 UTC))
                        .send()
                        .await
                        .map(drop)
                })
            },
        ),
    ]
}

/// Parameter names by location (`query`, `path`, `body`).
type Params = BTreeMap<String, BTreeSet<String>>;

/// Every (operationId → (method, path, parameters by location)) in the spec.
fn spec_operations() -> BTreeMap<String, (String, String, Params)> {
    let mut ops = BTreeMap::new();
    for spec in [spec(), extension_spec()] {
        add_operations(&spec, &mut ops);
    }
    ops
}

/// Adds the operations of one OpenAPI document; form and JSON body properties both count as
/// `body` parameters.
fn add_operations(spec: &serde_json::Value, ops: &mut BTreeMap<String, (String, String, Params)>) {
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            let mut params = Params::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                params
                    .entry(p["in"].as_str().unwrap().to_owned())
                    .or_default()
                    .insert(p["name"].as_str().unwrap().to_owned());
            }
            if let Some(content) =
                op.pointer("/requestBody/content/application~1x-www-form-urlencoded")
            {
                let props = content["schema"]["properties"].as_object().unwrap();
                params
                    .entry("body".into())
                    .or_default()
                    .extend(props.keys().cloned());
            }
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                let props = spec["components"]["schemas"][name]["properties"]
                    .as_object()
                    .unwrap();
                params
                    .entry("json".into())
                    .or_default()
                    .extend(props.keys().cloned());
            }
            ops.insert(id.to_owned(), (method.to_uppercase(), path.clone(), params));
        }
    }
}

#[test]
fn every_spec_operation_is_mapped_and_nothing_else() {
    let spec_ids: BTreeSet<String> = spec_operations().keys().cloned().collect();
    let sdk_ids: BTreeSet<String> = table().iter().map(|(id, ..)| (*id).to_owned()).collect();
    let missing: Vec<_> = spec_ids.difference(&sdk_ids).collect();
    let extra: Vec<_> = sdk_ids.difference(&spec_ids).collect();
    assert!(
        missing.is_empty(),
        "spec operations without an SDK call: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "SDK table entries not in the spec: {extra:?}"
    );
    assert_eq!(
        spec_ids.len(),
        21,
        "20 of Twilio's spec and 1 of our extension"
    );
}

#[test]
fn table_methods_and_paths_match_the_spec() {
    let ops = spec_operations();
    for (id, method, path, _) in table() {
        let (spec_method, spec_path, _) = &ops[id];
        assert_eq!(
            (method, path),
            (spec_method.as_str(), spec_path.as_str()),
            "{id}"
        );
    }
}

fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<_> = template.split('/').collect();
    let p: Vec<_> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && p.starts_with("CR") && p.len() == 34))
}

#[tokio::test]
async fn every_call_sends_the_spec_method_path_and_parameter_names() {
    let ops = spec_operations();
    for (id, _, _, call) in table() {
        let (spec_method, spec_path, params) = &ops[id];
        let (client, recorder) = canned_client(vec![Canned::json(200, "{}")]);
        call(client).await.unwrap_or_else(|e| panic!("{id}: {e:?}"));
        let requests = recorder.requests();
        assert_eq!(requests.len(), 1, "{id}");
        let r = &requests[0];
        assert_eq!(r.method().as_str(), spec_method, "{id}");
        assert!(
            matches_template(spec_path, r.uri().path()),
            "{id}: {} vs {spec_path}",
            r.uri()
        );
        let declared = |loc: &str| params.get(loc).cloned().unwrap_or_default();
        let query: BTreeSet<String> = decode_form(r.uri().query().unwrap_or(""))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(
            query.is_subset(&declared("query")),
            "{id}: query {query:?} not in spec"
        );
        assert_eq!(
            query,
            declared("query"),
            "{id}: every optional query parameter set"
        );
        if params.contains_key("json") {
            // The one JSON-bodied operation: every property set, camelCase keys.
            let sent: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
            let keys: BTreeSet<String> = sent.as_object().unwrap().keys().cloned().collect();
            assert_eq!(keys, declared("json"), "{id}: JSON body properties");
            assert_eq!(r.headers()["content-type"], "application/json", "{id}");
            assert_eq!(r.headers()["accept"], "application/json", "{id}");
            continue;
        }
        let body: BTreeSet<String> = decode_form(std::str::from_utf8(r.body()).unwrap())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(body, declared("body"), "{id}: body parameters");
        if body.is_empty() {
            assert!(r.headers().get("content-type").is_none(), "{id}");
        } else {
            assert_eq!(
                r.headers()["content-type"],
                "application/x-www-form-urlencoded",
                "{id}"
            );
        }
    }
}

#[test]
fn required_body_parameters_are_method_arguments() {
    // Every `required` body field of the spec is one the SDK call takes as an argument: the
    // table above passes them positionally (items, credentials, public key, phone number,
    // permissions). Checked by name against the spec so a newly required field shows up.
    let spec = spec();
    let mut required = BTreeSet::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(r) = op
                .pointer("/requestBody/content/application~1x-www-form-urlencoded/schema/required")
            {
                for name in r.as_array().unwrap() {
                    required.insert(format!(
                        "{}.{}",
                        op["operationId"].as_str().unwrap(),
                        name.as_str().unwrap()
                    ));
                }
            }
        }
    }
    let expected: BTreeSet<String> = [
        "CreateBulkConsents.Items",
        "CreateBulkContacts.Items",
        "CreateCredentialAws.Credentials",
        "CreateCredentialPublicKey.PublicKey",
        "UpdateMessagingGeopermissions.Permissions",
        "CreateSafelist.PhoneNumber",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(required, expected);
}
