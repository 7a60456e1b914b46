//! `init`: write the store from the environment, once Twilio has accepted the token.

use serde_json::json;
use time::OffsetDateTime;
use twilio_store::{FileTokenStore, RotationPhase, StoreErrorKind, TokenRecord};
use twilio_types::{AccountSid, AuthToken};

use crate::cli::{Cli, Outcome};
use crate::exit;
use crate::output::record_json;
use crate::store_arg::StoreLocation;
use crate::twilio::{self, Answer};

pub(crate) async fn run(cli: &Cli, no_verify: bool, force: bool) -> Outcome {
    let (account, token) = match from_env() {
        Ok(pair) => pair,
        Err(message) => return Outcome::person(message),
    };
    let exists = match exists(cli).await {
        Ok(exists) => exists,
        Err(outcome) => return outcome,
    };
    if exists && !force {
        return already_exists(cli);
    }
    if !no_verify && let Err(outcome) = verify(cli, account, &token).await {
        return outcome;
    }
    let record = TokenRecord::new(account, token);
    let written = if exists {
        replace(cli, record).await
    } else {
        create(cli, record).await
    };
    match written {
        Ok(record) => Outcome {
            code: exit::OK,
            text: format!(
                "store {} written for {account}: current token {}{}",
                cli.store,
                record.current.fingerprint(),
                if no_verify {
                    " (not checked with Twilio: --no-verify)"
                } else {
                    " (Twilio accepts it)"
                }
            ),
            json: json!({ "store": record_json(&record), "verified": !no_verify }),
        },
        Err(outcome) => outcome,
    }
}

fn already_exists(cli: &Cli) -> Outcome {
    Outcome::person(format!(
        "the store {} already exists: init never overwrites a store. If Twilio refuses its \
         token and no rotation is in flight, `init --force` replaces that token (after \
         checking the new one with Twilio)",
        cli.store
    ))
}

/// Whether the store exists: for a file, whether anything is at its path (a malformed file is
/// never overwritten); for Vault and AWS Secrets Manager, whether the secret holds a record.
async fn exists(cli: &Cli) -> Result<bool, Outcome> {
    match &cli.store {
        StoreLocation::File(path) => Ok(path.symlink_metadata().is_ok()),
        #[cfg(feature = "vault")]
        StoreLocation::Vault(_) => shared_exists(cli).await,
        #[cfg(feature = "aws")]
        StoreLocation::Aws(_) => shared_exists(cli).await,
    }
}

/// Whether a store shared through a server (Vault, AWS Secrets Manager) holds a record.
#[cfg(any(feature = "vault", feature = "aws"))]
async fn shared_exists(cli: &Cli) -> Result<bool, Outcome> {
    twilio::open_store(cli)?
        .load()
        .await
        .map(|record| record.is_some())
        .map_err(|e| twilio::store_failure(cli, &e))
}

/// Writes a new store: a new file, a Vault record written with check-and-set against
/// "nothing stored" (revision 0), or a new AWS Secrets Manager secret (`CreateSecret`). Either way, a store that appeared meanwhile is never
/// overwritten.
async fn create(cli: &Cli, record: TokenRecord) -> Result<TokenRecord, Outcome> {
    let created = match &cli.store {
        StoreLocation::File(path) => FileTokenStore::create(path, &record).map(|_| record.revision),
        #[cfg(feature = "vault")]
        StoreLocation::Vault(_) => twilio::open_store(cli)?.save(&record).await,
        #[cfg(feature = "aws")]
        StoreLocation::Aws(_) => twilio::open_store(cli)?.save(&record).await,
    };
    match created {
        Ok(revision) => {
            let mut record = record;
            record.revision = revision;
            Ok(record)
        }
        Err(e)
            if matches!(
                e.kind(),
                StoreErrorKind::AlreadyExists | StoreErrorKind::Conflict
            ) =>
        {
            Err(already_exists(cli))
        }
        Err(e) => Err(twilio::store_failure(cli, &e)),
    }
}

/// TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, parsed.
fn from_env() -> Result<(AccountSid, AuthToken), String> {
    let sid = std::env::var("TWILIO_ACCOUNT_SID")
        .map_err(|_| "TWILIO_ACCOUNT_SID is not set".to_owned())?;
    let account = sid
        .parse()
        .map_err(|_| "TWILIO_ACCOUNT_SID is not an Account SID (AC…)".to_owned())?;
    let token = std::env::var("TWILIO_AUTH_TOKEN")
        .map_err(|_| "TWILIO_AUTH_TOKEN is not set".to_owned())?;
    let token = AuthToken::new(token).map_err(|e| {
        format!(
            "TWILIO_AUTH_TOKEN is not a usable token: {}",
            exit::chain(&e)
        )
    })?;
    Ok((account, token))
}

/// One authenticated request with the new token; nothing is written unless Twilio accepts it.
async fn verify(cli: &Cli, account: AccountSid, token: &AuthToken) -> Result<(), Outcome> {
    let client = twilio::client(cli, account, token)?;
    match twilio::probe(&client).await {
        Answer::Works => Ok(()),
        Answer::Refused(e) => Err(Outcome::person(format!(
            "Twilio refuses TWILIO_AUTH_TOKEN for {account} ({e}): nothing was written. Check \
             TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the account's primary Auth Token)"
        ))),
        Answer::Unreachable(e) => Err(twilio::unreachable(
            "to check the token",
            &e,
            "nothing was written: run init again, or with --no-verify to write the store \
             without the check",
        )),
        Answer::Failed(e) => Err(Outcome::person(format!(
            "Twilio's answer did not confirm the token, nothing was written: {}",
            exit::chain(&e)
        ))),
    }
}

/// `init --force` over an existing store: the same account, no rotation in flight, no live
/// lease; written with one compare-and-swap, so a rotation that starts meanwhile wins.
async fn replace(cli: &Cli, mut record: TokenRecord) -> Result<TokenRecord, Outcome> {
    let store = twilio::open_store(cli)?;
    let old = store
        .load()
        .await
        .map_err(|e| twilio::store_failure(cli, &e))?;
    if let Some(old) = old {
        if old.account_sid != record.account_sid {
            return Err(Outcome::person(format!(
                "the store {} is {}'s, TWILIO_ACCOUNT_SID is {}: init --force does not replace \
                 another account's store",
                cli.store, old.account_sid, record.account_sid
            )));
        }
        if old.phase != RotationPhase::Idle || old.pending.is_some() {
            return Err(Outcome::error(
                exit::RESUME,
                format!(
                    "a rotation is in flight in {} (phase {:?}): run `resume` first; init \
                     --force would lose track of the token it created or staged",
                    cli.store, old.phase
                ),
            ));
        }
        if let Some(lease) = &old.lease
            && lease.blocks_at(OffsetDateTime::now_utc())
        {
            return Err(Outcome::error(
                exit::NOT_NOW,
                format!(
                    "another run holds the store's lease ({}): nothing was written; run init \
                     --force again once it has finished",
                    lease.owner
                ),
            ));
        }
        record.revision = old.revision;
    }
    record.revision = store
        .save(&record)
        .await
        .map_err(|e| twilio::store_failure(cli, &e))?;
    Ok(record)
}
