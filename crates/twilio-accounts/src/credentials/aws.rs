//! AWS credentials (`/v1/Credentials/AWS`): `list`, `create`, `fetch`, `update`, `delete`.
//!
//! ```no_run
//! # async fn run(client: twilio_accounts::Client, sid: twilio_types::CredentialSid) -> Result<(), twilio_accounts::Error> {
//! let one = client.credentials().aws().fetch(sid).send().await?;
//! client.credentials().aws().update(sid).friendly_name("renamed").send().await?;
//! client.credentials().aws().delete(sid).send().await?;
//! # Ok(()) }
//! ```

use super::AwsCredentials;

/// The AWS key pair goes on the wire as `ID:SECRET`; [`AwsCredentials::new`] already checked it.
#[allow(clippy::unnecessary_wraps)] // the signature every credential kind shares
fn wire_value(credentials: &AwsCredentials) -> Result<&str, Error> {
    Ok(credentials.expose_secret())
}

super::resource::credential_resource! {
    resource: AwsResource,
    accessor: "aws",
    noun: "AWS credentials",
    a_noun: "an AWS credential",
    path: "/v1/Credentials/AWS",
    model: CredentialAws,
    list: ListCredentialAws,
    create: CreateCredentialAws {
        arg: credentials: AwsCredentials,
        stored: AwsCredentials,
        form_key: "Credentials",
        wire_value: wire_value,
        arg_doc: "`credentials` is the AWS key pair (a secret, sent as the `Credentials` form field).",
        example: "use twilio_accounts::credentials::AwsCredentials;
# async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
let secret = AwsCredentials::new(\"AKIAIOSFODNN7EXAMPLE\", \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\")?;
let created = client.credentials().aws().create(secret).friendly_name(\"backups\").send().await?;
# Ok(()) }",
        example_param: "secret: twilio_accounts::credentials::AwsCredentials",
        example_arg: "secret",
    },
    fetch: FetchCredentialAws,
    update: UpdateCredentialAws,
    delete: DeleteCredentialAws,
}
