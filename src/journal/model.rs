//! The journal's vocabulary: message states, campaign metadata, planned and
//! stored messages, attempts and outcomes.
//!
//! These types are shared by every backend and by the executor, so they hold
//! plain data only: no SQL, no I/O. Times are `DateTime<Utc>` and round-trip
//! through a store exactly (to the nanosecond).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a message is in its life. The only ways forward are:
///
/// ```text
/// pending ──begin_send──► in_flight ──► sent | failed | uncertain
///    ▲                        │
///    └──── back to pending ◄──┘   (the server proved it did not take it, e.g. 429)
/// in_flight ──recover_in_flight (after a crash)──► uncertain
/// failed | uncertain ──set_state_where (--retry-failed, --resend-uncertain)──► pending
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Planned, never sent or proven not taken by the server.
    Pending,
    /// Durably claimed for sending; the request may be on the wire.
    InFlight,
    /// The server accepted it.
    Sent,
    /// The server refused it for good (a 4xx other than 429, or retries exhausted).
    Failed,
    /// Nobody knows whether the server took it (timeout, crash mid-request).
    /// Never resent automatically: that could make a duplicate.
    Uncertain,
    /// Left out on purpose (e.g. its CSV row changed and `--allow-changes` skipped it).
    Skipped,
}

impl MessageState {
    /// Every state, in the order summaries list them.
    pub const ALL: [MessageState; 6] = [
        MessageState::Pending,
        MessageState::InFlight,
        MessageState::Sent,
        MessageState::Failed,
        MessageState::Uncertain,
        MessageState::Skipped,
    ];

    /// The lowercase name stored in journals and printed in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::InFlight => "in_flight",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Uncertain => "uncertain",
            MessageState::Skipped => "skipped",
        }
    }
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that is not one of [`MessageState::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown message state `{0}`; expected one of pending, in_flight, sent, failed, uncertain, skipped"
)]
pub struct UnknownState(pub String);

impl FromStr for MessageState {
    type Err = UnknownState;

    fn from_str(text: &str) -> Result<MessageState, UnknownState> {
        MessageState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| UnknownState(text.to_string()))
    }
}

/// The digest of one input file, so `resume` can tell whether inputs changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    pub path: String,
    /// blake3 of the file's bytes, lowercase hex.
    pub blake3: String,
}

/// What a campaign was made from. Written once, by `create_campaign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignMeta {
    pub campaign_id: String,
    pub created_at: DateTime<Utc>,
    pub csv_path: String,
    /// blake3 of inputs and options; equal fingerprints mean the same campaign.
    pub fingerprint: String,
    /// One digest per CSV or template file, in the order given.
    pub inputs: Vec<InputDigest>,
    /// The options the campaign was started with, saved verbatim for `resume`.
    /// Opaque to the journal.
    pub options_json: String,
    pub tool_version: String,
}

/// One planned message, as the planner produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Unique within the campaign; plan order.
    pub seq: u64,
    /// The CSV line the message came from (1-based, header included).
    pub line: u64,
    pub recipient: String,
    pub account: String,
    pub subject: Option<String>,
    pub body: String,
    /// Sent with every attempt, so the server can drop a repeat of a request
    /// whose answer we never saw.
    pub idempotency_key: String,
    pub planned_at: DateTime<Utc>,
    /// blake3 of the CSV row, to detect rows edited between runs.
    pub row_digest: String,
    /// The recipient's own IANA zone for send windows, if the CSV gave one.
    pub timezone: Option<String>,
    /// The HTML body (e-mail with an `.html` template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The CSV row's fields, kept only for channels whose request is a
    /// template over them (a declared HTTP API).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, String>,
    /// Its place in the recipient's sequence (step 1 without `[[steps]]`).
    #[serde(default, flatten)]
    pub sequence: SequencePlace,
}

/// Where a message stands in its recipient's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequencePlace {
    /// 1 for the first message, 2 and later for follow-ups.
    #[serde(default = "first_step")]
    pub step: u32,
    /// The `seq` of the previous step's message (follow-ups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<u64>,
    /// The row's priority: higher goes first.
    #[serde(default)]
    pub priority: i64,
}

fn first_step() -> u32 {
    1
}

impl Default for SequencePlace {
    fn default() -> Self {
        SequencePlace {
            step: 1,
            previous: None,
            priority: 0,
        }
    }
}

/// What became of a message a follow-up waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousStep {
    pub seq: u64,
    pub state: MessageState,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A pending message's text made again from its edited CSV row
/// (`resume --allow-changes=update`). The recipient and account stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rerender {
    pub seq: u64,
    /// The row's line in the CSV now.
    pub line: u64,
    pub subject: Option<String>,
    pub body: String,
    pub idempotency_key: String,
    pub row_digest: String,
    pub timezone: Option<String>,
    pub html: Option<String>,
    pub fields: std::collections::BTreeMap<String, String>,
}

/// A message as the journal holds it: the plan plus what happened so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    #[serde(flatten)]
    pub message: NewMessage,
    pub state: MessageState,
    /// Requests recorded for the message ([`AttemptRecord`]s), not counting
    /// those answered 429: the server proved it did not take those.
    pub attempts: u32,
    /// The latest claim or recorded (non-429) attempt: for in-flight and
    /// uncertain messages, when the request may have reached the server.
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub sent_at: Option<DateTime<Utc>>,
    pub api_message_id: Option<String>,
    pub failure_reason: Option<String>,
}

/// Rate-limit headers seen on a response; each is optional because servers
/// send any subset of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitSnapshot {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    pub reset_at: Option<DateTime<Utc>>,
}

impl RateLimitSnapshot {
    /// True when no header was present, so there is nothing worth storing.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none() && self.reset_at.is_none()
    }
}

/// One HTTP exchange (or failed try) for a message, kept for `status` and audits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    pub rate_limit: Option<RateLimitSnapshot>,
    pub error: Option<String>,
}

/// How an in-flight message ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Sent {
        at: DateTime<Utc>,
        api_message_id: Option<String>,
    },
    Failed {
        reason: String,
        status: Option<u16>,
    },
    /// The server proved it did not take the message (e.g. 429): send it later.
    BackToPending,
    /// Nobody knows whether the server took it; a human decides
    /// (`--resend-uncertain`).
    Uncertain {
        reason: String,
    },
}

impl Outcome {
    /// The state a message moves to with this outcome.
    pub fn state(&self) -> MessageState {
        match self {
            Outcome::Sent { .. } => MessageState::Sent,
            Outcome::Failed { .. } => MessageState::Failed,
            Outcome::BackToPending => MessageState::Pending,
            Outcome::Uncertain { .. } => MessageState::Uncertain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in MessageState::ALL {
            assert_eq!(state.as_str().parse::<MessageState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_str());
        }
        assert_eq!(
            serde_json::to_string(&MessageState::InFlight).unwrap(),
            "\"in_flight\""
        );
    }

    #[test]
    fn unknown_state_lists_the_valid_ones() {
        let error = "done".parse::<MessageState>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown message state `done`; expected one of pending, in_flight, sent, failed, uncertain, skipped"
        );
    }

    #[test]
    fn outcomes_name_their_target_state() {
        assert_eq!(Outcome::BackToPending.state(), MessageState::Pending);
        let failed = Outcome::Failed {
            reason: "HTTP 400".into(),
            status: Some(400),
        };
        assert_eq!(failed.state(), MessageState::Failed);
    }
}
