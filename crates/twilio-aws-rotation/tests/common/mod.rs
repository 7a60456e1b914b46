//! The test world: a real `moto_server` playing AWS Secrets Manager, the in-process Twilio
//! emulator, and a driver that plays the Secrets Manager rotation service: it starts a rotation
//! the way `RotateSecret` does and invokes the four steps the way the service invokes the
//! rotation function.

#![allow(dead_code, unreachable_pub)]

pub mod moto;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_secretsmanager::Client as SecretsManager;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::types::RotationRulesType;
use twilio_accounts::Client;
use twilio_accounts::rotation::VerifyBackoff;
use twilio_aws_rotation::{Error, RotationEvent, Rotator, Step, StepReport};
use twilio_emulator::Emulator;
use twilio_types::AuthToken;

pub use moto::Moto;

/// The four steps in the order Secrets Manager invokes them.
pub const STEPS: [Step; 4] = [
    Step::CreateSecret,
    Step::SetSecret,
    Step::TestSecret,
    Step::FinishSecret,
];

/// Everything the tests print or log, captured at TRACE (searched for tokens).
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// moto + the emulator + one secret holding the emulator account's primary token.
pub struct World {
    pub moto: Moto,
    pub emulator: Emulator,
    pub sm: SecretsManager,
    pub secret_id: String,
    pub rotator: Rotator,
    /// Every token any test step saw, to search the captured output for.
    pub seen: Mutex<Vec<String>>,
}

/// A rotation id as Secrets Manager makes them (moto wants 32 to 64 characters).
pub fn version_id(n: u32) -> String {
    format!("6d4c2b1a-0000-4000-8000-{n:012}")
}

