//! The HTML report's pauses, delays and failure lists for a campaign in
//! PostgreSQL: the same views as [`waits`](super::waits) and
//! [`problems`](super::problems) for SQLite, built by the same helpers so
//! the page shows the same numbers from either store.
//!
//! Text is ordered with `COLLATE "C"` and NULL reasons first, as SQLite
//! orders them (byte order, NULL smallest), whatever the database's locale.

use std::collections::HashMap;

use chrono::TimeDelta;

use crate::journal::error::JournalError;
use crate::journal::pg::Ctx;
use crate::journal::pg_conn::Session;
use crate::journal::pg_write::parse_state;
use crate::journal::problems::{ProblemMessage, ReasonCount, Reasons};
use crate::journal::sqlite::from_ns;
use crate::journal::timeline::span;
use crate::journal::waits::{AccountDelays, Pause};

const PAUSES: &str = "
    SELECT account, at_ns, status, rl_reset_at_ns, next_ns FROM (
        SELECT m.account, a.at_ns, a.status, a.rl_remaining, a.rl_reset_at_ns,
               lead(a.at_ns) OVER (PARTITION BY m.account ORDER BY a.at_ns, a.id) AS next_ns,
               a.id
        FROM attempts a JOIN messages m ON m.campaign = a.campaign AND m.seq = a.seq
        WHERE a.campaign = $1) AS p
    WHERE status = 429 OR (rl_remaining = 0 AND status BETWEEN 200 AND 299)
    ORDER BY account COLLATE \"C\", at_ns, id";

const PLANNED_BY_ACCOUNT: &str = "
    SELECT account, min(planned_at_ns), max(planned_at_ns), min(sent_at_ns), max(sent_at_ns)
    FROM messages WHERE campaign = $1 AND state <> 'skipped' GROUP BY account";

const ATTEMPTED_BY_ACCOUNT: &str = "
    SELECT m.account, min(a.at_ns), max(a.at_ns)
    FROM attempts a JOIN messages m ON m.campaign = a.campaign AND m.seq = a.seq
    WHERE a.campaign = $1 GROUP BY m.account";

const DELAYS: &str = "
    SELECT account, sent_at_ns - planned_at_ns FROM messages
    WHERE campaign = $1 AND state = 'sent'";

const REASONS: &str = "
    SELECT state, failure_reason, count(*) AS n FROM messages
    WHERE campaign = $1 AND state IN ('failed', 'uncertain')
    GROUP BY state, failure_reason
    ORDER BY state, n DESC, failure_reason COLLATE \"C\" NULLS FIRST";

const PROBLEMS: &str = "
    SELECT seq, line, recipient, account, state, attempts, last_status, last_attempt_at_ns,
           failure_reason
    FROM messages
    WHERE campaign = $1 AND state IN ('failed', 'uncertain')
    ORDER BY seq LIMIT $2";

/// See [`SqliteStore::pauses`](super::SqliteStore::pauses).
pub fn pauses(session: &mut Session, ctx: &Ctx) -> Result<Vec<Pause>, JournalError> {
    let rows = session
        .client
        .query(PAUSES, &[&ctx.campaign])
        .map_err(ctx.pg("reading the pauses"))?;
    Ok(rows
        .iter()
        .map(|row| {
            Pause::after(
                row.get(0),
                row.get(1),
                row.get::<_, Option<i32>>(2).map(|status| status as u16),
                row.get(3),
                row.get(4),
            )
        })
        .collect())
}

/// See [`SqliteStore::account_delays`](super::SqliteStore::account_delays).
pub fn account_delays(
    session: &mut Session,
    ctx: &Ctx,
) -> Result<Vec<AccountDelays>, JournalError> {
    let err = || ctx.pg("reading delays");
    let client = &mut session.client;
    let mut accounts: HashMap<String, AccountDelays> = HashMap::new();
    for row in client
        .query(PLANNED_BY_ACCOUNT, &[&ctx.campaign])
        .map_err(err())?
    {
        let account: String = row.get(0);
        let ns = |i: usize| row.get::<_, Option<i64>>(i);
        let delays =
            AccountDelays::planned(account.clone(), span(ns(1), ns(2)), span(ns(3), ns(4)));
        accounts.insert(account, delays);
    }
    for row in client
        .query(ATTEMPTED_BY_ACCOUNT, &[&ctx.campaign])
        .map_err(err())?
    {
        if let Some(entry) = accounts.get_mut(row.get::<_, &str>(0)) {
            entry.attempted = span(row.get(1), row.get(2));
        }
    }
    for row in client.query(DELAYS, &[&ctx.campaign]).map_err(err())? {
        if let Some(entry) = accounts.get_mut(row.get::<_, &str>(0)) {
            entry.delays.push(TimeDelta::nanoseconds(row.get(1)));
        }
    }
    Ok(AccountDelays::sorted(accounts))
}

/// See [`SqliteStore::problem_reasons`](super::SqliteStore::problem_reasons).
pub fn problem_reasons(
    session: &mut Session,
    ctx: &Ctx,
    per_state: usize,
) -> Result<Reasons, JournalError> {
    let rows = session
        .client
        .query(REASONS, &[&ctx.campaign])
        .map_err(ctx.pg("reading failure reasons"))?;
    let counts = rows
        .iter()
        .map(|row| ReasonCount {
            state: parse_state(row.get(0)),
            reason: row.get(1),
            count: row.get::<_, i64>(2) as u64,
        })
        .collect();
    Ok(Reasons::keeping(counts, per_state))
}

/// See [`SqliteStore::problem_messages`](super::SqliteStore::problem_messages).
pub fn problem_messages(
    session: &mut Session,
    ctx: &Ctx,
    limit: usize,
) -> Result<Vec<ProblemMessage>, JournalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = session
        .client
        .query(PROBLEMS, &[&ctx.campaign, &limit])
        .map_err(ctx.pg("reading failed messages"))?;
    Ok(rows
        .iter()
        .map(|row| ProblemMessage {
            seq: row.get::<_, i64>(0) as u64,
            line: row.get::<_, i64>(1) as u64,
            recipient: row.get(2),
            account: row.get(3),
            state: parse_state(row.get(4)),
            attempts: row.get::<_, i32>(5) as u32,
            last_status: row.get::<_, Option<i32>>(6).map(|status| status as u16),
            last_attempt_at: row.get::<_, Option<i64>>(7).map(from_ns),
            reason: row.get(8),
        })
        .collect())
}
