//! How long a follow-up waits after the previous step reached the person:
//! a plain duration (`3d`, `36h`) or business days (`2 business days`).
//!
//! Business days are counted on the calendar of the send windows: a day on
//! which some window opens (Monday to Friday when there are no windows),
//! minus `skip_dates`. The follow-up is due on that day at the local time of
//! day the previous step went out; the slot generator then places it in the
//! next free slot inside a window. Pure: the send time is passed in.

use std::fmt;

use chrono::{DateTime, Days, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::window::{WindowSet, at_local_time};

/// A step's `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepDelay {
    /// Elapsed time, in milliseconds.
    Elapsed(i64),
    /// Days on which the send windows open, skip dates excluded.
    BusinessDays(u32),
}

/// The longest `after` taken: a year. Longer is almost surely a typo.
const MAX_DAYS: i64 = 366;

impl StepDelay {
    /// Parses `3d`, `36h`, `1d 12h`, `2 business days`, `1 business day`.
    pub fn parse(text: &str) -> Result<StepDelay, String> {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        if let [count, "business", unit] = words.as_slice()
            && matches!(*unit, "day" | "days")
        {
            return match count.parse::<u32>() {
                Ok(days) if i64::from(days) <= MAX_DAYS => Ok(StepDelay::BusinessDays(days)),
                _ => Err(format!(
                    "`{text}`: the number of business days must be a whole number from 0 to {MAX_DAYS}"
                )),
            };
        }
        if trimmed.starts_with('-') {
            return Err(format!(
                "`{text}`: a follow-up cannot be due before the previous step; use a positive delay such as `3d`"
            ));
        }
        let duration = humantime::parse_duration(trimmed).map_err(|error| {
            format!(
                "`{text}` is not a delay ({error}); write e.g. `3d`, `36h` or `2 business days`"
            )
        })?;
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        if millis > MAX_DAYS * 86_400_000 {
            return Err(format!(
                "`{text}` is more than a year; follow-ups are due within {MAX_DAYS} days"
            ));
        }
        Ok(StepDelay::Elapsed(millis))
    }

    /// When the follow-up is due, the previous step having gone out at
    /// `sent`; `zone` reads the calendar (the recipient's, or the campaign's).
    pub fn due(&self, sent: DateTime<Utc>, windows: &WindowSet, zone: &Tz) -> DateTime<Utc> {
        match *self {
            StepDelay::Elapsed(millis) => sent + TimeDelta::milliseconds(millis),
            StepDelay::BusinessDays(days) => {
                let local = sent.with_timezone(zone).naive_local();
                let mut date = local.date();
                let mut counted = 0;
                // A year of days always holds the count unless every day is
                // closed; then the delay is as long as the search went.
                for _ in 0..(MAX_DAYS * 8) {
                    if counted == days {
                        break;
                    }
                    date = date + Days::new(1);
                    if windows.is_business_day(date) {
                        counted += 1;
                    }
                }
                at_local_time(zone, date.and_time(local.time())).unwrap_or(sent)
            }
        }
    }
}

impl fmt::Display for StepDelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StepDelay::BusinessDays(1) => f.write_str("1 business day"),
            StepDelay::BusinessDays(days) => write!(f, "{days} business days"),
            StepDelay::Elapsed(millis) => {
                let duration = std::time::Duration::from_millis(millis.max(0) as u64);
                write!(f, "{}", humantime::format_duration(duration))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{SendWindow, SkipDates};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn parses_durations_and_business_days() {
        assert_eq!(
            StepDelay::parse("3d"),
            Ok(StepDelay::Elapsed(3 * 86_400_000))
        );
        assert_eq!(
            StepDelay::parse("1d 12h"),
            Ok(StepDelay::Elapsed(36 * 3_600_000))
        );
        assert_eq!(StepDelay::parse("300ms"), Ok(StepDelay::Elapsed(300)));
        assert_eq!(
            StepDelay::parse("2 business days"),
            Ok(StepDelay::BusinessDays(2))
        );
        assert_eq!(
            StepDelay::parse(" 1 Business Day "),
            Ok(StepDelay::BusinessDays(1))
        );
        assert_eq!(StepDelay::parse("0s"), Ok(StepDelay::Elapsed(0)));
    }

    #[test]
    fn refuses_negative_unparseable_and_huge_delays() {
        assert!(StepDelay::parse("-1d").unwrap_err().contains("positive"));
        assert!(StepDelay::parse("soon").unwrap_err().contains("3d"));
        assert!(StepDelay::parse("two business days").is_err());
        assert!(StepDelay::parse("400d").unwrap_err().contains("year"));
        assert!(StepDelay::parse("").is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["3days", "2 business days", "1 business day", "1day 12h"] {
            let delay = StepDelay::parse(text).unwrap();
            assert_eq!(StepDelay::parse(&delay.to_string()), Ok(delay), "{text}");
        }
    }

    #[test]
    fn elapsed_delays_ignore_the_calendar() {
        let windows = WindowSet::always();
        let due = StepDelay::Elapsed(3 * 86_400_000).due(
            at("2026-12-04T10:00:00Z"),
            &windows,
            &chrono_tz::UTC,
        );
        assert_eq!(due, at("2026-12-07T10:00:00Z"));
    }

    #[test]
    fn business_days_skip_weekends_without_windows() {
        let windows = WindowSet::always();
        // Friday 10:00 + 2 business days = Tuesday 10:00.
        let due =
            StepDelay::BusinessDays(2).due(at("2026-12-04T10:00:00Z"), &windows, &chrono_tz::UTC);
        assert_eq!(due, at("2026-12-08T10:00:00Z"));
    }

    #[test]
    fn business_days_follow_the_windows_and_skip_dates_in_the_zone() {
        let windows = WindowSet::new(vec!["mon-thu 09:00-17:00".parse::<SendWindow>().unwrap()])
            .with_skip_dates(SkipDates::parse(&["2026-12-08"]).unwrap());
        let berlin = chrono_tz::Europe::Berlin;
        // Thursday 3 Dec, 15:30 in Berlin. Next business days: Mon 7,
        // (Tue 8 skipped), Wed 9.
        let due = StepDelay::BusinessDays(2).due(at("2026-12-03T14:30:00Z"), &windows, &berlin);
        assert_eq!(due, at("2026-12-09T14:30:00Z"));
    }

    #[test]
    fn zero_business_days_is_the_same_moment() {
        let windows = WindowSet::always();
        let sent = at("2026-12-05T10:00:00Z");
        assert_eq!(
            StepDelay::BusinessDays(0).due(sent, &windows, &chrono_tz::UTC),
            sent
        );
    }
}