impl World {
    /// `None` when moto is not installed (outside CI: the test is skipped loudly).
    pub async fn start() -> Option<World> {
        captured_logs();
        let moto = tokio::task::spawn_blocking(Moto::start)
            .await
            .expect("moto starts")?;
        let emulator = Emulator::builder()
            .start()
            .await
            .expect("the emulator starts");
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(moto::REGION))
            .endpoint_url(moto.endpoint())
            .credentials_provider(Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "moto-accepts-any-secret",
                None,
                None,
                "test",
            ))
            .http_client(twilio_aws_rotation::aws_https_client())
            .build();
        let sm = SecretsManager::from_conf(config);
        let secret_id = "twilio/test".to_owned();
        let first = format!(
            r#"{{"account_sid":"{}","auth_token":"{}"}}"#,
            emulator.account_sid(),
            emulator.auth_token().expose_secret()
        );
        sm.create_secret()
            .name(&secret_id)
            .secret_string(first)
            .send()
            .await
            .expect("CreateSecret");
        let rotator = Rotator::new(sm.clone())
            .twilio_base_url(&emulator.base_url())
            .propagation_window(Duration::from_secs(5))
            .verify_backoff(VerifyBackoff::new(
                Duration::from_millis(10),
                Duration::from_millis(200),
            ));
        let world = World {
            moto,
            emulator,
            sm,
            secret_id,
            rotator,
            seen: Mutex::new(Vec::new()),
        };
        world.see_twilio();
        Some(world)
    }

    /// Remembers the emulator's tokens (to search the output for them later).
    pub fn see_twilio(&self) {
        let mut seen = self.seen.lock().unwrap();
        seen.push(self.emulator.auth_token().expose_secret().to_owned());
        if let Some(s) = self.emulator.secondary_auth_token() {
            seen.push(s.expose_secret().to_owned());
        }
    }

    /// What `RotateSecret` does before it invokes the function: a version `version` with no
    /// value yet, staged `AWSPENDING`, and rotation enabled. moto does it (with its no-op
    /// Lambda). Its "rotation in progress" check is inverted (it refuses while AWSPENDING sits
    /// on the AWSCURRENT version, where AWS leaves it after a finished rotation and accepts
    /// it), so the driver takes that label off first; AWS treats both states alike.
    pub async fn start_rotation(&self, version: &str) {
        let description = self
            .sm
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
            .expect("DescribeSecret");
        let on_current = description
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .find(|(_, labels)| {
                labels.iter().any(|l| l == "AWSPENDING") && labels.iter().any(|l| l == "AWSCURRENT")
            })
            .map(|(id, _)| id.clone());
        if let Some(id) = on_current {
            self.sm
                .update_secret_version_stage()
                .secret_id(&self.secret_id)
                .version_stage("AWSPENDING")
                .remove_from_version_id(id)
                .send()
                .await
                .expect("UpdateSecretVersionStage");
        }
        self.sm
            .rotate_secret()
            .secret_id(&self.secret_id)
            .client_request_token(version)
            .rotation_lambda_arn(Moto::function_arn())
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .rotate_immediately(true)
            .send()
            .await
            .expect("RotateSecret");
    }

    /// Invokes one step, as the service does.
    pub async fn step(&self, version: &str, step: Step) -> Result<StepReport, Error> {
        let event = RotationEvent::new(&self.secret_id, version, step);
        let result = self.rotator.handle(&event).await;
        self.see_twilio();
        result
    }

    /// A whole rotation: start, then the four steps, each expected to succeed.
    pub async fn rotate(&self, version: &str) {
        self.start_rotation(version).await;
        self.run_steps(version).await;
    }

    /// The four steps for a rotation already started, each expected to succeed.
    pub async fn run_steps(&self, version: &str) {
        for step in STEPS {
            let report = self.step(version, step).await;
            assert!(report.is_ok(), "{step}: {report:?}");
        }
    }

    /// The token of the version with `label`, if it has one.
    pub async fn token(&self, label: &str) -> Option<AuthToken> {
        let out = self
            .sm
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(label)
            .send()
            .await
            .ok()?;
        Some(parse_token(out.secret_string()?))
    }

    /// The tokens of every version of the secret that has a value.
    pub async fn stored_tokens(&self) -> Vec<AuthToken> {
        let mut tokens = Vec::new();
        for id in self.version_ids().await {
            if let Ok(out) = self
                .sm
                .get_secret_value()
                .secret_id(&self.secret_id)
                .version_id(id)
                .send()
                .await
                && let Some(text) = out.secret_string()
            {
                tokens.push(parse_token(text));
            }
        }
        tokens
    }

    /// Every version id of the secret.
    pub async fn version_ids(&self) -> Vec<String> {
        let out = self
            .sm
            .list_secret_version_ids()
            .secret_id(&self.secret_id)
            .include_deprecated(true)
            .send()
            .await
            .expect("ListSecretVersionIds");
        out.versions()
            .iter()
            .filter_map(|v| v.version_id().map(str::to_owned))
            .collect()
    }

    /// A Twilio client of the emulator that authenticates with `token`.
    pub fn twilio(&self, token: &AuthToken) -> Client {
        let credentials = twilio_accounts::Credentials::from_auth_token(
            self.emulator.account_sid(),
            token.clone(),
        )
        .unwrap();
        Client::builder()
            .credentials(credentials)
            .base_url(&self.emulator.base_url())
            .build()
            .unwrap()
    }

    /// Whether Twilio (the emulator) accepts `token` now.
    pub async fn accepted(&self, token: &AuthToken) -> bool {
        let client = self.twilio(token);
        match client.credentials().aws().list().page_size(1).send().await {
            Ok(_) => true,
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 401) => false,
            Err(e) => panic!("the emulator failed: {e}"),
        }
    }

    /// No token lost: every token Twilio accepts is in some version of the secret.
    pub async fn assert_no_token_lost(&self) {
        let stored = self.stored_tokens().await;
        let mut live = vec![self.emulator.auth_token()];
        live.extend(self.emulator.secondary_auth_token());
        for token in live {
            assert!(
                stored.iter().any(|s| s.ct_eq(token.expose_secret())),
                "a token Twilio accepts is in no version of the secret"
            );
        }
    }

    /// After a finished rotation: both labelled tokens work, `AWSCURRENT` is Twilio's
    /// secondary and `AWSPREVIOUS` its primary.
    pub async fn assert_settled(&self) {
        let current = self.token("AWSCURRENT").await.expect("AWSCURRENT");
        let previous = self.token("AWSPREVIOUS").await.expect("AWSPREVIOUS");
        assert!(self.accepted(&current).await, "AWSCURRENT works");
        assert!(self.accepted(&previous).await, "AWSPREVIOUS works");
        assert!(self.emulator.auth_token().ct_eq(previous.expose_secret()));
        let secondary = self.emulator.secondary_auth_token().expect("a secondary");
        assert!(secondary.ct_eq(current.expose_secret()));
        self.assert_no_token_lost().await;
    }

    /// Nothing captured (logs at TRACE, and `extra`: reports and errors the test printed)
    /// holds any token this world saw, nor its Basic header.
    pub fn assert_no_token_in(&self, extra: &str) {
        let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
        assert!(!logs.is_empty(), "the logs are captured");
        let header = self.emulator.basic_auth_header();
        for secret in self.seen.lock().unwrap().iter().chain([&header]) {
            assert!(!logs.contains(secret.as_str()), "a token is in the logs");
            assert!(!extra.contains(secret.as_str()), "a token is in the output");
        }
    }
}

fn parse_token(text: &str) -> AuthToken {
    let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
    AuthToken::new(value["auth_token"].as_str().expect("auth_token")).unwrap()
}
