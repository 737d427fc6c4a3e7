//! The SQLite journal's write transactions on the send path: creating a
//! campaign, claiming messages, recording attempts and outcomes, and
//! recovering what a crash left in flight. The manual edits between runs
//! are in `sqlite_edits`, on the same transaction helpers.
//!
//! Each public function here is one IMMEDIATE transaction (the write lock is
//! taken up front, so it never fails half-way for lock upgrades) that
//! commits durably or rolls back entirely. Statements are prepared once per
//! connection and cached; bulk inserts run inside a single transaction.

use std::path::Path;

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Params, Transaction, TransactionBehavior, params,
};

use crate::journal::error::JournalError;
use crate::journal::model::{AttemptRecord, CampaignMeta, MessageState, NewMessage, Outcome};
use crate::journal::sqlite::{opt_to_ns, to_ns};
use crate::journal::sqlite_edits::skip_one;
use crate::journal::sqlite_stops::stop_reason;
use crate::journal::stops::skip_reason;
use crate::journal::store::{JournalUpdate, Refusal};

/// Why a message left `in_flight` without being sent, after a crash.
pub const INTERRUPTED_REASON: &str =
    "interrupted while sending: the server may or may not have received it";

pub(super) fn begin<'c>(
    conn: &'c mut Connection,
    path: &Path,
) -> Result<Transaction<'c>, JournalError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(JournalError::sqlite(path, "starting a transaction"))
}

pub(super) fn commit(tx: Transaction<'_>, path: &Path) -> Result<(), JournalError> {
    tx.commit()
        .map_err(JournalError::sqlite(path, "committing to the journal"))
}

/// One UPDATE of any number of messages in a transaction of its own;
/// returns how many it changed. `action` names it in errors.
pub(super) fn update_messages(
    conn: &mut Connection,
    path: &Path,
    action: &'static str,
    update: &str,
    params: impl Params,
) -> Result<u64, JournalError> {
    let tx = begin(conn, path)?;
    let changed = tx
        .execute(update, params)
        .map_err(JournalError::sqlite(path, action))?;
    commit(tx, path)?;
    Ok(changed as u64)
}

pub fn create_campaign(
    conn: &mut Connection,
    path: &Path,
    meta: &CampaignMeta,
    messages: &[NewMessage],
) -> Result<(), JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let tx = begin(conn, path)?;
    let existing: Option<i64> = tx
        .query_row("SELECT id FROM campaign", [], |row| row.get(0))
        .optional()
        .map_err(sql("reading the campaign"))?;
    if existing.is_some() {
        return Err(JournalError::CampaignExists {
            path: path.to_path_buf(),
        });
    }
    tx.execute(
        "INSERT INTO campaign (id, campaign_id, created_at_ns, csv_path, fingerprint, options_json, tool_version)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            meta.campaign_id,
            to_ns(meta.created_at)?,
            meta.csv_path,
            meta.fingerprint,
            meta.options_json,
            meta.tool_version
        ],
    )
    .map_err(sql("storing the campaign"))?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO campaign_inputs (position, path, blake3) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql("storing the campaign"))?;
        for (position, input) in meta.inputs.iter().enumerate() {
            insert
                .execute(params![position as i64, input.path, input.blake3])
                .map_err(sql("storing the campaign"))?;
        }
    }
    insert_messages(&tx, path, messages)?;
    commit(tx, path)?;
    // The insert may have grown the WAL by the size of the whole plan; fold
    // it into the database now rather than at an arbitrary later commit.
    let _: (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .map_err(sql("checkpointing the journal"))?;
    Ok(())
}

/// Row fields as stored: JSON object text, or NULL when there are none.
pub(super) fn fields_json(fields: &std::collections::BTreeMap<String, String>) -> Option<String> {
    if fields.is_empty() {
        return None;
    }
    serde_json::to_string(fields).ok()
}

pub(super) fn insert_messages(
    tx: &Transaction<'_>,
    path: &Path,
    messages: &[NewMessage],
) -> Result<(), JournalError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO messages (seq, line, recipient, account, subject, body, idempotency_key, planned_at_ns, row_digest, timezone, html, fields_json, step, previous_seq, priority)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .map_err(JournalError::sqlite(path, "storing messages"))?;
    for message in messages {
        let result = insert.execute(params![
            message.seq,
            message.line,
            message.recipient,
            message.account,
            message.subject,
            message.body,
            message.idempotency_key,
            to_ns(message.planned_at)?,
            message.row_digest,
            message.timezone,
            message.html,
            fields_json(&message.fields),
            message.sequence.step,
            message.sequence.previous,
            message.sequence.priority,
        ]);
        match result {
            Ok(_) => {}
            Err(error) if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(JournalError::DuplicateSeq { seq: message.seq });
            }
            Err(error) => return Err(JournalError::sqlite(path, "storing messages")(error)),
        }
    }
    Ok(())
}

