//! Send windows: the hours of the week in which sends may go out.
//!
//! People read messages in their working hours, so a campaign sends only
//! inside windows such as `mon-fri 09:00-17:00`, read in one time zone. The
//! planner asks a single question of this module: given an instant, what is
//! the first instant at or after it that is inside a window? The answer is a
//! pure function of the instant, the windows and the zone; the clock is never
//! read here.
//!
//! Local time is where the difficulty lies, so the rules are explicit:
//!
//! - A window belongs to the day it opens on: `fri 22:00-02:00` opens on
//!   Friday at 22:00 and closes on Saturday at 02:00.
//! - Each day a window runs on, it covers the span of real time from its
//!   opening instant (included) to its closing instant (excluded). Both are
//!   local times turned into instants by one rule (in `local.rs`): a local time
//!   that happens twice (clocks fall back) means its earlier instant; one that
//!   never happens (clocks spring forward) means the first instant after the
//!   gap.
//! - Hence a window opening in a spring-forward gap opens when the gap ends,
//!   a window lying wholly inside the gap does not occur that day, and a
//!   window that spans a fall-back keeps the repeated hour (`00:00-03:00`
//!   lasts four real hours that night).
//!
//! Syntax, display and errors live in `parse.rs`; see [`WindowError`] for
//! the accepted forms.
//!
//! # Architecture
//!
//! - This file: [`SendWindow`], one weekly window, and the instants one of
//!   its days covers.
//! - `set`: [`WindowSet`], a campaign's windows, and `next_open`, the one
//!   question the planner asks.
//! - `local`: a local wall-clock time as one instant, whatever DST does.
//! - `parse`: the text form of windows and sets, display and [`WindowError`].
//! - `days`: the days a window runs on, as text and as a set of weekdays.
//! - `time_of_day`: the times of a window as people write them (`9am-5pm`).
//! - `skip_dates`: holidays and blackout dates on which nothing is sent.
//! - `dst_tests`: `next_open` across DST changes and a skipped day.

mod days;
#[cfg(test)]
mod dst_tests;
mod local;
mod parse;
mod set;
mod skip_dates;
mod time_of_day;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

use days::{WEEK, day_bit};

pub use local::{at_local_time, start_of_day};
pub use parse::WindowError;
pub use set::WindowSet;
pub use skip_dates::{SkipDateError, SkipDates};

/// Minutes in a day; a window's end may be this (`24:00`).
const DAY_MINUTES: u16 = 24 * 60;

/// One weekly window: a set of weekdays and a span of local clock time.
///
/// Parse it from text (`"mon-fri 09:00-17:00"`); [`std::fmt::Display`]
/// prints a canonical form that parses back to the same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendWindow {
    /// Bit `n` set means the window runs on the weekday `n` days after Monday.
    days: u8,
    /// Minutes after local midnight, `0..1440`.
    start: u16,
    /// Minutes after local midnight, `0..=1440`, never equal to `start`.
    /// Less than `start` means the window closes on the next day.
    end: u16,
}

impl SendWindow {
    /// Whether the window opens on `day`.
    pub fn runs_on(&self, day: Weekday) -> bool {
        self.days & day_bit(day) != 0
    }

    /// The weekdays the window opens on, Monday first.
    pub fn days(&self) -> impl Iterator<Item = Weekday> + '_ {
        WEEK.into_iter().filter(|day| self.runs_on(*day))
    }

    /// Opening time in minutes after local midnight (`0..1440`).
    pub fn start_minute(&self) -> u16 {
        self.start
    }

    /// Closing time in minutes after local midnight (`0..=1440`); when it is
    /// less than [`start_minute`](Self::start_minute) the window closes on
    /// the next day.
    pub fn end_minute(&self) -> u16 {
        self.end
    }

    /// Whether the window closes on the day after it opens.
    pub fn crosses_midnight(&self) -> bool {
        self.end < self.start
    }

    /// The instants `[open, close)` this window covers when it opens on the
    /// local date `date`; `None` if it does not run that day, if it falls
    /// wholly into a DST gap, or at the edge of chrono's range.
    fn occurrence(&self, date: NaiveDate, tz: &Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.runs_on(date.weekday()) {
            return None;
        }
        let midnight = date.and_time(NaiveTime::MIN);
        let open_local = midnight.checked_add_signed(minutes(self.start))?;
        let close_day = if self.crosses_midnight() { 1 } else { 0 };
        let close_local = midnight
            .checked_add_signed(TimeDelta::days(close_day))?
            .checked_add_signed(minutes(self.end))?;
        let open = local::resolve(tz, open_local)?;
        let close = local::resolve(tz, close_local)?;
        (open < close).then_some((open, close))
    }
}

