//! The rotation function, ready for AWS Lambda (runtime `provided.al2023`, handler `bootstrap`):
//! Secrets Manager invokes it with `{"SecretId", "ClientRequestToken", "Step"}` and it runs the
//! step with [`Rotator`].
//!
//! ```sh
//! cargo build --release -p twilio-aws-rotation --example lambda --features lambda \
//!     --target x86_64-unknown-linux-musl       # or cargo lambda build …
//! cp target/x86_64-unknown-linux-musl/release/examples/lambda bootstrap && zip lambda.zip bootstrap
//! ```
//!
//! Environment: the AWS default chain (Lambda sets the role's credentials and `AWS_REGION`);
//! optional `TWILIO_SUPPRESS_EMAIL_NOTIFICATION=true` and `TWILIO_PROPAGATION_WINDOW_SECONDS`
//! (default 60; keep the function's timeout above it, 2 minutes or more); `RUST_LOG`-style
//! filtering is not built in: every `info` event is printed (they name tokens by fingerprint
//! only).

use std::time::Duration;

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;
use twilio_aws_rotation::{RotationEvent, Rotator};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .without_time() // CloudWatch stamps each line
        .init();
    let rotator = configure(Rotator::from_env().await)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let rotator = rotator.clone();
        async move {
            // The event has no secret in it; parse it from its JSON text.
            let event = RotationEvent::from_json(event.payload.to_string().as_bytes())
                .map_err(diagnostic)?;
            let report = rotator.handle(&event).await.map_err(diagnostic)?;
            Ok::<_, Diagnostic>(report.to_string())
        }
    }))
    .await
}

/// What Secrets Manager records of a failed step: the kind, and the message with its causes
/// (none of them holds a token).
fn diagnostic(err: twilio_aws_rotation::Error) -> Diagnostic {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(kind = ?err.kind(), retryable = err.is_retryable(), "{message}");
    Diagnostic {
        error_type: format!("{:?}", err.kind()),
        error_message: message,
    }
}

/// The optional settings from the function's environment.
fn configure(mut rotator: Rotator) -> Result<Rotator, Error> {
    if let Ok(value) = std::env::var("TWILIO_SUPPRESS_EMAIL_NOTIFICATION") {
        let suppress = value
            .parse::<bool>()
            .map_err(|_| "TWILIO_SUPPRESS_EMAIL_NOTIFICATION must be true or false")?;
        rotator = rotator.suppress_email_notification(suppress);
    }
    if let Ok(value) = std::env::var("TWILIO_PROPAGATION_WINDOW_SECONDS") {
        let seconds = value
            .parse::<u64>()
            .map_err(|_| "TWILIO_PROPAGATION_WINDOW_SECONDS must be a whole number of seconds")?;
        rotator = rotator.propagation_window(Duration::from_secs(seconds));
    }
    Ok(rotator)
}
