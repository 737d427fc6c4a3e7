//! The SQLite journal's write transactions: creating a campaign, claiming
//! messages, recording attempts and outcomes, and the manual state changes.
//!
//! Each public function here is one IMMEDIATE transaction (the write lock is
//! taken up front, so it never fails half-way for lock upgrades) that
//! commits durably or rolls back entirely. Statements are prepared once per
//! connection and cached; bulk inserts run inside a single transaction.

use std::path::Path;

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::journal::error::JournalError;
use crate::journal::model::{
    AttemptRecord, CampaignMeta, MessageState, NewMessage, Outcome, Rerender,
};
use crate::journal::sqlite::{opt_to_ns, to_ns};
use crate::journal::store::{JournalUpdate, Refusal, manual_transition_allowed};

/// Why a message left `in_flight` without being sent, after a crash.
pub const INTERRUPTED_REASON: &str =
    "interrupted while sending: the server may or may not have received it";

fn begin<'c>(conn: &'c mut Connection, path: &Path) -> Result<Transaction<'c>, JournalError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(JournalError::sqlite(path, "starting a transaction"))
}

fn commit(tx: Transaction<'_>, path: &Path) -> Result<(), JournalError> {
    tx.commit()
        .map_err(JournalError::sqlite(path, "committing to the journal"))
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

pub fn add_messages(
    conn: &mut Connection,
    path: &Path,
    messages: &[NewMessage],
) -> Result<(), JournalError> {
    let tx = begin(conn, path)?;
    let campaign: Option<i64> = tx
        .query_row("SELECT id FROM campaign", [], |row| row.get(0))
        .optional()
        .map_err(JournalError::sqlite(path, "reading the campaign"))?;
    if campaign.is_none() {
        return Err(JournalError::NoCampaign {
            path: path.to_path_buf(),
        });
    }
    insert_messages(&tx, path, messages)?;
    commit(tx, path)
}

fn insert_messages(
    tx: &Transaction<'_>,
    path: &Path,
    messages: &[NewMessage],
) -> Result<(), JournalError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO messages (seq, line, recipient, account, subject, body, idempotency_key, planned_at_ns, row_digest, timezone)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
    let tx = begin(conn, path)?;
    let changed = tx
        .execute(RECOVER_IN_FLIGHT, [INTERRUPTED_REASON])
        .map_err(JournalError::sqlite(path, "recovering in-flight messages"))?;
    commit(tx, path)?;
    Ok(changed as u64)
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

fn state_of(
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
    let changed = tx
        .prepare_cached(
            "UPDATE messages SET state = 'in_flight', last_attempt_at_ns = ?2
             WHERE seq = ?1 AND state = 'pending'",
        )
        .and_then(|mut update| update.execute(params![seq, at_ns]))
        .map_err(JournalError::sqlite(path, "claiming a message"))?;
    if changed == 1 {
        return Ok(None);
    }
    let state = state_of(tx, path, seq)?;
    Ok(Some(Refusal { seq, state }))
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

pub fn set_state_where(
    conn: &mut Connection,
    path: &Path,
    from: MessageState,
    to: MessageState,
) -> Result<u64, JournalError> {
    if !manual_transition_allowed(from, to) {
        return Err(JournalError::InvalidTransition { from, to });
    }
    let tx = begin(conn, path)?;
    let changed = tx
        .execute(
            "UPDATE messages
             SET state = ?2, failure_reason = CASE WHEN ?2 = 'pending' THEN NULL ELSE failure_reason END
             WHERE state = ?1",
            params![from, to],
        )
        .map_err(JournalError::sqlite(path, "changing message states"))?;
    commit(tx, path)?;
    Ok(changed as u64)
}

pub fn shift_pending(
    conn: &mut Connection,
    path: &Path,
    by: chrono::TimeDelta,
) -> Result<u64, JournalError> {
    let nanos = by.num_nanoseconds().ok_or(JournalError::TimeOutOfRange(
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ))?;
    let tx = begin(conn, path)?;
    let changed = tx
        .execute(
            "UPDATE messages SET planned_at_ns = planned_at_ns + ?1 WHERE state = 'pending'",
            params![nanos],
        )
        .map_err(JournalError::sqlite(path, "moving the planned times"))?;
    commit(tx, path)?;
    Ok(changed as u64)
}

pub fn skip_messages(
    conn: &mut Connection,
    path: &Path,
    seqs: &[u64],
) -> Result<u64, JournalError> {
    skip(conn, path, seqs.iter().map(|&seq| (seq, None)))
}

pub fn skip_with_reasons(
    conn: &mut Connection,
    path: &Path,
    skips: &[(u64, String)],
) -> Result<u64, JournalError> {
    skip(
        conn,
        path,
        skips
            .iter()
            .map(|(seq, reason)| (*seq, Some(reason.as_str()))),
    )
}

fn skip<'a>(
    conn: &mut Connection,
    path: &Path,
    skips: impl Iterator<Item = (u64, Option<&'a str>)>,
) -> Result<u64, JournalError> {
    let tx = begin(conn, path)?;
    let mut skipped = 0;
    for (seq, reason) in skips {
        // A new reason goes first; an earlier one (a failure) stays after it.
        let changed = tx
            .prepare_cached(
                "UPDATE messages SET state = 'skipped',
                     failure_reason = CASE WHEN ?2 IS NULL THEN failure_reason
                         ELSE ?2 || coalesce(' (before: ' || failure_reason || ')', '') END
                 WHERE seq = ?1 AND (state = 'pending' OR state = 'failed' OR state = 'uncertain')",
            )
            .and_then(|mut update| update.execute(params![seq, reason]))
            .map_err(JournalError::sqlite(path, "skipping messages"))?;
        if changed == 1 {
            skipped += 1;
            continue;
        }
        match state_of(&tx, path, seq)? {
            None => return Err(JournalError::UnknownSeq { seq }),
            Some(MessageState::Skipped) => {}
            Some(from) => {
                return Err(JournalError::InvalidTransition {
                    from,
                    to: MessageState::Skipped,
                });
            }
        }
    }
    commit(tx, path)?;
    Ok(skipped)
}

pub fn rerender(
    conn: &mut Connection,
    path: &Path,
    updates: &[Rerender],
) -> Result<(), JournalError> {
    let tx = begin(conn, path)?;
    for update in updates {
        let changed = tx
            .prepare_cached(
                "UPDATE messages SET line = ?2, subject = ?3, body = ?4, idempotency_key = ?5,
                     row_digest = ?6, timezone = ?7
                 WHERE seq = ?1 AND state = 'pending'",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    update.seq,
                    update.line,
                    update.subject,
                    update.body,
                    update.idempotency_key,
                    update.row_digest,
                    update.timezone,
                ])
            })
            .map_err(JournalError::sqlite(path, "updating messages"))?;
        if changed != 1 {
            return Err(JournalError::NotPending {
                seq: update.seq,
                state: state_of(&tx, path, update.seq)?,
            });
        }
    }
    commit(tx, path)
}
