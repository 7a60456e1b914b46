//! Fault knobs: added latency, a rate limit, injected error statuses and connection resets,
//! and a propagation delay for new secondary tokens.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind};

/// Runtime fault knobs of a running emulator, from [`Emulator::faults`](crate::Emulator::faults).
///
/// A cheap, cloneable handle: every clone controls the same emulator, and changes apply to
/// the next request. All timing uses Tokio's clock, so tests with paused time
/// (`tokio::time::pause`) see latency and rate-limit windows advance with the paused clock.
///
/// ```no_run
/// # async fn demo() -> Result<(), twilio_emulator::Error> {
/// use std::time::Duration;
/// use twilio_emulator::{Emulator, Fault, RateLimit};
///
/// let emulator = Emulator::builder().start().await?;
/// let faults = emulator.faults();
/// faults.set_latency(Duration::from_millis(50));
/// faults.set_rate_limit(Some(RateLimit::new(10, Duration::from_secs(1))));
/// // The next promotion fails with a 503, the one after that loses its connection.
/// faults.inject(Fault::status(503).on("POST", "/v1/AuthTokens/Promote").times(1))?;
/// faults.inject(Fault::reset().on("POST", "/v1/AuthTokens/Promote").times(1))?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

struct Inner {
    /// Added latency in nanoseconds.
    latency_nanos: AtomicU64,
    /// Delay before a new secondary token authenticates, in nanoseconds.
    propagation_nanos: AtomicU64,
    /// Fast path: false while there is no rule and no rate limit.
    armed: AtomicBool,
    state: Mutex<State>,
}

struct State {
    rules: Vec<Fault>,
    rate_limit: Option<(RateLimit, Instant, u32)>,
    rng: fastrand::Rng,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Faults")
            .field("latency", &self.latency())
            .field("propagation_delay", &self.propagation_delay())
            .field(
                "rate_limit",
                &state.rate_limit.as_ref().map(|(limit, _, _)| *limit),
            )
            .field("rules", &state.rules)
            .finish()
    }
}

/// A fixed-window rate limit: at most `max_requests` requests per `window`; the rest answer
/// `429 Too Many Requests` with Twilio's error 20429 and a `Retry-After` header (whole
/// seconds until the window ends, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max_requests: u32,
    window: Duration,
}

impl RateLimit {
    /// At most `max_requests` requests (0 refuses every request) per `window`.
    pub fn new(max_requests: u32, window: Duration) -> Self {
        Self {
            max_requests,
            window,
        }
    }

    /// The number of requests admitted per window.
    pub fn max_requests(&self) -> u32 {
        self.max_requests
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer with this HTTP status and Twilio's error body (code `20000 + status`; a 429
    /// also carries `Retry-After: 1`).
    Status(u16),
    /// Close the connection without any response, with a TCP reset where the platform
    /// allows it.
    Reset,
}

/// One fault rule for [`Faults::inject`]: an action, an optional request filter, how many
/// times it fires, with what probability, and whether before or after the request is
/// processed.
///
/// Rules are checked in the order they were added; the first that matches and fires wins.
/// A rule with a count is removed once it has fired that many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    action: FaultAction,
    method: Option<String>,
    path: Option<String>,
    remaining: Option<u32>,
    probability: f64,
    after_processing: bool,
}

impl Fault {
    /// Answer with `status` (400–599, checked by [`Faults::inject`]).
    pub fn status(status: u16) -> Self {
        Self::with_action(FaultAction::Status(status))
    }

    /// Drop the connection without a response.
    pub fn reset() -> Self {
        Self::with_action(FaultAction::Reset)
    }

    fn with_action(action: FaultAction) -> Self {
        Self {
            action,
            method: None,
            path: None,
            remaining: None,
            probability: 1.0,
            after_processing: false,
        }
    }

    /// Only requests with this method (e.g. `"POST"`, ASCII case-insensitive) and exactly
    /// this path (e.g. `"/v1/AuthTokens/Promote"`, without the query string).
    pub fn on(mut self, method: &str, path: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self.path = Some(path.to_owned());
        self
    }

