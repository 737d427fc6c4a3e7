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
//! `Retry-After` (delay-seconds or HTTP-date) is read on its own.
//!
//! Reset values (`X-RateLimit-Reset`, `RateLimit-Reset`, `reset=`, `t=`) are
//! told apart by magnitude, because servers send seconds-from-now, Unix
//! seconds and Unix milliseconds under the same name. With N the value read
//! as seconds (fractions allowed):
//!
//! | N                    | meaning                 | why the cut-off                                    |
//! |----------------------|-------------------------|----------------------------------------------------|
//! | `N < 10^9`           | seconds from now        | 10^9 s is 31.7 years as a delay, 2001-09-09 as a date |
//! | `10^9 <= N < 10^11`  | Unix epoch seconds      | 10^11 s is the year 5138                           |
//! | `10^11 <= N < 10^14` | Unix epoch milliseconds | 10^11 ms is 1973-03-03; 10^14 ms is the year 5138  |
//! | `N >= 10^14`         | malformed, ignored      |                                                    |
//!
//! An absolute instant (epoch reset, HTTP-date `Retry-After`) is in the
//! server's clock. When the response has a valid `Date` header that shows
//! the server's clock more than a second or so off ours (`now - Date`
//! outside `[-1 s, 2 s]`), the instant is moved into ours: `ours = now +
//! (instant - Date)`; `Date` has whole seconds, so this is exact to a
//! second. A `Date` within that range agrees with our clock as far as its
//! whole seconds can tell, and translating would only add up to a second of
//! rounding, so the instant is taken as is, as it is without `Date`.
//!
//! Servers round a reset *up* to the unit they send (a reset of `3` may
//! mean 2.01 s), so [`RateLimitInfo::reset_resolution`] says how much
//! earlier than `reset_at` the quota may really reset: 1 s for a whole
//! number of seconds, 1 ms for epoch milliseconds, `10^-k` s for `k`
//! decimals, plus 1 s when a whole-second `Date` moved the instant.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::HeaderMap;

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
    /// rounding of the value sent (see the module docs); zero if unknown.
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

/// Reset values below this many seconds are delays from now.
pub const RESET_EPOCH_SECONDS_FROM: u64 = 1_000_000_000;
/// Reset values from this many (seconds) on are Unix epoch milliseconds.
pub const RESET_EPOCH_MILLIS_FROM: u64 = 100_000_000_000;
/// Reset values from this many on are malformed.
pub const RESET_MALFORMED_FROM: u64 = 100_000_000_000_000;

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

/// Our clock at the response, and the server's if it sent `Date`.
struct ResponseClocks {
    now: DateTime<Utc>,
    server_date: Option<DateTime<Utc>>,
}

impl ResponseClocks {
    fn after(&self, delay: Duration) -> Option<DateTime<Utc>> {
        self.now
            .checked_add_signed(TimeDelta::from_std(delay).ok()?)
    }

    /// The server's `Date`, if it shows a clock off ours by more than its
    /// whole seconds can hide (see the module docs).
    fn skewed_date(&self) -> Option<DateTime<Utc>> {
        let date = self.server_date?;
        let behind = self.now.signed_duration_since(date);
        let agrees = (TimeDelta::seconds(-1)..=TimeDelta::seconds(2)).contains(&behind);
        (!agrees).then_some(date)
    }

    /// A server-clock instant moved into our clock.
    fn translate(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.skewed_date() {
            Some(date) => self
                .now
                .checked_add_signed(instant.signed_duration_since(date)),
            None => Some(instant),
        }
    }

    /// A reset value, read by magnitude (see the module docs), with how much
    /// earlier the real reset may be.
    fn reset(&self, value: &str) -> Option<(DateTime<Utc>, Duration)> {
        let number = seconds(value)?;
        let unit = resolution(value);
        // A whole-second `Date` used to translate adds its own rounding.
        let translated = |unit: Duration| match self.skewed_date() {
            Some(_) => unit + Duration::from_secs(1),
            None => unit,
        };
        let whole = number.as_secs();
        if whole < RESET_EPOCH_SECONDS_FROM {
            Some((self.after(number)?, unit))
        } else if whole < RESET_EPOCH_MILLIS_FROM {
            Some((self.translate(epoch(number)?)?, translated(unit)))
        } else if whole < RESET_MALFORMED_FROM {
            let unit = (unit / 1000).max(Duration::from_nanos(1));
            Some((self.translate(epoch(number / 1000)?)?, translated(unit)))
        } else {
            None
        }
    }

