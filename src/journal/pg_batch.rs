//! The PostgreSQL store's batched statements on the send path: a run of
//! claims, or of sends, in one batch becomes one statement over arrays
//! (`unnest`), so the writer's group commit costs a round trip per kind of
//! update, not per message. Each keeps the one-by-one rules exactly: the
//! same refusals in the same order, the same first error.
//!
//! `m.state || ''` keeps the state test out of the index search: the
//! planner would otherwise walk `messages_by_state`, whose entries for a
//! busy campaign are mostly dead (every state change adds one), instead of
//! looking each message up by its key, and a commit would cost time in
//! proportion to the campaign's size. `m.seq = ANY($2)` bounds the scan
//! by the keys asked for even when the planner's statistics are stale (a
//! campaign stored a moment ago): at worst one pass over the campaign's
//! messages, never one per claim.

use std::collections::HashMap;

use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::model::{MessageState, Outcome};
use crate::journal::pg::Ctx;
use crate::journal::pg_claim::lease_allows;
use crate::journal::pg_write::{parse_state, seq_param, state_of};
use crate::journal::sqlite::to_ns;
use crate::journal::store::{JournalUpdate, Refusal};

/// Claims a run of messages (no stops recorded) in two statements: lock
/// them all, then move the pending ones. The rest are refused, in the
/// order asked. A seq claimed twice in one run is claimed once, the second
/// refused as in flight, as one by one.
pub(crate) fn claim_all(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    claims: &[JournalUpdate],
    leases: Option<&HashMap<String, bool>>,
) -> Result<Vec<Refusal>, JournalError> {
    let mut seqs = Vec::with_capacity(claims.len());
    let mut ats = Vec::with_capacity(claims.len());
    for claim in claims {
        if let JournalUpdate::InFlight { seq, at } = claim {
            seqs.push(seq_param(*seq));
            ats.push(to_ns(*at)?);
        }
    }
    let rows = tx
        .query(
            "SELECT seq, state, account FROM messages WHERE campaign = $1 AND seq = ANY($2)
             ORDER BY seq FOR UPDATE",
            &[&ctx.campaign, &seqs],
        )
        .map_err(ctx.pg("claiming messages"))?;
    let mut states: HashMap<i64, MessageState> = rows
        .iter()
        .map(|row| (row.get::<_, i64>(0), parse_state(row.get(1))))
        .collect();
    let accounts: HashMap<i64, &str> = rows
        .iter()
        .map(|row| (row.get::<_, i64>(0), row.get::<_, &str>(2)))
        .collect();
    let mut refusals = Vec::new();
    let mut claim_seqs = Vec::new();
    let mut claim_ats = Vec::new();
    for (&seq, &at) in seqs.iter().zip(&ats) {
        match states.get(&seq).copied() {
            // The lease first, whatever the state (see `pg_claim::claim`).
            Some(_) if !lease_allows(leases, accounts.get(&seq).copied().unwrap_or_default()) => {
                refusals.push(Refusal::lease_lost(seq as u64));
            }
            Some(MessageState::Pending) => {
                states.insert(seq, MessageState::InFlight);
                claim_seqs.push(seq);
                claim_ats.push(at);
            }
            state => refusals.push(Refusal::not_claimable(seq as u64, state)),
        }
    }
    tx.execute(
        "UPDATE messages m SET state = 'in_flight', last_attempt_at_ns = u.at
         FROM unnest($2::bigint[], $3::bigint[]) AS u(seq, at)
         WHERE m.campaign = $1 AND m.seq = ANY($2) AND m.seq = u.seq
             AND m.state || '' = 'pending'",
        &[&ctx.campaign, &claim_seqs, &claim_ats],
    )
    .map_err(ctx.pg("claiming messages"))?;
    Ok(refusals)
}

/// Records a run of sends in one statement; if any of them is not in
/// flight, the first such (in the order given) fails the batch, as one by
/// one.
pub(crate) fn sent_all(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    sends: &[JournalUpdate],
) -> Result<(), JournalError> {
    let mut seqs = Vec::with_capacity(sends.len());
    let mut ats = Vec::with_capacity(sends.len());
    let mut ids: Vec<Option<&str>> = Vec::with_capacity(sends.len());
    for send in sends {
        if let JournalUpdate::Outcome {
            seq,
            outcome: Outcome::Sent { at, api_message_id },
        } = send
        {
            seqs.push(seq_param(*seq));
            ats.push(to_ns(*at)?);
            ids.push(api_message_id.as_deref());
        }
    }
    let updated: std::collections::HashSet<i64> = tx
        .query(
            "UPDATE messages m SET state = 'sent', sent_at_ns = u.at, api_message_id = u.id,
                 failure_reason = NULL
             FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS u(seq, at, id)
             WHERE m.campaign = $1 AND m.seq = ANY($2) AND m.seq = u.seq
                 AND m.state || '' = 'in_flight'
             RETURNING m.seq",
            &[&ctx.campaign, &seqs, &ats, &ids],
        )
        .map_err(ctx.pg("recording outcomes"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    first_not_in_flight(tx, ctx, &seqs, &updated, MessageState::Sent)
}

/// Claims given back (claimed ahead, not used as made) in one statement;
/// as [`sent_all`], one that is not in flight fails the batch.
pub(crate) fn back_to_pending_all(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    seqs: &[u64],
) -> Result<(), JournalError> {
    let seqs: Vec<i64> = seqs.iter().map(|&seq| seq_param(seq)).collect();
    let updated: std::collections::HashSet<i64> = tx
        .query(
            "UPDATE messages m SET state = 'pending'
             FROM unnest($2::bigint[]) AS u(seq)
             WHERE m.campaign = $1 AND m.seq = ANY($2) AND m.seq = u.seq
                 AND m.state || '' = 'in_flight'
             RETURNING m.seq",
            &[&ctx.campaign, &seqs],
        )
        .map_err(ctx.pg("recording outcomes"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    first_not_in_flight(tx, ctx, &seqs, &updated, MessageState::Pending)
}

/// After a batched outcome: fails with the error one by one gives for the
/// first of `seqs` (in order) that `updated` lacks, a seq given twice
/// finding the state the first one left (`again`).
fn first_not_in_flight(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    seqs: &[i64],
    updated: &std::collections::HashSet<i64>,
    again: MessageState,
) -> Result<(), JournalError> {
    // A worker that lost a lease leaves the new holder's states alone.
    if updated.len() == seqs.len() || ctx.lease.is_some() {
        return Ok(());
    }
    // Some were not in flight, or one was given twice: the first of them, in
    // the order given, fails the batch with the error one by one gives.
    let mut seen = std::collections::HashSet::new();
    for &seq in seqs {
        if updated.contains(&seq) && seen.insert(seq) {
            continue;
        }
        let state = if seen.contains(&seq) {
            Some(again)
        } else {
            state_of(tx, ctx, seq as u64)?
        };
        return Err(match state {
            None => JournalError::UnknownSeq { seq: seq as u64 },
            state => JournalError::NotInFlight {
                seq: seq as u64,
                state,
            },
        });
    }
    Ok(())
}
