//! The PostgreSQL store's write transactions on the send path: creating a
//! campaign, claiming messages, recording attempts and outcomes, and
//! recovering what a crash left in flight. The same rules as
//! `sqlite_write`, in PostgreSQL's dialect, every statement scoped to one
//! campaign.
//!
//! A claim locks its message row (`SELECT ... FOR UPDATE`) before checking
//! and changing its state, so a concurrent claim or stop of the same message
//! waits for this transaction and then sees its result. Runs of claims and
//! of sends in one batch go in one statement each (`pg_batch`).

use postgres::Transaction;
use postgres::types::ToSql;

use crate::journal::error::JournalError;
use crate::journal::model::{CampaignMeta, MessageState, NewMessage, Outcome};
use crate::journal::pg::Ctx;
use crate::journal::pg_claim::claimable;
use crate::journal::pg_commits::{Marker, RecordError};
use crate::journal::pg_conn::Session;
use crate::journal::pg_rounds::{Checks, apply};
use crate::journal::sqlite::to_ns;
use crate::journal::sqlite_write::INTERRUPTED_REASON;
use crate::journal::store::{JournalUpdate, Refusal};

/// Messages per INSERT when storing a plan: one statement of arrays
/// (`unnest`) instead of a round trip per message.
const INSERT_CHUNK: usize = 2_000;

pub(crate) fn state_name(state: MessageState) -> &'static str {
    state.as_str()
}

pub(crate) fn parse_state(text: &str) -> MessageState {
    // The CHECK constraint admits only the six names.
    text.parse().unwrap_or(MessageState::Skipped)
}

pub(crate) fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub fn create_campaign(
    session: &mut Session,
    name: &str,
    location: &str,
    url: &str,
    meta: &CampaignMeta,
    messages: &[NewMessage],
) -> Result<i64, JournalError> {
    let pg = |action| JournalError::pg(location, action);
    let mut tx = session
        .client
        .transaction()
        .map_err(pg("starting a transaction"))?;
    let taken = tx
        .query_opt("SELECT id FROM campaigns WHERE name = $1", &[&name])
        .map_err(pg("reading the campaign"))?;
    if taken.is_some() {
        return Err(JournalError::CampaignNameTaken {
            url: url.to_string(),
            name: name.to_string(),
        });
    }
    let id: i64 = tx
        .query_one(
            "INSERT INTO campaigns (name, campaign_id, created_at_ns, csv_path, fingerprint, options_json, tool_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &name,
                &meta.campaign_id,
                &to_ns(meta.created_at)?,
                &meta.csv_path,
                &meta.fingerprint,
                &meta.options_json,
                &meta.tool_version,
            ],
        )
        .map_err(pg("storing the campaign"))?
        .get(0);
    for (position, input) in meta.inputs.iter().enumerate() {
        tx.execute(
            "INSERT INTO campaign_inputs (campaign, position, path, blake3) VALUES ($1, $2, $3, $4)",
            &[&id, &(position as i32), &input.path, &input.blake3],
        )
        .map_err(pg("storing the campaign"))?;
    }
    let ctx = Ctx {
        campaign: id,
        location: location.into(),
        lease: None,
        domain_cap: None,
    };
    insert_messages(&mut tx, &ctx, messages)?;
    tx.commit().map_err(pg("committing the campaign"))?;
    refresh_statistics(session);
    Ok(id)
}

/// Tells the planner how many messages the tables now hold. Without it a
/// campaign stored moments ago looks like a few hundred rows until
/// autovacuum comes by (a minute or more), and a batched update over a
/// group commit's claims is planned as a nested loop over every message of
/// the campaign: 200 ms instead of 2 ms for 340 claims in a 40,000-message
/// campaign. Best effort: a role that may not analyze the tables gets a
/// notice from the server, and any failure costs speed, never correctness,
/// so it is not reported.
pub(crate) fn refresh_statistics(session: &mut Session) {
    let _ = session.client.batch_execute("ANALYZE messages, accounts");
}

