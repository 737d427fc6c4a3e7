//! Rate-limit headers in the dialects real APIs speak.
//!
//! Clients of rate-limited APIs meet several conventions: GitHub-style
//! `X-RateLimit-*` with a reset in seconds or as a Unix time, the IETF
//! `RateLimit`/`RateLimit-Policy` pair, a bare `Retry-After` HTTP-date, or
//! nothing at all. The sandbox speaks each on demand so the sender's header
//! parsing can be tested against all of them. Rendering is pure: the wall
//! clock time is passed in, so the tests below assert exact header values.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use super::limiter::Quota;

/// Which rate-limit headers the sandbox sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum HeaderDialect {
    /// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (seconds from now, rounded up).
    #[default]
    #[value(name = "x-ratelimit")]
    XRateLimit,
    /// As `x-ratelimit`, but `X-RateLimit-Reset` is a Unix time in seconds.
    #[value(name = "x-ratelimit-epoch")]
    XRateLimitEpoch,
    /// `RateLimit-Policy: "default";q=N;w=S` and `RateLimit: "default";r=R;t=S`.
    Ietf,
    /// Only `Retry-After` as an HTTP-date, on 429 responses.
    RetryAfter,
    /// No rate-limit headers and no `Retry-After`.
    None,
}

impl HeaderDialect {
    /// Every dialect, in the order the docs list them.
    pub const ALL: [HeaderDialect; 5] = [
        HeaderDialect::XRateLimit,
        HeaderDialect::XRateLimitEpoch,
        HeaderDialect::Ietf,
        HeaderDialect::RetryAfter,
        HeaderDialect::None,
    ];

    /// The name used by `--headers`.
    pub fn name(self) -> &'static str {
        match self {
            HeaderDialect::XRateLimit => "x-ratelimit",
            HeaderDialect::XRateLimitEpoch => "x-ratelimit-epoch",
            HeaderDialect::Ietf => "ietf",
            HeaderDialect::RetryAfter => "retry-after",
            HeaderDialect::None => "none",
        }
    }
}

pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Whole seconds, rounded up, so a client that waits this long is never early.
pub fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The last second an HTTP-date can show (9999-12-31T23:59:59Z).
const LAST_HTTP_DATE: u64 = 253_402_300_799;

/// `now + delay` in whole seconds since 1970, rounded up; saturates instead
/// of overflowing for absurdly long periods.
fn epoch_secs_after(now: SystemTime, delay: Duration) -> u64 {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    ceil_secs(since_epoch.saturating_add(delay))
}

