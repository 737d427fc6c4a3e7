//! Reset and `Retry-After` values as instants in our clock.
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
//! mean 2.01 s), so
//! [`RateLimitInfo::reset_resolution`](super::RateLimitInfo::reset_resolution)
//! says how much
//! earlier than `reset_at` the quota may really reset: 1 s for a whole
//! number of seconds, 1 ms for epoch milliseconds, `10^-k` s for `k`
//! decimals, plus 1 s when a whole-second `Date` moved the instant.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::syntax::{resolution, seconds};

/// Reset values below this many seconds are delays from now.
pub const RESET_EPOCH_SECONDS_FROM: u64 = 1_000_000_000;
/// Reset values from this many (seconds) on are Unix epoch milliseconds.
pub const RESET_EPOCH_MILLIS_FROM: u64 = 100_000_000_000;
/// Reset values from this many on are malformed.
pub const RESET_MALFORMED_FROM: u64 = 100_000_000_000_000;

/// Our clock at the response, and the server's if it sent `Date`.
pub(super) struct ResponseClocks {
    pub(super) now: DateTime<Utc>,
    pub(super) server_date: Option<DateTime<Utc>>,
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
    pub(super) fn reset(&self, value: &str) -> Option<(DateTime<Utc>, Duration)> {
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
    pub(super) fn retry_after(&self, value: &str) -> Option<DateTime<Utc>> {
        match seconds(value) {
            Some(delay) => self.after(delay),
            None => self.translate(http_date(value)?),
        }
    }
}

fn epoch(since: Duration) -> Option<DateTime<Utc>> {
    DateTime::UNIX_EPOCH.checked_add_signed(TimeDelta::from_std(since).ok()?)
}

pub(super) fn http_date(value: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(value.trim())
        .ok()
        .map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{SERVER_AHEAD, at, parse, utc};

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
}
