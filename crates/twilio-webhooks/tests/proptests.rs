//! Properties: whatever the URL and parameters, a signature validates (as decoded parameters
//! and as a form body), and changing one character of the URL, a name, a value or the
//! signature makes it fail.

use proptest::prelude::*;
use twilio_types::AuthToken;
use twilio_webhooks::{Algorithm, Rejection, SharedKey, Validator, WebhookRequest, sign};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// `https?://host[:port]/path[?query]`, path and query from a small alphabet so that no one-
/// character change gives a URL the official validators treat as equivalent (see
/// `one_changed_url_character_is_rejected`).
fn url() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("https"), Just("http")],
        "[a-z]{1,12}\\.(com|org|io)",
        proptest::option::of(1024u16..65535),
        "(/[a-z0-9]{0,8}){0,4}",
        proptest::option::of("[a-z0-9]{1,6}=[a-z0-9]{0,6}(&[a-z0-9]{1,6}=[a-z0-9]{0,6}){0,3}"),
    )
        .prop_map(|(scheme, host, port, path, query)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}{query}")
        })
}

/// Any text, including `+`, `&`, `=`, `%`, spaces, Unicode and the empty string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 +&=%#?/é中😀]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((text(), text()), 0..12)
}

fn form_encode(params: &[(String, String)]) -> String {
    let encode = |text: &str| {
        let mut out = String::new();
        for &b in text.as_bytes() {
            match b {
                b' ' => out.push('+'),
                b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => out.push(char::from(b)),
                b => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    params
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn validate(
    validator: &Validator,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> Result<(), Rejection> {
    let request = WebhookRequest::new(url)
        .signature(Some(signature))
        .params(params);
    validator.validate(&request).map(drop)
}

/// `text` with its `index`-th character (modulo its length) replaced by another character.
fn change_one(text: &str, index: usize, replacement: char) -> String {
    let chars: Vec<char> = text.chars().collect();
    let i = index % chars.len();
    let new = if chars[i] == replacement {
        if replacement == 'a' { 'b' } else { 'a' }
    } else {
        replacement
    };
    chars
        .iter()
        .enumerate()
        .map(|(j, &c)| if j == i { new } else { c })
        .collect()
}

proptest! {
    #[test]
    fn sign_then_validate_round_trips(url in url(), params in params()) {
        let validator = Validator::new(AuthToken::new(TOKEN).unwrap());
        let signature = sign(Algorithm::HmacSha1, TOKEN, &url, &params);
        prop_assert_eq!(validate(&validator, &url, &params, &signature), Ok(()));
        let body = form_encode(&params);
        let request = WebhookRequest::new(&url).signature(Some(&signature)).form_body(body.as_bytes());
        prop_assert!(validator.validate(&request).is_ok());
    }

    #[test]
    fn shared_key_sign_then_validate_round_trips(url in url(), params in params()) {
        let validator = Validator::new(AuthToken::new(TOKEN).unwrap());
        validator.add_shared_key(SharedKey::new("webhooks_sharedkey_1", "shared-secret"));
        let signature = sign(Algorithm::HmacSha256, "shared-secret", &url, &params);
        let request = WebhookRequest::new(&url)
            .signature(Some(&signature))
            .signature_settings(Some("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"))
            .params(&params);
        prop_assert!(validator.validate(&request).is_ok());
    }

    #[test]
    fn one_changed_url_character_is_rejected(
        url in url(), params in params(), index in any::<usize>(), replacement in "[a-zA-Z0-9]",
    ) {
        let validator = Validator::new(AuthToken::new(TOKEN).unwrap());
        let signature = sign(Algorithm::HmacSha1, TOKEN, &url, &params);
        // Change the path or query only: the scheme's case, the host's case and the port are
        // variants the official validators accept on purpose.
        let path_start = url.find("://").unwrap() + 3;
        let path_start = path_start + url[path_start..].find('/').unwrap_or(url.len() - path_start);
        prop_assume!(path_start + 1 < url.len());
        let tail = change_one(&url[path_start + 1..], index, replacement.chars().next().unwrap());
        let changed = format!("{}{}", &url[..=path_start], tail);
        prop_assert_eq!(validate(&validator, &changed, &params, &signature), Err(Rejection::SignatureMismatch));
    }

    #[test]
    fn one_changed_name_or_value_character_is_rejected(
        url in url(), params in params(), which in any::<usize>(), index in any::<usize>(),
        replacement in any::<char>(), name in any::<bool>(),
    ) {
        prop_assume!(!params.is_empty());
        let validator = Validator::new(AuthToken::new(TOKEN).unwrap());
        let signature = sign(Algorithm::HmacSha1, TOKEN, &url, &params);
        let mut changed = params.clone();
        let i = which % changed.len();
        let field = if name { &mut changed[i].0 } else { &mut changed[i].1 };
        prop_assume!(!field.is_empty());
        *field = change_one(field, index, replacement);
        prop_assert_eq!(validate(&validator, &url, &changed, &signature), Err(Rejection::SignatureMismatch));
    }

    #[test]
    fn one_changed_signature_character_is_rejected(
        url in url(), params in params(), index in any::<usize>(), replacement in "[A-Za-z0-9+/=]",
    ) {
        let validator = Validator::new(AuthToken::new(TOKEN).unwrap());
        let signature = sign(Algorithm::HmacSha1, TOKEN, &url, &params);
        let changed = change_one(&signature, index, replacement.chars().next().unwrap());
        prop_assert_eq!(validate(&validator, &url, &params, &changed), Err(Rejection::SignatureMismatch));
    }

    #[test]
    fn arbitrary_headers_and_urls_never_panic(
        url in any::<String>(), signature in any::<String>(), settings in proptest::option::of(any::<String>()),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let validator = Validator::new(AuthToken::new(TOKEN).unwrap());
        validator.add_shared_key(SharedKey::new("k", "s"));
        for request in [
            WebhookRequest::new(&url).signature(Some(&signature)).signature_settings(settings.as_deref()).form_body(&body),
            WebhookRequest::new(&url).signature(Some(&signature)).signature_settings(settings.as_deref()).raw_body(&body),
        ] {
            prop_assert!(validator.validate(&request).is_err());
        }
    }
}
