//! The SMTP sandbox's memory: limits per sender, Message-IDs seen, counters.
//!
//! The same pieces as the HTTP ledger, reused rather than copied: a
//! [`Limiter`] per user (or envelope sender), the seeded [`FaultDice`], and
//! the shared [`MessageLog`]. Recording a message and deciding whether its
//! Message-ID was seen before happen under one lock, so two connections
//! delivering the same message at once count exactly one duplicate.
//! Counters are atomics outside the lock.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::envelope::{SmtpEnvelope, Summary};
use super::settings::{SmtpConfig, SmtpUser};
use crate::faults::FaultDice;
use crate::ledger::AcceptedMessage;
use crate::limiter::{Limiter, Verdict};
use crate::message_log::MessageLog;

/// Counters since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SmtpStats {
    /// Messages recorded (including those whose reply was dropped).
    pub accepted: u64,
    /// Recorded messages whose Message-ID an earlier message had.
    pub duplicates: u64,
    /// Messages refused for being over the limit (421 or 451 4.7.1).
    pub throttled: u64,
    /// Messages refused by `--fail-rate` (451 4.3.0).
    pub faults: u64,
    /// Recorded messages whose connection was then dropped without a reply.
    pub dropped: u64,
    /// Recipients refused with 550 5.1.1 (`--smtp-reject`).
    pub rejected_recipients: u64,
    /// Failed logins (535).
    pub auth_failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    throttled: AtomicU64,
    faults: AtomicU64,
    dropped: AtomicU64,
    rejected_recipients: AtomicU64,
    auth_failures: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What happens to a message that has just named its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// `--fail-rate` refuses it; nothing was counted.
    Fail,
    /// Over the sender's limit; nothing was counted.
    Throttled { retry_after: Duration },
    /// Go on; wait `delay` before replying, and drop the connection after
    /// its DATA if `drop`.
    Open { delay: Duration, drop: bool },
}

/// A complete message, ready to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub account: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub tls: bool,
    pub raw: Vec<u8>,
}

#[derive(Default)]
struct Book {
    limiters: HashMap<String, Limiter>,
    /// Message-ID → id of the first message that had it.
    first_with_message_id: HashMap<String, String>,
}

/// Everything the connections share, behind one `Arc`.
pub(crate) struct SmtpShared {
    pub config: SmtpConfig,
    dice: FaultDice,
    counters: Counters,
    book: Mutex<Book>,
    log: MessageLog,
}

impl SmtpShared {
    pub fn new(config: SmtpConfig, log: MessageLog) -> SmtpShared {
        SmtpShared {
            dice: FaultDice::new(config.fault_rates(), config.seed),
            counters: Counters::default(),
            book: Mutex::new(Book::default()),
            log,
            config,
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while holding the lock leaves at worst one count off; a
        // test server should keep serving.
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn log(&self) -> &MessageLog {
        &self.log
    }

    /// The user these credentials log in as; counts a failure otherwise.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<String> {
        let found = self.config.users.iter().find(
            |SmtpUser {
                 name: n,
                 password: p,
             }| n == name && p == password,
        );
        if found.is_none() {
            bump(&self.counters.auth_failures);
        }
        found.map(|user| user.name.clone())
    }

    /// Whether `--smtp-reject` refuses this recipient (counted if so).
    pub fn rejects(&self, recipient: &str) -> bool {
        let rejected = self.config.reject.iter().any(|p| p.matches(recipient));
        if rejected {
            bump(&self.counters.rejected_recipients);
        }
        rejected
    }

    /// Whether `--smtp-drop` names one of these recipients.
    pub fn drops_any(&self, recipients: &[String]) -> bool {
        recipients
            .iter()
            .any(|to| self.config.drop.iter().any(|p| p.matches(to)))
    }

    /// Draw this message's faults (three draws, always), then count it
    /// against `account`'s limit at `now`.
    pub fn open(&self, account: &str, now: Instant) -> Opening {
        let fault = self.dice.draw();
        if fault.fail {
            bump(&self.counters.faults);
            return Opening::Fail;
        }
        let verdict = {
            let mut book = self.book();
            let limiter = match book.limiters.entry(account.to_string()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    entry.insert(Limiter::new(self.config.limit, self.config.window))
                }
            };
            limiter.acquire(now)
        };
        match verdict {
            Verdict::Allowed(_) => Opening::Open {
                delay: fault.delay,
                drop: fault.drop,
            },
            Verdict::Throttled { retry_after, .. } => {
                bump(&self.counters.throttled);
                Opening::Throttled { retry_after }
            }
        }
    }

