//! The client, every builder, the stream and the error are `Send + Sync` (safe to share across
//! tasks), and every `send()` future is `Send + 'static` (spawnable). Compile-time checks: a
//! regression fails the build of this test.

mod common;

use twilio_accounts::auth_tokens::*;
use twilio_accounts::bulk_consents::CreateBulkConsents;
use twilio_accounts::bulk_contacts::{ContactItem, CreateBulkContacts};
use twilio_accounts::credentials::aws::*;
use twilio_accounts::credentials::public_key::*;
use twilio_accounts::credentials::{AwsCredentials, CredentialsResource};
use twilio_accounts::messaging_geopermissions::*;
use twilio_accounts::model::CredentialAws;
use twilio_accounts::safelist::*;
use twilio_accounts::{Client, ClientBuilder, Error, ItemStream, PageStream};
use twilio_types::CredentialSid;

fn send_sync<T: Send + Sync + 'static>() {}

fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}

#[test]
fn types_are_send_and_sync() {
    send_sync::<Client>();
    send_sync::<ClientBuilder>();
    send_sync::<Error>();
    send_sync::<CredentialsResource>();
    send_sync::<AwsResource>();
    send_sync::<PublicKeyResource>();
    send_sync::<ListCredentialAws>();
    send_sync::<CreateCredentialAws>();
    send_sync::<FetchCredentialAws>();
    send_sync::<UpdateCredentialAws>();
    send_sync::<DeleteCredentialAws>();
    send_sync::<ListCredentialPublicKey>();
    send_sync::<CreateCredentialPublicKey>();
    send_sync::<FetchCredentialPublicKey>();
    send_sync::<UpdateCredentialPublicKey>();
    send_sync::<DeleteCredentialPublicKey>();
    send_sync::<CreateSecondaryAuthToken>();
    send_sync::<DeleteSecondaryAuthToken>();
    send_sync::<UpdateAuthTokenPromotion>();
    send_sync::<CreateSafelist>();
    send_sync::<FetchSafelist>();
    send_sync::<DeleteSafelist>();
    send_sync::<CreateBulkConsents>();
    send_sync::<CreateBulkContacts>();
    send_sync::<FetchMessagingGeopermissions>();
    send_sync::<UpdateMessagingGeopermissions>();
    fn send<T: Send + 'static>() {}
    send::<ItemStream<CredentialAws>>();
    send::<PageStream<CredentialAws>>();
}

#[test]
fn send_futures_are_spawnable() {
    let (client, _) = common::canned_client(vec![common::Canned::json(200, "{}")]);
    let sid = CredentialSid::from_static("CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let aws = AwsCredentials::new("AKID", "secret").unwrap();
    // Built, never polled: only the types matter.
    spawnable(client.credentials().aws().list().send());
    spawnable(client.credentials().aws().create(aws).send());
    spawnable(client.credentials().aws().fetch(sid).send());
    spawnable(client.credentials().aws().update(sid).send());
    spawnable(client.credentials().aws().delete(sid).send());
    spawnable(client.credentials().public_key().list().send());
    spawnable(client.credentials().public_key().create("pem").send());
    spawnable(client.credentials().public_key().fetch(sid).send());
    spawnable(client.credentials().public_key().update(sid).send());
    spawnable(client.credentials().public_key().delete(sid).send());
    spawnable(client.secondary_auth_token().create().send());
    spawnable(client.secondary_auth_token().delete().send());
    spawnable(client.auth_token_promotion().update().send());
    spawnable(client.safelist().create("+1").send());
    spawnable(client.safelist().fetch("+1").send());
    spawnable(client.safelist().delete("+1").send());
    spawnable(client.bulk_consents().create([]).send());
    spawnable(
        client
            .bulk_contacts()
            .create([ContactItem::new("+1", "c", "US", "1")])
            .send(),
    );
    spawnable(client.messaging_geopermissions().fetch().send());
    spawnable(client.messaging_geopermissions().update([]).send());
}
