//! [`Rejection`]: why a webhook request was not accepted.

use std::fmt;

/// Why a request was rejected. Never contains a token, a secret or a signature.
///
/// Servers should answer every rejection the same way (the tower layer answers 403 with no
/// body) and log the reason; telling a caller *why* only helps forgers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No `X-Twilio-Signature` header.
    MissingSignature,
    /// The `X-Twilio-Signature` or `X-Twilio-Webhooks-Signature-Settings` header came more
    /// than once. Twilio sends each once. Behind a real server the official validators see
    /// repeated values joined with commas (Node's `http`, WSGI servers): a joined signature
    /// matches nothing, so they reject it too.
    RepeatedHeader {
        /// The header's name.
        name: &'static str,
    },
    /// The signature header is not a base64 digest of the algorithm's length.
    MalformedSignature,
    /// The settings header names an algorithm this crate does not implement. Never falls back
    /// to another algorithm; a `tracing` warning is emitted.
    UnsupportedAlgorithm {
        /// The name as sent (at most 64 characters of it).
        algorithm: String,
    },
    /// The settings header has no `key=` naming the SharedKey.
    MissingSharedKeyId,
    /// The settings header names a SharedKey this validator does not hold.
    UnknownSharedKey {
        /// The id as sent (at most 64 characters of it).
        id: String,
    },
    /// The request is signed with an Auth Token (it has no settings header), and the
    /// validator holds none: it was made with
    /// [`Validator::with_shared_keys`](crate::Validator::with_shared_keys).
    NoAuthToken,
    /// The URL is not an absolute `http://` or `https://` URL.
    InvalidUrl,
    /// The form body does not decode to UTF-8 text.
    MalformedBody,
    /// A body that is not a form was sent without `bodySHA256` in the URL: nothing signs it.
    UnsignedBody,
    /// The URL has `bodySHA256` but the body was given as decoded parameters, so it cannot
    /// be hashed: pass the raw body.
    RawBodyRequired,
    /// The signature matches, but the body's SHA-256 differs from the URL's `bodySHA256`.
    BodyHashMismatch,
    /// No accepted key signs this request.
    SignatureMismatch,
}

impl Rejection {
    /// A short, stable name for logs and metrics (`"signature_mismatch"`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::RepeatedHeader { .. } => "repeated_header",
            Self::MalformedSignature => "malformed_signature",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::MissingSharedKeyId => "missing_shared_key_id",
            Self::UnknownSharedKey { .. } => "unknown_shared_key",
            Self::NoAuthToken => "no_auth_token",
            Self::InvalidUrl => "invalid_url",
            Self::MalformedBody => "malformed_body",
            Self::UnsignedBody => "unsigned_body",
            Self::RawBodyRequired => "raw_body_required",
            Self::BodyHashMismatch => "body_hash_mismatch",
            Self::SignatureMismatch => "signature_mismatch",
        }
    }
}

/// At most 64 characters of an untrusted header field, for errors and logs.
pub(crate) fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature => f.write_str("no X-Twilio-Signature header"),
            Self::RepeatedHeader { name } => write!(f, "the {name} header is repeated"),
            Self::MalformedSignature => f.write_str("the X-Twilio-Signature header is malformed"),
            Self::UnsupportedAlgorithm { algorithm } => {
                write!(f, "unsupported webhook signature algorithm {algorithm:?}")
            }
            Self::MissingSharedKeyId => f.write_str("the signature settings name no SharedKey"),
            Self::UnknownSharedKey { id } => write!(f, "unknown SharedKey {id:?}"),
            Self::NoAuthToken => {
                f.write_str("signed with an Auth Token, and this validator holds SharedKeys only")
            }
            Self::InvalidUrl => f.write_str("the webhook URL is not an absolute http(s) URL"),
            Self::MalformedBody => f.write_str("the form body is not UTF-8"),
            Self::UnsignedBody => f.write_str("a non-form body without bodySHA256 in the URL"),
            Self::RawBodyRequired => f.write_str("bodySHA256 needs the raw body"),
            Self::BodyHashMismatch => f.write_str("the body does not match bodySHA256"),
            Self::SignatureMismatch => f.write_str("no accepted key signs this request"),
        }
    }
}

impl std::error::Error for Rejection {}
