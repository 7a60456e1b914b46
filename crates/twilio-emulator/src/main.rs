//! `twilio-emulator`: run the Accounts v1 emulator as a local server.
//!
//! ```text
//! cargo run -p twilio-emulator -- --port 4010
//! ```
//!
//! Prints the base URL and the generated credentials, serves until Ctrl-C (or SIGTERM),
//! then shuts down gracefully.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use twilio_emulator::{Emulator, RateLimit};
use twilio_types::{AccountSid, AuthToken};

const USAGE: &str = "\
Usage: twilio-emulator [OPTIONS]

A local, stateful emulator of Twilio's Accounts v1 API (for tests only).

Options:
  --host <IP>             address to listen on (default 127.0.0.1)
  --port <PORT>           port to listen on (default 0: a free port)
  --account-sid <AC...>   fixed account SID (default: random)
  --auth-token <TOKEN>    fixed primary auth token (default: random; needs --account-sid)
  --max-body-bytes <N>    request body limit in bytes (default 1048576)
  --latency-ms <MS>       added latency per request (default 0)
  --rate-limit <N/SECS>   at most N requests per SECS seconds, then 429 (default: none)
  --compliance-clock <RFC3339>
                          evaluate Compliance Signals checks at this fixed time
                          (default: the system clock)
  --force-quiet-hours <on|off>
                          answer every Compliance Signals check with isActive true (on)
                          or false (off) (default: evaluate the quiet-hours rule)
  -h, --help              print this help
  -V, --version           print the version
";

#[derive(Debug, Default)]
struct Args {
    host: Option<IpAddr>,
    port: u16,
    account_sid: Option<String>,
    auth_token: Option<String>,
    max_body_bytes: Option<usize>,
    latency_ms: u64,
    rate_limit: Option<(u32, u64)>,
    compliance_clock: Option<time::OffsetDateTime>,
    force_quiet_hours: Option<bool>,
    test_endpoints: bool,
}

enum Parsed {
    Run(Args),
    Exit(&'static str),
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut args = Args::default();
    while let Some(flag) = argv.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (flag.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Exit(USAGE)),
            "-V" | "--version" => {
                return Ok(Parsed::Exit(concat!(
                    "twilio-emulator ",
                    env!("CARGO_PKG_VERSION"),
                    "\n"
                )));
            }
            "--host" => {
                let v = value("an IP address")?;
                args.host = Some(
                    v.parse()
                        .map_err(|_| format!("--host: not an IP address: {v}"))?,
                );
            }
            "--port" => {
                let v = value("a port")?;
                args.port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {v}"))?;
            }
            "--account-sid" => args.account_sid = Some(value("an account SID")?),
            "--auth-token" => args.auth_token = Some(value("a token")?),
            "--max-body-bytes" => {
                let v = value("a byte count")?;
                args.max_body_bytes = Some(
                    v.parse()
                        .map_err(|_| format!("--max-body-bytes: not a number: {v}"))?,
                );
            }
            "--latency-ms" => {
                let v = value("milliseconds")?;
                args.latency_ms = v
                    .parse()
                    .map_err(|_| format!("--latency-ms: not a number: {v}"))?;
            }
            "--rate-limit" => {
                let v = value("N/SECS")?;
                let parsed = v
                    .split_once('/')
                    .and_then(|(n, s)| Some((n.parse().ok()?, s.parse().ok()?)));
                match parsed {
                    Some((n, secs)) if secs > 0 => args.rate_limit = Some((n, secs)),
                    _ => return Err(format!("--rate-limit: expected N/SECS, got {v}")),
                }
            }
            "--compliance-clock" => {
                let v = value("an RFC 3339 time")?;
                let at =
                    time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| format!("--compliance-clock: not an RFC 3339 time: {v}"))?;
                args.compliance_clock = Some(at);
            }
            "--force-quiet-hours" => {
                let v = value("on or off")?;
                args.force_quiet_hours = Some(match v.as_str() {
                    "on" | "true" => true,
                    "off" | "false" => false,
                    _ => return Err(format!("--force-quiet-hours: expected on or off, got {v}")),
                });
            }
            "--test-endpoints" if inline.is_none() => args.test_endpoints = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Parsed::Run(args))
}

