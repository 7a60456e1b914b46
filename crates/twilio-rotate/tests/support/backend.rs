//! The shared store servers the multi-host tests run on, behind one type: an OpenBao server
//! (`vault+http://…` stores, `VAULT_TOKEN`) or a `moto_server` emulating AWS Secrets Manager
//! (`aws-sm://…` stores, the AWS default chain: fake keys, a region, `AWS_ENDPOINT_URL`).
//! A test asks it for a store URL, the environment a `twilio-rotate` or follower process on
//! another "host" needs (nothing else: the processes share only the server), a reader of its
//! own (a third host), and, on AWS, what an AWS-native reader sees under the labels.

// The store crates' helpers start the servers; these tests use part of them.
#[allow(dead_code)]
#[path = "../../../twilio-store/tests/vault/bao.rs"]
mod bao;
// (allows its own dead code)
#[path = "../../../twilio-store-aws/tests/moto/server.rs"]
mod moto;

use std::process::Command;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use twilio_store::vault::VaultTokenStore;
use twilio_store::{TokenRecord, TokenStore};
use twilio_store_aws::SecretsManagerStore;

/// The AWS region every AWS process uses (moto accepts any).
const REGION: &str = "us-east-1";

/// Which server, running until dropped.
enum Server {
    /// OpenBao; `mount` is the KV v2 mount (`secret` on a dev server, `kv` on a persistent one).
    Vault {
        bao: bao::Bao,
        mount: &'static str,
    },
    Aws(moto::Moto),
}

/// A running store server and how to reach it.
pub(crate) struct Backend {
    server: Server,
}

#[allow(dead_code)] // not every test binary uses every part
impl Backend {
    /// An OpenBao dev server (in memory), or `None` when `bao` is not installed outside CI.
    pub(crate) fn vault() -> Option<Self> {
        let binary = bao::binary()?;
        Some(Self {
            server: Server::Vault {
                bao: bao::Bao::dev(&binary),
                mount: "secret",
            },
        })
    }

    /// An OpenBao server on raft storage (its data survives a restart).
    pub(crate) fn vault_persistent() -> Option<Self> {
        let binary = bao::binary()?;
        Some(Self {
            server: Server::Vault {
                bao: bao::Bao::persistent(&binary),
                mount: "kv",
            },
        })
    }

    /// A `moto_server`, or `None` when moto is not installed outside CI.
    pub(crate) fn aws() -> Option<Self> {
        let launcher = moto::launcher()?;
        Some(Self {
            server: Server::Aws(moto::Moto::start(&launcher)),
        })
    }

