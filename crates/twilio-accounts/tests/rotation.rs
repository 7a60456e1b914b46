//! The auth-token rotation workflow against the in-process emulator: the full rotation and
//! every failure path, with the account's state checked in the emulator afterwards.
//!
//! Tests that wait (propagation, back-off) run with Tokio's clock paused: the waits take no
//! real time and the outcome does not depend on the machine's speed.

// Through the built-in HTTPS client (its connector wraps the emulator connections).
#![cfg(feature = "default-client")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use twilio_accounts::rotation::{
    AccountState, ClientToken, RotationStep, StepOutcome, TokenFingerprint, VerifyBackoff,
};
use twilio_accounts::{Client, Error};
use twilio_emulator::{Emulator, Fault};
use twilio_transport::{Credentials, DefaultTransport, RetryConfig, TransportError};
use twilio_types::AuthToken;

const PROMOTE: &str = "/v1/AuthTokens/Promote";
const CHECK: &str = "/v1/Credentials/AWS";

async fn emulator() -> Emulator {
    Emulator::builder()
        .start()
        .await
        .expect("the emulator starts")
}

fn credentials(emulator: &Emulator, token: AuthToken) -> Credentials {
    Credentials::from_auth_token(emulator.account_sid(), token).unwrap()
}

fn client_with(emulator: &Emulator, token: AuthToken) -> Client {
    Client::builder()
        .credentials(credentials(emulator, token))
        .base_url(&emulator.base_url())
        .build()
        .unwrap()
}

fn client(emulator: &Emulator) -> Client {
    client_with(emulator, emulator.auth_token())
}

/// What an authenticated read with `token` answers: `Ok` or the HTTP status.
async fn read_with(
    emulator: &Emulator,
    token: AuthToken,
) -> Result<(), (Option<StatusCode>, Option<u32>)> {
    client_with(emulator, token)
        .credentials()
        .aws()
        .list()
        .page_size(1)
        .send()
        .await
        .map(drop)
        .map_err(|e| (e.status(), e.code()))
}

/// After a rolled-back rotation: the old token is still the primary, no secondary token is
/// left behind, and the client (back on the old token) still works.
async fn assert_account_unchanged(emulator: &Emulator, old: &AuthToken, client: &Client) {
    assert_eq!(emulator.auth_token().expose_secret(), old.expose_secret());
    assert!(emulator.secondary_auth_token().is_none());
    client
        .credentials()
        .aws()
        .list()
        .send()
        .await
        .expect("the client still works with the old token");
}

fn steps(report: &twilio_accounts::rotation::RotationReport) -> Vec<(RotationStep, StepOutcome)> {
    report
        .steps()
        .iter()
        .map(|s| (s.step(), s.outcome()))
        .collect()
}

