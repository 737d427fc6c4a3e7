//! Account leases: how several workers share the campaigns of one
//! PostgreSQL database without two of them ever sending for one account.
//!
//! An account's row in `accounts` is its pacing row. A worker leases it
//! (`lease_holder`, `lease_until_ns`) by locking it with `FOR UPDATE SKIP
//! LOCKED`, so workers racing for accounts each get different ones, and
//! raises its fencing token `fence`. The lease is renewed while the worker
//! sends; every claim of a message checks, under a key-share lock of the
//! same row, that the lease is still the claimer's and has time left
//! ([`LeaseCheck`]). A takeover locks the row `FOR UPDATE`, which a
//! key-share lock excludes (renewals and the send statistics take weaker
//! locks, so they never wait for claims). So a takeover and a claim never
//! interleave: either the claim committed first, and the new holder finds
//! the message in flight and makes it uncertain, or the takeover did, and
//! the claim is refused.
//!
//! Every time here is the database's clock (`clock_timestamp()`), never a
//! worker's: leases expire on one clock however the machines drift.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use postgres::GenericClient;

use crate::journal::error::JournalError;

/// The channel `NOTIFY` wakes idle workers on.
pub const WORK_CHANNEL: &str = "outreach_work";

/// The database's clock, in nanoseconds since the Unix epoch.
pub const DB_NOW_NS: &str = "(extract(epoch FROM clock_timestamp()) * 1000000000)::bigint";

/// Why a message taken over from an expired lease is uncertain.
pub const TAKEN_OVER_REASON: &str =
    "its worker stopped while it was in flight (lease expired): it may have arrived";

/// Which leases this process holds, for the claim checks of its stores.
#[derive(Debug)]
pub struct LeaseCheck {
    pub holder: String,
    /// A claim needs at least this much of its lease left, so the request
    /// leaves well before the lease can expire.
    pub margin_ns: i64,
    fences: Mutex<HashMap<(i64, String), i64>>,
}

impl LeaseCheck {
    pub fn new(holder: String, margin_ns: i64) -> Arc<LeaseCheck> {
        Arc::new(LeaseCheck {
            holder,
            margin_ns,
            fences: Mutex::new(HashMap::new()),
        })
    }

    pub fn hold(&self, campaign: i64, account: &str, fence: i64) {
        self.lock().insert((campaign, account.to_string()), fence);
    }

    pub fn drop_lease(&self, campaign: i64, account: &str) {
        self.lock().remove(&(campaign, account.to_string()));
    }

    /// The fence of the lease this process holds on `account`, if any.
    pub fn fence(&self, campaign: i64, account: &str) -> Option<i64> {
        self.lock().get(&(campaign, account.to_string())).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, String), i64>> {
        self.fences.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One account leased by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub campaign: i64,
    pub account: String,
    pub fence: i64,
    /// Messages the previous holder left in flight, now uncertain.
    pub uncertain: u64,
    /// Of those, the ones made pending again (`--resend-uncertain`).
    pub resent: u64,
}

/// A campaign a worker may work on, with its accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCampaign {
    pub id: i64,
    pub name: String,
    /// Accounts with messages pending or in flight.
    pub with_work: i64,
    /// Of those, the ones that are due (no `not_before` in the future).
    pub due: i64,
    /// Of those, the ones no live lease holds.
    pub free: i64,
}

fn pg(url: &str, action: &'static str) -> impl FnOnce(postgres::Error) -> JournalError {
    JournalError::pg(url, action)
}

/// The database's clock now.
pub fn db_now_ns(client: &mut impl GenericClient, url: &str) -> Result<i64, JournalError> {
    client
        .query_one(&format!("SELECT {DB_NOW_NS}"), &[])
        .map(|row| row.get(0))
        .map_err(pg(url, "reading the database's clock"))
}

