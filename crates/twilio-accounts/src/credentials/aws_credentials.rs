//! The AWS access key pair sent when creating an AWS credential: a secret.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::Error;

/// An AWS access key ID and secret access key, sent as `Credentials=<ID>:<SECRET>`.
///
/// A secret: its `Debug` is redacted, it has no `Display`, and the memory is zeroed on drop.
///
/// ```
/// use twilio_accounts::credentials::AwsCredentials;
///
/// let c = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?;
/// assert_eq!(c.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
/// assert!(!format!("{c:?}").contains("wJalr"));
/// let same = AwsCredentials::parse("AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?;
/// assert_eq!(same.access_key_id(), c.access_key_id());
/// # Ok::<(), twilio_accounts::Error>(())
/// ```
#[derive(Clone)]
pub struct AwsCredentials {
    /// `ID:SECRET`, as sent.
    value: Zeroizing<String>,
    id_len: usize,
}

impl AwsCredentials {
    /// From an access key ID and a secret access key.
    ///
    /// # Errors
    /// [`Error::Build`] naming `credentials` when either part is empty, the ID contains `:`,
    /// or either contains whitespace or control characters. The values are never echoed.
    ///
    /// ```
    /// # use twilio_accounts::credentials::AwsCredentials;
    /// let pair = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG")?;
    /// assert_eq!(pair.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn new(access_key_id: &str, secret_access_key: impl Into<String>) -> Result<Self, Error> {
        let secret = Zeroizing::new(secret_access_key.into());
        check_part(access_key_id, "the access key ID")?;
        if access_key_id.contains(':') {
            return Err(Error::invalid_argument(
                "credentials",
                "the access key ID must not contain `:`",
            ));
        }
        check_part(&secret, "the secret access key")?;
        let mut value = Zeroizing::new(String::with_capacity(
            access_key_id.len() + 1 + secret.len(),
        ));
        value.push_str(access_key_id);
        value.push(':');
        value.push_str(&secret);
        Ok(Self {
            value,
            id_len: access_key_id.len(),
        })
    }

    /// From the `<ACCESS_KEY_ID>:<SECRET_ACCESS_KEY>` form Twilio documents.
    ///
    /// # Errors
    /// As [`new`](Self::new), and when there is no `:`.
    ///
    /// ```
    /// # use twilio_accounts::credentials::AwsCredentials;
    /// let pair = AwsCredentials::parse("AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG")?;
    /// assert_eq!(pair.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
    /// assert!(AwsCredentials::parse("no-colon").is_err());
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn parse(pair: &str) -> Result<Self, Error> {
        let (id, secret) = pair.split_once(':').ok_or_else(|| {
            Error::invalid_argument(
                "credentials",
                "must have the form `<ACCESS_KEY_ID>:<SECRET_ACCESS_KEY>`",
            )
        })?;
        Self::new(id, secret)
    }

    /// The access key ID (not secret).
    ///
    /// ```
    /// # use twilio_accounts::credentials::AwsCredentials;
    /// let pair = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG")?;
    /// assert_eq!(pair.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn access_key_id(&self) -> &str {
        &self.value[..self.id_len]
    }

    /// The wire value `ID:SECRET`. Grep-able on purpose.
    ///
    /// ```
    /// # use twilio_accounts::credentials::AwsCredentials;
    /// let pair = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG")?;
    /// assert_eq!(pair.expose_secret(), "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG");
    /// # Ok::<(), twilio_accounts::Error>(())
    /// ```
    pub fn expose_secret(&self) -> &str {
        &self.value
    }
}

fn check_part(part: &str, what: &'static str) -> Result<(), Error> {
    if part.is_empty() {
        return Err(Error::invalid_argument(
            "credentials",
            format!("{what} must not be empty"),
        ));
    }
    if part.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid_argument(
            "credentials",
            format!("{what} must not contain whitespace or control characters"),
        ));
    }
    Ok(())
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id())
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let c = AwsCredentials::new("AKID", "topsecret").unwrap();
        assert_eq!(
            format!("{c:?}"),
            r#"AwsCredentials { access_key_id: "AKID", secret_access_key: "** redacted **" }"#
        );
        assert_eq!(c.expose_secret(), "AKID:topsecret");
    }

    #[test]
    fn rejects_bad_parts_without_echo() {
        for (id, secret) in [
            ("", "s"),
            ("a:b", "topsecret"),
            ("AKID", ""),
            ("AKID", "top secret"),
        ] {
            let e = AwsCredentials::new(id, secret).unwrap_err();
            assert!(!format!("{e} {e:?}").contains("topsecret"));
        }
        assert!(AwsCredentials::parse("nocolon").is_err());
        // The secret may contain ':'.
        let c = AwsCredentials::parse("AKID:a:b").unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.expose_secret(), "AKID:a:b");
    }
}
