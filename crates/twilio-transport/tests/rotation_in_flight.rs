//! Requests in flight across a credentials switch: a request signed with credentials replaced
//! since, and refused with 401, is re-sent once with the current ones, so that 200 tasks
//! calling through a token switch see no failure; the switch can wait for the old requests.
//! A real server on 127.0.0.1 that checks the `Authorization` header when it answers.

#![cfg(feature = "default-client")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use support::{Action, FaultServer, Responder, response};
use twilio_transport::{Credentials, HttpClient, RetryConfig, SharedCredentials};
use twilio_types::{AccountSid, AuthToken};

const OLD: &str = "old-token-aaaaaaaaaaaaaaaaaaaaaaaa";
const NEW: &str = "new-token-bbbbbbbbbbbbbbbbbbbbbbbb";

fn credentials(token: &str) -> Credentials {
    let account = AccountSid::parse(support::ACCOUNT).unwrap();
    Credentials::from_auth_token(account, AuthToken::new(token).unwrap()).unwrap()
}

fn basic(token: &str) -> String {
    let pair = format!("{}:{token}", support::ACCOUNT);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn ok() -> Vec<u8> {
    response("200 OK", &[("content-type", "application/json")], b"{}")
}

fn unauthorized() -> Vec<u8> {
    response(
        "401 Unauthorized",
        &[("content-type", "application/json")],
        br#"{"code":20003,"message":"Authenticate","status":401}"#,
    )
}

/// A server for one account whose old token stops working when `revoked` is set. It decides
/// when it answers: `delay` after reading the request or, with a gate, after [`open`]
/// (Self::open) and then `delay`. It counts the 401s it sends.
struct Account {
    server: FaultServer,
    revoked: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    gate: tokio::sync::watch::Sender<bool>,
}

impl Account {
    /// Answers each request `delay` after reading it.
    async fn start(delay: Duration) -> Self {
        Self::start_gated(delay, false).await
    }

    /// With `gated`, holds every answer until [`open`](Self::open), whatever the machine's
    /// load, so that requests are surely in flight at a switch.
    async fn start_gated(delay: Duration, gated: bool) -> Self {
        let (gate, gate_rx) = tokio::sync::watch::channel(!gated);
        let revoked = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let (old, new) = (basic(OLD), basic(NEW));
        let server = FaultServer::start_with({
            let (revoked, refused) = (revoked.clone(), refused.clone());
            move |_, request| {
                let header = request.header("authorization").unwrap_or("").to_owned();
                let (revoked, refused, old, new) =
                    (revoked.clone(), refused.clone(), old.clone(), new.clone());
                Action::Deferred {
                    gate: Some(gate_rx.clone()),
                    delay,
                    respond: Responder(Arc::new(move || {
                        let works =
                            header == new || (header == old && !revoked.load(Ordering::SeqCst));
                        if works {
                            ok()
                        } else {
                            refused.fetch_add(1, Ordering::SeqCst);
                            unauthorized()
                        }
                    })),
                }
            }
        })
        .await;
        Self {
            server,
            revoked,
            refused,
            gate,
        }
    }

    fn open(&self) {
        self.gate.send_replace(true);
    }

    fn client(&self, shared: &SharedCredentials) -> HttpClient {
        HttpClient::builder()
            .credentials(shared.clone())
            .base_url(&self.server.url())
            // Retries disabled: the re-send is not a retry, it happens all the same.
            .retry(RetryConfig::disabled())
            .build()
            .unwrap()
    }
}

async fn status(client: &HttpClient, method: http::Method) -> u16 {
    let request = Request::builder()
        .method(method)
        .uri("/v1/Credentials/AWS")
        .body(Bytes::from_static(b"FriendlyName=x"))
        .unwrap();
    client.send(request).await.unwrap().status().as_u16()
}

/// 200 requests, all signed with the old token and all still unanswered when the token is
/// switched and the old one revoked: every one is refused, re-sent once with the new token,
/// and succeeds. POST included: a 401 means nothing was done.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_refused_after_a_switch_are_resent_once_with_the_new_token() {
    let account = Account::start_gated(Duration::ZERO, true).await;
    let shared = SharedCredentials::new(credentials(OLD));
    let client = account.client(&shared);

    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            let method = if i % 2 == 0 {
                http::Method::GET
            } else {
                http::Method::POST
            };
            tokio::spawn(async move { status(&client, method).await })
        })
        .collect();
    while account.server.request_count() < 200 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(shared.replaced_in_flight(), 0);
    shared.replace(credentials(NEW));
    account.revoked.store(true, Ordering::SeqCst);
    assert_eq!(shared.generation(), 1);
    assert_eq!(shared.replaced_in_flight(), 200);
    assert!(!shared.wait_for_replaced(Duration::from_millis(10)).await);
    account.open();

    // The switch can wait for them: they end (refused, then re-sent with the new token).
    assert!(shared.wait_for_replaced(Duration::from_secs(30)).await);
    assert_eq!(shared.replaced_in_flight(), 0);
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(account.refused.load(Ordering::SeqCst), 200);
    let requests = account.server.requests();
    assert_eq!(requests.len(), 400, "each request sent twice, no more");
    let new = basic(NEW);
    let resent = requests
        .iter()
        .filter(|r| r.header("authorization") == Some(new.as_str()))
        .count();
    assert_eq!(resent, 200);
    // The re-sent POSTs carry their body.
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "POST")
            .all(|r| r.body == b"FriendlyName=x")
    );
}

