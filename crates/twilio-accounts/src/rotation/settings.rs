//! What a rotation was asked to do: its [`Settings`] (the builder's choices, defaults
//! resolved), the [`Checkpoint`]s it reports, and the [`VerifyBackoff`] of its checks. Plain
//! data, no I/O: every other module of the rotation reads it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use twilio_store::{GatePolicy, RotationChoices};

/// The settings of one run, fixed when it starts (the builder's choices with the defaults
/// resolved). What the run has done so far is its [`Progress`](super::progress::Progress).
pub(super) struct Settings {
    pub(super) suppress_email_notification: Option<bool>,
    /// How long each check retries a token that Twilio refuses while it propagates.
    pub(super) propagation_window: Duration,
    pub(super) backoff: VerifyBackoff,
    /// How long after staging the promotion may be sent (followers' hand-off).
    pub(super) hand_off_grace: Duration,
    /// Promote even if the hand-off grace has not passed.
    pub(super) force: bool,
    /// Called at each durable boundary (see `RotateAuthToken::on_checkpoint`).
    pub(super) checkpoint: Option<CheckpointHook>,
    /// How long the store's lease holds between two writes of this rotation.
    pub(super) lease_duration: Duration,
    /// How long the fleet gate waits for every live follower to hold the new token.
    pub(super) max_wait: Duration,
    /// What the gate does when `max_wait` ends first.
    pub(super) gate_policy: GatePolicy,
}

impl Settings {
    /// Calls the checkpoint hook, if any, with the boundary just reached.
    pub(super) fn checkpoint(&self, checkpoint: Checkpoint) {
        if let Some(hook) = &self.checkpoint {
            hook(checkpoint);
        }
    }

    /// The choices recorded with the rotation in the store, so that `resume` (in another
    /// process, maybe) waits the same grace and applies the same gate.
    pub(super) fn choices(&self) -> RotationChoices {
        let mut choices = RotationChoices::new();
        choices.hand_off_grace = Some(self.hand_off_grace);
        choices.max_wait = Some(self.max_wait);
        choices.gate_policy = Some(self.gate_policy);
        choices.propagation_window = Some(self.propagation_window);
        choices
    }
}

/// A durable boundary of a rotation, passed to the hook of [`RotateAuthToken::on_checkpoint`](super::RotateAuthToken::on_checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Checkpoint {
    /// `Creating` is recorded; the create is about to be sent.
    Creating,
    /// The create was answered (the new token is not stored yet).
    Created,
    /// The new token is stored as `pending`.
    PendingStored,
    /// `Staged` is recorded; the client switches to the new token.
    Staged,
    /// `Promoting` is recorded; the promotion is about to be sent.
    Promoting,
    /// The promotion was answered (not yet recorded).
    Promoted,
    /// The promotion is recorded (before the final check).
    Recorded,
}

impl Checkpoint {
    /// Every checkpoint, in the order a rotation passes them.
    pub const ALL: [Self; 7] = [
        Self::Creating,
        Self::Created,
        Self::PendingStored,
        Self::Staged,
        Self::Promoting,
        Self::Promoted,
        Self::Recorded,
    ];

    /// `"creating"`, `"created"`, `"pending_stored"`, `"staged"`, `"promoting"`, `"promoted"`
    /// or `"recorded"`.
    ///
    /// ```
    /// use twilio_accounts::rotation::Checkpoint;
    ///
    /// assert_eq!(Checkpoint::PendingStored.as_str(), "pending_stored");
    /// assert_eq!(Checkpoint::parse("promoting"), Some(Checkpoint::Promoting));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Created => "created",
            Self::PendingStored => "pending_stored",
            Self::Staged => "staged",
            Self::Promoting => "promoting",
            Self::Promoted => "promoted",
            Self::Recorded => "recorded",
        }
    }

    /// The checkpoint named `name` (as [`as_str`](Self::as_str) writes it), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A function called with each durable boundary a rotation passes (see