async fn run(args: Args) -> Result<(), String> {
    // Installed before anything is printed: a supervisor may send SIGTERM as soon as it
    // reads the readiness line, and a signal without a handler would kill the process
    // with the default action instead of a graceful shutdown.
    let mut stop =
        StopSignals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let mut builder = Emulator::builder().port(args.port);
    if let Some(host) = args.host {
        builder = builder.host(host);
    }
    match (args.account_sid, args.auth_token) {
        (Some(sid), token) => {
            let sid = AccountSid::parse(&sid).map_err(|e| format!("--account-sid: {e}"))?;
            let token = match token {
                Some(t) => AuthToken::new(t).map_err(|e| format!("--auth-token: {e}"))?,
                None => {
                    // A fixed SID with a random token.
                    let mut bytes = [0u8; 16];
                    getrandom::getrandom(&mut bytes).map_err(|e| format!("random: {e}"))?;
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    AuthToken::new(hex).map_err(|e| format!("random token: {e}"))?
                }
            };
            builder = builder.account(sid, token);
        }
        (None, Some(_)) => return Err("--auth-token needs --account-sid".to_owned()),
        (None, None) => {}
    }
    if let Some(limit) = args.max_body_bytes {
        builder = builder.max_body_bytes(limit);
    }
    builder = builder.latency(Duration::from_millis(args.latency_ms));
    if let Some((n, secs)) = args.rate_limit {
        builder = builder.rate_limit(RateLimit::new(n, Duration::from_secs(secs)));
    }
    if let Some(at) = args.compliance_clock {
        builder = builder.compliance_clock(at);
    }
    if let Some(active) = args.force_quiet_hours {
        builder = builder.force_quiet_hours(active);
    }
    builder = builder.test_endpoints(args.test_endpoints);
    let emulator = builder.start().await.map_err(|e| {
        let cause = std::error::Error::source(&e)
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        format!("{e}{cause}")
    })?;

    // The token printed here is a local test credential of this emulator process, not a
    // Twilio secret; printing it is the point of the program.
    println!(
        "Twilio Accounts v1 emulator listening on {}",
        emulator.base_url()
    );
    println!();
    println!("Local test credentials (valid only against this emulator):");
    println!("  TWILIO_ACCOUNT_SID={}", emulator.account_sid());
    println!(
        "  TWILIO_AUTH_TOKEN={}",
        emulator.auth_token().expose_secret()
    );
    println!();
    println!("Example:");
    println!(
        "  curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" -X POST {}/v1/AuthTokens/Secondary",
        emulator.base_url()
    );
    if args.test_endpoints {
        println!();
        println!("Test endpoints (no credentials needed, no token shown):");
        println!("  GET {}/__emulator/tokens", emulator.base_url());
        println!("  PUT {}/__emulator/latency?ms=N", emulator.base_url());
    }
    println!();
    println!("Press Ctrl-C to stop.");

    stop.recv().await;
    eprintln!("shutting down...");
    emulator.shutdown().await;
    eprintln!("stopped");
    Ok(())
}

/// The signals that stop the program (Ctrl-C, and SIGTERM on Unix), registered with the
/// OS when constructed, so none is missed between installing and waiting.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl StopSignals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(windows)]
    fn install() -> std::io::Result<Self> {
        Ok(Self {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    /// Resolves when one of the signals arrives.
    #[cfg(unix)]
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    /// Resolves when Ctrl-C arrives.
    #[cfg(windows)]
    async fn recv(&mut self) {
        self.ctrl_c.recv().await;
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Exit(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the Tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_flags() {
        let Ok(Parsed::Run(args)) = parse(&[
            "--port",
            "4010",
            "--host=0.0.0.0",
            "--latency-ms",
            "5",
            "--rate-limit",
            "10/2",
        ]) else {
            panic!("expected run");
        };
        assert_eq!(args.port, 4010);
        assert_eq!(args.host, Some("0.0.0.0".parse().unwrap()));
        assert_eq!(args.latency_ms, 5);
        assert_eq!(args.rate_limit, Some((10, 2)));

        let Ok(Parsed::Run(args)) = parse(&[
            "--compliance-clock",
            "2026-11-28T12:00:00-08:00",
            "--force-quiet-hours=on",
        ]) else {
            panic!("expected run");
        };
        assert_eq!(
            args.compliance_clock,
            Some(time::macros::datetime!(2026-11-28 20:00 UTC))
        );
        assert_eq!(args.force_quiet_hours, Some(true));
        assert!(!args.test_endpoints);

        let Ok(Parsed::Run(args)) = parse(&["--test-endpoints"]) else {
            panic!("expected run");
        };
        assert!(args.test_endpoints);
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "99999"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--rate-limit", "10/0"]).is_err());
        assert!(parse(&["--compliance-clock", "noon"]).is_err());
        assert!(parse(&["--force-quiet-hours", "maybe"]).is_err());
        assert!(parse(&["--test-endpoints=yes"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(Parsed::Exit(_))));
    }
}
