//! `JournalError`: everything that can go wrong with a journal, each variant
//! saying what happened, to which file, and what the user can do about it.
//!
//! Every "this file is not usable" variant promises the file was left
//! untouched, and the code keeps that promise: files are validated through a
//! read-only connection before anything may write to them.

use std::path::PathBuf;
use std::sync::Arc;

use crate::journal::model::MessageState;

/// Why a worker's claim was refused: its lease is no longer its own. A run
/// that stops with this is no fault of the account's (the worker does not
/// hold it back; see `worker::finished`).
pub const LEASE_LOST: &str =
    "this worker's lease on its account expired or was taken over; another worker sends it";

/// A journal operation failed. Messages are complete sentences meant for the
/// user; the underlying cause, if any, is available through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "no journal at {path}; start a campaign with `outreach send`, or pass the journal's path with --state"
    )]
    Missing { path: PathBuf },

    #[error(
        "a journal already exists at {path}; continue that campaign with `outreach resume`, \
         start a new one with `outreach send --restart`, or pass another path with --state \
         (the existing file was not changed)"
    )]
    AlreadyExists { path: PathBuf },

    #[error(
        "{path} is not an outreach journal: it is not an SQLite database ({detail}); \
         check the --state path (the file was left untouched)"
    )]
    NotSqlite { path: PathBuf, detail: String },

    #[error(
        "{path} is an SQLite database but not an outreach journal ({detail}); \
         check the --state path (the file was left untouched)"
    )]
    Foreign { path: PathBuf, detail: String },

    #[error(
        "the journal {path} is damaged ({detail}); it was left untouched: keep a copy, \
         and see docs/journal.md for how to inspect or salvage it"
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "the journal {path} was written by a newer outreach (journal schema version {found}; \
         this build understands up to {supported}); upgrade outreach to continue this campaign \
         (the file was left untouched)"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "the journal {path} needs an upgrade from schema version {found} to {supported}; \
         run `outreach resume` once to upgrade it"
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "another `outreach send` or `outreach resume`{} is running on the journal {path}; \
         wait for it to finish or stop it (Ctrl-C) first. `outreach status` works meanwhile",
        holder_text(*.pid)
    )]
    Locked { path: PathBuf, pid: Option<u32> },

    #[error("the journal {path} was opened read-only, so it cannot be changed")]
    ReadOnly { path: PathBuf },

    #[error("the journal {path} already holds a campaign; continue it with `outreach resume`")]
    CampaignExists { path: PathBuf },

    #[error(
        "the journal {path} holds no campaign (its creation was interrupted); start again with `outreach send --restart`"
    )]
    NoCampaign { path: PathBuf },

    #[error("message {seq} is not in the journal")]
    UnknownSeq { seq: u64 },

    #[error("message {seq} is already in the journal; sequence numbers must be unique")]
    DuplicateSeq { seq: u64 },

    #[error("message {seq} is {}, not pending, so it was not claimed for sending", state_text(*.state))]
    NotClaimable {
        seq: u64,
        state: Option<MessageState>,
    },

    #[error("message {seq} was not claimed: {LEASE_LOST}")]
    LeaseLost { seq: u64 },

    #[error(
        "message {seq} was not claimed: its e-mail domain has had its per_domain_daily_cap of messages today, counted across every worker; it waits for the next day"
    )]
    DomainFull { seq: u64 },

    #[error("an outcome for message {seq} arrived while it is {}, not in flight", state_text(*.state))]
    NotInFlight {
        seq: u64,
        state: Option<MessageState>,
    },

    #[error("message {seq} is {}, not pending, so its text cannot change", state_text(*.state))]
    NotPending {
        seq: u64,
        state: Option<MessageState>,
    },

    #[error("messages cannot be moved from {from} to {to}")]
    InvalidTransition {
        from: MessageState,
        to: MessageState,
    },

    #[error("time {0} cannot be stored: journals hold times between 1677 and 2262")]
    TimeOutOfRange(chrono::DateTime<chrono::Utc>),

    #[error("journal {path}: {action} failed")]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("journal {path}: {action} failed")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{url} is not a usable PostgreSQL URL ({detail}); example: postgres://outreach@db.example/outreach"
    )]
    BadDatabaseUrl { url: String, detail: String },

    #[error(
        "cannot connect to the PostgreSQL server at {host} ({url}); check that it is running and \
         reachable from here (`pg_isready -h HOST -p PORT`), that the user and database in the URL \
         exist, and the password (in OUTREACH_DATABASE_URL or PGPASSWORD); nothing was sent"
    )]
    Unreachable {
        url: String,
        host: String,
        #[source]
        source: postgres::Error,
    },

    #[error(
        "the database {url} holds outreach schema version {found}, written by a newer outreach \
         (this build understands up to {supported}); upgrade outreach (nothing in the database was changed)"
    )]
    DatabaseNewer {
        url: String,
        found: i64,
        supported: i64,
    },

    #[error(
        "the database {url} holds outreach schema version {found}; this build needs {supported}: \
         run `outreach resume` (or `send`) against it once to upgrade it"
    )]
    DatabaseOlder {
        url: String,
        found: i64,
        supported: i64,
    },

    #[error(
        "the database {url} has an `outreach_meta` table that is not outreach's ({detail}); \
         use another database or schema (nothing was changed)"
    )]
    ForeignDatabase { url: String, detail: String },

    #[error("no campaign named `{name}` in {url}{}", known_text(.known))]
    NoSuchCampaign {
        url: String,
        name: String,
        known: Vec<String>,
    },

    #[error(
        "a campaign named `{name}` already exists in {url}; continue it with \
         `outreach resume --state URL --campaign {name}`, or pick another name with --campaign \
         (nothing was changed)"
    )]
    CampaignNameTaken { url: String, name: String },

    #[error(
        "another `outreach send` or `outreach resume` is working on campaign `{name}` in {url}; \
         wait for it to finish or stop it (Ctrl-C) first. `outreach status` works meanwhile"
    )]
    CampaignBusy { url: String, name: String },

    /// Ctrl-C while the database was unreachable: what was not written
    /// yet never will be by this run.
    #[error(
        "gave up reconnecting to the database at {host} after {:.1} s (interrupted); \
         updates not written yet are lost to the journal: their messages stay in flight \
         there, and `outreach resume` counts them as uncertain",
        .waited.as_secs_f64()
    )]
    GaveUpReconnecting {
        host: String,
        waited: std::time::Duration,
        #[source]
        source: Box<JournalError>,
    },

    #[error(
        "campaign store {location}: the server process (pid {pid}) of the lost connection \
         did not end; end it (`SELECT pg_terminate_backend({pid})`) and run `outreach resume`"
    )]
    BackendLingers { location: String, pid: i32 },

    #[error("campaign store {location}: {action} failed")]
    Postgres {
        location: String,
        action: &'static str,
        #[source]
        source: postgres::Error,
    },

    /// The callback given to a streaming read (`report_rows`, `row_digests`) failed.
    #[error("could not pass on a journal row")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A commit in the writer thread failed; sending must stop. Every caller
    /// waiting on that commit, and every later one, gets the same cause.
    #[error("writing the journal failed, so sending stopped")]
    WriterFailed(#[source] Arc<JournalError>),

    #[error("the journal writer has stopped{}", lost_text(*.lost_updates))]
    WriterClosed { lost_updates: u64 },
}