/// Stores `messages` and an `accounts` row for each new account. A `seq`
/// the campaign has, or one given twice, is [`JournalError::DuplicateSeq`].
pub(crate) fn insert_messages(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    messages: &[NewMessage],
) -> Result<(), JournalError> {
    let mut seen = std::collections::HashSet::with_capacity(messages.len());
    for message in messages {
        if !seen.insert(message.seq) {
            return Err(JournalError::DuplicateSeq { seq: message.seq });
        }
    }
    for chunk in messages.chunks(INSERT_CHUNK) {
        let seqs: Vec<i64> = chunk.iter().map(|m| seq_param(m.seq)).collect();
        let taken: Option<i64> = tx
            .query_one(
                "SELECT min(seq) FROM messages WHERE campaign = $1 AND seq = ANY($2)",
                &[&ctx.campaign, &seqs],
            )
            .map_err(ctx.pg("storing messages"))?
            .get(0);
        if let Some(taken) = taken {
            // The first of the chunk, in the order given, that is taken.
            let first = chunk
                .iter()
                .map(|m| m.seq)
                .find(|&seq| seq_param(seq) == taken)
                .unwrap_or(taken as u64);
            return Err(JournalError::DuplicateSeq { seq: first });
        }
        let lines: Vec<i64> = chunk.iter().map(|m| seq_param(m.line)).collect();
        let recipients: Vec<&str> = chunk.iter().map(|m| m.recipient.as_str()).collect();
        let accounts: Vec<&str> = chunk.iter().map(|m| m.account.as_str()).collect();
        let subjects: Vec<Option<&str>> = chunk.iter().map(|m| m.subject.as_deref()).collect();
        let bodies: Vec<&str> = chunk.iter().map(|m| m.body.as_str()).collect();
        let keys: Vec<&str> = chunk.iter().map(|m| m.idempotency_key.as_str()).collect();
        let planned: Vec<i64> = chunk
            .iter()
            .map(|m| to_ns(m.planned_at))
            .collect::<Result<_, _>>()?;
        let digests: Vec<&str> = chunk.iter().map(|m| m.row_digest.as_str()).collect();
        let zones: Vec<Option<&str>> = chunk.iter().map(|m| m.timezone.as_deref()).collect();
        let html: Vec<Option<&str>> = chunk.iter().map(|m| m.html.as_deref()).collect();
        let fields: Vec<Option<String>> = chunk
            .iter()
            .map(|m| crate::journal::sqlite_write::fields_json(&m.fields))
            .collect();
        let steps: Vec<i32> = chunk
            .iter()
            .map(|m| i32::try_from(m.sequence.step).unwrap_or(i32::MAX))
            .collect();
        let previous: Vec<Option<i64>> = chunk
            .iter()
            .map(|m| m.sequence.previous.map(seq_param))
            .collect();
        let priorities: Vec<i64> = chunk.iter().map(|m| m.sequence.priority).collect();
        let params: [&(dyn ToSql + Sync); 16] = [
            &ctx.campaign,
            &seqs,
            &lines,
            &recipients,
            &accounts,
            &subjects,
            &bodies,
            &keys,
            &planned,
            &digests,
            &zones,
            &html,
            &fields,
            &steps,
            &previous,
            &priorities,
        ];
        tx.execute(
            "INSERT INTO messages (campaign, seq, line, recipient, account, subject, body,
                 idempotency_key, planned_at_ns, row_digest, timezone, html, fields_json,
                 step, previous_seq, priority)
             SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[],
                 $12::text[], $13::text[], $14::integer[], $15::bigint[], $16::bigint[])",
            &params,
        )
        .map_err(ctx.pg("storing messages"))?;
        tx.execute(
            "INSERT INTO accounts (campaign, account)
             SELECT DISTINCT $1::bigint, a FROM unnest($2::text[]) AS a
             ON CONFLICT DO NOTHING",
            &[&ctx.campaign, &accounts],
        )
        .map_err(ctx.pg("storing messages"))?;
    }
    Ok(())
}

pub fn recover_in_flight(session: &mut Session, ctx: &Ctx) -> Result<u64, JournalError> {
    session
        .client
        .execute(
            "UPDATE messages SET state = 'uncertain', failure_reason = $2
             WHERE campaign = $1 AND state = 'in_flight'",
            &[&ctx.campaign, &INTERRUPTED_REASON],
        )
        .map_err(ctx.pg("recovering in-flight messages"))
}

