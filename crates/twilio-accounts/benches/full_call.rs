//! The whole SDK call as a user makes it, `client.secondary_auth_token().create().send()`
//! (request building, the tower stack, hyper, the response checks and decoding), against a bare
//! hyper-util legacy client that sends the same request bytes and decodes the body into a
//! `#[derive(Deserialize)]` struct with the same field types, and against reqwest (rustls, no
//! default features) sending the same request and decoding into the same struct; all against one
//! minimal keep-alive HTTP/1.1 server on 127.0.0.1 (a thread of its own, not counted in CPU per
//! call).
//!
//! Four scenarios: one call at a time and 64 in flight, each on a current-thread runtime and on
//! a 2-worker multi-thread runtime. Every scenario runs in interleaved rounds (the three clients
//! one after the other, each round starting with the next one) so that other load on the machine
//! hits all alike; the figures are medians over rounds, the ratios medians of per-round ratios. CPU per call is the client threads' on-CPU time from
//! `/proc/self/task/*/schedstat` (nanoseconds; every thread but the server's).
//!
//! Run: `cargo bench -p twilio-accounts --bench full_call` (or `cargo xtask bench --only
//! full_call`). `BENCH_ROUNDS` (default 11), `BENCH_SEQUENTIAL` calls per sequential measurement
//! (default 3000), `BENCH_IN_FLIGHT` calls per 64-in-flight measurement (default 12000).
//!
//! For instruction counts (deterministic on a loaded machine) run the server alone,
//! `full_call --serve` (prints its address), and then one client under callgrind:
//! `BENCH_SERVER=127.0.0.1:PORT BENCH_ONLY=sdk|bare|reqwest BENCH_CALLS=N valgrind --tool=callgrind
//! full_call`; the difference between two values of `N`, divided by their difference, is the
//! client's instructions per call without start-up (see `docs/benchmarks.md`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use twilio_accounts::{Client, Credentials};
use twilio_types::{AccountSid, AuthToken};

/// What `POST /v1/AuthTokens/Secondary` returns (the spec's example, with a realistic token).
const BODY: &str = r#"{"account_sid":"AC0123456789abcdef0123456789abcdef","date_created":"2015-07-31T04:00:00Z","date_updated":"2015-07-31T04:00:00Z","secondary_auth_token":"fedcba9876543210fedcba9876543210","url":"https://accounts.twilio.com/v1/AuthTokens/Secondary"}"#;
const SERVER_THREAD: &str = "bench-server";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The bare client's model: the same field types as `twilio_accounts::model::SecondaryAuthToken`.
#[derive(Deserialize)]
#[allow(dead_code)] // read only by the decoder
struct BareSecondaryAuthToken {
    account_sid: Option<AccountSid>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_created: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    date_updated: Option<OffsetDateTime>,
    secondary_auth_token: Option<AuthToken>,
    url: Option<String>,
}

/// The server's state: the length of the last request head it read (to show both clients send
/// the same bytes) and the connections it accepted.
#[derive(Default)]
struct Seen {
    head_bytes: AtomicUsize,
    connections: AtomicUsize,
}

/// A minimal keep-alive HTTP/1.1 server on its own thread: reads request heads (the request
/// has no body) and answers each with the fixed response.
fn start_server(port: u16) -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let state = seen.clone();
    std::thread::Builder::new()
        .name(SERVER_THREAD.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(port, tx, state));
        })
        .unwrap();
    (rx.recv().unwrap(), seen)
}

