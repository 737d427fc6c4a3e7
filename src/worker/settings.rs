//! How a worker runs: its flags as settings, and the few rules derived
//! from them (how often it looks, the margin a claim needs, its share of
//! the accounts, its name in the database).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::journal::DbUrl;
use crate::journal::pg_lease::WorkerId;

/// How long an account the server stopped (a refused token, say) waits
/// before a worker tries it again.
pub const ACCOUNT_STOP_PAUSE: TimeDelta = TimeDelta::minutes(10);

/// How long an account whose run stopped on a problem waits before a
/// worker tries it again: not straight back into the same failure.
pub const PROBLEM_PAUSE: TimeDelta = TimeDelta::seconds(30);

/// Until when an account whose run stopped on a problem at `now` is held
/// back. A lost lease (a claim refused because the lease expired or ran
/// short, during a database outage say) is no fault of the account's: it
/// is free for any worker at once, or `--until-idle` workers would exit
/// with its messages still pending.
pub fn problem_pause(lease_lost: bool, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (!lease_lost).then_some(now + PROBLEM_PAUSE)
}

/// How a worker runs (`outreach worker` flags).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub url: DbUrl,
    /// Only these campaigns (all when empty).
    pub campaigns: Vec<String>,
    /// How long a lease lasts without renewal: the failover bound's main part.
    pub lease: Duration,
    /// Longest sleep between looks at the database when nothing wakes it.
    pub poll: Duration,
    /// An account whose next message is further away than this gives its
    /// lease back until then.
    pub idle: Duration,
    /// Exit when no campaign has a message due (for cron and tests).
    pub until_idle: bool,
    /// Messages a dead worker left in flight go back to pending where the
    /// channel drops repeats (the same Idempotency-Key), instead of uncertain.
    pub resend_uncertain: bool,
    /// At most this many accounts at once.
    pub max_accounts: Option<usize>,
    /// Overrides each campaign's saved endpoint.
    pub endpoint: Option<String>,
    pub events: Option<std::path::PathBuf>,
}

/// This worker's share of `due` accounts among `live` workers.
pub fn fair_share(due: i64, live: i64, max: Option<usize>) -> i64 {
    let share = (due + live - 1) / live.max(1);
    match max {
        Some(max) => share.min(max as i64),
        None => share,
    }
}

/// How often the loop looks: often enough to renew a lease three times
/// before it expires.
pub fn tick(settings: &WorkerSettings) -> Duration {
    (settings.lease / 3).min(settings.poll)
}

/// A claim needs a third of the lease left.
pub fn margin(settings: &WorkerSettings) -> i64 {
    i64::try_from((settings.lease / 3).as_nanos()).unwrap_or(i64::MAX)
}

pub fn worker_id() -> WorkerId {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "host".into());
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    WorkerId::new(host, std::process::id(), (tag ^ (tag >> 16)) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fair_share_rounds_up_so_every_account_is_someones() {
        assert_eq!(fair_share(50, 3, None), 17);
        assert_eq!(fair_share(50, 1, None), 50);
        assert_eq!(fair_share(2, 3, None), 1);
        assert_eq!(fair_share(0, 3, None), 0);
        assert_eq!(fair_share(50, 3, Some(5)), 5);
    }

    #[test]
    fn a_lost_lease_does_not_hold_the_account_back_but_other_problems_do() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(problem_pause(true, now), None);
        assert_eq!(problem_pause(false, now), Some(now + PROBLEM_PAUSE));
    }
}
