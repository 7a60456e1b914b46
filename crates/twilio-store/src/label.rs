//! [`TokenLabel`]: the staging label a token has in a [`TokenRecord`](crate::TokenRecord).

use std::fmt;

/// Which of a rotation's tokens: the record's staging labels (after AWS Secrets Manager's
/// `AWSCURRENT` / `AWSPENDING` / `AWSPREVIOUS`).
///
/// ```
/// use twilio_store::TokenLabel;
///
/// assert_eq!(TokenLabel::Pending.to_string(), "pending");
/// assert_eq!(TokenLabel::parse("previous"), Some(TokenLabel::Previous));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TokenLabel {
    /// The account's primary token as the store knows it.
    Current,
    /// The new token of a rotation in progress (staged, not yet promoted).
    Pending,
    /// The token replaced at the last completed rotation.
    Previous,
}

impl TokenLabel {
    /// `"current"`, `"pending"` or `"previous"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Pending => "pending",
            Self::Previous => "previous",
        }
    }

    /// The label named `name` (as [`as_str`](Self::as_str) writes it), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "current" => Self::Current,
            "pending" => Self::Pending,
            "previous" => Self::Previous,
            _ => return None,
        })
    }
}

impl fmt::Display for TokenLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for label in [
            TokenLabel::Current,
            TokenLabel::Pending,
            TokenLabel::Previous,
        ] {
            assert_eq!(TokenLabel::parse(label.as_str()), Some(label));
        }
        assert_eq!(TokenLabel::parse("Current"), None);
    }
}
