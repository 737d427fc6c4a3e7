//! How long accounts waited and how late they sent: pauses after a 429 or a
//! used-up quota, and each send's delay behind its planned time.
//!
//! Unlike the series of [`timeline`](super::timeline), these are returned
//! as they are, not per time slice: one pause per 429 or `Remaining: 0` (a
//! few thousand at most), one delay per sent message.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::journal::error::JournalError;
use crate::journal::sqlite::{SqliteStore, from_ns};
use crate::journal::timeline::{Span, span, sql};

/// Why an account waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseCause {
    /// The server answered 429 Too Many Requests.
    Throttled,
    /// A successful response said `Remaining: 0`.
    QuotaUsedUp,
}

/// A wait of one account: from a 429 (or `Remaining: 0`) to its next
/// attempt, or to the announced reset if that came first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pause {
    pub account: String,
    pub from: DateTime<Utc>,
    /// `None` when nothing followed and no reset time was announced: the
    /// account is still waiting, or the run stopped there.
    pub until: Option<DateTime<Utc>>,
    pub cause: PauseCause,
}

/// How one account's sends compare with its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountDelays {
    pub account: String,
    /// Planned times of its messages (skipped ones left out).
    pub planned: Option<Span>,
    /// First and last recorded attempt.
    pub attempted: Option<Span>,
    /// First and last send.
    pub sent: Option<Span>,
    /// `sent_at - planned_at` of its sent messages, sorted ascending.
    pub delays: Vec<TimeDelta>,
}

const PAUSES: &str = "
    SELECT account, at_ns, status, rl_reset_at_ns, next_ns FROM (
        SELECT m.account, a.at_ns, a.status, a.rl_remaining, a.rl_reset_at_ns,
               lead(a.at_ns) OVER (PARTITION BY m.account ORDER BY a.at_ns, a.id) AS next_ns
        FROM attempts a JOIN messages m ON m.seq = a.seq)
    WHERE status = 429 OR (rl_remaining = 0 AND status BETWEEN 200 AND 299)
    ORDER BY account, at_ns";

const PLANNED_BY_ACCOUNT: &str = "
    SELECT account, min(planned_at_ns), max(planned_at_ns), min(sent_at_ns), max(sent_at_ns)
    FROM messages WHERE state <> 'skipped' GROUP BY account";

const ATTEMPTED_BY_ACCOUNT: &str = "
    SELECT m.account, min(a.at_ns), max(a.at_ns)
    FROM attempts a JOIN messages m ON m.seq = a.seq GROUP BY m.account";

const DELAYS: &str = "
    SELECT account, sent_at_ns - planned_at_ns FROM messages WHERE state = 'sent'";

impl SqliteStore {
    /// Every pause of every account, by account, then time.
    pub fn pauses(&self) -> Result<Vec<Pause>, JournalError> {
        let err = || sql(self, "reading the pauses");
        let mut select = self.conn().prepare_cached(PAUSES).map_err(err())?;
        let rows = select
            .query_map([], |row| {
                Ok(Pause::after(
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }

    /// Per account: planned, attempted and sent spans and every send's delay
    /// behind plan, sorted by account name.
    pub fn account_delays(&self) -> Result<Vec<AccountDelays>, JournalError> {
        let conn = self.conn();
        let err = || sql(self, "reading delays");
        let mut accounts: HashMap<String, AccountDelays> = HashMap::new();
        let mut select = conn.prepare_cached(PLANNED_BY_ACCOUNT).map_err(err())?;
        let mut rows = select.query([]).map_err(err())?;
        while let Some(row) = rows.next().map_err(err())? {
            let account: String = row.get(0).map_err(err())?;
            let ns = |i| row.get::<_, Option<i64>>(i).map_err(err());
            let delays =
                AccountDelays::planned(account.clone(), span(ns(1)?, ns(2)?), span(ns(3)?, ns(4)?));
            accounts.insert(account, delays);
        }
        let mut select = conn.prepare_cached(ATTEMPTED_BY_ACCOUNT).map_err(err())?;
        let mut rows = select.query([]).map_err(err())?;
        while let Some(row) = rows.next().map_err(err())? {
            let account: String = row.get(0).map_err(err())?;
            if let Some(entry) = accounts.get_mut(&account) {
                let ns = |i| row.get::<_, Option<i64>>(i).map_err(err());
                entry.attempted = span(ns(1)?, ns(2)?);
            }
        }
        let mut select = conn.prepare_cached(DELAYS).map_err(err())?;
        let mut rows = select.query([]).map_err(err())?;
        while let Some(row) = rows.next().map_err(err())? {
            let account: String = row.get(0).map_err(err())?;
            let delay: i64 = row.get(1).map_err(err())?;
            if let Some(entry) = accounts.get_mut(&account) {
                entry.delays.push(TimeDelta::nanoseconds(delay));
            }
        }
        Ok(AccountDelays::sorted(accounts))
    }
}

impl Pause {
    /// The pause after an attempt at `from` (ns) with `status`: until the
    /// account's `next` attempt, or the announced `reset` if that is later
    /// than `from` and sooner than `next`.
    pub(crate) fn after(
        account: String,
        from: i64,
        status: Option<u16>,
        reset: Option<i64>,
        next: Option<i64>,
    ) -> Pause {
        let reset = reset.filter(|&reset| reset > from);
        let until = match (next, reset) {
            (Some(next), Some(reset)) => Some(next.min(reset)),
            (next, reset) => next.or(reset),
        };
        Pause {
            account,
            from: from_ns(from),
            until: until.map(from_ns),
            cause: if status == Some(429) {
                PauseCause::Throttled
            } else {
                PauseCause::QuotaUsedUp
            },
        }
    }
}

impl AccountDelays {
    /// An account with its planned and sent spans, before attempts and
    /// delays are added.
    pub(crate) fn planned(account: String, planned: Option<Span>, sent: Option<Span>) -> Self {
        AccountDelays {
            account,
            planned,
            attempted: None,
            sent,
            delays: Vec::new(),
        }
    }

    /// Every account, delays sorted ascending, accounts by name.
    pub(crate) fn sorted(accounts: HashMap<String, AccountDelays>) -> Vec<AccountDelays> {
        let mut all: Vec<AccountDelays> = accounts.into_values().collect();
        for entry in &mut all {
            entry.delays.sort_unstable();
        }
        all.sort_by(|a, b| a.account.cmp(&b.account));
        all
    }
}