fn holder_text(pid: Option<u32>) -> String {
    pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        "; the database holds no campaign yet: start one with `outreach send CSV --state URL`"
            .into()
    } else {
        format!(
            "; its campaigns: {}. Pick one with --campaign NAME",
            known.join(", ")
        )
    }
}

fn state_text(state: Option<MessageState>) -> &'static str {
    state.map_or("unknown", MessageState::as_str)
}

fn lost_text(lost: u64) -> String {
    if lost == 0 {
        String::new()
    } else {
        format!("; {lost} update(s) could not be recorded")
    }
}

impl JournalError {
    /// The [`JournalError::GaveUpReconnecting`] this is, or that a writer
    /// failed of: the run was interrupted during an outage, not broken.
    pub fn gave_up_reconnecting(&self) -> Option<&JournalError> {
        match self {
            JournalError::GaveUpReconnecting { .. } => Some(self),
            JournalError::WriterFailed(cause) => cause.gave_up_reconnecting(),
            _ => None,
        }
    }

    /// Wraps an error from a caller's callback.
    pub fn sink(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> JournalError {
        JournalError::Sink(error.into())
    }

    pub(crate) fn sqlite(
        path: &std::path::Path,
        action: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> JournalError {
        let path = path.to_path_buf();
        move |source| JournalError::Sqlite {
            path,
            action,
            source,
        }
    }

    pub(crate) fn pg(
        location: &str,
        action: &'static str,
    ) -> impl FnOnce(postgres::Error) -> JournalError {
        let location = location.to_string();
        move |source| JournalError::Postgres {
            location,
            action,
            source,
        }
    }

    pub(crate) fn io(
        path: &std::path::Path,
        action: &'static str,
    ) -> impl FnOnce(std::io::Error) -> JournalError {
        let path = path.to_path_buf();
        move |source| JournalError::Io {
            path,
            action,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_names_the_holder() {
        let error = JournalError::Locked {
            path: "c.journal".into(),
            pid: Some(42),
        };
        assert_eq!(
            error.to_string(),
            "another `outreach send` or `outreach resume` (pid 42) is running on the journal c.journal; \
             wait for it to finish or stop it (Ctrl-C) first. `outreach status` works meanwhile"
        );
    }

    #[test]
    fn writer_failure_keeps_its_cause() {
        let cause = Arc::new(JournalError::UnknownSeq { seq: 7 });
        let error = JournalError::WriterFailed(cause);
        let source = std::error::Error::source(&error).unwrap();
        assert_eq!(source.to_string(), "message 7 is not in the journal");
    }

    #[test]
    fn journal_errors_cross_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<JournalError>();
    }
}