    /// Record a message received at `wall_now`, noting a repeated Message-ID.
    pub fn record(
        &self,
        delivery: Delivery,
        summary: Summary,
        wall_now: SystemTime,
    ) -> AcceptedMessage {
        let received_at = DateTime::<Utc>::from(wall_now).trunc_subsecs(3);
        let raw = String::from_utf8_lossy(&delivery.raw).into_owned();
        let mut book = self.book();
        let duplicate_of = summary
            .message_id
            .as_ref()
            .and_then(|id| book.first_with_message_id.get(id).cloned());
        let message = self.log.record(|sequence| AcceptedMessage {
            id: crate::message_log::default_id(sequence),
            account: delivery.account,
            recipients: delivery.recipients,
            subject: summary.subject,
            body: summary.body,
            received_at,
            idempotency_key: None,
            smtp: Some(Box::new(SmtpEnvelope {
                mail_from: delivery.mail_from,
                message_id: summary.message_id.clone(),
                duplicate_of: duplicate_of.clone(),
                tls: delivery.tls,
                raw,
            })),
        });
        if let Some(message_id) = summary.message_id {
            book.first_with_message_id
                .entry(message_id)
                .or_insert_with(|| message.id.clone());
        }
        drop(book);
        bump(&self.counters.accepted);
        if duplicate_of.is_some() {
            bump(&self.counters.duplicates);
        }
        message
    }

    pub fn note_dropped(&self) {
        bump(&self.counters.dropped);
    }

    pub fn stats(&self) -> SmtpStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let c = &self.counters;
        SmtpStats {
            accepted: get(&c.accepted),
            duplicates: get(&c.duplicates),
            throttled: get(&c.throttled),
            faults: get(&c.faults),
            dropped: get(&c.dropped),
            rejected_recipients: get(&c.rejected_recipients),
            auth_failures: get(&c.auth_failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(limit: &str) -> SmtpShared {
        SmtpShared::new(
            SmtpConfig {
                limit: limit.parse().unwrap(),
                users: vec![SmtpUser::new("alice", "pw")],
                reject: vec!["*@bounce.test".parse().unwrap()],
                drop: vec!["lost@*".parse().unwrap()],
                ..SmtpConfig::default()
            },
            MessageLog::new(),
        )
    }

    fn delivery(to: &str) -> Delivery {
        Delivery {
            account: "alice".into(),
            mail_from: "a@x.io".into(),
            recipients: vec![to.into()],
            tls: false,
            raw: b"Subject: s\r\n\r\nb\r\n".to_vec(),
        }
    }

    fn summary(message_id: Option<&str>) -> Summary {
        Summary {
            subject: Some("s".into()),
            message_id: message_id.map(String::from),
            body: "b".into(),
        }
    }

    #[test]
    fn limits_are_per_account_and_throttles_are_not_counted() {
        let state = shared("2/s");
        let t0 = Instant::now();
        let open = Opening::Open {
            delay: Duration::ZERO,
            drop: false,
        };
        assert_eq!(state.open("alice", t0), open);
        assert_eq!(state.open("alice", t0), open);
        assert_eq!(
            state.open("alice", t0 + Duration::from_millis(250)),
            Opening::Throttled {
                retry_after: Duration::from_millis(750)
            }
        );
        assert_eq!(state.open("bob@x.io", t0), open);
        assert_eq!(state.open("alice", t0 + Duration::from_secs(1)), open);
        assert_eq!(state.stats().throttled, 1);
    }

    #[test]
    fn repeated_message_ids_are_duplicates_of_the_first() {
        let state = shared("100/s");
        let now = SystemTime::now();
        let first = state.record(delivery("b@y.io"), summary(Some("<k@o>")), now);
        let other = state.record(delivery("c@y.io"), summary(Some("<j@o>")), now);
        let again = state.record(delivery("b@y.io"), summary(Some("<k@o>")), now);
        let third = state.record(delivery("b@y.io"), summary(Some("<k@o>")), now);
        let none = state.record(delivery("b@y.io"), summary(None), now);
        let duplicate_of = |m: &AcceptedMessage| m.smtp.as_ref().unwrap().duplicate_of.clone();
        assert_eq!(duplicate_of(&first), None);
        assert_eq!(duplicate_of(&other), None);
        assert_eq!(duplicate_of(&again).as_deref(), Some(first.id.as_str()));
        assert_eq!(duplicate_of(&third).as_deref(), Some(first.id.as_str()));
        assert_eq!(duplicate_of(&none), None);
        let stats = state.stats();
        assert_eq!((stats.accepted, stats.duplicates), (5, 2));
        assert_eq!(state.log().len(), 5);
    }

    #[test]
    fn users_patterns_and_their_counters() {
        let state = shared("1/s");
        assert_eq!(state.authenticate("alice", "pw").as_deref(), Some("alice"));
        assert_eq!(state.authenticate("alice", "PW"), None);
        assert_eq!(state.authenticate("mallory", "pw"), None);
        assert!(state.rejects("x@bounce.test"));
        assert!(!state.rejects("x@bounce.test.org"));
        assert!(state.drops_any(&["ok@a.io".into(), "lost@b.io".into()]));
        assert!(!state.drops_any(&["ok@a.io".into()]));
        let stats = state.stats();
        assert_eq!((stats.auth_failures, stats.rejected_recipients), (2, 1));
    }

    #[test]
    fn injected_failures_use_no_slot() {
        let state = SmtpShared::new(
            SmtpConfig {
                limit: "1/h".parse().unwrap(),
                fail_rate: 1.0,
                ..SmtpConfig::default()
            },
            MessageLog::new(),
        );
        let now = Instant::now();
        assert_eq!(state.open("a", now), Opening::Fail);
        assert_eq!(state.open("a", now), Opening::Fail);
        assert_eq!(state.stats().faults, 2);
        assert_eq!(state.stats().throttled, 0);
    }
}
