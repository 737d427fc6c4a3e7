//! The SQLite journal's queries for the work: the campaign, messages by
//! state, row digests and the sends inside a rate window. The views for
//! people (`status`, `report`) are in `sqlite_report`.
//!
//! Loading messages by state walks the `(state, account, planned_at_ns)`
//! index, so it costs what it returns.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params, params_from_iter};

use crate::journal::error::JournalError;
use crate::journal::model::{
    CampaignMeta, InputDigest, MessageState, NewMessage, PreviousStep, StoredMessage,
};
use crate::journal::report::RowDigest;
use crate::journal::sqlite::{from_ns, to_ns};
use crate::journal::sqlite_connection::{READ_PRAGMAS, open_connection};

pub fn campaign(conn: &Connection, path: &Path) -> Result<Option<CampaignMeta>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let meta = conn
        .query_row(
            "SELECT campaign_id, created_at_ns, csv_path, fingerprint, options_json, tool_version
             FROM campaign WHERE id = 1",
            [],
            |row| {
                Ok(CampaignMeta {
                    campaign_id: row.get(0)?,
                    created_at: from_ns(row.get(1)?),
                    csv_path: row.get(2)?,
                    fingerprint: row.get(3)?,
                    inputs: Vec::new(),
                    options_json: row.get(4)?,
                    tool_version: row.get(5)?,
                })
            },
        )
        .optional()
        .map_err(sql("reading the campaign"))?;
    let Some(mut meta) = meta else {
        return Ok(None);
    };
    let mut select = conn
        .prepare_cached("SELECT path, blake3 FROM campaign_inputs ORDER BY position")
        .map_err(sql("reading the campaign"))?;
    meta.inputs = select
        .query_map([], |row| {
            Ok(InputDigest {
                path: row.get(0)?,
                blake3: row.get(1)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(sql("reading the campaign"))?;
    Ok(Some(meta))
}

const MESSAGE_COLUMNS: &str = "seq, line, recipient, account, subject, body, idempotency_key, \
     planned_at_ns, row_digest, state, attempts, last_attempt_at_ns, last_status, sent_at_ns, \
     api_message_id, failure_reason, timezone, html, fields_json, step, previous_seq, priority";

fn stored_message(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        message: NewMessage {
            seq: row.get(0)?,
            line: row.get(1)?,
            recipient: row.get(2)?,
            account: row.get(3)?,
            subject: row.get(4)?,
            body: row.get(5)?,
            idempotency_key: row.get(6)?,
            planned_at: from_ns(row.get(7)?),
            row_digest: row.get(8)?,
            timezone: row.get(16)?,
            html: row.get(17)?,
            fields: fields_from_json(row.get(18)?),
            sequence: crate::journal::model::SequencePlace {
                step: row.get(19)?,
                previous: row.get(20)?,
                priority: row.get(21)?,
            },
        },
        state: row.get(9)?,
        attempts: row.get(10)?,
        last_attempt_at: row.get::<_, Option<i64>>(11)?.map(from_ns),
        last_status: row.get(12)?,
        sent_at: row.get::<_, Option<i64>>(13)?.map(from_ns),
        api_message_id: row.get(14)?,
        failure_reason: row.get(15)?,
    })
}

/// A message's stored row fields; none when the column is empty (or, for a
/// journal edited by hand, unreadable: the channel then reports the missing
/// variable by name).
fn fields_from_json(text: Option<String>) -> std::collections::BTreeMap<String, String> {
    text.and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// How to find the messages in `states`. A few go through the state index:
/// the cost follows what is returned (the last pending messages of a nearly
/// finished campaign). Many are read in one pass over the table in `seq`
/// order, from the first match on (sent messages mostly come first): the
/// index lists them by account, and hopping between it and the table would
/// read the table once per account.
///
/// Parameters: `?1..?n` the states, then (scan only) the seq range
/// `[from, to)`.
fn messages_query(states: &[MessageState], scan: bool) -> String {
    let placeholders: Vec<String> = (1..=states.len()).map(|i| format!("?{i}")).collect();
    let placeholders = placeholders.join(", ");
    if scan {
        let (from, to) = (states.len() + 1, states.len() + 2);
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages NOT INDEXED
             WHERE seq >= ?{from} AND seq < ?{to} AND state IN ({placeholders}) ORDER BY seq"
        )
    } else {
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages INDEXED BY messages_by_state
             WHERE state IN ({placeholders})"
        )
    }
}

