//! The one list of received messages, shared by the HTTP API and the SMTP server.
//!
//! When `outreach sandbox --smtp` runs both servers, a message is a message
//! whichever way it arrived: it gets the next `msg_NNNNNN` id and appears in
//! `GET /_sandbox/messages` in arrival order. Each server keeps its own
//! limits and counters; only this list is shared, behind one short lock.
//! Callers that must decide and record atomically (an idempotency key, a
//! Message-ID seen before) hold their own lock around [`MessageLog::record`].

use std::sync::{Arc, Mutex, MutexGuard};

use super::ledger::AcceptedMessage;

/// A cheap handle on the shared list; clones see the same messages.
#[derive(Clone, Default)]
pub struct MessageLog {
    messages: Arc<Mutex<Vec<AcceptedMessage>>>,
}

impl MessageLog {
    /// An empty log.
    pub fn new() -> MessageLog {
        MessageLog::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<AcceptedMessage>> {
        // A panic while holding the lock leaves at worst a message missing;
        // a test server should keep serving.
        self.messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Append the message `build` makes from the next sequence number (1
    /// upwards; [`default_id`] makes the sandbox's own `msg_000001` ids
    /// from it, a provider its own), and return it.
    pub(crate) fn record(&self, build: impl FnOnce(u64) -> AcceptedMessage) -> AcceptedMessage {
        let mut messages = self.lock();
        let sequence = u64::try_from(messages.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let message = build(sequence);
        messages.push(message.clone());
        message
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.lock().clone()
    }

    /// How many messages were recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Nothing recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sandbox's own id of the message with `sequence`: `msg_000001`.
pub fn default_id(sequence: u64) -> String {
    format!("msg_{sequence:06}")
}

impl std::fmt::Debug for MessageLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageLog")
            .field("messages", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(id: String, to: &str) -> AcceptedMessage {
        AcceptedMessage {
            id,
            account: "a".into(),
            recipients: vec![to.into()],
            subject: None,
            body: "b".into(),
            received_at: Utc::now(),
            idempotency_key: None,
            smtp: None,
        }
    }

    #[test]
    fn clones_share_one_numbered_list() {
        let log = MessageLog::new();
        let other = log.clone();
        assert!(log.is_empty());
        let first = log.record(|seq| message(default_id(seq), "x@a.io"));
        let second = other.record(|seq| message(default_id(seq), "y@a.io"));
        assert_eq!(
            (first.id.as_str(), second.id.as_str()),
            ("msg_000001", "msg_000002")
        );
        let ids: Vec<String> = log.messages().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["msg_000001", "msg_000002"]);
        assert_eq!(format!("{other:?}"), "MessageLog { messages: 2 }");
    }
}