/// The statements of the send path, prepared once per connection.
pub(crate) struct SendPath {
    pub(crate) lock_message: postgres::Statement,
    pub(crate) any_stops: postgres::Statement,
    pub(crate) claim: postgres::Statement,
    pub(crate) insert_attempts: postgres::Statement,
    pub(crate) count_attempts: postgres::Statement,
    pub(crate) account_stats: postgres::Statement,
    pub(crate) sent: postgres::Statement,
    pub(crate) failed: postgres::Statement,
    pub(crate) back_to_pending: postgres::Statement,
    pub(crate) uncertain: postgres::Statement,
    pub(crate) outcome_error: postgres::Statement,
}

const LOCK_MESSAGE: &str =
    "SELECT state, recipient, account FROM messages WHERE campaign = $1 AND seq = $2 FOR UPDATE";
const ANY_STOPS: &str = "SELECT EXISTS (SELECT 1 FROM stops WHERE campaign = $1)";
const CLAIM: &str = "UPDATE messages SET state = 'in_flight', last_attempt_at_ns = $3
     WHERE campaign = $1 AND seq = $2 AND state = 'pending'";
// In array order, so each message's attempts keep theirs (`id`).
const INSERT_ATTEMPTS: &str = "INSERT INTO attempts
         (campaign, seq, at_ns, status, rl_limit, rl_remaining, rl_reset_at_ns, error)
     SELECT $1, u.* FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::bigint[],
         $6::bigint[], $7::bigint[], $8::text[])
         AS u(seq, at_ns, status, rl_limit, rl_remaining, rl_reset_at_ns, error)";
// Distinct messages only (one round of `pg_rounds`). A 429 is not counted.
const COUNT_ATTEMPTS: &str = "UPDATE messages m SET
         attempts = m.attempts + u.counted,
         last_status = COALESCE(u.status, m.last_status),
         last_attempt_at_ns = CASE WHEN u.counted = 1
             THEN GREATEST(COALESCE(m.last_attempt_at_ns, u.at), u.at) ELSE m.last_attempt_at_ns END
     FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::int[]) AS u(seq, at, counted, status)
     WHERE m.campaign = $1 AND m.seq = ANY($2) AND m.seq = u.seq
     RETURNING m.seq, m.account";
// Latest recorded wins, as in SQLite's `account_stats`; one row per
// account (`pg_rounds` folds a round's attempts per account first).
const ACCOUNT_STATS: &str = "INSERT INTO account_stats AS a
         (campaign, account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error)
     SELECT $1, u.* FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
         $6::bigint[], $7::bigint[], $8::text[])
         AS u(account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error)
     ON CONFLICT (campaign, account) DO UPDATE SET
         throttled = a.throttled + excluded.throttled,
         rl_limit = CASE WHEN excluded.rl_at_ns IS NULL THEN a.rl_limit ELSE excluded.rl_limit END,
         rl_remaining = CASE WHEN excluded.rl_at_ns IS NULL THEN a.rl_remaining ELSE excluded.rl_remaining END,
         rl_reset_at_ns = CASE WHEN excluded.rl_at_ns IS NULL THEN a.rl_reset_at_ns ELSE excluded.rl_reset_at_ns END,
         rl_at_ns = COALESCE(excluded.rl_at_ns, a.rl_at_ns),
         last_error = COALESCE(excluded.last_error, a.last_error)";
const SENT: &str = "UPDATE messages SET state = 'sent', sent_at_ns = $3, api_message_id = $4,
         failure_reason = NULL
     WHERE campaign = $1 AND seq = $2 AND state = 'in_flight'";
const FAILED: &str = "UPDATE messages SET state = 'failed', failure_reason = $3,
         last_status = COALESCE($4, last_status)
     WHERE campaign = $1 AND seq = $2 AND state = 'in_flight'";
const BACK_TO_PENDING: &str = "UPDATE messages SET state = 'pending'
     WHERE campaign = $1 AND seq = $2 AND state = 'in_flight'";
const UNCERTAIN: &str = "UPDATE messages SET state = 'uncertain', failure_reason = $3
     WHERE campaign = $1 AND seq = $2 AND state = 'in_flight'";
const OUTCOME_ERROR: &str = "INSERT INTO account_stats AS a (campaign, account, last_error)
     SELECT campaign, account, $3 FROM messages WHERE campaign = $1 AND seq = $2
     ON CONFLICT (campaign, account) DO UPDATE SET last_error = excluded.last_error";