    /// Fire at most `n` times, then disappear. Without it the rule stays until
    /// [`Faults::clear`].
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Fire with probability `p` (clamped to 0.0–1.0; NaN counts as 0) for each matching
    /// request. The default is 1.0. The random source is seeded by
    /// [`EmulatorBuilder::fault_seed`](crate::EmulatorBuilder::fault_seed).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self
    }

    /// Apply the fault after the emulator has processed the request and changed its state:
    /// the client sees an error or a dropped connection although the operation happened
    /// (a lost response). The default is before processing (nothing changes).
    pub fn after_processing(mut self) -> Self {
        self.after_processing = true;
        self
    }

    /// The action this rule takes.
    pub fn action(&self) -> FaultAction {
        self.action
    }

    fn matches(&self, method: &str, path: &str, after: bool) -> bool {
        self.after_processing == after
            && self.remaining != Some(0)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self.path.as_deref().is_none_or(|p| p == path)
    }
}

/// What the pipeline does with a request, decided by [`Faults::check`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Proceed,
    Status(u16),
    Reset,
    RateLimited { retry_after_secs: u64 },
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                latency_nanos: AtomicU64::new(0),
                propagation_nanos: AtomicU64::new(0),
                armed: AtomicBool::new(false),
                state: Mutex::new(State {
                    rules: Vec::new(),
                    rate_limit: None,
                    rng: fastrand::Rng::with_seed(seed),
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of plain data.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rearm(&self, state: &State) {
        let armed = !state.rules.is_empty() || state.rate_limit.is_some();
        self.inner.armed.store(armed, Ordering::Release);
    }

    /// Adds `latency` before every response (zero removes it).
    pub fn set_latency(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.inner.latency_nanos.store(nanos, Ordering::Relaxed);
    }

    /// The added latency.
    pub fn latency(&self) -> Duration {
        Duration::from_nanos(self.inner.latency_nanos.load(Ordering::Relaxed))
    }

    /// Sets (or with `None` removes) the rate limit. Setting one starts a fresh window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut state = self.lock();
        state.rate_limit = limit.map(|l| (l, Instant::now(), 0));
        self.rearm(&state);
    }

    /// Makes a newly created secondary token refuse authentication (401) until `delay` has
    /// passed, like Twilio's propagation window. Zero (the default) makes new tokens work
    /// at once. Applies to secondary tokens created after the call.
    pub fn set_propagation_delay(&self, delay: Duration) {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.inner.propagation_nanos.store(nanos, Ordering::Relaxed);
    }

    /// The propagation delay for new secondary tokens.
    pub fn propagation_delay(&self) -> Duration {
        Duration::from_nanos(self.inner.propagation_nanos.load(Ordering::Relaxed))
    }

    /// Adds a fault rule.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] when a [`Fault::status`] is outside 400–599.
    pub fn inject(&self, fault: Fault) -> Result<(), Error> {
        if let FaultAction::Status(status) = fault.action
            && !(400..=599).contains(&status)
        {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("injected status {status} is not an error status (400-599)"),
            ));
        }
        let mut state = self.lock();
        state.rules.push(fault);
        self.rearm(&state);
        Ok(())
    }

    /// The number of fault rules still active.
    pub fn pending(&self) -> usize {
        self.lock()
            .rules
            .iter()
            .filter(|r| r.remaining != Some(0))
            .count()
    }

    /// Removes every rule, the rate limit, the latency and the propagation delay.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.rules.clear();
        state.rate_limit = None;
        self.rearm(&state);
        self.set_latency(Duration::ZERO);
        self.set_propagation_delay(Duration::ZERO);
    }

    /// Decides the fate of a request at one stage (before or after processing).
    pub(crate) fn check(&self, method: &str, path: &str, after: bool) -> Decision {
        if !self.inner.armed.load(Ordering::Acquire) {
            return Decision::Proceed;
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        if !after && let Some((limit, start, count)) = &mut state.rate_limit {
            let now = Instant::now();
            if now.duration_since(*start) >= limit.window {
                *start = now;
                *count = 0;
            }
            if *count >= limit.max_requests {
                let left = limit.window.saturating_sub(now.duration_since(*start));
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                return Decision::RateLimited {
                    retry_after_secs: secs.max(1),
                };
            }
            *count += 1;
        }
        let mut decision = Decision::Proceed;
        for rule in &mut state.rules {
            if !rule.matches(method, path, after) {
                continue;
            }
            if rule.probability < 1.0 && state.rng.f64() >= rule.probability {
                continue;
            }
            if let Some(n) = &mut rule.remaining {
                *n -= 1;
            }
            decision = match rule.action {
                FaultAction::Status(s) => Decision::Status(s),
                FaultAction::Reset => Decision::Reset,
            };
            break;
        }
        state.rules.retain(|r| r.remaining != Some(0));
        self.rearm(state);
        decision
    }

    pub(crate) fn propagation_nanos(&self) -> u64 {
        self.inner.propagation_nanos.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarmed_faults_proceed() {
        let f = Faults::new(1);
        assert_eq!(f.check("GET", "/v1/x", false), Decision::Proceed);
    }

    #[test]
    fn counted_rules_fire_then_disappear() {
        let f = Faults::new(1);
        f.inject(Fault::status(503).times(2)).unwrap();
        assert_eq!(f.pending(), 1);
        assert_eq!(f.check("GET", "/a", false), Decision::Status(503));
        assert_eq!(f.check("GET", "/a", true), Decision::Proceed);
        assert_eq!(f.check("GET", "/a", false), Decision::Status(503));
        assert_eq!(f.check("GET", "/a", false), Decision::Proceed);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn filters_and_stages() {
        let f = Faults::new(1);
        f.inject(
            Fault::reset()
                .on("post", "/v1/AuthTokens/Promote")
                .after_processing(),
        )
        .unwrap();
        assert_eq!(
            f.check("POST", "/v1/AuthTokens/Promote", false),
            Decision::Proceed
        );
        assert_eq!(
            f.check("GET", "/v1/AuthTokens/Promote", true),
            Decision::Proceed
        );
        assert_eq!(
            f.check("POST", "/v1/AuthTokens/Promote", true),
            Decision::Reset
        );
        assert_eq!(
            f.check("POST", "/v1/AuthTokens/Promote", true),
            Decision::Reset
        );
        f.clear();
        assert_eq!(
            f.check("POST", "/v1/AuthTokens/Promote", true),
            Decision::Proceed
        );
    }

    #[test]
    fn invalid_status_is_rejected() {
        let f = Faults::new(1);
        assert_eq!(
            f.inject(Fault::status(200)).unwrap_err().kind(),
            ErrorKind::InvalidConfig
        );
        assert_eq!(
            f.inject(Fault::status(600)).unwrap_err().kind(),
            ErrorKind::InvalidConfig
        );
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn probability_zero_never_fires_and_one_always_does() {
        let f = Faults::new(7);
        f.inject(Fault::status(500).probability(0.0)).unwrap();
        f.inject(Fault::status(502).probability(f64::NAN)).unwrap();
        for _ in 0..100 {
            assert_eq!(f.check("GET", "/", false), Decision::Proceed);
        }
        f.inject(Fault::status(503).probability(7.0)).unwrap();
        assert_eq!(f.check("GET", "/", false), Decision::Status(503));
    }

    #[test]
    fn partial_probability_fires_sometimes() {
        let f = Faults::new(42);
        f.inject(Fault::status(500).probability(0.5)).unwrap();
        let fired = (0..1000)
            .filter(|_| f.check("GET", "/", false) != Decision::Proceed)
            .count();
        assert!((300..700).contains(&fired), "{fired}");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_windows() {
        let f = Faults::new(1);
        f.set_rate_limit(Some(RateLimit::new(2, Duration::from_secs(10))));
        assert_eq!(f.check("GET", "/", false), Decision::Proceed);
        assert_eq!(f.check("GET", "/", false), Decision::Proceed);
        assert_eq!(
            f.check("GET", "/", false),
            Decision::RateLimited {
                retry_after_secs: 10
            }
        );
        tokio::time::advance(Duration::from_millis(7500)).await;
        assert_eq!(
            f.check("GET", "/", false),
            Decision::RateLimited {
                retry_after_secs: 3
            }
        );
        tokio::time::advance(Duration::from_millis(2500)).await;
        assert_eq!(f.check("GET", "/", false), Decision::Proceed);
        f.set_rate_limit(None);
        for _ in 0..10 {
            assert_eq!(f.check("GET", "/", false), Decision::Proceed);
        }
    }
}
