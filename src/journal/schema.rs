//! The SQLite journal's schema, how it is recognised, and how it migrates.
//!
//! A journal identifies itself three ways, checked in this order before
//! anything may write to the file:
//!
//! 1. the 16-byte SQLite header (else: not an SQLite file);
//! 2. `PRAGMA application_id` = [`APPLICATION_ID`] (else: another program's
//!    database);
//! 3. `PRAGMA user_version` = the schema version, at most [`SCHEMA_VERSION`]
//!    (else: written by a newer outreach), and the `outreach_meta` table's
//!    `application` row = [`MARKER`] (else: damaged).
//!
//! Schema changes are appended to [`MIGRATIONS`], never edited: a journal at
//! version N gets migrations N+1.. applied in order, in one transaction.
//! `outreach_meta(key, value)` keeps its shape in every version, so any
//! version can recognise any other.
//!
//! Times are stored as INTEGER nanoseconds since the Unix epoch (columns
//! ending in `_ns`): exact round trips, compact indices, fast comparisons.
//! In `sqlite3`, `datetime(sent_at_ns / 1e9, 'unixepoch')` shows them.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, ErrorCode};

use crate::journal::error::JournalError;

/// `PRAGMA application_id` of every outreach journal: "OUTR" in ASCII.
pub const APPLICATION_ID: i32 = 0x4F55_5452;

/// The value of the `application` row in `outreach_meta`.
pub const MARKER: &str = "outreach-journal";

/// One step of the schema's history.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Every schema version, oldest first. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
    },
    Migration {
        version: 2,
        sql: V2,
    },
    Migration {
        version: 3,
        sql: V3,
    },
    Migration {
        version: 4,
        sql: V4,
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const V1: &str = "
PRAGMA application_id = 1330992210;

CREATE TABLE outreach_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO outreach_meta (key, value) VALUES ('application', 'outreach-journal');

CREATE TABLE campaign (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    campaign_id   TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL,
    csv_path      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    options_json  TEXT NOT NULL,
    tool_version  TEXT NOT NULL
);

CREATE TABLE campaign_inputs (
    position INTEGER PRIMARY KEY,
    path     TEXT NOT NULL,
    blake3   TEXT NOT NULL
);

CREATE TABLE messages (
    seq                INTEGER PRIMARY KEY,
    line               INTEGER NOT NULL,
    recipient          TEXT NOT NULL,
    account            TEXT NOT NULL,
    subject            TEXT,
    body               TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    planned_at_ns      INTEGER NOT NULL,
    row_digest         TEXT NOT NULL,
    timezone           TEXT,
    -- ORs, not IN (...): SQLite builds a temporary table for an IN list on
    -- every row it checks, which doubled the cost of inserts and updates.
    state              TEXT NOT NULL DEFAULT 'pending' CHECK (
                           state = 'pending' OR state = 'in_flight' OR state = 'sent'
                           OR state = 'failed' OR state = 'uncertain' OR state = 'skipped'),
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_attempt_at_ns INTEGER,
    last_status        INTEGER,
    sent_at_ns         INTEGER,
    api_message_id     TEXT,
    failure_reason     TEXT
);
-- Index upkeep is most of the cost of storing a plan, so a new message
-- enters one index only. It finds messages by state (loading work,
-- recovery, retries) and covers the per-account counts and next planned
-- times of `status`.
CREATE INDEX messages_by_state ON messages (state, account, planned_at_ns);
-- Rate windows of `resume` (sends_since) and the last send of `status`.
CREATE INDEX messages_sent_by_account ON messages (account, sent_at_ns) WHERE state = 'sent';

CREATE TABLE attempts (
    id             INTEGER PRIMARY KEY,
    seq            INTEGER NOT NULL REFERENCES messages (seq),
    at_ns          INTEGER NOT NULL,
    status         INTEGER,
    rl_limit       INTEGER,
    rl_remaining   INTEGER,
    rl_reset_at_ns INTEGER,
    error          TEXT
);
CREATE INDEX attempts_by_seq ON attempts (seq);

-- Kept up to date by every recorded attempt and outcome, so `status` reads
-- one row per account instead of scanning the attempts.
CREATE TABLE account_stats (
    account        TEXT PRIMARY KEY,
    throttled      INTEGER NOT NULL DEFAULT 0,
    rl_limit       INTEGER,
    rl_remaining   INTEGER,
    rl_reset_at_ns INTEGER,
    rl_at_ns       INTEGER,
    last_error     TEXT
) WITHOUT ROWID;
";

/// Channels (issue 12): an HTML body for e-mail, and the CSV row's fields
/// for channels whose request is a template over them (JSON object text).
const V2: &str = "
ALTER TABLE messages ADD COLUMN html TEXT;
ALTER TABLE messages ADD COLUMN fields_json TEXT;
";

/// Stopping a person (issue 13): who was stopped, why, by what and when.
/// `recipient_key` is a recipient as compared (an e-mail address in lower
/// case, any other id as given) or `@domain` for everyone at that domain and
/// its subdomains. A claim looks its recipient up here, so the index is on
/// the key.
const V3: &str = "
CREATE TABLE stops (
    id            INTEGER PRIMARY KEY,
    recipient_key TEXT NOT NULL,
    reason        TEXT NOT NULL,
    source        TEXT NOT NULL,
    at_ns         INTEGER NOT NULL
);
CREATE INDEX stops_by_key ON stops (recipient_key);
";

/// Sequences (issue 13): a message's step, the `seq` of the previous step's
/// message it follows, and its row's priority. No index: a follow-up finds
/// its previous step by primary key.
const V4: &str = "
ALTER TABLE messages ADD COLUMN step INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN previous_seq INTEGER;
ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
";

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Checks, with plain file reads, that `path` exists and starts with the
/// SQLite header.
pub fn check_header(path: &Path) -> Result<(), JournalError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(JournalError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(error) => return Err(JournalError::io(path, "opening the journal")(error)),
    };
    let mut header = Vec::with_capacity(16);
    (&mut file)
        .take(16)
        .read_to_end(&mut header)
        .map_err(JournalError::io(path, "reading the journal"))?;
    let detail = if header.is_empty() {
        "the file is empty"
    } else if header.as_slice() != SQLITE_HEADER {
        "it does not start with the SQLite header"
    } else {
        return Ok(());
    };
    Err(JournalError::NotSqlite {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    })
}

