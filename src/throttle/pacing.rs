//! Turning a server's rate-limit hints into what the sender should do next.
//!
//! [`headers`](super::headers) says what the server announced; this module
//! decides what that means for the next send, as a pure function of the
//! hints, the status code and `now`. It only ever slows the campaign down:
//! the caller waits until [`Advice::pause_until`] and spaces sends by
//! `max(plan interval, min_spacing)`, so a generous server never makes us
//! faster than the plan. [`Pacer`](super::Pacer) keeps what one account
//! learns across responses and refines the pause.
//!
//! Rules, in order:
//!
//! 1. Hints at or before `now` are stale and ignored, and so are hints more
//!    than [`MAX_HINT`] away, which are taken as malformed: no header can
//!    stall a campaign for weeks.
//! 2. `Retry-After` takes precedence over everything: pause until it.
//! 3. Otherwise, when the quota is spent (`remaining == 0`, or a 429) and
//!    the reset is known: pause until the reset.
//! 4. Spacing: the policy (`limit` per `window`, announced or learned) is
//!    the pace: `window / limit`. `remaining` and the reset only keep the
//!    account from running dry: `remaining` sends need `remaining + 1`
//!    spacings before the one after them finds the quota reset, so the
//!    spacing is at least `(earliest reset - now) / (remaining + 1)`, where
//!    the earliest reset is `reset_at - reset_resolution` (a reset of `3`
//!    may mean 2.01 s). When the plan's own pace already spends the quota no
//!    faster than that, this asks for nothing the plan does not do anyway.
//!    Spacings above `MAX_HINT` are ignored like rule 1.
//! 5. A 429 with no usable hint gives no pause: the caller backs off
//!    exponentially ([`backoff`](super::backoff)), which is the only place
//!    where delays grow with the attempt number.
//!
//! A policy whose headers give its limit but not its window has the window
//! learned by [`learn_window`] (in `learned_window.rs`).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::headers::RateLimitInfo;

// Moved to `learned_window.rs`; this path keeps working.
pub use super::learned_window::learn_window;

/// The longest wait any header may impose; anything beyond is malformed.
pub const MAX_HINT: Duration = Duration::from_secs(7 * 24 * 3600);

/// What to do before the next send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Advice {
    /// Send nothing before this instant.
    pub pause_until: Option<DateTime<Utc>>,
    /// Leave at least this much between sends (the caller takes the larger
    /// of this and the plan's interval).
    pub min_spacing: Option<Duration>,
}

/// Advice for the response that carried `info` (`throttled`: the channel
/// read it as too many requests, e.g. HTTP 429 or SMTP 421),
/// received at `now` (see the module docs for the rules).
pub fn advise(info: &RateLimitInfo, throttled: bool, now: DateTime<Utc>) -> Advice {
    let usable = |at: Option<DateTime<Utc>>, what: &str| {
        let at = at?;
        let wait = (at - now).to_std().ok().filter(|wait| !wait.is_zero())?;
        if wait > MAX_HINT {
            tracing::debug!(%at, %now, "ignoring {what} more than 7 days away");
            return None;
        }
        Some((at, wait))
    };
    let retry_after = usable(info.retry_after, "Retry-After");
    let reset = usable(info.reset_at, "rate-limit reset");
    let spent = info.remaining == Some(0) || throttled;
    let pause_until = match (retry_after, reset) {
        (Some((at, _)), _) => Some(at),
        (None, Some((at, _))) if spent => Some(at),
        _ => None,
    };
    let spread = match (info.remaining, reset) {
        (Some(remaining), Some((at, wait))) if remaining > 0 && pause_until != Some(at) => wait
            .checked_sub(info.reset_resolution)
            .filter(|early| !early.is_zero())
            .map(|early| divide(early, remaining.saturating_add(1))),
        _ => None,
    };
    let policy = match (info.limit, info.window) {
        (Some(limit), Some(window)) if limit > 0 => Some(divide(window, limit)),
        _ => None,
    };
    let min_spacing = spread.max(policy).filter(|spacing| {
        let plausible = *spacing <= MAX_HINT;
        if !plausible {
            tracing::debug!(
                ?spacing,
                "ignoring rate-limit spacing more than 7 days long"
            );
        }
        plausible && !spacing.is_zero()
    });
    Advice {
        pause_until,
        min_spacing,
    }
}

