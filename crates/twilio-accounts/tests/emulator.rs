//! All 20 operations, paging and error answers against the in-process `twilio-emulator`,
//! through the real HTTP client.

// Real HTTP through the built-in client.
#![cfg(feature = "default-client")]

use futures_util::TryStreamExt;
use http::StatusCode;
use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
use twilio_accounts::bulk_contacts::ContactItem;
use twilio_accounts::credentials::AwsCredentials;
use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
use twilio_accounts::{Client, Credentials, Error, RetryConfig};
use twilio_emulator::{Emulator, Fault};
use twilio_types::{AuthToken, CredentialSid};

const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\n-----END PUBLIC KEY-----\n";

async fn start() -> (Emulator, Client) {
    let emulator = Emulator::builder().start().await.expect("emulator");
    let client = client_for(&emulator, emulator.auth_token());
    (emulator, client)
}

fn client_for(emulator: &Emulator, token: AuthToken) -> Client {
    Client::builder()
        .credentials(Credentials::from_auth_token(emulator.account_sid(), token).unwrap())
        .base_url(&emulator.base_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap()
}

#[tokio::test]
async fn auth_token_operations() {
    let (emulator, client) = start().await;
    let old = emulator.auth_token();

    let created = client
        .secondary_auth_token()
        .create()
        .suppress_email_notification(true)
        .send()
        .await
        .unwrap();
    let secondary = created.secondary_auth_token.clone().unwrap();
    assert_eq!(created.account_sid, Some(emulator.account_sid()));
    assert!(created.date_created.is_some());
    assert_eq!(
        emulator.secondary_auth_token().unwrap().expose_secret(),
        secondary.expose_secret()
    );
    assert!(!format!("{created:?}").contains(secondary.expose_secret()));

    client
        .secondary_auth_token()
        .delete()
        .suppress_email_notification(false)
        .send()
        .await
        .unwrap();
    assert!(emulator.secondary_auth_token().is_none());
    let err = client
        .secondary_auth_token()
        .delete()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::NOT_FOUND), Some(20404))
    );

    let err = client
        .auth_token_promotion()
        .update()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(20404), "promote without a secondary");

    let created = client.secondary_auth_token().create().send().await.unwrap();
    let new = created.secondary_auth_token.unwrap();
    let promoted = client
        .auth_token_promotion()
        .update()
        .suppress_email_notification(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        promoted.auth_token.unwrap().expose_secret(),
        new.expose_secret()
    );
    assert_eq!(emulator.auth_token().expose_secret(), new.expose_secret());

    // The old token no longer works until the shared handle is switched.
    let err = client.credentials().aws().list().send().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::UNAUTHORIZED), Some(20003))
    );
    client
        .shared_credentials()
        .replace(Credentials::from_auth_token(emulator.account_sid(), new).unwrap());
    client.credentials().aws().list().send().await.unwrap();
    drop(old);
    emulator.shutdown().await;
}

#[tokio::test]
async fn aws_credentials_crud_and_paging() {
    let (emulator, client) = start().await;
    let aws = client.credentials().aws();
    let mut sids = Vec::new();
    for i in 0..7 {
        let secret = AwsCredentials::new(
            &format!("AKIA{i:016}"),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY=",
        )
        .unwrap();
        let mut create = aws.create(secret).friendly_name(format!("key {i}"));
        if i == 0 {
            create = create.account_sid(emulator.account_sid());
        }
        let c = create.send().await.unwrap();
        assert_eq!(
            c.friendly_name.as_deref(),
            Some(format!("key {i}").as_str())
        );
        sids.push(c.sid.unwrap());
    }
    let fetched = aws.fetch(sids[2]).send().await.unwrap();
    assert_eq!(fetched.sid, Some(sids[2]));
    let updated = aws
        .update(sids[2])
        .friendly_name("renamed + more/=")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.friendly_name.as_deref(), Some("renamed + more/="));

    let page = aws.list().page_size(3).send().await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(page.meta.next_page_url.is_some());
    let before = emulator.request_count();
    let all: Vec<_> = aws
        .list()
        .page_size(3)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(emulator.request_count() - before, 3, "three pages");
    let mut listed: Vec<CredentialSid> = all.iter().filter_map(|c| c.sid).collect();
    listed.sort();
    let mut expected = sids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let limited: Vec<_> = aws
        .list()
        .page_size(2)
        .limit(5)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(limited.len(), 5);

    aws.delete(sids[2]).send().await.unwrap();
    let err = aws.fetch(sids[2]).send().await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (api.status(), api.code()),
        (StatusCode::NOT_FOUND, Some(20404))
    );
    assert!(api.request_id().is_some_and(|id| id.starts_with("RQ")));
    emulator.shutdown().await;
}

