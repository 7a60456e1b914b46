//! The full default stack (auth, headers, tracing span, deadline, retry, attempt timeout, body
//! limit over hyper-util) against a bare hyper-util client making the same request, side by side,
//! against one minimal HTTP/1.1 keep-alive server on loopback.
//!
//! Run: `cargo bench -p twilio-transport --bench stack_vs_hyper`
//! (`BENCH_REQUESTS=N` requests per measurement, default 40000, interleaved in `BENCH_ROUNDS`
//! rounds, default 40).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use twilio_transport::{Credentials, HttpClient};
use twilio_types::{AccountSid, AuthToken};

const BODY: &str = r#"{"account_sid":"AC0123456789abcdef0123456789abcdef","sid":"CR0123456789abcdef0123456789abcdef","friendly_name":"bench"}"#;

/// A minimal keep-alive HTTP/1.1 server: reads request heads (no request bodies in this bench)
/// and answers each with a fixed JSON response. Counts accepted connections.
fn start_server() -> (u16, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let counter = connections.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let response = Bytes::from(format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntwilio-request-id: RQ0123\r\ncontent-length: {}\r\n\r\n{BODY}",
                BODY.len()
            ));
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut filled = 0;
                    loop {
                        let n = match stream.read(&mut buf[filled..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        filled += n;
                        let mut answered = 0;
                        let mut start = 0;
                        while let Some(i) = buf[start..filled].windows(4).position(|w| w == b"\r\n\r\n") {
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
        });
    });
    (rx.recv().unwrap(), connections)
}

struct Bare {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    headers: http::HeaderMap,
}

#[derive(Clone)]
enum Target {
    Stack(HttpClient),
    Bare(Arc<Bare>),
}

impl Target {
    fn credentials(&self) -> Option<&twilio_transport::SharedCredentials> {
        match self {
            Target::Stack(client) => Some(client.credentials()),
            Target::Bare(_) => None,
        }
    }

