//! The opaque value behind the `Unknown` variant of the crate's string enums.

use std::fmt;

/// A wire value this version of the crate does not know, inside the `Unknown` variant of
/// [`GeoPermissionType`](crate::model::GeoPermissionType),
/// [`ConsentStatus`](crate::bulk_consents::ConsentStatus) and
/// [`ConsentSource`](crate::bulk_consents::ConsentSource).
///
/// It cannot be built outside this crate, only by parsing (`From<&str>`), so a value that
/// has a variant of its own is never held here; read it with [`as_str`](Self::as_str). The
/// day a later version adds a variant for it, parsing gives that variant instead, so do not
/// match `Unknown` directly: match the variants you know and end with a wildcard arm that
/// reads `as_str()`. (The same scheme as the AWS SDK's `UnknownVariantValue`.)
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnknownValue(String);

impl UnknownValue {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The wire value, as Twilio sent it (or as it was parsed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
