//! The sliding-window counter behind [`RetryBudget`](super::RetryBudget).
//!
//! The same accounting as `tower::retry::budget::TpsBudget` (ten slots over the time-to-live, a
//! reserve of `min_per_sec × ttl` retries, deposits and withdrawals in the same units), with one
//! difference that matters on the hot path: a deposit takes the time its caller already read and,
//! while the current slot is still open, is a single atomic addition (no lock, no clock read).
//! Withdrawals happen only on retries, so they may take the lock.

use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

const SLOTS: usize = 10;

pub(crate) struct WindowedBudget {
    /// The instant `slot_ends` counts from.
    origin: Instant,
    /// When the current slot closes, in nanoseconds after `origin` (read without the lock).
    slot_ends: AtomicU64,
    /// The current slot's index and opening time.
    generation: Mutex<(usize, Instant)>,
    slots: [AtomicIsize; SLOTS],
    /// Deposits and withdrawals of the current slot, not yet committed to `slots`.
    writer: AtomicIsize,
    window: Duration,
    reserve: isize,
    deposit_amount: isize,
    withdraw_amount: isize,
}

impl WindowedBudget {
    /// `ttl` between 1 and 60 s, `retry_percent` between 0 and 1000 and `min_per_sec` below
    /// `i32::MAX / 1000` (checked by the caller).
    pub(crate) fn new(ttl: Duration, min_per_sec: u32, retry_percent: f32) -> Self {
        let (deposit_amount, withdraw_amount) = if retry_percent == 0.0 {
            (0, 1)
        } else if retry_percent <= 1.0 {
            (1, (1.0 / retry_percent) as isize)
        } else {
            (1000, (1000.0 / retry_percent) as isize)
        };
        let reserve = (min_per_sec as isize)
            .saturating_mul(ttl.as_secs() as isize)
            .saturating_mul(withdraw_amount);
        let window = ttl / SLOTS as u32;
        let origin = Instant::now();
        Self {
            origin,
            slot_ends: AtomicU64::new(nanos(window)),
            generation: Mutex::new((0, origin)),
            slots: Default::default(),
            writer: AtomicIsize::new(0),
            window,
            reserve,
            deposit_amount,
            withdraw_amount,
        }
    }

    /// One call started at `now`.
    pub(crate) fn deposit_at(&self, now: Instant) {
        self.expire(now);
        self.writer.fetch_add(self.deposit_amount, Ordering::SeqCst);
    }

    /// Takes one retry from the budget, if there is one.
    pub(crate) fn withdraw(&self) -> bool {
        self.expire(Instant::now());
        if self.sum() >= self.withdraw_amount {
            self.writer
                .fetch_add(-self.withdraw_amount, Ordering::SeqCst);
            true
        } else {
            false
        }
    }

    /// Commits the current slot and clears the ones that have aged out, once its window is over.
    fn expire(&self, now: Instant) {
        if nanos(now.saturating_duration_since(self.origin))
            < self.slot_ends.load(Ordering::Acquire)
        {
            return;
        }
        let mut generation = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (index, opened) = *generation;
        let mut elapsed = now.saturating_duration_since(opened);
        if elapsed < self.window {
            return; // another caller committed it first
        }
        let committed = self.writer.swap(0, Ordering::SeqCst);
        self.slots[index].store(committed, Ordering::SeqCst);
        let mut next = (index + 1) % SLOTS;
        while elapsed > self.window {
            self.slots[next].store(0, Ordering::SeqCst);
            elapsed -= self.window;
            next = (next + 1) % SLOTS;
        }
        *generation = (next, now);
        let ends = now
            .saturating_duration_since(self.origin)
            .saturating_add(self.window);
        self.slot_ends.store(nanos(ends), Ordering::Release);
    }

    fn sum(&self) -> isize {
        self.slots
            .iter()
            .map(|slot| slot.load(Ordering::SeqCst))
            .fold(self.writer.load(Ordering::SeqCst), isize::saturating_add)
            .saturating_add(self.reserve)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deposits_buy_retries_until_they_age_out() {
        // 50%: two calls buy one retry; no reserve.
        let budget = WindowedBudget::new(Duration::from_secs(10), 0, 0.5);
        assert!(!budget.withdraw());
        budget.deposit_at(Instant::now());
        assert!(!budget.withdraw(), "one call is half a retry");
        budget.deposit_at(Instant::now());
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        // Deposits in an earlier slot still count until the time-to-live has passed...
        budget.deposit_at(Instant::now());
        budget.deposit_at(Instant::now());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(budget.withdraw());
        budget.deposit_at(Instant::now());
        budget.deposit_at(Instant::now());
        // ...and no longer after it.
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!budget.withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn the_reserve_allows_min_per_sec_over_the_ttl() {
        let budget = WindowedBudget::new(Duration::from_secs(2), 3, 0.0);
        for _ in 0..6 {
            assert!(budget.withdraw());
        }
        assert!(!budget.withdraw());
    }
}