    async fn call(&self) {
        match self {
            Target::Stack(client) => {
                let response = client
                    .send(
                        Request::get("/v1/Credentials/AWS/CR0123")
                            .body(Bytes::new())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(response.body().len(), BODY.len());
            }
            Target::Bare(bare) => {
                let Bare {
                    client,
                    base,
                    headers,
                } = &**bare;
                let mut request = Request::get(format!("{base}/v1/Credentials/AWS/CR0123"))
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                *request.headers_mut() = headers.clone();
                let response = client.request(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body.len(), BODY.len());
            }
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn sequential(target: &Target, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        target.call().await;
        out.push(start.elapsed());
    }
    out
}

async fn throughput(target: &Target, concurrency: usize, n: usize) -> f64 {
    let remaining = Arc::new(AtomicUsize::new(n));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (target, remaining) = (target.clone(), remaining.clone());
        tasks.push(tokio::spawn(async move {
            while remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| r.checked_sub(1))
                .is_ok()
            {
                target.call().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000);
    let (port, connections) = start_server();
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let credentials = Credentials::from_auth_token(
            AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
            AuthToken::new("0123456789abcdef0123456789abcdef").unwrap(),
        )
        .unwrap();
        let stack = HttpClient::builder().credentials(credentials).base_url(&base).read_environment(false).build().unwrap();

        // The bare client sends the very same headers, prepared once.
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, HeaderValue::from_static("Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjowMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg=="));
        headers.insert(http::header::USER_AGENT, HeaderValue::from_str(stack.user_agent()).unwrap());
        headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let bare = Client::builder(TokioExecutor::new()).build(connector.clone());
        // Also the same layers over the bare client (bring-your-own transport), which separates
        // the cost of the layers from that of the default connector (rustls-capable, pool timer).
        let byo = HttpClient::builder()
            .credentials(stack.credentials().clone())
            .base_url(&base)
            .read_environment(false)
            .transport(
                tower::ServiceBuilder::new()
                    .map_request(|r: Request<Bytes>| r.map(Full::new))
                    .service(Client::builder(TokioExecutor::new()).build(connector.clone())),
            )
            .build()
            .unwrap();
        let targets = [
            ("bare hyper-util", Target::Bare(Arc::new(Bare { client: bare, base: base.clone(), headers }))),
            ("full stack", Target::Stack(stack)),
            ("layers over bare", Target::Stack(byo)),
        ];

        println!("stack_vs_hyper: {n} requests per measurement, HTTP/1.1 keep-alive on 127.0.0.1");
        for (_, t) in &targets {
            sequential(t, 2_000).await; // warm-up: pool, allocator, caches
        }

        // Interleaved in rounds so that drift and other load on the machine affect both alike;
        // the ratios reported are the medians of the per-round ratios.
        let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
        let mut lat: [Vec<Duration>; 3] = Default::default();
        let mut byo_p50_ratios = Vec::new();
        let mut round_p50_ratios = Vec::new();
        let before = connections.load(Ordering::SeqCst);
        for _ in 0..rounds {
            let mut p50s = [0.0f64; 3];
            for (i, (_, t)) in targets.iter().enumerate() {
                let mut round = sequential(t, n / rounds).await;
                round.sort();
                p50s[i] = percentile(&round, 0.5).as_secs_f64();
                lat[i].extend(round);
            }
            round_p50_ratios.push(p50s[1] / p50s[0]);
            byo_p50_ratios.push(p50s[2] / p50s[0]);
        }
        let new_conns = connections.load(Ordering::SeqCst) - before;
        let mut p = [(Duration::ZERO, Duration::ZERO); 3];
        for i in 0..3 {
            lat[i].sort();
            p[i] = (percentile(&lat[i], 0.50), percentile(&lat[i], 0.99));
            println!("  sequential {:<16} p50 {:>7.1} us   p99 {:>7.1} us", targets[i].0, p[i].0.as_secs_f64() * 1e6, p[i].1.as_secs_f64() * 1e6);
        }
        println!("  new TCP connections during the {} sequential requests: {new_conns}", rounds * (n / rounds) * 3);
        let p50_ratio = p[1].0.as_secs_f64() / p[0].0.as_secs_f64();
        let p99_ratio = p[1].1.as_secs_f64() / p[0].1.as_secs_f64();
        println!(
            "  ratio stack/bare: p50 {p50_ratio:.3}x overall, {:.3}x median of rounds (target <= 1.10)   p99 {p99_ratio:.3}x",
            median(&mut round_p50_ratios)
        );
        println!("  ratio layers-over-bare/bare: p50 {:.3}x median of rounds", median(&mut byo_p50_ratios));

        // The layers alone: the same stack over an in-memory transport that answers at once.
        let in_memory = HttpClient::builder()
            .credentials(targets[1].1.credentials().unwrap().clone())
            .read_environment(false)
            .transport(tower::service_fn(|_req: Request<Bytes>| async {
                Ok::<_, twilio_transport::TransportError>(http::Response::new(Full::new(Bytes::from_static(BODY.as_bytes()))))
            }))
            .build()
            .unwrap();
        // `BENCH_LAYERS_ONLY=N`: only this measurement, N calls (for profiling the layers).
        let layers_only: Option<usize> = std::env::var("BENCH_LAYERS_ONLY").ok().and_then(|v| v.parse().ok());
        let calls = layers_only.unwrap_or(200_000);
        let start = Instant::now();
        for _ in 0..calls {
            let response = in_memory.send(Request::get("/v1/Credentials/AWS/CR0123").body(Bytes::new()).unwrap()).await.unwrap();
            assert_eq!(response.body().len(), BODY.len());
        }
        println!(
            "  layers alone (in-memory transport, request building included): {:.0} ns per call",
            start.elapsed().as_nanos() as f64 / calls as f64
        );
        if layers_only.is_some() {
            return;
        }

        for concurrency in [1usize, 16, 64] {
            let mut rps = [0.0f64; 3];
            let mut ratios = Vec::new();
            let mut byo_ratios = Vec::new();
            let before = connections.load(Ordering::SeqCst);
            // Grow the pools to this concurrency first, then measure.
            for (_, t) in &targets {
                throughput(t, concurrency, concurrency * 20).await;
            }
            let warm = connections.load(Ordering::SeqCst);
            for _ in 0..rounds {
                let mut round = [0.0f64; 3];
                for (i, (_, t)) in targets.iter().enumerate() {
                    round[i] = throughput(t, concurrency, n / rounds).await;
                    rps[i] += round[i] / rounds as f64;
                }
                ratios.push(round[1] / round[0]);
                byo_ratios.push(round[2] / round[0]);
            }
            let after = connections.load(Ordering::SeqCst);
            println!(
                "  concurrency {concurrency:>2}: bare {:>6.0} req/s  stack {:>6.0} req/s  ratio {:.3}x (median of rounds {:.3}x){}  layers over bare {:>6.0} req/s ({:.3}x)  connections: {} opened warming up, {} while measuring",
                rps[0],
                rps[1],
                rps[1] / rps[0],
                median(&mut ratios),
                if concurrency == 64 { " (target >= 0.90)" } else { "" },
                rps[2],
                median(&mut byo_ratios),
                warm - before,
                after - warm
            );
        }
    });
}