fn minutes(count: u16) -> TimeDelta {
    TimeDelta::minutes(i64::from(count))
}

#[cfg(test)]
mod proptests {
    use super::*;
    use days::ALL_DAYS;
    use proptest::prelude::*;

    const ZONES: [Tz; 8] = [
        chrono_tz::UTC,
        chrono_tz::America::New_York,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::America::Santiago,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Pacific::Chatham,
        chrono_tz::Pacific::Apia,
    ];

    /// Instants near DST changes (and Samoa's skipped day), where bugs hide.
    const TRANSITIONS: [i64; 8] = [
        1_710_054_000, // 2024-03-10 07:00 UTC, New York springs forward
        1_730_613_600, // 2024-11-03 06:00 UTC, New York falls back
        1_711_846_800, // 2024-03-31 01:00 UTC, Berlin springs forward
        1_729_990_800, // 2024-10-27 01:00 UTC, Berlin falls back
        1_712_415_600, // 2024-04-06 15:00 UTC, Lord Howe's half hour
        1_725_768_000, // 2024-09-08 04:00 UTC, Santiago springs forward at midnight
        1_325_239_200, // 2011-12-30 10:00 UTC, Samoa skips a day
        1_727_532_000, // 2024-09-28 14:00 UTC, Chatham springs forward
    ];

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let anywhere = 1_262_304_000i64..1_893_456_000; // 2010..2030
        let near_change = (0..TRANSITIONS.len(), -3 * 86_400i64..3 * 86_400)
            .prop_map(|(index, delta)| TRANSITIONS[index] + delta);
        prop_oneof![anywhere, near_change]
            .prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap())
    }

    fn minute_of_day() -> impl Strategy<Value = u16> {
        // Quarter hours line up with DST changes, which is where edges are.
        prop_oneof![0..DAY_MINUTES, (0..96u16).prop_map(|quarter| quarter * 15)]
    }

    fn window() -> impl Strategy<Value = SendWindow> {
        let end = prop_oneof![
            1..=DAY_MINUTES,
            (1..=96u16).prop_map(|quarter| quarter * 15)
        ];
        (1..=ALL_DAYS, minute_of_day(), end)
            .prop_filter("start and end must differ", |(_, start, end)| start != end)
            .prop_map(|(days, start, end)| SendWindow { days, start, end })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn next_open_is_the_first_instant_inside(
            t in instant(),
            zone in 0..ZONES.len(),
            windows in prop::collection::vec(window(), 1..=3),
        ) {
            let tz = ZONES[zone];
            let windows = WindowSet::new(windows);
            let open = windows.next_open(t, &tz);
            prop_assert!(open >= t);
            prop_assert!(windows.contains(open, &tz), "{open} is not inside {windows}");
            if open > t {
                let before = open - TimeDelta::seconds(1);
                prop_assert!(before <= t || !windows.contains(before, &tz));
                let mut probe = t + TimeDelta::minutes(1);
                while probe < open {
                    prop_assert!(
                        !windows.contains(probe, &tz),
                        "{probe} is inside {windows} but next_open({t}) = {open}"
                    );
                    probe += TimeDelta::minutes(1);
                }
            }
        }

        #[test]
        fn display_round_trips(windows in prop::collection::vec(window(), 0..=3)) {
            let windows = WindowSet::new(windows);
            let text = windows.to_string();
            prop_assert_eq!(text.parse::<WindowSet>().unwrap(), windows);
        }
    }
}
