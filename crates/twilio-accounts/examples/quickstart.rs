//! A tour of the API against the in-process emulator, so it runs anywhere without an account:
//! `cargo run -p twilio-accounts --example quickstart`.
//!
//! Against Twilio, build the client with `Client::from_env()?` instead.

use futures_util::TryStreamExt;
use twilio_accounts::bulk_contacts::ContactItem;
use twilio_accounts::credentials::AwsCredentials;
use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
use twilio_accounts::{Client, Credentials, Error};
use twilio_emulator::Emulator;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder().start().await?;
    let client = Client::builder()
        .credentials(Credentials::from_auth_token(
            emulator.account_sid(),
            emulator.auth_token(),
        )?)
        .base_url(&emulator.base_url())
        .build()?;
    println!("client: {client:?}");

    // Required parameters are arguments, optional ones are setters, `send()` calls.
    for i in 0..5 {
        let keys = AwsCredentials::new(&format!("AKIAEXAMPLE{i:05}"), "wJalrXUtnFEMI/K7MDENG")?;
        let created = client
            .credentials()
            .aws()
            .create(keys)
            .friendly_name(format!("backup key {i}"))
            .send()
            .await?;
        println!("created {:?} {:?}", created.sid, created.friendly_name);
    }

    // One page, then every item across pages.
    let page = client
        .credentials()
        .aws()
        .list()
        .page_size(2)
        .send()
        .await?;
    println!(
        "first page: {} items, next: {:?}",
        page.items.len(),
        page.meta.next_page_url
    );
    let all: Vec<_> = client
        .credentials()
        .aws()
        .list()
        .page_size(2)
        .into_stream()
        .try_collect()
        .await?;
    println!("all pages: {} items", all.len());

    // SafeList, bulk contacts, geo permissions.
    let entry = client.safelist().create("+18001234567").send().await?;
    println!("safelisted {:?} as {:?}", entry.phone_number, entry.sid);
    let contacts = client
        .bulk_contacts()
        .create([ContactItem::new(
            "+15005550006",
            "ad388b5a46b33b874b0d41f7226db2ef",
            "US",
            "94105",
        )])
        .send()
        .await?;
    for result in contacts.item_results()? {
        println!(
            "contact {:?}: success={}",
            result.correlation_id,
            result.is_success()
        );
    }
    let geo = client
        .messaging_geopermissions()
        .update([GeoPermissionUpdate::new("IN", true)])
        .send()
        .await?;
    println!("geo: {:?}", geo.permission_entries()?);

    // Errors say where the call stopped.
    match client.auth_token_promotion().update().send().await {
        Err(Error::Api(api)) => println!(
            "promote without a secondary token: HTTP {} code {:?}",
            api.status(),
            api.code()
        ),
        other => println!("unexpected: {other:?}"),
    }
    match client
        .credentials()
        .aws()
        .list()
        .page_size(5000)
        .send()
        .await
    {
        Err(err @ Error::Build(_)) => println!("refused locally: {err}"),
        other => println!("unexpected: {other:?}"),
    }

    emulator.shutdown().await;
    Ok(())
}
