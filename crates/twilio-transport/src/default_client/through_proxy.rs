//! The transport through a real HTTP proxy: Debian's tinyproxy, unpacked by `cargo xtask`
//! (`cargo xtask tinyproxy`; the `test` and `package` steps of `ci` do it) and found through
//! `TWILIO_TEST_TINYPROXY`. Under `CI=true` a missing proxy fails these tests; elsewhere they
//! are skipped with a message on stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{Service as _, ServiceExt as _};

use super::tests::{client_tls, tls_acceptor};
use super::{DefaultTransport, Proxy};
use crate::{BodyLimitLayer, TransportError};

const USER: &str = "alice";
const PASSWORD: &str = "pw-7c1e5a9b3d";

/// Whether this runs in CI: `CI` is `true` (any case) or `1`, the rule of `cargo xtask ci`'s
/// skip check and of the OpenBao tests' (twilio-store), so that one value means CI for all.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A tinyproxy process on 127.0.0.1, killed when dropped.
struct TinyProxy {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl TinyProxy {
    /// Starts tinyproxy with `extra` configuration lines; `None` (after a loud message) when
    /// it is not installed outside CI.
    fn start(extra: &str) -> Option<Self> {
        let Some(bin) = std::env::var_os("TWILIO_TEST_TINYPROXY") else {
            assert!(
                !in_ci(),
                "TWILIO_TEST_TINYPROXY is not set: CI runs the tests through `cargo xtask ci`, \
                 which unpacks tinyproxy and sets it"
            );
            eprintln!(
                "SKIPPED: the proxy tests need tinyproxy: run `cargo xtask tinyproxy` and set \
                 TWILIO_TEST_TINYPROXY to the path it prints"
            );
            return None;
        };
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let dir = std::env::temp_dir()
                .join(format!("twilio-tinyproxy-{port}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let config = dir.join("tinyproxy.conf");
            let mut file = std::fs::File::create(&config).unwrap();
            write!(
                file,
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nLogLevel Info\n\
                 LogFile \"{}\"\n{extra}\n",
                dir.join("tinyproxy.log").display()
            )
            .unwrap();
            let child = Command::new(&bin)
                .arg("-d")
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.to_string_lossy()));
            let mut proxy = Self { child, port, dir };
            if proxy.wait_listening() {
                return Some(proxy);
            }
        }
        panic!("tinyproxy did not start listening");
    }

    /// Whether it listens within 10 s (false: it exited, the port perhaps taken meanwhile).
    fn wait_listening(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn url_with(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for TinyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server on 127.0.0.1 answering every request with its target; over TLS for `localhost`
/// (its client roots returned) or plain HTTP/1.1.
async fn server(tls: bool) -> (u16, rustls::RootCertStore, Arc<Mutex<Vec<String>>>) {
    let (acceptor, roots) = tls_acceptor(&[b"h2", b"http/1.1"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let targets = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, targets) = (acceptor.clone(), Arc::clone(&targets));
            tokio::spawn(async move {
                let answer = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let target = request.uri().to_string();
                    targets.lock().unwrap().push(target.clone());
                    async move {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            target,
                        ))))
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if tls {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = builder.serve_connection(TokioIo::new(tls), answer).await;
                } else {
                    let _ = builder.serve_connection(TokioIo::new(tcp), answer).await;
                }
            });
        }
    });
    (port, roots, seen)
}

fn transport(roots: rustls::RootCertStore, proxy: Proxy) -> DefaultTransport {
    DefaultTransport::with_tls(
        client_tls(roots),
        Duration::from_secs(5),
        Duration::from_secs(90),
        proxy,
    )
}

async fn get(transport: &DefaultTransport, url: &str) -> Result<Bytes, TransportError> {
    let request = Request::get(url).body(Bytes::new()).unwrap();
    let response = BodyLimitLayer::default()
        .layer(transport.clone())
        .oneshot(request)
        .await?;
    assert!(response.status().is_success(), "{response:?}");
    Ok(response.into_body())
}

use tower::Layer as _;

