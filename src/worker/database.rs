//! A worker's own connections to the database going away and coming back:
//! said once, reconnected, and the look at the database made again at once,
//! so leases are renewed as soon as it is back (docs/postgres.md, "When the
//! database is unreachable").

use crate::journal::pg_control::{PgControl, PgListener};

use super::Worker;

impl Worker {
    /// A look at the database (see [`Worker::look`]); when it fails,
    /// reconnect and, if that works, look again at once: the leases are
    /// renewed as soon as the database is back, not a tick later, when
    /// they may have run too short for claims.
    pub(super) fn look_or_reconnect(&mut self) -> bool {
        for _ in 0..2 {
            match tokio::task::block_in_place(|| self.look()) {
                Ok(idle) => {
                    self.database_back();
                    return idle;
                }
                Err(error) => {
                    if !self.database_trouble(&error) {
                        return false;
                    }
                }
            }
        }
        false
    }

    /// A look failed: say so once, and connect again; true if connected. Meanwhile the
    /// accounts' claims wait for the database too, and a claim is refused
    /// once its lease runs short, so nothing is sent on a lease that may
    /// have expired.
    fn database_trouble(&mut self, error: &anyhow::Error) -> bool {
        if self.trouble_since.is_none() {
            self.trouble_since = Some(tokio::time::Instant::now());
            say!(
                "worker {}: cannot reach the database ({}); its accounts send nothing new until it is back; reconnecting",
                self.id.id,
                crate::cli::describe(error)
            );
        }
        let reconnected = tokio::task::block_in_place(|| {
            let control = PgControl::connect(&self.settings.url)?;
            let wake = self.wake.clone();
            let listener = PgListener::start(&self.settings.url, move || wake.notify_one())?;
            anyhow::Ok((control, listener))
        });
        let Ok((control, listener)) = reconnected else {
            return false;
        };
        self.control = control;
        self.listener = Some(listener);
        true
    }

    fn database_back(&mut self) {
        if let Some(since) = self.trouble_since.take() {
            say!(
                "worker {}: the database is back after {:.1} s",
                self.id.id,
                since.elapsed().as_secs_f64()
            );
        }
    }
}
