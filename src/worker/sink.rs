//! What a worker says about its sends: counts for its periodic line, and
//! every event as JSON Lines with `--events`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

use crate::send::events::{Event, EventKind, EventSink, JsonLinesSink};

/// Counts the sends of every account run of a worker.
pub struct WorkerSink {
    sent: AtomicU64,
    failed: AtomicU64,
    uncertain: AtomicU64,
    throttled: AtomicU64,
    json: Option<JsonLinesSink>,
}

impl WorkerSink {
    pub fn new(events: Option<&Path>) -> anyhow::Result<WorkerSink> {
        let json = events
            .map(|path| {
                JsonLinesSink::create(path)
                    .with_context(|| format!("cannot open the events file {}", path.display()))
            })
            .transpose()?;
        Ok(WorkerSink {
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            uncertain: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            json,
        })
    }

    /// `17 account(s) held; 1234 sent, 0 failed, 2 uncertain, 3 throttled`.
    pub fn line(&self, held: usize) -> String {
        format!(
            "{held} account(s) held; {} sent, {} failed, {} uncertain, {} throttled since it started",
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.uncertain.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

impl EventSink for WorkerSink {
    fn emit(&self, event: &Event) {
        let counter = match event.kind {
            EventKind::Sent { .. } => Some(&self.sent),
            EventKind::Failed { .. } => Some(&self.failed),
            EventKind::Uncertain { .. } => Some(&self.uncertain),
            EventKind::Throttled { .. } => Some(&self.throttled),
            _ => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(json) = &self.json {
            json.emit(event);
        }
    }

    /// Each account's run ends on its own; the file is flushed as it goes.
    fn finish(&self) {}
}
