//! Rate-limit hints in HTTP response headers, in every dialect we have met.
//!
//! Servers announce quotas in several overlapping dialects, and a client
//! that understands only one sends too fast against the others. This module
//! reads all of them into one [`RateLimitInfo`] whose instants are in *our*
//! clock, so that callers never deal with header syntax or with server clock
//! skew. It never fails and never reads the clock: a malformed header is
//! skipped (with a `debug` trace) and `now` is a parameter, so tests pin
//! exact values.
//!
//! Dialects, most specific first; a later one only fills fields the earlier
//! ones left empty:
//!
//! 1. IETF structured fields (draft-ietf-httpapi-ratelimit-headers-08 and
//!    later): `RateLimit-Policy: "hour";q=20;w=3600` and
//!    `RateLimit: "hour";r=5;t=120`. With several policies the most
//!    restrictive `RateLimit` item wins: an exhausted one (`r=0`), else the
//!    one with the most time per remaining request (`t/r`); its policy is
//!    the `RateLimit-Policy` item of the same name. The older dictionary form `RateLimit: limit=10, remaining=5, reset=30` and
//!    the older policy form `RateLimit-Policy: 10;w=60` are read too.
//! 2. Earlier drafts' separate fields: `RateLimit-Limit` (which may carry
//!    `;w=`), `RateLimit-Remaining`, `RateLimit-Reset`.
//! 3. The de-facto `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
//!    `X-RateLimit-Reset` (and the `X-Rate-Limit-*` spelling).
//!
//! `Retry-After` (delay-seconds or HTTP-date) is read on its own. How a
//! reset or `Retry-After` value becomes an instant in our clock (units told
//! apart by magnitude, server clock skew, resolution) is in `reset_time.rs`.
//!
//! # Architecture
//!
//! - This file: [`RateLimitInfo`] and [`parse_rate_limit_headers`], which
//!   reads the dialects in order of precedence.
//! - `structured`: dialect 1, `RateLimit` and `RateLimit-Policy`, and the
//!   most restrictive of several quotas.
//! - `fields`: dialects 2 and 3, separate limit / remaining / reset fields.
//! - `reset_time`: reset and `Retry-After` values as instants in our clock,
//!   with how much earlier the real reset may be.
//! - `syntax`: what every dialect shares: a header's text, a lenient
//!   structured-field list, whole numbers and decimal seconds.

mod fields;
mod reset_time;
mod structured;
mod syntax;
#[cfg(test)]
mod test_support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use fields::{DRAFT_FIELDS, X_FIELDS, read_fields};
use reset_time::{ResponseClocks, http_date};
use structured::read_structured;
use syntax::{header, malformed};

pub use reset_time::{RESET_EPOCH_MILLIS_FROM, RESET_EPOCH_SECONDS_FROM, RESET_MALFORMED_FROM};

/// What the server said about its quota, with every instant in our clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimitInfo {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// When the quota resets, in OUR clock.
    pub reset_at: Option<DateTime<Utc>>,
    /// The policy window if known (IETF `w=`).
    pub window: Option<Duration>,
    /// How much earlier than `reset_at` the reset may really be, from the
    /// rounding of the value sent (see `reset_time.rs`); zero if unknown.
    pub reset_resolution: Duration,
    /// From `Retry-After`, in OUR clock.
    pub retry_after: Option<DateTime<Utc>>,
}

impl RateLimitInfo {
    /// Whether the server gave no hint at all.
    pub fn is_empty(&self) -> bool {
        *self == RateLimitInfo::default()
    }
}

/// Reads every rate-limit dialect in `headers` (see the module docs).
/// `now` is our clock at the moment the response arrived.
pub fn parse_rate_limit_headers(headers: &HeaderMap, now: DateTime<Utc>) -> RateLimitInfo {
    let server_date = header(headers, "date").and_then(|value| {
        let date = http_date(value);
        if date.is_none() {
            malformed("date", value);
        }
        date
    });
    let clock = ResponseClocks { now, server_date };
    let mut info = RateLimitInfo::default();
    read_structured(headers, &clock, &mut info);
    read_fields(headers, &clock, &mut info, &DRAFT_FIELDS);
    for fields in &X_FIELDS {
        read_fields(headers, &clock, &mut info, fields);
    }
    info.retry_after = header(headers, "retry-after").and_then(|value| {
        let at = clock.retry_after(value);
        if at.is_none() {
            malformed("retry-after", value);
        }
        at
    });
    info
}

