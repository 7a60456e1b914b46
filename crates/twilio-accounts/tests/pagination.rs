//! Paging over canned transports: `send()` returns one page, `into_stream()` follows
//! `meta.next_page_url` lazily, stops at null, honours `limit`, and refuses other hosts.

mod common;

use common::{BASE, Canned, canned_client};
use futures_util::{StreamExt, TryStreamExt};
use twilio_accounts::Error;

/// Path and query of a request as the transport saw it (it adds the base URL).
fn pq(r: &http::Request<bytes::Bytes>) -> String {
    r.uri().path_and_query().unwrap().to_string()
}

fn cred(i: usize) -> String {
    format!(r#"{{"sid":"CR{i:032x}","friendly_name":"c{i}"}}"#)
}

fn page(items: std::ops::Range<usize>, next: Option<&str>) -> Canned {
    let items: Vec<String> = items.map(cred).collect();
    let next = next.map_or("null".to_owned(), |n| format!("\"{n}\""));
    Canned::json(
        200,
        format!(
            r#"{{"credentials":[{}],"meta":{{"key":"credentials","page_size":3,"next_page_url":{next}}}}}"#,
            items.join(",")
        ),
    )
}

fn three_pages() -> Vec<Canned> {
    vec![
        page(
            0..3,
            Some(&format!(
                "{BASE}/v1/Credentials/AWS?PageSize=3&Page=1&PageToken=PA%2B1"
            )),
        ),
        page(
            3..6,
            Some("/v1/Credentials/AWS?PageSize=3&Page=2&PageToken=PA2"),
        ),
        page(6..7, None),
    ]
}

#[tokio::test]
async fn send_returns_one_page() {
    let (client, recorder) = canned_client(three_pages());
    let p = client
        .credentials()
        .aws()
        .list()
        .page_size(3)
        .send()
        .await
        .unwrap();
    assert_eq!(p.items.len(), 3);
    assert!(p.meta.next_page_url.is_some());
    assert_eq!(recorder.count(), 1);
    assert_eq!(
        pq(&recorder.requests()[0]),
        "/v1/Credentials/AWS?PageSize=3"
    );
}

#[tokio::test]
async fn stream_follows_every_page_lazily() {
    let (client, recorder) = canned_client(three_pages());
    let mut stream = client.credentials().aws().list().page_size(3).into_stream();
    assert_eq!(recorder.count(), 0, "nothing is sent before the first poll");
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.friendly_name.as_deref(), Some("c0"));
    assert_eq!(recorder.count(), 1, "one page at a time");
    let rest: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(rest.len(), 6);
    assert_eq!(rest.last().unwrap().friendly_name.as_deref(), Some("c6"));
    let uris: Vec<String> = recorder.requests().iter().map(pq).collect();
    assert!(
        recorder
            .requests()
            .iter()
            .all(|r| r.uri().authority().unwrap() == "127.0.0.1:4010")
    );
    assert_eq!(
        uris,
        [
            "/v1/Credentials/AWS?PageSize=3",
            "/v1/Credentials/AWS?PageSize=3&Page=1&PageToken=PA%2B1",
            "/v1/Credentials/AWS?PageSize=3&Page=2&PageToken=PA2",
        ]
    );
}

#[tokio::test]
async fn limit_caps_items_and_requests() {
    let (client, recorder) = canned_client(three_pages());
    let items: Vec<_> = client
        .credentials()
        .public_key()
        .list()
        .page_size(3)
        .limit(4)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(recorder.count(), 2);

    let (client, recorder) = canned_client(three_pages());
    let p = client
        .credentials()
        .aws()
        .list()
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(p.items.len(), 2);
    assert_eq!(
        pq(&recorder.requests()[0]),
        "/v1/Credentials/AWS?PageSize=2"
    );
}

#[tokio::test]
async fn next_page_on_another_host_is_refused_without_a_request() {
    for next in [
        "https://accounts.twilio.com/v1/Credentials/AWS?Page=1",
        "http://evil.example:4010/v1/Credentials/AWS?Page=1",
        "https://127.0.0.1:4010/v1/Credentials/AWS?Page=1",
        "http://127.0.0.1:4011/v1/Credentials/AWS?Page=1",
    ] {
        let (client, recorder) = canned_client(vec![page(0..2, Some(next)), page(2..4, None)]);
        let results: Vec<Result<_, Error>> = client
            .credentials()
            .aws()
            .list()
            .into_stream()
            .collect()
            .await;
        assert_eq!(results.len(), 3, "{next}");
        assert!(results[0].is_ok() && results[1].is_ok());
        let Err(Error::Build(b)) = &results[2] else {
            panic!("{next}: {:?}", results[2])
        };
        assert_eq!(b.field(), Some("meta.next_page_url"));
        assert_eq!(
            recorder.count(),
            1,
            "{next}: nothing sent to the other host"
        );
    }
}

