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

mod local;
mod parse;
mod time_of_day;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

pub use parse::WindowError;

/// Minutes in a day; a window's end may be this (`24:00`).
const DAY_MINUTES: u16 = 24 * 60;

/// Days before the local date of `t` whose windows may still be open at `t`:
/// a window closes at most one day after the day it opens on.
const LOOKBACK_DAYS: i64 = 1;

/// Days after the local date of `t` that are searched for the next opening. Every window runs on at least one weekday, so one opens
/// within 7 days; a day removed from the calendar (Samoa skipped 30 December
/// 2011) or an occurrence swallowed by a DST gap can push that to 14. Past
/// this bound `next_open` gives up and returns `t`, which no real zone
/// reaches.
const LOOKAHEAD_DAYS: i64 = 15;

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

/// The windows of a campaign. A send may go out when any window is open; an
/// empty set is always open.
///
/// Parses from `;`-separated windows (`"mon-fri 09:00-12:00; mon-fri
/// 13:00-17:00"`) or `always`; serialises as a list of window strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct WindowSet {
    windows: Vec<SendWindow>,
}

impl WindowSet {
    pub fn new(windows: Vec<SendWindow>) -> WindowSet {
        WindowSet { windows }
    }

    /// The set with no windows, which never closes.
    pub fn always() -> WindowSet {
        WindowSet::default()
    }

    pub fn windows(&self) -> &[SendWindow] {
        &self.windows
    }