/// Scan when more than 1 in `SCAN_ABOVE` of the messages between the first
/// match and the end of the table match.
const SCAN_ABOVE: u64 = 8;

/// A scan matching more messages than this is split in two seq ranges, the
/// second read on another thread with a connection of its own: decoding half
/// a million rows is CPU work, and `resume` waits for it before sending.
const PARALLEL_ABOVE: u64 = 50_000;

pub fn messages_in_state(
    conn: &Connection,
    path: &Path,
    states: &[MessageState],
) -> Result<Vec<StoredMessage>, JournalError> {
    let mut states = states.to_vec();
    states.sort();
    states.dedup();
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let sql = |action| JournalError::sqlite(path, action);
    let placeholders = vec!["?"; states.len()].join(", ");
    let (matching, first, last): (u64, Option<u64>, Option<u64>) = conn
        .prepare_cached(&format!(
            "SELECT count(*), min(seq), (SELECT max(seq) FROM messages)
             FROM messages INDEXED BY messages_by_state WHERE state IN ({placeholders})"
        ))
        .and_then(|mut count| {
            count.query_row(params_from_iter(&states), |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
        })
        .map_err(sql("reading messages"))?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let span = last.saturating_sub(first).saturating_add(1);
    if matching.saturating_mul(SCAN_ABOVE) <= span {
        let mut messages = read_messages(conn, path, &states, None)?;
        messages.sort_unstable_by_key(|stored: &StoredMessage| stored.message.seq);
        return Ok(messages);
    }
    let end = last.saturating_add(1);
    if matching <= PARALLEL_ABOVE {
        return read_messages(conn, path, &states, Some((first, end)));
    }
    let middle = first + span / 2;
    std::thread::scope(|scope| {
        let second_half = scope.spawn(|| {
            let reader = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            reader
                .execute_batch(READ_PRAGMAS)
                .map_err(sql("configuring the connection"))?;
            read_messages(&reader, path, &states, Some((middle, end)))
        });
        let mut messages = read_messages(conn, path, &states, Some((first, middle)))?;
        let rest = second_half
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        messages.extend(rest);
        Ok(messages)
    })
}

/// The messages in `states`, through the state index (`range` None) or by
/// scanning the seq range `[from, to)` in order.
fn read_messages(
    conn: &Connection,
    path: &Path,
    states: &[MessageState],
    range: Option<(u64, u64)>,
) -> Result<Vec<StoredMessage>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut params: Vec<Value> = states
        .iter()
        .map(|state| Value::Text(state.as_str().to_string()))
        .collect();
    if let Some((from, to)) = range {
        for bound in [from, to] {
            params.push(Value::Integer(i64::try_from(bound).unwrap_or(i64::MAX)));
        }
    }
    let mut select = conn
        .prepare_cached(&messages_query(states, range.is_some()))
        .map_err(sql("reading messages"))?;
    let rows = select
        .query_map(params_from_iter(&params), stored_message)
        .map_err(sql("reading messages"))?;
    rows.collect::<Result<_, _>>()
        .map_err(sql("reading messages"))
}