#[tokio::test]
async fn full_rotation_switches_every_clone_and_revokes_the_old_token() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    let client = client(&emulator);
    let clone_made_before = client.clone();

    let report = client
        .rotate_auth_token()
        .suppress_email_notification(true)
        .send()
        .await
        .expect("the rotation succeeds");

    assert_eq!(report.state(), AccountState::Rotated);
    assert_eq!(report.client_token(), ClientToken::New);
    assert_eq!(report.account_sid(), emulator.account_sid());
    assert_eq!(report.suppress_email_notification(), Some(true));
    assert_eq!(
        steps(&report),
        [
            (RotationStep::CreateSecondary, StepOutcome::Succeeded),
            (RotationStep::VerifySecondary, StepOutcome::Succeeded),
            (RotationStep::SwitchCredentials, StepOutcome::Succeeded),
            (RotationStep::Promote, StepOutcome::Succeeded),
            (RotationStep::VerifyPrimary, StepOutcome::Succeeded),
        ]
    );
    for pair in report.steps().windows(2) {
        assert!(pair[0].started() <= pair[1].started());
    }
    assert!(report.elapsed() >= report.steps()[4].started());

    // Exactly one token works: the new primary, whose fingerprint the report shows.
    let new = emulator.auth_token();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_eq!(report.new_token(), Some(TokenFingerprint::of(&new)));
    assert!(emulator.secondary_auth_token().is_none());
    assert_eq!(
        read_with(&emulator, old).await,
        Err((Some(StatusCode::UNAUTHORIZED), Some(20003)))
    );
    assert_eq!(read_with(&emulator, new).await, Ok(()));

    // The client and a clone made before the rotation both moved over.
    client.credentials().aws().list().send().await.unwrap();
    clone_made_before
        .credentials()
        .aws()
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(
        emulator.email_notifications(),
        0,
        "SuppressEmailNotification was sent"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn without_suppression_twilio_would_send_the_emails() {
    let emulator = emulator().await;
    let report = client(&emulator).rotate_auth_token().send().await.unwrap();
    assert_eq!(report.suppress_email_notification(), None);
    assert_eq!(
        emulator.email_notifications(),
        2,
        "one for the create, one for the promotion"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn rotating_twice_works_from_the_rotated_client() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let first = client.rotate_auth_token().send().await.unwrap();
    let second = client.rotate_auth_token().send().await.unwrap();
    assert_ne!(first.new_token(), second.new_token());
    assert_eq!(
        second.new_token(),
        Some(TokenFingerprint::of(&emulator.auth_token()))
    );
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn propagation_delay_is_waited_out_with_backoff() {
    let emulator = Emulator::builder()
        .propagation_delay(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let report = client(&emulator)
        .rotate_auth_token()
        .propagation_window(Duration::from_secs(60))
        .verify_backoff(VerifyBackoff::new(
            Duration::from_secs(1),
            Duration::from_secs(4),
        ))
        .send()
        .await
        .expect("the token propagates within the window");

    let verify = report.step(RotationStep::VerifySecondary).unwrap();
    assert_eq!(verify.outcome(), StepOutcome::Succeeded);
    // Refused at 0 s, 1 s, 3 s; accepted at 7 s (waits of 1, 2, 4 s).
    assert_eq!(verify.attempts(), 4);
    assert!(
        verify.elapsed() >= Duration::from_secs(7),
        "{:?}",
        verify.elapsed()
    );
    assert!(
        verify.note().unwrap().contains("refused 3 time(s)"),
        "{:?}",
        verify.note()
    );
    assert_eq!(report.state(), AccountState::Rotated);
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_secondary_that_never_verifies_is_deleted_and_nothing_changes() {
    let emulator = Emulator::builder()
        .propagation_delay(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let old = emulator.auth_token();
    let client = client(&emulator);

    let err = client
        .rotate_auth_token()
        .propagation_window(Duration::from_secs(30))
        .send()
        .await
        .expect_err("the new token never authenticates");

    assert_eq!(err.failed_step(), RotationStep::VerifySecondary);
    assert_eq!(err.state(), AccountState::Unchanged);
    assert_eq!(err.report().client_token(), ClientToken::Old);
    assert_eq!(
        steps(err.report()),
        [
            (RotationStep::CreateSecondary, StepOutcome::Succeeded),
            (RotationStep::VerifySecondary, StepOutcome::Failed),
            (RotationStep::DeleteSecondary, StepOutcome::Succeeded),
        ]
    );
    let verify = err.report().step(RotationStep::VerifySecondary).unwrap();
    assert!(verify.attempts() > 3);
    assert!(verify.elapsed() >= Duration::from_secs(30));
    // The cause chain: workflow error, then Twilio's 401.
    assert_eq!(err.error().status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(err.error().code(), Some(20003));
    let Error::Workflow(workflow) = err.error() else {
        panic!("{:?}", err.error())
    };
    assert!(workflow.message().contains("propagation window of 30.000s"));

    // The emulator agrees: same primary, no secondary, the client still works.
    assert_account_unchanged(&emulator, &old, &client).await;
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn dropped_connections_while_verifying_are_retried_and_the_rotation_completes() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    // No transport retries: the workflow itself sees every dropped connection.
    let client = Client::builder()
        .credentials(credentials(&emulator, old.clone()))
        .base_url(&emulator.base_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    // The first two checks of the new token lose their connection.
    emulator
        .faults()
        .inject(Fault::reset().on("GET", CHECK).times(2))
        .unwrap();
    let report = client
        .rotate_auth_token()
        .verify_backoff(VerifyBackoff::new(
            Duration::from_millis(100),
            Duration::from_millis(100),
        ))
        .send()
        .await
        .expect("dropped connections on reads are retried");

    assert_eq!(report.state(), AccountState::Rotated);
    let verify = report.step(RotationStep::VerifySecondary).unwrap();
    assert_eq!(verify.attempts(), 3);
    assert_eq!(verify.outcome(), StepOutcome::Succeeded);
    assert_eq!(emulator.faults().pending(), 0);
    // The emulator agrees: the new token is the primary, the old one is refused, no secondary.
    let new = emulator.auth_token();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_eq!(report.new_token(), Some(TokenFingerprint::of(&new)));
    assert!(emulator.secondary_auth_token().is_none());
    assert_eq!(
        read_with(&emulator, old).await,
        Err((Some(StatusCode::UNAUTHORIZED), Some(20003)))
    );
    assert_eq!(read_with(&emulator, new).await, Ok(()));
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_unbounded_propagation_window_is_accepted() {
    let emulator = emulator().await;
    let report = client(&emulator)
        .rotate_auth_token()
        .propagation_window(Duration::MAX)
        .send()
        .await
        .expect("a huge window is no reason to fail");
    assert_eq!(report.state(), AccountState::Rotated);
    assert_eq!(
        report.new_token(),
        Some(TokenFingerprint::of(&emulator.auth_token()))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_refused_promotion_is_rolled_back() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    emulator
        .faults()
        .inject(Fault::status(403).on("POST", PROMOTE).times(1))
        .unwrap();
    let client = client(&emulator);

    let err = client
        .rotate_auth_token()
        .send()
        .await
        .expect_err("promotion refused");

    assert_eq!(err.failed_step(), RotationStep::Promote);
    assert_eq!(err.state(), AccountState::Unchanged);
    assert_eq!(err.error().status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        steps(err.report()),
        [
            (RotationStep::CreateSecondary, StepOutcome::Succeeded),
            (RotationStep::VerifySecondary, StepOutcome::Succeeded),
            (RotationStep::SwitchCredentials, StepOutcome::Succeeded),
            (RotationStep::Promote, StepOutcome::Failed),
            // Even a 4xx is found out with both tokens before anything is switched back.
            (RotationStep::ResolvePromotion, StepOutcome::Succeeded),
            (RotationStep::RestoreCredentials, StepOutcome::Succeeded),
            (RotationStep::DeleteSecondary, StepOutcome::Succeeded),
        ]
    );
    assert_eq!(err.report().client_token(), ClientToken::Old);
    assert_account_unchanged(&emulator, &old, &client).await;
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_5xx_before_the_promotion_is_found_out_and_rolled_back() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    emulator
        .faults()
        .inject(Fault::status(503).on("POST", PROMOTE).times(1))
        .unwrap();
    let client = client(&emulator);

    let err = client
        .rotate_auth_token()
        .send()
        .await
        .expect_err("promotion failed");

    assert_eq!(err.failed_step(), RotationStep::Promote);
    assert_eq!(err.state(), AccountState::Unchanged);
    let resolve = err.report().step(RotationStep::ResolvePromotion).unwrap();
    assert_eq!(resolve.outcome(), StepOutcome::Succeeded);
    assert!(resolve.note().unwrap().contains("did not happen"));
    assert_account_unchanged(&emulator, &old, &client).await;
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_5xx_after_the_promotion_is_found_out_and_the_rotation_completes() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    emulator
        .faults()
        .inject(
            Fault::status(502)
                .on("POST", PROMOTE)
                .after_processing()
                .times(1),
        )
        .unwrap();
    let client = client(&emulator);

    let report = client
        .rotate_auth_token()
        .send()
        .await
        .expect("the promotion happened");

    assert_eq!(report.state(), AccountState::Rotated);
    assert_eq!(
        steps(&report),
        [
            (RotationStep::CreateSecondary, StepOutcome::Succeeded),
            (RotationStep::VerifySecondary, StepOutcome::Succeeded),
            (RotationStep::SwitchCredentials, StepOutcome::Succeeded),
            (RotationStep::Promote, StepOutcome::Failed),
            (RotationStep::ResolvePromotion, StepOutcome::Succeeded),
            (RotationStep::VerifyPrimary, StepOutcome::Succeeded),
        ]
    );
    assert!(
        report
            .step(RotationStep::Promote)
            .unwrap()
            .note()
            .unwrap()
            .contains("HTTP 502")
    );
    assert_eq!(
        report.new_token(),
        Some(TokenFingerprint::of(&emulator.auth_token()))
    );
    assert_eq!(
        read_with(&emulator, old).await.unwrap_err().0,
        Some(StatusCode::UNAUTHORIZED)
    );
    client.credentials().aws().list().send().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_dropped_after_the_promotion_is_found_out() {
    let emulator = emulator().await;
    emulator
        .faults()
        .inject(
            Fault::reset()
                .on("POST", PROMOTE)
                .after_processing()
                .times(1),
        )
        .unwrap();
    let client = client(&emulator);

    let report = client
        .rotate_auth_token()
        .send()
        .await
        .expect("the promotion happened");

    assert_eq!(report.state(), AccountState::Rotated);
    let promote = report.step(RotationStep::Promote).unwrap();
    assert_eq!(promote.outcome(), StepOutcome::Failed);
    assert!(
        promote.note().unwrap().contains("outcome unknown"),
        "{:?}",
        promote.note()
    );
    assert!(
        report
            .step(RotationStep::ResolvePromotion)
            .unwrap()
            .note()
            .unwrap()
            .contains("happened")
    );
    assert_eq!(
        report.new_token(),
        Some(TokenFingerprint::of(&emulator.auth_token()))
    );
    assert!(emulator.secondary_auth_token().is_none());
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_dropped_before_the_promotion_is_rolled_back() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    emulator
        .faults()
        .inject(Fault::reset().on("POST", PROMOTE).times(1))
        .unwrap();
    let client = client(&emulator);

    let err = client
        .rotate_auth_token()
        .send()
        .await
        .expect_err("no promotion");

    assert_eq!(err.state(), AccountState::Unchanged);
    assert!(
        matches!(err.error(), Error::Workflow(w) if matches!(w.cause(), Some(Error::Transport(_))))
    );
    assert_account_unchanged(&emulator, &old, &client).await;
    emulator.shutdown().await;
}

/// A transport that forwards to the emulator and, once a promotion has been sent, answers
/// verification reads itself: with 200 when they carry `old_accepted` (the old token's
/// revocation lagging behind), else with `status_after` if set (401: a token still
/// propagating; 503: nothing can be found out). With `lose_promotion_answer`, the promotion is
/// processed but its answer is replaced by a dropped connection.
#[derive(Clone)]
struct AfterPromotion {
    inner: DefaultTransport,
    status_after: Option<StatusCode>,
    old_accepted: Option<String>,
    lose_promotion_answer: bool,
    /// Another rotation creates its own secondary just before our promotion.
    race_a_create: bool,
    promoted: Arc<AtomicBool>,
    answered: Arc<AtomicU32>,
}

impl AfterPromotion {
    fn new(status_after: Option<StatusCode>, lose_promotion_answer: bool) -> Self {
        Self {
            inner: DefaultTransport::new(Duration::from_secs(5), Duration::from_secs(30)).unwrap(),
            status_after,
            old_accepted: None,
            lose_promotion_answer,
            race_a_create: false,
            promoted: Arc::default(),
            answered: Arc::default(),
        }
    }

    fn in_reply(status: StatusCode) -> Response<Full<Bytes>> {
        let body = if status.is_success() {
            "{}".to_owned()
        } else {
            format!(
                r#"{{"code":{},"message":"injected","more_info":"https://www.twilio.com/docs/errors","status":{}}}"#,
                20000 + status.as_u16(),
                status.as_u16()
            )
        };
        Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    }
}

impl tower::Service<Request<Bytes>> for AfterPromotion {
    type Response = Response<Full<Bytes>>;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, TransportError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        tower::Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let is_promote = request.method() == Method::POST && request.uri().path() == PROMOTE;
        let is_check = request.method() == Method::GET && request.uri().path() == CHECK;
        if is_check && self.promoted.load(Ordering::SeqCst) {
            let authorization = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let status =
                if self.old_accepted.is_some() && authorization == self.old_accepted.as_deref() {
                    Some(StatusCode::OK)
                } else {
                    self.status_after
                };
            if let Some(status) = status {
                self.answered.fetch_add(1, Ordering::SeqCst);
                let response = Self::in_reply(status);
                return Box::pin(async move { Ok(response) });
            }
        }
        let promoted = Arc::clone(&self.promoted);
        let lose = self.lose_promotion_answer;
        let race = if is_promote && self.race_a_create {
            let mut uri = request.uri().clone().into_parts();
            uri.path_and_query = Some("/v1/AuthTokens/Secondary".parse().unwrap());
            let mut create = Request::post(http::Uri::from_parts(uri).unwrap())
                .body(Bytes::new())
                .unwrap();
            *create.headers_mut() = request.headers().clone();
            Some(tower::Service::call(&mut self.inner.clone(), create))
        } else {
            None
        };
        let mut inner = self.inner.clone();
        Box::pin(async move {
            if let Some(race) = race {
                let created = race.await?;
                assert_eq!(created.status(), StatusCode::CREATED);
            }
            let future = tower::Service::call(&mut inner, request);
            let (parts, body) = future.await?.into_parts();
            let bytes = body.collect().await.map_err(TransportError::io)?.to_bytes();
            if is_promote {
                promoted.store(true, Ordering::SeqCst);
                if lose {
                    return Err(TransportError::io("connection reset by peer (injected)"));
                }
            }
            Ok(Response::from_parts(parts, Full::new(bytes)))
        })
    }
}

fn client_over(emulator: &Emulator, transport: AfterPromotion) -> Client {
    Client::builder()
        .credentials(credentials(emulator, emulator.auth_token()))
        .base_url(&emulator.base_url())
        .retry(RetryConfig::disabled())
        .transport(transport)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_unresolvable_promotion_leaves_the_client_on_the_token_that_works_either_way() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    let client = client_over(
        &emulator,
        AfterPromotion::new(Some(StatusCode::SERVICE_UNAVAILABLE), true),
    );

    let err = client
        .rotate_auth_token()
        .propagation_window(Duration::from_secs(20))
        .send()
        .await
        .expect_err("cannot be resolved");

    assert_eq!(err.state(), AccountState::Unknown);
    assert_eq!(err.state().primary_changed(), None);
    assert_eq!(err.failed_step(), RotationStep::Promote);
    assert_eq!(err.report().client_token(), ClientToken::New);
    let resolve = err.report().step(RotationStep::ResolvePromotion).unwrap();
    assert_eq!(resolve.outcome(), StepOutcome::Failed);
    assert!(resolve.attempts() > 1);
    assert!(
        resolve.note().unwrap().contains("HTTP 503"),
        "{:?}",
        resolve.note()
    );
    // The client's token is indeed one that works (here: the new primary).
    let new = emulator.auth_token();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_eq!(err.report().new_token(), Some(TokenFingerprint::of(&new)));
    assert_eq!(read_with(&emulator, new).await, Ok(()));
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_promotion_answer_with_a_lagging_revocation_is_still_found_out() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    let mut transport = AfterPromotion::new(None, true);
    transport.old_accepted = Some(emulator.basic_auth_header());
    let client = client_over(&emulator, transport);

    let report = client
        .rotate_auth_token()
        .send()
        .await
        .expect("the promotion happened, and the rotation finds out");

    assert_eq!(report.state(), AccountState::Rotated);
    assert_eq!(report.client_token(), ClientToken::New);
    assert_eq!(
        steps(&report),
        [
            (RotationStep::CreateSecondary, StepOutcome::Succeeded),
            (RotationStep::VerifySecondary, StepOutcome::Succeeded),
            (RotationStep::SwitchCredentials, StepOutcome::Succeeded),
            (RotationStep::Promote, StepOutcome::Failed),
            (RotationStep::ResolvePromotion, StepOutcome::Succeeded),
            (RotationStep::RestoreCredentials, StepOutcome::Succeeded),
            // The emulator has revoked the old token: the clean-up is refused, a contradiction.
            (RotationStep::DeleteSecondary, StepOutcome::Failed),
            (RotationStep::ResolvePromotion, StepOutcome::Succeeded),
            (RotationStep::VerifyPrimary, StepOutcome::Succeeded),
        ]
    );
    let note = report
        .step(RotationStep::ResolvePromotion)
        .unwrap()
        .note()
        .unwrap();
    assert!(note.contains("happened after all"), "{note}");
    let new = emulator.auth_token();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_eq!(report.new_token(), Some(TokenFingerprint::of(&new)));
    assert_eq!(
        report.new_auth_token().map(AuthToken::expose_secret),
        Some(new.expose_secret())
    );
    client.credentials().aws().list().send().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_contradicted_roll_back_without_answers_is_unknown_and_keeps_the_new_token() {
    let emulator = emulator().await;
    let mut transport = AfterPromotion::new(Some(StatusCode::SERVICE_UNAVAILABLE), true);
    transport.old_accepted = Some(emulator.basic_auth_header());
    let client = client_over(&emulator, transport);

    let err = client
        .rotate_auth_token()
        .propagation_window(Duration::from_secs(10))
        .send()
        .await
        .expect_err("nothing can be found out");

    assert_eq!(err.state(), AccountState::Unknown);
    assert_eq!(err.report().client_token(), ClientToken::New);
    let resolve = err.report().step(RotationStep::ResolvePromotion).unwrap();
    assert_eq!(resolve.outcome(), StepOutcome::Failed);
    assert!(
        resolve.note().unwrap().contains("no clear answer"),
        "{:?}",
        resolve.note()
    );
    // It was the right guess: the emulator did promote the new token.
    let new = emulator.auth_token();
    assert_eq!(err.report().new_token(), Some(TokenFingerprint::of(&new)));
    assert_eq!(
        err.report().new_auth_token().map(AuthToken::expose_secret),
        Some(new.expose_secret())
    );
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_final_check_reports_rotated_unverified_and_keeps_the_new_token() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    let transport = AfterPromotion::new(Some(StatusCode::UNAUTHORIZED), false);
    let refused = Arc::clone(&transport.answered);
    let client = client_over(&emulator, transport);

    let err = client
        .rotate_auth_token()
        .propagation_window(Duration::from_secs(10))
        .send()
        .await
        .expect_err("the final check fails");

    assert_eq!(err.failed_step(), RotationStep::VerifyPrimary);
    assert_eq!(err.state(), AccountState::RotatedUnverified);
    assert_eq!(err.state().primary_changed(), Some(true));
    assert_eq!(err.report().client_token(), ClientToken::New);
    assert_eq!(err.error().status(), Some(StatusCode::UNAUTHORIZED));
    assert!(
        refused.load(Ordering::SeqCst) > 1,
        "the final check was retried"
    );
    assert_eq!(
        err.report().steps().last().map(|s| (s.step(), s.outcome())),
        Some((RotationStep::VerifyPrimary, StepOutcome::Failed))
    );
    // The promotion did happen, and no clean-up touched it.
    let new = emulator.auth_token();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_eq!(err.report().new_token(), Some(TokenFingerprint::of(&new)));
    assert_eq!(read_with(&emulator, new).await, Ok(()));
    assert_eq!(
        read_with(&emulator, old).await.unwrap_err().0,
        Some(StatusCode::UNAUTHORIZED)
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_concurrent_rotation_makes_ours_fail_cleanly() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    let mut transport = AfterPromotion::new(None, false);
    transport.race_a_create = true;
    let client = client_over(&emulator, transport);

    // The other rotation's secondary replaced ours, so our promotion, made with our (now
    // deleted) token, is refused.
    let err = client.rotate_auth_token().send().await.unwrap_err();

    assert_eq!(err.failed_step(), RotationStep::Promote);
    assert_eq!(err.state(), AccountState::Unchanged);
    assert_eq!(err.error().status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(err.report().client_token(), ClientToken::Old);
    assert!(err.report().new_auth_token().is_none());
    // The other rotation's secondary is not ours to delete.
    let delete = err.report().step(RotationStep::DeleteSecondary).unwrap();
    assert_eq!(delete.outcome(), StepOutcome::Skipped);
    assert!(emulator.secondary_auth_token().is_some());
    assert_eq!(emulator.auth_token().expose_secret(), old.expose_secret());
    client.credentials().aws().list().send().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_api_key_client_follows_the_token_twilio_promoted() {
    let emulator = emulator().await;
    let key = emulator.add_api_key(&emulator.account_sid()).unwrap();
    let mut transport = AfterPromotion::new(None, false);
    transport.race_a_create = true;
    let client = Client::builder()
        .credentials(
            Credentials::from_api_key(emulator.account_sid(), key.sid(), key.secret().clone())
                .unwrap(),
        )
        .base_url(&emulator.base_url())
        .transport(transport)
        .build()
        .unwrap();

    let report = client.rotate_auth_token().send().await.unwrap();

    assert_eq!(report.state(), AccountState::Rotated);
    let ours = report
        .step(RotationStep::CreateSecondary)
        .unwrap()
        .note()
        .unwrap()
        .to_owned();
    let promoted = emulator.auth_token();
    let fingerprint = TokenFingerprint::of(&promoted);
    assert!(
        !ours.contains(&fingerprint.to_string()),
        "Twilio promoted the other token"
    );
    assert_eq!(report.new_token(), Some(fingerprint));
    assert_eq!(
        report.new_auth_token().map(AuthToken::expose_secret),
        Some(promoted.expose_secret())
    );
    let note = report.step(RotationStep::Promote).unwrap().note().unwrap();
    assert!(note.contains("another rotation"), "{note}");
    let verify = report.step(RotationStep::VerifyPrimary).unwrap();
    assert!(verify.note().unwrap().contains(&fingerprint.to_string()));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_refused_create_changes_nothing() {
    let emulator = emulator().await;
    emulator
        .faults()
        .inject(
            Fault::status(400)
                .on("POST", "/v1/AuthTokens/Secondary")
                .times(1),
        )
        .unwrap();
    let err = client(&emulator)
        .rotate_auth_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.failed_step(), RotationStep::CreateSecondary);
    assert_eq!(err.state(), AccountState::Unchanged);
    assert_eq!(err.report().new_token(), None);
    assert_eq!(
        steps(err.report()),
        [(RotationStep::CreateSecondary, StepOutcome::Failed)],
        "a definite refusal needs no clean-up"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_create_without_a_clear_answer_is_cleaned_up() {
    let emulator = emulator().await;
    let old = emulator.auth_token();
    emulator
        .faults()
        .inject(
            Fault::reset()
                .on("POST", "/v1/AuthTokens/Secondary")
                .after_processing()
                .times(1),
        )
        .unwrap();
    let err = client(&emulator)
        .rotate_auth_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.failed_step(), RotationStep::CreateSecondary);
    assert_eq!(err.state(), AccountState::Unchanged);
    assert_eq!(
        steps(err.report()),
        [
            (RotationStep::CreateSecondary, StepOutcome::Failed),
            (RotationStep::DeleteSecondary, StepOutcome::Succeeded),
        ]
    );
    assert!(
        emulator.secondary_auth_token().is_none(),
        "the secondary the lost answer carried is gone"
    );
    assert_eq!(emulator.auth_token().expose_secret(), old.expose_secret());
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_clean_up_is_reported_as_a_remaining_secondary() {
    let emulator = Emulator::builder()
        .propagation_delay(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    emulator
        .faults()
        .inject(Fault::status(400).on("DELETE", "/v1/AuthTokens/Secondary"))
        .unwrap();
    let err = client(&emulator)
        .rotate_auth_token()
        .propagation_window(Duration::from_secs(5))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.state(), AccountState::UnchangedSecondaryRemains);
    assert_eq!(err.state().primary_changed(), Some(false));
    let secondary = emulator
        .secondary_auth_token()
        .expect("the secondary is still there");
    assert_eq!(
        err.report().new_token(),
        Some(TokenFingerprint::of(&secondary))
    );
    let delete = err.report().step(RotationStep::DeleteSecondary).unwrap();
    assert_eq!(delete.outcome(), StepOutcome::Failed);
    assert!(delete.note().unwrap().contains("may still exist"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_api_key_client_keeps_its_key() {
    let emulator = emulator().await;
    let key = emulator.add_api_key(&emulator.account_sid()).unwrap();
    let client = Client::builder()
        .credentials(
            Credentials::from_api_key(emulator.account_sid(), key.sid(), key.secret().clone())
                .unwrap(),
        )
        .base_url(&emulator.base_url())
        .build()
        .unwrap();
    let old = emulator.auth_token();

    let report = client.rotate_auth_token().send().await.unwrap();

    assert_eq!(report.state(), AccountState::Rotated);
    assert_eq!(report.client_token(), ClientToken::ApiKey);
    assert_eq!(
        report
            .step(RotationStep::SwitchCredentials)
            .map(|s| s.outcome()),
        Some(StepOutcome::Skipped)
    );
    assert_ne!(emulator.auth_token().expose_secret(), old.expose_secret());
    assert_eq!(
        client.shared_credentials().current().api_key_sid(),
        Some(key.sid())
    );
    client.credentials().aws().list().send().await.unwrap();
    emulator.shutdown().await;
}

#[test]
fn the_builder_future_and_results_can_cross_tasks() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<twilio_accounts::rotation::RotateAuthToken>();
    send_sync::<twilio_accounts::rotation::RotationReport>();
    send_sync::<twilio_accounts::rotation::RotationError>();
    let client = Client::builder()
        .credentials(
            Credentials::from_auth_token(
                "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap(),
                AuthToken::new("token").unwrap(),
            )
            .unwrap(),
        )
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let future = client.rotate_auth_token().send();
    send(&future); // so `tokio::spawn(client.rotate_auth_token().send())` works
}