#[tokio::test]
async fn https_goes_through_a_connect_tunnel() {
    let Some(proxy) = TinyProxy::start("") else {
        return;
    };
    let (port, roots, seen) = server(true).await;
    let transport = transport(roots, Proxy::url(&proxy.url()).unwrap());
    let url = format!("https://localhost:{port}/v1/Tunnelled");
    for _ in 0..3 {
        assert_eq!(get(&transport, &url).await.unwrap(), url.as_str());
    }
    // One tunnel, kept and reused; the TLS inside it is the server's, so the server saw the
    // requests themselves (HTTP/2 by ALPN through the tunnel).
    let log = proxy.log();
    assert_eq!(
        log.matches(&format!("CONNECT localhost:{port}")).count(),
        1,
        "{log}"
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn no_proxy_bypasses_the_proxy() {
    let Some(proxy) = TinyProxy::start("") else {
        return;
    };
    let (port, roots, seen) = server(true).await;
    let direct = Proxy::url(&proxy.url())
        .unwrap()
        .with_no_proxy("example.com, localhost");
    let url = format!("https://localhost:{port}/v1/Direct");
    assert_eq!(
        get(&transport(roots, direct), &url).await.unwrap(),
        url.as_str()
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(
        !proxy.log().contains("CONNECT localhost"),
        "{}",
        proxy.log()
    );
}

#[tokio::test]
async fn plain_http_on_loopback_goes_to_the_proxy_as_an_absolute_uri() {
    let Some(proxy) = TinyProxy::start(&format!("BasicAuth {USER} {PASSWORD}")) else {
        return;
    };
    let (port, roots, seen) = server(false).await;
    let url = format!("http://127.0.0.1:{port}/v1/Plain?x=1");
    // Through the client as users build it: credentials from the proxy URL's user info.
    let client = crate::HttpClient::builder()
        .credentials(
            crate::Credentials::from_auth_token(
                twilio_types::AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
                twilio_types::AuthToken::new("token").unwrap(),
            )
            .unwrap(),
        )
        .base_url(&format!("http://127.0.0.1:{port}"))
        .proxy(Proxy::url(&proxy.url_with(USER, PASSWORD)).unwrap())
        .build()
        .unwrap();
    let response = client
        .send(Request::get(url.as_str()).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    // The proxy got the absolute URI and passed on the origin form.
    assert!(
        proxy.log().contains(&format!("GET {url}")),
        "{}",
        proxy.log()
    );
    assert_eq!(
        seen.lock().unwrap().clone(),
        vec!["/v1/Plain?x=1".to_owned()]
    );

    // Without the credentials the proxy's 407 is an error, not the server's answer.
    let error = get(&transport(roots, Proxy::url(&proxy.url()).unwrap()), &url)
        .await
        .unwrap_err();
    assert!(error.is_proxy() && !error.is_possibly_sent(), "{error:?}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_proxy_asking_for_credentials_is_a_proxy_error_and_credentials_never_show() {
    use base64::Engine as _;

    let Some(proxy) = TinyProxy::start(&format!("BasicAuth {USER} {PASSWORD}")) else {
        return;
    };
    let (port, roots, _) = server(true).await;
    let url = format!("https://localhost:{port}/v1/Authenticated");

    let buffer = crate::trace::tests::Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let anonymous = transport(roots.clone(), Proxy::url(&proxy.url()).unwrap());
    let error = get(&anonymous, &url).await.unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    assert!(!error.is_possibly_sent() && !error.is_retryable());
    assert!(error.to_string().contains("407"), "{error}");

    let wrong = Proxy::url(&proxy.url_with(USER, "wrong-0d9e8f")).unwrap();
    let error = get(&transport(roots.clone(), wrong), &url)
        .await
        .unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("wrong-0d9e8f"), "{shown}");

    let with_password = Proxy::url(&proxy.url_with(USER, PASSWORD)).unwrap();
    let authenticated = transport(roots, with_password.clone());
    assert_eq!(get(&authenticated, &url).await.unwrap(), url.as_str());

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    // Something was logged (hyper-util traces its pool and connections), none of it secret.
    assert!(!buffer.0.lock().unwrap().is_empty());
    let shown = format!(
        "{with_password:?} {authenticated:?} {}",
        String::from_utf8_lossy(&buffer.0.lock().unwrap())
    );
    for secret in [PASSWORD, basic.as_str()] {
        assert!(!shown.contains(secret), "{secret} shown in: {shown}");
    }
}

#[tokio::test]
async fn a_proxy_refusing_the_tunnel_is_a_proxy_error() {
    // CONNECT allowed to port 1 only: the proxy refuses the tunnel to the test server.
    let Some(proxy) = TinyProxy::start("ConnectPort 1") else {
        return;
    };
    let (port, roots, seen) = server(true).await;
    let url = format!("https://localhost:{port}/v1/Refused");
    let error = get(&transport(roots, Proxy::url(&proxy.url()).unwrap()), &url)
        .await
        .unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    assert!(error.to_string().contains("CONNECT"), "{error}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn plain_http_never_goes_to_a_proxy_on_another_machine() {
    // Refused before any connection (192.0.2.0/24 is reserved for documentation).
    let remote = Proxy::url("http://192.0.2.1:3128").unwrap();
    let mut transport = transport(rustls::RootCertStore::empty(), remote);
    let request = Request::get("http://127.0.0.1:9/v1/x")
        .body(Bytes::new())
        .unwrap();
    let error = transport
        .ready()
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap_err();
    assert!(error.is_proxy() && !error.is_possibly_sent(), "{error:?}");
}
