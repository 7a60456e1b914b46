//! A failed Secrets Manager call as a [`StoreError`]: unreachable or throttled (`Io`, try
//! again), misconfigured (`Permissions`, `NotFound`, `Invalid`), or a lost race (`Conflict`,
//! decided by the caller).

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use twilio_store::{StoreError, StoreErrorKind};

/// The AWS error code of a service error, if the call got that far.
pub(crate) fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// The store error for `error`, raised while `doing` on the secret `secret`; the SDK's error
/// stays reachable through `source()` (it never holds a secret value: the SDK redacts them).
pub(crate) fn store_error<E>(
    error: SdkError<E, HttpResponse>,
    doing: &str,
    secret: &str,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = match &error {
        SdkError::ConstructionFailure(_) => (
            StoreErrorKind::Invalid,
            format!(
                "{doing}: the request to Secrets Manager could not be made (no region or no \
                 credentials? set AWS_REGION, and credentials the AWS default chain finds)"
            ),
        ),
        SdkError::TimeoutError(_) => (
            StoreErrorKind::Io,
            format!("{doing}: Secrets Manager did not answer in time"),
        ),
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => (
            StoreErrorKind::Io,
            format!("{doing}: Secrets Manager could not be reached"),
        ),
        // Not sent: no region, no credentials found by the chain, a bad endpoint URL.
        SdkError::DispatchFailure(failure) => (
            StoreErrorKind::Invalid,
            format!(
                "{doing}: the request to Secrets Manager could not be sent ({}): set AWS_REGION, \
                 and credentials the AWS default chain finds",
                causes(
                    failure
                        .as_connector_error()
                        .map(|e| e as &(dyn std::error::Error + 'static))
                )
            ),
        ),
        SdkError::ResponseError(_) => (
            StoreErrorKind::Io,
            format!("{doing}: Secrets Manager answered in a form its API does not document"),
        ),
        SdkError::ServiceError(service) => {
            let said = service.err().message().unwrap_or("");
            match service.err().code() {
                Some(code) => classify(code, said, doing, secret),
                // No AWS error code (an answer not in the JSON protocol): the status decides.
                None => classify(
                    by_status(service.raw().status().as_u16()),
                    said,
                    doing,
                    secret,
                ),
            }
        }
        _ => (
            StoreErrorKind::Io,
            format!("{doing}: the call to Secrets Manager failed"),
        ),
    };
    StoreError::new(kind, message).with_source(error)
}

/// The messages of `error`'s causes (not its own, which says only "dispatch failure"), joined;
/// none of them holds a secret (the SDK's errors carry no request or response body here).
fn causes(error: Option<&(dyn std::error::Error + 'static)>) -> String {
    let mut messages = Vec::new();
    let mut next = error.and_then(std::error::Error::source);
    while let Some(cause) = next {
        messages.push(cause.to_string());
        next = cause.source();
    }
    if messages.is_empty() {
        "no cause given".to_owned()
    } else {
        messages.join(": ")
    }
}

/// A stand-in error code for an answer that named none.
fn by_status(status: u16) -> &'static str {
    match status {
        401 | 403 => "AccessDenied",
        429 => "Throttling",
        500..=599 => "ServiceUnavailable",
        _ => "an unnamed error",
    }
}

/// The kind and message for an AWS error `code` (with the service's `said` message).
fn classify(code: &str, said: &str, doing: &str, secret: &str) -> (StoreErrorKind, String) {
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    };
    match code {
        "ResourceNotFoundException" => (
            StoreErrorKind::NotFound,
            format!("{doing}: the secret {secret} does not exist in this account and region{said}"),
        ),
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "IncompleteSignature" => (
            StoreErrorKind::Permissions,
            format!(
                "{doing}: AWS refused the credentials or their permissions on {secret} \
                 ({code}{said}): check the IAM policy and that the credentials are current"
            ),
        ),
        "DecryptionFailure" | "EncryptionFailure" | "KMSAccessDeniedException" => (
            StoreErrorKind::Permissions,
            format!("{doing}: the secret's KMS key cannot be used ({code}{said})"),
        ),
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "InternalServiceError"
        | "InternalFailure"
        | "ServiceUnavailable" => (
            StoreErrorKind::Io,
            format!(
                "{doing}: Secrets Manager is throttling or unavailable ({code}{said}); try again"
            ),
        ),
        _ => (
            StoreErrorKind::Invalid,
            format!("{doing}: Secrets Manager refused the request on {secret} ({code}{said})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_told_apart() {
        for (code, kind) in [
            ("ResourceNotFoundException", StoreErrorKind::NotFound),
            ("AccessDeniedException", StoreErrorKind::Permissions),
            ("UnrecognizedClientException", StoreErrorKind::Permissions),
            ("DecryptionFailure", StoreErrorKind::Permissions),
            ("ThrottlingException", StoreErrorKind::Io),
            ("InternalServiceError", StoreErrorKind::Io),
            ("InvalidRequestException", StoreErrorKind::Invalid),
            ("LimitExceededException", StoreErrorKind::Invalid),
        ] {
            let (got, message) = classify(code, "why", "reading", "twilio/prod");
            assert_eq!(got, kind, "{code}");
            assert!(message.starts_with("reading: "), "{message}");
        }
        assert_eq!(by_status(403), "AccessDenied");
        assert_eq!(by_status(429), "Throttling");
        assert_eq!(by_status(503), "ServiceUnavailable");
        assert_eq!(
            classify(by_status(418), "", "x", "y").0,
            StoreErrorKind::Invalid
        );
        let (_, message) = classify("AccessDeniedException", "", "reading", "twilio/prod");
        assert!(message.contains("(AccessDeniedException)"), "{message}");
    }
}