/// A 401 to the credentials still current is the caller's answer: never re-sent.
#[tokio::test]
async fn a_401_to_current_credentials_is_not_resent() {
    let account = Account::start(Duration::from_millis(1)).await;
    account.revoked.store(true, Ordering::SeqCst);
    let shared = SharedCredentials::new(credentials(OLD));
    let client = account.client(&shared);
    assert_eq!(status(&client, http::Method::GET).await, 401);
    assert_eq!(account.server.request_count(), 1);

    // Nor is a 401 to a request signed before a `replace` with the same credentials, which
    // changes nothing.
    let pending = tokio::spawn({
        let client = client.clone();
        async move { status(&client, http::Method::GET).await }
    });
    while account.server.request_count() < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    shared.replace(credentials(OLD));
    assert_eq!(shared.generation(), 0);
    assert_eq!(pending.await.unwrap(), 401);
    assert_eq!(account.server.request_count(), 2);
}

/// The re-send happens once: if the new credentials are refused too, that 401 is returned.
#[tokio::test]
async fn the_resend_happens_at_most_once() {
    let account = Account::start_gated(Duration::ZERO, true).await;
    let shared = SharedCredentials::new(credentials(OLD));
    let client = account.client(&shared);
    let pending = tokio::spawn({
        let client = client.clone();
        async move { status(&client, http::Method::GET).await }
    });
    while account.server.request_count() < 1 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Switched to credentials the server does not know, and the old ones revoked.
    shared.replace(credentials("unknown-token-cccccccccccccccccccc"));
    account.revoked.store(true, Ordering::SeqCst);
    account.open();
    assert_eq!(pending.await.unwrap(), 401);
    assert_eq!(account.server.request_count(), 2);
}

/// `wait_for_replaced` is bounded: `false` while old requests are still on the wire.
#[tokio::test]
async fn waiting_for_replaced_requests_is_bounded() {
    let account = Account::start_gated(Duration::ZERO, true).await;
    let shared = SharedCredentials::new(credentials(OLD));
    let client = account.client(&shared);
    let pending = tokio::spawn({
        let client = client.clone();
        async move { status(&client, http::Method::GET).await }
    });
    while account.server.request_count() < 1 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Nothing replaced yet: nothing to wait for.
    assert!(shared.wait_for_replaced(Duration::ZERO).await);
    shared.replace(credentials(NEW));
    assert!(!shared.wait_for_replaced(Duration::from_millis(20)).await);
    assert_eq!(shared.replaced_in_flight(), 1);
    account.open();
    assert!(shared.wait_for_replaced(Duration::from_secs(30)).await);
    assert_eq!(pending.await.unwrap(), 200);
}

/// The concurrent switch: 200 tasks call continuously while the token is switched and the
/// old one revoked at the same moment, as a promotion does; not one call fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_tasks_through_a_switch_see_no_401() {
    let account = Account::start(Duration::from_millis(5)).await;
    let shared = SharedCredentials::new(credentials(OLD));
    let client = account.client(&shared);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (client, stop) = (client.clone(), stop.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    statuses.push(status(&client, http::Method::GET).await);
                }
                statuses
            })
        })
        .collect();
    while account.server.request_count() < 1_000 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    shared.replace(credentials(NEW));
    account.revoked.store(true, Ordering::SeqCst);
    // The switch happened with requests on the wire (else this test would prove nothing).
    let caught = shared.replaced_in_flight();
    assert!(caught > 0, "no request was in flight at the switch");
    let before = account.server.request_count();
    while account.server.request_count() < before + 1_000 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::SeqCst);

    let mut calls = 0;
    for task in tasks {
        let statuses = task.await.unwrap();
        calls += statuses.len();
        assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    }
    assert!(calls >= 1_000, "{calls}");
    // The server did refuse old-token requests; the retry layer re-sent them.
    assert!(account.refused.load(Ordering::SeqCst) > 0);
    assert!(shared.wait_for_replaced(Duration::ZERO).await);
}