/// Records this worker as live (or again live) and returns how many workers
/// were seen within `live_ns`, itself included.
pub fn heartbeat(
    client: &mut impl GenericClient,
    url: &str,
    worker: &WorkerId,
    live_ns: i64,
) -> Result<i64, JournalError> {
    client
        .execute(
            &format!(
                "INSERT INTO workers (id, host, pid, started_at_ns, seen_at_ns)
                 VALUES ($1, $2, $3, {DB_NOW_NS}, {DB_NOW_NS})
                 ON CONFLICT (id) DO UPDATE SET seen_at_ns = excluded.seen_at_ns"
            ),
            &[&worker.id, &worker.host, &i64::from(worker.pid)],
        )
        .map_err(pg(url, "recording the worker"))?;
    client
        .query_one(
            &format!("SELECT count(*) FROM workers WHERE seen_at_ns > {DB_NOW_NS} - $1"),
            &[&live_ns],
        )
        .map(|row| row.get(0))
        .map_err(pg(url, "counting live workers"))
}

/// Forgets this worker (it stops cleanly) and workers unseen for an hour.
pub fn unregister(
    client: &mut impl GenericClient,
    url: &str,
    worker: &WorkerId,
) -> Result<(), JournalError> {
    client
        .execute(
            &format!(
                "DELETE FROM workers WHERE id = $1 OR seen_at_ns < {DB_NOW_NS} - 3600000000000"
            ),
            &[&worker.id],
        )
        .map(drop)
        .map_err(pg(url, "removing the worker"))
}

/// Active campaigns with work, and how many of their accounts are free.
pub fn open_campaigns(
    client: &mut impl GenericClient,
    url: &str,
) -> Result<Vec<OpenCampaign>, JournalError> {
    let rows = client
        .query(
            &format!(
                "SELECT c.id, c.name, count(*),
                     count(*) FILTER (WHERE a.not_before_ns IS NULL OR a.not_before_ns <= {DB_NOW_NS}),
                     count(*) FILTER (WHERE (a.lease_holder IS NULL OR a.lease_until_ns < {DB_NOW_NS})
                         AND (a.not_before_ns IS NULL OR a.not_before_ns <= {DB_NOW_NS}))
                 FROM campaigns c JOIN accounts a ON a.campaign = c.id
                 WHERE c.status = 'active' AND EXISTS (
                     SELECT 1 FROM messages m WHERE m.campaign = a.campaign
                         AND m.account = a.account AND m.state IN ('pending', 'in_flight'))
                 GROUP BY c.id, c.name ORDER BY c.id"
            ),
            &[],
        )
        .map_err(pg(url, "listing the campaigns with work"))?;
    Ok(rows
        .iter()
        .map(|row| OpenCampaign {
            id: row.get(0),
            name: row.get(1),
            with_work: row.get(2),
            due: row.get(3),
            free: row.get(4),
        })
        .collect())
}

/// What [`acquire`] asks for.
pub struct LeaseRequest<'a> {
    pub campaign: i64,
    pub holder: &'a str,
    /// The most accounts to lease.
    pub want: i64,
    pub ttl_ns: i64,
    /// The accounts whose in-flight messages go back to pending rather
    /// than uncertain: their channel drops repeats and the user asked for it.
    pub resend: &'a dyn Fn(&str) -> bool,
    /// Accounts not to lease: the holder still has a run of each (one whose
    /// lease expired while the database was away, say), and a second run of
    /// the same account in the same process would pass the first one's
    /// lease checks.
    pub running: &'a [String],
}

