//! The rotation function against a real `moto_server` (AWS Secrets Manager) and the Twilio
//! emulator, driven the way Secrets Manager drives it: whole rotations over several cycles,
//! every step repeated, a crash between every pair of steps (and inside `createSecret`) with the
//! rotation restarted by the same `ClientRequestToken`, and a failed rotation followed by one
//! with a new token. After each: the consumers that must work do, and no token Twilio accepts
//! is missing from the secret. moto does not run rotation functions without Docker, so the test
//! plays the service (see `common`).

mod common;

use std::time::Duration;

use common::{STEPS, World, version_id};
use twilio_aws_rotation::{ErrorKind, Outcome, Step};
use twilio_emulator::Fault;

macro_rules! world {
    () => {
        match World::start().await {
            Some(world) => world,
            None => return,
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_cycles_keep_current_and_previous_working() {
    let world = world!();
    let mut output = String::new();
    let first = world.token("AWSCURRENT").await.unwrap();
    let mut two_ago: Option<twilio_types::AuthToken> = None;
    let mut one_ago = first.clone();
    for cycle in 1..=4 {
        let previous_before = world.token("AWSPREVIOUS").await;
        let current_before = world.token("AWSCURRENT").await.unwrap();
        let version = version_id(cycle);
        world.start_rotation(&version).await;
        for step in STEPS {
            let report = world.step(&version, step).await.expect("step succeeds");
            output.push_str(&format!("{report}\n{report:?}\n"));
            if step == Step::CreateSecret {
                match (&report.outcome, cycle) {
                    (Outcome::Created { promoted: None, .. }, 1) => {}
                    (
                        Outcome::Created {
                            promoted: Some(_), ..
                        },
                        2..,
                    ) => {}
                    (other, _) => panic!("cycle {cycle}: {other:?}"),
                }
            }
        }
        world.assert_settled().await;
        // The consumer that read AWSCURRENT before the cycle still works (it is AWSPREVIOUS).
        assert!(world.accepted(&current_before).await, "cycle {cycle}");
        let now_previous = world.token("AWSPREVIOUS").await.unwrap();
        assert!(now_previous.ct_eq(current_before.expose_secret()));
        // AWSPREVIOUS from before the cycle was AWSCURRENT two cycles ago: revoked.
        if let Some(old) = previous_before {
            assert!(!world.accepted(&old).await, "cycle {cycle}: two cycles ago");
        }
        if let Some(old) = &two_ago {
            assert!(!world.accepted(old).await);
        }
        two_ago = Some(one_ago.clone());
        one_ago = current_before;
    }
    // One version per rotation, plus the first.
    assert_eq!(world.version_ids().await.len(), 5);
    world.assert_no_token_in(&output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_repeated_does_nothing_twice() {
    let world = world!();
    world.rotate(&version_id(1)).await;
    let version = version_id(2);
    world.start_rotation(&version).await;
    let mut output = String::new();
    for step in STEPS {
        let first = world.step(&version, step).await.expect("first");
        let secondary = world.emulator.secondary_auth_token();
        let primary = world.emulator.auth_token();
        let versions = world.version_ids().await.len();
        let mails = world.emulator.email_notifications();
        let again = world.step(&version, step).await.expect("again");
        output.push_str(&format!("{first}\n{again}\n"));
        // No second secondary, no promotion, no second version.
        assert_eq!(
            world
                .emulator
                .secondary_auth_token()
                .map(|t| t.expose_secret().to_owned()),
            secondary.map(|t| t.expose_secret().to_owned()),
            "{step}"
        );
        assert!(
            world.emulator.auth_token().ct_eq(primary.expose_secret()),
            "{step}"
        );
        assert_eq!(world.version_ids().await.len(), versions, "{step}");
        assert_eq!(world.emulator.email_notifications(), mails, "{step}");
        let expected_again = match step {
            Step::CreateSecret => matches!(again.outcome, Outcome::AlreadyCreated { .. }),
            Step::SetSecret => matches!(again.outcome, Outcome::Confirmed { .. }),
            Step::TestSecret => matches!(again.outcome, Outcome::Accepted { .. }),
            _ => matches!(again.outcome, Outcome::AlreadyCurrent),
        };
        assert!(expected_again, "{step}: {again:?}");
    }
    // After the rotation every step is a no-op for its version.
    for step in STEPS {
        let report = world.step(&version, step).await.unwrap();
        assert_eq!(report.outcome, Outcome::AlreadyCurrent);
    }
    world.assert_settled().await;
    world.assert_no_token_in(&output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_steps_then_the_whole_rotation_again() {
    let world = world!();
    world.rotate(&version_id(100)).await;
    // Crash after step k (k = 1, 2, 3): the service retries the whole rotation with the same
    // ClientRequestToken.
    for (n, crash_after) in (1..=3).enumerate() {
        let version = version_id(200 + n as u32);
        let before = world.token("AWSCURRENT").await.unwrap();
        world.start_rotation(&version).await;
        for step in &STEPS[..crash_after] {
            world.step(&version, *step).await.expect("before the crash");
        }
        world.assert_no_token_lost().await;
        assert!(
            world.accepted(&before).await,
            "AWSCURRENT works mid-rotation"
        );
        world.run_steps(&version).await;
        world.assert_settled().await;
        assert!(
            world
                .token("AWSPREVIOUS")
                .await
                .unwrap()
                .ct_eq(before.expose_secret())
        );
    }
    world.assert_no_token_in("");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_inside_create_secret_is_recovered_by_the_retry() {
    let world = world!();
    world.rotate(&version_id(1)).await;
    // 1. Crashed after the promotion, before the create.
    let version = version_id(2);
    let current = world.token("AWSCURRENT").await.unwrap();
    let previous = world.token("AWSPREVIOUS").await.unwrap();
    world.start_rotation(&version).await;
    world
        .twilio(&current)
        .auth_token_promotion()
        .update()
        .send()
        .await
        .unwrap();
    assert!(!world.accepted(&previous).await);
    world.run_steps(&version).await;
    world.assert_settled().await;

    // 2. Crashed after Twilio created the secondary, before PutSecretValue: a token no one holds.
    let version = version_id(3);
    let current = world.token("AWSCURRENT").await.unwrap();
    world.start_rotation(&version).await;
    let c = world.twilio(&current);
    c.auth_token_promotion().update().send().await.unwrap();
    let orphan = c
        .secondary_auth_token()
        .create()
        .send()
        .await
        .unwrap()
        .secondary_auth_token
        .unwrap();
    world
        .seen
        .lock()
        .unwrap()
        .push(orphan.expose_secret().to_owned());
    // The same ClientRequestToken again: the orphan is replaced, not promoted.
    world.run_steps(&version).await;
    world.assert_settled().await;
    assert!(
        !world.accepted(&orphan).await,
        "the unstored token is replaced"
    );
    assert!(
        world.accepted(&current).await,
        "the promoted token is AWSPREVIOUS"
    );

    // 3. The same, crashed before the promotion was even due (the first steps of a retry).
    let version = version_id(4);
    world.start_rotation(&version).await;
    world.run_steps(&version).await;
    world.assert_settled().await;
    world.assert_no_token_in("");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rotation_then_a_new_client_request_token() {
    let world = world!();
    world.rotate(&version_id(1)).await;
    let before = world.token("AWSCURRENT").await.unwrap();

    // testSecret fails: the new token never propagates within the window.
    world
        .emulator
        .faults()
        .set_propagation_delay(Duration::from_secs(3600));
    let failed = version_id(2);
    world.start_rotation(&failed).await;
    world.step(&failed, Step::CreateSecret).await.unwrap();
    world.step(&failed, Step::SetSecret).await.unwrap();
    let rotator = world
        .rotator
        .clone()
        .propagation_window(Duration::from_millis(300));
    let err = rotator
        .handle(&twilio_aws_rotation::RotationEvent::new(
            &world.secret_id,
            &failed,
            Step::TestSecret,
        ))
        .await
        .unwrap_err();
    world.see_twilio();
    assert_eq!(err.kind(), ErrorKind::NotAccepted, "{err}");
    assert!(err.is_retryable());
    assert!(std::error::Error::source(&err).is_some());
    // The rotation failed; AWSCURRENT still works, nothing was lost.
    assert!(world.accepted(&before).await);
    world.assert_no_token_lost().await;

    // Secrets Manager starts over with a new ClientRequestToken.
    world
        .emulator
        .faults()
        .set_propagation_delay(Duration::ZERO);
    world.rotate(&version_id(3)).await;
    world.assert_settled().await;
    assert!(
        world
            .token("AWSPREVIOUS")
            .await
            .unwrap()
            .ct_eq(before.expose_secret())
    );
    // The failed rotation's version is no longer staged; its token was replaced.
    let failed_token = world
        .sm
        .get_secret_value()
        .secret_id(&world.secret_id)
        .version_id(&failed)
        .send()
        .await
        .unwrap();
    let text = failed_token.secret_string().unwrap();
    let token: serde_json::Value = serde_json::from_str(text).unwrap();
    let token = twilio_types::AuthToken::new(token["auth_token"].as_str().unwrap()).unwrap();
    assert!(!world.accepted(&token).await);
    world.assert_no_token_in(&format!("{err} {err:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_refused_while_a_secondary_exists_deletes_it_and_creates_again() {
    let world = world!();
    world.rotate(&version_id(1)).await;
    let version = version_id(2);
    world.start_rotation(&version).await;
    world
        .emulator
        .faults()
        .inject(
            Fault::status(409)
                .on("POST", "/v1/AuthTokens/Secondary")
                .times(1),
        )
        .unwrap();
    world.run_steps(&version).await;
    world.assert_settled().await;
    assert_eq!(world.emulator.faults().pending(), 0, "the fault was hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_are_not_the_rotation_in_progress_are_refused() {
    let world = world!();
    // Rotation not enabled yet.
    let err = world
        .step(&version_id(1), Step::CreateSecret)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RotationDisabled, "{err}");

    world.rotate(&version_id(1)).await;
    let current_version = version_id(1);
    let previous_version = world
        .version_ids()
        .await
        .into_iter()
        .find(|v| *v != current_version)
        .unwrap();
    // A token that is no version of the secret.
    let err = world
        .step(&version_id(9), Step::CreateSecret)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotPending, "{err}");
    assert!(err.to_string().contains("not a version"));
    // A version that is not staged AWSPENDING (AWSPREVIOUS).
    for step in STEPS {
        let err = world.step(&previous_version, step).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotPending, "{err}");
        assert!(!err.is_retryable());
    }
    // Nothing changed at Twilio.
    world.assert_settled().await;
    // A step before createSecret: setSecret / testSecret / finishSecret find no value.
    let version = version_id(3);
    world.start_rotation(&version).await;
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        let err = world.step(&version, step).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotPending, "{step}: {err}");
        assert!(err.to_string().contains("createSecret has not run"));
    }
    world.run_steps(&version).await;
    world.assert_settled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_changed_outside_the_rotation_is_refused_without_a_change() {
    let world = world!();
    world.rotate(&version_id(1)).await;
    // Someone replaces the secondary in the Console: AWSCURRENT no longer works, AWSPREVIOUS
    // (the primary) does. A promotion now would make an unstored token the primary.
    let primary = world.token("AWSPREVIOUS").await.unwrap();
    world
        .twilio(&primary)
        .secondary_auth_token()
        .create()
        .send()
        .await
        .unwrap();
    world.see_twilio();
    let version = version_id(2);
    world.start_rotation(&version).await;
    let secondary = world.emulator.secondary_auth_token().unwrap();
    let err = world.step(&version, Step::CreateSecret).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inconsistent, "{err}");
    assert!(err.to_string().contains("refuses the AWSCURRENT token"));
    // Nothing changed at Twilio.
    assert!(world.emulator.auth_token().ct_eq(primary.expose_secret()));
    assert!(
        world
            .emulator
            .secondary_auth_token()
            .unwrap()
            .ct_eq(secondary.expose_secret())
    );
    world.assert_no_token_in(&format!("{err} {err:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexpected_promotion_stores_the_promoted_token_and_the_retry_heals() {
    let world = world!();
    world.rotate(&version_id(1)).await;
    // Tampered by hand: AWSCURRENT is made Twilio's primary, and AWSPREVIOUS a new secondary
    // (both work, in the opposite slots from the rotation's scheme).
    let current = world.token("AWSCURRENT").await.unwrap();
    let client = world.twilio(&current);
    client.auth_token_promotion().update().send().await.unwrap();
    let other = client
        .secondary_auth_token()
        .create()
        .send()
        .await
        .unwrap()
        .secondary_auth_token
        .unwrap();
    world.see_twilio();
    let hand = version_id(50);
    world
        .sm
        .put_secret_value()
        .secret_id(&world.secret_id)
        .client_request_token(&hand)
        .secret_string(format!(
            r#"{{"account_sid":"{}","auth_token":"{}"}}"#,
            world.emulator.account_sid(),
            other.expose_secret()
        ))
        .version_stages("HAND")
        .send()
        .await
        .unwrap();
    let previous_version = world
        .sm
        .describe_secret()
        .secret_id(&world.secret_id)
        .send()
        .await
        .unwrap()
        .version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == "AWSPREVIOUS"))
        .map(|(id, _)| id.clone())
        .unwrap();
    world
        .sm
        .update_secret_version_stage()
        .secret_id(&world.secret_id)
        .version_stage("AWSPREVIOUS")
        .move_to_version_id(&hand)
        .remove_from_version_id(previous_version)
        .send()
        .await
        .unwrap();

    let version = version_id(2);
    world.start_rotation(&version).await;
    let err = world.step(&version, Step::CreateSecret).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inconsistent, "{err}");
    assert!(err.to_string().contains("stored as version"), "{err}");
    // The promoted token is the primary now, and stored: nothing lost.
    assert!(world.emulator.auth_token().ct_eq(other.expose_secret()));
    world.assert_no_token_lost().await;
    // The retry finishes from it; the next rotation is back to the scheme.
    world.run_steps(&version).await;
    assert!(
        world
            .token("AWSCURRENT")
            .await
            .unwrap()
            .ct_eq(other.expose_secret())
    );
    world.rotate(&version_id(3)).await;
    world.assert_settled().await;
    world.assert_no_token_in(&format!("{err} {err:?}"));
}
