//! The Secrets Manager side: the calls a rotation makes, each mapped to a typed error that names
//! the secret and the version (the SDK's error, which never holds a secret value, is the
//! `source()`).

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::SdkError;

use crate::error::{Error, ErrorKind};
use crate::value::TwilioSecret;

/// The staging label of the version consumers use.
pub(crate) const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label of the version a rotation is creating.
pub(crate) const AWSPENDING: &str = "AWSPENDING";
/// The staging label Secrets Manager moves to the version `AWSCURRENT` leaves.
pub(crate) const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// What `DescribeSecret` says about a secret's rotation.
#[derive(Debug)]
pub(crate) struct Description {
    pub(crate) rotation_enabled: bool,
    /// Version id → its staging labels.
    pub(crate) versions: HashMap<String, Vec<String>>,
}

impl Description {
    /// The version that holds `label`, if any.
    pub(crate) fn version_with(&self, label: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, labels)| labels.iter().any(|l| l == label))
            .map(|(id, _)| id.as_str())
    }

    /// Whether `version` holds `label`.
    pub(crate) fn has(&self, version: &str, label: &str) -> bool {
        self.versions
            .get(version)
            .is_some_and(|labels| labels.iter().any(|l| l == label))
    }
}

/// A Secrets Manager client for one secret's rotation.
#[derive(Debug, Clone)]
pub(crate) struct Secrets {
    pub(crate) client: Client,
}

fn sdk_error<E, R>(message: String, e: SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::with_source(ErrorKind::SecretsManager, message, e)
}

impl Secrets {
    /// `DescribeSecret`.
    pub(crate) async fn describe(&self, secret_id: &str) -> Result<Description, Error> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| sdk_error(format!("DescribeSecret of secret {secret_id} failed"), e))?;
        Ok(Description {
            rotation_enabled: out.rotation_enabled() == Some(true),
            versions: out.version_ids_to_stages().cloned().unwrap_or_default(),
        })
    }

    /// `GetSecretValue` of the version with `label` (and `version_id`, when given), parsed;
    /// `None` when there is no such version or it has no value yet.
    pub(crate) async fn value(
        &self,
        secret_id: &str,
        version_id: Option<&str>,
        label: &str,
    ) -> Result<Option<TwilioSecret>, Error> {
        let what = match version_id {
            Some(id) => format!("version {id} ({label}) of secret {secret_id}"),
            None => format!("the {label} version of secret {secret_id}"),
        };
        let answer = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version_id.map(str::to_owned))
            .version_stage(label)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk_error(format!("GetSecretValue of {what} failed"), e)),
        };
        let Some(text) = out.secret_string() else {
            return Err(Error::new(
                ErrorKind::MalformedSecret,
                format!("{what} has no SecretString (a binary secret is not a Twilio secret)"),
            ));
        };
        TwilioSecret::parse(text, &what).map(Some)
    }

    /// `PutSecretValue` of `secret` as version `version_id`, staged `AWSPENDING`.
    pub(crate) async fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        secret: &TwilioSecret,
    ) -> Result<(), Error> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(secret.to_secret_string())
            .version_stages(AWSPENDING)
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    format!("PutSecretValue of version {version_id} of secret {secret_id} failed"),
                    e,
                )
            })?;
        Ok(())
    }

    /// `UpdateSecretVersionStage`: moves `AWSCURRENT` from `from` to `to` (Secrets Manager
    /// moves `AWSPREVIOUS` to `from` by itself).
    pub(crate) async fn move_current(
        &self,
        secret_id: &str,
        to: &str,
        from: Option<&str>,
    ) -> Result<(), Error> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to)
            .set_remove_from_version_id(from.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    format!("moving AWSCURRENT of secret {secret_id} to version {to} failed"),
                    e,
                )
            })?;
        Ok(())
    }
}
