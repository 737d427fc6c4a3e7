//! Turning a server's rate-limit hints into what the sender should do next.
//!
//! [`headers`](super::headers) says what the server announced; this module
//! decides what that means for the next send, as a pure function of the
//! hints, the status code and `now`. It only ever slows the campaign down:
//! the caller waits until [`Advice::pause_until`] and spaces sends by
//! `max(plan interval, min_spacing)`, so a generous server never makes us
//! faster than the plan.
//!
//! Rules, in order:
//!
//! 1. Hints at or before `now` are stale and ignored, and so are hints more
//!    than [`MAX_HINT`] away, which are taken as malformed: no header can
//!    stall a campaign for weeks.
//! 2. `Retry-After` takes precedence over everything: pause until it.
//! 3. Otherwise, when the quota is spent (`remaining == 0`, or a 429) and
//!    the reset is known: pause until the reset.
//! 4. Spacing: with requests remaining and a known reset (and no pause until
//!    that reset), spread them over the time left: `(reset - now) /
//!    remaining`. Failing that, with a policy known (`limit` per `window`),
//!    the policy's average `window / limit`. Spacings above `MAX_HINT` are
//!    ignored like rule 1.
//! 5. A 429 with no usable hint gives no pause: the caller backs off
//!    exponentially ([`backoff`](super::backoff)), which is the only place
//!    where delays grow with the attempt number.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::headers::RateLimitInfo;

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

