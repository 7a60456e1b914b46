//! Throughput of `POST /v1/AuthTokens/Secondary` (authenticated) over 64 concurrent
//! keep-alive HTTP/1.1 connections.
//!
//! ```text
//! cargo bench -p twilio-emulator --bench throughput
//! cargo bench -p twilio-emulator --bench throughput -- --seconds 10 --connections 64 --threads 2
//! ```
//!
//! The emulator and the load generator (a raw hyper client, one http1 handshake per
//! connection) share one multi-thread Tokio runtime in this process, so the figure is a
//! lower bound for the emulator alone on the same cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use twilio_emulator::Emulator;

struct Options {
    seconds: u64,
    connections: usize,
    threads: usize,
}

fn options() -> Options {
    let mut opts = Options {
        seconds: 5,
        connections: 64,
        threads: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{name} needs a number");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--seconds" => opts.seconds = number("--seconds").max(1),
            "--connections" => {
                opts.connections = usize::try_from(number("--connections"))
                    .unwrap_or(64)
                    .max(1)
            }
            "--threads" => opts.threads = usize::try_from(number("--threads")).unwrap_or(2).max(1),
            // `cargo bench` passes `--bench`; ignore it and anything else it adds.
            _ => {}
        }
    }
    opts
}

fn main() {
    let opts = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(opts));
}

async fn run(opts: Options) {
    let emulator = Emulator::builder()
        .start()
        .await
        .expect("start the emulator");
    let addr = emulator.local_addr();
    let auth = emulator.basic_auth_header();
    let completed = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::with_capacity(opts.connections);
    for _ in 0..opts.connections {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        let (auth, completed, measuring, stop) = (
            auth.clone(),
            Arc::clone(&completed),
            Arc::clone(&measuring),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = Request::post("/v1/AuthTokens/Secondary")
                    .header("host", "127.0.0.1")
                    .header("authorization", auth.as_str())
                    .body(Empty::new())
                    .expect("request");
                if sender.ready().await.is_err() {
                    break;
                }
                let Ok(response) = sender.send_request(request).await else {
                    break;
                };
                let status = response.status();
                let Ok(body) = response.into_body().collect().await else {
                    break;
                };
                assert_eq!(status, 201, "{:?}", body.to_bytes());
                if measuring.load(Ordering::Relaxed) {
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    // Warm up, then measure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    measuring.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(opts.seconds)).await;
    let done = completed.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    emulator.shutdown().await;

    let rate = done as f64 / elapsed.as_secs_f64();
    println!(
        "POST /v1/AuthTokens/Secondary: {done} requests in {:.2} s over {} keep-alive connections, {} runtime threads: {rate:.0} req/s",
        elapsed.as_secs_f64(),
        opts.connections,
        opts.threads,
    );
}
