//! Wall-clock time that obeys tokio's paused clock.
//!
//! The executor plans in `DateTime<Utc>` but sleeps through `tokio::time`, so a
//! test with `start_paused = true` runs an hour-long campaign in milliseconds.
//! `Utc::now()` would not follow a paused clock; this does: it is a fixed wall
//! time plus the tokio `Instant` elapsed since.
//!
//! The real clock finishes each sleep with an OS sleep: tokio's timer fires on
//! 1 ms ticks, about 1-2 ms late, and requests should leave on their slot.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Wall-clock time derived from tokio's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_wall: DateTime<Utc>,
    base_instant: Instant,
    /// Finish each sleep with a precise OS sleep (the real clock only: a
    /// paused test clock must not wait for real time).
    precise: bool,
}

/// How long before a deadline tokio's timer, which fires on 1 ms ticks and
/// so up to ~2 ms late, hands over to a precise sleep of the OS.
const PRECISE_LEAD: Duration = Duration::from_millis(2);

/// Precise sleeps at once; each holds a blocking thread for at most
/// [`PRECISE_LEAD`]. When all are busy (many accounts due together), the
/// rest fall back to tokio's timer.
static PRECISE_SLEEPS: Semaphore = Semaphore::const_new(8);

impl Clock {
    /// A clock that reads `Utc::now()` once, now, and sleeps precisely.
    pub fn system() -> Clock {
        Clock {
            precise: true,
            ..Clock::starting_at(Utc::now())
        }
    }

    /// A clock whose current time is `wall` (tests; follows a paused clock).
    pub fn starting_at(wall: DateTime<Utc>) -> Clock {
        Clock {
            base_wall: wall,
            base_instant: Instant::now(),
            precise: false,
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
        let deadline = self.instant_of(at);
        if !self.precise {
            // tokio fires even a past deadline only on its next 1 ms tick.
            if deadline > Instant::now() {
                tokio::time::sleep_until(deadline).await;
            }
            return;
        }
        if let Some(coarse) = deadline.checked_sub(PRECISE_LEAD)
            && coarse > Instant::now()
        {
            tokio::time::sleep_until(coarse).await;
        }
        let Some(remaining) = deadline.checked_duration_since(Instant::now()) else {
            return;
        };
        match PRECISE_SLEEPS.try_acquire() {
            Ok(permit) => {
                let target = std::time::Instant::now() + remaining;
                let sleep = tokio::task::spawn_blocking(move || {
                    std::thread::sleep(target.saturating_duration_since(std::time::Instant::now()));
                    drop(permit);
                });
                if sleep.await.is_err() {
                    tokio::time::sleep_until(deadline).await;
                }
            }
            Err(_) => tokio::time::sleep_until(deadline).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_system_clock_never_wakes_before_the_deadline() {
        // How punctual it is lives in benches/send_timing.sh, not here.
        let clock = Clock::system();
        for micros in [0, 300, 1_500, 2_500, 3_500] {
            let at = clock.now() + TimeDelta::microseconds(micros);
            clock.sleep_until(at).await;
            let woke = clock.now();
            assert!(woke >= at, "woke {} before the deadline", at - woke);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn follows_the_paused_clock() {
        let start: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        clock.sleep_until(start + TimeDelta::hours(1)).await;
        assert_eq!(clock.now(), start + TimeDelta::hours(1));
    }
}
