//! The error budget: stop when an API is clearly down instead of burning
//! every recipient's retries.

use std::collections::VecDeque;

/// How many recent requests of an account are looked at.
pub const WINDOW: usize = 20;
/// How many of them must have failed (5xx, timeouts, connection errors) to stop.
pub const MAX_FAILURES: usize = 16;

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
}
