//! What the tower-layer tests share: a validator, signed form requests, an echo service.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer, ServiceExt};
use twilio_types::AuthToken;
use twilio_webhooks::tower::WebhookLayer;
use twilio_webhooks::{Algorithm, Validator, Verified, sign};

pub const TOKEN: &str = "tok-LEAKCHECK-0123456789abcdef";
pub const BODY: &[u8] = b"From=%2B15551234567&Body=caf%C3%A9+%26+more&MediaUrl=b&MediaUrl=a";

pub fn validator() -> Validator {
    Validator::new(AuthToken::new(TOKEN).unwrap())
}

pub fn signed(url: &str) -> String {
    sign(
        Algorithm::HmacSha1,
        TOKEN,
        url,
        &[
            ("From", "+15551234567"),
            ("Body", "café & more"),
            ("MediaUrl", "b"),
            ("MediaUrl", "a"),
        ],
    )
}

/// Echoes the body it receives and says which key the layer matched.
pub async fn echo(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let key = request
        .extensions()
        .get::<Verified>()
        .map(|v| v.key().to_string())
        .unwrap_or_default();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert("x-key", key.parse().unwrap());
    Ok(response)
}

pub fn form(path: &str, signature: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
    Request::post(path)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header("x-twilio-signature", signature)
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

pub async fn send(
    layer: WebhookLayer,
    request: Request<Full<Bytes>>,
) -> (StatusCode, String, Bytes) {
    let response = layer
        .layer(tower::service_fn(echo))
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let key = response
        .headers()
        .get("x-key")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, key, body)
}
