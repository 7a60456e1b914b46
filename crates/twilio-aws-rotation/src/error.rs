//! The one error type of the crate: what went wrong (an [`ErrorKind`]), a message that names the
//! secret, the version and the step but never a token, and the failed call in `source()`.

use std::fmt;

/// The error of every step. Its `Display` is one sentence for the Lambda's log and Secrets
/// Manager's rotation history; the AWS or Twilio error that caused it is in
/// [`source()`](std::error::Error::source).
///
/// ```
/// use twilio_aws_rotation::{ErrorKind, RotationEvent};
///
/// let err = RotationEvent::from_json(br#"{"SecretId":"s","ClientRequestToken":"t","Step":"rotate"}"#)
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidEvent);
/// assert!(err.to_string().contains("rotate"));
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What kind of failure an [`Error`] is; each says what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The event is not a rotation event (missing field, unknown `Step`). Fix the caller.
    InvalidEvent,
    /// The secret does not have rotation turned on: the function refuses to touch it (as AWS's
    /// own rotation templates do).
    RotationDisabled,
    /// The `ClientRequestToken` is not a version of the secret, or that version is not staged
    /// `AWSPENDING` (nor already `AWSCURRENT`). Secrets Manager starts a rotation by creating
    /// that version; anything else is a stray call.
    NotPending,
    /// A secret version does not hold `{"account_sid": "AC…", "auth_token": "…"}`, or the
    /// pending version names another account than the current one.
    MalformedSecret,
    /// The secret's state is one this rotation did not write and cannot continue from safely
    /// (for example `AWSCURRENT` refused by Twilio while `AWSPREVIOUS` works). Nothing was
    /// changed; a person must look (the message says what was found).
    Inconsistent,
    /// A Secrets Manager call failed (permissions, throttling, the service). Retrying the step
    /// is safe.
    SecretsManager,
    /// A Twilio call failed (no answer, 5xx, an unexpected refusal). Retrying the step is safe.
    Twilio,
    /// The pending token did not authenticate with Twilio within the propagation window
    /// (`testSecret`). Secrets Manager retries the rotation; the current token still works.
    NotAccepted,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # use twilio_aws_rotation::{ErrorKind, RotationEvent};
    /// let err = RotationEvent::from_json(b"[]").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidEvent);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether running the same step again later may succeed (Secrets Manager does so on its
    /// own): true for the service and Twilio failures and for a token that was not accepted
    /// yet, false for what a person must fix.
    ///
    /// ```
    /// # use twilio_aws_rotation::RotationEvent;
    /// assert!(!RotationEvent::from_json(b"{}").unwrap_err().is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::SecretsManager | ErrorKind::Twilio | ErrorKind::NotAccepted
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn keeps_the_cause_in_source() {
        let cause = std::io::Error::other("the call");
        let err = Error::with_source(ErrorKind::Twilio, "Twilio did not answer", cause);
        assert_eq!(err.to_string(), "Twilio did not answer");
        assert_eq!(err.source().unwrap().to_string(), "the call");
        assert!(err.is_retryable());
        assert!(Error::new(ErrorKind::Inconsistent, "x").source().is_none());
        assert!(!Error::new(ErrorKind::Inconsistent, "x").is_retryable());
    }
}
