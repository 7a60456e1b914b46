//! The event Secrets Manager invokes a rotation function with:
//! `{"SecretId": "…", "ClientRequestToken": "…", "Step": "createSecret"}` (newer events add
//! `RotationToken`, ignored here).

use std::fmt;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};

/// One invocation of the rotation function.
///
/// ```
/// use twilio_aws_rotation::{RotationEvent, Step};
///
/// let event = RotationEvent::from_json(br#"{
///     "SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf",
///     "ClientRequestToken": "6d4c2b1a-0000-4000-8000-000000000000",
///     "Step": "testSecret",
///     "RotationToken": "ignored"
/// }"#)?;
/// assert_eq!(event.step, Step::TestSecret);
/// # Ok::<(), twilio_aws_rotation::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationEvent {
    /// The secret's ARN or name.
    pub secret_id: String,
    /// The version this rotation creates; the rotation's identity across retries.
    pub client_request_token: String,
    /// Which of the four steps to run.
    pub step: Step,
}

/// The four steps of a Secrets Manager rotation, in the order it calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Make the new token and store it as the `AWSPENDING` version.
    CreateSecret,
    /// Set the pending token in the service (nothing to do for Twilio: the token exists).
    SetSecret,
    /// Check that the pending token authenticates.
    TestSecret,
    /// Move `AWSCURRENT` to the pending version.
    FinishSecret,
}

impl Step {
    /// The step's name on the wire (`createSecret`, …).
    ///
    /// ```
    /// assert_eq!(twilio_aws_rotation::Step::FinishSecret.as_str(), "finishSecret");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CreateSecret => "createSecret",
            Step::SetSecret => "setSecret",
            Step::TestSecret => "testSecret",
            Step::FinishSecret => "finishSecret",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Step::CreateSecret,
            Step::SetSecret,
            Step::TestSecret,
            Step::FinishSecret,
        ]
        .into_iter()
        .find(|step| step.as_str() == name)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event's fields as they arrive.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    step: Option<String>,
}

impl RotationEvent {
    /// An event for `step` (for tests and hand-made invocations).
    ///
    /// ```
    /// use twilio_aws_rotation::{RotationEvent, Step};
    /// let event = RotationEvent::new("twilio/prod", "token-1", Step::CreateSecret);
    /// assert_eq!(event.client_request_token, "token-1");
    /// ```
    pub fn new(
        secret_id: impl Into<String>,
        client_request_token: impl Into<String>,
        step: Step,
    ) -> Self {
        Self {
            secret_id: secret_id.into(),
            client_request_token: client_request_token.into(),
            step,
        }
    }

    /// Reads the event Lambda hands the function.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidEvent`] when it is not a JSON object with the three string fields,
    /// one of them is empty, or `Step` is not one of the four steps.
    ///
    /// ```
    /// # use twilio_aws_rotation::{ErrorKind, RotationEvent};
    /// let err = RotationEvent::from_json(br#"{"SecretId":"s","Step":"createSecret"}"#).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidEvent);
    /// assert!(err.to_string().contains("ClientRequestToken"));
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidEvent,
                "the rotation event is not a JSON object with string fields SecretId, \
                 ClientRequestToken and Step",
                e,
            )
        })?;
        let required = |value: Option<String>, name: &str| match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::new(
                ErrorKind::InvalidEvent,
                format!("the rotation event has no {name}"),
            )),
        };
        let secret_id = required(wire.secret_id, "SecretId")?;
        let client_request_token = required(wire.client_request_token, "ClientRequestToken")?;
        let step_name = required(wire.step, "Step")?;
        let step = Step::parse(&step_name).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidEvent,
                format!(
                    "the rotation event's Step {step_name:?} is not one of createSecret, \
                     setSecret, testSecret, finishSecret"
                ),
            )
        })?;
        Ok(Self {
            secret_id,
            client_request_token,
            step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_step() {
        for step in [
            Step::CreateSecret,
            Step::SetSecret,
            Step::TestSecret,
            Step::FinishSecret,
        ] {
            let json = format!(r#"{{"SecretId":"s","ClientRequestToken":"t","Step":"{step}"}}"#);
            let event = RotationEvent::from_json(json.as_bytes()).unwrap();
            assert_eq!(event, RotationEvent::new("s", "t", step));
        }
    }

    #[test]
    fn bad_events_are_typed_errors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "not a JSON object"),
            (b"[1]", "not a JSON object"),
            (
                br#"{"SecretId":1,"ClientRequestToken":"t","Step":"setSecret"}"#,
                "not a JSON object",
            ),
            (
                br#"{"ClientRequestToken":"t","Step":"setSecret"}"#,
                "no SecretId",
            ),
            (
                br#"{"SecretId":"s","ClientRequestToken":"","Step":"setSecret"}"#,
                "no ClientRequestToken",
            ),
            (br#"{"SecretId":"s","ClientRequestToken":"t"}"#, "no Step"),
            (
                br#"{"SecretId":"s","ClientRequestToken":"t","Step":"CreateSecret"}"#,
                "\"CreateSecret\" is not one of",
            ),
        ];
        for (json, why) in cases {
            let err = RotationEvent::from_json(json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidEvent);
            assert!(err.to_string().contains(why), "{err}");
        }
    }
}