/// `now + delay` as an HTTP-date, rounded up to the next whole second
/// (capped at the year 9999, the last an HTTP-date can show).
pub fn http_date_after(now: SystemTime, delay: Duration) -> String {
    let secs = epoch_secs_after(now, delay).min(LAST_HTTP_DATE);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

fn value(number: impl ToString) -> HeaderValue {
    // Digits, quotes, `;`, `=`, letters, commas and spaces only: always valid.
    HeaderValue::from_str(&number.to_string()).unwrap_or(HeaderValue::from_static("0"))
}

/// Add the `Date` header and the dialect's rate-limit headers for `quota`.
/// `retry_after` is set on 429 responses only.
pub fn apply(
    headers: &mut HeaderMap,
    dialect: HeaderDialect,
    quota: &Quota,
    retry_after: Option<Duration>,
    now: SystemTime,
) {
    headers.insert(header::DATE, value(httpdate::fmt_http_date(now)));
    match dialect {
        HeaderDialect::XRateLimit | HeaderDialect::XRateLimitEpoch => {
            let reset = if dialect == HeaderDialect::XRateLimit {
                ceil_secs(quota.reset)
            } else {
                epoch_secs_after(now, quota.reset)
            };
            headers.insert(X_RATELIMIT_LIMIT, value(quota.limit));
            headers.insert(X_RATELIMIT_REMAINING, value(quota.remaining));
            headers.insert(X_RATELIMIT_RESET, value(reset));
        }
        HeaderDialect::Ietf => {
            let policy = format!(
                "\"default\";q={};w={}",
                quota.limit,
                ceil_secs(quota.window)
            );
            let state = format!(
                "\"default\";r={};t={}",
                quota.remaining,
                ceil_secs(quota.reset)
            );
            headers.insert(RATELIMIT_POLICY, value(policy));
            headers.insert(RATELIMIT, value(state));
        }
        HeaderDialect::RetryAfter | HeaderDialect::None => {}
    }
    if let Some(delay) = retry_after {
        match dialect {
            HeaderDialect::None => {}
            HeaderDialect::RetryAfter => {
                headers.insert(header::RETRY_AFTER, value(http_date_after(now, delay)));
            }
            _ => {
                headers.insert(header::RETRY_AFTER, value(ceil_secs(delay)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01T12:00:00.250Z
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_714_564_800_250)
    }

    fn quota(remaining: u32, reset_ms: u64) -> Quota {
        Quota {
            limit: 100,
            window: Duration::from_secs(60),
            remaining,
            reset: Duration::from_millis(reset_ms),
        }
    }

    fn render(
        dialect: HeaderDialect,
        quota: Quota,
        retry_ms: Option<u64>,
    ) -> Vec<(String, String)> {
        let mut headers = HeaderMap::new();
        apply(
            &mut headers,
            dialect,
            &quota,
            retry_ms.map(Duration::from_millis),
            now(),
        );
        let mut pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
            .collect();
        pairs.sort();
        pairs
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        pairs.sort();
        pairs
    }

    const DATE: (&str, &str) = ("date", "Wed, 01 May 2024 12:00:00 GMT");

    #[test]
    fn rounding_is_always_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn x_ratelimit_reset_is_seconds_from_now() {
        assert_eq!(
            render(HeaderDialect::XRateLimit, quota(42, 17_100), None),
            pairs(&[
                DATE,
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "42"),
                ("x-ratelimit-reset", "18"),
            ])
        );
        assert_eq!(
            render(HeaderDialect::XRateLimit, quota(0, 2_500), Some(2_500)),
            pairs(&[
                DATE,
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "3"),
                ("retry-after", "3"),
            ])
        );
    }

    #[test]
    fn x_ratelimit_epoch_reset_is_a_unix_time() {
        // 12:00:00.250 + 17.1 s = 12:00:17.350, rounded up to :18.
        assert_eq!(
            render(
                HeaderDialect::XRateLimitEpoch,
                quota(0, 17_100),
                Some(17_100)
            ),
            pairs(&[
                DATE,
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1714564818"),
                ("retry-after", "18"),
            ])
        );
    }

    #[test]
    fn ietf_policy_and_state() {
        assert_eq!(
            render(HeaderDialect::Ietf, quota(7, 59_001), None),
            pairs(&[
                DATE,
                ("ratelimit-policy", "\"default\";q=100;w=60"),
                ("ratelimit", "\"default\";r=7;t=60"),
            ])
        );
        assert_eq!(
            render(HeaderDialect::Ietf, quota(0, 400), Some(400)),
            pairs(&[
                DATE,
                ("ratelimit-policy", "\"default\";q=100;w=60"),
                ("ratelimit", "\"default\";r=0;t=1"),
                ("retry-after", "1"),
            ])
        );
    }

    #[test]
    fn retry_after_dialect_sends_an_http_date_on_429_only() {
        assert_eq!(
            render(HeaderDialect::RetryAfter, quota(3, 1_000), None),
            pairs(&[DATE])
        );
        // 12:00:00.250 + 2.5 s = 12:00:02.750, rounded up to :03.
        assert_eq!(
            render(HeaderDialect::RetryAfter, quota(0, 2_500), Some(2_500)),
            pairs(&[DATE, ("retry-after", "Wed, 01 May 2024 12:00:03 GMT")])
        );
    }

    #[test]
    fn none_sends_only_the_date() {
        assert_eq!(
            render(HeaderDialect::None, quota(0, 2_500), Some(2_500)),
            pairs(&[DATE])
        );
    }

    #[test]
    fn absurd_delays_saturate_instead_of_panicking() {
        let huge = Duration::from_secs(u64::MAX / 2);
        assert_eq!(
            http_date_after(now(), huge),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        let mut map = HeaderMap::new();
        let long = Quota {
            reset: huge,
            ..quota(0, 0)
        };
        apply(
            &mut map,
            HeaderDialect::XRateLimitEpoch,
            &long,
            Some(huge),
            now(),
        );
        assert_eq!(
            map[X_RATELIMIT_RESET],
            (u64::MAX / 2 + 1_714_564_801).to_string()
        );
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<&str> = HeaderDialect::ALL.iter().map(|d| d.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HeaderDialect::ALL.len());
    }
}
