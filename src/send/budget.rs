//! The error budget: stop when an API is clearly down instead of burning
//! every recipient's retries, and tell a lone transient failure (retried on
//! the next slot) from an API that keeps failing (backed off exponentially).

use std::collections::VecDeque;

/// How many recent requests of an account are looked at.
pub const WINDOW: usize = 20;
/// How many of them must have failed (5xx, timeouts, connection errors) to stop.
pub const MAX_FAILURES: usize = 16;
/// How many requests in a row must have failed before retries back off
/// exponentially. A lone failure, or two, is retried on the next slot: at
/// 25% transient faults, a run of 40 requests sees 3 in a row about a third
/// of the time, and then backs off only from the base (2 s by default).
pub const HARD_BACKOFF_AFTER: usize = 3;

/// The outcomes of an account's most recent requests.
#[derive(Debug, Default, Clone)]
pub struct ErrorBudget {
    recent: VecDeque<bool>,
}

impl ErrorBudget {
    /// Record one request; `failed` for transient failures only (not 4xx, not 429).
    pub fn record(&mut self, failed: bool) {
        self.recent.push_back(failed);
        if self.recent.len() > WINDOW {
            self.recent.pop_front();
        }
    }

    pub fn failures(&self) -> usize {
        self.recent.iter().filter(|failed| **failed).count()
    }

    /// How many of the most recent requests failed in a row.
    pub fn failing_streak(&self) -> usize {
        self.recent
            .iter()
            .rev()
            .take_while(|failed| **failed)
            .count()
    }

    /// True when the API looks down.
    pub fn exhausted(&self) -> bool {
        self.recent.len() >= WINDOW && self.failures() >= MAX_FAILURES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_full_window_of_mostly_failures() {
        let mut budget = ErrorBudget::default();
        for _ in 0..16 {
            budget.record(true);
        }
        assert!(!budget.exhausted(), "16 failures, but not 20 requests yet");
        for _ in 0..4 {
            budget.record(false);
        }
        assert!(budget.exhausted(), "16 of the last 20 failed");
        budget.record(false);
        assert!(!budget.exhausted(), "15 of the last 20 failed");
    }

    #[test]
    fn the_streak_counts_failures_since_the_last_success() {
        let mut budget = ErrorBudget::default();
        assert_eq!(budget.failing_streak(), 0);
        budget.record(true);
        budget.record(true);
        assert_eq!(budget.failing_streak(), 2);
        budget.record(false);
        assert_eq!(budget.failing_streak(), 0);
        for _ in 0..25 {
            budget.record(true);
        }
        assert_eq!(budget.failing_streak(), WINDOW, "only the window is kept");
    }
}
