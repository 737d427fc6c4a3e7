//! How long a throttled or failing response says to wait, read from where
//! the spec says (a header or a JSON pointer, in a declared unit) and turned
//! into an instant in our clock. Pure: `now` is a parameter.
//!
//! Units: `seconds` and `milliseconds` are delays from `now` (fractions
//! allowed: Discord sends `"retry_after": 1.5`); `epoch_seconds` and
//! `epoch_milliseconds` are Unix instants; `http_date` is an IMF-fixdate (or
//! an obsolete HTTP date form). `next_utc_midnight` needs no value: a daily
//! quota (LinkedIn's) resets at the next 00:00 UTC. A value that does not
//! read in its unit (negative, not a number, not a date) is skipped and the
//! next source tried.

use std::time::Duration;

use chrono::{DateTime, Days, TimeDelta, Utc};
use reqwest::header::HeaderMap;

use super::rules::{Source, Wait, WaitUnit};

/// The first wait in `waits` that reads, as an instant.
pub(crate) fn find_wait(
    waits: &[Wait],
    headers: &HeaderMap,
    json: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    waits.iter().find_map(|wait| match wait {
        Wait::NextUtcMidnight => next_utc_midnight(now),
        Wait::Read { from, unit } => {
            let value = match from {
                Source::Header(name) => Raw::Text(headers.get(name)?.to_str().ok()?.trim()),
                Source::Pointer(pointer) => match json?.pointer(pointer)? {
                    serde_json::Value::Number(number) => Raw::Number(number.as_f64()?),
                    serde_json::Value::String(text) => Raw::Text(text.trim()),
                    _ => return None,
                },
            };
            instant(value, *unit, now)
        }
    })
}

/// A wait value before its unit is applied.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Number(f64),
    Text(&'a str),
}

pub(crate) fn instant(value: Raw<'_>, unit: WaitUnit, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if unit == WaitUnit::HttpDate {
        let Raw::Text(text) = value else {
            return None;
        };
        return httpdate::parse_http_date(text)
            .ok()
            .map(DateTime::<Utc>::from);
    }
    let number = match value {
        Raw::Number(number) => number,
        Raw::Text(text) => text.parse::<f64>().ok()?,
    };
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let seconds = match unit {
        WaitUnit::Seconds | WaitUnit::EpochSeconds => number,
        WaitUnit::Milliseconds | WaitUnit::EpochMilliseconds => number / 1000.0,
        WaitUnit::HttpDate => return None,
    };
    let span = TimeDelta::from_std(Duration::try_from_secs_f64(seconds).ok()?).ok()?;
    match unit {
        WaitUnit::Seconds | WaitUnit::Milliseconds => now.checked_add_signed(span),
        _ => DateTime::UNIX_EPOCH.checked_add_signed(span),
    }
}

/// The next 00:00 UTC after `now` (a day later if `now` is exactly
/// midnight: the quota that refused us has not reset yet).
pub(crate) fn next_utc_midnight(now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    now.date_naive()
        .checked_add_days(Days::new(1))?
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc())
}

/// A wait as whole seconds for a `Retry-After` header, rounded up so the
/// retry is never early; zero for an instant already past.
pub(crate) fn retry_after_seconds(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let wait = until - now;
    if wait <= TimeDelta::zero() {
        return 0;
    }
    let whole = wait.num_seconds().unsigned_abs();
    let fraction = wait - TimeDelta::seconds(wait.num_seconds());
    whole + u64::from(fraction > TimeDelta::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::http::test_support::now;
    use reqwest::header::{HeaderName, HeaderValue};

    fn at(seconds: f64) -> Option<DateTime<Utc>> {
        Some(now() + TimeDelta::milliseconds((seconds * 1000.0) as i64))
    }

    #[test]
    fn units_read_as_declared() {
        use WaitUnit::*;
        let read = |value: Raw<'_>, unit| instant(value, unit, now());
        assert_eq!(read(Raw::Number(5.0), Seconds), at(5.0));
        assert_eq!(read(Raw::Number(1.5), Seconds), at(1.5));
        assert_eq!(read(Raw::Text("0.25"), Seconds), at(0.25));
        assert_eq!(read(Raw::Number(1500.0), Milliseconds), at(1.5));
        // 2024-06-01T12:02:00Z is 1717243320.
        assert_eq!(read(Raw::Number(1_717_243_320.0), EpochSeconds), at(120.0));
        assert_eq!(read(Raw::Text("1717243320.5"), EpochSeconds), at(120.5));
        assert_eq!(
            read(Raw::Number(1_717_243_320_250.0), EpochMilliseconds),
            at(120.25)
        );
        assert_eq!(
            read(Raw::Text("Sat, 01 Jun 2024 12:05:00 GMT"), HttpDate),
            at(300.0)
        );
        for bad in ["-1", "soon", "NaN", "inf", ""] {
            assert_eq!(read(Raw::Text(bad), Seconds), None, "{bad}");
        }
        assert_eq!(read(Raw::Number(3.0), HttpDate), None);
        assert_eq!(read(Raw::Number(f64::MAX), Seconds), None);
    }

    #[test]
    fn midnight_is_the_next_one() {
        let midnight = |text: &str| {
            next_utc_midnight(
                DateTime::parse_from_rfc3339(text)
                    .unwrap()
                    .with_timezone(&Utc),
            )
            .unwrap()
            .to_rfc3339()
        };
        assert_eq!(
            midnight("2024-06-01T12:00:00Z"),
            "2024-06-02T00:00:00+00:00"
        );
        assert_eq!(
            midnight("2024-06-01T23:59:59.9Z"),
            "2024-06-02T00:00:00+00:00"
        );
        assert_eq!(
            midnight("2024-06-02T00:00:00Z"),
            "2024-06-03T00:00:00+00:00"
        );
        assert_eq!(
            midnight("2024-12-31T20:00:00+02:00"),
            "2025-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn sources_are_tried_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-reset-after"),
            HeaderValue::from_static("2.5"),
        );
        let json = serde_json::json!({ "parameters": { "retry_after": 7 }, "bad": true });
        let read = |pointer: &str| Wait::Read {
            from: Source::Pointer(pointer.into()),
            unit: WaitUnit::Seconds,
        };
        let header = Wait::Read {
            from: Source::Header(HeaderName::from_static("x-reset-after")),
            unit: WaitUnit::Seconds,
        };
        let waits = [
            read("/missing"),
            read("/bad"),
            read("/parameters/retry_after"),
            header.clone(),
        ];
        assert_eq!(find_wait(&waits, &headers, Some(&json), now()), at(7.0));
        assert_eq!(find_wait(&waits, &headers, None, now()), at(2.5));
        assert_eq!(
            find_wait(
                &[read("/x"), Wait::NextUtcMidnight],
                &headers,
                Some(&json),
                now()
            ),
            at(12.0 * 3600.0)
        );
        assert_eq!(find_wait(&[], &headers, Some(&json), now()), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        let after = |seconds: f64| retry_after_seconds(at(seconds).unwrap(), now());
        assert_eq!(after(5.0), 5);
        assert_eq!(after(1.5), 2);
        assert_eq!(after(0.001), 1);
        assert_eq!(after(0.0), 0);
        assert_eq!(after(-3.0), 0);
        assert_eq!(after(43_200.0), 43_200);
    }
}