/// Leases up to `want` free accounts of `campaign` for `ttl_ns`, in one
/// transaction that also makes what their previous holders left in flight
/// uncertain (or pending again, see [`LeaseRequest::resend`]).
pub fn acquire(
    client: &mut postgres::Client,
    url: &str,
    request: LeaseRequest<'_>,
) -> Result<Vec<Lease>, JournalError> {
    let LeaseRequest {
        campaign,
        holder,
        want,
        ttl_ns,
        resend,
        running,
    } = request;
    let err = |action| pg(url, action);
    let mut tx = client.transaction().map_err(err("leasing accounts"))?;
    let rows = tx
        .query(
            &format!(
                "WITH picked AS (
                     SELECT a.account FROM accounts a
                     WHERE a.campaign = $1
                         AND (a.lease_holder IS NULL OR a.lease_until_ns < {DB_NOW_NS})
                         AND (a.not_before_ns IS NULL OR a.not_before_ns <= {DB_NOW_NS})
                         AND NOT (a.account = ANY($5))
                         AND EXISTS (SELECT 1 FROM messages m WHERE m.campaign = a.campaign
                             AND m.account = a.account AND m.state IN ('pending', 'in_flight'))
                     ORDER BY a.account LIMIT $3
                     FOR UPDATE OF a SKIP LOCKED)
                 UPDATE accounts a SET lease_holder = $2, lease_until_ns = {DB_NOW_NS} + $4,
                     fence = a.fence + 1, not_before_ns = NULL
                 FROM picked WHERE a.campaign = $1 AND a.account = picked.account
                 RETURNING a.account, a.fence"
            ),
            &[&campaign, &holder, &want, &ttl_ns, &running],
        )
        .map_err(err("leasing accounts"))?;
    let mut leases: Vec<Lease> = rows
        .iter()
        .map(|row| Lease {
            campaign,
            account: row.get(0),
            fence: row.get(1),
            uncertain: 0,
            resent: 0,
        })
        .collect();
    for lease in &mut leases {
        let target = if resend(&lease.account) {
            "pending"
        } else {
            "uncertain"
        };
        let moved = tx
            .execute(
                "UPDATE messages SET state = $3,
                     failure_reason = CASE WHEN $3 = 'uncertain' THEN $4 ELSE NULL END
                 WHERE campaign = $1 AND account = $2 AND state = 'in_flight'",
                &[&campaign, &lease.account, &target, &TAKEN_OVER_REASON],
            )
            .map_err(err("taking over in-flight messages"))?;
        if target == "pending" {
            lease.resent = moved;
        } else {
            lease.uncertain = moved;
        }
    }
    tx.commit().map_err(err("leasing accounts"))?;
    Ok(leases)
}

/// Extends every lease `holder` still has (unexpired) by `ttl_ns`;
/// returns them as `(campaign, account, fence)`. A lease missing from the
/// answer is lost: its account must stop sending at once.
///
/// The journal's transactions share-lock the rows of the accounts they
/// claim for, and update the rows of the accounts whose sends they record,
/// so a renewal must neither deadlock with them nor wait for each in turn
/// (waits of a second and more were seen with 50 accounts). So it renews
/// at once the rows no transaction holds, skipping the others, and then
/// those one statement each (`client` must not be in a transaction): never
/// holding one account's row while it waits for another's.
pub fn renew(
    client: &mut impl GenericClient,
    url: &str,
    holder: &str,
    ttl_ns: i64,
) -> Result<Vec<(i64, String, i64)>, JournalError> {
    let err = || pg(url, "renewing leases");
    let mut renewed: Vec<(i64, String, i64)> = client
        .query(
            &format!(
                "WITH free AS (
                     SELECT campaign, account FROM accounts
                     WHERE lease_holder = $1 AND lease_until_ns >= {DB_NOW_NS}
                     FOR NO KEY UPDATE SKIP LOCKED)
                 UPDATE accounts a SET lease_until_ns = {DB_NOW_NS} + $2
                 FROM free WHERE a.campaign = free.campaign AND a.account = free.account
                 RETURNING a.campaign, a.account, a.fence"
            ),
            &[&holder, &ttl_ns],
        )
        .map_err(err())?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let busy: Vec<(i64, String)> = client
        .query(
            "SELECT campaign, account FROM accounts WHERE lease_holder = $1
             ORDER BY campaign, account",
            &[&holder],
        )
        .map_err(err())?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let done: std::collections::HashSet<(i64, &str)> = renewed
        .iter()
        .map(|(campaign, account, _)| (*campaign, account.as_str()))
        .collect();
    let busy: Vec<(i64, String)> = busy
        .into_iter()
        .filter(|(campaign, account)| !done.contains(&(*campaign, account.as_str())))
        .collect();
    if busy.is_empty() {
        return Ok(renewed);
    }
    let renew_one = client
        .prepare(&format!(
            "UPDATE accounts SET lease_until_ns = {DB_NOW_NS} + $4
             WHERE campaign = $1 AND account = $2 AND lease_holder = $3
                 AND lease_until_ns >= {DB_NOW_NS}
             RETURNING fence"
        ))
        .map_err(err())?;
    for (campaign, account) in busy {
        let kept = client
            .query_opt(&renew_one, &[&campaign, &account, &holder, &ttl_ns])
            .map_err(err())?;
        if let Some(kept) = kept {
            renewed.push((campaign, account, kept.get(0)));
        }
    }
    Ok(renewed)
}

