//! [`E164`]: a phone number in E.164 format, validated once.
//!
//! E.164 (ITU-T) numbers are at most 15 digits, country code first, and the country code
//! never starts with `0`. Twilio writes them with a leading `+` (`+14155552671`), and that
//! is the only form accepted here: no spaces, dashes, brackets or national prefixes, so a
//! value can go on the wire as it is.

use std::fmt;

/// The fewest digits accepted. The shortest numbers in use (some Pacific islands) have a
/// 3-digit country code and 4-digit subscriber numbers.
pub const E164_MIN_DIGITS: usize = 7;
/// The most digits E.164 allows.
pub const E164_MAX_DIGITS: usize = 15;

/// A phone number in E.164 format: `+`, then 7 to 15 ASCII digits, the first not `0`.
///
/// ```
/// use twilio_types::E164;
///
/// let to: E164 = "+14155552671".parse()?;
/// assert_eq!(to.as_str(), "+14155552671");
/// assert_eq!(to.digits(), "14155552671");
///
/// let err = E164::parse("415-555-2671").unwrap_err();
/// assert_eq!(err.to_string(), "invalid E.164 phone number: it must start with `+`");
/// # Ok::<(), twilio_types::ParseE164Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

/// Why a string is not an [`E164`] number. The rejected value is never echoed (a phone
/// number is personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseE164Error {
    /// The first character is not `+`.
    MissingPlus,
    /// A character after the `+` is not an ASCII digit.
    NotADigit,
    /// The first digit (of the country code) is `0`.
    LeadingZero,
    /// Fewer than [`E164_MIN_DIGITS`] or more than [`E164_MAX_DIGITS`] digits.
    Length,
}

impl fmt::Display for ParseE164Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid E.164 phone number: ")?;
        match self {
            Self::MissingPlus => f.write_str("it must start with `+`"),
            Self::NotADigit => f.write_str("only ASCII digits may follow the `+`"),
            Self::LeadingZero => f.write_str("the country code must not start with 0"),
            Self::Length => write!(
                f,
                "it must have {E164_MIN_DIGITS} to {E164_MAX_DIGITS} digits"
            ),
        }
    }
}

impl std::error::Error for ParseE164Error {}

impl E164 {
    /// Validates `s`.
    ///
    /// # Errors
    /// A [`ParseE164Error`] saying which rule `s` breaks.
    ///
    /// ```
    /// use twilio_types::{E164, ParseE164Error};
    /// assert!(E164::parse("+447911123456").is_ok());
    /// assert_eq!(E164::parse("+0123456789"), Err(ParseE164Error::LeadingZero));
    /// assert_eq!(E164::parse("+1 415 555 2671"), Err(ParseE164Error::NotADigit));
    /// ```
    pub fn parse(s: &str) -> Result<Self, ParseE164Error> {
        let digits = s.strip_prefix('+').ok_or(ParseE164Error::MissingPlus)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseE164Error::NotADigit);
        }
        if digits.starts_with('0') {
            return Err(ParseE164Error::LeadingZero);
        }
        if !(E164_MIN_DIGITS..=E164_MAX_DIGITS).contains(&digits.len()) {
            return Err(ParseE164Error::Length);
        }
        Ok(Self(s.to_owned()))
    }

    /// The number with its `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits after the `+`.
    ///
    /// ```
    /// let n = twilio_types::E164::parse("+12125550100")?;
    /// assert_eq!(&n.digits()[1..4], "212"); // a NANP area code
    /// # Ok::<(), twilio_types::ParseE164Error>(())
    /// ```
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.0)
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl core::str::FromStr for E164 {
    type Err = ParseE164Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for E164 {
    type Error = ParseE164Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for E164 {
    type Error = ParseE164Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl serde::Serialize for E164 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for E164 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
impl ::proptest::arbitrary::Arbitrary for E164 {
    type Parameters = ();
    type Strategy = ::proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use ::proptest::strategy::Strategy as _;
        crate::strategies::valid_e164_string()
            .prop_map(|s| Self::parse(&s).expect("the strategy yields valid numbers"))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Result<(), ParseE164Error>)] = &[
            ("+14155552671", Ok(())),
            ("+1234567", Ok(())),
            ("+123456789012345", Ok(())),
            ("", Err(ParseE164Error::MissingPlus)),
            ("14155552671", Err(ParseE164Error::MissingPlus)),
            (" +14155552671", Err(ParseE164Error::MissingPlus)),
            ("+", Err(ParseE164Error::Length)),
            ("+123456", Err(ParseE164Error::Length)),
            ("+1234567890123456", Err(ParseE164Error::Length)),
            ("+01234567", Err(ParseE164Error::LeadingZero)),
            ("+1415555267a", Err(ParseE164Error::NotADigit)),
            ("+14155552671\n", Err(ParseE164Error::NotADigit)),
            ("++14155552671", Err(ParseE164Error::NotADigit)),
            ("+1415\u{0663}552671", Err(ParseE164Error::NotADigit)),
        ];
        for (input, expected) in cases {
            assert_eq!(E164::parse(input).map(drop), *expected, "{input:?}");
        }
    }

    #[test]
    fn errors_never_echo_the_number() {
        let err = E164::parse("+1415555267x").unwrap_err();
        assert!(!err.to_string().contains("1415"));
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let n: E164 = serde_json::from_str("\"+14155552671\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"+14155552671\"");
        assert!(serde_json::from_str::<E164>("\"4155552671\"").is_err());
        assert_eq!(format!("{n:?}"), "E164(+14155552671)");
        assert_eq!(n.digits(), "14155552671");
    }
}
