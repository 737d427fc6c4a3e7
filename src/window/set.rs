//! A campaign's send windows, and the first instant at or after a given one
//! at which a send may go out.
//!
//! The search walks the local dates around the instant, asks each window
//! for its occurrence that day (see the rules in the module docs of
//! `window`) and keeps the earliest opening. It is pure: the instant, the
//! windows and the zone are parameters.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use super::SendWindow;
use super::skip_dates::SkipDates;
use serde::Deserialize as _;

/// Days before the local date of `t` whose windows may still be open at `t`:
/// a window closes at most one day after the day it opens on.
const LOOKBACK_DAYS: i64 = 1;

/// Days after the local date of `t` that are searched for the next opening.
/// Every window runs on at least one weekday, so one opens within 7 days; a
/// day removed from the calendar (Samoa skipped 30 December 2011) or an
/// occurrence swallowed by a DST gap can push that to 14. Past this bound
/// `next_open` gives up and returns `t`, which no real zone reaches.
const LOOKAHEAD_DAYS: i64 = 15;

/// The windows of a campaign. A send may go out when any window is open; an
/// empty set is always open. Dates in `skip` (holidays) are closed all day.
///
/// Parses from `;`-separated windows (`"mon-fri 09:00-12:00; mon-fri
/// 13:00-17:00"`) or `always`; serialises as a list of window strings, or,
/// with skip dates, as `{"windows": [...], "skip_dates": [...]}` (journals
/// written before skip dates existed still read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowSet {
    pub(super) windows: Vec<SendWindow>,
    pub(super) skip: SkipDates,
}

/// How many skipped ranges `next_open` jumps over before giving up (no
/// real calendar skips that many in a row).
const MAX_SKIPS: usize = 1_000;

impl WindowSet {
    pub fn new(windows: Vec<SendWindow>) -> WindowSet {
        WindowSet {
            windows,
            skip: SkipDates::default(),
        }
    }

    /// These windows, closed on `skip`'s dates.
    pub fn with_skip_dates(mut self, skip: SkipDates) -> WindowSet {
        self.skip = skip;
        self
    }

    /// The dates on which nothing is sent.
    pub fn skip_dates(&self) -> &SkipDates {
        &self.skip
    }

    /// The set with no windows, which never closes.
    pub fn always() -> WindowSet {
        WindowSet::default()
    }

    pub fn windows(&self) -> &[SendWindow] {
        &self.windows
    }

    /// True for the empty set without skip dates, which never closes.
    pub fn is_always_open(&self) -> bool {
        self.windows.is_empty() && self.skip.is_empty()
    }

    /// Whether some window, read in `tz`, covers the instant `t`.
    pub fn contains(&self, t: DateTime<Utc>, tz: &Tz) -> bool {
        self.next_open(t, tz) == t
    }

    /// `t` itself if some window covers it, else the earliest instant after
    /// `t` at which a window opens (see the module docs for DST), never on a
    /// skipped date.
    pub fn next_open(&self, t: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
        let mut at = t;
        for _ in 0..MAX_SKIPS {
            let open = self.next_window_open(at, tz);
            let date = open.with_timezone(tz).date_naive();
            if !self.skip.contains(date) {
                return open;
            }
            // The first instant of the next allowed local day.
            let next = self.skip.next_allowed(date);
            at = super::local::start_of_day(tz, next).max(open);
        }
        at
    }

    /// Whether `date` is a business day for follow-ups: some window opens
    /// on its weekday (Monday to Friday when there are no windows) and it
    /// is not a skipped date.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        use chrono::Datelike;
        let weekday = date.weekday();
        let opens = if self.windows.is_empty() {
            weekday.num_days_from_monday() < 5
        } else {
            self.windows.iter().any(|window| window.runs_on(weekday))
        };
        opens && !self.skip.contains(date)
    }

    fn next_window_open(&self, t: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
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

/// The saved form with skip dates.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WithSkipDates {
    windows: Vec<SendWindow>,
    skip_dates: Vec<String>,
}

impl serde::Serialize for WindowSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.skip.is_empty() {
            self.windows.serialize(serializer)
        } else {
            WithSkipDates {
                windows: self.windows.clone(),
                skip_dates: self.skip.written().to_vec(),
            }
            .serialize(serializer)
        }
    }
}

impl<'de> serde::Deserialize<'de> for WindowSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A list (every journal before skip dates) or the map; a visitor
        // rather than an untagged enum, so a bad window keeps its message.
        struct Form;
        impl<'de> serde::de::Visitor<'de> for Form {
            type Value = WindowSet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of send windows, or {windows, skip_dates}")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<WindowSet, A::Error> {
                let windows = Vec::<SendWindow>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(WindowSet::new(windows))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<WindowSet, A::Error> {
                let saved =
                    WithSkipDates::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                let skip = SkipDates::parse(&saved.skip_dates).map_err(serde::de::Error::custom)?;
                Ok(WindowSet::new(saved.windows).with_skip_dates(skip))
            }
        }
        deserializer.deserialize_any(Form)
    }
}

impl FromIterator<SendWindow> for WindowSet {
    fn from_iter<I: IntoIterator<Item = SendWindow>>(iter: I) -> WindowSet {
        WindowSet::new(iter.into_iter().collect())
    }
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
    fn skipped_dates_are_closed_all_day_in_the_windows_zone() {
        let holidays = SkipDates::parse(&["2026-12-24", "2026-12-25..2026-12-27"]).unwrap();
        let weekdays = set("mon-fri 09:00-17:00").with_skip_dates(holidays.clone());
        // Thu 24 Dec 10:00 Berlin: skipped through Sun 27; Mon 28 09:00 opens.
        assert_eq!(
            weekdays.next_open(local(Berlin, "2026-12-24 10:00"), &Berlin),
            local(Berlin, "2026-12-28 09:00")
        );
        assert!(!weekdays.contains(local(Berlin, "2026-12-24 10:00"), &Berlin));
        assert!(weekdays.contains(local(Berlin, "2026-12-23 10:00"), &Berlin));
        // Always open but for the holidays: the first instant of 28 Dec, local.
        let always = WindowSet::always().with_skip_dates(holidays);
        assert!(!always.is_always_open());
        assert_eq!(
            always.next_open(local(Berlin, "2026-12-24 23:30"), &Berlin),
            local(Berlin, "2026-12-28 00:00")
        );
        // Read in New York, the same instant is still 23 Dec there: open.
        let t = local(Berlin, "2026-12-24 03:00");
        assert_eq!(always.next_open(t, &New_York), t);
    }

    #[test]
    fn the_saved_form_is_a_list_unless_there_are_skip_dates() {
        let plain = set("mon-fri 09:00-17:00");
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json, r#"["mon-fri 09:00-17:00"]"#);
        assert_eq!(serde_json::from_str::<WindowSet>(&json).unwrap(), plain);
        let skipping = plain.with_skip_dates(SkipDates::parse(&["2026-12-24"]).unwrap());
        let json = serde_json::to_string(&skipping).unwrap();
        assert_eq!(
            json,
            r#"{"windows":["mon-fri 09:00-17:00"],"skip_dates":["2026-12-24"]}"#
        );
        assert_eq!(serde_json::from_str::<WindowSet>(&json).unwrap(), skipping);
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
}