/// [`RotateAuthToken::on_checkpoint`](super::RotateAuthToken::on_checkpoint)).
pub type CheckpointHook = Arc<dyn Fn(Checkpoint) + Send + Sync>;

/// The waits between verification attempts: `initial`, doubling after each attempt, capped at
/// `max`; the last wait is cut short so that a final attempt happens at the end of the
/// propagation window. No jitter: a rotation is one sequence of requests per account.
///
/// ```
/// use std::time::Duration;
/// use twilio_accounts::rotation::VerifyBackoff;
///
/// let backoff = VerifyBackoff::new(Duration::from_secs(1), Duration::from_secs(5));
/// assert_eq!(backoff.delay(1), Duration::from_secs(1));
/// assert_eq!(backoff.delay(2), Duration::from_secs(2));
/// assert_eq!(backoff.delay(3), Duration::from_secs(4));
/// assert_eq!(backoff.delay(4), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyBackoff {
    initial: Duration,
    max: Duration,
}

impl VerifyBackoff {
    /// The smallest accepted wait (shorter values are raised to it): 10 ms.
    pub const MIN_DELAY: Duration = Duration::from_millis(10);

    /// Waits of `initial`, doubling, capped at `max` (`initial` is raised to at least
    /// [`MIN_DELAY`](Self::MIN_DELAY), and `max` to at least `initial`).
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Self::MIN_DELAY);
        Self {
            initial,
            max: max.max(initial),
        }
    }

    /// The first wait.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait after attempt number `attempt` (1 for the first): the transport's capped
    /// exponential back-off, the one formula for every retry in the SDK.
    pub fn delay(&self, attempt: u32) -> Duration {
        twilio_transport::retry::capped_exponential(self.initial, self.max, attempt)
    }
}

impl Default for VerifyBackoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(8))
    }
}

/// `started + window`, saturating: a window too long for the clock (`Duration::MAX`, say)
/// means a deadline a century away rather than a panic.
fn deadline_after(started: Instant, window: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    started
        .checked_add(window)
        .or_else(|| started.checked_add(CENTURY))
        .unwrap_or(started)
}

/// The attempts of one check, which must end within the propagation window.
pub(super) struct Attempts {
    /// When the check started.
    pub(super) started: Instant,
    deadline: Instant,
    count: u32,
}

impl Attempts {
    /// A check that starts now and may last `window`.
    pub(super) fn within(window: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            deadline: deadline_after(started, window),
            count: 0,
        }
    }

    /// Counts one more attempt; its number (1 for the first).
    pub(super) fn next(&mut self) -> u32 {
        self.count += 1;
        self.count
    }

    /// How many attempts so far.
    pub(super) fn count(&self) -> u32 {
        self.count
    }

    /// The window is over: no attempt after this one.
    pub(super) fn window_over(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The wait before the next attempt: the back-off, never past the end of the window.
    pub(super) fn delay(&self, backoff: &VerifyBackoff) -> Duration {
        backoff
            .delay(self.count)
            .min(self.deadline.saturating_duration_since(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_never_overflows() {
        let b = VerifyBackoff::new(Duration::from_millis(300), Duration::from_secs(2));
        let delays: Vec<_> = (1..=6).map(|n| b.delay(n)).collect();
        assert_eq!(
            delays,
            [300, 600, 1200, 2000, 2000, 2000].map(Duration::from_millis)
        );
        assert_eq!(b.delay(0), Duration::from_millis(300));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(2));
        let huge = VerifyBackoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.delay(40), Duration::MAX);
    }

    #[test]
    fn backoff_bounds_are_sanitised() {
        let b = VerifyBackoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.initial(), VerifyBackoff::MIN_DELAY);
        assert_eq!(b.max(), VerifyBackoff::MIN_DELAY);
        let d = VerifyBackoff::default();
        assert_eq!(
            (d.initial(), d.max()),
            (Duration::from_millis(500), Duration::from_secs(8))
        );
    }
}