    /// True for the empty set, which never closes.
    pub fn is_always_open(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether some window, read in `tz`, covers the instant `t`.
    pub fn contains(&self, t: DateTime<Utc>, tz: &Tz) -> bool {
        self.next_open(t, tz) == t
    }

    /// `t` itself if some window covers it, else the earliest instant after
    /// `t` at which a window opens (see the module docs for DST).
    pub fn next_open(&self, t: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
        if self.windows.is_empty() {
            return t;
        }
        let today = t.with_timezone(tz).date_naive();
        // The earliest opening after `t` so far, and the local date it
        // belongs to. Openings only move later as the date moves later, so
        // the search stops at the first date past that one.
        let mut best: Option<(DateTime<Utc>, NaiveDate)> = None;
        for offset in -LOOKBACK_DAYS..=LOOKAHEAD_DAYS {
            let Some(date) = today.checked_add_signed(TimeDelta::days(offset)) else {
                continue;
            };
            if best.is_some_and(|(_, best_date)| date > best_date) {
                break;
            }
            for window in &self.windows {
                let Some((open, close)) = window.occurrence(date, tz) else {
                    continue;
                };
                if open <= t && t < close {
                    return t;
                }
                if open > t && best.is_none_or(|(best_open, _)| open < best_open) {
                    best = Some((open, date));
                }
            }
        }
        best.map_or(t, |(open, _)| open)
    }
}

impl FromIterator<SendWindow> for WindowSet {
    fn from_iter<I: IntoIterator<Item = SendWindow>>(iter: I) -> WindowSet {
        WindowSet::new(iter.into_iter().collect())
    }
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

const ALL_DAYS: u8 = 0b111_1111;

fn day_bit(day: Weekday) -> u8 {
    1 << day.num_days_from_monday()
}

fn minutes(count: u16) -> TimeDelta {
    TimeDelta::minutes(i64::from(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;
    use chrono_tz::UTC;

    fn set(text: &str) -> WindowSet {
        text.parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// An instant given as local wall-clock time in `tz` (must be unambiguous).
    fn local(tz: Tz, text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).single().unwrap().to_utc()
    }

    #[test]
    fn inside_returns_t_itself() {
        let windows = set("mon-fri 09:00-17:00");
        // 2024-06-05 is a Wednesday.
        for t in [
            "2024-06-05T09:00:00Z",
            "2024-06-05T12:34:56.789Z",
            "2024-06-05T16:59:59Z",
        ] {
            assert_eq!(windows.next_open(utc(t), &UTC), utc(t), "{t}");
            assert!(windows.contains(utc(t), &UTC), "{t}");
        }
    }

    #[test]
    fn outside_waits_for_the_opening() {
        let windows = set("mon-fri 09:00-17:00");
        let cases = [
            ("2024-06-05T08:59:59Z", "2024-06-05T09:00:00Z"),
            ("2024-06-05T17:00:00Z", "2024-06-06T09:00:00Z"),
            ("2024-06-05T23:30:00Z", "2024-06-06T09:00:00Z"),
            ("2024-06-06T00:00:00Z", "2024-06-06T09:00:00Z"),
        ];
        for (t, open) in cases {
            assert_eq!(windows.next_open(utc(t), &UTC), utc(open), "{t}");
            assert!(!windows.contains(utc(t), &UTC), "{t}");
        }
    }

    #[test]
    fn weekends_are_skipped() {
        let windows = set("mon-fri 09:00-17:00");
        // Friday evening, Saturday and Sunday in Berlin all wait for Monday
        // 09:00 CEST, which is 07:00 UTC.
        let monday = utc("2024-06-10T07:00:00Z");
        for t in ["2024-06-07 17:00", "2024-06-08 12:00", "2024-06-09 23:59"] {
            assert_eq!(windows.next_open(local(Berlin, t), &Berlin), monday, "{t}");
        }
        // Saturday-only windows skip the working week.
        let weekend = set("sat,sun 10:00-14:00");
        assert_eq!(
            weekend.next_open(utc("2024-06-10T10:00:00Z"), &UTC),
            utc("2024-06-15T10:00:00Z")
        );
        assert_eq!(
            weekend.next_open(utc("2024-06-15T14:00:00Z"), &UTC),
            utc("2024-06-16T10:00:00Z")
        );
    }

    #[test]
    fn window_across_midnight_belongs_to_its_opening_day() {
        let windows = set("fri 22:00-02:00");
        // 2024-06-07 is a Friday.
        assert_eq!(
            windows.next_open(utc("2024-06-07T21:00:00Z"), &UTC),
            utc("2024-06-07T22:00:00Z")
        );
        assert!(windows.contains(utc("2024-06-07T23:59:59Z"), &UTC));
        assert!(windows.contains(utc("2024-06-08T01:59:59Z"), &UTC));
        assert!(!windows.contains(utc("2024-06-08T02:00:00Z"), &UTC));
        // Friday early morning is not inside: Thursday has no window.
        assert!(!windows.contains(utc("2024-06-07T01:00:00Z"), &UTC));
        assert_eq!(
            windows.next_open(utc("2024-06-08T02:00:00Z"), &UTC),
            utc("2024-06-14T22:00:00Z")
        );
        let daily = set("daily 22:00-02:00");
        assert!(daily.contains(utc("2024-06-05T00:30:00Z"), &UTC));
        assert_eq!(
            daily.next_open(utc("2024-06-05T02:00:00Z"), &UTC),
            utc("2024-06-05T22:00:00Z")
        );
    }

    #[test]
    fn window_until_24_00_closes_at_midnight() {
        let windows = set("mon 20:00-24:00");
        // 2024-06-10 is a Monday.
        assert!(windows.contains(utc("2024-06-10T23:59:59Z"), &UTC));
        assert!(!windows.contains(utc("2024-06-11T00:00:00Z"), &UTC));
        // Adjacent windows leave no gap.
        let adjacent = set("mon 20:00-24:00; tue 00:00-08:00");
        assert!(adjacent.contains(utc("2024-06-11T00:00:00Z"), &UTC));
        let whole_day = set("daily 00:00-24:00");
        assert!(whole_day.contains(utc("2024-06-11T00:00:00Z"), &UTC));
        assert!(whole_day.contains(utc("2024-06-11T23:59:59Z"), &UTC));
    }

    #[test]
    fn several_windows_take_the_earliest() {
        let windows = set("mon-fri 13:00-17:00; mon-fri 09:00-12:00; sat 10:00-11:00");
        let cases = [
            ("2024-06-05T08:00:00Z", "2024-06-05T09:00:00Z"),
            ("2024-06-05T10:00:00Z", "2024-06-05T10:00:00Z"),
            ("2024-06-05T12:30:00Z", "2024-06-05T13:00:00Z"),
            ("2024-06-07T18:00:00Z", "2024-06-08T10:00:00Z"),
            ("2024-06-08T11:00:00Z", "2024-06-10T09:00:00Z"),
        ];
        for (t, open) in cases {
            assert_eq!(windows.next_open(utc(t), &UTC), utc(open), "{t}");
        }
    }

    #[test]
    fn time_zone_shifts_the_window() {
        let windows = set("mon-fri 09:00-17:00");
        // 09:00 EDT is 13:00 UTC.
        assert_eq!(
            windows.next_open(utc("2024-06-05T12:00:00Z"), &New_York),
            utc("2024-06-05T13:00:00Z")
        );
        // 20:30 UTC on Friday is 16:30 in New York: still inside.
        assert!(windows.contains(utc("2024-06-07T20:30:00Z"), &New_York));
        // 02:00 UTC on Saturday is Friday 22:00 in New York: wait for Monday.
        assert_eq!(
            windows.next_open(utc("2024-06-08T02:00:00Z"), &New_York),
            utc("2024-06-10T13:00:00Z")
        );
    }

    #[test]
    fn always_open_when_empty() {
        let t = utc("2024-06-08T03:04:05Z");
        assert_eq!(WindowSet::always().next_open(t, &New_York), t);
        assert!(WindowSet::always().contains(t, &New_York));
        assert!(set("always").is_always_open());
    }

    // New York springs forward on 2024-03-10: 02:00 EST (07:00 UTC) becomes
    // 03:00 EDT, so local 02:00-02:59 does not exist that day.
    #[test]
    fn new_york_spring_forward_opens_after_the_gap() {
        let windows = set("daily 02:30-04:00");
        // 01:00 EST: the 02:30 opening does not exist; it opens at 03:00 EDT.
        let t = utc("2024-03-10T06:00:00Z");
        assert_eq!(windows.next_open(t, &New_York), utc("2024-03-10T07:00:00Z"));
        assert!(!windows.contains(utc("2024-03-10T06:59:59Z"), &New_York));
        assert!(windows.contains(utc("2024-03-10T07:00:00Z"), &New_York));
        // It closes at 04:00 EDT = 08:00 UTC.
        assert!(!windows.contains(utc("2024-03-10T08:00:00Z"), &New_York));
        // The next day it opens at 02:30 EDT again.
        assert_eq!(
            windows.next_open(utc("2024-03-10T08:00:00Z"), &New_York),
            utc("2024-03-11T06:30:00Z")
        );
    }

    #[test]
    fn new_york_window_inside_the_gap_skips_the_day() {
        // 02:10-02:50 never happens on 2024-03-10 (a Sunday); the next one
        // is a week later at 02:10 EDT.
        let windows = set("sun 02:10-02:50");
        assert_eq!(
            windows.next_open(utc("2024-03-10T05:00:00Z"), &New_York),
            utc("2024-03-17T06:10:00Z")
        );
        // A window closing inside the gap closes when the gap ends.
        let overnight = set("sat 23:00-02:30");
        assert!(overnight.contains(utc("2024-03-10T06:59:59Z"), &New_York));
        assert!(!overnight.contains(utc("2024-03-10T07:00:00Z"), &New_York));
    }

    // New York falls back on 2024-11-03: 02:00 EDT (06:00 UTC) becomes
    // 01:00 EST, so local 01:00-01:59 happens twice.
    #[test]
    fn new_york_fall_back_opens_at_the_earlier_instant() {
        let windows = set("daily 01:30-03:00");
        // 00:00 EDT: opens at the first 01:30, which is EDT (05:30 UTC).
        assert_eq!(
            windows.next_open(utc("2024-11-03T04:00:00Z"), &New_York),
            utc("2024-11-03T05:30:00Z")
        );
        // The window keeps the repeated hour: 01:15 EST is inside. It closes
        // at 03:00 EST = 08:00 UTC.
        assert!(windows.contains(utc("2024-11-03T06:15:00Z"), &New_York));
        assert!(windows.contains(utc("2024-11-03T07:59:59Z"), &New_York));
        assert!(!windows.contains(utc("2024-11-03T08:00:00Z"), &New_York));
        // A window closing at an ambiguous time closes at its first instance.
        let early = set("daily 00:00-01:30");
        assert!(!early.contains(utc("2024-11-03T06:15:00Z"), &New_York));
        assert_eq!(
            early.next_open(utc("2024-11-03T05:30:00Z"), &New_York),
            utc("2024-11-04T05:00:00Z")
        );
    }

    // Berlin springs forward on 2024-03-31: 02:00 CET (01:00 UTC) becomes
    // 03:00 CEST, and falls back on 2024-10-27: 03:00 CEST (01:00 UTC)
    // becomes 02:00 CET.
    #[test]
    fn berlin_spring_forward_and_fall_back() {
        let windows = set("daily 02:30-05:00");
        assert_eq!(
            windows.next_open(utc("2024-03-31T00:00:00Z"), &Berlin),
            utc("2024-03-31T01:00:00Z")
        );
        // The day before, 02:30 CET is 01:30 UTC.
        assert_eq!(
            windows.next_open(utc("2024-03-29T23:00:00Z"), &Berlin),
            utc("2024-03-30T01:30:00Z")
        );
        // Fall-back: 02:30 happens as CEST (00:30 UTC) and as CET (01:30
        // UTC); the window opens at the first.
        assert_eq!(
            windows.next_open(utc("2024-10-26T23:00:00Z"), &Berlin),
            utc("2024-10-27T00:30:00Z")
        );
        // It closes at 05:00 CET = 04:00 UTC: four and a half real hours.
        assert!(windows.contains(utc("2024-10-27T03:59:59Z"), &Berlin));
        assert!(!windows.contains(utc("2024-10-27T04:00:00Z"), &Berlin));
        // A Monday-to-Friday window after the change is plain CET.
        assert_eq!(
            set("mon-fri 09:00-17:00").next_open(utc("2024-10-27T12:00:00Z"), &Berlin),
            utc("2024-10-28T08:00:00Z")
        );
    }

    // Santiago springs forward at midnight: on Sunday 2024-09-08, 00:00 -04
    // (04:00 UTC) becomes 01:00 -03, so local 00:00-00:59 does not exist.
    #[test]
    fn santiago_midnight_gap() {
        let santiago = chrono_tz::America::Santiago;
        // Opening at the missing midnight opens at 01:00 -03.
        let sunday = set("sun 00:00-02:00");
        assert_eq!(
            sunday.next_open(utc("2024-09-07T12:00:00Z"), &santiago),
            utc("2024-09-08T04:00:00Z")
        );
        // Closing at the missing midnight (24:00 Saturday) closes at the
        // same instant, so the two windows touch without a gap.
        let saturday = set("sat 22:00-24:00");
        assert!(saturday.contains(utc("2024-09-08T03:59:59Z"), &santiago));
        assert!(!saturday.contains(utc("2024-09-08T04:00:00Z"), &santiago));
        let both = set("sat 22:00-24:00; sun 00:00-02:00");
        assert!(both.contains(utc("2024-09-08T04:00:00Z"), &santiago));
        // Sunday 02:00 -03 is 05:00 UTC.
        assert!(!both.contains(utc("2024-09-08T05:00:00Z"), &santiago));
    }

    #[test]
    fn a_day_missing_from_the_calendar_is_skipped() {
        // Samoa moved across the date line: 2011-12-30 (a Friday) never
        // happened in Pacific/Apia. After Friday 2011-12-23 (20:00 -10:00 is
        // 06:00 UTC the next day), Friday windows resume on 2012-01-06 at
        // 09:00 +14:00, which is 19:00 UTC the day before.
        let apia = chrono_tz::Pacific::Apia;
        let windows = set("fri 09:00-17:00");
        assert_eq!(
            windows.next_open(utc("2011-12-24T06:00:00Z"), &apia),
            utc("2012-01-05T19:00:00Z")
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
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
