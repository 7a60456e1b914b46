//! The command line and what each command does.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use twilio_accounts::Client;
use twilio_accounts::rotation::Checkpoint;
use twilio_accounts::rotation::{AccountState, RotateAuthToken, RotationError, RotationStep};
use twilio_store::{
    FileTokenStore, StoreError, StoreErrorKind, TokenLabel, TokenRecord, TokenStore,
};
use twilio_transport::Credentials;
use twilio_types::{AccountSid, AuthToken};

use crate::output::{record_json, report_json, state_name};

/// Done.
const EXIT_OK: u8 = 0;
/// Failed, nothing changed: safe to run again.
const EXIT_FAILED: u8 = 1;
/// Usage or configuration error (bad flags, no store, store unreadable, `init` over a store).
pub(crate) const EXIT_CONFIG: u8 = 2;
/// Needs attention: the account's state is not clear or not final; run `resume`.
const EXIT_ATTENTION: u8 = 3;

/// The test seam: with `TWILIO_ROTATE_PAUSE_AT=<checkpoint>`, the process prints
/// `twilio-rotate: paused at <checkpoint>` on stderr when the rotation reaches that boundary
/// and sleeps there, so that a test can kill it at exactly that point (`<checkpoint>@mark`:
/// prints and goes on). Never set it in production.
const PAUSE_ENV: &str = "TWILIO_ROTATE_PAUSE_AT";

const AFTER_HELP: &str = "\
Exit codes:
  0  done
  1  failed, nothing changed (safe to run again)
  2  usage or configuration error
  3  needs attention (state Unknown, RotatedUnverified or an interrupted rotation): run `resume`

Tokens are never printed: only their fingerprints (first 8 hex digits of their SHA-256).
`init` reads TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the environment; every other
command reads the account and its tokens from the store only.";

/// Rotate a Twilio account's Auth Token without locking anyone out.
#[derive(Debug, Parser)]
#[command(name = "twilio-rotate", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The token store file (created by `init`, owner-only).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "twilio-token-store.json"
    )]
    store: PathBuf,
    /// Twilio's Accounts API base URL (an emulator on loopback http for tests).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "https://accounts.twilio.com"
    )]
    base_url: String,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a new store from TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (never overwrites).
    Init,
    /// Create the new token, verify it, store it as pending; both tokens then work.
    Stage,
    /// Promote the staged token (refused before the hand-off grace, unless forced).
    Complete {
        /// Promote even before the hand-off grace has passed since staging.
        #[arg(long)]
        force: bool,
    },
    /// Stage, wait the hand-off grace, complete.
    Rotate {
        /// Seconds between staging and promotion for followers to take the new token
        /// (0 for a single consumer; default twice the followers' reload interval).
        #[arg(long, value_name = "SECONDS")]
        grace: Option<u64>,
    },
    /// After a crash: find out Twilio's state with the stored tokens; finish or roll back.
    Resume {
        /// Seconds of hand-off grace still owed to followers if the rotation was staged.
        #[arg(long, value_name = "SECONDS")]
        grace: Option<u64>,
    },
    /// Print the store's labels (fingerprints) and which stored token Twilio accepts.
    Status,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Init => "init",
            Command::Stage => "stage",
            Command::Complete { .. } => "complete",
            Command::Rotate { .. } => "rotate",
            Command::Resume { .. } => "resume",
            Command::Status => "status",
        }
    }
}

/// What a command ends with: an exit code and what to print.
struct Outcome {
    code: u8,
    text: String,
    json: Value,
}

impl Outcome {
    fn config(message: String) -> Self {
        Self {
            code: EXIT_CONFIG,
            json: json!({ "error": message }),
            text: format!("error: {message}"),
        }
    }
}

