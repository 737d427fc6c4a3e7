//! The per-token rate limiter: fixed or rolling windows over a [`Rate`].
//!
//! This is the one piece of the sandbox whose behaviour a client has to
//! predict exactly, so it is pure: every method takes `now` and nothing here
//! reads a clock. The tests below walk through time by adding durations to a
//! single starting instant and assert exact remaining counts and reset times.
//!
//! - **Fixed** windows start with the first send after the previous window
//!   has ended and last one period; up to N sends fit in each window. Bursts
//!   of 2N across a boundary are possible, as with many real APIs.
//! - **Rolling** windows keep the times of the sends of the last period; a
//!   send is allowed while fewer than N are in it. A slot frees up exactly
//!   one period after the send that used it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use outreach_rate::Rate;

/// How sends are counted against the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WindowKind {
    /// N sends per window; the window starts with its first send.
    Fixed,
    /// At most N sends in any span of one period.
    #[default]
    Rolling,
}

impl WindowKind {
    /// The name used on the command line and in docs.
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Fixed => "fixed",
            WindowKind::Rolling => "rolling",
        }
    }
}

/// What the limiter tells a client about its quota at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// N, the number of sends per period.
    pub limit: u32,
    /// The period of the rate.
    pub window: Duration,
    /// Sends still allowed right now.
    pub remaining: u32,
    /// Fixed: time until the current window ends (a whole period if none is
    /// open). Rolling: time until the oldest counted send leaves the window,
    /// that is until `remaining` next goes up (zero if nothing is counted).
    pub reset: Duration,
}

/// The answer to one send attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The send was counted; the quota is the state after it.
    Allowed(Quota),
    /// Over the limit: nothing was counted; retry after the given delay.
    Throttled { quota: Quota, retry_after: Duration },
}

impl Verdict {
    pub fn quota(&self) -> Quota {
        match self {
            Verdict::Allowed(quota) | Verdict::Throttled { quota, .. } => *quota,
        }
    }
}

#[derive(Debug, Clone)]
enum Window {
    Fixed { start: Option<Instant>, used: u32 },
    Rolling { sends: VecDeque<Instant> },
}

/// One token's limiter. Callers must pass non-decreasing `now` values.
#[derive(Debug, Clone)]
pub struct Limiter {
    rate: Rate,
    window: Window,
}

impl Limiter {
    pub fn new(rate: Rate, kind: WindowKind) -> Limiter {
        let window = match kind {
            WindowKind::Fixed => Window::Fixed {
                start: None,
                used: 0,
            },
            WindowKind::Rolling => Window::Rolling {
                sends: VecDeque::new(),
            },
        };
        Limiter { rate, window }
    }

    fn quota(&self, remaining: u32, reset: Duration) -> Quota {
        Quota {
            limit: self.rate.count,
            window: self.rate.period,
            remaining,
            reset,
        }
    }

    /// The quota at `now` without counting a send.
    pub fn peek(&self, now: Instant) -> Quota {
        let period = self.rate.period;
        match &self.window {
            Window::Fixed { start, used } => match start {
                Some(start) if elapsed(*start, now) < period => {
                    self.quota(self.rate.count - used, period - elapsed(*start, now))
                }
                _ => self.quota(self.rate.count, period),
            },
            Window::Rolling { sends } => {
                let expired = sends.partition_point(|sent| elapsed(*sent, now) >= period);
                let live = sends.len() - expired;
                let reset = sends
                    .get(expired)
                    .map_or(Duration::ZERO, |oldest| period - elapsed(*oldest, now));
                self.quota(self.rate.count - count_u32(live), reset)
            }
        }
    }

    /// Count one send at `now` if the limit allows it.
    pub fn acquire(&mut self, now: Instant) -> Verdict {
        let period = self.rate.period;
        let count = self.rate.count;
        match &mut self.window {
            Window::Fixed { start, used } => {
                let open = start.filter(|start| elapsed(*start, now) < period);
                let window_start = match open {
                    Some(start) => start,
                    None => {
                        *start = Some(now);
                        *used = 0;
                        now
                    }
                };
                let reset = period - elapsed(window_start, now);
                if *used < count {
                    *used += 1;
                    let remaining = count - *used;
                    Verdict::Allowed(self.quota(remaining, reset))
                } else {
                    Verdict::Throttled {
                        quota: self.quota(0, reset),
                        retry_after: reset,
                    }
                }
            }
            Window::Rolling { sends } => {
                while sends
                    .front()
                    .is_some_and(|sent| elapsed(*sent, now) >= period)
                {
                    sends.pop_front();
                }
                let allowed = count_u32(sends.len()) < count;
                if allowed {
                    sends.push_back(now);
                }
                // Not empty: it holds at least the send just pushed or `count` older ones.
                let reset = sends
                    .front()
                    .map_or(period, |oldest| period - elapsed(*oldest, now));
                if allowed {
                    let remaining = count - count_u32(sends.len());
                    Verdict::Allowed(self.quota(remaining, reset))
                } else {
                    Verdict::Throttled {
                        quota: self.quota(0, reset),
                        retry_after: reset,
                    }
                }
            }
        }
    }
}

/// Time from `then` to `now`; never adds to an `Instant`, so no period is too
/// long (`1/1000y` would overflow `Instant + Duration`).
fn elapsed(then: Instant, now: Instant) -> Duration {
    now.saturating_duration_since(then)
}

