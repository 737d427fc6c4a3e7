//! Applying one group commit's updates to PostgreSQL in a few statements.
//!
//! The writer's batch interleaves the updates of many messages: a claim,
//! an attempt and an outcome of one, then of another. Each message's own
//! updates must apply in their order; those of different messages are
//! independent (each touches its own row). So the batch is cut into rounds
//! (round k holds the k-th update of every message in it) and each round
//! applies as one statement per kind: claims, attempts with their
//! accounts' latest rate-limit word, sends, claims given back. A round trip per statement,
//! not per message: what lets several workers commit thousands of sends a
//! second into one database.

use std::collections::HashMap;

use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::model::{AttemptRecord, Outcome};
use crate::journal::pg::Ctx;
use crate::journal::pg_batch::{back_to_pending_all, claim_all, sent_all};
use crate::journal::pg_claim::{Claim, claim};
use crate::journal::pg_write::{SendPath, record_outcome, seq_param};
use crate::journal::sqlite::{opt_to_ns, to_ns};
use crate::journal::store::{JournalUpdate, Refusal};

/// What every claim of the transaction is checked against.
pub(crate) struct Checks<'a> {
    pub(crate) any_stops: bool,
    pub(crate) leases: Option<&'a HashMap<String, bool>>,
}

/// Applies `batch` in rounds (see the module docs); returns the claims
/// refused.
pub(crate) fn apply(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    statements: &SendPath,
    checks: &Checks<'_>,
    batch: &[JournalUpdate],
) -> Result<Vec<Refusal>, JournalError> {
    let mut refusals = Vec::new();
    for round in rounds(batch) {
        refusals.extend(claims(tx, ctx, statements, checks, &round)?);
        let attempts: Vec<&AttemptRecord> = round
            .iter()
            .filter_map(|update| match update {
                JournalUpdate::Attempt(attempt) => Some(attempt),
                _ => None,
            })
            .collect();
        if !attempts.is_empty() {
            attempts_all(tx, ctx, statements, &attempts)?;
        }
        let sends: Vec<JournalUpdate> = round
            .iter()
            .filter(|update| is_sent(update))
            .map(|update| (*update).clone())
            .collect();
        if sends.len() > 1 {
            sent_all(tx, ctx, &sends)?;
        }
        let given_back: Vec<u64> = round
            .iter()
            .filter_map(|update| match update {
                JournalUpdate::Outcome {
                    seq,
                    outcome: Outcome::BackToPending,
                } => Some(*seq),
                _ => None,
            })
            .collect();
        if given_back.len() > 1 {
            back_to_pending_all(tx, ctx, &given_back)?;
        }
        for update in &round {
            let batched = (sends.len() > 1 && is_sent(update))
                || (given_back.len() > 1 && is_given_back(update));
            if let JournalUpdate::Outcome { seq, outcome } = update
                && !batched
            {
                record_outcome(tx, ctx, statements, *seq, outcome)?;
            }
        }
    }
    Ok(refusals)
}

/// Round k: the k-th update of each message, in the batch's order.
fn rounds(batch: &[JournalUpdate]) -> Vec<Vec<&JournalUpdate>> {
    let mut seen: HashMap<u64, usize> = HashMap::with_capacity(batch.len());
    let mut rounds: Vec<Vec<&JournalUpdate>> = Vec::new();
    for update in batch {
        let count = seen.entry(seq_of(update)).or_insert(0);
        if rounds.len() <= *count {
            rounds.push(Vec::new());
        }
        rounds[*count].push(update);
        *count += 1;
    }
    rounds
}

fn seq_of(update: &JournalUpdate) -> u64 {
    match update {
        JournalUpdate::InFlight { seq, .. } | JournalUpdate::Outcome { seq, .. } => *seq,
        JournalUpdate::Attempt(attempt) => attempt.seq,
    }
}

fn is_sent(update: &JournalUpdate) -> bool {
    matches!(
        update,
        JournalUpdate::Outcome {
            outcome: Outcome::Sent { .. },
            ..
        }
    )
}

