//! Escaping and small formatters shared by the page and its charts: counts,
//! durations, times, quantiles, and [`TimeLabels`] for tooltips.
//!
//! Every piece of text that came from outside the program (recipients,
//! account names, failure reasons, paths) goes through [`Esc`], which is
//! safe in element content and in quoted attribute values alike, in HTML
//! and in inline SVG.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::journal::Buckets;
use chrono_tz::Tz;

/// Text escaped for HTML content and double- or single-quoted attributes.
/// Control characters other than tab and newline become U+FFFD.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(|c: char| {
            matches!(c, '&' | '<' | '>' | '"' | '\'') || (c.is_control() && c != '\n' && c != '\t')
        }) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or('\u{fffd}');
            f.write_str(match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => "\u{fffd}",
            })?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `2h 5m`, `3m 20s`, `4.2s`, `350ms`, `-1m 5s`: two units at most.
pub fn duration(delta: TimeDelta) -> String {
    let sign = if delta < TimeDelta::zero() { "-" } else { "" };
    let millis = delta.num_milliseconds().unsigned_abs();
    if millis < 1_000 {
        return format!("{sign}{millis}ms");
    }
    if millis < 10_000 {
        return format!("{sign}{:.1}s", millis as f64 / 1000.0);
    }
    let secs = millis / 1000;
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, unit) in units {
        if rest >= size || !parts.is_empty() {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.len() == 2 && parts[1].starts_with('0') {
        parts.pop();
    }
    format!("{sign}{}", parts.join(" "))
}

/// `2026-11-30 09:00:00` in `zone`.
pub fn time(at: DateTime<Utc>, zone: &Tz) -> String {
    at.with_timezone(zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `Nov 30 09:00:00` in `zone`: compact, for tooltips.
pub fn short_time(at: DateTime<Utc>, zone: &Tz) -> String {
    at.with_timezone(zone).format("%b %d %H:%M:%S").to_string()
}

/// The value at quantile `q` (0..=1) of ascending `sorted`, nearest rank.
pub fn quantile(sorted: &[TimeDelta], q: f64) -> Option<TimeDelta> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Short times for tooltips: seconds only when slices are shorter than a
/// minute, dates only when the axis spans days.
pub struct TimeLabels<'a> {
    zone: &'a Tz,
    time: &'static str,
    date_time: &'static str,
    several_days: bool,
}

impl TimeLabels<'_> {
    pub fn new<'a>(axis: &Buckets, zone: &'a Tz) -> TimeLabels<'a> {
        let date = |at: DateTime<Utc>| at.with_timezone(zone).date_naive();
        let seconds = axis.width() < TimeDelta::minutes(1);
        TimeLabels {
            zone,
            time: if seconds { "%H:%M:%S" } else { "%H:%M" },
            date_time: if seconds {
                "%b %d %H:%M:%S"
            } else {
                "%b %d %H:%M"
            },
            several_days: date(axis.start()) != date(axis.end()),
        }
    }

    pub fn at(&self, at: DateTime<Utc>) -> String {
        let format = if self.several_days {
            self.date_time
        } else {
            self.time
        };
        at.with_timezone(self.zone).format(format).to_string()
    }

    /// `10:01–10:08`, the date once.
    pub fn range(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> String {
        let same_day = from.with_timezone(self.zone).date_naive()
            == until.with_timezone(self.zone).date_naive();
        let end = if same_day {
            until.with_timezone(self.zone).format(self.time).to_string()
        } else {
            self.at(until)
        };
        format!("{}–{end}", self.at(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            Esc(r#"<a href="x">Tom & 'Jerry'</a>"#).to_string(),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(
            Esc("a\u{0}b\u{1b}c\nZoë").to_string(),
            "a\u{fffd}b\u{fffd}c\nZoë"
        );
        assert_eq!(Esc("plain").to_string(), "plain");
    }

    #[test]
    fn formats_counts_and_durations() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(duration(TimeDelta::milliseconds(350)), "350ms");
        assert_eq!(duration(TimeDelta::milliseconds(4_200)), "4.2s");
        assert_eq!(duration(TimeDelta::seconds(200)), "3m 20s");
        assert_eq!(duration(TimeDelta::seconds(7_500)), "2h 5m");
        assert_eq!(duration(TimeDelta::seconds(7_200)), "2h");
        assert_eq!(duration(TimeDelta::seconds(-65)), "-1m 5s");
        assert_eq!(duration(TimeDelta::days(3)), "3d");
    }

    #[test]
    fn tooltip_times_show_seconds_and_dates_only_when_needed() {
        let utc = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let zone = chrono_tz::Europe::Berlin;
        let hour = Buckets::covering(
            utc("2026-11-30T08:00:00Z"),
            utc("2026-11-30T09:00:00Z"),
            600,
        )
        .unwrap();
        let clock = TimeLabels::new(&hour, &zone);
        assert_eq!(
            clock.range(utc("2026-11-30T08:01:00Z"), utc("2026-11-30T08:01:06Z")),
            "09:01:00–09:01:06"
        );
        let days = Buckets::covering(
            utc("2026-11-29T08:00:00Z"),
            utc("2026-12-01T09:00:00Z"),
            600,
        )
        .unwrap();
        let clock = TimeLabels::new(&days, &zone);
        assert_eq!(
            clock.range(utc("2026-11-30T08:01:00Z"), utc("2026-11-30T08:06:00Z")),
            "Nov 30 09:01–09:06"
        );
        assert_eq!(
            clock.range(utc("2026-11-30T22:58:00Z"), utc("2026-11-30T23:03:00Z")),
            "Nov 30 23:58–Dec 01 00:03"
        );
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let sorted: Vec<TimeDelta> = (1..=100).map(TimeDelta::seconds).collect();
        assert_eq!(quantile(&sorted, 0.5), Some(TimeDelta::seconds(50)));
        assert_eq!(quantile(&sorted, 0.95), Some(TimeDelta::seconds(95)));
        assert_eq!(quantile(&sorted, 1.0), Some(TimeDelta::seconds(100)));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
