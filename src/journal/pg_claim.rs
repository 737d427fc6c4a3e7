//! Claims on the PostgreSQL send path: a message goes `pending ->
//! in_flight` only if it is pending, its recipient is not stopped, and, in
//! a worker's store, its account's lease is this worker's (`pg_lease`) and
//! its domain's day has room (`pg_domains`).
//! A claim locks its message row (`SELECT ... FOR UPDATE`) before checking
//! it, so a concurrent claim or stop of the same message waits for this
//! transaction and then sees its result.

use std::collections::HashMap;

use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::model::MessageState;
use crate::journal::pg::Ctx;
use crate::journal::pg_domains::domain_full;
use crate::journal::pg_edits::skip_one;
use crate::journal::pg_lease::{LeaseCheck, claimable_accounts};
use crate::journal::pg_stops::stop_reason;
use crate::journal::pg_write::{SendPath, parse_state, seq_param};
use crate::journal::stops::skip_reason;
use crate::journal::store::{JournalUpdate, Refusal};

/// Which accounts a worker may claim for in `batch` (by account name).
pub(crate) fn claimable(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    check: &LeaseCheck,
    batch: &[JournalUpdate],
) -> Result<HashMap<String, bool>, JournalError> {
    let seqs: Vec<i64> = batch
        .iter()
        .filter_map(|update| match update {
            JournalUpdate::InFlight { seq, .. } => Some(seq_param(*seq)),
            _ => None,
        })
        .collect();
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    claimable_accounts(tx, &ctx.location, ctx.campaign, &seqs, check)
}

/// Whether a worker's lease lets it claim for `account` (always, outside
/// workers).
pub(crate) fn lease_allows(leases: Option<&HashMap<String, bool>>, account: &str) -> bool {
    leases.is_none_or(|leases| leases.get(account).copied().unwrap_or(false))
}

/// One claim and what it is checked against.
pub(crate) struct Claim<'a> {
    pub(crate) any_stops: bool,
    pub(crate) leases: Option<&'a HashMap<String, bool>>,
    pub(crate) seq: u64,
    pub(crate) at_ns: i64,
}

pub(crate) fn claim(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    statements: &SendPath,
    claim: Claim<'_>,
) -> Result<Option<Refusal>, JournalError> {
    let Claim {
        any_stops,
        leases,
        seq,
        at_ns,
    } = claim;
    let row = tx
        .query_opt(&statements.lock_message, &[&ctx.campaign, &seq_param(seq)])
        .map_err(ctx.pg("claiming a message"))?;
    let Some(row) = row else {
        return Ok(Some(Refusal::not_claimable(seq, None)));
    };
    // The lease first: a message in flight under another worker's lease
    // must not read as this worker's own earlier claim (which a retry may
    // use), or both would send it.
    if !lease_allows(leases, row.get(2)) {
        return Ok(Some(Refusal::lease_lost(seq)));
    }
    let state = parse_state(row.get(0));
    if state != MessageState::Pending {
        return Ok(Some(Refusal::not_claimable(seq, Some(state))));
    }
    let recipient: String = row.get(1);
    // As in SQLite: a stopped recipient's message that is pending again is
    // skipped now instead of sent.
    if any_stops && let Some(reason) = stop_reason(tx, ctx, &recipient)? {
        skip_one(tx, ctx, seq, Some(&skip_reason(&reason)))?;
        return Ok(Some(Refusal::not_claimable(
            seq,
            Some(MessageState::Skipped),
        )));
    }
    if let Some(rule) = ctx.domain_cap
        && domain_full(tx, ctx, rule, seq_param(seq), &recipient, at_ns)?
    {
        return Ok(Some(Refusal::domain_full(seq)));
    }
    tx.execute(&statements.claim, &[&ctx.campaign, &seq_param(seq), &at_ns])
        .map_err(ctx.pg("claiming a message"))?;
    Ok(None)
}
