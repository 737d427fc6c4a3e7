//! The sandbox's memory: who may send, what was accepted, what was counted.
//!
//! Every request that gets past validation takes one short lock on the
//! ledger, which decides replay, throttle or accept in one step so that
//! two concurrent requests with the same `Idempotency-Key` can never both be
//! accepted. Accepted messages go to the [`MessageLog`], which the SMTP
//! server may share. Counters are atomics outside the lock. Nothing slow
//! (printing, serialising, sleeping) happens while the lock is held; a
//! provider personality builds its small success body inside it, so that a
//! replay returns exactly the response that was stored with the message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::faults::FaultDice;
use super::limiter::{Limiter, Quota, Verdict};
use super::message_log::MessageLog;
use super::rate_headers::HeaderDialect;
use super::replies::{KeyUse, StoredReply};
pub(crate) use super::replies::{KeyedRequest, Receipt, Reply};
use super::request::MessageRequest;
use super::settings::SandboxConfig;
use super::smtp::SmtpEnvelope;

/// A message the sandbox accepted, as `GET /_sandbox/messages` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedMessage {
    /// The id returned in the 201 response, `msg_000001` upwards.
    pub id: String,
    /// The account of the token that sent it.
    pub account: String,
    pub recipients: Vec<String>,
    /// `None` when the request had no subject (or `null`).
    pub subject: Option<String>,
    pub body: String,
    /// When it was accepted, to the millisecond.
    #[serde(serialize_with = "rfc3339_millis")]
    pub received_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    /// What only an e-mail has (envelope sender, Message-ID, the raw
    /// message); absent for messages posted to the HTTP API.
    /// Boxed: most messages in an HTTP-only run have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Box<SmtpEnvelope>>,
}

fn rfc3339_millis<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl AcceptedMessage {
    /// The stdout line: time, account, recipients, subject.
    pub fn log_line(&self) -> String {
        format!(
            "{}  {}  {}  {:?}",
            self.received_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            self.account,
            self.recipients.join(","),
            self.subject.as_deref().unwrap_or("")
        )
    }
}

/// Counters since start, as `GET /_sandbox/stats` returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Messages accepted and recorded (including those whose response was dropped).
    pub accepted: u64,
    /// 429 responses.
    pub throttled: u64,
    /// Idempotent replays of an earlier response.
    pub replayed: u64,
    /// 503 responses injected by `--fail-rate`.
    pub faults: u64,
    /// Accepted messages whose connection was then dropped (`--drop-rate`).
    pub dropped: u64,
    /// 400 responses.
    pub rejected: u64,
    /// 401 responses.
    pub unauthorized: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub throttled: AtomicU64,
    pub replayed: AtomicU64,
    pub faults: AtomicU64,
    pub dropped: AtomicU64,
    pub rejected: AtomicU64,
    pub unauthorized: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            accepted: get(&self.accepted),
            throttled: get(&self.throttled),
            replayed: get(&self.replayed),
            faults: get(&self.faults),
            dropped: get(&self.dropped),
            rejected: get(&self.rejected),
            unauthorized: get(&self.unauthorized),
        }
    }
}

/// What the ledger decided for one well-formed, authenticated request.
#[derive(Debug)]
pub(crate) enum Admission {
    Replayed {
        reply: Reply,
        quota: Quota,
    },
    Throttled {
        quota: Quota,
        retry_after: Duration,
    },
    /// The key was used before with a different body; nothing was counted.
    Conflict {
        quota: Quota,
    },
    Accepted {
        message: AcceptedMessage,
        quota: Quota,
        reply: Reply,
    },
}

struct Ledger {
    limiters: Vec<Limiter>,
    replies: HashMap<(usize, String), StoredReply>,
}

/// Everything the handlers share, behind one `Arc`. No `Debug`: it holds
/// the tokens.
pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub dialect: HeaderDialect,
    pub faults: FaultDice,
    pub counters: Counters,
    accounts: HashMap<String, usize>,
    ledger: Mutex<Ledger>,
    log: MessageLog,
}

