//! The SQLite journal's manual edits, made between runs by `resume` and
//! `--allow-changes`: adding messages, skipping them (with a reason),
//! rendering pending ones again, moving states and planned times.
//!
//! Like the send path's (`sqlite_write`), each public function here is one
//! IMMEDIATE transaction that commits durably or rolls back entirely, and
//! refuses a change the message's state does not allow.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::journal::error::JournalError;
use crate::journal::model::{MessageState, NewMessage, Rerender};
use crate::journal::sqlite_write::{begin, commit, insert_messages, state_of, update_messages};
use crate::journal::store::manual_transition_allowed;

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

pub fn set_state_where(
    conn: &mut Connection,
    path: &Path,
    from: MessageState,
    to: MessageState,
) -> Result<u64, JournalError> {
    if !manual_transition_allowed(from, to) {
        return Err(JournalError::InvalidTransition { from, to });
    }
    update_messages(
        conn,
        path,
        "changing message states",
        "UPDATE messages
         SET state = ?2, failure_reason = CASE WHEN ?2 = 'pending' THEN NULL ELSE failure_reason END
         WHERE state = ?1",
        params![from, to],
    )
}

pub fn shift_pending(
    conn: &mut Connection,
    path: &Path,
    by: chrono::TimeDelta,
) -> Result<u64, JournalError> {
    let nanos = by.num_nanoseconds().ok_or(JournalError::TimeOutOfRange(
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ))?;
    update_messages(
        conn,
        path,
        "moving the planned times",
        "UPDATE messages SET planned_at_ns = planned_at_ns + ?1 WHERE state = 'pending'",
        params![nanos],
    )
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
        if skip_one(&tx, path, seq, reason)? {
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

/// Moves one pending, failed or uncertain message to `skipped` within `tx`,
/// with `reason` first and an earlier reason (a failure) kept after it.
/// False when the message is in another state (or unknown).
pub(super) fn skip_one(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    seq: u64,
    reason: Option<&str>,
) -> Result<bool, JournalError> {
    let changed = tx
        .prepare_cached(
            "UPDATE messages SET state = 'skipped',
                 failure_reason = CASE WHEN ?2 IS NULL THEN failure_reason
                     ELSE ?2 || coalesce(' (before: ' || failure_reason || ')', '') END
             WHERE seq = ?1 AND (state = 'pending' OR state = 'failed' OR state = 'uncertain')",
        )
        .and_then(|mut update| update.execute(params![seq, reason]))
        .map_err(JournalError::sqlite(path, "skipping messages"))?;
    Ok(changed == 1)
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
                     row_digest = ?6, timezone = ?7, html = ?8, fields_json = ?9
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
                    update.html,
                    super::sqlite_write::fields_json(&update.fields),
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
