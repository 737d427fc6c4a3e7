//! Turning a local wall-clock time into one instant, whatever DST does.
//!
//! A local time may name one instant, two (clocks fall back and repeat an
//! hour) or none (clocks spring forward over it). Windows need exactly one,
//! and the rule used here is "the earliest instant at which the local clock
//! shows this time or later": the earlier of two, or the end of the gap. The
//! rule is monotonic (a later local time never gives an earlier instant),
//! which the window search relies on.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// How far past a nonexistent local time the search for the end of the gap
/// goes. Ordinary DST gaps are an hour or less; the largest on record is the
/// whole day Samoa skipped in 2011.
const MAX_GAP_MINUTES: u32 = 48 * 60;

/// The earliest instant at which the clock in `tz` shows `local` or later;
/// `None` only at the edges of chrono's range.
pub(super) fn resolve(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    earliest(tz, local).or_else(|| end_of_gap(tz, local))
}

/// `local` in `tz` as one instant, by the rule above (the earlier of two,
/// the end of a gap); `None` only at the edges of chrono's range.
pub fn at_local_time(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    resolve(tz, local)
}

/// Midnight of `day` in `zone`, or the first instant of the day when
/// midnight falls in a daylight-saving gap.
pub fn start_of_day(zone: &Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    (0..=180)
        .find_map(|minutes| {
            zone.from_local_datetime(&(midnight + TimeDelta::minutes(minutes)))
                .earliest()
        })
        .map(|local| local.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// The earlier instant of `local` in `tz`, if it exists at all.
fn earliest(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => Some(instant.to_utc()),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).to_utc()),
        LocalResult::None => None,
    }
}

/// The first instant after the gap that swallows the nonexistent `local`.
///
/// Steps the local clock a minute at a time to the first time that exists,
/// then bisects the minute before that instant to the second, because the
/// gap may end off the minute (some historical offsets have seconds). Inside
/// that minute the clock runs without a jump, so the bisection is sound.
fn end_of_gap(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = local;
    for _ in 0..MAX_GAP_MINUTES {
        probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
        let Some(after) = earliest(tz, probe) else {
            continue;
        };
        let shows_local_or_later = |seconds: i64| {
            DateTime::from_timestamp(seconds, 0).map(|t| t.with_timezone(tz).naive_local() >= local)
        };
        let (mut before, mut after) = (after.timestamp() - 60, after.timestamp());
        while after - before > 1 {
            let middle = before + (after - before) / 2;
            if shows_local_or_later(middle)? {
                after = middle;
            } else {
                before = middle;
            }
        }
        return DateTime::from_timestamp(after, 0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn naive(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn ordinary_times_map_to_their_instant() {
        assert_eq!(
            resolve(&New_York, naive("2024-06-05 09:00:00")),
            Some(utc("2024-06-05T13:00:00Z"))
        );
    }

    #[test]
    fn nonexistent_times_map_to_the_end_of_the_gap() {
        for time in ["02:00:00", "02:00:01", "02:30:00", "02:59:59"] {
            let local = naive(&format!("2024-03-10 {time}"));
            assert_eq!(
                resolve(&New_York, local),
                Some(utc("2024-03-10T07:00:00Z")),
                "{time}"
            );
        }
        assert_eq!(
            resolve(&Berlin, naive("2024-03-31 02:30:00")),
            Some(utc("2024-03-31T01:00:00Z"))
        );
    }

    #[test]
    fn repeated_times_map_to_the_earlier_instant() {
        assert_eq!(
            resolve(&New_York, naive("2024-11-03 01:30:00")),
            Some(utc("2024-11-03T05:30:00Z"))
        );
        assert_eq!(
            resolve(&Berlin, naive("2024-10-27 02:30:00")),
            Some(utc("2024-10-27T00:30:00Z"))
        );
    }

    #[test]
    fn gaps_that_end_off_the_minute_are_found_to_the_second() {
        // Berlin moved from local mean time (+00:53:28) to CET on
        // 1893-04-01, so the local times 00:00:00-00:06:31 did not exist;
        // the gap ended at 00:06:32 CET, which was 1893-03-31 23:06:32 UTC.
        assert_eq!(
            resolve(&Berlin, naive("1893-04-01 00:00:00")),
            Some(utc("1893-03-31T23:06:32Z"))
        );
    }
}
