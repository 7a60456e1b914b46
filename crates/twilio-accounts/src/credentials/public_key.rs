//! Public-key credentials (`/v1/Credentials/PublicKeys`): `list`, `create`, `fetch`, `update`,
//! `delete`.
//!
//! ```no_run
//! # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
//! let one = client.credentials().public_key().fetch(sid).send().await?;
//! client.credentials().public_key().update(sid).friendly_name("renamed").send().await?;
//! client.credentials().public_key().delete(sid).send().await?;
//! # Ok(()) }
//! ```

use crate::request::check_text;

/// The PEM text goes on the wire as it is (the form encoder escapes `+ / =` and newlines);
/// it must not be blank or hold control characters other than newlines.
fn wire_value(public_key: &str) -> Result<&str, Error> {
    check_text("public_key", public_key, true)?;
    Ok(public_key)
}

super::resource::credential_resource! {
    resource: PublicKeyResource,
    accessor: "public_key",
    noun: "public-key credentials",
    a_noun: "a public-key credential",
    path: "/v1/Credentials/PublicKeys",
    model: CredentialPublicKey,
    list: ListCredentialPublicKey,
    create: CreateCredentialPublicKey {
        arg: public_key: impl Into<String>,
        stored: String,
        form_key: "PublicKey",
        wire_value: wire_value,
        arg_doc: "`public_key` is the PEM text (`-----BEGIN PUBLIC KEY-----…`); it is percent-encoded for you.",
        example: "# async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
let pem = std::fs::read_to_string(\"key.pem\")?;
let created = client.credentials().public_key().create(pem).friendly_name(\"signing\").send().await?;
# Ok(()) }",
        example_param: "pem: String",
        example_arg: "pem",
    },
    fetch: FetchCredentialPublicKey,
    update: UpdateCredentialPublicKey,
    delete: DeleteCredentialPublicKey,
}
