//! A real `moto_server` (PyPI `moto[server]`, pinned; `cargo xtask moto` installs it into
//! `.tools/` and prints the `TWILIO_TEST_MOTO=...` line) on 127.0.0.1 with a free port, one
//! per test. Without it a test fails under `CI=true` and is skipped loudly elsewhere.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable naming the `moto_server` launcher.
const ENV: &str = "TWILIO_TEST_MOTO";
/// How long moto may take to answer on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The launcher, or `None` (after a loud message) when it is not installed outside CI.
///
/// # Panics
/// Under `CI=true` when the variable is unset or names no file: CI must run these tests.
pub fn launcher() -> Option<PathBuf> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    match std::env::var_os(ENV).map(PathBuf::from) {
        Some(path) if path.is_file() => Some(path),
        other => {
            let why = match other {
                Some(path) => format!("{ENV}={} is not a file", path.display()),
                None => format!("{ENV} is not set"),
            };
            assert!(
                !in_ci,
                "CI=true and {why}: `cargo xtask ci` installs moto into .tools/"
            );
            eprintln!(
                "\n!!! SKIPPED: an AWS rotation test needs moto_server and {why}.\n\
                 !!! `cargo xtask moto` installs it into .tools/ and prints the {ENV}=... to set.\n"
            );
            None
        }
    }
}

/// A running `moto_server`; killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts one, or `None` when moto is not installed (outside CI).
    pub fn start() -> Option<Moto> {
        let launcher = launcher()?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        let child = Command::new(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", launcher.display()));
        let moto = Moto { child, port };
        let started = Instant::now();
        while moto.raw("GET", "/moto-api/", "", "", "").is_err() {
            assert!(
                started.elapsed() < START_TIMEOUT,
                "moto_server did not answer within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.prepare_rotation_function();
        Some(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The rotation function's ARN in moto (see [`Self::prepare_rotation_function`]).
    pub fn function_arn() -> String {
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:twilio-rotation")
    }

    /// moto's `RotateSecret` creates the pending version (as AWS does) only when the secret
    /// names a rotation function that exists in moto; with moto's "simple" Lambda (no Docker)
    /// invoking it does nothing, so the tests run the steps themselves, as Secrets Manager
    /// would invoke them. This makes that function: moto's Lambda without Docker, an IAM role,
    /// the function. Plain HTTP: moto checks no signatures, it routes by the credential scope.
    fn prepare_rotation_function(&self) {
        let (status, body) = self
            .raw(
                "POST",
                "/moto-api/config",
                "",
                "application/json",
                r#"{"lambda": {"use_docker": false}}"#,
            )
            .expect("moto config");
        assert!(status < 300, "moto config: {status} {body}");
        let (status, body) = self
            .raw(
                "POST",
                "/",
                "iam",
                "application/x-www-form-urlencoded",
                "Action=CreateRole&Version=2010-05-08&RoleName=twilio-rotation\
                 &AssumeRolePolicyDocument=%7B%7D",
            )
            .expect("IAM CreateRole");
        assert!(status < 300, "IAM CreateRole: {status} {body}");
        let function = format!(
            r#"{{"FunctionName":"twilio-rotation","Runtime":"provided.al2023",
                "Role":"arn:aws:iam::{ACCOUNT}:role/twilio-rotation","Handler":"bootstrap",
                "Code":{{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}}}"#
        );
        let (status, body) = self
            .raw(
                "POST",
                "/2015-03-31/functions",
                "lambda",
                "application/json",
                &function,
            )
            .expect("Lambda CreateFunction");
        assert!(status < 300, "Lambda CreateFunction: {status} {body}");
    }

    /// One HTTP/1.1 request; `service` names the credential scope moto routes by.
    fn raw(
        &self,
        method: &str,
        path: &str,
        service: &str,
        content_type: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        let auth = if service.is_empty() {
            String::new()
        } else {
            format!(
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261203/\
                 {REGION}/{service}/aws4_request, SignedHeaders=host, Signature=00\r\n"
            )
        };
        let content_type = if content_type.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {content_type}\r\n")
        };
        write!(
            tcp,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{auth}{content_type}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut response = String::new();
        tcp.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
        Ok((status, response))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
