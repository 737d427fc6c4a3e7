//! Helpers shared by the header tests: a fixed `now`, instants relative to
//! it, and header maps from pairs.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{RateLimitInfo, parse_rate_limit_headers};

pub(super) fn now() -> DateTime<Utc> {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

pub(super) fn at(seconds: f64) -> Option<DateTime<Utc>> {
    Some(now() + TimeDelta::milliseconds((seconds * 1000.0).round() as i64))
}

pub(super) fn utc(text: &str) -> Option<DateTime<Utc>> {
    Some(text.parse().unwrap())
}

pub(super) fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

pub(super) fn parse(pairs: &[(&str, &str)]) -> RateLimitInfo {
    parse_rate_limit_headers(&map(pairs), now())
}

/// `Date` one hour ahead of our clock.
pub(super) const SERVER_AHEAD: (&str, &str) = ("Date", "Sat, 01 Jun 2024 13:00:00 GMT");
