//! Riding out a lost connection to PostgreSQL while a campaign is sent.
//!
//! A sending run must not stop loudly because the database blinked (a
//! failover, a restart, a network cut): it pauses and carries on. The rules,
//! in order:
//!
//! 1. Only a lost connection is ridden out ([`is_lost`]): the connection
//!    closed, an I/O error, the server shutting down or refusing new
//!    sessions for now. A constraint violation or an SQL error stays fatal.
//! 2. The store connects again on its own thread (the connection's, see
//!    `pg_conn`), waiting [`wait_before`] between attempts: 100 ms doubling
//!    to 5 s, forever, until the run gives up ([`GiveUp`], on Ctrl-C).
//!    Meanwhile the caller (the group-commit writer) waits, so every claim
//!    waits and no request leaves.
//! 3. It says so once on stderr when the connection is lost, and once when
//!    it is back, with how long it took; never the password.
//! 4. Before anything else, the server process of the lost connection is
//!    ended and waited for ([`end_backend`]): until it is gone it may still
//!    commit the last transaction, hold its row locks or the campaign's
//!    writer lock. After it, what the database holds is final.
//! 5. The session's state is restored: prepared statements are prepared
//!    again on demand (`Session::reopen` forgets them); the caller's
//!    `restore` takes the campaign's writer lock again.
//!
//! What a lost commit means (did it happen?) is `pg_commits`' question.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::error::SqlState;

use crate::journal::error::JournalError;
use crate::journal::pg_conn::{Backend, Session};

/// The first wait before connecting again (the first attempt is at once).
pub(crate) const FIRST_WAIT: Duration = Duration::from_millis(100);
/// The longest wait between attempts: a database back is noticed soon.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(5);
/// How long the lost connection's server process may take to end.
const BACKEND_GONE_WITHIN: Duration = Duration::from_secs(10);
/// How often to look whether it has ended.
const BACKEND_POLL: Duration = Duration::from_millis(20);

/// Whether `error` means the connection is lost, not that a statement
/// failed.
pub(crate) fn is_lost(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        return code.code().starts_with("08") // connection exception
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(code);
    }
    // I/O errors, and a connection attempt that timed out.
    let source = std::error::Error::source(error);
    source.is_some_and(|source| source.is::<std::io::Error>())
        || error.to_string().starts_with("timeout")
}

/// Whether a store's error is a lost connection (see [`is_lost`]).
pub(crate) fn lost_in(error: &JournalError) -> Option<&postgres::Error> {
    match error {
        JournalError::Postgres { source, .. } if is_lost(source) => Some(source),
        _ => None,
    }
}