/// The number of counted sends never exceeds the limit, a `u32`.
fn count_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn rate(text: &str) -> Rate {
        text.parse().unwrap()
    }

    fn allowed(verdict: Verdict) -> (u32, Duration) {
        match verdict {
            Verdict::Allowed(quota) => (quota.remaining, quota.reset),
            other => panic!("expected Allowed, got {other:?}"),
        }
    }

    fn throttled(verdict: Verdict) -> Duration {
        match verdict {
            Verdict::Throttled { quota, retry_after } => {
                assert_eq!(quota.remaining, 0);
                assert_eq!(quota.reset, retry_after);
                retry_after
            }
            other => panic!("expected Throttled, got {other:?}"),
        }
    }

    #[test]
    fn fixed_window_counts_down_and_resets_at_window_end() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(rate("3/s"), WindowKind::Fixed);
        assert_eq!(limiter.peek(t0).remaining, 3);
        assert_eq!(limiter.peek(t0).reset, ms(1000));

        assert_eq!(allowed(limiter.acquire(t0)), (2, ms(1000)));
        assert_eq!(allowed(limiter.acquire(t0 + ms(100))), (1, ms(900)));
        assert_eq!(allowed(limiter.acquire(t0 + ms(400))), (0, ms(600)));
        assert_eq!(throttled(limiter.acquire(t0 + ms(700))), ms(300));
        assert_eq!(limiter.peek(t0 + ms(999)).remaining, 0);
        assert_eq!(limiter.peek(t0 + ms(999)).reset, ms(1));

        // The window ends at t0 + 1 s; the next send opens a new one.
        assert_eq!(limiter.peek(t0 + ms(1000)).remaining, 3);
        assert_eq!(allowed(limiter.acquire(t0 + ms(1200))), (2, ms(1000)));
        assert_eq!(limiter.peek(t0 + ms(1500)).reset, ms(700));
    }

    #[test]
    fn fixed_window_allows_a_burst_across_the_boundary() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(rate("2/s"), WindowKind::Fixed);
        // Three sends within 11 ms although the limit is 2/s: the window
        // opened at t0 ends at t0 + 1 s and the next one starts right away.
        allowed(limiter.acquire(t0));
        allowed(limiter.acquire(t0 + ms(990)));
        assert_eq!(throttled(limiter.acquire(t0 + ms(991))), ms(9));
        assert_eq!(allowed(limiter.acquire(t0 + ms(1000))), (1, ms(1000)));
        assert_eq!(allowed(limiter.acquire(t0 + ms(1001))), (0, ms(999)));
        assert_eq!(throttled(limiter.acquire(t0 + ms(1002))), ms(998));
    }

    #[test]
    fn rolling_window_frees_each_slot_one_period_after_its_send() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(rate("3/s"), WindowKind::Rolling);
        assert_eq!(limiter.peek(t0).remaining, 3);
        assert_eq!(limiter.peek(t0).reset, Duration::ZERO);

        assert_eq!(allowed(limiter.acquire(t0)), (2, ms(1000)));
        assert_eq!(allowed(limiter.acquire(t0 + ms(300))), (1, ms(700)));
        assert_eq!(allowed(limiter.acquire(t0 + ms(600))), (0, ms(400)));
        assert_eq!(throttled(limiter.acquire(t0 + ms(900))), ms(100));

        // At t0 + 1 s the first send leaves the window: one slot, no more.
        let quota = limiter.peek(t0 + ms(1000));
        assert_eq!((quota.remaining, quota.reset), (1, ms(300)));
        assert_eq!(allowed(limiter.acquire(t0 + ms(1000))), (0, ms(300)));
        assert_eq!(throttled(limiter.acquire(t0 + ms(1100))), ms(200));
        assert_eq!(allowed(limiter.acquire(t0 + ms(1300))), (0, ms(300)));

        // Long after, everything has expired.
        let quota = limiter.peek(t0 + ms(5000));
        assert_eq!((quota.remaining, quota.reset), (3, Duration::ZERO));
    }

    #[test]
    fn rolling_window_has_no_boundary_burst() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(rate("2/s"), WindowKind::Rolling);
        allowed(limiter.acquire(t0));
        allowed(limiter.acquire(t0 + ms(990)));
        allowed(limiter.acquire(t0 + ms(1000)));
        assert_eq!(throttled(limiter.acquire(t0 + ms(1001))), ms(989));
    }

    #[test]
    fn throttled_attempts_are_not_counted() {
        let t0 = Instant::now();
        for kind in [WindowKind::Fixed, WindowKind::Rolling] {
            let mut limiter = Limiter::new(rate("1/s"), kind);
            allowed(limiter.acquire(t0));
            for step in 1..10 {
                throttled(limiter.acquire(t0 + ms(step * 50)));
            }
            assert_eq!(
                allowed(limiter.acquire(t0 + ms(1000))),
                (0, ms(1000)),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn very_long_periods_do_not_overflow() {
        let t0 = Instant::now();
        let period = Duration::from_secs(u64::MAX / 2);
        for kind in [WindowKind::Fixed, WindowKind::Rolling] {
            let mut limiter = Limiter::new(Rate::new(1, period), kind);
            assert_eq!(allowed(limiter.acquire(t0)), (0, period));
            assert_eq!(throttled(limiter.acquire(t0 + ms(5))), period - ms(5));
        }
    }

    #[test]
    fn peek_matches_the_quota_after_acquire() {
        let t0 = Instant::now();
        for kind in [WindowKind::Fixed, WindowKind::Rolling] {
            let mut limiter = Limiter::new(rate("5/10s"), kind);
            for step in 0..7u64 {
                let now = t0 + ms(step * 700);
                let verdict = limiter.acquire(now);
                assert_eq!(limiter.peek(now), verdict.quota(), "{kind:?} step {step}");
            }
        }
    }
}