/// Gives up `holder`'s lease on `account` (if still its own, by `fence`);
/// no worker takes the account before `not_before_ns`, when its next
/// message is due. Only a lease still running sets that: a worker whose
/// lease ran out (its claims were refused) has no say over the account,
/// which another worker may take at once. Wakes idle workers.
pub fn release(
    client: &mut impl GenericClient,
    url: &str,
    lease: (i64, &str, i64),
    holder: &str,
    not_before_ns: Option<i64>,
) -> Result<(), JournalError> {
    let (campaign, account, fence) = lease;
    client
        .execute(
            &format!(
                "UPDATE accounts SET lease_holder = NULL, lease_until_ns = NULL,
                     not_before_ns = CASE WHEN lease_until_ns >= {DB_NOW_NS} THEN $5::bigint END
                 WHERE campaign = $1 AND account = $2 AND lease_holder = $3 AND fence = $4"
            ),
            &[&campaign, &account, &holder, &fence, &not_before_ns],
        )
        .map_err(pg(url, "releasing a lease"))?;
    notify(client, url)
}

/// Wakes every idle worker (`LISTEN outreach_work`).
pub fn notify(client: &mut impl GenericClient, url: &str) -> Result<(), JournalError> {
    client
        .batch_execute(&format!("NOTIFY {WORK_CHANNEL}"))
        .map_err(pg(url, "waking the workers"))
}

/// Makes every account of `campaign` due now (a new campaign, or one
/// changed by `resume`), and wakes the workers.
pub fn make_due(
    client: &mut impl GenericClient,
    url: &str,
    campaign: i64,
) -> Result<(), JournalError> {
    client
        .execute(
            "UPDATE accounts SET not_before_ns = NULL WHERE campaign = $1",
            &[&campaign],
        )
        .map_err(pg(url, "waking the campaign's accounts"))?;
    notify(client, url)
}

/// Which of `accounts` of `campaign` may claim now: leased by `check`'s
/// holder with the fence it knows and at least its margin left. Locks
/// their rows for share until the transaction ends, so no takeover
/// happens in between.
pub fn claimable_accounts(
    tx: &mut impl GenericClient,
    ctx_location: &str,
    campaign: i64,
    seqs: &[i64],
    check: &LeaseCheck,
) -> Result<HashMap<String, bool>, JournalError> {
    let rows = tx
        .query(
            &format!(
                "SELECT a.account, a.lease_holder = $3 AND a.lease_until_ns > {DB_NOW_NS} + $4,
                     a.fence
                 FROM accounts a
                 WHERE a.campaign = $1 AND a.account IN (
                     SELECT account FROM messages WHERE campaign = $1 AND seq = ANY($2))
                 ORDER BY a.account
                 FOR KEY SHARE OF a"
            ),
            &[&campaign, &seqs, &check.holder, &check.margin_ns],
        )
        .map_err(pg(ctx_location, "checking the accounts' leases"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let account: String = row.get(0);
            let valid = row.get::<_, Option<bool>>(1).unwrap_or(false)
                && check.fence(campaign, &account) == Some(row.get(2));
            (account, valid)
        })
        .collect())
}

/// A worker's name in the database: host, process and a random tag, so a
/// restarted worker with a reused pid is still a new worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerId {
    pub id: String,
    pub host: String,
    pub pid: u32,
}

impl WorkerId {
    pub fn new(host: String, pid: u32, tag: u16) -> WorkerId {
        WorkerId {
            id: format!("{host}:{pid}:{tag:04x}"),
            host,
            pid,
        }
    }
}