const RECOVER_IN_FLIGHT: &str =
    "UPDATE messages SET state = 'uncertain', failure_reason = ?1 WHERE state = 'in_flight'";

pub fn recover_in_flight(conn: &mut Connection, path: &Path) -> Result<u64, JournalError> {
    let action = "recovering in-flight messages";
    update_messages(conn, path, action, RECOVER_IN_FLIGHT, [INTERRUPTED_REASON])
}

pub fn record(
    conn: &mut Connection,
    path: &Path,
    batch: &[JournalUpdate],
) -> Result<Vec<Refusal>, JournalError> {
    let tx = begin(conn, path)?;
    let mut refusals = Vec::new();
    for update in batch {
        match update {
            JournalUpdate::InFlight { seq, at } => {
                if let Some(refusal) = claim(&tx, path, *seq, to_ns(*at)?)? {
                    refusals.push(refusal);
                }
            }
            JournalUpdate::Attempt(attempt) => record_attempt(&tx, path, attempt)?,
            JournalUpdate::Outcome { seq, outcome } => record_outcome(&tx, path, *seq, outcome)?,
        }
    }
    commit(tx, path)?;
    Ok(refusals)
}

pub(super) fn state_of(
    tx: &Transaction<'_>,
    path: &Path,
    seq: u64,
) -> Result<Option<MessageState>, JournalError> {
    tx.prepare_cached("SELECT state FROM messages WHERE seq = ?1")
        .and_then(|mut select| select.query_row([seq], |row| row.get(0)).optional())
        .map_err(JournalError::sqlite(path, "reading a message's state"))
}

fn account_of(tx: &Transaction<'_>, path: &Path, seq: u64) -> Result<String, JournalError> {
    tx.prepare_cached("SELECT account FROM messages WHERE seq = ?1")
        .and_then(|mut select| select.query_row([seq], |row| row.get(0)).optional())
        .map_err(JournalError::sqlite(path, "reading a message"))?
        .ok_or(JournalError::UnknownSeq { seq })
}

fn claim(
    tx: &Transaction<'_>,
    path: &Path,
    seq: u64,
    at_ns: i64,
) -> Result<Option<Refusal>, JournalError> {
    let message: Option<(MessageState, String)> = tx
        .prepare_cached("SELECT state, recipient FROM messages WHERE seq = ?1")
        .and_then(|mut select| {
            select
                .query_row([seq], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(JournalError::sqlite(path, "claiming a message"))?;
    let recipient = match message {
        None => return Ok(Some(Refusal::not_claimable(seq, None))),
        Some((MessageState::Pending, recipient)) => recipient,
        Some((state, _)) => {
            return Ok(Some(Refusal::not_claimable(seq, Some(state))));
        }
    };
    // A stopped recipient's message may be pending again after the stop
    // (it was in flight then, and a 429 or a released claim put it back),
    // or added since: it is skipped now instead of sent.
    if any_stops(tx, path)?
        && let Some(reason) = stop_reason(tx, path, &recipient)?
    {
        skip_one(tx, path, seq, Some(&skip_reason(&reason)))?;
        return Ok(Some(Refusal::not_claimable(
            seq,
            Some(MessageState::Skipped),
        )));
    }
    tx.prepare_cached(
        "UPDATE messages SET state = 'in_flight', last_attempt_at_ns = ?2
         WHERE seq = ?1 AND state = 'pending'",
    )
    .and_then(|mut update| update.execute(params![seq, at_ns]))
    .map_err(JournalError::sqlite(path, "claiming a message"))?;
    Ok(None)
}

/// Whether any stop was ever recorded: one lookup, so a campaign without
/// stops pays nothing more per claim.
fn any_stops(tx: &Transaction<'_>, path: &Path) -> Result<bool, JournalError> {
    tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM stops)")
        .and_then(|mut select| select.query_row([], |row| row.get(0)))
        .map_err(JournalError::sqlite(path, "reading the stops"))
}

fn record_attempt(
    tx: &Transaction<'_>,
    path: &Path,
    attempt: &AttemptRecord,
) -> Result<(), JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let account = account_of(tx, path, attempt.seq)?;
    let at_ns = to_ns(attempt.at)?;
    let snapshot = attempt.rate_limit.filter(|snapshot| !snapshot.is_empty());
    let limit = snapshot.and_then(|s| s.limit);
    let remaining = snapshot.and_then(|s| s.remaining);
    let reset_ns = opt_to_ns(snapshot.and_then(|s| s.reset_at))?;
    tx.prepare_cached(
        "INSERT INTO attempts (seq, at_ns, status, rl_limit, rl_remaining, rl_reset_at_ns, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            attempt.seq,
            at_ns,
            attempt.status,
            limit,
            remaining,
            reset_ns,
            attempt.error
        ])
    })
    .map_err(sql("recording an attempt"))?;
    // A 429 proves the server did not take the message: it is not an
    // attempt, and not a time the message may have been delivered.
    let throttled = i64::from(attempt.status == Some(429));
    tx.prepare_cached(
        "UPDATE messages SET
             attempts = attempts + ?3,
             last_status = COALESCE(?2, last_status),
             last_attempt_at_ns = CASE WHEN ?3 = 1 THEN max(COALESCE(last_attempt_at_ns, ?4), ?4)
                                       ELSE last_attempt_at_ns END
         WHERE seq = ?1",
    )
    .and_then(|mut update| {
        update.execute(params![attempt.seq, attempt.status, 1 - throttled, at_ns])
    })
    .map_err(sql("recording an attempt"))?;
    if throttled == 0 && snapshot.is_none() && attempt.error.is_none() {
        return Ok(());
    }
    // Latest recorded wins: responses are recorded as they arrive, so this
    // is the server's most recent word even when requests overlap.
    tx.prepare_cached(
        "INSERT INTO account_stats (account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (account) DO UPDATE SET
             throttled = throttled + excluded.throttled,
             rl_limit = CASE WHEN excluded.rl_at_ns IS NULL THEN rl_limit ELSE excluded.rl_limit END,
             rl_remaining = CASE WHEN excluded.rl_at_ns IS NULL THEN rl_remaining ELSE excluded.rl_remaining END,
             rl_reset_at_ns = CASE WHEN excluded.rl_at_ns IS NULL THEN rl_reset_at_ns ELSE excluded.rl_reset_at_ns END,
             rl_at_ns = COALESCE(excluded.rl_at_ns, rl_at_ns),
             last_error = COALESCE(excluded.last_error, last_error)",
    )
    .and_then(|mut upsert| {
        upsert.execute(params![
            account,
            throttled,
            limit,
            remaining,
            reset_ns,
            snapshot.map(|_| at_ns),
            attempt.error
        ])
    })
    .map_err(sql("recording an attempt"))?;
    Ok(())
}

