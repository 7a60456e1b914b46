//! What every command shares: opening the store, a client for a token, and the one
//! authenticated request that tells whether Twilio accepts a token.

use std::sync::Arc;

use twilio_accounts::{Client, Error};
use twilio_store::{StoreErrorKind, TokenRecord, TokenStore};
use twilio_transport::Credentials;
use twilio_types::{AccountSid, AuthToken};

use crate::cli::{Cli, Outcome};
use crate::exit::{self, Cause};

/// Opens the store named by `--store` (whichever backend its URL names).
pub(crate) fn open_store(cli: &Cli) -> Result<Arc<dyn TokenStore>, Outcome> {
    cli.store.open().map_err(|e| store_failure(cli, &e))
}

/// Opens the store and reads its record.
pub(crate) async fn load(cli: &Cli) -> Result<(Arc<dyn TokenStore>, TokenRecord), Outcome> {
    let store = open_store(cli)?;
    match store.load().await {
        Ok(Some(record)) => Ok((store, record)),
        Ok(None) => Err(Outcome::person(format!(
            "the store {} is empty: write it with `twilio-rotate --store {} init`",
            cli.store, cli.store
        ))),
        Err(error) => Err(store_failure(cli, &error)),
    }
}

/// A store error as an outcome: unreachable (I/O) is 4, locked is 1, the rest needs a person.
pub(crate) fn store_failure(cli: &Cli, error: &twilio_store::StoreError) -> Outcome {
    let code = match exit::cause(error) {
        Cause::StoreUnreachable => exit::UNREACHABLE,
        Cause::Locked | Cause::Store(StoreErrorKind::Conflict) => exit::NOT_NOW,
        _ => exit::PERSON,
    };
    Outcome::error(code, exit::store_advice(error, &cli.store))
}

/// A client of `--base-url` authenticating with `token`.
pub(crate) fn client(cli: &Cli, account: AccountSid, token: &AuthToken) -> Result<Client, Outcome> {
    let credentials = Credentials::from_auth_token(account, token.clone())
        .map_err(|e| Outcome::person(format!("the token cannot be used: {}", exit::chain(&e))))?;
    Client::builder()
        .credentials(credentials)
        .base_url(&cli.base_url)
        .build()
        .map_err(|e| {
            let url = without_user_info(&cli.base_url);
            Outcome::person(format!("--base-url {url}: {}", exit::chain(&e)))
        })
}

/// `url` for a message: any user info (`user:password@`, perhaps a token pasted in) replaced.
fn without_user_info(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme.is_empty() => format!("<user info withheld>@{}", &rest[at + 1..]),
        Some(at) => format!("{scheme}://<user info withheld>@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// What Twilio said to one authenticated request.
pub(crate) enum Answer {
    /// 2xx: the token authenticates.
    Works,
    /// 401 or 403.
    Refused(Error),
    /// No answer, a timeout, a 5xx or 429.
    Unreachable(Error),
    /// Any other answer.
    Failed(Error),
}

impl Answer {
    /// The word `status` prints for it.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Answer::Works => "works",
            Answer::Refused(_) => "refused",
            Answer::Unreachable(_) => "unreachable",
            Answer::Failed(_) => "error",
        }
    }
}

/// One authenticated read (the cheapest list, one item) with `client`'s token.
pub(crate) async fn probe(client: &Client) -> Answer {
    match client.credentials().aws().list().page_size(1).send().await {
        Ok(_) => Answer::Works,
        Err(error) => match exit::cause(&error) {
            Cause::Refused => Answer::Refused(error),
            Cause::TwilioUnreachable => Answer::Unreachable(error),
            _ => Answer::Failed(error),
        },
    }
}

/// Exit 2 for the store's `current` token refused with no rotation in flight: `resume` cannot
/// help, a person must bring the valid token.
pub(crate) fn stale_token(cli: &Cli, record: &TokenRecord, error: &Error) -> Outcome {
    Outcome::person(format!(
        "Twilio refuses the store's current token {} for {} ({}), and no rotation is in flight: \
         the token was changed outside this store (in the Console, or by another tool), or the \
         store was written with a wrong token; `resume` cannot help.\n\
         way out: get the account's valid Auth Token, then run \
         `TWILIO_ACCOUNT_SID={} TWILIO_AUTH_TOKEN=... twilio-rotate --store {} init --force` \
         (it checks the token with Twilio before it replaces the stored one)",
        record.current.fingerprint(),
        record.account_sid,
        error,
        record.account_sid,
        cli.store
    ))
}

/// Exit 4: Twilio could not be reached while `doing`.
pub(crate) fn unreachable(doing: &str, error: &Error, then: &str) -> Outcome {
    Outcome::error(
        exit::UNREACHABLE,
        format!(
            "could not reach Twilio {doing}: {}\n{then}",
            exit::chain(error)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::without_user_info;

    #[test]
    fn user_info_never_reaches_a_message() {
        for (url, shown) in [
            (
                "https://AC1:s3cr3t@example.com/v1",
                "https://<user info withheld>@example.com/v1",
            ),
            (
                "http://a@b@127.0.0.1:9/x?y=@z",
                "http://<user info withheld>@127.0.0.1:9/x?y=@z",
            ),
            ("user:pw@host", "<user info withheld>@host"),
            ("https://accounts.twilio.com", "https://accounts.twilio.com"),
            ("https://host/path@x", "https://host/path@x"),
            ("", ""),
        ] {
            assert_eq!(without_user_info(url), shown, "{url}");
        }
    }
}
