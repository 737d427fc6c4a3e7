//! The PostgreSQL store's reads: the campaign, messages by state, the sends
//! inside a rate window, and the views behind `status` and `report`.
//!
//! Streams (`report_rows`, `row_digests`) are read in pages of
//! [`PAGE`] messages by `seq` (keyset pagination), each page one query, so
//! a campaign of a million messages is never held in memory and the
//! connection's thread is never held by a slow consumer. Unlike SQLite's
//! single statement, pages are separate snapshots: a report of a campaign
//! being sent shows each message as it was when its page was read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use postgres::Row;

use crate::journal::error::JournalError;
use crate::journal::model::{
    AttemptRecord, CampaignMeta, InputDigest, MessageState, NewMessage, PreviousStep,
    RateLimitSnapshot, SequencePlace, StoredMessage,
};
use crate::journal::pg::{CampaignListing, Ctx};
use crate::journal::pg_conn::Session;
use crate::journal::pg_write::{parse_state, seq_param, state_name};
use crate::journal::report::{AccountSummary, ReportRow, RowDigest, StatusSummary, StepCounts};
use crate::journal::sqlite::{from_ns, to_ns};

/// Messages per page of a streamed read.
pub(crate) const PAGE: i64 = 5_000;

pub fn campaign(session: &mut Session, ctx: &Ctx) -> Result<CampaignMeta, JournalError> {
    let client = &mut session.client;
    let row = client
        .query_one(
            "SELECT campaign_id, created_at_ns, csv_path, fingerprint, options_json, tool_version
             FROM campaigns WHERE id = $1",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("reading the campaign"))?;
    let inputs = client
        .query(
            "SELECT path, blake3 FROM campaign_inputs WHERE campaign = $1 ORDER BY position",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("reading the campaign"))?
        .iter()
        .map(|row| InputDigest {
            path: row.get(0),
            blake3: row.get(1),
        })
        .collect();
    Ok(CampaignMeta {
        campaign_id: row.get(0),
        created_at: from_ns(row.get(1)),
        csv_path: row.get(2),
        fingerprint: row.get(3),
        inputs,
        options_json: row.get(4),
        tool_version: row.get(5),
    })
}

const MESSAGE_COLUMNS: &str = "seq, line, recipient, account, subject, body, idempotency_key, \
     planned_at_ns, row_digest, state, attempts, last_attempt_at_ns, last_status, sent_at_ns, \
     api_message_id, failure_reason, timezone, html, fields_json, step, previous_seq, priority";

fn stored_message(row: &Row) -> StoredMessage {
    let fields: Option<String> = row.get(18);
    StoredMessage {
        message: NewMessage {
            seq: row.get::<_, i64>(0) as u64,
            line: row.get::<_, i64>(1) as u64,
            recipient: row.get(2),
            account: row.get(3),
            subject: row.get(4),
            body: row.get(5),
            idempotency_key: row.get(6),
            planned_at: from_ns(row.get(7)),
            row_digest: row.get(8),
            timezone: row.get(16),
            html: row.get(17),
            fields: fields
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default(),
            sequence: SequencePlace {
                step: row.get::<_, i32>(19) as u32,
                previous: row.get::<_, Option<i64>>(20).map(|seq| seq as u64),
                priority: row.get(21),
            },
        },
        state: parse_state(row.get(9)),
        attempts: row.get::<_, i32>(10) as u32,
        last_attempt_at: row.get::<_, Option<i64>>(11).map(from_ns),
        last_status: row.get::<_, Option<i32>>(12).map(|s| s as u16),
        sent_at: row.get::<_, Option<i64>>(13).map(from_ns),
        api_message_id: row.get(14),
        failure_reason: row.get(15),
    }
}

pub fn messages_in_state(
    session: &mut Session,
    ctx: &Ctx,
    states: &[MessageState],
) -> Result<Vec<StoredMessage>, JournalError> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = states.iter().map(|&state| state_name(state)).collect();
    let rows = session
        .client
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE campaign = $1 AND state = ANY($2) ORDER BY seq"
            ),
            &[&ctx.campaign, &names],
        )
        .map_err(ctx.pg("reading messages"))?;
    Ok(rows.iter().map(stored_message).collect())
}

/// A worker's share: the messages of one account in any of `states`.
pub fn account_messages(
    session: &mut Session,
    ctx: &Ctx,
    account: &str,
    states: &[MessageState],
) -> Result<Vec<StoredMessage>, JournalError> {
    let names: Vec<&str> = states.iter().map(|&state| state_name(state)).collect();
    let rows = session
        .client
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE campaign = $1 AND state = ANY($2) AND account = $3 ORDER BY seq"
            ),
            &[&ctx.campaign, &names, &account],
        )
        .map_err(ctx.pg("reading an account's messages"))?;
    Ok(rows.iter().map(stored_message).collect())
}

