//! The SQLite journal's queries for people: the `status` summary, the
//! streaming report and one message's attempts.
//!
//! `summary` never reads a message row: it scans the `(state, account,
//! planned_at_ns)` index, then reads one `account_stats` row and one
//! `messages_sent_by_account` entry per account.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, Row};

use crate::journal::error::JournalError;
use crate::journal::model::{AttemptRecord, MessageState, RateLimitSnapshot};
use crate::journal::report::{AccountSummary, ReportRow, StatusSummary, StepCounts};
use crate::journal::sqlite::from_ns;
use crate::journal::sqlite_read::stream_rows;

const STATE_COUNTS: &str = "
    SELECT account, state, count(*), min(planned_at_ns) FROM messages GROUP BY state, account";

const LAST_SENT: &str =
    "SELECT max(sent_at_ns) FROM messages WHERE account = ?1 AND state = 'sent'";

/// See [`crate::journal::SqliteStore::step_counts`].
pub fn step_counts(conn: &Connection, path: &Path) -> Result<Vec<StepCounts>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut steps: Vec<StepCounts> = Vec::new();
    let entry = |steps: &mut Vec<StepCounts>, step: u32| -> usize {
        let index = step.saturating_sub(1) as usize;
        while steps.len() <= index {
            let step = u32::try_from(steps.len() + 1).unwrap_or(u32::MAX);
            steps.push(StepCounts {
                step,
                ..StepCounts::default()
            });
        }
        index
    };
    let mut select = conn
        .prepare("SELECT step, state, count(*) FROM messages GROUP BY step, state")
        .map_err(sql("counting messages by step"))?;
    let rows = select
        .query_map([], |row| {
            Ok((
                row.get::<_, u32>(0)?,
                row.get::<_, MessageState>(1)?,
                row.get::<_, u64>(2)?,
            ))
        })
        .map_err(sql("counting messages by step"))?;
    for row in rows {
        let (step, state, count) = row.map_err(sql("counting messages by step"))?;
        let index = entry(&mut steps, step);
        steps[index].counts.add(state, count);
    }
    let mut waiting = conn
        .prepare(
            "SELECT m.step, count(*) FROM messages m JOIN messages p ON p.seq = m.previous_seq
             WHERE m.state = 'pending' AND p.state != 'sent' GROUP BY m.step",
        )
        .map_err(sql("counting waiting follow-ups"))?;
    let rows = waiting
        .query_map([], |row| Ok((row.get::<_, u32>(0)?, row.get::<_, u64>(1)?)))
        .map_err(sql("counting waiting follow-ups"))?;
    for row in rows {
        let (step, count) = row.map_err(sql("counting waiting follow-ups"))?;
        let index = entry(&mut steps, step);
        steps[index].waiting = count;
    }
    Ok(steps)
}