#[tokio::test]
async fn public_key_crud_and_paging() {
    let (emulator, client) = start().await;
    let keys = client.credentials().public_key();
    let created = keys
        .create(PEM)
        .friendly_name("signing")
        .send()
        .await
        .unwrap();
    let sid = created.sid.unwrap();
    assert_eq!(emulator.snapshot().public_key_credentials().len(), 1);
    for _ in 0..4 {
        keys.create(PEM).send().await.unwrap();
    }
    assert_eq!(
        keys.fetch(sid)
            .send()
            .await
            .unwrap()
            .friendly_name
            .as_deref(),
        Some("signing")
    );
    assert_eq!(
        keys.update(sid)
            .friendly_name("s2")
            .send()
            .await
            .unwrap()
            .friendly_name
            .as_deref(),
        Some("s2")
    );
    let all: Vec<_> = keys
        .list()
        .page_size(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    keys.delete(sid).send().await.unwrap();
    let page = keys.list().send().await.unwrap();
    assert_eq!(page.items.len(), 4);
    emulator.shutdown().await;
}

#[tokio::test]
async fn safelist_operations() {
    let (emulator, client) = start().await;
    let created = client
        .safelist()
        .create("+18001234567")
        .send()
        .await
        .unwrap();
    assert_eq!(created.phone_number.as_deref(), Some("+18001234567"));
    assert!(created.sid.is_some());
    let fetched = client
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.sid, created.sid);
    client
        .safelist()
        .delete("+18001234567")
        .send()
        .await
        .unwrap();
    let err = client
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    emulator.shutdown().await;
}

