//! `PgStore`: campaigns in PostgreSQL, for several machines and several
//! people sharing them. Same rules as [`SqliteStore`](super::SqliteStore)
//! (see [`CampaignStore`]); one database holds any number of campaigns, each
//! found by its name (`--campaign`, by default the CSV's file stem).
//!
//! This file holds opening a campaign; the trait impl is in `pg_store`, the
//! connection and its thread in `pg_conn`, the schema in `pg_schema`, the send path's
//! transactions in `pg_write`, the edits between runs in `pg_edits`, the
//! reads in `pg_read` and stops in `pg_stops`.
//!
//! A lost connection is ridden out on the send path and by the reads of a
//! sending store (`pg_reconnect`, `pg_commits`): the store connects again,
//! takes its writer lock again, and settles or replays the batch it was
//! writing.
//!
//! One writer per campaign, as with SQLite's lock file: a writable store
//! holds a session-level advisory lock on its campaign's name for as long as
//! its connection lives, so a process that dies (kill -9 included) lets go
//! of it with its connection. `status`, `report` and `stop` do not take it.
//! Each write is one transaction (READ COMMITTED) that commits durably
//! (`synchronous_commit` as the server has it: on by default). A claim locks
//! its message row (`SELECT ... FOR UPDATE`) before it changes it, so two
//! processes can never both claim one message.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::journal::error::JournalError;
use crate::journal::pg_calls::WriterLock;
use crate::journal::pg_commits as commits;
use crate::journal::pg_conn::PgConn;
use crate::journal::pg_domains::DomainRule;
use crate::journal::pg_lease::LeaseCheck;
use crate::journal::pg_reconnect::GiveUp;
use crate::journal::pg_url::DbUrl;
use crate::journal::report::StepCounts;
use crate::journal::stops::{StopReport, StopRequest, StopTarget};
use crate::journal::{pg_read as read, pg_schema as schema, pg_stops};

/// The first key of the advisory locks outreach takes ("outr").
pub(crate) const LOCK_CLASS: i32 = 0x6F75_7472;

/// One campaign in a PostgreSQL database.
#[derive(Debug)]
pub struct PgStore {
    pub(super) conn: PgConn,
    pub(super) url: DbUrl,
    pub(super) name: String,
    /// `campaign NAME in URL`, the redacted URL: what errors name.
    pub(super) location: Arc<str>,
    /// The campaign's row id; `None` until `create_campaign` commits.
    pub(super) campaign: Option<i64>,
    pub(super) mode: Mode,
    /// This store's session in `commits` (see `pg_commits`).
    pub(super) holder: Arc<str>,
    /// The last send-path batch's number.
    pub(super) batches: i64,
    /// Ends the wait for an unreachable database (Ctrl-C).
    pub(super) give_up: GiveUp,
    /// A worker's store: claims need the account's lease, and no
    /// campaign-wide writer lock is taken (see `pg_lease`).
    pub(super) lease: Option<Arc<LeaseCheck>>,
    /// A worker's store: claims count the domain's day across workers
    /// (`pg_domains`).
    pub(super) domain_cap: Option<DomainRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    ReadOnly,
    Writable,
    StopsOnly,
}

/// What every query needs: which campaign, and how errors name it.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) campaign: i64,
    pub(crate) location: Arc<str>,
    pub(crate) lease: Option<Arc<LeaseCheck>>,
    pub(crate) domain_cap: Option<DomainRule>,
}

impl Ctx {
    pub(crate) fn pg(&self, action: &'static str) -> impl FnOnce(postgres::Error) -> JournalError {
        JournalError::pg(&self.location, action)
    }
}

/// A campaign of a database, as `status` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignListing {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub csv_path: String,
    pub counts: crate::journal::report::StateCounts,
}

impl PgStore {
    /// Prepares a new campaign called `name` in the database at `url`
    /// (migrating its schema first), taking the campaign's writer lock.
    /// Fails with [`JournalError::CampaignNameTaken`] if it exists. The
    /// campaign appears only when `create_campaign` commits its whole plan.
    pub fn create(url: &DbUrl, name: &str) -> Result<PgStore, JournalError> {
        let mut store = PgStore::connect(url, name, Mode::Writable)?;
        store.migrate()?;
        store.lock()?;
        if store.find()?.is_some() {
            return Err(store.name_taken());
        }
        Ok(store)
    }

    /// Opens the campaign `name` for sending (`resume`): migrates the
    /// schema, finds the campaign, takes its writer lock.
    pub fn open(url: &DbUrl, name: &str) -> Result<PgStore, JournalError> {
        let mut store = PgStore::connect(url, name, Mode::Writable)?;
        store.migrate()?;
        store.lock()?;
        store.campaign = Some(store.require()?);
        Ok(store)
    }

