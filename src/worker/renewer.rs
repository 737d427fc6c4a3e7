//! Renewing a worker's leases on a thread and a connection of their own,
//! every third of a lease, whatever the worker's loop is doing: a loop
//! slowed by a busy database (listing campaigns, leasing accounts) must
//! not let the leases of accounts that are sending run short.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::journal::DbUrl;
use crate::journal::pg_control::PgControl;

/// The leases kept by the latest renewal, as `(campaign, account, fence)`,
/// with when that renewal started.
pub type Renewal = (Instant, Vec<(i64, String, i64)>);

/// The renewal thread; it stops when dropped.
pub struct Renewer {
    latest: Arc<Mutex<Option<Renewal>>>,
    stop: Arc<AtomicBool>,
}

impl Renewer {
    /// Renews `holder`'s leases for `lease` every `every`, on a connection
    /// of its own to `url` (connected again when lost).
    pub fn start(url: DbUrl, holder: String, lease: Duration, every: Duration) -> Renewer {
        let latest = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopped) = (latest.clone(), stop.clone());
        std::thread::Builder::new()
            .name("outreach-leases".into())
            .spawn(move || {
                let mut control = None;
                while !stopped.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    if control.is_none() {
                        control = PgControl::connect(&url).ok();
                    }
                    if let Some(connection) = &control {
                        match connection.renew(&holder, lease) {
                            Ok(renewed) => {
                                *kept.lock().unwrap_or_else(|e| e.into_inner()) =
                                    Some((started, renewed));
                            }
                            // The worker's loop says what is wrong; here,
                            // connect again next time.
                            Err(_) => control = None,
                        }
                    }
                    std::thread::sleep(every.saturating_sub(started.elapsed()));
                }
            })
            .expect("the lease renewal thread starts");
        Renewer { latest, stop }
    }

    /// The latest renewal, once.
    pub fn take(&self) -> Option<Renewal> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
