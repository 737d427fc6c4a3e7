//! The SQLite journal's stops: recording one (and skipping what has not
//! gone), and the lookup every claim makes. See [`super::stops`] for the
//! rules.
//!
//! Recording a stop is one IMMEDIATE transaction, like a claim, so the two
//! are ordered: a claim that committed first has its message in flight (it
//! goes, and the stop's report says so); a stop that committed first leaves
//! the message skipped, and the claim is refused. Neither is ever lost.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::journal::error::JournalError;
use crate::journal::model::MessageState;
use crate::journal::sqlite::to_ns;
use crate::journal::sqlite_edits::skip_one;
use crate::journal::sqlite_write::{begin, commit};
use crate::journal::stops::{
    STOPPED_PREFIX, StopReport, StopRequest, StopTarget, TargetOutcome, domain_of, domain_suffixes,
    recipient_key, skip_reason,
};

pub fn record_stop(
    conn: &mut Connection,
    path: &Path,
    request: &StopRequest,
) -> Result<StopReport, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let at_ns = to_ns(request.at)?;
    let reason = skip_reason(&request.reason);
    let tx = begin(conn, path)?;
    // Target index by stored key: `bob@acme.com` or `@acme.com`.
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (index, target) in request.targets.iter().enumerate() {
        let key = target.stored_key();
        tx.prepare_cached(
            "INSERT INTO stops (recipient_key, reason, source, at_ns) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut insert| insert.execute(params![key, request.reason, request.source, at_ns]))
        .map_err(sql("recording a stop"))?;
        by_key.entry(key).or_insert(index);
    }
    let mut outcomes = vec![TargetOutcome::default(); request.targets.len()];
    // One pass over the messages, matched in memory: a stop of thousands of
    // recipients costs one scan, not one per recipient.
    let mut matched: Vec<(u64, MessageState, usize)> = Vec::new();
    {
        let mut select = tx
            .prepare("SELECT seq, recipient, state FROM messages")
            .map_err(sql("reading messages"))?;
        let mut rows = select.query([]).map_err(sql("reading messages"))?;
        while let Some(row) = rows.next().map_err(sql("reading messages"))? {
            let recipient: String = row.get(1).map_err(sql("reading messages"))?;
            if let Some(index) = target_of(&by_key, &recipient) {
                let seq: u64 = row.get(0).map_err(sql("reading messages"))?;
                let state: MessageState = row.get(2).map_err(sql("reading messages"))?;
                matched.push((seq, state, index));
            }
        }
    }
    for (seq, state, index) in matched {
        let outcome = &mut outcomes[index];
        match state {
            MessageState::Pending | MessageState::Failed | MessageState::Uncertain => {
                skip_one(&tx, path, seq, Some(&reason))?;
                outcome.stopped += 1;
            }
            MessageState::Sent => outcome.already_sent += 1,
            MessageState::InFlight => outcome.in_flight += 1,
            MessageState::Skipped => outcome.already_skipped += 1,
        }
    }
    commit(tx, path)?;
    Ok(StopReport {
        targets: request.targets.iter().cloned().zip(outcomes).collect(),
    })
}

/// The target (by index) that names `recipient`: the recipient itself
/// first, then its domain and the domain's parents.
fn target_of(by_key: &HashMap<String, usize>, recipient: &str) -> Option<usize> {
    let key = recipient_key(recipient);
    if let Some(&index) = by_key.get(&key) {
        return Some(index);
    }
    let domain = domain_of(&key)?;
    domain_suffixes(domain).find_map(|suffix| by_key.get(&format!("@{suffix}")).copied())
}

/// The reason of the earliest stop that names `recipient`, if any. A few
/// index lookups: the recipient's key, then `@` and each suffix of its
/// domain.
pub(super) fn stop_reason(
    tx: &Transaction<'_>,
    path: &Path,
    recipient: &str,
) -> Result<Option<String>, JournalError> {
    let key = recipient_key(recipient);
    let mut keys = vec![key.clone()];
    if let Some(domain) = domain_of(&key) {
        keys.extend(domain_suffixes(domain).map(|suffix| format!("@{suffix}")));
    }
    for key in keys {
        let reason: Option<String> = tx
            .prepare_cached("SELECT reason FROM stops WHERE recipient_key = ?1 ORDER BY id LIMIT 1")
            .and_then(|mut select| select.query_row([&key], |row| row.get(0)).optional())
            .map_err(JournalError::sqlite(path, "reading the stops"))?;
        if reason.is_some() {
            return Ok(reason);
        }
    }
    Ok(None)
}

/// Skipped messages of stopped recipients, counted by the stop's reason
/// (without the `stopped: ` prefix and any earlier failure), most first.
pub fn stopped_by_reason(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(String, u64)>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut select = conn
        .prepare(
            "SELECT failure_reason, count(*) FROM messages
             WHERE state = 'skipped' AND failure_reason LIKE 'stopped: %'
             GROUP BY failure_reason",
        )
        .map_err(sql("counting stopped messages"))?;
    let rows = select
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })
        .map_err(sql("counting stopped messages"))?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let (reason, count) = row.map_err(sql("counting stopped messages"))?;
        let reason = reason.strip_prefix(STOPPED_PREFIX).unwrap_or(&reason);
        let reason = reason.split(" (before: ").next().unwrap_or(reason);
        *counts.entry(reason.to_string()).or_default() += count;
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts)
}

/// Every stop recorded, oldest first: `(target, reason, source)`.
pub fn stops(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let mut select = conn
        .prepare("SELECT recipient_key, reason, source FROM stops ORDER BY id")
        .map_err(sql("reading the stops"))?;
    let rows = select
        .query_map([], |row| {
            let key: String = row.get(0)?;
            let target = match key.strip_prefix('@') {
                Some(domain) => StopTarget::Domain(domain.to_string()),
                None => StopTarget::Recipient(key),
            };
            Ok((target, row.get(1)?, row.get(2)?))
        })
        .map_err(sql("reading the stops"))?;
    rows.collect::<Result<_, _>>()
        .map_err(sql("reading the stops"))
}

#[cfg(test)]
#[path = "stops_tests.rs"]
mod tests;