#[tokio::test]
async fn bulk_operations() {
    let (emulator, client) = start().await;
    let consents = [
        ConsentItem::new(
            "+15005550006",
            "ad388b5a46b33b874b0d41f7226db2ef",
            "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ConsentStatus::OptIn,
            ConsentSource::Website,
        )
        .date_of_consent(time::macros::datetime!(2025-02-28 10:05:27 UTC)),
        ConsentItem::new(
            "not-a-number",
            "02520cfa6c432f0e3ec3a38c122d428d",
            "123456",
            ConsentStatus::OptOut,
            ConsentSource::OptOutMessage,
        ),
    ];
    let result = client
        .bulk_consents()
        .create(consents)
        .send()
        .await
        .unwrap();
    let results = result.item_results().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_success(), "{results:?}");
    assert_eq!(results[1].error_code, Some(30646));
    assert_eq!(emulator.snapshot().consents().len(), 1);

    let contacts = [ContactItem::new(
        "+15005550006",
        "ad388b5a46b33b874b0d41f7226db2ef",
        "US",
        "94 105",
    )];
    let result = client
        .bulk_contacts()
        .create(contacts)
        .send()
        .await
        .unwrap();
    assert!(result.item_results().unwrap()[0].is_success());
    assert_eq!(
        emulator.snapshot().contacts()[0].zip_code.as_deref(),
        Some("94 105")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn geopermission_operations() {
    let (emulator, client) = start().await;
    let all = client
        .messaging_geopermissions()
        .fetch()
        .send()
        .await
        .unwrap();
    assert!(all.permission_entries().unwrap().len() > 10);
    let some = client
        .messaging_geopermissions()
        .fetch()
        .country_code("IN,PK,US")
        .send()
        .await
        .unwrap();
    let entries = some.permission_entries().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.prefix.is_some()));

    let result = client
        .messaging_geopermissions()
        .update([
            GeoPermissionUpdate::new("IN", true),
            GeoPermissionUpdate::new("PK", true),
        ])
        .send()
        .await
        .unwrap();
    let entries = result.permission_entries().unwrap();
    assert_eq!(entries[0].error_code, Some(0));
    assert_eq!(entries[1].error_code, Some(30649), "high-risk country");
    assert!(
        emulator
            .snapshot()
            .enabled_countries()
            .iter()
            .any(|c| c == "IN")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_and_injected_faults() {
    let (emulator, _) = start().await;
    let bad = client_for(&emulator, AuthToken::new("wrong-token-0000").unwrap());
    let err = bad
        .safelist()
        .fetch("+18001234567")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::UNAUTHORIZED), Some(20003))
    );
    assert!(!format!("{err} {err:?}").contains("wrong-token-0000"));

    let client = client_for(&emulator, emulator.auth_token());
    emulator
        .faults()
        .inject(Fault::status(503).times(1))
        .unwrap();
    let err = client.credentials().aws().list().send().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(err.is_retryable());

    emulator.faults().inject(Fault::reset().times(1)).unwrap();
    let err = client.credentials().aws().list().send().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    client.credentials().aws().list().send().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn retries_in_the_transport_are_invisible_to_callers() {
    let emulator = Emulator::builder().start().await.unwrap();
    let client = Client::builder()
        .credentials(
            Credentials::from_auth_token(emulator.account_sid(), emulator.auth_token()).unwrap(),
        )
        .base_url(&emulator.base_url())
        .retry(
            RetryConfig::builder()
                .initial_backoff(std::time::Duration::from_millis(1))
                .max_backoff(std::time::Duration::from_millis(2))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    emulator
        .faults()
        .inject(Fault::status(503).times(1))
        .unwrap();
    client.credentials().aws().list().send().await.unwrap();
    emulator.shutdown().await;
}

/// `Client::from_env_with` reaches the emulator through `TWILIO_ACCOUNTS_BASE_URL` (plain
/// `http` allowed for loopback only); the environment's region and edge leave that URL alone,
/// and a bad value fails the build naming its variable.
#[tokio::test]
async fn from_env_reaches_the_emulator_through_the_base_url_variable() {
    let emulator = Emulator::builder().start().await.expect("emulator");
    let account = emulator.account_sid().as_str().to_owned();
    let token = emulator.auth_token().expose_secret().to_owned();
    let base_url = emulator.base_url();
    let vars = |extra: &'static [(&'static str, &'static str)]| {
        let (account, token, base_url) = (account.clone(), token.clone(), base_url.clone());
        move |name: &str| match name {
            "TWILIO_ACCOUNT_SID" => Some(account.clone()),
            "TWILIO_AUTH_TOKEN" => Some(token.clone()),
            "TWILIO_ACCOUNTS_BASE_URL" => Some(base_url.clone()),
            _ => extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned()),
        }
    };
    let client =
        Client::from_env_with(vars(&[("TWILIO_REGION", "au1"), ("TWILIO_EDGE", "sydney")]))
            .unwrap();
    let created = client.secondary_auth_token().create().send().await.unwrap();
    assert_eq!(created.account_sid, Some(emulator.account_sid()));
    assert!(emulator.secondary_auth_token().is_some());

    let err = Client::from_env_with(|name| match name {
        "TWILIO_ACCOUNTS_BASE_URL" => Some("http://accounts.example.com".to_owned()),
        other => vars(&[])(other),
    })
    .unwrap_err();
    let text = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(text.contains("TWILIO_ACCOUNTS_BASE_URL"), "{text}");
    assert!(!text.contains(&token), "{text}");

    let err = Client::from_env_with(|name| match name {
        "TWILIO_ACCOUNTS_BASE_URL" => None,
        "TWILIO_REGION" => Some("au1.evil.com".to_owned()),
        other => vars(&[])(other),
    })
    .unwrap_err();
    let text = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(text.contains("TWILIO_REGION"), "{text}");
}
