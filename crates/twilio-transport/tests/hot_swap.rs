//! Swapping credentials while many requests are in flight: the server checks that every
//! request carried exactly the old pair or exactly the new one.

#![cfg(feature = "default-client")]

mod support;

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use support::{Action, FaultServer, response};
use twilio_transport::{Credentials, HttpClient, SharedCredentials};
use twilio_types::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_request_carries_a_consistent_old_or_new_pair() {
    let account = AccountSid::parse(support::ACCOUNT).unwrap();
    let old = Credentials::from_auth_token(account, AuthToken::new("old-token").unwrap()).unwrap();
    let new = Credentials::from_api_key(
        account,
        ApiKeySid::parse(support::API_KEY).unwrap(),
        ApiKeySecret::new("new-secret").unwrap(),
    )
    .unwrap();
    let b64 = |s: String| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    let old_header = b64(format!("{}:old-token", support::ACCOUNT));
    let new_header = b64(format!("{}:new-secret", support::API_KEY));

    // A little latency so that requests overlap the swap.
    let server = FaultServer::start(vec![Action::Trickle {
        head: b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n".to_vec(),
        body: b"{}".to_vec(),
        every: Duration::from_millis(1),
    }])
    .await;
    let shared = SharedCredentials::new(old);
    let client = HttpClient::builder()
        .credentials(shared.clone())
        .base_url(&server.url())
        .build()
        .unwrap();

    let send = |client: HttpClient, uri: &'static str| async move {
        client
            .send(Request::get(uri).body(Bytes::new()).unwrap())
            .await
            .unwrap()
            .status()
    };
    let mut tasks = Vec::new();
    for _ in 0..150 {
        tasks.push(tokio::spawn(send(
            client.clone(),
            "/v1/Credentials?phase=before",
        )));
    }
    // Swap while the first batch is in flight.
    while server.request_count() < 20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    shared.replace(new);
    let after_swap = tokio::spawn({
        let client = client.clone();
        async move {
            let mut statuses = Vec::new();
            for _ in 0..50 {
                statuses.push(send(client.clone(), "/v1/Credentials?phase=after").await);
            }
            statuses
        }
    });
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert!(after_swap.await.unwrap().iter().all(|s| *s == 200));

    let requests = server.requests();
    assert_eq!(requests.len(), 200);
    let (mut olds, mut news) = (0, 0);
    for r in &requests {
        let values: Vec<_> = r
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .collect();
        assert_eq!(values.len(), 1, "exactly one Authorization header");
        match values[0].1.as_str() {
            v if v == old_header => olds += 1,
            v if v == new_header => news += 1,
            other => panic!("inconsistent credentials: {other}"),
        }
    }
    assert!(olds >= 20, "old pair used before the swap ({olds})");
    assert!(news >= 50, "new pair used after the swap ({news})");
    // Requests started after the swap all carry the new pair.
    let after: Vec<_> = requests
        .iter()
        .filter(|r| r.target.ends_with("phase=after"))
        .collect();
    assert_eq!(after.len(), 50);
    assert!(
        after
            .iter()
            .all(|r| r.header("authorization") == Some(new_header.as_str()))
    );
}

#[tokio::test]
async fn with_credentials_shares_the_pool_but_not_the_handle() {
    let server = FaultServer::start(vec![Action::Respond(response("200 OK", &[], b"{}"))]).await;
    let account = AccountSid::parse(support::ACCOUNT).unwrap();
    let a = Credentials::from_auth_token(account, AuthToken::new("a-token").unwrap()).unwrap();
    let b = Credentials::from_auth_token(account, AuthToken::new("b-token").unwrap()).unwrap();
    let client = HttpClient::builder()
        .credentials(a)
        .base_url(&server.url())
        .build()
        .unwrap();
    let other = client.with_credentials(b);
    for c in [&client, &other, &client] {
        c.send(Request::get("/v1/x").body(Bytes::new()).unwrap())
            .await
            .unwrap();
    }
    let auths: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(auths[0], auths[2]);
    assert_ne!(auths[0], auths[1]);
    assert_eq!(server.connections(), 1, "one pool for both clients");
    assert_eq!(other.base_url(), client.base_url());
}
