//! [`UnknownValue`]: how an enumeration carries a wire value this version does not know.
//!
//! Twilio adds enumeration values without notice. Each `#[non_exhaustive]` enumeration of
//! this crate keeps such a value in its `Unknown` variant, wrapped in this opaque type: it can
//! be read ([`UnknownValue::as_str`]) and sent back as it came, but not built or matched on
//! by content, so the day a later version learns the value (and decodes it as a named
//! variant) no `match` arm of user code silently stops applying (the smithy-rs design).
//! Compare through `as_str()` instead of matching on `Unknown`. The enumerations:
//! [`GeoPermissionType`](crate::model::GeoPermissionType),
//! [`ConsentStatus`](crate::bulk_consents::ConsentStatus),
//! [`ConsentSource`](crate::bulk_consents::ConsentSource) and those of the Compliance Signals
//! check ([`UseCase`](crate::compliance_signals::UseCase) and its siblings).

use std::fmt;

/// A wire value that no named variant of its enumeration stands for. Only this crate
/// creates one (by decoding, or by `From<&str>` on the enumeration).
///
/// ```
/// use twilio_accounts::compliance_signals::UseCase;
///
/// let future = UseCase::from("APPOINTMENTS");
/// assert_eq!(future.as_str(), "APPOINTMENTS");
/// assert!(matches!(future, UseCase::Unknown(_)));
/// assert_eq!(UseCase::from("OTP"), UseCase::Otp);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnknownValue(String);

impl UnknownValue {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value as it appears on the wire.
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

/// Writes a `#[non_exhaustive]` wire enumeration: its named variants with their wire values,
/// an `Unknown(UnknownValue)` variant for the rest, `as_str`, `From<&str>`, `From<String>`
/// and `Display`. Every wire value round-trips through `from` and `as_str`.
macro_rules! wire_enum {
    (
        $(#[$doc:meta])*
        pub enum $Name:ident {
            $( $(#[$vdoc:meta])* $Variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $Name {
            $( $(#[$vdoc])* $Variant, )+
            /// A value this version does not know, kept as it came. Read it with
            /// [`as_str`](Self::as_str) rather than matching on this variant: a later version
            /// may decode the same value as a named variant.
            Unknown($crate::model::UnknownValue),
        }

        impl $Name {
            /// Every named variant, in documentation order.
            pub const KNOWN: &'static [$Name] = &[$($Name::$Variant),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $Name::$Variant => $wire, )+
                    $Name::Unknown(value) => value.as_str(),
                }
            }
        }

        impl From<&str> for $Name {
            fn from(s: &str) -> Self {
                match s {
                    $( $wire => $Name::$Variant, )+
                    other => $Name::Unknown($crate::model::UnknownValue::new(other)),
                }
            }
        }

        impl From<String> for $Name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $wire => $Name::$Variant, )+
                    _ => $Name::Unknown($crate::model::UnknownValue::new(s)),
                }
            }
        }

        impl std::fmt::Display for $Name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use wire_enum;
