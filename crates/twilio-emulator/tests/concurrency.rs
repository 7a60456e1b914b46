//! Many tasks mixing reads, credential CRUD and token create/delete/promote against one
//! emulator: no 5xx, no torn state, and the final state matches the successful responses.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};

use common::{Conn, basic, form};
use hyper::Method;
use twilio_emulator::Emulator;

#[derive(Debug, Default)]
struct Log {
    created_tokens: Vec<String>,
    promoted_tokens: Vec<String>,
    created_credentials: Vec<String>,
    deleted_credentials: Vec<String>,
    deleted_secondaries: usize,
    statuses: HashMap<u16, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_concurrent_requests_keep_state_consistent() {
    let emu = Emulator::builder().start().await.unwrap();
    let sid = emu.account_sid();
    let original = emu.auth_token().expose_secret().to_owned();
    // Requests authenticate with an API key, which rotation does not touch.
    let key = emu.add_api_key(&sid).unwrap();
    let key_auth = basic(key.sid().as_str(), key.secret().expose_secret());
    let addr = emu.local_addr();

    let mut tasks = Vec::new();
    for task in 0..16u32 {
        let key_auth = key_auth.clone();
        let original_auth = basic(sid.as_str(), &original);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut log = Log::default();
            let mut mine = Vec::new();
            for step in 0..40u32 {
                let choice = (task * 7 + step * 13) % 10;
                let (method, path, body, auth) = match choice {
                    0 | 1 => (
                        Method::GET,
                        "/v1/Credentials/AWS?PageSize=5".to_owned(),
                        String::new(),
                        &key_auth,
                    ),
                    2 => (
                        Method::POST,
                        "/v1/Credentials/AWS".to_owned(),
                        form(&[
                            ("Credentials", "A:B"),
                            ("FriendlyName", &format!("t{task}s{step}")),
                        ]),
                        &key_auth,
                    ),
                    3 => match mine.pop() {
                        Some(cr) => (
                            Method::DELETE,
                            format!("/v1/Credentials/AWS/{cr}"),
                            String::new(),
                            &key_auth,
                        ),
                        None => (
                            Method::GET,
                            "/v1/Credentials/AWS".to_owned(),
                            String::new(),
                            &key_auth,
                        ),
                    },
                    4 | 5 => (
                        Method::POST,
                        "/v1/AuthTokens/Secondary".to_owned(),
                        String::new(),
                        &key_auth,
                    ),
                    6 => (
                        Method::DELETE,
                        "/v1/AuthTokens/Secondary".to_owned(),
                        String::new(),
                        &key_auth,
                    ),
                    7 | 8 => (
                        Method::POST,
                        "/v1/AuthTokens/Promote".to_owned(),
                        String::new(),
                        &key_auth,
                    ),
                    // The original primary: works until the first promotion, 401 after.
                    _ => (
                        Method::GET,
                        "/v1/Messaging/GeoPermissions?CountryCode=US".to_owned(),
                        String::new(),
                        &original_auth,
                    ),
                };
                let ct = (!body.is_empty()).then_some(common::FORM);
                let resp = conn.send(method.clone(), &path, Some(auth), ct, body).await;
                *log.statuses.entry(resp.status).or_default() += 1;
                assert!(resp.status < 500, "{method} {path}: {}", resp.status);
                match (choice, resp.status) {
                    (2, 201) => {
                        let cr = resp.json()["sid"].as_str().unwrap().to_owned();
                        log.created_credentials.push(cr.clone());
                        mine.push(cr);
                    }
                    (3, 204) => log
                        .deleted_credentials
                        .push(path.rsplit('/').next().unwrap().to_owned()),
                    (4 | 5, 201) => log.created_tokens.push(
                        resp.json()["secondary_auth_token"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    ),
                    (7 | 8, 200) => log
                        .promoted_tokens
                        .push(resp.json()["auth_token"].as_str().unwrap().to_owned()),
                    (6, 204) => log.deleted_secondaries += 1,
                    (0 | 1 | 3, 200) | (6, 404) | (7 | 8, 404) => {}
                    (9, 200 | 401) => {}
                    other => panic!("unexpected {other:?} for {method} {path}: {:?}", resp.body),
                }
            }
            log
        }));
    }
    let mut all = Log::default();
    for task in tasks {
        let log = task.await.unwrap();
        all.created_tokens.extend(log.created_tokens);
        all.promoted_tokens.extend(log.promoted_tokens);
        all.created_credentials.extend(log.created_credentials);
        all.deleted_credentials.extend(log.deleted_credentials);
        all.deleted_secondaries += log.deleted_secondaries;
        for (status, n) in log.statuses {
            *all.statuses.entry(status).or_default() += n;
        }
    }
    assert!(all.statuses.keys().all(|&s| s < 500), "{:?}", all.statuses);
    assert!(
        !all.promoted_tokens.is_empty(),
        "the mix should promote at least once"
    );

    // Every token is fresh; every promoted token was created once and promoted once.
    let created: HashSet<_> = all.created_tokens.iter().collect();
    assert_eq!(created.len(), all.created_tokens.len());
    assert!(!created.contains(&original));
    let promoted: HashSet<_> = all.promoted_tokens.iter().collect();
    assert_eq!(promoted.len(), all.promoted_tokens.len());
    assert!(promoted.is_subset(&created));

    // Clear the secondary slot, then exactly one of all tokens ever seen authenticates,
    // and it is the emulator's current primary, one of the promoted tokens.
    let mut conn = Conn::open(addr).await;
    let resp = conn
        .send(
            Method::DELETE,
            "/v1/AuthTokens/Secondary",
            Some(&key_auth),
            None,
            "",
        )
        .await;
    assert!(resp.status == 204 || resp.status == 404);
    let final_delete = usize::from(resp.status == 204);

    // Every token change that answered success happened exactly once (none suppressed the
    // e-mail), and nothing else changed a token.
    let changes = all.created_tokens.len()
        + all.deleted_secondaries
        + all.promoted_tokens.len()
        + final_delete;
    assert_eq!(emu.email_notifications(), changes as u64);
    assert!(emu.secondary_auth_token().is_none());
    let primary = emu.auth_token().expose_secret().to_owned();
    assert!(promoted.contains(&primary));
    let mut working = Vec::new();
    for token in std::iter::once(&original).chain(all.created_tokens.iter()) {
        let resp = conn
            .send(
                Method::GET,
                "/v1/Credentials/AWS?PageSize=1",
                Some(&basic(sid.as_str(), token)),
                None,
                "",
            )
            .await;
        match resp.status {
            200 => working.push(token.clone()),
            401 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(working, [primary]);

    // Credentials: exactly the created minus the deleted, read back through pagination.
    let expected: BTreeSet<_> = all
        .created_credentials
        .iter()
        .filter(|c| !all.deleted_credentials.contains(c))
        .cloned()
        .collect();
    let mut listed = BTreeSet::new();
    let base = emu.base_url();
    let mut path = "/v1/Credentials/AWS?PageSize=7".to_owned();
    loop {
        let page = conn
            .send(Method::GET, &path, Some(&key_auth), None, "")
            .await
            .json();
        for c in page["credentials"].as_array().unwrap() {
            assert!(
                listed.insert(c["sid"].as_str().unwrap().to_owned()),
                "listed twice"
            );
        }
        match page["meta"]["next_page_url"].as_str() {
            Some(next) => path = next.strip_prefix(&base).unwrap().to_owned(),
            None => break,
        }
    }
    assert_eq!(listed, expected);
    let snapshot: BTreeSet<_> = emu.snapshot().aws_credentials().iter().cloned().collect();
    assert_eq!(snapshot, expected);
    emu.shutdown().await;
}