/// Advice for the response that carried `info` with status `status`,
/// received at `now` (see the module docs for the rules).
pub fn advise(info: &RateLimitInfo, status: u16, now: DateTime<Utc>) -> Advice {
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
    let spent = info.remaining == Some(0) || status == 429;
    let pause_until = match (retry_after, reset) {
        (Some((at, _)), _) => Some(at),
        (None, Some((at, _))) if spent => Some(at),
        _ => None,
    };
    let spread = match (info.remaining, reset) {
        (Some(remaining), Some((at, wait))) if remaining > 0 && pause_until != Some(at) => {
            Some(divide(wait, remaining))
        }
        _ => None,
    };
    let policy = match (info.limit, info.window) {
        (Some(limit), Some(window)) if limit > 0 => Some(divide(window, limit)),
        _ => None,
    };
    let min_spacing = spread.or(policy).filter(|spacing| {
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
fn divide(total: Duration, parts: u64) -> Duration {
    let nanos = total.as_nanos().div_ceil(u128::from(parts));
    // `nanos <= total.as_nanos()`, so the seconds fit in a u64.
    Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    )
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
            advise(&RateLimitInfo::default(), 200, now()),
            Advice::default()
        );
        // A 429 without hints: the caller backs off exponentially.
        assert_eq!(
            advise(&RateLimitInfo::default(), 429, now()),
            Advice::default()
        );
    }

    #[test]
    fn retry_after_takes_precedence() {
        let hints = info(Some(0), Some(3600), Some(30));
        assert_eq!(advise(&hints, 429, now()), advice(at(30), None));
        assert_eq!(advise(&hints, 503, now()), advice(at(30), None));
        // Even a later Retry-After beats an earlier reset.
        let hints = info(Some(0), Some(60), Some(600));
        assert_eq!(advise(&hints, 429, now()), advice(at(600), None));
        // Spacing from the remaining quota still applies after the pause.
        let hints = info(Some(10), Some(1000), Some(5));
        assert_eq!(advise(&hints, 200, now()), advice(at(5), secs(100)));
    }

    #[test]
    fn spent_quota_pauses_until_reset() {
        assert_eq!(
            advise(&info(Some(0), Some(3600), None), 200, now()),
            advice(at(3600), None)
        );
        assert_eq!(
            advise(&info(Some(0), Some(3600), None), 429, now()),
            advice(at(3600), None)
        );
        // A 429 means spent even if the count disagrees.
        assert_eq!(
            advise(&info(Some(7), Some(120), None), 429, now()),
            advice(at(120), None)
        );
        assert_eq!(
            advise(&info(None, Some(120), None), 429, now()),
            advice(at(120), None)
        );
        // Spent but no reset known: nothing to pause until.
        assert_eq!(
            advise(&info(Some(0), None, None), 200, now()),
            Advice::default()
        );
    }

    #[test]
    fn remaining_quota_is_spread_until_reset() {
        assert_eq!(
            advise(&info(Some(5), Some(600), None), 200, now()),
            advice(None, secs(120))
        );
        assert_eq!(
            advise(&info(Some(1), Some(45), None), 200, now()),
            advice(None, secs(45))
        );
        // Rounded up to the nanosecond: 3 sends in 1 s.
        let hints = RateLimitInfo {
            remaining: Some(3),
            reset_at: Some(now() + TimeDelta::seconds(1)),
            ..RateLimitInfo::default()
        };
        assert_eq!(
            advise(&hints, 200, now()).min_spacing,
            Some(Duration::from_nanos(333_333_334))
        );
        // Unknown remaining or reset: no spacing from them.
        assert_eq!(
            advise(&info(Some(5), None, None), 200, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(None, Some(600), None), 200, now()),
            Advice::default()
        );
    }

    #[test]
    fn policy_gives_spacing_when_nothing_better_is_known() {
        let policy = RateLimitInfo {
            limit: Some(20),
            window: secs(3600),
            ..RateLimitInfo::default()
        };
        assert_eq!(advise(&policy, 200, now()), advice(None, secs(180)));
        // The live quota beats the policy average.
        let live = RateLimitInfo {
            remaining: Some(2),
            reset_at: at(100),
            ..policy.clone()
        };
        assert_eq!(advise(&live, 200, now()), advice(None, secs(50)));
        // When pausing until the reset, only the policy says anything about
        // the spacing after it.
        let spent = RateLimitInfo {
            remaining: Some(0),
            reset_at: at(100),
            ..policy.clone()
        };
        assert_eq!(advise(&spent, 200, now()), advice(at(100), secs(180)));
        let zero_limit = RateLimitInfo {
            limit: Some(0),
            ..policy
        };
        assert_eq!(advise(&zero_limit, 200, now()), Advice::default());
    }

    #[test]
    fn stale_hints_are_ignored() {
        assert_eq!(
            advise(&info(Some(0), Some(-5), Some(-1)), 429, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(Some(0), Some(0), Some(0)), 429, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(Some(4), Some(-5), None), 200, now()),
            Advice::default()
        );
        // A stale Retry-After falls through to a valid reset.
        assert_eq!(
            advise(&info(Some(0), Some(60), Some(-1)), 429, now()),
            advice(at(60), None)
        );
    }

    #[test]
    fn absurd_hints_are_ignored() {
        let week = 7 * 24 * 3600;
        assert_eq!(
            advise(&info(Some(0), Some(week), None), 429, now()),
            advice(at(week), None)
        );
        assert_eq!(
            advise(&info(Some(0), Some(week + 1), None), 429, now()),
            Advice::default()
        );
        assert_eq!(
            advise(&info(None, None, Some(week + 1)), 429, now()),
            Advice::default()
        );
        // Spacing longer than a week, from a policy of 1 per year.
        let policy = RateLimitInfo {
            limit: Some(1),
            window: secs(365 * 24 * 3600),
            ..RateLimitInfo::default()
        };
        assert_eq!(advise(&policy, 200, now()), Advice::default());
        let far = RateLimitInfo {
            retry_after: Some(DateTime::<Utc>::MAX_UTC),
            reset_at: Some(DateTime::<Utc>::MAX_UTC),
            remaining: Some(1),
            ..RateLimitInfo::default()
        };
        assert_eq!(advise(&far, 429, now()), Advice::default());
    }
}
