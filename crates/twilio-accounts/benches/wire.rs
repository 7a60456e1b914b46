//! Wire-format costs: decoding list pages and building + sending + decoding a bulk request
//! over an in-memory transport. `cargo bench -p twilio-accounts --bench wire`.
//!
//! A plain timing loop (no harness dependency): each case runs for about a second after a
//! warm-up and prints the mean time per iteration.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
use twilio_accounts::model::{CredentialAws, Page};
use twilio_accounts::{Client, Credentials, RetryConfig};
use twilio_types::{AccountSid, AuthToken};

fn measure(name: &str, mut f: impl FnMut()) {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs(1) {
        f();
        n += 1;
    }
    let per = start.elapsed() / n;
    println!("{name:<48} {per:>12.2?} / iter ({n} iters)");
}

fn page_body(n: usize) -> Vec<u8> {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"sid":"CR{i:032x}","account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","friendly_name":"key {i}","date_created":"2015-07-31T04:00:00Z","date_updated":"2015-07-31T04:00:00Z","url":"https://accounts.twilio.com/v1/Credentials/AWS/CR{i:032x}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"credentials":[{}],"meta":{{"page":0,"page_size":{n},"key":"credentials","next_page_url":null,"url":"https://accounts.twilio.com/v1/Credentials/AWS?PageSize={n}&Page=0"}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

fn main() {
    for n in [50, 1000] {
        let body = page_body(n);
        measure(&format!("decode Page<CredentialAws> ({n} items)"), || {
            let page = Page::<CredentialAws>::from_json(black_box(&body)).unwrap();
            black_box(page);
        });
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let response = Bytes::from_static(
        br#"{"items":[{"correlation_id":"c","error_code":0,"error_messages":[]}]}"#,
    );
    let service = tower::service_fn(move |_req: Request<Bytes>| {
        let body = response.clone();
        async move {
            Ok::<_, std::convert::Infallible>(
                Response::builder()
                    .status(201)
                    .header("content-type", "application/json")
                    .body(Full::new(body))
                    .unwrap(),
            )
        }
    });
    let credentials = Credentials::from_auth_token(
        AccountSid::from_static("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        AuthToken::new("bench-token").unwrap(),
    )
    .unwrap();
    let client = Client::builder()
        .credentials(credentials)
        .base_url("http://127.0.0.1:1")
        .retry(RetryConfig::disabled())
        .transport(service)
        .build()
        .unwrap();
    let items: Vec<ConsentItem> = (0..25)
        .map(|i| {
            ConsentItem::new(
                "+15005550006",
                format!("{i:032x}"),
                "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                ConsentStatus::OptIn,
                ConsentSource::Website,
            )
            .date_of_consent(time::macros::datetime!(2025-02-28 10:05:27 UTC))
        })
        .collect();
    measure("bulk_consents().create(25 items).send() in-memory", || {
        let result = runtime
            .block_on(client.bulk_consents().create(items.clone()).send())
            .unwrap();
        black_box(result);
    });
}
