//! The PostgreSQL store's stops: recording one (and skipping what has not
//! gone), and the lookup every claim makes. The rules are
//! [`super::stops`]'s, the same as SQLite's (`sqlite_stops`).
//!
//! Ordering with claims: a claim locks its message row first; a stop's
//! skip of that row waits for the claim's transaction and then re-checks the
//! row's state (READ COMMITTED re-evaluates an UPDATE's condition on the
//! newest row), so whichever commits first wins, and the stop's report
//! counts what each message really was: a claimed one as in flight.

use std::collections::HashMap;

use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::model::MessageState;
use crate::journal::pg::Ctx;
use crate::journal::pg_conn::Session;
use crate::journal::pg_edits::skip_one;
use crate::journal::pg_write::{parse_state, state_of};
use crate::journal::sqlite::to_ns;
use crate::journal::stops::{
    STOPPED_PREFIX, StopReport, StopRequest, StopTarget, TargetOutcome, domain_of, domain_suffixes,
    recipient_key, skip_reason,
};

pub fn record_stop(
    session: &mut Session,
    ctx: &Ctx,
    request: &StopRequest,
) -> Result<StopReport, JournalError> {
    let at_ns = to_ns(request.at)?;
    let reason = skip_reason(&request.reason);
    let mut tx = session
        .client
        .transaction()
        .map_err(ctx.pg("starting a transaction"))?;
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (index, target) in request.targets.iter().enumerate() {
        let key = target.stored_key();
        tx.execute(
            "INSERT INTO stops (campaign, recipient_key, reason, source, at_ns)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &ctx.campaign,
                &key,
                &request.reason,
                &request.source,
                &at_ns,
            ],
        )
        .map_err(ctx.pg("recording a stop"))?;
        by_key.entry(key).or_insert(index);
    }
    let mut outcomes = vec![TargetOutcome::default(); request.targets.len()];
    // One pass over the campaign's messages, matched in memory.
    let rows = tx
        .query(
            "SELECT seq, recipient, state FROM messages WHERE campaign = $1",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("reading messages"))?;
    let matched: Vec<(u64, MessageState, usize)> = rows
        .iter()
        .filter_map(|row| {
            let index = target_of(&by_key, row.get(1))?;
            Some((row.get::<_, i64>(0) as u64, parse_state(row.get(2)), index))
        })
        .collect();
    for (seq, state, index) in matched {
        let mut state = state;
        if matches!(
            state,
            MessageState::Pending | MessageState::Failed | MessageState::Uncertain
        ) {
            if skip_one(&mut tx, ctx, seq, Some(&reason))? {
                outcomes[index].stopped += 1;
                continue;
            }
            // A claim committed in between: count what it is now.
            state = state_of(&mut tx, ctx, seq)?.unwrap_or(MessageState::Skipped);
        }
        let outcome = &mut outcomes[index];
        match state {
            MessageState::Sent => outcome.already_sent += 1,
            MessageState::InFlight => outcome.in_flight += 1,
            _ => outcome.already_skipped += 1,
        }
    }
    tx.commit().map_err(ctx.pg("recording a stop"))?;
    Ok(StopReport {
        targets: request.targets.iter().cloned().zip(outcomes).collect(),
    })
}

fn target_of(by_key: &HashMap<String, usize>, recipient: &str) -> Option<usize> {
    let key = recipient_key(recipient);
    if let Some(&index) = by_key.get(&key) {
        return Some(index);
    }
    let domain = domain_of(&key)?;
    domain_suffixes(domain).find_map(|suffix| by_key.get(&format!("@{suffix}")).copied())
}

/// The reason of the earliest stop that names `recipient`, if any: one query
/// for the recipient's key, `@` its domain and each parent domain.
pub(crate) fn stop_reason(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    recipient: &str,
) -> Result<Option<String>, JournalError> {
    let key = recipient_key(recipient);
    let mut keys = vec![key.clone()];
    if let Some(domain) = domain_of(&key) {
        keys.extend(domain_suffixes(domain).map(|suffix| format!("@{suffix}")));
    }
    // The recipient's own stop first, then the narrowest domain, as SQLite.
    let rows = tx
        .query(
            "SELECT recipient_key, reason FROM stops
             WHERE campaign = $1 AND recipient_key = ANY($2) ORDER BY id",
            &[&ctx.campaign, &keys],
        )
        .map_err(ctx.pg("reading the stops"))?;
    Ok(keys.iter().find_map(|key| {
        rows.iter()
            .find(|row| row.get::<_, &str>(0) == key)
            .map(|row| row.get::<_, String>(1))
    }))
}

pub fn stopped_by_reason(
    session: &mut Session,
    ctx: &Ctx,
) -> Result<Vec<(String, u64)>, JournalError> {
    let rows = session
        .client
        .query(
            "SELECT failure_reason, count(*) FROM messages
             WHERE campaign = $1 AND state = 'skipped' AND failure_reason LIKE 'stopped: %'
             GROUP BY failure_reason",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("counting stopped messages"))?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for row in &rows {
        let reason: String = row.get(0);
        let reason = reason.strip_prefix(STOPPED_PREFIX).unwrap_or(&reason);
        let reason = reason.split(" (before: ").next().unwrap_or(reason);
        *counts.entry(reason.to_string()).or_default() += row.get::<_, i64>(1) as u64;
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts)
}

pub fn stops(
    session: &mut Session,
    ctx: &Ctx,
) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
    let rows = session
        .client
        .query(
            "SELECT recipient_key, reason, source FROM stops WHERE campaign = $1 ORDER BY id",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("reading the stops"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let key: String = row.get(0);
            let target = match key.strip_prefix('@') {
                Some(domain) => StopTarget::Domain(domain.to_string()),
                None => StopTarget::Recipient(key),
            };
            (target, row.get(1), row.get(2))
        })
        .collect())
}