/// What went wrong, with its cause (the driver's own text names only the
/// kind: "error communicating with the server").
fn reason(error: &postgres::Error) -> String {
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

/// The wait before attempt number `attempt` (0 is the first, at once).
pub(crate) fn wait_before(attempt: u32) -> Duration {
    if attempt == 0 {
        return Duration::ZERO;
    }
    let doublings = (attempt - 1).min(16);
    (FIRST_WAIT * 2u32.pow(doublings)).min(MAX_WAIT)
}

/// Tells a store waiting for its database to stop waiting (Ctrl-C): it
/// then fails at once, with [`JournalError::GaveUpReconnecting`]. Cheap to
/// clone; every clone is the same switch.
#[derive(Debug, Clone, Default)]
pub struct GiveUp(Arc<(Mutex<bool>, Condvar)>);

impl GiveUp {
    /// Stop waiting, now and for good.
    pub fn give_up(&self) {
        let (flag, wake) = &*self.0;
        *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
    }

    pub fn given_up(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps for `wait` unless given up meanwhile; false if given up.
    fn sleep(&self, wait: Duration) -> bool {
        let (flag, wake) = &*self.0;
        let given_up = flag.lock().unwrap_or_else(|e| e.into_inner());
        let (given_up, _) = wake
            .wait_timeout_while(given_up, wait, |given_up| !*given_up)
            .unwrap_or_else(|e| e.into_inner());
        !*given_up
    }
}

/// What a store does to ride out a lost connection.
pub(crate) struct Reconnect<'a> {
    pub(crate) give_up: &'a GiveUp,
    /// `campaign NAME in URL`, for errors.
    pub(crate) location: &'a str,
    /// Restores the session's own state on a new connection (the writer
    /// lock); its error is fatal unless it is a lost connection again.
    pub(crate) restore: &'a dyn Fn(&mut Session) -> Result<(), JournalError>,
}

/// Runs `f` until it succeeds or fails for a reason other than a lost
/// connection, connecting again after each loss. Only for work that may
/// run twice (reads; writes that check first).
pub(crate) fn retrying<R>(
    session: &mut Session,
    how: &Reconnect<'_>,
    mut f: impl FnMut(&mut Session) -> Result<R, JournalError>,
) -> Result<R, JournalError> {
    loop {
        match f(session) {
            Err(error) if lost_in(&error).is_some() => reconnect(session, how, error)?,
            other => return other,
        }
    }
}

/// Connects again after `cause` (a lost connection): says so, retries with
/// backoff until connected and restored, ends the lost server process,
/// says it is back. Fails when given up, or for a reason that is not a lost
/// connection (a refused password, a database gone, another writer).
pub(crate) fn reconnect(
    session: &mut Session,
    how: &Reconnect<'_>,
    cause: JournalError,
) -> Result<(), JournalError> {
    let started = Instant::now();
    let host = session.endpoint().to_string();
    let gave_up = |cause| JournalError::GaveUpReconnecting {
        host: host.clone(),
        waited: started.elapsed(),
        source: Box::new(cause),
    };
    if how.give_up.given_up() {
        // Said already; the run is ending.
        return Err(gave_up(cause));
    }
    let reason = lost_in(&cause).map_or_else(|| cause.to_string(), reason);
    say!(
        "lost the connection to the database at {} ({reason}); sending is paused, reconnecting",
        session.endpoint()
    );
    let mut attempt = 0;
    loop {
        if !how.give_up.sleep(wait_before(attempt)) {
            return Err(gave_up(cause));
        }
        attempt += 1;
        match restart(session, how) {
            Ok(()) => break,
            Err(error) if lost_in(&error).is_some() => continue,
            Err(error) => return Err(error),
        }
    }
    say!(
        "the database at {} is back after {:.1} s; sending continues",
        session.endpoint(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One attempt: a new connection, the old server process ended, the
/// session's state restored.
fn restart(session: &mut Session, how: &Reconnect<'_>) -> Result<(), JournalError> {
    let pg = |action| JournalError::pg(how.location, action);
    let previous = session
        .reopen()
        .map_err(pg("connecting to the database again"))?;
    if let Some(backend) = previous {
        end_backend(session, backend, how.location)?;
    }
    (how.restore)(session)
}

/// Ends the server process of a lost connection and waits until it is
/// gone, so that it can neither commit nor hold a lock any more. A server
/// process with the same pid but a later start is another's: left alone.
pub(crate) fn end_backend(
    session: &mut Session,
    backend: Backend,
    location: &str,
) -> Result<(), JournalError> {
    const SAME: &str = "pid = $1 AND (extract(epoch FROM backend_start) * 1000000)::bigint = $2";
    let params: [&(dyn postgres::types::ToSql + Sync); 2] = [&backend.pid, &backend.started_us];
    let pg = |action| JournalError::pg(location, action);
    session
        .client
        .query(
            &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {SAME}"),
            &params,
        )
        .map_err(pg("ending the lost connection's server process"))?;
    let gone_by = Instant::now() + BACKEND_GONE_WITHIN;
    loop {
        let alive: bool = session
            .client
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE {SAME})"),
                &params,
            )
            .map_err(pg(
                "waiting for the lost connection's server process to end",
            ))?
            .get(0);
        if !alive {
            return Ok(());
        }
        if Instant::now() > gone_by {
            return Err(JournalError::BackendLingers {
                location: location.to_string(),
                pid: backend.pid,
            });
        }
        std::thread::sleep(BACKEND_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_at_once_then_double_from_100_ms_up_to_5_s() {
        let waits: Vec<u128> = (0..10).map(|n| wait_before(n).as_millis()).collect();
        assert_eq!(waits, [0, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(wait_before(u32::MAX), MAX_WAIT);
    }

    #[test]
    fn giving_up_wakes_a_sleeper_at_once() {
        let give_up = GiveUp::default();
        let other = give_up.clone();
        let started = Instant::now();
        let sleeper = std::thread::spawn(move || other.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        give_up.give_up();
        assert!(!sleeper.join().unwrap(), "the sleep reports giving up");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(give_up.given_up());
        assert!(
            !give_up.sleep(Duration::from_secs(30)),
            "and stays given up"
        );
    }

    #[test]
    fn a_sleep_not_given_up_lasts_its_time() {
        let give_up = GiveUp::default();
        let started = Instant::now();
        assert!(give_up.sleep(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn only_a_lost_connection_is_ridden_out() {
        // The driver's errors cannot be built outside it, but for this one;
        // tests/postgres/outage.rs loses real connections.
        let lost = JournalError::Postgres {
            location: "campaign `c` in postgres://x@h/db".into(),
            action: "committing to the journal",
            source: postgres::Error::__private_api_timeout(),
        };
        assert!(lost_in(&lost).is_some(), "{lost:?}");
        assert_eq!(
            reason(lost_in(&lost).unwrap()),
            "timeout waiting for server"
        );
        let unrelated = JournalError::UnknownSeq { seq: 3 };
        assert!(lost_in(&unrelated).is_none());
    }
}
