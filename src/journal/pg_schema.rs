//! The PostgreSQL store's schema and its migrations.
//!
//! One database (or one schema in it, chosen with the URL's
//! `options=-csearch_path=NAME`) holds any number of campaigns: every table
//! is keyed by `campaign`, the id of a row of `campaigns`. The tables mirror
//! the SQLite journal's (`schema.rs`), with times as BIGINT nanoseconds since
//! the Unix epoch (exact round trips; `timestamptz` keeps microseconds).
//!
//! Made for what comes next (workers on several machines, issue 14): each
//! campaign has a `status` (`active` now; workers will pick active ones),
//! and each account of a campaign has a row in `accounts`, its pacing row:
//! today it keeps the account's latest word from the server (what SQLite
//! keeps in `account_stats`); a worker will lock it (`FOR UPDATE SKIP
//! LOCKED`) to hold the account's lease, with `lease_holder`,
//! `lease_until_ns` and the fencing token `fence`, raised with each new
//! lease so that a worker that lost its lease cannot write.
//!
//! Migrations are appended to [`MIGRATIONS`], never edited. `outreach_meta`
//! keeps its shape in every version: `application` (the marker) and
//! `schema_version`. They are applied on first use by a writing command,
//! all of them in one transaction, under a transaction-level advisory lock
//! so that two processes starting at once do not both migrate.

use postgres::{Client, GenericClient};

use crate::journal::error::JournalError;

/// The value of the `application` row in `outreach_meta`.
pub const MARKER: &str = "outreach-campaigns";

/// The advisory lock key taken while migrating ("outr" "mig ").
const MIGRATION_LOCK: i64 = 0x6F75_7472_6D69_6720;

/// Every schema version, oldest first. Append only.
pub const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3), (4, V4)];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

const V1: &str = "
CREATE TABLE outreach_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO outreach_meta (key, value) VALUES ('application', 'outreach-campaigns');
INSERT INTO outreach_meta (key, value) VALUES ('schema_version', '0');

CREATE TABLE campaigns (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    campaign_id   TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    csv_path      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    options_json  TEXT NOT NULL,
    tool_version  TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'done'))
);

CREATE TABLE campaign_inputs (
    campaign BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    path     TEXT NOT NULL,
    blake3   TEXT NOT NULL,
    PRIMARY KEY (campaign, position)
);

CREATE TABLE messages (
    campaign           BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    seq                BIGINT NOT NULL,
    step               INTEGER NOT NULL DEFAULT 1,
    previous_seq       BIGINT,
    priority           BIGINT NOT NULL DEFAULT 0,
    line               BIGINT NOT NULL,
    recipient          TEXT NOT NULL,
    account            TEXT NOT NULL,
    subject            TEXT,
    body               TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    planned_at_ns      BIGINT NOT NULL,
    row_digest         TEXT NOT NULL,
    timezone           TEXT,
    html               TEXT,
    fields_json        TEXT,
    state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                           ('pending', 'in_flight', 'sent', 'failed', 'uncertain', 'skipped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_attempt_at_ns BIGINT,
    last_status        INTEGER,
    sent_at_ns         BIGINT,
    api_message_id     TEXT,
    failure_reason     TEXT,
    PRIMARY KEY (campaign, seq)
);
CREATE INDEX messages_by_state ON messages (campaign, state, account, planned_at_ns);
CREATE INDEX messages_sent_by_account ON messages (campaign, account, sent_at_ns)
    WHERE state = 'sent';

CREATE TABLE attempts (
    id             BIGSERIAL PRIMARY KEY,
    campaign       BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    at_ns          BIGINT NOT NULL,
    status         INTEGER,
    rl_limit       BIGINT,
    rl_remaining   BIGINT,
    rl_reset_at_ns BIGINT,
    error          TEXT,
    FOREIGN KEY (campaign, seq) REFERENCES messages (campaign, seq) ON DELETE CASCADE
);
CREATE INDEX attempts_by_seq ON attempts (campaign, seq, id);

CREATE TABLE accounts (
    campaign       BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    account        TEXT NOT NULL,
    throttled      BIGINT NOT NULL DEFAULT 0,
    rl_limit       BIGINT,
    rl_remaining   BIGINT,
    rl_reset_at_ns BIGINT,
    rl_at_ns       BIGINT,
    last_error     TEXT,
    lease_holder   TEXT,
    lease_until_ns BIGINT,
    fence          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, account)
);

CREATE TABLE stops (
    id            BIGSERIAL PRIMARY KEY,
    campaign      BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    recipient_key TEXT NOT NULL,
    reason        TEXT NOT NULL,
    source        TEXT NOT NULL,
    at_ns         BIGINT NOT NULL
);
CREATE INDEX stops_by_key ON stops (campaign, recipient_key, id);
";