impl Shared {
    pub fn new(config: SandboxConfig, log: MessageLog) -> Shared {
        let accounts = config
            .tokens
            .iter()
            .enumerate()
            .map(|(index, (_, token))| (token.clone(), index))
            .collect();
        let limiters = config
            .tokens
            .iter()
            .map(|_| Limiter::new(config.limit, config.window))
            .collect();
        Shared {
            dialect: config.dialect,
            faults: FaultDice::new(config.fault_rates(), config.seed),
            counters: Counters::default(),
            accounts,
            ledger: Mutex::new(Ledger {
                limiters,
                replies: HashMap::new(),
            }),
            log,
            config,
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock cannot leave the ledger half-updated
        // in a way that matters to a test server; keep serving.
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The index of the account that owns `token`.
    pub fn account_of(&self, token: &str) -> Option<usize> {
        self.accounts.get(token).copied()
    }

    /// The quota of an account right now, without counting a send.
    pub fn peek(&self, account: usize) -> Quota {
        let now = Instant::now();
        self.ledger().limiters[account].peek(now)
    }

    /// Replay, throttle or accept one message of the default API, atomically.
    pub fn admit(
        &self,
        account: usize,
        request: MessageRequest,
        key: Option<String>,
        wall_now: SystemTime,
    ) -> Admission {
        let keyed = key.map(|key| KeyedRequest::new(key, None));
        self.admit_as(account, request, keyed, wall_now, |sequence| {
            let id = format!("msg_{sequence:06}");
            Receipt {
                reply: Reply::new(StatusCode::CREATED, created_body(&id)),
                id,
            }
        })
    }

    /// Replay, refuse a conflicting key, throttle or accept one message,
    /// atomically. `receipt` names and answers a new message given its
    /// sequence number (1 upwards); it runs under the lock, so keep it small.
    pub fn admit_as(
        &self,
        account: usize,
        request: MessageRequest,
        keyed: Option<KeyedRequest>,
        wall_now: SystemTime,
        receipt: impl FnOnce(u64) -> Receipt,
    ) -> Admission {
        let mut ledger = self.ledger();
        let now = Instant::now();
        if let Some(keyed) = &keyed
            && let Some(stored) = ledger.replies.get(&(account, keyed.key.clone()))
        {
            let key_use = stored.key_use(keyed);
            let reply = stored.reply.clone();
            let quota = ledger.limiters[account].peek(now);
            drop(ledger);
            if key_use == KeyUse::Conflict {
                bump(&self.counters.rejected);
                return Admission::Conflict { quota };
            }
            bump(&self.counters.replayed);
            return Admission::Replayed { reply, quota };
        }
        let quota = match ledger.limiters[account].acquire(now) {
            Verdict::Allowed(quota) => quota,
            Verdict::Throttled { quota, retry_after } => {
                drop(ledger);
                bump(&self.counters.throttled);
                return Admission::Throttled { quota, retry_after };
            }
        };
        // Recorded while the ledger is locked, so a replay can never see
        // the key without the message.
        let mut stored_reply = None;
        let message = self.log.record(|sequence| {
            let Receipt { id, reply } = receipt(sequence);
            stored_reply = Some(reply);
            AcceptedMessage {
                id,
                account: self.config.tokens[account].0.clone(),
                recipients: request.recipients,
                subject: request.subject,
                body: request.body,
                received_at: DateTime::<Utc>::from(wall_now).trunc_subsecs(3),
                idempotency_key: keyed.as_ref().map(|keyed| keyed.key.clone()),
                smtp: None,
            }
        });
        // `record` calls `build` exactly once.
        let reply = stored_reply
            .unwrap_or_else(|| Reply::new(StatusCode::CREATED, created_body(&message.id)));
        if let Some(KeyedRequest { key, fingerprint }) = keyed {
            let stored = StoredReply::new(reply.clone(), fingerprint);
            ledger.replies.insert((account, key), stored);
        }
        drop(ledger);
        bump(&self.counters.accepted);
        Admission::Accepted {
            message,
            quota,
            reply,
        }
    }

    /// Every message in the log, including those of an SMTP server that shares it.
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.log.messages()
    }

    pub fn log(&self) -> &MessageLog {
        &self.log
    }

    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

/// The 201 body for a new message.
pub(crate) fn created_body(id: &str) -> String {
    serde_json::json!({ "id": id }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(to: &str) -> MessageRequest {
        MessageRequest {
            recipients: vec![to.to_string()],
            subject: Some("Hi".into()),
            body: "Hello".into(),
        }
    }

    fn shared(limit: &str) -> Shared {
        Shared::new(
            SandboxConfig {
                limit: limit.parse().unwrap(),
                tokens: vec![("a".into(), "ta".into()), ("b".into(), "tb".into())],
                ..SandboxConfig::default()
            },
            MessageLog::new(),
        )
    }

    #[test]
    fn accepts_then_throttles_per_account() {
        let state = shared("2/h");
        let now = SystemTime::now();
        let a = state.account_of("ta").unwrap();
        let b = state.account_of("tb").unwrap();
        assert!(state.account_of("nope").is_none());
        for _ in 0..2 {
            assert!(matches!(
                state.admit(a, request("x"), None, now),
                Admission::Accepted { .. }
            ));
        }
        assert!(matches!(
            state.admit(a, request("x"), None, now),
            Admission::Throttled { .. }
        ));
        assert!(matches!(
            state.admit(b, request("y"), None, now),
            Admission::Accepted { .. }
        ));
        let ids: Vec<String> = state.messages().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["msg_000001", "msg_000002", "msg_000003"]);
        let stats = state.stats();
        assert_eq!((stats.accepted, stats.throttled), (3, 1));
    }

    #[test]
    fn replays_are_per_account_and_free() {
        let state = shared("1/h");
        let now = SystemTime::now();
        let key = || Some("k1".to_string());
        let Admission::Accepted { message, .. } = state.admit(0, request("x"), key(), now) else {
            panic!("first send must be accepted");
        };
        let Admission::Replayed { reply, quota } = state.admit(0, request("x"), key(), now) else {
            panic!("same key must replay");
        };
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.body, created_body(&message.id));
        assert_eq!(quota.remaining, 0);
        // The same key from another account is a different message.
        assert!(matches!(
            state.admit(1, request("x"), key(), now),
            Admission::Accepted { .. }
        ));
        assert_eq!(state.messages().len(), 2);
        assert_eq!(state.stats().replayed, 1);
    }

    #[test]
    fn a_key_with_another_fingerprint_conflicts_and_counts_nothing() {
        let state = shared("5/h");
        let now = SystemTime::now();
        let keyed = |fingerprint| Some(KeyedRequest::new("k", Some(fingerprint)));
        let receipt = |sequence: u64| Receipt {
            id: format!("p-{sequence}"),
            reply: Reply::new(StatusCode::OK, format!("p-{sequence}")),
        };
        let first = state.admit_as(0, request("x"), keyed(1), now, receipt);
        assert!(matches!(first, Admission::Accepted { ref message, .. } if message.id == "p-1"));
        let again = state.admit_as(0, request("x"), keyed(1), now, receipt);
        assert!(matches!(again, Admission::Replayed { ref reply, .. } if reply.body == "p-1"));
        let other = state.admit_as(0, request("y"), keyed(2), now, receipt);
        assert!(matches!(other, Admission::Conflict { quota } if quota.remaining == 4));
        assert_eq!(state.messages().len(), 1);
        let stats = state.stats();
        assert_eq!((stats.accepted, stats.replayed, stats.rejected), (1, 1, 1));
    }

    #[test]
    fn throttled_requests_do_not_store_their_key() {
        let state = shared("1/h");
        let now = SystemTime::now();
        assert!(matches!(
            state.admit(0, request("x"), None, now),
            Admission::Accepted { .. }
        ));
        let key = Some("later".to_string());
        assert!(matches!(
            state.admit(0, request("x"), key.clone(), now),
            Admission::Throttled { .. }
        ));
        assert!(matches!(
            state.admit(0, request("x"), key, now),
            Admission::Throttled { .. }
        ));
    }

    #[test]
    fn messages_serialise_with_millisecond_times() {
        let message = AcceptedMessage {
            id: "msg_000001".into(),
            account: "demo".into(),
            recipients: vec!["a@x.io".into()],
            subject: None,
            body: "b".into(),
            received_at: "2024-05-01T12:00:00.250Z".parse().unwrap(),
            idempotency_key: None,
            smtp: None,
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["received_at"], "2024-05-01T12:00:00.250Z");
        assert_eq!(json["subject"], serde_json::Value::Null);
        let back: AcceptedMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, message);
        assert_eq!(
            message.log_line(),
            "2024-05-01T12:00:00.250Z  demo  a@x.io  \"\""
        );
    }
}