pub fn row_digest_page(
    session: &mut Session,
    ctx: &Ctx,
    after: i64,
) -> Result<Vec<RowDigest>, JournalError> {
    let rows = session
        .client
        .query(
            "SELECT seq, line, recipient, row_digest, state FROM messages
             WHERE campaign = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&ctx.campaign, &after, &PAGE],
        )
        .map_err(ctx.pg("reading row digests"))?;
    Ok(rows
        .iter()
        .map(|row| RowDigest {
            seq: row.get::<_, i64>(0) as u64,
            line: row.get::<_, i64>(1) as u64,
            recipient: row.get(2),
            row_digest: row.get(3),
            state: parse_state(row.get(4)),
        })
        .collect())
}

const SENDS_SINCE: &str = "
    SELECT at FROM (
        SELECT sent_at_ns AS at FROM messages
        WHERE campaign = $1 AND account = $2 AND state = 'sent' AND sent_at_ns >= $3
        UNION ALL
        SELECT last_attempt_at_ns FROM messages
        WHERE campaign = $1 AND account = $2 AND state IN ('in_flight', 'uncertain')
            AND last_attempt_at_ns >= $3
        ORDER BY 1 DESC LIMIT $4
    ) latest ORDER BY 1";

pub fn sends_since(
    session: &mut Session,
    ctx: &Ctx,
    account: &str,
    since: DateTime<Utc>,
    at_most: usize,
) -> Result<Vec<DateTime<Utc>>, JournalError> {
    let limit = i64::try_from(at_most).unwrap_or(i64::MAX);
    let rows = session
        .client
        .query(
            SENDS_SINCE,
            &[&ctx.campaign, &account, &to_ns(since)?, &limit],
        )
        .map_err(ctx.pg("reading past sends"))?;
    Ok(rows.iter().map(|row| from_ns(row.get(0))).collect())
}

pub fn summary(session: &mut Session, ctx: &Ctx) -> Result<StatusSummary, JournalError> {
    let client = &mut session.client;
    let err = || ctx.pg("summarising the campaign");
    let mut accounts: BTreeMap<String, AccountSummary> = BTreeMap::new();
    let mut summary = StatusSummary::default();
    let rows = client
        .query(
            "SELECT account, state, count(*), min(planned_at_ns),
                    max(sent_at_ns) FILTER (WHERE state = 'sent')
             FROM messages WHERE campaign = $1 GROUP BY state, account",
            &[&ctx.campaign],
        )
        .map_err(err())?;
    for row in &rows {
        let account: String = row.get(0);
        let state = parse_state(row.get(1));
        let count = row.get::<_, i64>(2) as u64;
        summary.counts.add(state, count);
        let entry = accounts
            .entry(account)
            .or_insert_with_key(|account| AccountSummary {
                account: account.clone(),
                ..AccountSummary::default()
            });
        entry.counts.add(state, count);
        if state == MessageState::Pending {
            entry.next_planned = row.get::<_, Option<i64>>(3).map(from_ns);
        }
        if state == MessageState::Sent {
            entry.last_sent = row.get::<_, Option<i64>>(4).map(from_ns);
        }
    }
    let stats = client
        .query(
            "SELECT account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error
             FROM account_stats WHERE campaign = $1",
            &[&ctx.campaign],
        )
        .map_err(err())?;
    for row in &stats {
        let account: String = row.get(0);
        let Some(entry) = accounts.get_mut(&account) else {
            continue;
        };
        entry.throttled = row.get::<_, i64>(1) as u64;
        entry.rate_limit_at = row.get::<_, Option<i64>>(5).map(from_ns);
        if entry.rate_limit_at.is_some() {
            entry.rate_limit = Some(RateLimitSnapshot {
                limit: row.get::<_, Option<i64>>(2).map(|v| v as u32),
                remaining: row.get::<_, Option<i64>>(3).map(|v| v as u32),
                reset_at: row.get::<_, Option<i64>>(4).map(from_ns),
            });
        }
        entry.last_error = row.get(6);
    }
    summary.accounts = accounts.into_values().collect();
    Ok(summary)
}

pub fn report_page(
    session: &mut Session,
    ctx: &Ctx,
    after: i64,
) -> Result<Vec<ReportRow>, JournalError> {
    let rows = session
        .client
        .query(
            "SELECT seq, line, recipient, account, state, attempts, last_status, planned_at_ns,
                    sent_at_ns, api_message_id, failure_reason, step
             FROM messages WHERE campaign = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&ctx.campaign, &after, &PAGE],
        )
        .map_err(ctx.pg("reading the report"))?;
    Ok(rows
        .iter()
        .map(|row| ReportRow {
            seq: row.get::<_, i64>(0) as u64,
            line: row.get::<_, i64>(1) as u64,
            recipient: row.get(2),
            account: row.get(3),
            state: parse_state(row.get(4)),
            attempts: row.get::<_, i32>(5) as u32,
            last_status: row.get::<_, Option<i32>>(6).map(|s| s as u16),
            planned_at: from_ns(row.get(7)),
            sent_at: row.get::<_, Option<i64>>(8).map(from_ns),
            api_message_id: row.get(9),
            failure_reason: row.get(10),
            step: Some(row.get::<_, i32>(11) as u32),
        })
        .collect())
}

