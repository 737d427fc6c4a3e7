//! Who holds each account of a campaign in PostgreSQL, for `status`: the
//! lease columns of `accounts` (`lease_holder`, `lease_until_ns`, `fence`,
//! `not_before_ns`) and the live rows of `workers`.
//!
//! Leases expire on the database's clock, never a worker's or ours, so the
//! rows come with the database's `now()`, read in the same `REPEATABLE READ
//! READ ONLY` transaction (one snapshot, one `now()`): a view computed from
//! them is right however this machine's clock drifts. Reads only; the
//! view itself is `cli/lease_view.rs`.

use chrono::{DateTime, Utc};
use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::pg::{Ctx, PgStore};
use crate::journal::pg_conn::Session;

/// A worker seen this recently is live (its heartbeat is more frequent).
pub const LIVE_WITHIN: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// One account's lease, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLease {
    pub account: String,
    /// The worker that took the lease last (it may have expired since).
    pub holder: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Raised with each new lease, so a worker that lost it cannot write.
    pub fence: i64,
    /// No worker leases the account before its next message is due.
    pub not_before: Option<DateTime<Utc>>,
}

/// A worker seen within [`LIVE_WITHIN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveWorker {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub seen_at: DateTime<Utc>,
    /// Accounts of this campaign whose lease it holds now.
    pub holds: u64,
}

/// A campaign's leases and the live workers, at the database's `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holders {
    pub now: DateTime<Utc>,
    pub accounts: Vec<AccountLease>,
    pub workers: Vec<LiveWorker>,
}

impl PgStore {
    /// The campaign's leases and the database's live workers, in one
    /// snapshot, with the database's clock.
    pub fn holders(&self) -> Result<Holders, JournalError> {
        self.read(read_holders)
    }
}

fn read_holders(session: &mut Session, ctx: &Ctx) -> Result<Holders, JournalError> {
    let mut tx = session
        .client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(ctx.pg("starting a read transaction"))?;
    let now_ns: i64 = tx
        .query_one(
            "SELECT (extract(epoch FROM now()) * 1000000000)::bigint",
            &[],
        )
        .map_err(ctx.pg("reading the database's clock"))?
        .get(0);
    let accounts = leases(&mut tx, ctx)?;
    let workers = live_workers(&mut tx, ctx, now_ns)?;
    // Read only: ending the snapshot is all a commit would do.
    tx.rollback().map_err(ctx.pg("ending a read transaction"))?;
    Ok(Holders {
        now: at(now_ns),
        accounts,
        workers,
    })
}

fn leases(tx: &mut Transaction<'_>, ctx: &Ctx) -> Result<Vec<AccountLease>, JournalError> {
    let rows = tx
        .query(
            "SELECT account, lease_holder, lease_until_ns, fence, not_before_ns
             FROM accounts WHERE campaign = $1 ORDER BY account",
            &[&ctx.campaign],
        )
        .map_err(ctx.pg("reading the accounts' leases"))?;
    Ok(rows
        .iter()
        .map(|row| AccountLease {
            account: row.get(0),
            holder: row.get(1),
            lease_until: row.get::<_, Option<i64>>(2).map(at),
            fence: row.get(3),
            not_before: row.get::<_, Option<i64>>(4).map(at),
        })
        .collect())
}

fn live_workers(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    now_ns: i64,
) -> Result<Vec<LiveWorker>, JournalError> {
    let live_ns = LIVE_WITHIN.num_nanoseconds().unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "SELECT w.id, w.host, w.pid, w.seen_at_ns,
                 (SELECT count(*) FROM accounts a WHERE a.campaign = $1
                     AND a.lease_holder = w.id AND a.lease_until_ns > $2)
             FROM workers w WHERE w.seen_at_ns > $2 - $3 ORDER BY w.id",
            &[&ctx.campaign, &now_ns, &live_ns],
        )
        .map_err(ctx.pg("reading the live workers"))?;
    Ok(rows
        .iter()
        .map(|row| LiveWorker {
            id: row.get(0),
            host: row.get(1),
            pid: row.get(2),
            seen_at: at(row.get(3)),
            holds: u64::try_from(row.get::<_, i64>(4)).unwrap_or(0),
        })
        .collect())
}

fn at(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}
