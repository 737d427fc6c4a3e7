//! A worker's own connections to the database, apart from its campaigns'
//! stores: [`PgControl`] leases, renews and releases accounts and keeps
//! the worker's heartbeat (so a slow commit of the send path never delays a
//! renewal), and [`PgListener`] waits on `LISTEN outreach_work` so idle
//! workers wake when there is work instead of polling tightly.
//!
//! The control connection also holds a shared advisory lock on each
//! campaign the worker works on: workers share a campaign, while `send`
//! and `resume` (which take the same lock exclusively) wait until no worker
//! has it, and the reverse. A worker that dies lets go with its connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use crate::journal::error::JournalError;
use crate::journal::pg::LOCK_CLASS;
use crate::journal::pg_conn::PgConn;
use crate::journal::pg_lease::{self as lease, Lease, OpenCampaign, WORK_CHANNEL, WorkerId};
use crate::journal::pg_schema as schema;
use crate::journal::pg_url::DbUrl;

/// The connection a worker leases accounts through.
#[derive(Debug)]
pub struct PgControl {
    conn: PgConn,
    url: Arc<str>,
}

impl PgControl {
    /// Connects and brings the schema up to date.
    pub fn connect(url: &DbUrl) -> Result<PgControl, JournalError> {
        let conn = PgConn::connect(url)?;
        let redacted: Arc<str> = url.redacted().into();
        let migrate_url = redacted.clone();
        conn.run(move |session| schema::migrate(&mut session.client, &migrate_url))?;
        Ok(PgControl {
            conn,
            url: redacted,
        })
    }

    /// The database, its password removed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's clock, in nanoseconds since the epoch.
    pub fn now_ns(&self) -> Result<i64, JournalError> {
        let url = self.url.clone();
        self.conn
            .run(move |session| lease::db_now_ns(&mut session.client, &url))
    }

    /// Records `worker` as live; returns how many workers are.
    pub fn heartbeat(&self, worker: &WorkerId, live: Duration) -> Result<i64, JournalError> {
        let (url, worker) = (self.url.clone(), worker.clone());
        let live_ns = nanos(live);
        self.conn
            .run(move |session| lease::heartbeat(&mut session.client, &url, &worker, live_ns))
    }

    pub fn unregister(&self, worker: &WorkerId) -> Result<(), JournalError> {
        let (url, worker) = (self.url.clone(), worker.clone());
        self.conn
            .run(move |session| lease::unregister(&mut session.client, &url, &worker))
    }

    pub fn open_campaigns(&self) -> Result<Vec<OpenCampaign>, JournalError> {
        let url = self.url.clone();
        self.conn
            .run(move |session| lease::open_campaigns(&mut session.client, &url))
    }

    /// Takes the campaign's shared lock; false while a `send` or `resume`
    /// holds it exclusively.
    pub fn share_campaign(&self, name: &str) -> Result<bool, JournalError> {
        let (url, name) = (self.url.clone(), name.to_string());
        self.conn.run(move |session| {
            session
                .client
                .query_one(
                    "SELECT pg_try_advisory_lock_shared($1, hashtext(current_schema() || '/' || $2))",
                    &[&LOCK_CLASS, &name],
                )
                .map(|row| row.get(0))
                .map_err(JournalError::pg(&url, "sharing the campaign's lock"))
        })
    }

    /// Lets go of the campaign's shared lock.
    pub fn unshare_campaign(&self, name: &str) -> Result<(), JournalError> {
        let (url, name) = (self.url.clone(), name.to_string());
        self.conn.run(move |session| {
            session
                .client
                .execute(
                    "SELECT pg_advisory_unlock_shared($1, hashtext(current_schema() || '/' || $2))",
                    &[&LOCK_CLASS, &name],
                )
                .map(drop)
                .map_err(JournalError::pg(&url, "releasing the campaign's lock"))
        })
    }

    /// See [`lease::acquire`]; `resend` names the accounts whose in-flight
    /// messages go back to pending rather than uncertain, `running` those
    /// not to take (this worker still runs them).
    pub fn acquire(
        &self,
        campaign: i64,
        holder: &str,
        want: i64,
        ttl: Duration,
        resend: Vec<String>,
        running: Vec<String>,
    ) -> Result<Vec<Lease>, JournalError> {
        let (url, holder) = (self.url.clone(), holder.to_string());
        let ttl_ns = nanos(ttl);
        self.conn.run(move |session| {
            let resend = |account: &str| resend.iter().any(|name| name == account);
            lease::acquire(
                &mut session.client,
                &url,
                lease::LeaseRequest {
                    campaign,
                    holder: &holder,
                    want,
                    ttl_ns,
                    resend: &resend,
                    running: &running,
                },
            )
        })
    }

    /// See [`lease::renew`].
    pub fn renew(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> Result<Vec<(i64, String, i64)>, JournalError> {
        let (url, holder) = (self.url.clone(), holder.to_string());
        let ttl_ns = nanos(ttl);
        self.conn
            .run(move |session| lease::renew(&mut session.client, &url, &holder, ttl_ns))
    }

    /// See [`lease::release`].
    pub fn release(
        &self,
        campaign: i64,
        account: &str,
        fence: i64,
        holder: &str,
        not_before_ns: Option<i64>,
    ) -> Result<(), JournalError> {
        let (url, account, holder) = (self.url.clone(), account.to_string(), holder.to_string());
        self.conn.run(move |session| {
            lease::release(
                &mut session.client,
                &url,
                (campaign, &account, fence),
                &holder,
                not_before_ns,
            )
        })
    }

    /// See [`lease::make_due`].
    pub fn make_due(&self, campaign: i64) -> Result<(), JournalError> {
        let url = self.url.clone();
        self.conn
            .run(move |session| lease::make_due(&mut session.client, &url, campaign))
    }
}

/// `LISTEN outreach_work` on a connection of its own; `woken` is called for
/// each notification until the listener is dropped.
pub struct PgListener {
    stop: Arc<AtomicBool>,
    _conn: PgConn,
}

impl std::fmt::Debug for PgListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgListener")
    }
}

impl PgListener {
    pub fn start(
        url: &DbUrl,
        woken: impl Fn() + Send + 'static,
    ) -> Result<PgListener, JournalError> {
        let conn = PgConn::connect(url)?;
        let redacted = url.redacted();
        conn.run(move |session| {
            session
                .client
                .batch_execute(&format!("LISTEN {WORK_CHANNEL}"))
                .map_err(JournalError::pg(&redacted, "listening for work"))
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        conn.spawn(move |session| {
            while !stopped.load(Ordering::Relaxed) {
                let mut notifications = session.client.notifications();
                let mut waiting = notifications.timeout_iter(Duration::from_millis(500));
                match waiting.next() {
                    Ok(Some(_)) => woken(),
                    Ok(None) => {}
                    // The connection is gone: workers poll meanwhile.
                    Err(_) => return,
                }
            }
        });
        Ok(PgListener { stop, _conn: conn })
    }
}

impl Drop for PgListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}
