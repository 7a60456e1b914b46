//! The SDK calls of the contract check: every operation through `twilio-accounts`.

use std::future::Future;
use std::path::Path;

use time::macros::datetime;
use twilio_accounts::Client;
use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
use twilio_accounts::bulk_contacts::ContactItem;
use twilio_accounts::compliance_signals::{Channel, CreateComplianceSignalsCheck, Signal, UseCase};
use twilio_accounts::credentials::AwsCredentials;
use twilio_accounts::messaging_geopermissions::GeoPermissionUpdate;
use twilio_emulator::Emulator;
use twilio_transport::{Credentials, RetryConfig};
use twilio_types::{AccountSid, AuthToken, CredentialSid, E164};

use super::observe::Observed;
use super::ops::Op;
use super::report::{Check, Report};
use super::{CALL_TIMEOUT, Options, error_chain, proxy_args, verdict};
use crate::Result;
use crate::prism::Prism;

/// How a call that timed out is reported.
const NO_ANSWER: &str = "no answer within";

/// Which optional parameters a call sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Params {
    /// Every optional parameter the operation has.
    All,
    /// Only the required ones.
    None,
}

/// Any well-formed account: Prism checks only that Basic auth is present.
const MOCK_ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const MOCK_TOKEN: &str = "contract-check-token";
const MOCK_CREDENTIAL: &str = "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SUBACCOUNT: &str = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const PHONE: &str = "+18001234567";
/// AWS's own documentation example key pair.
const AWS_CREDENTIALS: &str = "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// A real RSA public key (`+`, `/`, `=` and newlines exercise the form encoding).
const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtNuCa9rgipjQjUR2hWZ5
B8lvDIIEBCHK4yJshXsjU6H7UkoMsLY+wSqcraakUpoIZsUCEN+zzL36DcOkt/vM
mrR2/AJSy5fnWnCq0VWgZmSXWikXA+58MJhr18IbooKDhK7NS+2j11pHZC2hP3zW
E+IuRkvS/AOS9qciFMGABdttU+dF7DtSZzTFnFzLdm4fCLmM/A0euPqi++2bNH+W
6FlqJB/nuVUVjyG54N+ydXUYf+XGQ4oxB2WrcmmwBzlOBvf+JD8q9qcNvuKIm7ga
HVcljZHGNp5ZnsL6OtS/6BEwzQuE6OlvM6r0k1sGZtgkJlvrUHawUgsxHBY53rWs
DQIDAQAB
-----END PUBLIC KEY-----
";

/// A client over an [`Observed`] transport, and that transport.
struct Harness {
    client: Client,
    wire: Observed,
    verbose: bool,
}

impl Harness {
    fn new(
        base_url: &str,
        credentials: Credentials,
        prefer_dynamic: bool,
        verbose: bool,
    ) -> Result<Self> {
        let wire = Observed::new(prefer_dynamic);
        let client = Client::builder()
            .credentials(credentials)
            .base_url(base_url)
            // One attempt per call: what Prism says about it is the verdict.
            .retry(RetryConfig::disabled())
            .user_agent_extension("xtask-contract")
            .transport(wire.clone())
            .build()
            .map_err(|e| format!("could not build the SDK client: {}", error_chain(&e)))?;
        Ok(Self {
            client,
            wire,
            verbose,
        })
    }

    /// Runs one SDK call of `op` and judges it (see [`verdict`]); returns the decoded value.
    async fn check<T, E>(&self, op: Op, call: impl Future<Output = Result<T, E>>) -> Result<T>
    where
        E: std::error::Error,
    {
        self.wire.take();
        let Ok(sdk) = tokio::time::timeout(CALL_TIMEOUT, call).await else {
            return Err(format!("{NO_ANSWER} {CALL_TIMEOUT:?}"));
        };
        let exchanges = self.wire.take();
        if self.verbose {
            for e in &exchanges {
                println!(
                    "         > {} {} [{}] {}",
                    e.method, e.path_and_query, e.status, e.request_body
                );
            }
        }
        verdict(op, &sdk, &exchanges)?;
        sdk.map_err(|e| error_chain(&e))
    }
}

fn mock_credentials() -> Result<Credentials> {
    let account = AccountSid::parse(MOCK_ACCOUNT).map_err(|e| e.to_string())?;
    let token = AuthToken::new(MOCK_TOKEN).map_err(|e| e.to_string())?;
    Credentials::from_auth_token(account, token).map_err(|e| e.to_string())
}

