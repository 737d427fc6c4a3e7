//! What the journal reports back: the `status` summary, report rows and row
//! digests.
//!
//! These are read-side views, computed by each backend from its own tables;
//! they are plain data with `Serialize`, so the CLI can print them as text,
//! CSV or JSON.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::journal::model::{MessageState, RateLimitSnapshot};

/// How many messages are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub total: u64,
    pub pending: u64,
    pub in_flight: u64,
    pub sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    pub skipped: u64,
}

impl StateCounts {
    pub fn get(&self, state: MessageState) -> u64 {
        match state {
            MessageState::Pending => self.pending,
            MessageState::InFlight => self.in_flight,
            MessageState::Sent => self.sent,
            MessageState::Failed => self.failed,
            MessageState::Uncertain => self.uncertain,
            MessageState::Skipped => self.skipped,
        }
    }

    /// Adds `count` messages in `state` (and to the total).
    pub fn add(&mut self, state: MessageState, count: u64) {
        self.total += count;
        let slot = match state {
            MessageState::Pending => &mut self.pending,
            MessageState::InFlight => &mut self.in_flight,
            MessageState::Sent => &mut self.sent,
            MessageState::Failed => &mut self.failed,
            MessageState::Uncertain => &mut self.uncertain,
            MessageState::Skipped => &mut self.skipped,
        };
        *slot += count;
    }

    /// True when no message is left to send or to decide about.
    pub fn is_settled(&self) -> bool {
        self.pending == 0 && self.in_flight == 0 && self.uncertain == 0
    }
}

/// One sender account's progress and last word from the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub account: String,
    pub counts: StateCounts,
    /// Responses with HTTP 429 (rate limited) so far.
    pub throttled: u64,
    /// Rate-limit headers of the latest recorded response that had any.
    pub rate_limit: Option<RateLimitSnapshot>,
    /// When the request behind `rate_limit` was made.
    pub rate_limit_at: Option<DateTime<Utc>>,
    /// The latest error recorded for the account (attempt error, failure or
    /// uncertainty reason).
    pub last_error: Option<String>,
    /// The earliest planned time among its pending messages.
    pub next_planned: Option<DateTime<Utc>>,
    pub last_sent: Option<DateTime<Utc>>,
}

/// `outreach status`: counts overall and per account (sorted by name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSummary {
    pub counts: StateCounts,
    pub accounts: Vec<AccountSummary>,
}

/// One step of a sequence in `outreach status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StepCounts {
    pub step: u32,
    pub counts: StateCounts,
    /// Pending follow-ups whose previous step has not gone out (yet).
    pub waiting: u64,
}

/// One message in `outreach report`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub seq: u64,
    pub line: u64,
    pub recipient: String,
    /// The message's step in a sequence; `report` leaves it out for a
    /// campaign without `[[steps]]`, so its columns stay as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    pub account: String,
    pub state: MessageState,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub planned_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub api_message_id: Option<String>,
    pub failure_reason: Option<String>,
}

/// What `--allow-changes` needs to compare a journal with the current CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDigest {
    pub seq: u64,
    pub line: u64,
    pub recipient: String,
    pub row_digest: String,
    pub state: MessageState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let mut counts = StateCounts::default();
        counts.add(MessageState::Sent, 3);
        counts.add(MessageState::Pending, 2);
        assert_eq!(counts.total, 5);
        assert_eq!(counts.get(MessageState::Sent), 3);
        assert!(!counts.is_settled());
        counts = StateCounts::default();
        counts.add(MessageState::Failed, 1);
        assert!(counts.is_settled());
    }
}
