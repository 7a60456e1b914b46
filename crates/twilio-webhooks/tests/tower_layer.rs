//! The tower layer: buffering and limits, 403 without detail, the body passed on intact, the
//! public URL (base, function, forwarded headers only when enabled). What it logs: `tower_logs.rs`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use twilio_webhooks::tower::{Refusal, WebhookLayer};
use twilio_webhooks::{
    Algorithm, MatchedKey, Rejection, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, SharedKey,
    TokenLabel, Validator, Verified, body_sha256, sign,
};

mod support;

use support::*;

#[tokio::test]
async fn a_genuine_webhook_reaches_the_service_with_its_body_intact() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com/");
    let signature = signed("https://hooks.example.com/sms?tenant=7");
    let (status, key, body) = send(layer, form("/sms?tenant=7", &signature, BODY)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], BODY);
    assert!(key.starts_with("current token "), "{key}");
}

#[tokio::test]
async fn forged_or_unsigned_webhooks_get_403_without_detail() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    let signature = signed("https://hooks.example.com/sms");
    let other = sign(
        Algorithm::HmacSha1,
        "another-token",
        "https://hooks.example.com/sms",
        &[("a", "b")],
    );
    for request in [
        form("/sms", &other, BODY),
        form("/sms", &signature, b"From=%2B15551234567&Body=tampered"),
        form("/other", &signature, BODY),
        Request::post("/sms")
            .body(Full::new(Bytes::from_static(BODY)))
            .unwrap(),
        form("/sms", "not a signature", BODY),
    ] {
        let (status, key, body) = send(layer.clone(), request).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(key.is_empty() && body.is_empty(), "the 403 says nothing");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com").body_limit(16);
    let signature = signed("https://hooks.example.com/sms");
    let (status, _, body) = send(layer.clone(), form("/sms", &signature, BODY)).await;
    assert_eq!((status, body.len()), (StatusCode::PAYLOAD_TOO_LARGE, 0));
    // Declared too long: refused before reading.
    let mut request = form("/sms", &signature, b"a=b");
    request
        .headers_mut()
        .insert("content-length", "1000000".parse().unwrap());
    assert_eq!(send(layer, request).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // The default is 64 KiB.
    let big: &'static [u8] = Box::leak(vec![b'a'; 64 * 1024 + 1].into_boxed_slice());
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    assert_eq!(
        send(layer.clone(), form("/sms", &signature, big)).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let fits: &'static [u8] = Box::leak(vec![b'a'; 64 * 1024].into_boxed_slice());
    assert_eq!(
        send(layer, form("/sms", &signature, fits)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn json_bodies_are_checked_against_body_sha256() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    let body: &'static [u8] = br#"{"event":"message.delivered","sid":"SM1"}"#;
    let path = format!("/events?bodySHA256={}", body_sha256(body));
    let signature = sign(
        Algorithm::HmacSha1,
        TOKEN,
        &format!("https://hooks.example.com{path}"),
        &[] as &[(&str, &str)],
    );
    let json = |body: &'static [u8]| {
        Request::post(path.as_str())
            .header("content-type", "application/json")
            .header("x-twilio-signature", &signature)
            .body(Full::new(Bytes::from_static(body)))
            .unwrap()
    };
    let (status, _, echoed) = send(layer.clone(), json(body)).await;
    assert_eq!((status, &echoed[..]), (StatusCode::OK, body));
    assert_eq!(
        send(layer, json(br#"{"event":"forged"}"#)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn forwarded_headers_only_when_enabled() {
    let signature = signed("https://public.example.com/sms");
    let forwarded = || {
        let mut request = form("/sms", &signature, BODY);
        request
            .headers_mut()
            .insert("x-forwarded-proto", "https".parse().unwrap());
        request.headers_mut().insert(
            "x-forwarded-host",
            "public.example.com, proxy".parse().unwrap(),
        );
        request
    };
    let base = "http://internal:8080";
    let ignoring = WebhookLayer::new(validator(), base);
    assert_eq!(send(ignoring, forwarded()).await.0, StatusCode::FORBIDDEN);
    let trusting = WebhookLayer::new(validator(), base).trust_forwarded_headers(true);
    assert_eq!(send(trusting.clone(), forwarded()).await.0, StatusCode::OK);
    let mut odd = forwarded();
    odd.headers_mut()
        .insert("x-forwarded-proto", "gopher".parse().unwrap());
    assert_eq!(send(trusting, odd).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_url_can_come_from_a_function() {
    let layer = WebhookLayer::with_url_fn(validator(), |parts| {
        let tenant = parts.headers.get("x-tenant")?.to_str().ok()?;
        Some(format!("https://{tenant}.example.com{}", parts.uri.path()))
    });
    let signature = signed("https://acme.example.com/sms");
    let mut request = form("/sms", &signature, BODY);
    request
        .headers_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    assert_eq!(send(layer.clone(), request).await.0, StatusCode::OK);
    assert_eq!(
        send(layer, form("/sms", &signature, BODY)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn matched_key_is_in_the_extensions() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    let signature = signed("https://hooks.example.com/sms");
    let service = layer.layer(tower::service_fn(
        |request: Request<Full<Bytes>>| async move {
            let verified = request.extensions().get::<Verified>().cloned().unwrap();
            assert!(matches!(
                verified.key(),
                MatchedKey::Token {
                    label: TokenLabel::Current,
                    ..
                }
            ));
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        },
    ));
    assert_eq!(
        service
            .oneshot(form("/sms", &signature, BODY))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// The [`Refusal`] in the response's extensions, after a request through the layer.
async fn refusal(layer: WebhookLayer, request: Request<Full<Bytes>>) -> Option<Refusal> {
    let response = layer
        .layer(tower::service_fn(echo))
        .oneshot(request)
        .await
        .unwrap();
    let refusal = response.extensions().get::<Refusal>().cloned();
    if let Some(refusal) = &refusal {
        assert_eq!(refusal.status(), response.status(), "{refusal}");
    }
    refusal
}

#[tokio::test]
async fn the_response_says_why_to_code_that_asks() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    let signature = signed("https://hooks.example.com/sms");
    assert_eq!(
        refusal(layer.clone(), form("/sms", &signature, BODY)).await,
        None
    );
    let forged = refusal(layer.clone(), form("/other", &signature, BODY)).await;
    assert_eq!(
        forged,
        Some(Refusal::Rejected(Rejection::SignatureMismatch))
    );
    assert_eq!(forged.unwrap().code(), "signature_mismatch");
    let small = layer.body_limit(16);
    let too_large = refusal(small, form("/sms", &signature, BODY))
        .await
        .unwrap();
    assert_eq!(too_large, Refusal::BodyTooLarge { limit: 16 });
    assert_eq!(too_large.code(), "body_too_large");
}

#[tokio::test]
async fn a_repeated_signature_or_settings_header_is_rejected() {
    let layer = WebhookLayer::new(validator(), "https://hooks.example.com");
    let signature = signed("https://hooks.example.com/sms");
    // The genuine signature first: a layer that took the first value would accept this.
    let mut twice = form("/sms", &signature, BODY);
    twice.headers_mut().append(
        "x-twilio-signature",
        "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==".parse().unwrap(),
    );
    assert_eq!(
        refusal(layer.clone(), twice).await,
        Some(Refusal::Rejected(Rejection::RepeatedHeader {
            name: SIGNATURE_HEADER
        }))
    );
    let mut settings_twice = form("/sms", &signature, BODY);
    for value in [
        "key=k,algorithm=HMAC_SHA256",
        "key=k2,algorithm=HMAC_SHA256",
    ] {
        settings_twice.headers_mut().append(
            "x-twilio-webhooks-signature-settings",
            value.parse().unwrap(),
        );
    }
    assert_eq!(
        refusal(layer, settings_twice).await,
        Some(Refusal::Rejected(Rejection::RepeatedHeader {
            name: SIGNATURE_SETTINGS_HEADER
        }))
    );
}

#[tokio::test]
async fn a_validator_with_shared_keys_only_behind_the_layer() {
    let validator = Validator::with_shared_keys([SharedKey::new("webhooks_sharedkey_1", "s3cret")]);
    let layer = WebhookLayer::new(validator, "https://hooks.example.com");
    let params = [("Body", "hi")];
    let signature = sign(
        Algorithm::HmacSha256,
        "s3cret",
        "https://hooks.example.com/sms",
        &params,
    );
    let mut request = form("/sms", &signature, b"Body=hi");
    request.headers_mut().insert(
        "x-twilio-webhooks-signature-settings",
        "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
            .parse()
            .unwrap(),
    );
    let (status, key, _) = send(layer.clone(), request).await;
    assert_eq!(
        (status, key.as_str()),
        (StatusCode::OK, "SharedKey webhooks_sharedkey_1")
    );
    assert_eq!(
        refusal(
            layer,
            form("/sms", &signed("https://hooks.example.com/sms"), BODY)
        )
        .await,
        Some(Refusal::Rejected(Rejection::NoAuthToken))
    );
}
