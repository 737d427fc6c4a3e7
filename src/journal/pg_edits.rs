//! The PostgreSQL store's manual edits between runs (`resume`,
//! `--allow-changes`): adding, skipping and re-rendering messages, moving
//! states and planned times. Each is one transaction, as in `sqlite_edits`.

use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::model::{MessageState, NewMessage, Rerender};
use crate::journal::pg::Ctx;
use crate::journal::pg_conn::Session;
use crate::journal::pg_write::{
    insert_messages, refresh_statistics, seq_param, state_name, state_of,
};
use crate::journal::store::manual_transition_allowed;

pub fn add_messages(
    session: &mut Session,
    ctx: &Ctx,
    messages: &[NewMessage],
) -> Result<(), JournalError> {
    let mut tx = session
        .client
        .transaction()
        .map_err(ctx.pg("starting a transaction"))?;
    insert_messages(&mut tx, ctx, messages)?;
    tx.commit().map_err(ctx.pg("storing messages"))?;
    refresh_statistics(session);
    Ok(())
}

pub fn set_state_where(
    session: &mut Session,
    ctx: &Ctx,
    from: MessageState,
    to: MessageState,
) -> Result<u64, JournalError> {
    if !manual_transition_allowed(from, to) {
        return Err(JournalError::InvalidTransition { from, to });
    }
    session
        .client
        .execute(
            "UPDATE messages
             SET state = $3, failure_reason = CASE WHEN $3 = 'pending' THEN NULL ELSE failure_reason END
             WHERE campaign = $1 AND state = $2",
            &[&ctx.campaign, &state_name(from), &state_name(to)],
        )
        .map_err(ctx.pg("changing message states"))
}

pub fn shift_pending(
    session: &mut Session,
    ctx: &Ctx,
    by: chrono::TimeDelta,
) -> Result<u64, JournalError> {
    let nanos = by.num_nanoseconds().ok_or(JournalError::TimeOutOfRange(
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ))?;
    session
        .client
        .execute(
            "UPDATE messages SET planned_at_ns = planned_at_ns + $2
             WHERE campaign = $1 AND state = 'pending'",
            &[&ctx.campaign, &nanos],
        )
        .map_err(ctx.pg("moving the planned times"))
}

/// Skips each message (with its reason, if any) in one transaction; a sent
/// or in-flight message, or an unknown one, fails it all.
pub fn skip(
    session: &mut Session,
    ctx: &Ctx,
    skips: &[(u64, Option<String>)],
) -> Result<u64, JournalError> {
    let mut tx = session
        .client
        .transaction()
        .map_err(ctx.pg("starting a transaction"))?;
    let mut skipped = 0;
    for (seq, reason) in skips {
        if skip_one(&mut tx, ctx, *seq, reason.as_deref())? {
            skipped += 1;
            continue;
        }
        match state_of(&mut tx, ctx, *seq)? {
            None => return Err(JournalError::UnknownSeq { seq: *seq }),
            Some(MessageState::Skipped) => {}
            Some(from) => {
                return Err(JournalError::InvalidTransition {
                    from,
                    to: MessageState::Skipped,
                });
            }
        }
    }
    tx.commit().map_err(ctx.pg("skipping messages"))?;
    Ok(skipped)
}

/// Moves one pending, failed or uncertain message to `skipped`, with
/// `reason` first and an earlier reason kept after it. False when the
/// message is in another state (or unknown).
pub(crate) fn skip_one(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    seq: u64,
    reason: Option<&str>,
) -> Result<bool, JournalError> {
    let changed = tx
        .execute(
            "UPDATE messages SET state = 'skipped',
                 failure_reason = CASE WHEN $3::text IS NULL THEN failure_reason
                     ELSE $3::text || coalesce(' (before: ' || failure_reason || ')', '') END
             WHERE campaign = $1 AND seq = $2 AND state IN ('pending', 'failed', 'uncertain')",
            &[&ctx.campaign, &seq_param(seq), &reason],
        )
        .map_err(ctx.pg("skipping messages"))?;
    Ok(changed == 1)
}

pub fn rerender(
    session: &mut Session,
    ctx: &Ctx,
    updates: &[Rerender],
) -> Result<(), JournalError> {
    let mut tx = session
        .client
        .transaction()
        .map_err(ctx.pg("starting a transaction"))?;
    for update in updates {
        let fields = crate::journal::sqlite_write::fields_json(&update.fields);
        let changed = tx
            .execute(
                "UPDATE messages SET line = $3, subject = $4, body = $5, idempotency_key = $6,
                     row_digest = $7, timezone = $8, html = $9, fields_json = $10
                 WHERE campaign = $1 AND seq = $2 AND state = 'pending'",
                &[
                    &ctx.campaign,
                    &seq_param(update.seq),
                    &seq_param(update.line),
                    &update.subject,
                    &update.body,
                    &update.idempotency_key,
                    &update.row_digest,
                    &update.timezone,
                    &update.html,
                    &fields,
                ],
            )
            .map_err(ctx.pg("updating messages"))?;
        if changed != 1 {
            return Err(JournalError::NotPending {
                seq: update.seq,
                state: state_of(&mut tx, ctx, update.seq)?,
            });
        }
    }
    tx.commit().map_err(ctx.pg("updating messages"))
}