/// The state and send time of each message in `seqs` that exists, in the
/// order asked.
pub fn previous_steps(
    session: &mut Session,
    ctx: &Ctx,
    seqs: &[u64],
) -> Result<Vec<PreviousStep>, JournalError> {
    let keys: Vec<i64> = seqs.iter().map(|&seq| seq_param(seq)).collect();
    let rows = session
        .client
        .query(
            "SELECT seq, state, sent_at_ns FROM messages WHERE campaign = $1 AND seq = ANY($2)",
            &[&ctx.campaign, &keys],
        )
        .map_err(ctx.pg("reading previous steps"))?;
    let found: std::collections::HashMap<i64, PreviousStep> = rows
        .iter()
        .map(|row| {
            let seq: i64 = row.get(0);
            (
                seq,
                PreviousStep {
                    seq: seq as u64,
                    state: parse_state(row.get(1)),
                    sent_at: row.get::<_, Option<i64>>(2).map(from_ns),
                },
            )
        })
        .collect();
    Ok(keys
        .iter()
        .filter_map(|seq| found.get(seq).copied())
        .collect())
}

/// Per step: counts by state, and pending follow-ups whose previous step
/// has not gone out (see `SqliteStore::step_counts`).
pub fn step_counts(session: &mut Session, ctx: &Ctx) -> Result<Vec<StepCounts>, JournalError> {
    let client = &mut session.client;
    let mut steps: Vec<StepCounts> = Vec::new();
    fn entry(steps: &mut Vec<StepCounts>, step: u32) -> usize {
        let index = step.saturating_sub(1) as usize;
        while steps.len() <= index {
            let step = u32::try_from(steps.len() + 1).unwrap_or(u32::MAX);
            steps.push(StepCounts {
                step,
                ..StepCounts::default()
            });
        }
        index
    }
    let rows = client
        .query(
            "SELECT step, state, count(*) FROM messages WHERE campaign = $1 GROUP BY step, state",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("counting messages by step"))?;
    for row in &rows {
        let index = entry(&mut steps, row.get::<_, i32>(0) as u32);
        steps[index]
            .counts
            .add(parse_state(row.get(1)), row.get::<_, i64>(2) as u64);
    }
    let rows = client
        .query(
            "SELECT m.step, count(*) FROM messages m
             JOIN messages p ON p.campaign = m.campaign AND p.seq = m.previous_seq
             WHERE m.campaign = $1 AND m.state = 'pending' AND p.state <> 'sent'
             GROUP BY m.step",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("counting waiting follow-ups"))?;
    for row in &rows {
        let index = entry(&mut steps, row.get::<_, i32>(0) as u32);
        steps[index].waiting = row.get::<_, i64>(1) as u64;
    }
    Ok(steps)
}

pub fn attempts(
    session: &mut Session,
    ctx: &Ctx,
    seq: u64,
) -> Result<Vec<AttemptRecord>, JournalError> {
    let rows = session
        .client
        .query(
            "SELECT seq, at_ns, status, rl_limit, rl_remaining, rl_reset_at_ns, error
             FROM attempts WHERE campaign = $1 AND seq = $2 ORDER BY id",
            &[&ctx.campaign, &seq_param(seq)],
        )
        .map_err(ctx.pg("reading attempts"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let snapshot = RateLimitSnapshot {
                limit: row.get::<_, Option<i64>>(3).map(|v| v as u32),
                remaining: row.get::<_, Option<i64>>(4).map(|v| v as u32),
                reset_at: row.get::<_, Option<i64>>(5).map(from_ns),
            };
            AttemptRecord {
                seq: row.get::<_, i64>(0) as u64,
                at: from_ns(row.get(1)),
                status: row.get::<_, Option<i32>>(2).map(|s| s as u16),
                rate_limit: (!snapshot.is_empty()).then_some(snapshot),
                error: row.get(6),
            }
        })
        .collect())
}

/// Every campaign of the database with its counts, by name.
pub fn campaigns(session: &mut Session, url: &str) -> Result<Vec<CampaignListing>, JournalError> {
    let rows = session
        .client
        .query(
            "SELECT c.name, c.created_at_ns, c.csv_path, m.state, count(m.seq)
             FROM campaigns c LEFT JOIN messages m ON m.campaign = c.id
             GROUP BY c.name, c.created_at_ns, c.csv_path, m.state ORDER BY c.name",
            &[],
        )
        .map_err(JournalError::pg(url, "listing the campaigns"))?;
    let mut listings: Vec<CampaignListing> = Vec::new();
    for row in &rows {
        let name: String = row.get(0);
        if listings.last().is_none_or(|last| last.name != name) {
            listings.push(CampaignListing {
                name,
                created_at: from_ns(row.get(1)),
                csv_path: row.get(2),
                counts: Default::default(),
            });
        }
        if let (Some(state), Some(listing)) = (row.get::<_, Option<&str>>(3), listings.last_mut()) {
            listing
                .counts
                .add(parse_state(state), row.get::<_, i64>(4) as u64);
        }
    }
    Ok(listings)
}