pub(crate) async fn run(cli: Cli) -> u8 {
    let command = cli.command.name();
    let outcome = match &cli.command {
        Command::Init => init(&cli),
        Command::Status => status(&cli).await,
        Command::Stage
        | Command::Complete { .. }
        | Command::Rotate { .. }
        | Command::Resume { .. } => rotation(&cli).await,
    };
    let mut json = outcome.json;
    if let Value::Object(map) = &mut json {
        map.insert("command".into(), command.into());
        map.insert("exit_code".into(), outcome.code.into());
    }
    if cli.json {
        println!("{json}");
    } else if outcome.code == EXIT_OK {
        println!("{}", outcome.text);
    } else {
        eprintln!("{}", outcome.text);
    }
    let _ = std::io::stdout().flush();
    outcome.code
}

fn store_error(error: &StoreError) -> Outcome {
    let code = match error.kind() {
        StoreErrorKind::Locked | StoreErrorKind::Conflict => EXIT_FAILED,
        _ => EXIT_CONFIG,
    };
    Outcome {
        code,
        json: json!({ "error": error.to_string() }),
        text: format!("error: {error}"),
    }
}

fn init(cli: &Cli) -> Outcome {
    let sid = match std::env::var("TWILIO_ACCOUNT_SID") {
        Ok(sid) => sid,
        Err(_) => return Outcome::config("TWILIO_ACCOUNT_SID is not set".into()),
    };
    let account: AccountSid = match sid.parse() {
        Ok(account) => account,
        Err(_) => {
            return Outcome::config("TWILIO_ACCOUNT_SID is not an Account SID (AC…)".into());
        }
    };
    let token = match std::env::var("TWILIO_AUTH_TOKEN").map(AuthToken::new) {
        Ok(Ok(token)) => token,
        Ok(Err(_)) => return Outcome::config("TWILIO_AUTH_TOKEN is not a usable token".into()),
        Err(_) => return Outcome::config("TWILIO_AUTH_TOKEN is not set".into()),
    };
    let record = TokenRecord::new(account, token);
    match FileTokenStore::create(&cli.store, &record) {
        Ok(_) => Outcome {
            code: EXIT_OK,
            text: format!(
                "store {} written for {account}: current token {}",
                cli.store.display(),
                record.current.fingerprint()
            ),
            json: json!({ "store": record_json(&record) }),
        },
        Err(error) => store_error(&error),
    }
}

/// Opens the store and builds a client from its `current` token.
async fn open(cli: &Cli) -> Result<(Arc<dyn TokenStore>, TokenRecord, Client), Outcome> {
    let store = FileTokenStore::open(&cli.store).map_err(|e| store_error(&e))?;
    let record = match store.load().await {
        Ok(Some(record)) => record,
        Ok(None) => return Err(Outcome::config("the store is empty: run init".into())),
        Err(error) => return Err(store_error(&error)),
    };
    let credentials =
        Credentials::from_auth_token(record.account_sid, record.current.token().clone()).map_err(
            |_| Outcome::config("the stored token cannot be used as a credential".into()),
        )?;
    let client = Client::builder()
        .credentials(credentials)
        .base_url(&cli.base_url)
        .build()
        .map_err(|e| Outcome::config(format!("--base-url: {e}")))?;
    Ok((Arc::new(store), record, client))
}