    /// `Retry-After`: delay-seconds (fractions allowed) or an HTTP-date.
    fn retry_after(&self, value: &str) -> Option<DateTime<Utc>> {
        match seconds(value) {
            Some(delay) => self.after(delay),
            None => self.translate(http_date(value)?),
        }
    }
}

fn epoch(since: Duration) -> Option<DateTime<Utc>> {
    DateTime::UNIX_EPOCH.checked_add_signed(TimeDelta::from_std(since).ok()?)
}

fn http_date(value: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(value.trim())
        .ok()
        .map(DateTime::<Utc>::from)
}

/// The first value of a header, if it is visible ASCII.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?;
    match value.to_str() {
        Ok(text) => Some(text),
        Err(_) => {
            tracing::debug!(header = name, value = ?value, "ignoring rate-limit header that is not ASCII");
            None
        }
    }
}

fn malformed(name: &str, value: &str) {
    tracing::debug!(header = name, value, "ignoring malformed rate-limit header");
}

/// A non-negative decimal number of seconds (`30`, `1.5`), exact to the
/// nanosecond; no signs, exponents or `inf`.
fn seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |nanos, digit| nanos * 10 + u32::from(digit - b'0'));
    Some(Duration::new(whole, nanos))
}

/// The unit of a number of seconds as written: 1 s for `30`, 100 ms for
/// `1.5`, down to 1 ns.
fn resolution(text: &str) -> Duration {
    let decimals = text.trim().split_once('.').map_or(0, |(_, f)| f.len());
    Duration::from_nanos(10u64.pow(9 - decimals.min(9) as u32))
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

/// A non-negative whole number.
fn count(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Passes `parsed` through, tracing the header as malformed when it is `None`.
fn checked<T>(name: &str, value: &str, parsed: Option<T>) -> Option<T> {
    if parsed.is_none() {
        malformed(name, value);
    }
    parsed
}

/// Names of one dialect of separate limit / remaining / reset fields.
struct Fields {
    limit: &'static str,
    remaining: &'static str,
    reset: &'static str,
}

const DRAFT_FIELDS: Fields = Fields {
    limit: "ratelimit-limit",
    remaining: "ratelimit-remaining",
    reset: "ratelimit-reset",
};

const X_FIELDS: [Fields; 2] = [
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
fn read_fields(
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

/// One member of a structured-field list: `item;key=value;flag`.
#[derive(Debug, Clone, PartialEq)]
struct Member {
    /// The bare item, unquoted if it was a string.
    item: String,
    /// Whether the item was a quoted string.
    quoted: bool,
    params: Vec<(String, String)>,
}

impl Member {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// The item as a policy name: a string, or a token that is not a number.
    fn name(&self) -> Option<&str> {
        let number = self.item.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        (self.quoted || !number).then_some(self.item.as_str())
    }

    /// The item as a dictionary entry `key=value`, if it is one.
    fn entry(&self) -> Option<(&str, &str)> {
        if self.quoted {
            return None;
        }
        let (key, value) = self.item.split_once('=')?;
        Some((key.trim(), value.trim()))
    }
}

/// A lenient reading of an RFC 8941 list (or dictionary): members split on
/// `,` and parameters on `;`, both outside quotes.
fn parse_list(value: &str) -> Vec<Member> {
    split_outside_quotes(value, ',')
        .into_iter()
        .filter(|member| !member.trim().is_empty())
        .map(|member| {
            let mut parts = split_outside_quotes(member, ';').into_iter();
            let raw_item = parts.next().unwrap_or_default().trim();
            let params = parts
                .map(|param| {
                    let (key, value) = param.split_once('=').unwrap_or((param, "?1"));
                    (key.trim().to_string(), unquote(value.trim()))
                })
                .collect();
            Member {
                item: unquote(raw_item),
                quoted: raw_item.starts_with('"'),
                params,
            }
        })
        .collect()
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (index, c) in text.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
        } else if c == separator {
            parts.push(&text[start..index]);
            start = index + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(text: &str) -> String {
    match text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_string(),
    }
}

/// A `RateLimit` item, already parsed.
struct Item {
    name: Option<String>,
    remaining: Option<u64>,
    reset_at: Option<(DateTime<Utc>, Duration)>,
    /// The reset as seconds from now, to rank items.
    reset_in: Option<f64>,
}

/// Fills `info` from `RateLimit` and `RateLimit-Policy` (dialect 1).
fn read_structured(headers: &HeaderMap, clock: &ResponseClocks, info: &mut RateLimitInfo) {
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

/// All values of a header joined with `, `, as RFC 9110 allows for lists.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn now() -> DateTime<Utc> {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    fn at(seconds: f64) -> Option<DateTime<Utc>> {
        Some(now() + TimeDelta::milliseconds((seconds * 1000.0).round() as i64))
    }

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        Some(text.parse().unwrap())
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn parse(pairs: &[(&str, &str)]) -> RateLimitInfo {
        parse_rate_limit_headers(&map(pairs), now())
    }

    /// `Date` one hour ahead of our clock.
    const SERVER_AHEAD: (&str, &str) = ("Date", "Sat, 01 Jun 2024 13:00:00 GMT");

    #[test]
    fn no_headers_no_info() {
        assert!(parse(&[]).is_empty());
        assert!(parse(&[("Content-Type", "text/plain"), SERVER_AHEAD]).is_empty());
    }

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
    fn x_ratelimit_with_epoch_reset() {
        // 2024-06-01T12:02:00Z is 1717243320.
        assert_eq!(
            parse(&[("X-RateLimit-Reset", "1717243320")]).reset_at,
            at(120.0)
        );
        assert_eq!(
            parse(&[("X-RateLimit-Reset", "1717243320.5")]).reset_at,
            at(120.5)
        );
        assert_eq!(
            parse(&[("X-RateLimit-Reset", "1717243320250")]).reset_at,
            at(120.25)
        );
    }

    #[test]
    fn epoch_reset_is_corrected_for_server_skew() {
        // The server's clock is an hour ahead: its 13:02 is our 12:02.
        let reset = [SERVER_AHEAD, ("X-RateLimit-Reset", "1717246920")];
        assert_eq!(parse(&reset).reset_at, at(120.0));
        let millis = [SERVER_AHEAD, ("X-RateLimit-Reset", "1717246920000")];
        assert_eq!(parse(&millis).reset_at, at(120.0));
        // A delay needs no correction.
        assert_eq!(
            parse(&[SERVER_AHEAD, ("X-RateLimit-Reset", "120")]).reset_at,
            at(120.0)
        );
        // Without a usable Date, the server's epoch is taken as ours.
        let bad_date = [("Date", "yesterday"), ("X-RateLimit-Reset", "1717246920")];
        assert_eq!(parse(&bad_date).reset_at, at(3720.0));
    }

    #[test]
    fn a_date_that_agrees_with_our_clock_is_not_used_to_translate() {
        // Date floors to the second: 11:59:59 and 12:00:01 both fit a
        // server whose clock is ours, so the epoch is taken as is.
        for date in [
            "Sat, 01 Jun 2024 11:59:59 GMT",
            "Sat, 01 Jun 2024 12:00:00 GMT",
            "Sat, 01 Jun 2024 12:00:01 GMT",
        ] {
            let info = parse(&[("Date", date), ("X-RateLimit-Reset", "1717243320")]);
            assert_eq!(info.reset_at, at(120.0), "{date}");
            assert_eq!(info.reset_resolution, Duration::from_secs(1), "{date}");
        }
        // Two seconds ahead is a skew: translated, a second less precise.
        let info = parse(&[
            ("Date", "Sat, 01 Jun 2024 12:00:02 GMT"),
            ("X-RateLimit-Reset", "1717243320"),
        ]);
        assert_eq!(info.reset_at, at(118.0));
        assert_eq!(info.reset_resolution, Duration::from_secs(2));
    }

    #[test]
    fn reset_resolution_follows_the_unit_sent() {
        let resolution = |pairs: &[(&str, &str)]| parse(pairs).reset_resolution;
        let ms = Duration::from_millis;
        assert_eq!(resolution(&[("X-RateLimit-Reset", "3")]), ms(1000));
        assert_eq!(resolution(&[("X-RateLimit-Reset", "2.5")]), ms(100));
        assert_eq!(resolution(&[("X-RateLimit-Reset", "2.25")]), ms(10));
        assert_eq!(resolution(&[("X-RateLimit-Reset", "1717243320250")]), ms(1));
        assert_eq!(resolution(&[("RateLimit", "\"h\";r=1;t=0.125")]), ms(1));
        assert_eq!(resolution(&[("RateLimit", "limit=1, reset=7")]), ms(1000));
        assert_eq!(
            resolution(&[SERVER_AHEAD, ("X-RateLimit-Reset", "1717246920000")]),
            ms(1001)
        );
        assert_eq!(resolution(&[("Retry-After", "5")]), Duration::ZERO);
    }

    #[test]
    fn reset_magnitude_thresholds() {
        let reset = |value: &str| parse(&[("X-RateLimit-Reset", value)]).reset_at;
        assert_eq!(reset("0"), at(0.0));
        assert_eq!(reset("999999999"), at(999_999_999.0));
        assert_eq!(reset("1000000000"), utc("2001-09-09T01:46:40Z"));
        assert_eq!(reset("99999999999"), utc("5138-11-16T09:46:39Z"));
        assert_eq!(reset("100000000000"), utc("1973-03-03T09:46:40Z"));
        assert_eq!(reset("99999999999999"), utc("5138-11-16T09:46:39.999Z"));
        assert_eq!(reset("100000000000000"), None);
        assert_eq!(reset("18446744073709551615"), None);
        assert_eq!(reset("18446744073709551616"), None);
    }

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
    fn older_drafts() {
        // draft-07's dictionary.
        let info = parse(&[("RateLimit", "limit=10, remaining=5, reset=30")]);
        assert_eq!(
            (info.limit, info.remaining, info.reset_at),
            (Some(10), Some(5), at(30.0))
        );
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
        let info = parse(&[("RateLimit-Policy", "10, 10;w=1, 50;w=60")]);
        assert_eq!(
            (info.limit, info.window),
            (Some(10), Some(Duration::from_secs(1)))
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse(&[("Retry-After", "120")]).retry_after, at(120.0));
        assert_eq!(parse(&[("Retry-After", "1.5")]).retry_after, at(1.5));
        assert_eq!(parse(&[("Retry-After", "0")]).retry_after, at(0.0));
        let date = ("Retry-After", "Sat, 01 Jun 2024 12:05:00 GMT");
        assert_eq!(parse(&[date]).retry_after, at(300.0));
        // The obsolete HTTP-date forms are accepted too.
        let rfc850 = ("Retry-After", "Saturday, 01-Jun-24 12:05:00 GMT");
        assert_eq!(parse(&[rfc850]).retry_after, at(300.0));
        let asctime = ("Retry-After", "Sat Jun  1 12:05:00 2024");
        assert_eq!(parse(&[asctime]).retry_after, at(300.0));
    }

    #[test]
    fn retry_after_date_is_corrected_for_server_skew() {
        // Server says "retry at 13:05 by my clock", and its clock says 13:00.
        let date = ("Retry-After", "Sat, 01 Jun 2024 13:05:00 GMT");
        assert_eq!(parse(&[SERVER_AHEAD, date]).retry_after, at(300.0));
        assert_eq!(parse(&[date]).retry_after, at(3900.0));
        // A date in the past stays in the past; pacing ignores it.
        let past = ("Retry-After", "Sat, 01 Jun 2024 12:55:00 GMT");
        assert_eq!(parse(&[SERVER_AHEAD, past]).retry_after, at(-300.0));
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

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds("0.1"), Some(Duration::from_millis(100)));
        assert_eq!(seconds("2.000000001"), Some(Duration::new(2, 1)));
        assert_eq!(seconds("2.0000000019"), Some(Duration::new(2, 1)));
        assert_eq!(
            seconds("18446744073709551615.5"),
            Some(Duration::new(u64::MAX, 500_000_000))
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