/// `total / parts`, rounded up to the nanosecond so that `parts` spacings
/// never add up to less than `total`.
pub(crate) fn divide(total: Duration, parts: u64) -> Duration {
    let nanos = total.as_nanos().div_ceil(u128::from(parts));
    // `nanos <= total.as_nanos()`, so the seconds fit in a u64.
    Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    )
}

/// `at - by`, saturating at the earliest representable instant.
pub(crate) fn earlier(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|by| at.checked_sub_signed(by))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    fn at(seconds: i64) -> Option<DateTime<Utc>> {
        Some(now() + TimeDelta::seconds(seconds))
    }

    fn secs(seconds: u64) -> Option<Duration> {
        Some(Duration::from_secs(seconds))
    }

    fn info(remaining: Option<u64>, reset_in: Option<i64>, retry_in: Option<i64>) -> RateLimitInfo {
        RateLimitInfo {
            remaining,
            reset_at: reset_in.and_then(at),
            retry_after: retry_in.and_then(at),
            ..RateLimitInfo::default()
        }
    }

    fn advice(pause_until: Option<DateTime<Utc>>, min_spacing: Option<Duration>) -> Advice {
        Advice {
            pause_until,
            min_spacing,
        }
    }

    #[test]
    fn no_hints_no_advice() {
        assert_eq!(
            advise(&RateLimitInfo::default(), false, now()),
            Advice::default()
        );
        // A 429 without hints: the caller backs off exponentially.
        assert_eq!(
            advise(&RateLimitInfo::default(), true, now()),
            Advice::default()
        );
    }

    #[test]
    fn retry_after_takes_precedence() {
        let hints = info(Some(0), Some(3600), Some(30));
        assert_eq!(advise(&hints, true, now()), advice(at(30), None));
        assert_eq!(advise(&hints, false, now()), advice(at(30), None));
        // Even a later Retry-After beats an earlier reset.
        let hints = info(Some(0), Some(60), Some(600));
        assert_eq!(advise(&hints, true, now()), advice(at(600), None));
        // Spacing from the remaining quota still applies after the pause:
        // 10 sends left need 11 spacings before the reset.
        let hints = info(Some(10), Some(1100), Some(5));
        assert_eq!(advise(&hints, false, now()), advice(at(5), secs(100)));
    }

    #[test]
    fn spent_quota_pauses_until_reset() {
        assert_eq!(
            advise(&info(Some(0), Some(3600), None), false, now()),
            advice(at(3600), None)
        );
        assert_eq!(
            advise(&info(Some(0), Some(3600), None), true, now()),
            advice(at(3600), None)
        );
        // A 429 means spent even if the count disagrees.
        assert_eq!(
            advise(&info(Some(7), Some(120), None), true, now()),
            advice(at(120), None)
        );
        assert_eq!(
            advise(&info(None, Some(120), None), true, now()),
            advice(at(120), None)
        );
        // Spent but no reset known: nothing to pause until.
        assert_eq!(
            advise(&info(Some(0), None, None), false, now()),
            Advice::default()
        );
    }

    #[test]
    fn remaining_quota_is_spread_until_reset() {
        // 5 sends left: the 6th finds the quota reset after 6 spacings.
        assert_eq!(
            advise(&info(Some(5), Some(600), None), false, now()),
            advice(None, secs(100))
        );
        assert_eq!(
            advise(&info(Some(1), Some(45), None), false, now()),
            advice(None, Some(Duration::from_millis(22_500)))
        );
        // Rounded up to the nanosecond: 2 sends, 3 spacings in 1 s.
        let hints = RateLimitInfo {
            remaining: Some(2),
            reset_at: Some(now() + TimeDelta::seconds(1)),
            ..RateLimitInfo::default()
        };
        assert_eq!(
            advise(&hints, false, now()).min_spacing,
            Some(Duration::from_nanos(333_333_334))
        );
        // Unknown remaining or reset: no spacing from them.
        assert_eq!(
            advise(&info(Some(5), None, None), false, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(None, Some(600), None), false, now()),
            Advice::default()
        );
    }

    #[test]
    fn a_reset_rounded_up_is_spread_from_its_earliest_instant() {
        // `Reset: 3` may mean 2.01 s: 4 sends left, 5 spacings in 2 s.
        let rounded = |remaining, reset_in| RateLimitInfo {
            reset_resolution: Duration::from_secs(1),
            ..info(Some(remaining), Some(reset_in), None)
        };
        assert_eq!(
            advise(&rounded(4, 3), false, now()),
            advice(None, Some(Duration::from_millis(400)))
        );
        // `Reset: 1` may mean any instant from now on: nothing to spread.
        assert_eq!(advise(&rounded(9, 1), false, now()), Advice::default());
        // With a policy of 10 per 5 s, the first answer of a window
        // (9 left, `Reset: 5`) asks for no more than the policy's pace.
        let opened = RateLimitInfo {
            limit: Some(10),
            window: secs(5),
            ..rounded(9, 5)
        };
        assert_eq!(
            advise(&opened, false, now()),
            advice(None, Some(Duration::from_millis(500)))
        );
    }

    #[test]
    fn policy_is_the_pace_and_the_quota_only_slows_it() {
        let policy = RateLimitInfo {
            limit: Some(20),
            window: secs(3600),
            ..RateLimitInfo::default()
        };
        assert_eq!(advise(&policy, false, now()), advice(None, secs(180)));
        // A quota that lasts at the policy's pace does not speed it up...
        let live = RateLimitInfo {
            remaining: Some(2),
            reset_at: at(100),
            ..policy.clone()
        };
        assert_eq!(advise(&live, false, now()), advice(None, secs(180)));
        // ...and one that would run dry at that pace slows it down.
        let low = RateLimitInfo {
            remaining: Some(2),
            reset_at: at(900),
            ..policy.clone()
        };
        assert_eq!(advise(&low, false, now()), advice(None, secs(300)));
        // When pausing until the reset, only the policy says anything about
        // the spacing after it.
        let spent = RateLimitInfo {
            remaining: Some(0),
            reset_at: at(100),
            ..policy.clone()
        };
        assert_eq!(advise(&spent, false, now()), advice(at(100), secs(180)));
        let zero_limit = RateLimitInfo {
            limit: Some(0),
            ..policy
        };
        assert_eq!(advise(&zero_limit, false, now()), Advice::default());
    }

    #[test]
    fn stale_hints_are_ignored() {
        assert_eq!(
            advise(&info(Some(0), Some(-5), Some(-1)), true, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(Some(0), Some(0), Some(0)), true, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(Some(4), Some(-5), None), false, now()),
            Advice::default()
        );
        // A stale Retry-After falls through to a valid reset.
        assert_eq!(
            advise(&info(Some(0), Some(60), Some(-1)), true, now()),
            advice(at(60), None)
        );
    }

    #[test]
    fn absurd_hints_are_ignored() {
        let week = 7 * 24 * 3600;
        assert_eq!(
            advise(&info(Some(0), Some(week), None), true, now()),
            advice(at(week), None)
        );
        assert_eq!(
            advise(&info(Some(0), Some(week + 1), None), true, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(None, None, Some(week + 1)), true, now()),
            Advice::default()
        );
        // Spacing longer than a week, from a policy of 1 per year.
        let policy = RateLimitInfo {
            limit: Some(1),
            window: secs(365 * 24 * 3600),
            ..RateLimitInfo::default()
        };
        assert_eq!(advise(&policy, false, now()), Advice::default());
        let far = RateLimitInfo {
            retry_after: Some(DateTime::<Utc>::MAX_UTC),
            reset_at: Some(DateTime::<Utc>::MAX_UTC),
            remaining: Some(1),
            ..RateLimitInfo::default()
        };
        assert_eq!(advise(&far, true, now()), Advice::default());
    }
}