fn record_outcome(
    tx: &Transaction<'_>,
    path: &Path,
    seq: u64,
    outcome: &Outcome,
) -> Result<(), JournalError> {
    let sql = |action| JournalError::sqlite(path, action);
    let sent_ns = match outcome {
        Outcome::Sent { at, .. } => to_ns(*at)?,
        _ => 0,
    };
    let changed = match outcome {
        Outcome::Sent { api_message_id, .. } => tx
            .prepare_cached(
                "UPDATE messages SET state = 'sent', sent_at_ns = ?2, api_message_id = ?3, failure_reason = NULL
                 WHERE seq = ?1 AND state = 'in_flight'",
            )
            .and_then(|mut update| update.execute(params![seq, sent_ns, api_message_id])),
        Outcome::Failed { reason, status } => tx
            .prepare_cached(
                "UPDATE messages SET state = 'failed', failure_reason = ?2, last_status = COALESCE(?3, last_status)
                 WHERE seq = ?1 AND state = 'in_flight'",
            )
            .and_then(|mut update| update.execute(params![seq, reason, status])),
        Outcome::BackToPending => tx
            .prepare_cached("UPDATE messages SET state = 'pending' WHERE seq = ?1 AND state = 'in_flight'")
            .and_then(|mut update| update.execute([seq])),
        Outcome::Uncertain { reason } => tx
            .prepare_cached(
                "UPDATE messages SET state = 'uncertain', failure_reason = ?2
                 WHERE seq = ?1 AND state = 'in_flight'",
            )
            .and_then(|mut update| update.execute(params![seq, reason])),
    }
    .map_err(sql("recording an outcome"))?;
    if changed == 0 {
        let state = state_of(tx, path, seq)?;
        return Err(match state {
            None => JournalError::UnknownSeq { seq },
            state => JournalError::NotInFlight { seq, state },
        });
    }
    if let Outcome::Failed { reason, .. } | Outcome::Uncertain { reason } = outcome {
        tx.prepare_cached(
            "INSERT INTO account_stats (account, last_error)
             SELECT account, ?2 FROM messages WHERE seq = ?1
             ON CONFLICT (account) DO UPDATE SET last_error = excluded.last_error",
        )
        .and_then(|mut upsert| upsert.execute(params![seq, reason]))
        .map_err(sql("recording an outcome"))?;
    }
    Ok(())
}