async fn serve(port: u16, tx: std::sync::mpsc::Sender<SocketAddr>, seen: Arc<Seen>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tx.send(listener.local_addr().unwrap()).unwrap();
    let response = Bytes::from(format!(
        "HTTP/1.1 201 Created\r\ncontent-type: application/json; charset=utf-8\r\ntwilio-request-id: RQ0123456789abcdef0123456789abcdef\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    ));
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        seen.connections.fetch_add(1, Ordering::Relaxed);
        let (response, seen) = (response.clone(), seen.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut filled = 0;
            loop {
                let n = match stream.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                filled += n;
                let (mut answered, mut start) = (0, 0);
                while let Some(i) = buf[start..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                    seen.head_bytes.store(i + 4, Ordering::Relaxed);
                    start += i + 4;
                    answered += 1;
                }
                buf.copy_within(start..filled, 0);
                filled -= start;
                for _ in 0..answered {
                    if stream.write_all(&response).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// The clients, each able to make the one call.
#[derive(Clone)]
enum Caller {
    Sdk(Client),
    Bare(Arc<Bare>),
    Reqwest(Arc<Reqwest>),
    /// Not a contender: a prototype of bare hyper over hyper-util's composable pool, for the
    /// choice between it and the legacy `Client` (`BENCH_ONLY=composable`, callgrind only).
    Composable(Arc<ComposableCall>),
}

/// One call through the composable-pool prototype. Boxed (its types cannot be named), which
/// costs it one allocation per call that a real implementation would not pay.
type ComposableCall =
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync;

struct Bare {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    headers: HeaderMap,
}

struct Reqwest {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
}

impl Caller {
    async fn call(&self) {
        match self {
            Caller::Sdk(client) => {
                let token = client.secondary_auth_token().create().send().await.unwrap();
                assert!(token.secondary_auth_token.is_some());
            }
            Caller::Bare(bare) => {
                let mut request = Request::post(bare.uri.clone())
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                *request.headers_mut() = bare.headers.clone();
                let response = bare.client.request(request).await.unwrap();
                assert!(response.status().is_success());
                let body = response.into_body().collect().await.unwrap().to_bytes();
                let token: BareSecondaryAuthToken = serde_json::from_slice(&body).unwrap();
                assert!(token.secondary_auth_token.is_some());
            }
            Caller::Composable(call) => call().await,
            Caller::Reqwest(reqwest) => {
                let response = reqwest
                    .client
                    .post(&reqwest.url)
                    .headers(reqwest.headers.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let body = response.bytes().await.unwrap();
                let token: BareSecondaryAuthToken = serde_json::from_slice(&body).unwrap();
                assert!(token.secondary_auth_token.is_some());
            }
        }
    }
}

/// Indexes into [`callers`].
const BARE: usize = 0;
const SDK: usize = 1;
const REQWEST: usize = 2;

fn callers(addr: SocketAddr) -> [(&'static str, Caller); 4] {
    let base = format!("http://{addr}");
    let credentials = Credentials::from_auth_token(
        AccountSid::parse(ACCOUNT).unwrap(),
        AuthToken::new(TOKEN).unwrap(),
    )
    .unwrap();
    let sdk = Client::builder()
        .credentials(credentials)
        .base_url(&base)
        .read_environment(false)
        .build()
        .unwrap();
    // The same header values the SDK sends, prepared once (what a hand-written client does).
    let mut headers = HeaderMap::new();
    let basic = format!(
        "Basic {}",
        base64_encode(format!("{ACCOUNT}:{TOKEN}").as_bytes())
    );
    let mut authorization = HeaderValue::from_str(&basic).unwrap();
    authorization.set_sensitive(true);
    headers.insert(
        http::header::USER_AGENT,
        twilio_transport::UserAgent::default()
            .as_header_value()
            .clone(),
    );
    headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(http::header::AUTHORIZATION, authorization);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let url = format!("{base}/v1/AuthTokens/Secondary");
    // reqwest as configured for this comparison: TLS by rustls with ring (as ours; unused on
    // plain HTTP), no proxy from the environment (the SDK's `read_environment(false)` reads
    // none either), its defaults otherwise (its pool, `TCP_NODELAY`).
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let reqwest = Reqwest {
        client: reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .build()
            .unwrap(),
        url: url.clone(),
        headers: headers.clone(),
    };
    let composable = composable(addr, url.parse().unwrap(), headers.clone());
    let bare = Bare {
        client: HyperClient::builder(TokioExecutor::new()).build(connector),
        uri: url.parse().unwrap(),
        headers,
    };
    [
        ("bare", Caller::Bare(Arc::new(bare))),
        ("sdk", Caller::Sdk(sdk)),
        ("reqwest", Caller::Reqwest(Arc::new(reqwest))),
        ("composable", Caller::Composable(composable)),
    ]
}

/// Bare hyper over hyper-util's composable pool: `client::pool::cache` (a list of idle
/// HTTP/1.1 connections; a checked-out one goes back when dropped, here after the whole
/// response), over a connector of TCP + hyper's HTTP/1.1 handshake. Only `cache`: one origin,
/// so no `map` (which would add a lookup per call), and no `negotiate`/`singleton` (HTTP/2).
fn composable(addr: SocketAddr, uri: http::Uri, headers: HeaderMap) -> Arc<ComposableCall> {
    use hyper::client::conn::http1;
    use tower::{Service as _, ServiceExt as _};
    type Sender = http1::SendRequest<Full<Bytes>>;
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let connect = tower::service_fn(move |_: http::Uri| {
        Box::pin(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let (sender, connection) =
                http1::handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(tcp)).await?;
            tokio::spawn(connection);
            Ok::<Sender, BoxError>(sender)
        })
            as std::pin::Pin<Box<dyn std::future::Future<Output = Result<Sender, BoxError>> + Send>>
    });
    let cache = hyper_util::client::pool::cache::builder()
        .executor(TokioExecutor::new())
        .build(connect);
    Arc::new(move || {
        let (mut cache, uri, headers) = (cache.clone(), uri.clone(), headers.clone());
        Box::pin(async move {
            let mut cached = cache
                .ready()
                .await
                .unwrap()
                .call(uri.clone())
                .await
                .unwrap();
            let sender = cached.inner_mut();
            sender.ready().await.unwrap();
            let mut request = Request::post(uri.path())
                .body(Full::new(Bytes::new()))
                .unwrap();
            *request.headers_mut() = headers;
            request.headers_mut().insert(
                http::header::HOST,
                HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap(),
            );
            let response = sender.send_request(request).await.unwrap();
            assert!(response.status().is_success());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let token: BareSecondaryAuthToken = serde_json::from_slice(&body).unwrap();
            assert!(token.secondary_auth_token.is_some());
        })
    })
}

/// Standard base64 (the bench's only use; no dependency for it).
fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// On-CPU nanoseconds of every thread of this process except the server's.
fn client_cpu_ns() -> u64 {
    let mut total = 0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == SERVER_THREAD {
            continue;
        }
        let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        total += schedstat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// One measurement: calls per second, per-call latencies (sequential only) and CPU per call.
struct Measured {
    per_sec: f64,
    latencies: Vec<Duration>,
    cpu_ns_per_call: f64,
}

async fn sequential(caller: Caller, calls: usize) -> (f64, Vec<Duration>) {
    let mut latencies = Vec::with_capacity(calls);
    let start = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        caller.call().await;
        latencies.push(t.elapsed());
    }
    (calls as f64 / start.elapsed().as_secs_f64(), latencies)
}

async fn in_flight(caller: Caller, concurrency: usize, calls: usize) -> f64 {
    let remaining = Arc::new(AtomicUsize::new(calls));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (caller, remaining) = (caller.clone(), remaining.clone());
            tokio::spawn(async move {
                while remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                    .is_ok()
                {
                    caller.call().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// Runs one measurement as a spawned task (so that on the multi-thread runtime it runs on a
/// worker, as in an application).
fn measure(
    rt: &tokio::runtime::Runtime,
    caller: &Caller,
    concurrency: usize,
    calls: usize,
) -> Measured {
    let caller = caller.clone();
    let cpu = client_cpu_ns();
    let (per_sec, latencies) = rt.block_on(async move {
        tokio::spawn(async move {
            if concurrency == 1 {
                sequential(caller, calls).await
            } else {
                (in_flight(caller, concurrency, calls).await, Vec::new())
            }
        })
        .await
        .unwrap()
    });
    let cpu = client_cpu_ns() - cpu;
    Measured {
        per_sec,
        latencies,
        cpu_ns_per_call: cpu as f64 / calls as f64,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn p50(latencies: &mut [Duration]) -> f64 {
    latencies.sort();
    latencies[latencies.len() / 2].as_secs_f64() * 1e6
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime(workers: Option<usize>) -> tokio::runtime::Runtime {
    match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .unwrap()
}

/// The callgrind mode: `BENCH_CALLS` calls of one client (`BENCH_ONLY=sdk|bare`) against the
/// server at `BENCH_SERVER`, on a current-thread runtime (or one of `BENCH_WORKERS` workers, for
/// `strace -f -c` or CPU time of the multi-thread case), after 100 warm-up calls; one at a time,
/// or `BENCH_CONCURRENCY` in flight.
fn instructions_mode(server: &str) {
    let addr: SocketAddr = server.parse().expect("BENCH_SERVER=127.0.0.1:PORT");
    let only = std::env::var("BENCH_ONLY").unwrap_or_else(|_| "sdk".into());
    let calls = env_usize("BENCH_CALLS", 1000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 1);
    let workers = std::env::var("BENCH_WORKERS")
        .ok()
        .map(|w| w.parse().expect("BENCH_WORKERS=N"));
    let rt = runtime(workers);
    let _enter = rt.enter(); // the SDK client spawns nothing at build, but hyper may
    let (_, caller) = callers(addr)
        .into_iter()
        .find(|(name, _)| *name == only)
        .expect("BENCH_ONLY=sdk|bare|reqwest|composable");
    rt.block_on(async {
        for _ in 0..100 {
            caller.call().await;
        }
        if concurrency > 1 {
            in_flight(caller, concurrency, calls).await;
        } else {
            for _ in 0..calls {
                caller.call().await;
            }
        }
    });
    println!(
        "{only}: {} calls done ({concurrency} in flight)",
        100 + calls
    );
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        let (addr, _) = start_server(env_usize("BENCH_PORT", 0) as u16);
        println!("{addr}");
        loop {
            std::thread::park();
        }
    }
    if let Ok(server) = std::env::var("BENCH_SERVER") {
        return instructions_mode(&server);
    }
    let rounds = env_usize("BENCH_ROUNDS", 11);
    let sequential_calls = env_usize("BENCH_SEQUENTIAL", 3000);
    let in_flight_calls = env_usize("BENCH_IN_FLIGHT", 12_000);
    let (addr, seen) = start_server(0);
    println!(
        "full_call: POST /v1/AuthTokens/Secondary, decode included; {rounds} interleaved rounds, {sequential_calls} sequential / {in_flight_calls} in-flight calls per measurement"
    );
    for (runtime_name, workers) in [
        ("current-thread", None),
        ("multi-thread (2 workers)", Some(2)),
    ] {
        let rt = runtime(workers);
        let callers = {
            let _enter = rt.enter();
            callers(addr)
        };
        // Warm up: pools grown to 64 connections, allocator and caches; also the request sizes.
        for (name, caller) in &callers[..3] {
            measure(&rt, caller, 1, 500);
            println!(
                "  {runtime_name}: {name} request head {} bytes",
                seen.head_bytes.load(Ordering::Relaxed)
            );
            measure(&rt, caller, 64, 64 * 20);
        }
        for concurrency in [1usize, 64] {
            let calls = if concurrency == 1 {
                sequential_calls
            } else {
                in_flight_calls
            };
            let mut per_sec: [Vec<f64>; 3] = Default::default();
            let mut p50s: [Vec<f64>; 3] = Default::default();
            let mut cpu: [Vec<f64>; 3] = Default::default();
            // SDK / bare and SDK / reqwest, per round.
            let mut throughput_ratios: [Vec<f64>; 2] = Default::default();
            let mut p50_ratios: [Vec<f64>; 2] = Default::default();
            let connections = seen.connections.load(Ordering::Relaxed);
            for round in 0..rounds {
                // A, B, C, then B, C, A, ...: each client goes first in turn.
                let mut this_round: [Option<Measured>; 3] = [None, None, None];
                for k in 0..3 {
                    let i = (round + k) % 3;
                    this_round[i] = Some(measure(&rt, &callers[i].1, concurrency, calls));
                }
                let mut this_round = this_round.map(Option::unwrap);
                for (j, other) in [BARE, REQWEST].into_iter().enumerate() {
                    throughput_ratios[j].push(this_round[SDK].per_sec / this_round[other].per_sec);
                }
                for (i, m) in this_round.iter_mut().enumerate() {
                    per_sec[i].push(m.per_sec);
                    cpu[i].push(m.cpu_ns_per_call);
                    if concurrency == 1 {
                        p50s[i].push(p50(&mut m.latencies));
                    }
                }
                if concurrency == 1 {
                    for (j, other) in [BARE, REQWEST].into_iter().enumerate() {
                        p50_ratios[j].push(p50s[SDK][round] / p50s[other][round]);
                    }
                }
            }
            let label = if concurrency == 1 {
                "sequential"
            } else {
                "64 in flight"
            };
            let cpu = cpu.map(|mut c| median(&mut c));
            println!(
                "  {runtime_name:<25} {label:<13} bare {:>7.0}/s  sdk {:>7.0}/s  reqwest {:>7.0}/s  throughput sdk/bare {:.3}x  sdk/reqwest {:.3}x (medians of per-round ratios)",
                median(&mut per_sec[BARE]),
                median(&mut per_sec[SDK]),
                median(&mut per_sec[REQWEST]),
                median(&mut throughput_ratios[0]),
                median(&mut throughput_ratios[1]),
            );
            if concurrency == 1 {
                println!(
                    "  {:<25} {:<13} p50 bare {:>6.1} us  sdk {:>6.1} us  reqwest {:>6.1} us  sdk/bare {:.3}x  sdk/reqwest {:.3}x",
                    "",
                    "",
                    median(&mut p50s[BARE]),
                    median(&mut p50s[SDK]),
                    median(&mut p50s[REQWEST]),
                    median(&mut p50_ratios[0]),
                    median(&mut p50_ratios[1]),
                );
            }
            println!(
                "  {:<25} {:<13} CPU per call bare {:>5.1} us  sdk {:>5.1} us  reqwest {:>5.1} us  sdk/bare {:.3}x  sdk/reqwest {:.3}x   (new connections while measuring: {})",
                "",
                "",
                cpu[BARE] / 1e3,
                cpu[SDK] / 1e3,
                cpu[REQWEST] / 1e3,
                cpu[SDK] / cpu[BARE],
                cpu[SDK] / cpu[REQWEST],
                seen.connections.load(Ordering::Relaxed) - connections
            );
        }
    }
}