async fn rotation(cli: &Cli) -> Outcome {
    let (store, _, client) = match open(cli).await {
        Ok(opened) => opened,
        Err(outcome) => return outcome,
    };
    let mut builder: RotateAuthToken = client.rotate_auth_token().store(store.clone());
    if let Ok(pause_at) = std::env::var(PAUSE_ENV) {
        // `<checkpoint>@mark` only prints the marker and goes on (to kill during the next
        // request, with an emulator's latency).
        let (checkpoint, sleep) = match pause_at.strip_suffix("@mark") {
            Some(checkpoint) => (Checkpoint::parse(checkpoint), false),
            None => (Checkpoint::parse(&pause_at), true),
        };
        builder = builder.on_checkpoint(move |name| {
            if Some(name) == checkpoint {
                eprintln!("twilio-rotate: paused at {name}");
                let _ = std::io::stderr().flush();
                if sleep {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
        });
    }
    let result = match &cli.command {
        Command::Stage => builder.stage().await,
        Command::Complete { force } => builder.force(*force).complete().await,
        Command::Rotate { grace } => {
            if let Some(grace) = grace {
                builder = builder.hand_off_grace(Duration::from_secs(*grace));
            }
            builder.send().await
        }
        Command::Resume { grace } => {
            if let Some(grace) = grace {
                builder = builder.hand_off_grace(Duration::from_secs(*grace));
            }
            builder.resume().await
        }
        Command::Init | Command::Status => {
            return Outcome::config("not a rotation command".into());
        }
    };
    let mut outcome = match result {
        Ok(report) => Outcome {
            code: EXIT_OK,
            text: report.to_string(),
            json: report_json(&report),
        },
        Err(err) => failure(&err),
    };
    // Where the store stands now, as fingerprints.
    if let (Ok(Some(record)), Value::Object(map)) = (store.load().await, &mut outcome.json) {
        map.insert("store".into(), record_json(&record));
    }
    outcome
}

fn failure(err: &RotationError) -> Outcome {
    let code = match (err.state(), err.failed_step()) {
        // Nothing changed: a configuration problem, or safe to run again.
        (AccountState::Unchanged, _) => match err.error() {
            twilio_accounts::Error::Store(e)
                if !matches!(e.kind(), StoreErrorKind::Locked | StoreErrorKind::Io) =>
            {
                EXIT_CONFIG
            }
            _ => EXIT_FAILED,
        },
        // `complete` before the hand-off grace: still staged, run it again later.
        (AccountState::Staged, RotationStep::HandOffGrace) => EXIT_FAILED,
        // Anything else is a rotation in progress or unclear: `resume`.
        _ => EXIT_ATTENTION,
    };
    let mut json = report_json(err.report());
    if let Value::Object(map) = &mut json {
        map.insert("error".into(), err.to_string().into());
        map.insert("failed_step".into(), err.failed_step().name().into());
    }
    let mut text = format!("error: {err}");
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text.push_str(&format!("\n  caused by: {c}"));
        cause = c.source();
    }
    text.push_str(&format!("\n{}", err.report()));
    if code == EXIT_ATTENTION {
        text.push_str("\nrun `twilio-rotate resume` to finish or roll back");
    }
    Outcome { code, text, json }
}

/// What one authenticated read with `token` says.
async fn probe(cli: &Cli, account: AccountSid, token: &AuthToken) -> &'static str {
    let Ok(credentials) = Credentials::from_auth_token(account, token.clone()) else {
        return "unusable";
    };
    let Ok(client) = Client::builder()
        .credentials(credentials)
        .base_url(&cli.base_url)
        .build()
    else {
        return "error";
    };
    match client.credentials().aws().list().page_size(1).send().await {
        Ok(_) => "works",
        Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(401 | 403)) => "refused",
        Err(_) => "error",
    }
}

async fn status(cli: &Cli) -> Outcome {
    let (_, record, _) = match open(cli).await {
        Ok(opened) => opened,
        Err(outcome) => return outcome,
    };
    let mut twilio = serde_json::Map::new();
    let mut text = format!(
        "store {} for {} (phase {:?}, revision {})",
        cli.store.display(),
        record.account_sid,
        record.phase,
        record.revision
    );
    let mut current_works = false;
    for (label, stored) in record.tokens() {
        let answer = probe(cli, record.account_sid, stored.token()).await;
        if label == TokenLabel::Current {
            current_works = answer == "works";
        }
        text.push_str(&format!(
            "\n  {label:<8} {}  Twilio: {answer}",
            stored.fingerprint()
        ));
        twilio.insert(label.as_str().into(), answer.into());
    }
    let idle = record.phase == twilio_store::RotationPhase::Idle;
    let code = if current_works && idle {
        EXIT_OK
    } else {
        text.push_str("\nneeds attention: run `twilio-rotate resume`");
        EXIT_ATTENTION
    };
    Outcome {
        code,
        text,
        json: json!({
            "state": if idle { state_name(AccountState::Unchanged) } else { "InProgress" },
            "store": record_json(&record),
            "twilio": twilio,
        }),
    }
}
