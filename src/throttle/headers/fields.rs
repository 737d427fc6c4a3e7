//! Dialects 2 and 3: a limit, a remaining count and a reset, each in a
//! field of its own.
//!
//! The earlier IETF drafts named them `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (the limit may carry `;w=`);
//! the de-facto dialect names them `X-RateLimit-*` or `X-Rate-Limit-*`.
//! Each only fills what a more specific dialect left empty.

use reqwest::header::HeaderMap;

use super::reset_time::ResponseClocks;
use super::syntax::{checked, count, header, parse_list, seconds};
use super::{RateLimitInfo, fill_reset};

/// Names of one dialect of separate limit / remaining / reset fields.
pub(super) struct Fields {
    limit: &'static str,
    remaining: &'static str,
    reset: &'static str,
}

pub(super) const DRAFT_FIELDS: Fields = Fields {
    limit: "ratelimit-limit",
    remaining: "ratelimit-remaining",
    reset: "ratelimit-reset",
};

pub(super) const X_FIELDS: [Fields; 2] = [
    Fields {
        limit: "x-ratelimit-limit",
        remaining: "x-ratelimit-remaining",
        reset: "x-ratelimit-reset",
    },
    Fields {
        limit: "x-rate-limit-limit",
        remaining: "x-rate-limit-remaining",
        reset: "x-rate-limit-reset",
    },
];

/// Fills what is missing in `info` from one dialect of separate fields. A
/// field holding a list (`100, 100;w=60`, as early drafts allowed) is read
/// from its first member; a `w` parameter on the limit gives the window.
pub(super) fn read_fields(
    headers: &HeaderMap,
    clock: &ResponseClocks,
    info: &mut RateLimitInfo,
    fields: &Fields,
) {
    let first_member = |name: &str| {
        let value = header(headers, name)?;
        let member = parse_list(value).into_iter().next()?;
        Some((value, member))
    };
    if let Some((value, member)) = first_member(fields.limit) {
        if info.limit.is_none() {
            info.limit = checked(fields.limit, value, count(&member.item));
        }
        if info.window.is_none() {
            info.window = member
                .param("w")
                .and_then(|w| checked(fields.limit, value, seconds(w)));
        }
    }
    if info.remaining.is_none()
        && let Some((value, member)) = first_member(fields.remaining)
    {
        info.remaining = checked(fields.remaining, value, count(&member.item));
    }
    if info.reset_at.is_none()
        && let Some((value, member)) = first_member(fields.reset)
    {
        fill_reset(
            info,
            checked(fields.reset, value, clock.reset(&member.item)),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{at, parse};
    use super::*;

    #[test]
    fn x_ratelimit_with_delay_reset() {
        let info = parse(&[
            ("X-RateLimit-Limit", "20"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "3600"),
        ]);
        assert_eq!(
            info,
            RateLimitInfo {
                limit: Some(20),
                remaining: Some(0),
                reset_at: at(3600.0),
                window: None,
                reset_resolution: Duration::from_secs(1),
                retry_after: None,
            }
        );
        assert_eq!(parse(&[("x-ratelimit-reset", "1.5")]).reset_at, at(1.5));
        assert_eq!(parse(&[("X-RATELIMIT-RESET", " 0.25 ")]).reset_at, at(0.25));
        // The X-Rate-Limit-* spelling.
        let info = parse(&[
            ("X-Rate-Limit-Limit", "15"),
            ("X-Rate-Limit-Remaining", "14"),
        ]);
        assert_eq!((info.limit, info.remaining), (Some(15), Some(14)));
    }

    #[test]
    fn earlier_drafts_separate_fields() {
        // Separate fields, with the older policy form.
        let info = parse(&[
            ("RateLimit-Limit", "10"),
            ("RateLimit-Remaining", "3"),
            ("RateLimit-Reset", "30"),
            ("RateLimit-Policy", "10;w=60"),
        ]);
        assert_eq!(
            info,
            RateLimitInfo {
                limit: Some(10),
                remaining: Some(3),
                reset_at: at(30.0),
                window: Some(Duration::from_secs(60)),
                reset_resolution: Duration::from_secs(1),
                retry_after: None,
            }
        );
        // The first drafts put the policy on the limit field.
        let info = parse(&[("RateLimit-Limit", "100, 100;w=60")]);
        assert_eq!((info.limit, info.window), (Some(100), None));
        let info = parse(&[("RateLimit-Limit", "100;w=60, 1000;w=3600")]);
        assert_eq!(
            (info.limit, info.window),
            (Some(100), Some(Duration::from_secs(60)))
        );
    }
}