fn aws_credentials() -> Result<AwsCredentials> {
    AwsCredentials::parse(AWS_CREDENTIALS).map_err(|e| error_chain(&e))
}

fn sid<T: std::str::FromStr>(s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

/// `prism mock`: every operation with all and with no optional parameters, then
/// `dynamic_runs` times with `Prefer: dynamic=true`.
pub(super) async fn mock_checks(
    base_url: &str,
    options: &Options,
    report: &mut Report,
) -> Result<()> {
    let dynamic_runs = options.dynamic_runs;
    println!("\n    -- prism mock: every operation, all optional parameters and none");
    let fixed = Harness::new(base_url, mock_credentials()?, false, options.verbose)?;
    for op in Op::ALL {
        for (params, check) in [
            (Params::All, Check::MockAll),
            (Params::None, Check::MockNone),
        ] {
            let outcome = mock_call(&fixed, op, params, true).await;
            print_outcome(op, check.label(), &outcome);
            report.record(op, check, outcome);
        }
    }

    println!("\n    -- prism mock, Prefer: dynamic=true: {dynamic_runs} calls per operation");
    let dynamic = Harness::new(base_url, mock_credentials()?, true, false)?;
    for op in Op::ALL {
        let mut passed = 0;
        for run in 0..dynamic_runs {
            let params = if run % 2 == 0 {
                Params::All
            } else {
                Params::None
            };
            let outcome = mock_call(&dynamic, op, params, false).await;
            passed += usize::from(outcome.is_ok());
            let hung = outcome.as_ref().is_err_and(|e| e.starts_with(NO_ANSWER));
            report.record(op, Check::Dynamic, outcome);
            if hung {
                // One hang is a verdict; do not wait for it `dynamic_runs` times.
                break;
            }
        }
        println!("       {:<30} {passed}/{dynamic_runs}", op.id());
    }
    Ok(())
}

fn print_outcome(op: Op, what: &str, outcome: &Result<()>) {
    match outcome {
        Ok(()) => println!("       {:<30} {what:<16} ok", op.id()),
        Err(_) => println!("       {:<30} {what:<16} FAILED (details below)", op.id()),
    }
}

fn consent_items(params: Params) -> Vec<ConsentItem> {
    let opt_in = ConsentItem::new(
        "+15005550006",
        "ad388b5a46b33b874b0d41f7226db2ef",
        "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ConsentStatus::OptIn,
        ConsentSource::Website,
    );
    match params {
        Params::None => vec![opt_in],
        Params::All => vec![
            opt_in.date_of_consent(datetime!(2024-05-04 09:42:00 UTC)),
            ConsentItem::new(
                "+15005550007",
                "02520cfa6c432f0e3ec3a38c122d428d",
                PHONE,
                ConsentStatus::OptOut,
                ConsentSource::OptOutMessage,
            )
            .date_of_consent(datetime!(2024-05-05 10:00:00 UTC)),
        ],
    }
}

fn contact_items(params: Params) -> Vec<ContactItem> {
    let first = ContactItem::new(
        "+15005550006",
        "ad388b5a46b33b874b0d41f7226db2ef",
        "US",
        "94105",
    );
    match params {
        Params::None => vec![first],
        Params::All => vec![
            first,
            ContactItem::new(
                "+442071838750",
                "02520cfa6c432f0e3ec3a38c122d428d",
                "GB",
                "SW1A 1AA",
            ),
        ],
    }
}

fn geo_updates(params: Params) -> Vec<GeoPermissionUpdate> {
    match params {
        Params::None => vec![GeoPermissionUpdate::new("US", true)],
        Params::All => vec![
            GeoPermissionUpdate::new("IN", false),
            GeoPermissionUpdate::new("PK", true),
        ],
    }
}

/// One stateless call of `op` against `prism mock`. With `typed`, the documented shapes of
/// the untyped fields (`items`, `permissions`) must decode too (true for the spec's
/// examples; dynamic responses may put any JSON there).
async fn mock_call(h: &Harness, op: Op, params: Params, typed: bool) -> Result<()> {
    let c = &h.client;
    let all = params == Params::All;
    let cr: CredentialSid = sid(MOCK_CREDENTIAL)?;
    match op {
        Op::UpdateAuthTokenPromotion => {
            let mut b = c.auth_token_promotion().update();
            if all {
                b = b.suppress_email_notification(true);
            }
            h.check(op, b.send()).await?;
        }
        Op::CreateSecondaryAuthToken => {
            let mut b = c.secondary_auth_token().create();
            if all {
                b = b.suppress_email_notification(true);
            }
            h.check(op, b.send()).await?;
        }
        Op::DeleteSecondaryAuthToken => {
            let mut b = c.secondary_auth_token().delete();
            if all {
                b = b.suppress_email_notification(true);
            }
            h.check(op, b.send()).await?;
        }
        Op::CreateBulkConsents => {
            let result = h
                .check(op, c.bulk_consents().create(consent_items(params)).send())
                .await?;
            if typed {
                result
                    .item_results()
                    .map_err(|e| format!("typed items: {}", error_chain(&e)))?;
            }
        }
        Op::CreateBulkContacts => {
            let result = h
                .check(op, c.bulk_contacts().create(contact_items(params)).send())
                .await?;
            if typed {
                result
                    .item_results()
                    .map_err(|e| format!("typed items: {}", error_chain(&e)))?;
            }
        }
        Op::ListCredentialAws => {
            let mut b = c.credentials().aws().list();
            if all {
                b = b.page_size(50).page(2).page_token("PTcontract").limit(200);
            }
            h.check(op, b.send()).await?;
        }
        Op::CreateCredentialAws => {
            let mut b = c.credentials().aws().create(aws_credentials()?);
            if all {
                b = b
                    .friendly_name("contract check")
                    .account_sid(sid(SUBACCOUNT)?);
            }
            h.check(op, b.send()).await?;
        }
        Op::FetchCredentialAws => {
            h.check(op, c.credentials().aws().fetch(cr).send()).await?;
        }
        Op::UpdateCredentialAws => {
            let mut b = c.credentials().aws().update(cr);
            if all {
                b = b.friendly_name("renamed by the contract check");
            }
            h.check(op, b.send()).await?;
        }
        Op::DeleteCredentialAws => {
            h.check(op, c.credentials().aws().delete(cr).send()).await?;
        }
        Op::ListCredentialPublicKey => {
            let mut b = c.credentials().public_key().list();
            if all {
                b = b.page_size(1000).page(0).page_token("PTcontract").limit(1);
            }
            h.check(op, b.send()).await?;
        }
        Op::CreateCredentialPublicKey => {
            let mut b = c.credentials().public_key().create(PUBLIC_KEY);
            if all {
                b = b
                    .friendly_name("contract check key")
                    .account_sid(sid(SUBACCOUNT)?);
            }
            h.check(op, b.send()).await?;
        }
        Op::FetchCredentialPublicKey => {
            h.check(op, c.credentials().public_key().fetch(cr).send())
                .await?;
        }
        Op::UpdateCredentialPublicKey => {
            let mut b = c.credentials().public_key().update(cr);
            if all {
                b = b.friendly_name("renamed key");
            }
            h.check(op, b.send()).await?;
        }
        Op::DeleteCredentialPublicKey => {
            h.check(op, c.credentials().public_key().delete(cr).send())
                .await?;
        }
        Op::FetchMessagingGeopermissions => {
            let mut b = c.messaging_geopermissions().fetch();
            if all {
                b = b.country_code("IN,PK,US");
            }
            let result = h.check(op, b.send()).await?;
            if typed {
                result
                    .permission_entries()
                    .map_err(|e| format!("typed permissions: {}", error_chain(&e)))?;
            }
        }
        Op::UpdateMessagingGeopermissions => {
            let result = h
                .check(
                    op,
                    c.messaging_geopermissions()
                        .update(geo_updates(params))
                        .send(),
                )
                .await?;
            if typed {
                result
                    .permission_entries()
                    .map_err(|e| format!("typed permissions: {}", error_chain(&e)))?;
            }
        }
        Op::CreateSafelist => {
            h.check(op, c.safelist().create(PHONE).send()).await?;
        }
        Op::FetchSafelist => {
            h.check(op, c.safelist().fetch(PHONE).send()).await?;
        }
        Op::DeleteSafelist => {
            h.check(op, c.safelist().delete(PHONE).send()).await?;
        }
        Op::CreateComplianceSignalsCheck => {
            h.check(op, compliance_check(c, params)?.send()).await?;
        }
    }
    Ok(())
}

/// A Compliance Signals check: the required fields and a use case, or every field (a
/// `send_at` a day ahead, so that it is never in the past).
fn compliance_check(c: &Client, params: Params) -> Result<CreateComplianceSignalsCheck> {
    let to = E164::parse(PHONE).map_err(|e| e.to_string())?;
    let b = c
        .compliance_signals_check()
        .create()
        .signal(Signal::QuietHours)
        .to(to)
        .country_iso_code("US");
    Ok(match params {
        Params::None => b.use_case(UseCase::Otp),
        Params::All => b
            .body("Flash sale: 20% off tonight only")
            .use_case(UseCase::Marketing)
            .channel(Channel::Sms)
            .zip_code("94105-1234")
            .send_at(time::OffsetDateTime::now_utc() + time::Duration::days(1)),
    })
}

/// `prism proxy --errors` in front of the in-process emulator: every operation on its success
/// path, in an order that gives the stateful ones what they need.
pub(super) async fn proxy_checks(
    bin: &Path,
    spec: &Path,
    options: &Options,
    report: &mut Report,
) -> Result<()> {
    println!("\n    -- prism proxy --errors in front of twilio-emulator: every operation");
    let emulator = Emulator::builder()
        .start()
        .await
        .map_err(|e| format!("could not start the emulator: {}", error_chain(&e)))?;
    let upstream = emulator.base_url();
    let outcome = {
        // Prism starts synchronously; keep the runtime's workers free while it does.
        let bin = bin.to_owned();
        let spec = spec.to_owned();
        let upstream = upstream.to_string();
        let proxy = tokio::task::spawn_blocking(move || {
            Prism::start("prism proxy", &bin, |port| {
                proxy_args(port, &spec, &upstream)
            })
        })
        .await
        .map_err(|e| format!("prism proxy start-up task failed: {e}"))??;
        let result = proxy_sequence(proxy.base_url(), &emulator, options.verbose, report).await;
        drop(proxy);
        result
    };
    emulator.shutdown().await;
    outcome
}

/// The proxied calls, recorded in the report as they run.
struct Proxied<'a> {
    h: Harness,
    report: &'a mut Report,
}

