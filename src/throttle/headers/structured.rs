//! Dialect 1: the IETF structured fields `RateLimit` and
//! `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-08 and later),
//! and the older forms of the same two fields.
//!
//! A server may announce several quotas at once (`"hour"` and `"day"`);
//! the one that binds first is the one reported, with the policy of the
//! same name.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::reset_time::ResponseClocks;
use super::syntax::{checked, count, joined, parse_list, seconds};
use super::{RateLimitInfo, fill_reset};

/// A `RateLimit` item, already parsed.
struct Item {
    name: Option<String>,
    remaining: Option<u64>,
    reset_at: Option<(DateTime<Utc>, Duration)>,
    /// The reset as seconds from now, to rank items.
    reset_in: Option<f64>,
}

/// Fills `info` from `RateLimit` and `RateLimit-Policy` (dialect 1).
pub(super) fn read_structured(
    headers: &HeaderMap,
    clock: &ResponseClocks,
    info: &mut RateLimitInfo,
) {
    let mut chosen_name = None;
    if let Some(value) = joined(headers, "ratelimit") {
        let mut items = Vec::new();
        for member in parse_list(&value) {
            if let Some((key, number)) = member.entry() {
                // The older dictionary form: limit=10, remaining=5, reset=30.
                let name = "ratelimit";
                match key.to_ascii_lowercase().as_str() {
                    "limit" if info.limit.is_none() => {
                        info.limit = checked(name, &value, count(number));
                    }
                    "remaining" if info.remaining.is_none() => {
                        info.remaining = checked(name, &value, count(number));
                    }
                    "reset" => fill_reset(info, checked(name, &value, clock.reset(number))),
                    _ => {}
                }
                continue;
            }
            let remaining = member
                .param("r")
                .and_then(|r| checked("ratelimit", &value, count(r)));
            let reset_at = member
                .param("t")
                .and_then(|t| checked("ratelimit", &value, clock.reset(t)));
            let reset_in = reset_at.map(|(at, _)| (at - clock.now).as_seconds_f64());
            if remaining.is_some() || reset_at.is_some() {
                items.push(Item {
                    name: member.name().map(str::to_string),
                    remaining,
                    reset_at,
                    reset_in,
                });
            }
        }
        if let Some(item) = pick_most_restrictive(items) {
            info.remaining = info.remaining.or(item.remaining);
            fill_reset(info, item.reset_at);
            chosen_name = item.name;
        }
    }
    if let Some(value) = joined(headers, "ratelimit-policy") {
        let policies = parse_list(&value);
        let policy = chosen_name
            .and_then(|name| policies.iter().find(|p| p.name() == Some(name.as_str())))
            .or_else(|| policies.iter().find(|p| p.param("w").is_some()))
            .or(policies.first());
        if let Some(policy) = policy {
            // `"name";q=20;w=3600`, or the older `20;w=3600`.
            let quota = match policy.param("q") {
                Some(q) => Some(q),
                None => policy.name().is_none().then_some(policy.item.as_str()),
            };
            if info.limit.is_none() {
                info.limit = quota.and_then(|q| checked("ratelimit-policy", &value, count(q)));
            }
            if info.window.is_none() {
                info.window = policy
                    .param("w")
                    .and_then(|w| checked("ratelimit-policy", &value, seconds(w)));
            }
        }
    }
}

/// Of several quotas, the one that binds first: an exhausted one (`r=0`),
/// else the one with the most time per remaining request (`t / r`). Items
/// missing `r` or `t` rank below any with both; ties keep header order.
fn pick_most_restrictive(items: Vec<Item>) -> Option<Item> {
    let rank = |item: &Item| match (item.remaining, item.reset_in) {
        (Some(0), _) => f64::INFINITY,
        (Some(remaining), Some(reset_in)) => reset_in / remaining as f64,
        _ => f64::NEG_INFINITY,
    };
    items.into_iter().reduce(|best, item| {
        if rank(&item) > rank(&best) {
            item
        } else {
            best
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{at, parse};
    use super::*;

    #[test]
    fn ietf_structured_fields() {
        let info = parse(&[
            ("RateLimit-Policy", r#""hour";q=20;w=3600"#),
            ("RateLimit", r#""hour";r=5;t=120"#),
        ]);
        assert_eq!(
            info,
            RateLimitInfo {
                limit: Some(20),
                remaining: Some(5),
                reset_at: at(120.0),
                window: Some(Duration::from_secs(3600)),
                reset_resolution: Duration::from_secs(1),
                retry_after: None,
            }
        );
        // Tokens instead of strings, extra parameters, fractional seconds.
        let info = parse(&[
            (
                "RateLimit-Policy",
                "burst;q=10;w=1.5;qu=\"requests\";pk=:abc=:",
            ),
            ("RateLimit", "burst;r=3;t=0.5"),
        ]);
        assert_eq!(info.limit, Some(10));
        assert_eq!(info.window, Some(Duration::from_millis(1500)));
        assert_eq!((info.remaining, info.reset_at), (Some(3), at(0.5)));
    }

    #[test]
    fn ietf_picks_the_most_restrictive_policy() {
        let policy = (
            "RateLimit-Policy",
            r#""day";q=1000;w=86400, "hour";q=50;w=3600"#,
        );
        // The hour has 2 requests for 1200 s (600 s each); the day 100 for 36000 s (360 s each).
        let info = parse(&[
            policy,
            ("RateLimit", r#""day";r=100;t=36000, "hour";r=2;t=1200"#),
        ]);
        assert_eq!((info.remaining, info.reset_at), (Some(2), at(1200.0)));
        assert_eq!(
            (info.limit, info.window),
            (Some(50), Some(Duration::from_secs(3600)))
        );
        // An exhausted quota wins outright.
        let info = parse(&[
            policy,
            ("RateLimit", r#""hour";r=40;t=60, "day";r=0;t=36000"#),
        ]);
        assert_eq!((info.remaining, info.reset_at), (Some(0), at(36000.0)));
        assert_eq!(
            (info.limit, info.window),
            (Some(1000), Some(Duration::from_secs(86400)))
        );
        // Token names match as well as strings.
        let info = parse(&[
            ("RateLimit-Policy", "day;q=1000;w=86400, hour;q=50;w=3600"),
            ("RateLimit", "hour;r=2;t=1200"),
        ]);
        assert_eq!(
            (info.limit, info.window),
            (Some(50), Some(Duration::from_secs(3600)))
        );
        // The same list split over two field lines.
        let info = parse(&[
            policy,
            ("RateLimit", r#""day";r=100;t=36000"#),
            ("RateLimit", r#""hour";r=2;t=1200"#),
        ]);
        assert_eq!(info.limit, Some(50));
    }

    #[test]
    fn older_structured_forms() {
        // draft-07's dictionary.
        let info = parse(&[("RateLimit", "limit=10, remaining=5, reset=30")]);
        assert_eq!(
            (info.limit, info.remaining, info.reset_at),
            (Some(10), Some(5), at(30.0))
        );
        // The older policy form, in a list.
        let info = parse(&[("RateLimit-Policy", "10, 10;w=1, 50;w=60")]);
        assert_eq!(
            (info.limit, info.window),
            (Some(10), Some(Duration::from_secs(1)))
        );
    }
}
