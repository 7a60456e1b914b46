//! Every operation's success and error paths, over raw HTTP.

mod common;

use common::{Conn, Env, FORM, assert_request_id, assert_sid, assert_timestamp, basic, form};
use hyper::Method;
use serde_json::{Value, json};
use twilio_emulator::Emulator;
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

const CR_UNKNOWN: &str = "CR0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn base_url_and_credentials() {
    let env = Env::start().await;
    let url = env.emu.base_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with('/'));
    assert_eq!(url, format!("http://{}", env.emu.local_addr()));
    assert!(AccountSid::parse(env.emu.account_sid().as_str()).is_ok());
    assert_eq!(env.emu.auth_token().expose_secret().len(), 32);
    assert!(env.emu.secondary_auth_token().is_none());
    assert!(!format!("{:?}", env.emu).contains(env.emu.auth_token().expose_secret()));
}

#[tokio::test]
async fn success_responses_carry_the_spec_cors_headers_and_others_do_not() {
    let env = Env::start().await;
    let created = env.post("/v1/AuthTokens/Secondary", "").await;
    assert_eq!(created.status, 201);
    created.assert_cors();
    let listed = env.get("/v1/Credentials/AWS").await;
    assert_eq!(listed.status, 200);
    listed.assert_cors();
    // 204s declare no headers; errors are not in the spec at all.
    let deleted = env.delete("/v1/AuthTokens/Secondary").await;
    assert_eq!(deleted.status, 204);
    let missing = env.delete("/v1/AuthTokens/Secondary").await;
    missing.assert_error(404, 20404);
    for resp in [&deleted, &missing] {
        assert!(resp.header("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn only_the_exact_token_authenticates() {
    let sid = AccountSid::parse("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
    let key = ApiKeySid::parse("SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
    let emu = Emulator::builder()
        .account(sid, AuthToken::new("token-1234").unwrap())
        .api_key(key, ApiKeySecret::new("secret-5678").unwrap())
        .start()
        .await
        .unwrap();
    let mut conn = Conn::open(emu.local_addr()).await;
    for (user, guess) in [
        (sid.as_str(), "token-123"),
        (sid.as_str(), "token-12345"),
        (sid.as_str(), "token-1234token-1234"),
        (sid.as_str(), "TOKEN-1234"),
        (sid.as_str(), ""),
        (key.as_str(), "secret-567"),
        (key.as_str(), "secret-5678secret-5678"),
        (key.as_str(), "token-1234"),
        (sid.as_str(), "secret-5678"),
    ] {
        conn.send(
            Method::GET,
            "/v1/Credentials/AWS",
            Some(&basic(user, guess)),
            None,
            "",
        )
        .await
        .assert_error(401, 20003);
    }
    for (user, password) in [(sid.as_str(), "token-1234"), (key.as_str(), "secret-5678")] {
        let resp = conn
            .send(
                Method::GET,
                "/v1/Credentials/AWS",
                Some(&basic(user, password)),
                None,
                "",
            )
            .await;
        assert_eq!(resp.status, 200, "{user}");
    }
}

#[tokio::test]
async fn fixed_account_is_reproducible() {
    let sid = AccountSid::parse("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
    let token = AuthToken::new("fixed-token").unwrap();
    let emu = Emulator::builder()
        .account(sid, token)
        .start()
        .await
        .unwrap();
    assert_eq!(emu.account_sid(), sid);
    assert_eq!(emu.auth_token().expose_secret(), "fixed-token");
    let mut conn = Conn::open(emu.local_addr()).await;
    let auth = basic(sid.as_str(), "fixed-token");
    let resp = conn
        .send(Method::GET, "/v1/Credentials/AWS", Some(&auth), None, "")
        .await;
    assert_eq!(resp.status, 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn secondary_create_delete_and_promote() {
    let env = Env::start().await;
    let old_primary = env.emu.auth_token();
    let old_auth = env.auth();

    // Delete and promote without a secondary: 404 / 20404.
    let body = env
        .delete("/v1/AuthTokens/Secondary")
        .await
        .assert_error(404, 20404);
    assert_eq!(
        body["message"],
        "The requested resource /AuthTokens/Secondary was not found"
    );
    let body = env
        .post("/v1/AuthTokens/Promote", "")
        .await
        .assert_error(404, 20404);
    assert_eq!(
        body["message"],
        "The requested resource /AuthTokens/Promote was not found"
    );

    // Create: 201 with a fresh token.
    let resp = env.post("/v1/AuthTokens/Secondary", "").await;
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_request_id(&resp);
    let created = resp.json();
    assert_eq!(created["account_sid"], env.emu.account_sid().as_str());
    assert_timestamp(&created["date_created"]);
    assert_timestamp(&created["date_updated"]);
    assert_eq!(
        created["url"],
        format!("{}/v1/AuthTokens/Secondary", env.emu.base_url())
    );
    let first = created["secondary_auth_token"].as_str().unwrap().to_owned();
    assert_eq!(first.len(), 32);
    assert_ne!(first, old_primary.expose_secret());
    assert_eq!(
        env.emu.secondary_auth_token().unwrap().expose_secret(),
        first
    );

    // The secondary authenticates like the primary.
    let sid = env.emu.account_sid();
    let mut conn = Conn::open(env.emu.local_addr()).await;
    let with_first = basic(sid.as_str(), &first);
    let resp = conn
        .send(
            Method::GET,
            "/v1/Credentials/AWS",
            Some(&with_first),
            None,
            "",
        )
        .await;
    assert_eq!(resp.status, 200);

    // Creating again replaces it: the first secondary stops working.
    let second = env
        .post("/v1/AuthTokens/Secondary", "SuppressEmailNotification=true")
        .await;
    assert_eq!(second.status, 201);
    let second = second.json()["secondary_auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first);
    conn.send(
        Method::GET,
        "/v1/Credentials/AWS",
        Some(&with_first),
        None,
        "",
    )
    .await
    .assert_error(401, 20003);

    // Delete: 204, empty body, then the secondary is refused.
    let resp = env
        .req(
            Method::DELETE,
            "/v1/AuthTokens/Secondary?SuppressEmailNotification=false",
            "",
        )
        .await;
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert_request_id(&resp);
    let with_second = basic(sid.as_str(), &second);
    conn.send(
        Method::GET,
        "/v1/Credentials/AWS",
        Some(&with_second),
        None,
        "",
    )
    .await
    .assert_error(401, 20003);
    assert!(env.emu.secondary_auth_token().is_none());

    // Promote: 200 with the new primary; the old primary fails from then on.
    let third = env.post("/v1/AuthTokens/Secondary", "").await.json()["secondary_auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = env
        .post("/v1/AuthTokens/Promote", "SuppressEmailNotification=True")
        .await;
    assert_eq!(resp.status, 200);
    let promoted = resp.json();
    assert_eq!(promoted["auth_token"], third.as_str());
    assert_eq!(promoted["account_sid"], sid.as_str());
    assert_timestamp(&promoted["date_created"]);
    assert_timestamp(&promoted["date_updated"]);
    assert_eq!(
        promoted["url"],
        format!("{}/v1/AuthTokens/Promote", env.emu.base_url())
    );
    assert_eq!(env.emu.auth_token().expose_secret(), third);
    assert!(env.emu.secondary_auth_token().is_none());
    conn.send(
        Method::GET,
        "/v1/Credentials/AWS",
        Some(&old_auth),
        None,
        "",
    )
    .await
    .assert_error(401, 20003);
    let resp = conn
        .send(
            Method::GET,
            "/v1/Credentials/AWS",
            Some(&env.auth()),
            None,
            "",
        )
        .await;
    assert_eq!(resp.status, 200);
    // The slot is empty again.
    env.post("/v1/AuthTokens/Promote", "")
        .await
        .assert_error(404, 20404);

    // Notifications: create (1) + delete (2) + create (3); the suppressed ones are not counted.
    assert_eq!(env.emu.email_notifications(), 3);
}

#[tokio::test]
async fn suppress_email_notification_is_validated() {
    let env = Env::start().await;
    let body = env
        .post("/v1/AuthTokens/Secondary", "SuppressEmailNotification=yes")
        .await
        .assert_error(400, 20001);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("SuppressEmailNotification")
    );
    assert!(env.emu.secondary_auth_token().is_none());
    env.post("/v1/AuthTokens/Secondary", "").await;
    env.post("/v1/AuthTokens/Promote", "SuppressEmailNotification=1")
        .await
        .assert_error(400, 20001);
    env.req(
        Method::DELETE,
        "/v1/AuthTokens/Secondary?SuppressEmailNotification=",
        "",
    )
    .await
    .assert_error(400, 20001);
    // Nothing changed.
    assert!(env.emu.secondary_auth_token().is_some());
}

#[tokio::test]
async fn api_keys_and_extra_accounts() {
    let key_sid = ApiKeySid::parse("SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
    let other = AccountSid::parse("ACcccccccccccccccccccccccccccccccc").unwrap();
    let emu = Emulator::builder()
        .api_key(key_sid, ApiKeySecret::new("key-secret").unwrap())
        .extra_account(other, AuthToken::new("other-token").unwrap())
        .start()
        .await
        .unwrap();
    let mut conn = Conn::open(emu.local_addr()).await;

    // The API key acts on the main account.
    let key_auth = basic(key_sid.as_str(), "key-secret");
    let resp = conn
        .send(
            Method::POST,
            "/v1/AuthTokens/Secondary",
            Some(&key_auth),
            None,
            "",
        )
        .await;
    assert_eq!(resp.status, 201);
    assert_eq!(resp.json()["account_sid"], emu.account_sid().as_str());
    assert!(emu.secondary_auth_token().is_some());
    conn.send(
        Method::GET,
        "/v1/Credentials/AWS",
        Some(&basic(key_sid.as_str(), "wrong")),
        None,
        "",
    )
    .await
    .assert_error(401, 20003);

    // The other account has its own state.
    let other_auth = basic(other.as_str(), "other-token");
    let resp = conn
        .send(
            Method::POST,
            "/v1/AuthTokens/Promote",
            Some(&other_auth),
            None,
            "",
        )
        .await;
    resp.assert_error(404, 20404);
    // Another account's token does not open the main account.
    conn.send(
        Method::GET,
        "/v1/Credentials/AWS",
        Some(&basic(emu.account_sid().as_str(), "other-token")),
        None,
        "",
    )
    .await
    .assert_error(401, 20003);

    // Runtime additions.
    let added = emu.add_account().unwrap();
    let key = emu.add_api_key(&added.account_sid()).unwrap();
    let resp = conn
        .send(
            Method::POST,
            "/v1/AuthTokens/Secondary",
            Some(&basic(key.sid().as_str(), key.secret().expose_secret())),
            None,
            "",
        )
        .await;
    assert_eq!(resp.status, 201);
    assert_eq!(resp.json()["account_sid"], added.account_sid().as_str());
    let snap = emu.account_snapshot(&added.account_sid()).unwrap();
    assert!(snap.secondary_auth_token().is_some());
    let unknown = AccountSid::parse("ACdddddddddddddddddddddddddddddddd").unwrap();
    assert!(emu.add_api_key(&unknown).is_err());
    assert!(emu.account_snapshot(&unknown).is_none());
    assert!(
        emu.add_account_with(other, AuthToken::new("x").unwrap())
            .is_err()
    );
    emu.add_account_with(unknown, AuthToken::new("d-token").unwrap())
        .unwrap();
    let resp = conn
        .send(
            Method::GET,
            "/v1/Credentials/AWS",
            Some(&basic(unknown.as_str(), "d-token")),
            None,
            "",
        )
        .await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn duplicate_accounts_are_rejected_at_start() {
    let sid = AccountSid::parse("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
    let err = Emulator::builder()
        .account(sid, AuthToken::new("a").unwrap())
        .extra_account(sid, AuthToken::new("b").unwrap())
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), twilio_emulator::ErrorKind::InvalidConfig);
    let err = Emulator::builder()
        .max_body_bytes(0)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), twilio_emulator::ErrorKind::InvalidConfig);
}

fn assert_credential(v: &Value, env: &Env, collection: &str) -> String {
    let sid = assert_sid(&v["sid"], "CR");
    assert_sid(&v["account_sid"], "AC");
    assert_timestamp(&v["date_created"]);
    assert_timestamp(&v["date_updated"]);
    assert_eq!(
        v["url"],
        format!("{}/v1/Credentials/{collection}/{sid}", env.emu.base_url())
    );
    assert_eq!(v.as_object().unwrap().len(), 6, "{v}");
    sid
}

async fn credential_lifecycle(collection: &str, secret_param: &str, secret: &str) {
    let env = Env::start().await;
    let list_path = format!("/v1/Credentials/{collection}");

    // Create.
    let resp = env
        .post(
            &list_path,
            &form(&[(secret_param, secret), ("FriendlyName", "first")]),
        )
        .await;
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    let created = resp.json();
    let sid = assert_credential(&created, &env, collection);
    assert_eq!(created["friendly_name"], "first");
    assert_eq!(created["account_sid"], env.emu.account_sid().as_str());

    // Create with AccountSid and without FriendlyName.
    let sub = "AC0123456789abcdef0123456789abcdef";
    let resp = env
        .post(
            &list_path,
            &form(&[(secret_param, secret), ("AccountSid", sub)]),
        )
        .await;
    assert_eq!(resp.status, 201);
    let second = resp.json();
    assert_eq!(second["account_sid"], sub);
    assert_eq!(second["friendly_name"], Value::Null);

    // Create errors; none of them stores anything.
    let body = env
        .post(&list_path, &form(&[("FriendlyName", "x")]))
        .await
        .assert_error(400, 20001);
    assert!(
        body["message"].as_str().unwrap().contains(secret_param),
        "{body}"
    );
    let long = "x".repeat(65);
    let body = env
        .post(
            &list_path,
            &form(&[(secret_param, secret), ("FriendlyName", &long)]),
        )
        .await
        .assert_error(400, 20001);
    assert!(body["message"].as_str().unwrap().contains("FriendlyName"));
    let ok64 = "é".repeat(64);
    assert_eq!(
        env.post(
            &list_path,
            &form(&[(secret_param, secret), ("FriendlyName", &ok64)])
        )
        .await
        .status,
        201
    );
    let body = env
        .post(
            &list_path,
            &form(&[(secret_param, secret), ("AccountSid", "AC123")]),
        )
        .await
        .assert_error(400, 20001);
    assert!(body["message"].as_str().unwrap().contains("AccountSid"));
    env.post(&list_path, &form(&[(secret_param, "not valid")]))
        .await
        .assert_error(400, 20001);
    env.post(&list_path, "").await.assert_error(400, 20001);
    assert_eq!(
        if collection == "AWS" {
            env.emu.snapshot().aws_credentials().len()
        } else {
            env.emu.snapshot().public_key_credentials().len()
        },
        3
    );

    // Fetch.
    let item = format!("{list_path}/{sid}");
    let resp = env.get(&item).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), created);
    let body = env
        .get(&format!("{list_path}/{CR_UNKNOWN}"))
        .await
        .assert_error(404, 20404);
    assert_eq!(
        body["message"],
        format!("The requested resource /Credentials/{collection}/{CR_UNKNOWN} was not found")
    );

    // Update.
    let resp = env.post(&item, &form(&[("FriendlyName", "renamed")])).await;
    assert_eq!(resp.status, 200);
    let updated = resp.json();
    assert_eq!(updated["friendly_name"], "renamed");
    assert_eq!(updated["sid"], sid.as_str());
    assert_eq!(updated["date_created"], created["date_created"]);
    assert_eq!(env.get(&item).await.json()["friendly_name"], "renamed");
    env.post(&item, &form(&[("FriendlyName", &long)]))
        .await
        .assert_error(400, 20001);
    assert_eq!(env.get(&item).await.json()["friendly_name"], "renamed");
    let unchanged = env.post(&item, "").await;
    assert_eq!(unchanged.status, 200);
    assert_eq!(unchanged.json()["friendly_name"], "renamed");
    env.post(&format!("{list_path}/{CR_UNKNOWN}"), "FriendlyName=x")
        .await
        .assert_error(404, 20404);

    // The other collection does not see this credential.
    let other = if collection == "AWS" {
        "PublicKeys"
    } else {
        "AWS"
    };
    env.get(&format!("/v1/Credentials/{other}/{sid}"))
        .await
        .assert_error(404, 20404);

    // Delete.
    let resp = env.delete(&item).await;
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    env.get(&item).await.assert_error(404, 20404);
    env.delete(&item).await.assert_error(404, 20404);

    // List shows what is left.
    let list = env.get(&list_path).await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list["credentials"].as_array().unwrap().len(), 2);
    assert_eq!(list["meta"]["key"], "credentials");
    assert_eq!(list["meta"]["page"], 0);
    assert_eq!(list["meta"]["page_size"], 50);
    assert_eq!(list["meta"]["next_page_url"], Value::Null);
    assert_eq!(list["meta"]["previous_page_url"], Value::Null);
    assert_eq!(
        list["meta"]["first_page_url"],
        format!("{}{list_path}?PageSize=50&Page=0", env.emu.base_url())
    );
    assert_eq!(
        list["meta"]["url"],
        format!("{}{list_path}?PageSize=50&Page=0", env.emu.base_url())
    );
    for c in list["credentials"].as_array().unwrap() {
        assert_credential(c, &env, collection);
    }
}

#[tokio::test]
async fn aws_credentials_lifecycle() {
    credential_lifecycle(
        "AWS",
        "Credentials",
        "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    .await;
}

#[tokio::test]
async fn public_key_credentials_lifecycle() {
    credential_lifecycle(
        "PublicKeys",
        "PublicKey",
        "-----BEGIN PUBLIC KEY-----MIIBIjANB.pa9xQIDAQAB-----END PUBLIC KEY-----",
    )
    .await;
}

#[tokio::test]
async fn pagination_follows_next_and_previous_page_urls() {
    let env = Env::start().await;
    let mut created = Vec::new();
    for i in 0..23 {
        let resp = env
            .post(
                "/v1/Credentials/AWS",
                &form(&[("Credentials", "A:B"), ("FriendlyName", &format!("n{i}"))]),
            )
            .await;
        created.push(resp.json()["sid"].as_str().unwrap().to_owned());
    }
    // Delete one in the middle: pages must skip it without gaps or repeats.
    env.delete(&format!("/v1/Credentials/AWS/{}", created.remove(11)))
        .await;

    let base = env.emu.base_url();
    let mut url = format!("{base}/v1/Credentials/AWS?PageSize=5");
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        let path = url
            .strip_prefix(&base)
            .expect("meta URLs point at the emulator");
        let page = env.get(path).await;
        assert_eq!(page.status, 200);
        let page = page.json();
        assert_eq!(page["meta"]["page"], pages.len());
        assert_eq!(page["meta"]["page_size"], 5);
        assert_eq!(page["meta"]["key"], "credentials");
        assert_eq!(
            page["meta"]["first_page_url"],
            format!("{base}/v1/Credentials/AWS?PageSize=5&Page=0")
        );
        for c in page["credentials"].as_array().unwrap() {
            seen.push(c["sid"].as_str().unwrap().to_owned());
        }
        pages.push(page.clone());
        match page["meta"]["next_page_url"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, created);
    assert_eq!(pages.len(), 5); // 22 items in pages of 5
    assert_eq!(pages[0]["meta"]["previous_page_url"], Value::Null);

    // Walk back from the last page with previous_page_url.
    let mut back = Vec::new();
    let mut prev = pages[4]["meta"]["previous_page_url"]
        .as_str()
        .map(str::to_owned);
    while let Some(url) = prev {
        let page = env.get(url.strip_prefix(&base).unwrap()).await.json();
        let sids: Vec<String> = page["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sid"].as_str().unwrap().to_owned())
            .collect();
        back.push(sids);
        prev = page["meta"]["previous_page_url"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(back.len(), 4);
    assert_eq!(back.concat().len(), 20);
    assert_eq!(back.last().unwrap(), &created[..5]);

    // Twilio's dedicated code for a page size over 1000, however large the number.
    for too_large in ["PageSize=1001", "PageSize=99999999999999999999999"] {
        let body = env
            .get(&format!("/v1/Credentials/AWS?{too_large}"))
            .await
            .assert_error(400, 20007);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("Page size too large"),
            "{too_large}: {body}"
        );
    }
    assert_eq!(
        env.get("/v1/Credentials/AWS?PageSize=1000").await.status,
        200
    );

    // Parameter checks.
    for bad in [
        "PageSize=0",
        "PageSize=abc",
        "PageSize=-1",
        "Page=-1",
        "Page=x",
        "PageToken=bogus",
        "PageToken=PA",
    ] {
        let body = env
            .get(&format!("/v1/Credentials/AWS?{bad}"))
            .await
            .assert_error(400, 20001);
        let param = bad.split('=').next().unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(param),
            "{bad}: {body}"
        );
    }
    let huge = env
        .get("/v1/Credentials/AWS?PageSize=1&Page=18446744073709551615")
        .await;
    assert_eq!(huge.status, 200);
    let huge = huge.json();
    assert_eq!(huge["meta"]["page"], u64::MAX);
    assert!(
        huge["meta"]["next_page_url"]
            .as_str()
            .unwrap()
            .contains("Page=18446744073709551615&")
    );
    env.get("/v1/Credentials/AWS?Page=18446744073709551616")
        .await
        .assert_error(400, 20001);
    let max = env
        .get("/v1/Credentials/PublicKeys?PageSize=1000&Page=3")
        .await
        .json();
    assert_eq!(max["meta"]["page_size"], 1000);
    assert_eq!(max["meta"]["page"], 3);
    assert_eq!(max["credentials"], json!([]));
}

#[tokio::test]
async fn safelist() {
    let env = Env::start().await;
    let resp = env
        .post("/v1/SafeList/Numbers", "PhoneNumber=%2B18001234567")
        .await;
    assert_eq!(resp.status, 201);
    let created = resp.json();
    let sid = assert_sid(&created["sid"], "GN");
    assert_eq!(created["phone_number"], "+18001234567");
    assert_eq!(created.as_object().unwrap().len(), 2);
    // Adding again returns the same entry.
    let again = env
        .post("/v1/SafeList/Numbers", "PhoneNumber=%2B18001234567")
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json()["sid"], sid.as_str());
    // A 1k prefix.
    assert_eq!(
        env.post("/v1/SafeList/Numbers", "PhoneNumber=%2B18001234")
            .await
            .status,
        201
    );

    let fetched = env
        .get("/v1/SafeList/Numbers?PhoneNumber=%2B18001234567")
        .await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json(), created);
    env.get("/v1/SafeList/Numbers?PhoneNumber=%2B18009999999")
        .await
        .assert_error(404, 20404);
    let body = env
        .get("/v1/SafeList/Numbers")
        .await
        .assert_error(400, 20001);
    assert!(body["message"].as_str().unwrap().contains("PhoneNumber"));
    for bad in [
        "18001234567",
        "%2B0800",
        "%2B1",
        "%2B1800abc",
        "%2B1234567890123456",
    ] {
        env.get(&format!("/v1/SafeList/Numbers?PhoneNumber={bad}"))
            .await
            .assert_error(400, 20001);
        env.post("/v1/SafeList/Numbers", &format!("PhoneNumber={bad}"))
            .await
            .assert_error(400, 20001);
    }
    env.post("/v1/SafeList/Numbers", "")
        .await
        .assert_error(400, 20001);
    assert_eq!(env.emu.snapshot().safelist(), ["+18001234", "+18001234567"]);

    let resp = env
        .delete("/v1/SafeList/Numbers?PhoneNumber=%2B18001234567")
        .await;
    assert_eq!(resp.status, 204);
    env.delete("/v1/SafeList/Numbers?PhoneNumber=%2B18001234567")
        .await
        .assert_error(404, 20404);
    env.delete("/v1/SafeList/Numbers")
        .await
        .assert_error(400, 20001);
    env.get("/v1/SafeList/Numbers?PhoneNumber=%2B18001234567")
        .await
        .assert_error(404, 20404);
    assert_eq!(env.emu.snapshot().safelist(), ["+18001234"]);
}

fn items(objects: &[Value]) -> String {
    let pairs: Vec<(String, String)> = objects
        .iter()
        .map(|o| ("Items".to_owned(), o.to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(&refs)
}

#[tokio::test]
async fn bulk_consents_validate_each_item() {
    let env = Env::start().await;
    // The spec's own example.
    let body = items(&[
        json!({"contact_id":"+19999999999","correlation_id":"ad388b5a46b33b874b0d41f7226db2ef","sender_id":"MG00000000000000000000000000000001","date_of_consent":"2025-02-28T10:05:27Z","status":"opt-out","source":"website"}),
        json!({"contact_id":"+19","correlation_id":"02520cfa6c432f0e3ec3a38c122d428d","sender_id":"123456","date_of_consent":"2025-03-25","status":"opt-in","source":"opt-in-message"}),
        json!({"contact_id":"+14155550100","correlation_id":"short","sender_id":"nope","status":"maybe","source":"tv"}),
        json!({"contact_id":"+14155550100","correlation_id":"00000000000000000000000000000001","sender_id":"+14155550199","status":"opt-in","source":"others"}),
    ]);
    let resp = env.post("/v1/Consents/Bulk", &body).await;
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.json(),
        json!({"items":[
            {"correlation_id":"ad388b5a46b33b874b0d41f7226db2ef","error_code":0,"error_messages":[]},
            {"correlation_id":"02520cfa6c432f0e3ec3a38c122d428d","error_code":30646,"error_messages":["INVALID_CONTACT_ID","INVALID_DATE_OF_CONSENT"]},
            {"correlation_id":"short","error_code":30646,"error_messages":["INVALID_CORRELATION_ID","INVALID_SENDER_ID","INVALID_STATUS","INVALID_SOURCE"]},
            {"correlation_id":"00000000000000000000000000000001","error_code":0,"error_messages":[]},
        ]})
    );
    let snapshot = env.emu.snapshot();
    assert_eq!(snapshot.consents().len(), 2);
    assert_eq!(snapshot.consents()[1].contact_id, "+19999999999");
    assert_eq!(snapshot.consents()[1].status, "opt-out");
    assert_eq!(
        snapshot.consents()[1].date_of_consent.as_deref(),
        Some("2025-02-28T10:05:27Z")
    );

    // Upsert: the same contact and sender flips to opt-in.
    let body = items(&[
        json!({"contact_id":"+19999999999","correlation_id":"ad388b5a46b33b874b0d41f7226db2ef","sender_id":"MG00000000000000000000000000000001","status":"opt-in","source":"offline"}),
    ]);
    assert_eq!(env.post("/v1/Consents/Bulk", &body).await.status, 201);
    let snapshot = env.emu.snapshot();
    assert_eq!(snapshot.consents().len(), 2);
    assert_eq!(snapshot.consents()[1].status, "opt-in");

    // Whole-request errors.
    env.post("/v1/Consents/Bulk", "")
        .await
        .assert_error(400, 20001);
    env.post("/v1/Consents/Bulk", "Other=1")
        .await
        .assert_error(400, 20001);
    let body = env
        .post("/v1/Consents/Bulk", "Items=not-json")
        .await
        .assert_error(400, 20001);
    assert!(body["message"].as_str().unwrap().contains("Items"));
    env.post("/v1/Consents/Bulk", &form(&[("Items", "[1,2]")]))
        .await
        .assert_error(400, 20001);
    let many: Vec<Value> = (0..26).map(|i| json!({"contact_id":"+14155550100","correlation_id":format!("{i:032}"),"sender_id":"+14155550199","status":"opt-in","source":"others"})).collect();
    env.post("/v1/Consents/Bulk", &items(&many))
        .await
        .assert_error(400, 20001);
    assert_eq!(
        env.post("/v1/Consents/Bulk", &items(&many[..25]))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn bulk_contacts_validate_each_item() {
    let env = Env::start().await;
    let body = items(&[
        json!({"contact_id":"+19999999999","correlation_id":"ad388b5a46b33b874b0d41f7226db2eh","country_iso_code":"US","zip_code":"12345"}),
        json!({"contact_id":"+19","correlation_id":"02520cfa6c432f0e3ec3a38c122d428a","country_iso_code":"US","zip_code":"12345"}),
        json!({"contact_id":"+442071234567","correlation_id":7,"country_iso_code":"GBR","zip_code":["x"]}),
    ]);
    let resp = env.post("/v1/Contacts/Bulk", &body).await;
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.json(),
        json!({"items":[
            {"correlation_id":"ad388b5a46b33b874b0d41f7226db2eh","error_code":0,"error_messages":[]},
            {"correlation_id":"02520cfa6c432f0e3ec3a38c122d428a","error_code":30647,"error_messages":["INVALID_CONTACT_ID"]},
            {"correlation_id":null,"error_code":30647,"error_messages":["INVALID_CORRELATION_ID","INVALID_COUNTRY_ISO_CODE","INVALID_ZIP_CODE"]},
        ]})
    );
    let contacts = env.emu.snapshot().contacts().to_vec();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].contact_id, "+19999999999");
    assert_eq!(contacts[0].country_iso_code.as_deref(), Some("US"));
    env.post("/v1/Contacts/Bulk", "")
        .await
        .assert_error(400, 20001);
    env.post("/v1/Contacts/Bulk", "Items=%7B")
        .await
        .assert_error(400, 20001);
}

#[tokio::test]
async fn geo_permissions() {
    let env = Env::start().await;
    let all = env.get("/v1/Messaging/GeoPermissions").await;
    assert_eq!(all.status, 200);
    let all = all.json();
    assert!(all["permissions"].as_array().unwrap().len() > 40);

    let resp = env
        .get("/v1/Messaging/GeoPermissions?CountryCode=IN,PK,US")
        .await
        .json();
    assert_eq!(
        resp,
        json!({"permissions":[
            {"country_code":"IN","type":"country","enabled":false,"prefix":"+91","message":""},
            {"country_code":"PK","type":"country","enabled":true,"prefix":"+92","message":"High Risk Country"},
            {"country_code":"US","type":"country","enabled":true,"prefix":"+1","message":""},
        ]})
    );
    let body = env
        .get("/v1/Messaging/GeoPermissions?CountryCode=IN,XX")
        .await
        .assert_error(400, 20001);
    assert!(body["message"].as_str().unwrap().contains("CountryCode"));
    env.get("/v1/Messaging/GeoPermissions?CountryCode=")
        .await
        .assert_error(400, 20001);

    // PATCH, the spec's example: IN changes, PK (high risk) cannot.
    let patch = form(&[
        (
            "Permissions",
            r#"{"country_code": "IN","type": "country", "enabled": true}"#,
        ),
        (
            "Permissions",
            r#"{"country_code": "PK","type": "country", "enabled": false}"#,
        ),
    ]);
    let resp = env
        .req(Method::PATCH, "/v1/Messaging/GeoPermissions", &patch)
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({"permissions":[
            {"country_code":"IN","type":"country","enabled":true,"error_code":0,"error_messages":[]},
            {"country_code":"PK","type":"country","enabled":true,"error_code":30649,"error_messages":["High risk country permission cannot be updated"]},
        ]})
    );
    let after = env
        .get("/v1/Messaging/GeoPermissions?CountryCode=in,pk")
        .await
        .json();
    assert_eq!(after["permissions"][0]["enabled"], true);
    assert_eq!(after["permissions"][1]["enabled"], true);
    assert!(
        env.emu
            .snapshot()
            .enabled_countries()
            .contains(&"IN".to_owned())
    );

    // Whole-request errors change nothing.
    for bad in [
        "".to_owned(),
        form(&[("Permissions", "nope")]),
        form(&[(
            "Permissions",
            r#"{"country_code":"XX","type":"country","enabled":true}"#,
        )]),
        form(&[(
            "Permissions",
            r#"{"country_code":"US","type":"region","enabled":false}"#,
        )]),
        form(&[(
            "Permissions",
            r#"{"country_code":"US","type":"country","enabled":"no"}"#,
        )]),
        form(&[
            (
                "Permissions",
                r#"{"country_code":"US","type":"country","enabled":false}"#,
            ),
            ("Permissions", r#"{"country_code":"US","type":"country"}"#),
        ]),
    ] {
        env.req(Method::PATCH, "/v1/Messaging/GeoPermissions", &bad)
            .await
            .assert_error(400, 20001);
    }
    let us = env
        .get("/v1/Messaging/GeoPermissions?CountryCode=US")
        .await
        .json();
    assert_eq!(us["permissions"][0]["enabled"], true);
}

#[tokio::test]
async fn routing_errors() {
    let env = Env::start().await;
    let body = env.get("/v1/Nope").await.assert_error(404, 20404);
    assert_eq!(
        body["message"],
        "The requested resource /Nope was not found"
    );
    env.get("/v2/Credentials/AWS")
        .await
        .assert_error(404, 20404);
    env.get("/v1/Credentials").await.assert_error(404, 20404);
    env.get("/v1/Credentials/AWS/")
        .await
        .assert_error(404, 20404);
    env.get("/v1/Credentials/AWS/CRshort")
        .await
        .assert_error(404, 20404);
    env.get("/v1/Credentials/AWS/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await
        .assert_error(404, 20404);
    env.get("/v1/Credentials/PublicKeys/CRzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
        .await
        .assert_error(404, 20404);

    let resp = env.get("/v1/AuthTokens/Promote").await;
    resp.assert_error(405, 20004);
    assert_eq!(resp.header("allow"), Some("POST"));
    let resp = env.req(Method::PUT, "/v1/AuthTokens/Secondary", "").await;
    resp.assert_error(405, 20004);
    assert_eq!(resp.header("allow"), Some("POST, DELETE"));
    env.req(Method::PATCH, "/v1/Credentials/AWS", "")
        .await
        .assert_error(405, 20004);
    env.req(Method::DELETE, "/v1/Messaging/GeoPermissions", "")
        .await
        .assert_error(405, 20004);
    env.req(Method::GET, "/v1/Consents/Bulk", "")
        .await
        .assert_error(405, 20004);

    // Unauthenticated requests get 401 before any routing.
    let mut conn = Conn::open(env.emu.local_addr()).await;
    let resp = conn.send(Method::GET, "/v1/Nope", None, None, "").await;
    resp.assert_error(401, 20003);
    assert_eq!(
        resp.header("www-authenticate"),
        Some("Basic realm=\"Twilio API\"")
    );
}

/// A browser's CORS preflight carries no credentials; it gets the CORS headers the 2xx
/// responses promise, and the path's methods in `Allow`.
#[tokio::test]
async fn cors_preflight_answers_without_credentials() {
    let env = Env::start().await;
    let mut conn = Conn::open(env.emu.local_addr()).await;
    for (path, allow) in [
        ("/v1/SafeList/Numbers", "GET, POST, DELETE"),
        ("/v1/AuthTokens/Promote", "POST"),
        ("/v1/Messaging/GeoPermissions", "GET, PATCH"),
        (
            "/v1/Credentials/AWS/CR00000000000000000000000000000000",
            "GET, POST, DELETE",
        ),
    ] {
        let resp = conn.send(Method::OPTIONS, path, None, None, "").await;
        assert_eq!(resp.status, 204, "{path}");
        assert!(resp.body.is_empty(), "{path}");
        resp.assert_cors();
        assert_eq!(resp.header("allow"), Some(allow), "{path}");
        assert_request_id(&resp);
    }
    // An unknown path is still a 404, credentials or not.
    conn.send(Method::OPTIONS, "/v1/Nope", None, None, "")
        .await
        .assert_error(404, 20404);
    // A preflight changes nothing and needs no account.
    assert!(env.emu.snapshot().safelist().is_empty());
}

#[tokio::test]
async fn content_type_and_body_checks() {
    let env = Env::start().await;
    let auth = env.auth();
    let mut conn = Conn::open(env.emu.local_addr()).await;
    let phone = &b"PhoneNumber=%2B18001234567"[..];
    // (method, path, content type, body, expected status, expected Twilio code or 0)
    type Case<'a> = (Method, &'a str, Option<&'a str>, &'a [u8], u16, u64);
    let cases: [Case<'_>; 8] = [
        (
            Method::POST,
            "/v1/SafeList/Numbers",
            Some("application/json"),
            br#"{"PhoneNumber":"+18001234567"}"#,
            415,
            20001,
        ),
        (
            Method::POST,
            "/v1/SafeList/Numbers",
            None,
            phone,
            415,
            20001,
        ),
        (
            Method::POST,
            "/v1/SafeList/Numbers",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            phone,
            201,
            0,
        ),
        // An empty body needs no content type.
        (
            Method::POST,
            "/v1/AuthTokens/Secondary",
            Some("text/plain"),
            b"",
            201,
            0,
        ),
        // Malformed forms and queries.
        (
            Method::POST,
            "/v1/SafeList/Numbers",
            Some(FORM),
            b"PhoneNumber=%zz",
            400,
            20001,
        ),
        (
            Method::POST,
            "/v1/SafeList/Numbers",
            Some(FORM),
            b"PhoneNumber=%FF%FE",
            400,
            20001,
        ),
        (
            Method::POST,
            "/v1/SafeList/Numbers",
            Some(FORM),
            b"PhoneNumber=\xff",
            400,
            20001,
        ),
        (
            Method::GET,
            "/v1/SafeList/Numbers?PhoneNumber=%E0%80",
            None,
            b"",
            400,
            20001,
        ),
    ];
    for (method, path, content_type, body, status, code) in cases {
        let resp = conn
            .send(method, path, Some(&auth), content_type, body.to_vec())
            .await;
        if code == 0 {
            assert_eq!(resp.status, status, "{path}: {:?}", resp.body);
        } else {
            resp.assert_error(status, code);
        }
    }
    // Over the limit.
    let big = vec![b'a'; twilio_emulator::DEFAULT_MAX_BODY_BYTES + 1];
    let resp = Conn::open(env.emu.local_addr())
        .await
        .send(
            Method::POST,
            "/v1/SafeList/Numbers",
            Some(&auth),
            Some(FORM),
            big,
        )
        .await;
    resp.assert_error(413, 20001);
    // Still serving.
    assert_eq!(
        env.get("/v1/SafeList/Numbers?PhoneNumber=%2B18001234567")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let emu = Emulator::start().await.unwrap();
    let addr = emu.local_addr();
    // An idle keep-alive connection does not hold shutdown up.
    let mut conn = Conn::open(addr).await;
    let auth = emu.basic_auth_header();
    assert_eq!(
        conn.send(Method::GET, "/v1/Credentials/AWS", Some(&auth), None, "")
            .await
            .status,
        200
    );
    emu.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let emu = Emulator::start().await.unwrap();
    let addr = emu.local_addr();
    drop(emu);
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener should close after drop");
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let emu = Emulator::builder()
        .latency(std::time::Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr();
    let auth = emu.basic_auth_header();
    let in_flight = tokio::spawn(async move {
        Conn::open(addr)
            .await
            .send(
                Method::POST,
                "/v1/AuthTokens/Secondary",
                Some(&auth),
                None,
                "",
            )
            .await
    });
    // Wait until the request is inside the emulator (sleeping out its latency).
    while emu.request_count() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        emu.secondary_auth_token().is_none(),
        "the request is still in flight"
    );
    emu.shutdown().await;
    let resp = in_flight.await.unwrap();
    assert_eq!(
        resp.status, 201,
        "answered although shutdown began meanwhile"
    );
    assert!(resp.json()["secondary_auth_token"].is_string());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let key_sid = ApiKeySid::parse("SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
    let builder = Emulator::builder()
        .account(
            AccountSid::parse("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap(),
            AuthToken::new("primary-secret-value").unwrap(),
        )
        .api_key(key_sid, ApiKeySecret::new("key-secret-value").unwrap());
    let builder_debug = format!("{builder:?}");
    let emu = builder.start().await.unwrap();
    let env = Env { emu };
    env.post("/v1/AuthTokens/Secondary", "").await;
    let secondary = env.emu.secondary_auth_token().unwrap();
    let key = env.emu.add_api_key(&env.emu.account_sid()).unwrap();
    let outputs = [
        builder_debug,
        format!("{:?}", env.emu),
        format!("{:?}", env.emu.snapshot()),
        format!("{key:?}"),
        format!("{:?}", env.emu.faults()),
    ];
    for output in &outputs {
        for secret in [
            "primary-secret-value",
            "key-secret-value",
            secondary.expose_secret(),
            key.secret().expose_secret(),
        ] {
            assert!(!output.contains(secret), "{output}");
        }
    }
    assert!(outputs[0].contains("SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
}
