//! What a `fmt` subscriber prints while a future runs: shared by the crate's unit tests
//! (`src/trace.rs` includes this file) and the integration tests.

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub(crate) struct Buffer(pub(crate) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f`'s future on a paused current-thread runtime under a `fmt` subscriber (`DEBUG` and
/// up, span closes included, no time of day) and returns what `f` returned and what was printed,
/// busy and idle times left out so that two runs compare.
pub(crate) fn capture_with<T, F>(f: impl FnOnce() -> F) -> (T, String)
where
    F: std::future::Future<Output = T>,
{
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_ansi(false)
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let out = tracing::subscriber::with_default(subscriber, || rt.block_on(f()));
    let printed = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let printed = printed
        .lines()
        .map(|line| match line.find(" time.busy=") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (out, printed)
}

/// What is printed while `f`'s future runs (see [`capture_with`]).
#[allow(dead_code)] // not every includer needs both
pub(crate) fn capture<F: std::future::Future>(f: impl FnOnce() -> F) -> String {
    capture_with(f).1
}
