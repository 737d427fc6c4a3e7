//! Learning a rate-limit window that the headers do not name.
//!
//! `X-RateLimit-*` and the drafts' separate fields give `Limit` (the quota
//! per window) but no window. [`learn_window`] infers it from a response
//! that shows a window just opened (`remaining == limit - 1`: this request
//! was the first one counted), whose reset distance `d = reset_at - now` is
//! then the window less the request's time in transit, rounded up to the
//! resolution `g` of the value. So the window lies in `(d - g, d + rtt]`.
//! Windows are whole seconds in practice (per second, minute, hour), so the
//! largest whole number of seconds in that range is taken: the slower
//! choice when two fit, and exact for both `Reset: 5` and an epoch reset
//! that lands anywhere in the sixth second. When no whole second fits
//! (sub-second resolution, or `d < 1 s`), the window is `d + rtt`, never
//! shorter than the server's. A response that does not open a window
//! teaches nothing about it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::headers::RateLimitInfo;
use super::pacing::MAX_HINT;

/// The policy window shown by a response that opened one, received at
/// `now` for a request sent at `sent_at` (see the module docs).
pub fn learn_window(
    info: &RateLimitInfo,
    sent_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let (limit, remaining, reset_at) = (info.limit?, info.remaining?, info.reset_at?);
    if limit == 0 || remaining.checked_add(1) != Some(limit) {
        return None;
    }
    let distance = (reset_at - now).to_std().ok().filter(|d| !d.is_zero())?;
    let rtt = (now - sent_at).to_std().unwrap_or_default();
    let longest = distance.checked_add(rtt)?;
    let whole = Duration::from_secs(longest.as_secs());
    let window = if whole >= Duration::from_secs(1) && whole + info.reset_resolution > distance {
        whole
    } else {
        longest
    };
    (window <= MAX_HINT).then_some(window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    /// What the sandbox's `X-RateLimit-*` says to the first request of a
    /// window of `window_ms`, answered `rtt_ms` after it left at `now()`.
    fn opened(limit: u64, reset: &str, rtt_ms: i64) -> (RateLimitInfo, DateTime<Utc>) {
        let answered = now() + TimeDelta::milliseconds(rtt_ms);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ratelimit-limit", limit.to_string().parse().unwrap());
        headers.insert(
            "x-ratelimit-remaining",
            (limit - 1).to_string().parse().unwrap(),
        );
        headers.insert("x-ratelimit-reset", reset.parse().unwrap());
        (
            super::super::parse_rate_limit_headers(&headers, answered),
            answered,
        )
    }

    #[test]
    fn the_window_is_the_reset_seen_when_one_opens() {
        let learn = |limit, reset: &str, rtt_ms| {
            let (info, answered) = opened(limit, reset, rtt_ms);
            learn_window(&info, now(), answered)
        };
        let s = |secs| Some(Duration::from_secs(secs));
        // `Reset: 5` right after a 5 s window opened.
        assert_eq!(learn(10, "5", 1), s(5));
        assert_eq!(learn(10, "1", 1), s(1));
        assert_eq!(learn(20, "3600", 40), s(3600));
        // An epoch reset rounded up lands anywhere in (W, W + 1]; one
        // rounded from a window that opened a moment before the answer,
        // just under W. Both are W.
        let epoch = |distance_ms: i64, rtt_ms: i64| {
            let answered = now() + TimeDelta::milliseconds(rtt_ms);
            let info = RateLimitInfo {
                limit: Some(10),
                remaining: Some(9),
                reset_at: Some(answered + TimeDelta::milliseconds(distance_ms)),
                reset_resolution: Duration::from_secs(1),
                ..RateLimitInfo::default()
            };
            learn_window(&info, now(), answered)
        };
        assert_eq!(epoch(5_600, 1), s(5));
        assert_eq!(epoch(4_999, 2), s(5));
        assert_eq!(epoch(999, 2), s(1));
        // Fractions are precise: no whole second in (2.5 - 0.1, 2.5 + rtt].
        assert_eq!(learn(10, "2.5", 1), Some(Duration::from_millis(2_501)));
        // A sub-second window read in whole seconds: 1 s, never shorter.
        assert_eq!(learn(10, "1", 0), s(1));
    }

    #[test]
    fn only_a_response_that_opened_a_window_teaches_it() {
        let (mut info, answered) = opened(10, "5", 1);
        info.remaining = Some(5);
        assert_eq!(learn_window(&info, now(), answered), None);
        let (mut info, answered) = opened(10, "5", 1);
        info.limit = None;
        assert_eq!(learn_window(&info, now(), answered), None);
        // A reset already past teaches nothing either.
        let (info, _) = opened(10, "5", 1);
        assert_eq!(
            learn_window(&info, now(), now() + TimeDelta::seconds(6)),
            None
        );
    }
}