#[tokio::test]
async fn errors_end_the_stream() {
    let (client, _) = canned_client(vec![
        page(0..1, Some("/v1/Credentials/AWS?Page=1")),
        Canned::json(500, r#"{"code":20500,"message":"Internal"}"#),
    ]);
    let results: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .into_stream()
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert_eq!(results[1].as_ref().unwrap_err().code(), Some(20500));

    let (client, recorder) = canned_client(vec![Canned::json(200, "{}")]);
    let results: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .page_size(0)
        .into_stream()
        .collect()
        .await;
    assert_eq!(results.len(), 1);
    assert!(matches!(results[0], Err(Error::Build(_))));
    assert_eq!(recorder.count(), 0);
}

#[tokio::test]
async fn a_page_pointing_at_itself_does_not_loop() {
    let (client, recorder) = canned_client(vec![page(0..0, Some("/v1/Credentials/AWS"))]);
    let items: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(items.is_empty());
    assert!(recorder.count() <= 2);
}

#[tokio::test]
async fn a_loop_of_several_pages_stops_before_fetching_a_page_again() {
    // Page 0 -> page 1 -> page 2 -> back to page 1: a loop of length two.
    let (client, recorder) = canned_client(vec![
        page(0..2, Some("/v1/Credentials/AWS?Page=1")),
        page(2..4, Some("/v1/Credentials/AWS?Page=2")),
        page(4..5, Some(&format!("{BASE}/v1/Credentials/AWS?Page=1"))),
        page(90..99, None), // must never be asked for
    ]);
    let items: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = items
        .iter()
        .filter_map(|c| c.friendly_name.clone())
        .collect();
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);
    assert_eq!(recorder.count(), 3, "each page fetched once");
}

#[tokio::test]
async fn pages_yields_each_page_with_its_resume_point() {
    let (client, recorder) = canned_client(three_pages());
    let mut pages = client.credentials().aws().list().page_size(3).pages();
    assert_eq!(recorder.count(), 0, "nothing is sent before the first poll");
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(recorder.count(), 1, "one page at a time");
    let checkpoint = first.meta.next_page_url.clone().unwrap();
    let rest: Vec<_> = pages.try_collect().await.unwrap();
    assert_eq!(
        rest.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [3, 1]
    );
    assert!(rest.last().unwrap().meta.next_page_url.is_none());

    // Resume from the checkpoint in a "new process": the listing starts at page 1.
    let (client, recorder) = canned_client(three_pages().split_off(1));
    let resumed: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .resume_from(checkpoint)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(resumed.len(), 4);
    assert_eq!(resumed[0].friendly_name.as_deref(), Some("c3"));
    assert_eq!(
        pq(&recorder.requests()[0]),
        "/v1/Credentials/AWS?PageSize=3&Page=1&PageToken=PA%2B1"
    );
}

#[tokio::test]
async fn pages_honour_the_limit_and_cut_the_last_page() {
    let (client, recorder) = canned_client(three_pages());
    let pages: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .page_size(3)
        .limit(4)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [3, 1]
    );
    assert_eq!(recorder.count(), 2);
}

#[tokio::test]
async fn resuming_from_a_foreign_url_sends_nothing() {
    let (client, recorder) = canned_client(three_pages());
    let result = client
        .credentials()
        .public_key()
        .list()
        .resume_from("https://evil.example/v1/Credentials/PublicKeys?Page=1")
        .send()
        .await;
    let Err(Error::Build(b)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(b.field(), Some("meta.next_page_url"));
    let results: Vec<_> = client
        .credentials()
        .public_key()
        .list()
        .resume_from("//evil.example/x")
        .pages()
        .collect()
        .await;
    assert!(matches!(results[..], [Err(Error::Build(_))]));
    assert_eq!(recorder.count(), 0);
}
