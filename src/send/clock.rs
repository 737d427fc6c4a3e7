//! Wall-clock time that obeys tokio's paused clock.
//!
//! The executor plans in `DateTime<Utc>` but sleeps through `tokio::time`, so a
//! test with `start_paused = true` runs an hour-long campaign in milliseconds.
//! `Utc::now()` would not follow a paused clock; this does: it is a fixed wall
//! time plus the tokio `Instant` elapsed since.

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

/// Wall-clock time derived from tokio's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_wall: DateTime<Utc>,
    base_instant: Instant,
}

impl Clock {
    /// A clock that reads `Utc::now()` once, now.
    pub fn system() -> Clock {
        Clock::starting_at(Utc::now())
    }

    /// A clock whose current time is `wall` (tests).
    pub fn starting_at(wall: DateTime<Utc>) -> Clock {
        Clock {
            base_wall: wall,
            base_instant: Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = self.base_instant.elapsed();
        self.base_wall + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX)
    }

    /// The tokio instant at which wall time `at` arrives.
    pub fn instant_of(&self, at: DateTime<Utc>) -> Instant {
        let offset = (at - self.base_wall).to_std().unwrap_or_default();
        self.base_instant + offset
    }

    /// Sleep until wall time `at` (returns at once if it has passed).
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        tokio::time::sleep_until(self.instant_of(at)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_the_paused_clock() {
        let start: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        clock.sleep_until(start + TimeDelta::hours(1)).await;
        assert_eq!(clock.now(), start + TimeDelta::hours(1));
    }
}
