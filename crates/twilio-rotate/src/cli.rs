//! The command line: its arguments (flags or environment variables), the commands, and how an
//! outcome is printed.

use std::io::Write as _;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use twilio_accounts::rotation::GatePolicy;

use crate::exit;
use crate::store_arg::StoreLocation;

/// Rotate a Twilio account's Auth Token without locking anyone out.
#[derive(Debug, Parser)]
#[command(name = "twilio-rotate", version, after_help = after_help())]
pub(crate) struct Cli {
    /// The token store: a file path or a file:///path URL (created by `init`, owner-only), or a
    /// Vault/OpenBao KV v2 secret: vault://HOST/MOUNT/PATH (https, port 8200 unless
    /// HOST:PORT), vault+http://127.0.0.1:PORT/MOUNT/PATH (a loopback dev server),
    /// vault:///MOUNT/PATH (the server in VAULT_ADDR), or an AWS Secrets Manager secret:
    /// aws-sm://SECRET-ID (its name or ARN).
    #[arg(
        long,
        global = true,
        value_name = "STORE",
        env = "TWILIO_ROTATE_STORE",
        hide_env_values = true,
        default_value = "twilio-token-store.json",
        value_parser = StoreLocation::parse
    )]
    pub(crate) store: StoreLocation,
    /// Twilio's Accounts API base URL (https; http only to loopback, for an emulator).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "TWILIO_ROTATE_BASE_URL",
        hide_env_values = true,
        default_value = "https://accounts.twilio.com"
    )]
    pub(crate) base_url: String,
    /// Rotation commands: how long to keep asking Twilio for a clear answer (a new token to
    /// authenticate, the stored tokens to tell which is the primary) before giving up
    /// (default 60); `status` and `resume`: how long after a promotion a refused new token is
    /// still propagating (default: the window the rotating run recorded, else 60).
    #[arg(long, global = true, value_name = "SECONDS")]
    pub(crate) propagation_window: Option<u64>,
    /// `complete`, `rotate`, `resume`: how long the fleet gate waits for every live follower
    /// to hold the new token before its policy decides (default 60; `resume`: what the
    /// interrupted run recorded).
    #[arg(long, global = true, value_name = "SECONDS")]
    pub(crate) max_wait: Option<u64>,
    /// `complete`, `rotate`, `resume`: what the fleet gate does when --max-wait ends first:
    /// `do-not-promote` (the default: stay staged, both tokens keep working) or
    /// `promote-anyway` (followers without the new token fail until they reload).
    #[arg(long, global = true, value_name = "POLICY", value_parser = parse_gate_policy)]
    pub(crate) gate_policy: Option<GatePolicy>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

fn parse_gate_policy(name: &str) -> Result<GatePolicy, String> {
    GatePolicy::parse(name)
        .ok_or_else(|| format!("`{name}` is not a gate policy: do-not-promote or promote-anyway"))
}

fn after_help() -> String {
    format!(
        "{}\n\n\
         Tokens are never printed: only their fingerprints (first 8 hex digits of their SHA-256).\n\
         `init` reads TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the environment; every other\n\
         command reads the account and its tokens from the store only.\n\
         --store and --base-url may also come from TWILIO_ROTATE_STORE and TWILIO_ROTATE_BASE_URL.\n\
         A vault:// store authenticates with VAULT_TOKEN (never printed), with VAULT_ADDR,\n\
         VAULT_NAMESPACE and VAULT_CACERT read as Vault's own CLI reads them.\n\
         An aws-sm:// store takes its region, credentials and endpoint from the AWS default chain\n\
         (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID..., web identity, ECS, EC2 metadata).",
        exit::HELP
    )
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write the store from TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, after one request that
    /// checks Twilio accepts the token.
    Init {
        /// Write without asking Twilio (offline set-up); `status` checks the token later.
        #[arg(long)]
        no_verify: bool,
        /// Replace the token of an existing store with no rotation in flight (a stale token
        /// changed outside the store); the new token is verified first unless --no-verify.
        #[arg(long)]
        force: bool,
    },
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
    /// After a crash or an outage: find out Twilio's state with the stored tokens; finish or
    /// roll back, with the interrupted run's recorded choices.
    Resume {
        /// Seconds of hand-off grace still owed to followers if the rotation was staged
        /// (default: what the interrupted run recorded).
        #[arg(long, value_name = "SECONDS")]
        grace: Option<u64>,
    },
    /// Print the store's labels (fingerprints), which stored token Twilio accepts, and whether a
    /// rotation is in flight.
    Status,
}

impl Command {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Init { .. } => "init",
            Command::Stage => "stage",
            Command::Complete { .. } => "complete",
            Command::Rotate { .. } => "rotate",
            Command::Resume { .. } => "resume",
            Command::Status => "status",
        }
    }
}

/// What a command ends with: an exit code and what to print.
pub(crate) struct Outcome {
    pub(crate) code: u8,
    pub(crate) text: String,
    pub(crate) json: Value,
}

impl Outcome {
    /// A failure with `code`: `error: {message}` in text, `{"error": message}` in JSON.
    pub(crate) fn error(code: u8, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code,
            text: format!("error: {message}"),
            json: json!({ "error": message }),
        }
    }

    /// A usage or configuration error: a person must act.
    pub(crate) fn person(message: impl Into<String>) -> Self {
        Self::error(exit::PERSON, message)
    }
}

pub(crate) async fn run(cli: Cli) -> u8 {
    let command = cli.command.name();
    let outcome = match &cli.command {
        Command::Init { no_verify, force } => crate::init::run(&cli, *no_verify, *force).await,
        Command::Status => crate::status::run(&cli).await,
        Command::Stage
        | Command::Complete { .. }
        | Command::Rotate { .. }
        | Command::Resume { .. } => crate::rotation::run(&cli).await,
    };
    let mut json = outcome.json;
    if let Value::Object(map) = &mut json {
        map.insert("command".into(), command.into());
        map.insert("exit_code".into(), outcome.code.into());
    }
    if cli.json {
        println!("{json}");
    } else if outcome.code == exit::OK {
        println!("{}", outcome.text);
    } else {
        eprintln!("{}", outcome.text);
    }
    let _ = std::io::stdout().flush();
    outcome.code
}