fn is_given_back(update: &JournalUpdate) -> bool {
    matches!(
        update,
        JournalUpdate::Outcome {
            outcome: Outcome::BackToPending,
            ..
        }
    )
}

fn claims(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    statements: &SendPath,
    checks: &Checks<'_>,
    round: &[&JournalUpdate],
) -> Result<Vec<Refusal>, JournalError> {
    let claims: Vec<JournalUpdate> = round
        .iter()
        .filter(|update| matches!(update, JournalUpdate::InFlight { .. }))
        .map(|update| (*update).clone())
        .collect();
    // A stopped recipient's claim is skipped one by one (`pg_claim`); so is
    // a claim that counts its domain's day (`pg_domains`).
    if claims.len() > 1 && !checks.any_stops && ctx.domain_cap.is_none() {
        return claim_all(tx, ctx, &claims, checks.leases);
    }
    let mut refusals = Vec::new();
    for update in &claims {
        if let JournalUpdate::InFlight { seq, at } = update {
            let claim_of = Claim {
                any_stops: checks.any_stops,
                leases: checks.leases,
                seq: *seq,
                at_ns: to_ns(*at)?,
            };
            refusals.extend(claim(tx, ctx, statements, claim_of)?);
        }
    }
    Ok(refusals)
}

/// Counts and stores attempts of distinct messages in two statements, then
/// each account's latest word from its server in a third (latest in the
/// batch's order wins, as one by one).
fn attempts_all(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    statements: &SendPath,
    attempts: &[&AttemptRecord],
) -> Result<(), JournalError> {
    let mut rows = AttemptRows::default();
    for attempt in attempts {
        rows.push(attempt)?;
    }
    let accounts: HashMap<i64, String> = tx
        .query(
            &statements.count_attempts,
            &[
                &ctx.campaign,
                &rows.seqs,
                &rows.ats,
                &rows.counted,
                &rows.statuses,
            ],
        )
        .map_err(ctx.pg("recording attempts"))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    if let Some(&missing) = rows.seqs.iter().find(|seq| !accounts.contains_key(seq)) {
        return Err(JournalError::UnknownSeq {
            seq: missing as u64,
        });
    }
    tx.execute(
        &statements.insert_attempts,
        &[
            &ctx.campaign,
            &rows.seqs,
            &rows.ats,
            &rows.statuses,
            &rows.limits,
            &rows.remainings,
            &rows.resets,
            &rows.errors,
        ],
    )
    .map_err(ctx.pg("recording attempts"))?;
    let words = rows.stats(&accounts);
    if words.is_empty() {
        return Ok(());
    }
    let mut names = Vec::with_capacity(words.len());
    let mut columns = AccountColumns::default();
    for (account, word) in words {
        names.push(account);
        columns.push(word);
    }
    tx.execute(
        &statements.account_stats,
        &[
            &ctx.campaign,
            &names,
            &columns.throttled,
            &columns.limit,
            &columns.remaining,
            &columns.reset_ns,
            &columns.at_ns,
            &columns.error,
        ],
    )
    .map_err(ctx.pg("recording attempts"))?;
    Ok(())
}

/// Attempts as columns, for `unnest`.
#[derive(Default)]
struct AttemptRows {
    seqs: Vec<i64>,
    ats: Vec<i64>,
    /// 0 for a 429 (the server did not take the message), else 1.
    counted: Vec<i32>,
    statuses: Vec<Option<i32>>,
    limits: Vec<Option<i64>>,
    remainings: Vec<Option<i64>>,
    resets: Vec<Option<i64>>,
    errors: Vec<Option<String>>,
}

/// One account's latest word, as `ACCOUNT_STATS` takes it.
#[derive(Default)]
struct AccountWord {
    throttled: i64,
    limit: Option<i64>,
    remaining: Option<i64>,
    reset_ns: Option<i64>,
    at_ns: Option<i64>,
    error: Option<String>,
}

/// Accounts' words as columns, for `unnest`.
#[derive(Default)]
struct AccountColumns {
    throttled: Vec<i64>,
    limit: Vec<Option<i64>>,
    remaining: Vec<Option<i64>>,
    reset_ns: Vec<Option<i64>>,
    at_ns: Vec<Option<i64>>,
    error: Vec<Option<String>>,
}