    /// `vault` or `aws`, for messages.
    pub(crate) fn name(&self) -> &'static str {
        match self.server {
            Server::Vault { .. } => "vault",
            Server::Aws(_) => "aws",
        }
    }

    /// Whether followers publish heartbeats here (so the rotation's fleet gate counts them).
    /// Secrets Manager keeps none (`Unsupported`): the hand-off grace protects its followers.
    pub(crate) fn has_heartbeats(&self) -> bool {
        matches!(self.server, Server::Vault { .. })
    }

    /// The store URL of the record named `name` (`twilio/NAME`).
    pub(crate) fn store_url(&self, name: &str) -> String {
        match &self.server {
            Server::Vault { bao, mount } => {
                format!(
                    "vault+http://127.0.0.1:{}/{mount}/twilio/{name}",
                    bao.port()
                )
            }
            Server::Aws(_) => format!("aws-sm://twilio/{name}"),
        }
    }

    /// The whole environment a process on another host needs to reach the server (the root
    /// token on Vault; fake keys, region and endpoint on AWS).
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        match &self.server {
            Server::Vault { bao, .. } => vec![("VAULT_TOKEN".to_owned(), bao.root_token.clone())],
            Server::Aws(moto) => moto.env(),
        }
    }

    /// Credentials to search the outputs for (the Vault root token; moto's keys are the
    /// word `testing`, which is no secret and would match ordinary text).
    pub(crate) fn secrets(&self) -> Vec<String> {
        match &self.server {
            Server::Vault { bao, .. } => vec![bao.root_token.clone()],
            Server::Aws(_) => Vec::new(),
        }
    }

    /// The store at `url` as a third host reads and writes it, with a client of its own.
    pub(crate) fn reader(&self, url: &str) -> Box<dyn TokenStore> {
        match &self.server {
            Server::Vault { bao, .. } => {
                let token = bao.root_token.clone();
                Box::new(
                    VaultTokenStore::from_url_and_env(url, |name| {
                        (name == "VAULT_TOKEN").then(|| token.clone())
                    })
                    .unwrap(),
                )
            }
            Server::Aws(moto) => {
                let id = url.strip_prefix("aws-sm://").expect("an aws-sm:// URL");
                Box::new(SecretsManagerStore::with_client(id, aws_client(moto)).unwrap())
            }
        }
    }

    /// On AWS: asserts that an AWS-native reader (`GetSecretValue` by label, with the SDK)
    /// sees `record`'s tokens under `AWSCURRENT` / `AWSPENDING` / `AWSPREVIOUS`. On Vault the
    /// record is the secret: nothing more to see.
    pub(crate) async fn assert_native_view(&self, case: &str, url: &str, record: &TokenRecord) {
        let Server::Aws(moto) = &self.server else {
            return;
        };
        let id = url.strip_prefix("aws-sm://").expect("an aws-sm:// URL");
        let client = aws_client(moto);
        let under = |label: &'static str| {
            let client = client.clone();
            async move {
                let out = client
                    .get_secret_value()
                    .secret_id(id)
                    .version_stage(label)
                    .send()
                    .await
                    .ok()?;
                let json: serde_json::Value = serde_json::from_str(out.secret_string()?).ok()?;
                json["auth_token"].as_str().map(str::to_owned)
            }
        };
        let token =
            |t: Option<&twilio_store::StoredToken>| t.map(|t| t.token().expose_secret().to_owned());
        // A mismatch names labels only: the values are tokens.
        let current = under("AWSCURRENT").await;
        assert!(
            current == token(Some(&record.current)),
            "{case}: AWSCURRENT is not the record's current token"
        );
        let pending = under("AWSPENDING").await;
        assert!(
            pending == token(record.pending.as_ref()),
            "{case}: AWSPENDING does not match the record's pending token (present: {}, \
             expected: {})",
            pending.is_some(),
            record.pending.is_some()
        );
        // AWSPREVIOUS: Secrets Manager itself puts it on the version AWSCURRENT left, so it
        // is the record's previous token whenever the record has one.
        if record.previous.is_some() {
            let previous = under("AWSPREVIOUS").await;
            assert!(
                previous == token(record.previous.as_ref()),
                "{case}: AWSPREVIOUS is not the record's previous token"
            );
        }
    }

    /// The Vault server itself (for policies and tokens of its own).
    pub(crate) fn bao(&self) -> Option<&bao::Bao> {
        match &self.server {
            Server::Vault { bao, .. } => Some(bao),
            Server::Aws(_) => None,
        }
    }

    /// Makes the server unreachable while keeping its data: a persistent OpenBao server is
    /// SIGKILLed (its raft data stays on disk); `moto_server`, which keeps everything in
    /// memory, is stopped with SIGSTOP (it accepts connections and answers nothing).
    pub(crate) fn take_away(&mut self) {
        match &mut self.server {
            Server::Vault { bao, .. } => bao.kill(),
            Server::Aws(moto) => signal(moto.pid(), "STOP"),
        }
    }

    /// Brings it back: OpenBao restarted on its data and unsealed; moto continued (SIGCONT).
    pub(crate) fn bring_back(&mut self) {
        match &mut self.server {
            Server::Vault { bao, .. } => {
                bao.restart();
                bao.unseal();
            }
            Server::Aws(moto) => signal(moto.pid(), "CONT"),
        }
    }
}

/// The test's own Secrets Manager client (another host's), on `moto`.
fn aws_client(moto: &moto::Moto) -> twilio_store_aws::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    twilio_store_aws::Client::from_conf(config)
}

/// `kill -SIG PID`, by the shell's builtin (no libc binding for one signal).
pub(crate) fn signal(pid: u32, signal: &str) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{signal} {pid}")])
        .status()
        .expect("run sh");
    assert!(status.success(), "kill -{signal} {pid}");
}