impl Proxied<'_> {
    /// Runs and records one call; returns its value, if it passed.
    async fn run<T, E>(
        &mut self,
        op: Op,
        what: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Option<T>
    where
        E: std::error::Error,
    {
        let outcome = self.h.check(op, call).await;
        let (verdict, value) = match outcome {
            Ok(value) => (Ok(()), Some(value)),
            Err(why) => (Err(why), None),
        };
        print_outcome(op, what, &verdict);
        self.report.record(op, Check::Proxy, verdict);
        value
    }

    /// Records that `op` could not be called because its set-up failed.
    fn not_possible(&mut self, op: Op, why: &str) {
        self.report.record(op, Check::Proxy, Err(why.to_owned()));
    }
}

async fn proxy_sequence(
    base_url: &str,
    emulator: &Emulator,
    verbose: bool,
    report: &mut Report,
) -> Result<()> {
    let account = emulator.account_sid();
    let credentials = Credentials::from_auth_token(account, emulator.auth_token())
        .map_err(|e| format!("emulator credentials: {e}"))?;
    let h = Harness::new(base_url, credentials, false, verbose)?;
    let c = h.client.clone();
    let mut p = Proxied { h, report };

    // Auth tokens: create/delete/promote, each with and without SuppressEmailNotification.
    let s = c.secondary_auth_token();
    p.run(
        Op::CreateSecondaryAuthToken,
        "all params",
        s.create().suppress_email_notification(true).send(),
    )
    .await;
    p.run(
        Op::DeleteSecondaryAuthToken,
        "all params",
        s.delete().suppress_email_notification(true).send(),
    )
    .await;
    p.run(Op::CreateSecondaryAuthToken, "no params", s.create().send())
        .await;
    p.run(Op::DeleteSecondaryAuthToken, "no params", s.delete().send())
        .await;
    for (what, suppress) in [("all params", true), ("no params", false)] {
        p.run(
            Op::CreateSecondaryAuthToken,
            "for promote",
            s.create().send(),
        )
        .await;
        let mut promote = c.auth_token_promotion().update();
        if suppress {
            promote = promote.suppress_email_notification(true);
        }
        p.run(Op::UpdateAuthTokenPromotion, what, promote.send())
            .await;
        // The old primary token is gone: continue with the promoted one.
        let promoted = Credentials::from_auth_token(account, emulator.auth_token())
            .map_err(|e| format!("emulator credentials after promotion: {e}"))?;
        c.shared_credentials().replace(promoted);
    }

    // AWS credentials.
    let aws = c.credentials().aws();
    let first = p
        .run(
            Op::CreateCredentialAws,
            "all params",
            aws.create(aws_credentials()?)
                .friendly_name("contract check")
                .account_sid(account)
                .send(),
        )
        .await;
    let second = p
        .run(
            Op::CreateCredentialAws,
            "no params",
            aws.create(aws_credentials()?).send(),
        )
        .await;
    p.run(
        Op::ListCredentialAws,
        "all params",
        aws.list().page_size(1).page(0).limit(5).send(),
    )
    .await;
    p.run(Op::ListCredentialAws, "no params", aws.list().send())
        .await;
    for (n, created) in [first, second].into_iter().enumerate() {
        let Some(sid) = created.and_then(|c| c.sid) else {
            p.not_possible(
                Op::FetchCredentialAws,
                "no AWS credential was created to fetch",
            );
            continue;
        };
        p.run(Op::FetchCredentialAws, "created", aws.fetch(sid).send())
            .await;
        let update = if n == 0 {
            aws.update(sid).friendly_name("renamed")
        } else {
            aws.update(sid)
        };
        p.run(
            Op::UpdateCredentialAws,
            if n == 0 { "all params" } else { "no params" },
            update.send(),
        )
        .await;
        p.run(Op::DeleteCredentialAws, "created", aws.delete(sid).send())
            .await;
    }

    // Public keys.
    let keys = c.credentials().public_key();
    let first = p
        .run(
            Op::CreateCredentialPublicKey,
            "all params",
            keys.create(PUBLIC_KEY)
                .friendly_name("contract check key")
                .account_sid(account)
                .send(),
        )
        .await;
    let second = p
        .run(
            Op::CreateCredentialPublicKey,
            "no params",
            keys.create(PUBLIC_KEY).send(),
        )
        .await;
    p.run(
        Op::ListCredentialPublicKey,
        "all params",
        keys.list().page_size(1).page(0).limit(5).send(),
    )
    .await;
    p.run(Op::ListCredentialPublicKey, "no params", keys.list().send())
        .await;
    for (n, created) in [first, second].into_iter().enumerate() {
        let Some(sid) = created.and_then(|c| c.sid) else {
            p.not_possible(
                Op::FetchCredentialPublicKey,
                "no public key was created to fetch",
            );
            continue;
        };
        p.run(
            Op::FetchCredentialPublicKey,
            "created",
            keys.fetch(sid).send(),
        )
        .await;
        let update = if n == 0 {
            keys.update(sid).friendly_name("renamed")
        } else {
            keys.update(sid)
        };
        p.run(
            Op::UpdateCredentialPublicKey,
            if n == 0 { "all params" } else { "no params" },
            update.send(),
        )
        .await;
        p.run(
            Op::DeleteCredentialPublicKey,
            "created",
            keys.delete(sid).send(),
        )
        .await;
    }

    // SafeList: create, then fetch and delete the created number.
    let safelist = c.safelist();
    p.run(
        Op::CreateSafelist,
        "required",
        safelist.create(PHONE).send(),
    )
    .await;
    p.run(Op::FetchSafelist, "created", safelist.fetch(PHONE).send())
        .await;
    p.run(Op::DeleteSafelist, "created", safelist.delete(PHONE).send())
        .await;

    // Bulk upserts and geo permissions.
    for (what, params) in [("all params", Params::All), ("no params", Params::None)] {
        p.run(
            Op::CreateBulkConsents,
            what,
            c.bulk_consents().create(consent_items(params)).send(),
        )
        .await;
        p.run(
            Op::CreateBulkContacts,
            what,
            c.bulk_contacts().create(contact_items(params)).send(),
        )
        .await;
        let mut fetch = c.messaging_geopermissions().fetch();
        if params == Params::All {
            fetch = fetch.country_code("IN,PK,US");
        }
        p.run(Op::FetchMessagingGeopermissions, what, fetch.send())
            .await;
        p.run(
            Op::UpdateMessagingGeopermissions,
            what,
            c.messaging_geopermissions()
                .update(geo_updates(params))
                .send(),
        )
        .await;
        p.run(
            Op::CreateComplianceSignalsCheck,
            what,
            compliance_check(&c, params)?.send(),
        )
        .await;
    }
    Ok(())
}