    /// Opens the campaign `name` for a worker, which shares it with other
    /// workers: no writer lock; each claim needs its account's lease in
    /// `lease`, and the caller makes what a dead holder left in flight
    /// uncertain account by account as it takes leases over
    /// (`pg_lease::acquire`), never the whole campaign's.
    pub fn open_for_worker(
        url: &DbUrl,
        name: &str,
        lease: Arc<LeaseCheck>,
    ) -> Result<PgStore, JournalError> {
        let mut store = PgStore::connect(url, name, Mode::Writable)?;
        store.migrate()?;
        store.campaign = Some(store.require()?);
        store.lease = Some(lease);
        Ok(store)
    }

    /// Makes this worker's claims hold the campaign's
    /// `per_domain_daily_cap` across every worker (`pg_domains`).
    pub fn share_domain_cap(&mut self, rule: DomainRule) {
        self.domain_cap = Some(rule);
    }

    /// The campaign's row id (after `create_campaign`, or when opened).
    pub fn campaign_id(&self) -> Option<i64> {
        self.campaign
    }

    /// Opens the campaign `name` for reading only (`status`, `report`),
    /// without the writer lock and without changing the schema.
    pub fn open_read_only(url: &DbUrl, name: &str) -> Result<PgStore, JournalError> {
        let mut store = PgStore::connect(url, name, Mode::ReadOnly)?;
        store.check_version()?;
        store.campaign = Some(store.require()?);
        Ok(store)
    }

    /// Opens the campaign `name` to record stops while a sender may run, as
    /// [`SqliteStore::open_for_stops`](super::SqliteStore::open_for_stops).
    pub fn open_for_stops(url: &DbUrl, name: &str) -> Result<PgStore, JournalError> {
        let mut store = PgStore::connect(url, name, Mode::StopsOnly)?;
        store.migrate()?;
        store.campaign = Some(store.require()?);
        Ok(store)
    }

    /// Every campaign in the database, by name, with its counts.
    pub fn campaigns(url: &DbUrl) -> Result<Vec<CampaignListing>, JournalError> {
        let conn = PgConn::connect(url)?;
        let location: Arc<str> = url.redacted().into();
        let version = {
            let location = location.clone();
            conn.run(move |session| schema::version(&mut session.client, &location))?
        };
        if version < schema::SCHEMA_VERSION && version > 0 {
            return Err(JournalError::DatabaseOlder {
                url: url.redacted(),
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        if version == 0 {
            return Ok(Vec::new());
        }
        conn.run(move |session| read::campaigns(session, &location))
    }

    /// Whether a `send` or `resume` holds the campaign's writer lock now.
    pub fn sender_running(&self) -> Result<bool, JournalError> {
        let name = self.name.clone();
        let location = self.location.clone();
        self.conn.run(move |session| {
            let row = session
                .client
                .query_one(
                    "SELECT pg_try_advisory_lock_shared($1, hashtext(current_schema() || '/' || $2))",
                    &[&LOCK_CLASS, &name],
                )
                .map_err(JournalError::pg(&location, "asking whether a sender runs"))?;
            let free: bool = row.get(0);
            if free {
                session
                    .client
                    .execute(
                        "SELECT pg_advisory_unlock_shared($1, hashtext(current_schema() || '/' || $2))",
                        &[&LOCK_CLASS, &name],
                    )
                    .map_err(JournalError::pg(&location, "asking whether a sender runs"))?;
            }
            Ok(!free)
        })
    }

    /// How many workers hold a live lease on an account of the campaign.
    pub fn workers_holding(&self) -> Result<u32, JournalError> {
        self.read(|session, ctx| {
            session
                .client
                .query_one(
                    &format!(
                        "SELECT count(DISTINCT lease_holder) FROM accounts
                         WHERE campaign = $1 AND lease_until_ns > {}",
                        crate::journal::pg_lease::DB_NOW_NS
                    ),
                    &[&ctx.campaign],
                )
                .map(|row| u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX))
                .map_err(ctx.pg("counting the workers"))
        })
    }

    /// The campaign's name in its database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database, its password removed.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// `campaign NAME in URL`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Records a stop, as [`SqliteStore::stop`](super::SqliteStore::stop).
    pub fn stop(&mut self, request: &StopRequest) -> Result<StopReport, JournalError> {
        if self.mode == Mode::ReadOnly {
            return Err(self.read_only());
        }
        let ctx = self.ctx()?;
        let request = request.clone();
        self.conn
            .run(move |session| pg_stops::record_stop(session, &ctx, &request))
    }

    /// Makes every account of the campaign due and wakes idle workers
    /// (`send --detach`).
    pub fn wake_workers(&self) -> Result<(), JournalError> {
        let ctx = self.ctx()?;
        self.conn.run(move |session| {
            crate::journal::pg_lease::make_due(&mut session.client, &ctx.location, ctx.campaign)
        })
    }

    /// The messages of `account` in any of `states`, by seq: what a
    /// worker that leased the account sends.
    pub fn account_messages(
        &self,
        account: &str,
        states: &[crate::journal::MessageState],
    ) -> Result<Vec<crate::journal::StoredMessage>, JournalError> {
        let (account, states) = (account.to_string(), states.to_vec());
        self.read(move |session, ctx| read::account_messages(session, ctx, &account, &states))
    }

    /// Every stop recorded, oldest first: `(target, reason, source)`.
    pub fn stops(&self) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
        self.read(pg_stops::stops)
    }

    /// Per step of a sequence, as [`SqliteStore::step_counts`](super::SqliteStore::step_counts).
    pub fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError> {
        self.read(read::step_counts)
    }

    /// Messages skipped because their recipient was stopped, by reason.
    pub fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        self.read(pg_stops::stopped_by_reason)
    }

