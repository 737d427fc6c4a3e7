//! Everything that happens during a send, as typed events.
//!
//! The executor emits events and knows nothing about who listens: the live
//! progress view, the plain log, the `--events` JSON Lines file. Each event
//! serializes to one JSON object with an `event` tag and a `ts` timestamp, so
//! `jq` or a dashboard can follow a campaign.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::background::BackgroundLines;

/// One thing that happened, with the fields a listener needs.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The run starts: how much there is to do.
    Started {
        total: usize,
        accounts: Vec<String>,
        /// Messages per account, in the order of `accounts`.
        account_totals: Vec<usize>,
        planned_end: Option<DateTime<Utc>>,
    },
    /// A message has its slot. Each account announces its messages up to
    /// [`PLANNED_AHEAD`](super::account::PLANNED_AHEAD) ahead of its sends, so
    /// a campaign of a million messages does not wait for a million events.
    Planned {
        seq: u64,
        /// The message's step in a sequence; left out for step 1.
        #[serde(skip_serializing_if = "is_first_step")]
        step: u32,
        account: String,
        recipient: String,
        at: DateTime<Utc>,
    },
    /// The next request of an account is due at `at`.
    Waiting { account: String, at: DateTime<Utc> },
    /// A request is leaving.
    Sending {
        seq: u64,
        /// The message's step in a sequence; left out for step 1.
        #[serde(skip_serializing_if = "is_first_step")]
        step: u32,
        account: String,
        recipient: String,
        attempt: u32,
    },
    /// Accepted by the API.
    Sent {
        seq: u64,
        /// The message's step in a sequence; left out for step 1.
        #[serde(skip_serializing_if = "is_first_step")]
        step: u32,
        account: String,
        recipient: String,
        status: u16,
        message_id: Option<String>,
        planned_at: DateTime<Utc>,
        late_ms: i64,
        remaining: Option<u64>,
    },
    /// The API said "too many requests" (or the quota is used up).
    Throttled {
        seq: u64,
        account: String,
        status: u16,
        wait_ms: i64,
        until: DateTime<Utc>,
        source: String,
    },
    /// A transient failure; the same message is tried again later.
    Retrying {
        seq: u64,
        account: String,
        attempt: u32,
        reason: String,
        wait_ms: i64,
    },
    /// The message will not be sent by this run.
    Failed {
        seq: u64,
        /// The message's step in a sequence; left out for step 1.
        #[serde(skip_serializing_if = "is_first_step")]
        step: u32,
        account: String,
        recipient: String,
        status: Option<u16>,
        reason: String,
    },
    /// Sent, but no response came back: it may or may not have arrived.
    Uncertain {
        seq: u64,
        /// The message's step in a sequence; left out for step 1.
        #[serde(skip_serializing_if = "is_first_step")]
        step: u32,
        account: String,
        recipient: String,
        reason: String,
    },
    /// The message's recipient was stopped (`outreach stop`, a do-not-contact
    /// list): it is skipped, not sent. `reason` when the sender knows it.
    Stopped {
        seq: u64,
        /// The message's step in a sequence; left out for step 1.
        #[serde(skip_serializing_if = "is_first_step")]
        step: u32,
        account: String,
        recipient: String,
        reason: Option<String>,
    },
    /// The account sends nothing until `until`.
    AccountPaused {
        account: String,
        until: DateTime<Utc>,
        reason: String,
    },
    /// The account sends again.
    AccountResumed { account: String },
    /// The account stops for this run (e.g. its token was rejected).
    AccountStopped { account: String, reason: String },
    /// The run is over.
    Finished {
        sent: usize,
        failed: usize,
        uncertain: usize,
        pending: usize,
        interrupted: bool,
    },
}

fn is_first_step(step: &u32) -> bool {
    *step <= 1
}

/// An event and when it happened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub ts: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Anything that wants to hear about events.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
    /// Called once at the end; flush buffers.
    fn finish(&self) {}
}

/// Sends each event to several sinks.
#[derive(Default)]
pub struct FanOut {
    sinks: Vec<Box<dyn EventSink>>,
}

impl FanOut {
    pub fn new() -> FanOut {
        FanOut::default()
    }

    pub fn add(&mut self, sink: Box<dyn EventSink>) {
        self.sinks.push(sink);
    }
}

impl EventSink for FanOut {
    fn emit(&self, event: &Event) {
        for sink in &self.sinks {
            sink.emit(event);
        }
    }

    fn finish(&self) {
        for sink in &self.sinks {
            sink.finish();
        }
    }
}

/// `--events FILE`: one JSON object per line, appended, written off the
/// send path (see [`BackgroundLines`]).
pub struct JsonLinesSink {
    lines: BackgroundLines,
}

impl JsonLinesSink {
    pub fn create(path: &Path) -> std::io::Result<JsonLinesSink> {
        let file = File::options().create(true).append(true).open(path)?;
        Ok(JsonLinesSink {
            lines: BackgroundLines::spawn(Box::new(BufWriter::new(file))),
        })
    }
}

impl EventSink for JsonLinesSink {
    fn emit(&self, event: &Event) {
        let mut line = Vec::with_capacity(160);
        if serde_json::to_writer(&mut line, event).is_ok() {
            line.push(b'\n');
            self.lines.write(line);
        }
    }

    fn finish(&self) {
        self.lines.finish();
    }
}

/// Collects events in memory (tests).
#[derive(Default)]
pub struct MemorySink {
    pub events: Mutex<Vec<Event>>,
}

impl EventSink for MemorySink {
    fn emit(&self, event: &Event) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_tag_and_timestamp() {
        let event = Event {
            ts: "2026-01-05T09:00:00Z".parse().unwrap(),
            kind: EventKind::Throttled {
                seq: 3,
                account: "alice".into(),
                status: 429,
                wait_ms: 1500,
                until: "2026-01-05T09:00:01.500Z".parse().unwrap(),
                source: "retry-after".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"ts":"2026-01-05T09:00:00Z","event":"throttled","seq":3,"account":"alice","status":429,"wait_ms":1500,"until":"2026-01-05T09:00:01.500Z","source":"retry-after"}"#
        );
    }
}
