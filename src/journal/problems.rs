//! The messages that need a human: failed and uncertain ones, grouped by
//! reason and listed one by one, each list capped so a report of a
//! campaign where everything failed stays readable.
//!
//! Both queries find their rows through the `messages_by_state` index, so
//! they never read the pending majority of a running campaign.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::journal::error::JournalError;
use crate::journal::model::MessageState;
use crate::journal::sqlite::{SqliteStore, from_ns};

/// How many failed or uncertain messages share one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    pub state: MessageState,
    pub reason: Option<String>,
    pub count: u64,
}

/// The most common reasons per state, and what did not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reasons {
    /// Failed reasons first, then uncertain ones; most common first.
    pub top: Vec<ReasonCount>,
    /// Messages whose reason is not in `top`, by state.
    pub other_failed: u64,
    pub other_uncertain: u64,
}

/// A failed or uncertain message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemMessage {
    pub seq: u64,
    pub line: u64,
    pub recipient: String,
    pub account: String,
    pub state: MessageState,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

impl Reasons {
    /// The first `per_state` of `counts` (sorted by state, then most common
    /// first) of each state; the rest counted as other.
    pub(crate) fn keeping(counts: Vec<ReasonCount>, per_state: usize) -> Reasons {
        let mut reasons = Reasons::default();
        let (mut failed, mut uncertain) = (0, 0);
        for reason in counts {
            let (kept, other) = match reason.state {
                MessageState::Failed => (&mut failed, &mut reasons.other_failed),
                _ => (&mut uncertain, &mut reasons.other_uncertain),
            };
            if *kept < per_state {
                *kept += 1;
                reasons.top.push(reason);
            } else {
                *other += reason.count;
            }
        }
        reasons
    }
}

const REASONS: &str = "
    SELECT state, failure_reason, count(*) AS n FROM messages
    WHERE state IN ('failed', 'uncertain')
    GROUP BY state, failure_reason
    ORDER BY state, n DESC, failure_reason";

const PROBLEMS: &str = "
    SELECT seq, line, recipient, account, state, attempts, last_status, last_attempt_at_ns,
           failure_reason
    FROM messages
    WHERE state IN ('failed', 'uncertain')
    ORDER BY seq LIMIT ?1";

impl SqliteStore {
    /// Failed and uncertain messages counted by reason, keeping the
    /// `per_state` most common reasons of each state.
    pub fn problem_reasons(&self, per_state: usize) -> Result<Reasons, JournalError> {
        let err = || JournalError::sqlite(self.path(), "reading failure reasons");
        let mut select = self.conn().prepare_cached(REASONS).map_err(err())?;
        let mut rows = select.query([]).map_err(err())?;
        let mut counts = Vec::new();
        while let Some(row) = rows.next().map_err(err())? {
            counts.push(ReasonCount {
                state: row.get(0).map_err(err())?,
                reason: row.get(1).map_err(err())?,
                count: row.get(2).map_err(err())?,
            });
        }
        Ok(Reasons::keeping(counts, per_state))
    }

    /// The first `limit` failed or uncertain messages, in `seq` order.
    pub fn problem_messages(&self, limit: usize) -> Result<Vec<ProblemMessage>, JournalError> {
        let err = || JournalError::sqlite(self.path(), "reading failed messages");
        let mut select = self.conn().prepare_cached(PROBLEMS).map_err(err())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = select
            .query_map([limit], |row| {
                Ok(ProblemMessage {
                    seq: row.get(0)?,
                    line: row.get(1)?,
                    recipient: row.get(2)?,
                    account: row.get(3)?,
                    state: row.get(4)?,
                    attempts: row.get(5)?,
                    last_status: row.get(6)?,
                    last_attempt_at: row.get::<_, Option<i64>>(7)?.map(from_ns),
                    reason: row.get(8)?,
                })
            })
            .map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }
}