    fn connect(url: &DbUrl, name: &str, mode: Mode) -> Result<PgStore, JournalError> {
        let conn = PgConn::connect(url)?;
        Ok(PgStore {
            conn,
            url: url.clone(),
            name: name.to_string(),
            location: format!("campaign `{name}` in {url}").into(),
            campaign: None,
            mode,
            holder: commits::new_holder(),
            batches: 0,
            give_up: GiveUp::default(),
            lease: None,
            domain_cap: None,
        })
    }

    fn migrate(&mut self) -> Result<(), JournalError> {
        let url = self.url.redacted();
        self.conn
            .run(move |session| schema::migrate(&mut session.client, &url))
    }

    fn check_version(&mut self) -> Result<(), JournalError> {
        let url = self.url.redacted();
        let found = {
            let url = url.clone();
            self.conn
                .run(move |session| schema::version(&mut session.client, &url))?
        };
        if found == 0 {
            return Err(JournalError::NoSuchCampaign {
                url,
                name: self.name.clone(),
                known: Vec::new(),
            });
        }
        if found < schema::SCHEMA_VERSION {
            return Err(JournalError::DatabaseOlder {
                url,
                found,
                supported: schema::SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Takes the campaign's writer lock (see the module docs).
    fn lock(&mut self) -> Result<(), JournalError> {
        let lock = self.writer_lock();
        self.conn.run(move |session| lock.take(session))
    }

    pub(super) fn writer_lock(&self) -> WriterLock {
        WriterLock {
            name: self.name.clone(),
            url: self.url.redacted(),
            location: self.location.clone(),
        }
    }

    /// The campaign's id, if it exists.
    fn find(&self) -> Result<Option<i64>, JournalError> {
        let name = self.name.clone();
        let location = self.location.clone();
        self.conn.run(move |session| {
            session
                .client
                .query_opt("SELECT id FROM campaigns WHERE name = $1", &[&name])
                .map(|row| row.map(|row| row.get::<_, i64>(0)))
                .map_err(JournalError::pg(&location, "finding the campaign"))
        })
    }

    /// The campaign's id, or an error listing the campaigns there are.
    fn require(&self) -> Result<i64, JournalError> {
        if let Some(id) = self.find()? {
            return Ok(id);
        }
        let location = self.location.clone();
        let known = self.conn.run(move |session| {
            session
                .client
                .query("SELECT name FROM campaigns ORDER BY name", &[])
                .map(|rows| rows.iter().map(|row| row.get::<_, String>(0)).collect())
                .map_err(JournalError::pg(&location, "listing the campaigns"))
        })?;
        Err(JournalError::NoSuchCampaign {
            url: self.url.redacted(),
            name: self.name.clone(),
            known,
        })
    }

    fn name_taken(&self) -> JournalError {
        JournalError::CampaignNameTaken {
            url: self.url.redacted(),
            name: self.name.clone(),
        }
    }

    pub(super) fn read_only(&self) -> JournalError {
        JournalError::ReadOnly {
            path: self.location.to_string().into(),
        }
    }

    pub(super) fn ctx(&self) -> Result<Ctx, JournalError> {
        match self.campaign {
            Some(campaign) => Ok(Ctx {
                campaign,
                location: self.location.clone(),
                lease: self.lease.clone(),
                domain_cap: self.domain_cap,
            }),
            None => Err(JournalError::NoCampaign {
                path: self.location.to_string().into(),
            }),
        }
    }
}

impl Drop for PgStore {
    /// Lets go of the writer lock before the connection closes, so that a
    /// `resume` started right after this process ends finds it free (the
    /// server would release it too, a moment after the connection closes).
    fn drop(&mut self) {
        if self.mode == Mode::Writable {
            let holder = self.holder.clone();
            self.conn.run(move |session| {
                commits::forget(session, &holder);
                let _ = session
                    .client
                    .execute("SELECT pg_advisory_unlock_all()", &[]);
            });
        }
    }
}