/// Recognises a journal through `conn` with reads only, and returns its
/// schema version (1..=[`SCHEMA_VERSION`]).
pub fn inspect(conn: &Connection, path: &Path) -> Result<i64, JournalError> {
    let application_id: i32 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(|error| classify(error, path))?;
    if application_id != APPLICATION_ID {
        let detail = if application_id == 0 {
            "it has no outreach application id".to_string()
        } else {
            format!("its application id is {application_id:#010x}, another program's")
        };
        return Err(JournalError::Foreign {
            path: path.to_path_buf(),
            detail,
        });
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|error| classify(error, path))?;
    if version > SCHEMA_VERSION {
        return Err(JournalError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    if version < 1 {
        return Err(corrupt(format!("its schema version is {version}")));
    }
    let marker: Option<String> = conn
        .query_row(
            "SELECT value FROM outreach_meta WHERE key = 'application'",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            error => Err(error),
        })
        .map_err(|error| match classify(error, path) {
            JournalError::Sqlite { source, .. } => {
                corrupt(format!("its outreach_meta table is unreadable: {source}"))
            }
            other => other,
        })?;
    if marker.as_deref() != Some(MARKER) {
        return Err(corrupt("its outreach_meta marker is missing".to_string()));
    }
    Ok(version)
}

/// Applies every migration after `from`, in one transaction.
pub fn migrate(conn: &mut Connection, path: &Path, from: i64) -> Result<(), JournalError> {
    let sql = JournalError::sqlite;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql(path, "starting the schema upgrade"))?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        tx.execute_batch(migration.sql)
            .map_err(sql(path, "upgrading the schema"))?;
        tx.pragma_update(None, "user_version", migration.version)
            .map_err(sql(path, "upgrading the schema"))?;
    }
    tx.commit().map_err(sql(path, "upgrading the schema"))
}

/// Maps an error from the first reads of a file to what it says about the file.
fn classify(error: rusqlite::Error, path: &Path) -> JournalError {
    let path_buf = path.to_path_buf();
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => JournalError::NotSqlite {
            path: path_buf,
            detail: error.to_string(),
        },
        Some(ErrorCode::DatabaseCorrupt) => JournalError::Corrupt {
            path: path_buf,
            detail: error.to_string(),
        },
        _ => JournalError::sqlite(path, "reading the journal header")(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1);
        }
        assert_eq!(SCHEMA_VERSION, MIGRATIONS.len() as i64);
    }

    #[test]
    fn v1_sets_the_application_id_constant() {
        assert!(V1.contains(&format!("application_id = {APPLICATION_ID};")));
        assert!(V1.contains(&format!("'{MARKER}'")));
    }

    #[test]
    fn a_fresh_database_migrates_to_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        migrate(&mut conn, path, 0).unwrap();
        assert_eq!(inspect(&conn, path).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn an_empty_database_is_foreign() {
        let conn = Connection::open_in_memory().unwrap();
        let error = inspect(&conn, Path::new("x.db")).unwrap_err();
        assert!(matches!(error, JournalError::Foreign { .. }), "{error:?}");
    }
}