impl SendPath {
    fn prepare(session: &mut Session) -> Result<SendPath, postgres::Error> {
        Ok(SendPath {
            lock_message: session.statement(LOCK_MESSAGE)?,
            any_stops: session.statement(ANY_STOPS)?,
            claim: session.statement(CLAIM)?,
            insert_attempts: session.statement(INSERT_ATTEMPTS)?,
            count_attempts: session.statement(COUNT_ATTEMPTS)?,
            account_stats: session.statement(ACCOUNT_STATS)?,
            sent: session.statement(SENT)?,
            failed: session.statement(FAILED)?,
            back_to_pending: session.statement(BACK_TO_PENDING)?,
            uncertain: session.statement(UNCERTAIN)?,
            outcome_error: session.statement(OUTCOME_ERROR)?,
        })
    }
}

/// Records `batch` in one transaction marked with `marker`, so that a
/// commit whose answer is lost can be settled (`pg_commits`).
pub(crate) fn record(
    session: &mut Session,
    ctx: &Ctx,
    batch: &[JournalUpdate],
    marker: &Marker,
) -> Result<Vec<Refusal>, RecordError> {
    let statements =
        SendPath::prepare(session).map_err(ctx.pg("preparing the journal's statements"))?;
    let mark = Marker::prepare(session).map_err(ctx.pg("preparing the journal's statements"))?;
    let mut tx = session
        .client
        .transaction()
        .map_err(ctx.pg("starting a transaction"))?;
    // Stops are recorded by other processes; one look per transaction is
    // enough, since a stop skips the pending messages it names in its own
    // transaction, and a row this one locks later shows that.
    let any_stops: bool = tx
        .query_one(&statements.any_stops, &[&ctx.campaign])
        .map_err(ctx.pg("reading the stops"))?
        .get(0);
    // A worker's claims need their account's lease (see `pg_lease`).
    let leases = match &ctx.lease {
        Some(check) => Some(claimable(&mut tx, ctx, check, batch)?),
        None => None,
    };
    let leases = leases.as_ref();
    let checks = Checks { any_stops, leases };
    let refusals = apply(&mut tx, ctx, &statements, &checks, batch)?;
    marker.insert(&mut tx, &mark, ctx)?;
    match tx.commit() {
        Ok(()) => Ok(refusals),
        Err(source) => Err(RecordError::AtCommit {
            refusals,
            error: Box::new(ctx.pg("committing to the journal")(source)),
        }),
    }
}

pub(crate) fn state_of(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    seq: u64,
) -> Result<Option<MessageState>, JournalError> {
    tx.query_opt(
        "SELECT state FROM messages WHERE campaign = $1 AND seq = $2",
        &[&ctx.campaign, &seq_param(seq)],
    )
    .map(|row| row.map(|row| parse_state(row.get(0))))
    .map_err(ctx.pg("reading a message's state"))
}

pub(crate) fn record_outcome(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    statements: &SendPath,
    seq: u64,
    outcome: &Outcome,
) -> Result<(), JournalError> {
    let key = seq_param(seq);
    let campaign = &ctx.campaign;
    let changed = match outcome {
        Outcome::Sent { at, api_message_id } => {
            let at_ns = to_ns(*at)?;
            tx.execute(&statements.sent, &[campaign, &key, &at_ns, api_message_id])
        }
        Outcome::Failed { reason, status } => {
            let status = status.map(i32::from);
            tx.execute(&statements.failed, &[campaign, &key, reason, &status])
        }
        Outcome::BackToPending => tx.execute(&statements.back_to_pending, &[campaign, &key]),
        Outcome::Uncertain { reason } => {
            tx.execute(&statements.uncertain, &[campaign, &key, reason])
        }
    }
    .map_err(ctx.pg("recording an outcome"))?;
    if changed == 0 {
        let state = state_of(tx, ctx, seq)?;
        // A worker that lost an account's lease finds its messages made
        // uncertain by the new holder: that stays (it may have arrived).
        if ctx.lease.is_some() && state.is_some() {
            return Ok(());
        }
        return Err(match state {
            None => JournalError::UnknownSeq { seq },
            state => JournalError::NotInFlight { seq, state },
        });
    }
    if let Outcome::Failed { reason, .. } | Outcome::Uncertain { reason } = outcome {
        tx.execute(&statements.outcome_error, &[campaign, &key, reason])
            .map_err(ctx.pg("recording an outcome"))?;
    }
    Ok(())
}