pub fn row_digests(
    conn: &Connection,
    path: &Path,
    f: &mut dyn FnMut(RowDigest) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    let select = "SELECT seq, line, recipient, row_digest, state FROM messages ORDER BY seq";
    let digest = |row: &Row<'_>| {
        Ok(RowDigest {
            seq: row.get(0)?,
            line: row.get(1)?,
            recipient: row.get(2)?,
            row_digest: row.get(3)?,
            state: row.get(4)?,
        })
    };
    stream_rows(conn, path, select, "reading row digests", digest, f)
}

/// Hands the rows of `select` to `f` one at a time, decoded by `decode`, so
/// that a journal of a million messages is never held in memory; `action`
/// names the read in errors.
pub(super) fn stream_rows<T>(
    conn: &Connection,
    path: &Path,
    select: &str,
    action: &'static str,
    decode: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    f: &mut dyn FnMut(T) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    let sql = || JournalError::sqlite(path, action);
    let mut select = conn.prepare_cached(select).map_err(sql())?;
    let mut rows = select.query([]).map_err(sql())?;
    while let Some(row) = rows.next().map_err(sql())? {
        f(decode(row).map_err(sql())?)?;
    }
    Ok(())
}

const SENDS_SINCE: &str = "
    SELECT at FROM (
        SELECT sent_at_ns AS at FROM messages
        WHERE account = ?1 AND state = 'sent' AND sent_at_ns >= ?2
        UNION ALL
        SELECT last_attempt_at_ns FROM messages
        WHERE account = ?1 AND state IN ('in_flight', 'uncertain') AND last_attempt_at_ns >= ?2
        ORDER BY 1 DESC LIMIT ?3
    ) ORDER BY 1";

pub fn sends_since(
    conn: &Connection,
    path: &Path,
    account: &str,
    since: DateTime<Utc>,
    at_most: usize,
) -> Result<Vec<DateTime<Utc>>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut select = conn
        .prepare_cached(SENDS_SINCE)
        .map_err(sql("reading past sends"))?;
    let limit = i64::try_from(at_most).unwrap_or(i64::MAX);
    select
        .query_map(params![account, to_ns(since)?, limit], |row| {
            row.get::<_, i64>(0).map(from_ns)
        })
        .and_then(|rows| rows.collect())
        .map_err(sql("reading past sends"))
}

/// The state and send time of each message in `seqs` that exists.
pub fn previous_steps(
    conn: &Connection,
    path: &Path,
    seqs: &[u64],
) -> Result<Vec<PreviousStep>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut select = conn
        .prepare_cached("SELECT state, sent_at_ns FROM messages WHERE seq = ?1")
        .map_err(sql("reading previous steps"))?;
    let mut found = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let row = select
            .query_row(params![seq], |row| {
                Ok(PreviousStep {
                    seq,
                    state: row.get(0)?,
                    sent_at: row.get::<_, Option<i64>>(1)?.map(from_ns),
                })
            })
            .optional()
            .map_err(sql("reading previous steps"))?;
        found.extend(row);
    }
    Ok(found)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What SQLite plans for `sql`, one step per string.
    pub(in crate::journal) fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let params = vec!["x"; explain.parameter_count()];
        explain
            .query_map(params_from_iter(params), |row| row.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn every_query_uses_its_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::journal::schema::migrate(&mut conn, Path::new(":memory:"), 0).unwrap();
        let sends = plan(&conn, SENDS_SINCE).join("; ");
        assert!(
            sends.contains("INDEX messages_sent_by_account (account=? AND sent_at_ns>?)"),
            "{sends}"
        );
        assert!(
            sends.contains("INDEX messages_by_state (state=? AND account=?)"),
            "{sends}"
        );
        let states = [MessageState::Failed, MessageState::Uncertain];
        let few = plan(&conn, &messages_query(&states, false));
        assert_eq!(
            few,
            ["SEARCH messages USING INDEX messages_by_state (state=?)"]
        );
        let many = plan(&conn, &messages_query(&states, true));
        assert_eq!(
            many,
            ["SEARCH messages USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"]
        );
    }
}