/// Sets the reset of `info` if it has none yet.
fn fill_reset(info: &mut RateLimitInfo, reset: Option<(DateTime<Utc>, Duration)>) {
    if info.reset_at.is_none()
        && let Some((at, resolution)) = reset
    {
        info.reset_at = Some(at);
        info.reset_resolution = resolution;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    use test_support::{SERVER_AHEAD, at, map, now, parse};

    #[test]
    fn no_headers_no_info() {
        assert!(parse(&[]).is_empty());
        assert!(parse(&[("Content-Type", "text/plain"), SERVER_AHEAD]).is_empty());
    }

    #[test]
    fn malformed_values_are_ignored_and_the_rest_kept() {
        for bad in [
            "-1",
            "abc",
            "5.5",
            "1e3",
            "inf",
            "NaN",
            "",
            " ",
            "+5",
            "0x10",
            "5 6",
            "18446744073709551616",
        ] {
            let info = parse(&[
                ("X-RateLimit-Limit", bad),
                ("X-RateLimit-Remaining", bad),
                ("X-RateLimit-Reset", "60"),
            ]);
            assert_eq!(
                (info.limit, info.remaining, info.reset_at),
                (None, None, at(60.0)),
                "{bad:?}"
            );
        }
        for bad in [
            "-3", "soon", "1e3", "inf", "1.", ".5", "1..5", "1.5.5", "-0",
        ] {
            let info = parse(&[
                ("X-RateLimit-Reset", bad),
                ("Retry-After", bad),
                ("X-RateLimit-Remaining", "4"),
            ]);
            assert_eq!(
                (info.reset_at, info.retry_after, info.remaining),
                (None, None, Some(4)),
                "{bad:?}"
            );
        }
        let info = parse(&[("RateLimit", r#""x";r=abc;t=5"#)]);
        assert_eq!((info.remaining, info.reset_at), (None, at(5.0)));
        let info = parse(&[
            ("RateLimit", r#""x;r=1;t=5"#),
            ("RateLimit-Policy", r#"";q=;w=x"#),
        ]);
        assert!(info.is_empty(), "{info:?}");
        assert!(parse(&[("RateLimit", ",,;;=,\"")]).is_empty());
    }

    #[test]
    fn non_ascii_values_are_ignored() {
        let mut headers = map(&[("X-RateLimit-Remaining", "7")]);
        headers.insert(
            "x-ratelimit-limit",
            HeaderValue::from_bytes(b"2\xff0").unwrap(),
        );
        headers.insert(
            "retry-after",
            HeaderValue::from_bytes(b"\xe2\x80\x9c5").unwrap(),
        );
        let info = parse_rate_limit_headers(&headers, now());
        assert_eq!(
            (info.limit, info.remaining, info.retry_after),
            (None, Some(7), None)
        );
    }

    #[test]
    fn dialects_combine_in_order_of_precedence() {
        let info = parse(&[
            ("X-RateLimit-Limit", "999"),
            ("X-RateLimit-Remaining", "998"),
            ("X-RateLimit-Reset", "1717243380"),
            ("RateLimit-Remaining", "9"),
            ("RateLimit", r#""hour";r=5;t=120"#),
            ("Retry-After", "30"),
        ]);
        assert_eq!(
            info,
            RateLimitInfo {
                // Only the X- dialect has a limit.
                limit: Some(999),
                // The structured field beats the draft field and the X- field.
                remaining: Some(5),
                reset_at: at(120.0),
                window: None,
                reset_resolution: Duration::from_secs(1),
                retry_after: at(30.0),
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(values in proptest::collection::vec("[ -~]{0,40}", 9)) {
            let names = [
                "date", "retry-after", "ratelimit", "ratelimit-policy", "ratelimit-limit",
                "ratelimit-remaining", "ratelimit-reset", "x-ratelimit-reset", "x-ratelimit-remaining",
            ];
            let mut headers = HeaderMap::new();
            for (name, value) in names.iter().zip(&values) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.insert(*name, value);
                }
            }
            parse_rate_limit_headers(&headers, now());
            parse_rate_limit_headers(&headers, DateTime::<Utc>::MAX_UTC);
            parse_rate_limit_headers(&headers, DateTime::<Utc>::MIN_UTC);
        }
    }
}