impl AccountColumns {
    fn push(&mut self, word: AccountWord) {
        self.throttled.push(word.throttled);
        self.limit.push(word.limit);
        self.remaining.push(word.remaining);
        self.reset_ns.push(word.reset_ns);
        self.at_ns.push(word.at_ns);
        self.error.push(word.error);
    }
}

impl AttemptRows {
    fn push(&mut self, attempt: &AttemptRecord) -> Result<(), JournalError> {
        let snapshot = attempt.rate_limit.filter(|snapshot| !snapshot.is_empty());
        self.seqs.push(seq_param(attempt.seq));
        self.ats.push(to_ns(attempt.at)?);
        self.counted.push(i32::from(attempt.status != Some(429)));
        self.statuses.push(attempt.status.map(i32::from));
        self.limits
            .push(snapshot.and_then(|s| s.limit).map(i64::from));
        self.remainings
            .push(snapshot.and_then(|s| s.remaining).map(i64::from));
        self.resets
            .push(opt_to_ns(snapshot.and_then(|s| s.reset_at))?);
        self.errors.push(attempt.error.clone());
        Ok(())
    }

    /// Each account's throttles summed and its latest snapshot and error,
    /// for the accounts whose attempts said anything.
    fn stats(&self, accounts: &HashMap<i64, String>) -> Vec<(String, AccountWord)> {
        let mut words: Vec<(String, AccountWord)> = Vec::new();
        let mut index_of: HashMap<&str, usize> = HashMap::new();
        for (i, seq) in self.seqs.iter().enumerate() {
            let throttled = self.counted[i] == 0;
            let has_snapshot = self.limits[i].is_some()
                || self.remainings[i].is_some()
                || self.resets[i].is_some();
            if !throttled && !has_snapshot && self.errors[i].is_none() {
                continue;
            }
            let account = &accounts[seq];
            let index = *index_of.entry(account.as_str()).or_insert_with(|| {
                words.push((account.clone(), AccountWord::default()));
                words.len() - 1
            });
            let word = &mut words[index].1;
            word.throttled += i64::from(throttled);
            if has_snapshot {
                word.limit = self.limits[i];
                word.remaining = self.remainings[i];
                word.reset_ns = self.resets[i];
                word.at_ns = Some(self.ats[i]);
            }
            if let Some(error) = &self.errors[i] {
                word.error = Some(error.clone());
            }
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at() -> DateTime<Utc> {
        "2026-01-05T09:00:00Z".parse().unwrap()
    }

    fn claim(seq: u64) -> JournalUpdate {
        JournalUpdate::InFlight { seq, at: at() }
    }

    fn sent(seq: u64) -> JournalUpdate {
        JournalUpdate::Outcome {
            seq,
            outcome: Outcome::Sent {
                at: at(),
                api_message_id: None,
            },
        }
    }

    fn attempt(seq: u64) -> JournalUpdate {
        JournalUpdate::Attempt(AttemptRecord {
            seq,
            at: at(),
            status: Some(201),
            rate_limit: None,
            error: None,
        })
    }

    #[test]
    fn each_message_keeps_its_order_and_messages_share_rounds() {
        let batch = [
            attempt(1),
            sent(1),
            claim(3),
            attempt(2),
            sent(2),
            JournalUpdate::Outcome {
                seq: 3,
                outcome: Outcome::BackToPending,
            },
            claim(3),
        ];
        let rounds = rounds(&batch);
        let seqs: Vec<Vec<u64>> = rounds
            .iter()
            .map(|round| round.iter().map(|u| seq_of(u)).collect())
            .collect();
        assert_eq!(seqs, [vec![1, 3, 2], vec![1, 2, 3], vec![3]]);
        assert_eq!(rounds[0][1], &claim(3));
        assert!(matches!(
            rounds[1][2],
            JournalUpdate::Outcome {
                outcome: Outcome::BackToPending,
                ..
            }
        ));
        assert_eq!(rounds[2][0], &claim(3));
    }
}