/// Workers (issue 14): an account's `not_before_ns` is when its next message
/// is due, so no worker leases it before then; `workers` lists the live
/// workers (a heartbeat each), from which each computes its fair share of
/// accounts; `commits` marks each send-path transaction of a holder, so that
/// after a lost connection the holder can tell whether its last commit
/// happened before replaying it.
const V2: &str = "
ALTER TABLE accounts ADD COLUMN not_before_ns BIGINT;
CREATE INDEX accounts_by_holder ON accounts (lease_holder);

CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           BIGINT NOT NULL,
    started_at_ns BIGINT NOT NULL,
    seen_at_ns    BIGINT NOT NULL
);

CREATE TABLE commits (
    holder TEXT NOT NULL,
    batch  BIGINT NOT NULL,
    at_ns  BIGINT NOT NULL,
    PRIMARY KEY (holder, batch)
);
";

/// The send path changes a message's state three or four times in a
/// second. With `state` in an index no such update is HOT: each one adds an
/// entry to every index, and a busy campaign's indexes fill with dead
/// entries that every later lookup wades through. Indexes on columns that
/// never change (the key, the account) and room left in each page let
/// PostgreSQL update in place; reads by state scan the campaign by key, as
/// `status` and `report` do anyway.
const V3: &str = "
DROP INDEX messages_by_state;
DROP INDEX messages_sent_by_account;
CREATE INDEX messages_by_account ON messages (campaign, account, seq);
ALTER TABLE messages SET (fillfactor = 75);
ALTER TABLE accounts SET (fillfactor = 75);
";

/// An account's row is its lease: workers renew it every few seconds. The
/// send path's statistics (429s, the latest rate-limit headers, the last
/// error) were on the same row, so a long group commit held the lease's row
/// and renewals waited for it until leases of live workers ran short. They
/// get a table of their own.
const V4: &str = "
CREATE TABLE account_stats (
    campaign       BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    account        TEXT NOT NULL,
    throttled      BIGINT NOT NULL DEFAULT 0,
    rl_limit       BIGINT,
    rl_remaining   BIGINT,
    rl_reset_at_ns BIGINT,
    rl_at_ns       BIGINT,
    last_error     TEXT,
    PRIMARY KEY (campaign, account)
) WITH (fillfactor = 75);
INSERT INTO account_stats
    (campaign, account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error)
SELECT campaign, account, throttled, rl_limit, rl_remaining, rl_reset_at_ns, rl_at_ns, last_error
FROM accounts;
ALTER TABLE accounts DROP COLUMN throttled, DROP COLUMN rl_limit, DROP COLUMN rl_remaining,
    DROP COLUMN rl_reset_at_ns, DROP COLUMN rl_at_ns, DROP COLUMN last_error;
";

/// The schema version found in the database: 0 when it has no
/// `outreach_meta` table yet.
pub fn version(client: &mut impl GenericClient, url: &str) -> Result<i64, JournalError> {
    let pg = |action| JournalError::pg(url, action);
    let exists: bool = client
        .query_one("SELECT to_regclass('outreach_meta') IS NOT NULL", &[])
        .map_err(pg("reading the schema version"))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let rows = client
        .query(
            "SELECT key, value FROM outreach_meta WHERE key IN ('application', 'schema_version')",
            &[],
        )
        .map_err(|source| JournalError::ForeignDatabase {
            url: url.to_string(),
            detail: format!("it cannot be read as outreach's: {source}"),
        })?;
    let value = |key: &str| {
        rows.iter()
            .find(|row| row.get::<_, &str>(0) == key)
            .map(|row| row.get::<_, String>(1))
    };
    if value("application").as_deref() != Some(MARKER) {
        return Err(JournalError::ForeignDatabase {
            url: url.to_string(),
            detail: "its `application` row is not outreach-campaigns".into(),
        });
    }
    let version = value("schema_version")
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| JournalError::ForeignDatabase {
            url: url.to_string(),
            detail: "its schema_version row is missing or not a number".into(),
        })?;
    if version > SCHEMA_VERSION {
        return Err(JournalError::DatabaseNewer {
            url: url.to_string(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Brings the schema to [`SCHEMA_VERSION`] in one transaction; a database
/// newer than this build is refused untouched.
pub fn migrate(client: &mut Client, url: &str) -> Result<(), JournalError> {
    let pg = |action| JournalError::pg(url, action);
    if version(client, url)? == SCHEMA_VERSION {
        return Ok(());
    }
    let mut tx = client
        .transaction()
        .map_err(pg("starting the schema upgrade"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg("waiting for another schema upgrade"))?;
    // Again under the lock: another process may have migrated meanwhile.
    let found = version(&mut tx, url)?;
    for (number, sql) in MIGRATIONS.iter().filter(|(number, _)| *number > found) {
        tx.batch_execute(sql).map_err(pg("upgrading the schema"))?;
        tx.execute(
            "UPDATE outreach_meta SET value = $1 WHERE key = 'schema_version'",
            &[&number.to_string()],
        )
        .map_err(pg("upgrading the schema"))?;
    }
    tx.commit().map_err(pg("upgrading the schema"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (index, (number, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*number, index as i64 + 1);
        }
        assert!(V1.contains(MARKER));
    }
}