pub fn summary(conn: &Connection, path: &Path) -> Result<StatusSummary, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut accounts: BTreeMap<String, AccountSummary> = BTreeMap::new();
    let mut summary = StatusSummary::default();
    let mut counts = conn
        .prepare_cached(STATE_COUNTS)
        .map_err(sql("summarising the journal"))?;
    let mut rows = counts.query([]).map_err(sql("summarising the journal"))?;
    while let Some(row) = rows.next().map_err(sql("summarising the journal"))? {
        let (account, state, count, first_planned) = (|| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, MessageState>(1)?,
                row.get::<_, u64>(2)?,
                row.get::<_, Option<i64>>(3)?,
            ))
        })()
        .map_err(sql("summarising the journal"))?;
        summary.counts.add(state, count);
        let entry = accounts
            .entry(account)
            .or_insert_with_key(|account| AccountSummary {
                account: account.clone(),
                ..AccountSummary::default()
            });
        entry.counts.add(state, count);
        if state == MessageState::Pending {
            entry.next_planned = first_planned.map(from_ns);
        }
    }
    let mut last_sent = conn
        .prepare_cached(LAST_SENT)
        .map_err(sql("summarising the journal"))?;
    for entry in accounts.values_mut().filter(|entry| entry.counts.sent > 0) {
        entry.last_sent = last_sent
            .query_row([&entry.account], |row| row.get::<_, Option<i64>>(0))
            .map_err(sql("summarising the journal"))?
            .map(from_ns);
    }
    let mut stats = conn
        .prepare_cached(
            "SELECT account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error
             FROM account_stats",
        )
        .map_err(sql("summarising the journal"))?;
    let mut rows = stats.query([]).map_err(sql("summarising the journal"))?;
    while let Some(row) = rows.next().map_err(sql("summarising the journal"))? {
        let account: String = row.get(0).map_err(sql("summarising the journal"))?;
        // Stats without messages cannot happen; ignore them if they do.
        let Some(entry) = accounts.get_mut(&account) else {
            continue;
        };
        (|| {
            entry.throttled = row.get(1)?;
            entry.rate_limit_at = row.get::<_, Option<i64>>(5)?.map(from_ns);
            if entry.rate_limit_at.is_some() {
                entry.rate_limit = Some(RateLimitSnapshot {
                    limit: row.get(2)?,
                    remaining: row.get(3)?,
                    reset_at: row.get::<_, Option<i64>>(4)?.map(from_ns),
                });
            }
            entry.last_error = row.get(6)?;
            Ok(())
        })()
        .map_err(sql("summarising the journal"))?;
    }
    summary.accounts = accounts.into_values().collect();
    Ok(summary)
}

pub fn report_rows(
    conn: &Connection,
    path: &Path,
    f: &mut dyn FnMut(ReportRow) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    let select =
        "SELECT seq, line, recipient, account, state, attempts, last_status, planned_at_ns,
                sent_at_ns, api_message_id, failure_reason, step
         FROM messages ORDER BY seq";
    let report = |row: &Row<'_>| {
        Ok(ReportRow {
            seq: row.get(0)?,
            line: row.get(1)?,
            recipient: row.get(2)?,
            step: Some(row.get(11)?),
            account: row.get(3)?,
            state: row.get(4)?,
            attempts: row.get(5)?,
            last_status: row.get(6)?,
            planned_at: from_ns(row.get(7)?),
            sent_at: row.get::<_, Option<i64>>(8)?.map(from_ns),
            api_message_id: row.get(9)?,
            failure_reason: row.get(10)?,
        })
    };
    stream_rows(conn, path, select, "reading the report", report, f)
}

pub fn attempts(
    conn: &Connection,
    path: &Path,
    seq: u64,
) -> Result<Vec<AttemptRecord>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut select = conn
        .prepare_cached(
            "SELECT seq, at_ns, status, rl_limit, rl_remaining, rl_reset_at_ns, error
             FROM attempts WHERE seq = ?1 ORDER BY id",
        )
        .map_err(sql("reading attempts"))?;
    select
        .query_map([seq], |row| {
            let snapshot = RateLimitSnapshot {
                limit: row.get(3)?,
                remaining: row.get(4)?,
                reset_at: row.get::<_, Option<i64>>(5)?.map(from_ns),
            };
            Ok(AttemptRecord {
                seq: row.get(0)?,
                at: from_ns(row.get(1)?),
                status: row.get(2)?,
                rate_limit: (!snapshot.is_empty()).then_some(snapshot),
                error: row.get(6)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(sql("reading attempts"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::sqlite_read::tests::plan;

    #[test]
    fn every_query_uses_its_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::journal::schema::migrate(&mut conn, Path::new(":memory:"), 0).unwrap();
        let summary = plan(&conn, STATE_COUNTS);
        assert_eq!(
            summary,
            ["SCAN messages USING COVERING INDEX messages_by_state"]
        );
        let last_sent = plan(&conn, LAST_SENT);
        assert_eq!(
            last_sent,
            ["SEARCH messages USING COVERING INDEX messages_sent_by_account (account=?)"]
        );
    }
}
