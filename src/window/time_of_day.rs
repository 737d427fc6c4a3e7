//! Times of day as people write them, and how a START-END pair is read.
//!
//! A window's times may be `HH:MM` (`09:00`, `24:00`), a bare hour (`9`) or
//! 12-hour clock (`9am`, `5:30pm`). One pair is a trap: office hours written
//! as people say them, `9-5`, would otherwise read as 09:00 to 05:00 the next
//! morning and send all night. So the rules, in order:
//!
//! 1. With `am`/`pm` the reading is exact; both times must carry it.
//! 2. An end before the start crosses midnight (`22:00-02:00`, `22-2`),
//!    unless the start is before noon and either time is a bare hour
//!    (`9-5`, `8:30-6`): that is ambiguous and an error that suggests both
//!    readings (`9-17`, or `21:00-05:00` for a night window), because a
//!    guess either way sends at hours nobody asked for.
//! 3. `09:00-05:00`, with minutes on both, is an explicit overnight window.

use std::fmt;

use super::DAY_MINUTES;

/// Minutes in half a day: noon, and the step from 9 am to 9 pm.
const HALF_DAY: u16 = 12 * 60;

/// One time of day as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    /// Minutes after midnight, `0..=1440`.
    minutes: u16,
    /// `9` rather than `09:00` or `9am`: the half of the day is not said.
    bare_hour: bool,
    /// Written with `am` or `pm`.
    meridiem: bool,
}

/// Why a START-END pair was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TimesError {
    /// Not a time range at all.
    Invalid(String),
    /// Office hours or a night window; the text suggests both spellings.
    Ambiguous(String),
}

/// Read `times` (`START-END`, spaces allowed) as minutes after midnight.
/// `days` is the day part as written, used only to quote a suggestion.
pub(super) fn parse_times(times: &str, days: &str) -> Result<(u16, u16), TimesError> {
    let compact: String = times.chars().filter(|c| !c.is_whitespace()).collect();
    let (start_text, end_text) = compact
        .split_once('-')
        .ok_or_else(|| format!("`{compact}` is not a START-END time range"))
        .map_err(TimesError::Invalid)?;
    let start = parse_clock(start_text).map_err(TimesError::Invalid)?;
    let end = parse_clock(end_text).map_err(TimesError::Invalid)?;
    if start.meridiem != end.meridiem {
        return Err(TimesError::Invalid(format!(
            "`{compact}` gives am or pm on one time only; write it on both, such as `9am-5pm`"
        )));
    }
    let (start_minutes, end_minutes) = (start.minutes, end.minutes);
    if start_minutes == DAY_MINUTES {
        return Err(TimesError::Invalid(
            "a window cannot start at 24:00; use 00:00".to_string(),
        ));
    }
    if start_minutes == end_minutes {
        return Err(TimesError::Invalid(
            "the start and end are equal; use 00:00-24:00 for a whole day".to_string(),
        ));
    }
    let ambiguous = end_minutes < start_minutes
        && start_minutes < HALF_DAY
        && !start.meridiem
        && (start.bare_hour || end.bare_hour);
    if ambiguous {
        let prefix = if days.is_empty() {
            String::new()
        } else {
            format!("{days} ")
        };
        return Err(TimesError::Ambiguous(format!(
            "`{compact}` ends before it starts, which would send overnight from {} to {} the next day; \
             write `{prefix}{}-{}` (or `{prefix}{}`) for {}-{}, or `{prefix}{}-{}` if you meant a night window",
            TimeOfDay(start_minutes),
            TimeOfDay(end_minutes),
            Short(start_minutes),
            Short(end_minutes + HALF_DAY),
            twelve_hour(start_minutes, end_minutes + HALF_DAY),
            TimeOfDay(start_minutes),
            TimeOfDay(end_minutes + HALF_DAY),
            TimeOfDay(start_minutes + HALF_DAY),
            TimeOfDay(end_minutes),
        )));
    }
    Ok((start_minutes, end_minutes))
}

/// `HH:MM`, `H:MM`, a bare hour, or either with `am`/`pm`; `24:00` allowed.
fn parse_clock(text: &str) -> Result<Written, String> {
    let bad = || format!("`{text}` is not a time of day like 09:00, 24:00 or 9am");
    let lower = text.to_ascii_lowercase();
    let (number, meridiem) = match lower.strip_suffix("am") {
        Some(rest) => (rest, Some(false)),
        None => match lower.strip_suffix("pm") {
            Some(rest) => (rest, Some(true)),
            None => (lower.as_str(), None),
        },
    };
    let bare_hour = !number.contains(':');
    let (hours, minutes) = number.split_once(':').unwrap_or((number, "00"));
    let digits = |part: &str, widths: &[usize]| {
        widths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hours, &[1, 2]) || !digits(minutes, &[2]) {
        return Err(bad());
    }
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    if minutes >= 60 {
        return Err(bad());
    }
    let hours = match meridiem {
        // 12am is midnight, 12pm is noon.
        Some(pm) if (1..=12).contains(&hours) => hours % 12 + if pm { 12 } else { 0 },
        Some(_) => {
            return Err(format!(
                "`{text}` is not a 12-hour time; with am/pm the hour is 1 to 12, such as `9am` or `5:30pm`"
            ));
        }
        None if hours > 24 || (hours == 24 && minutes != 0) => return Err(bad()),
        None => hours,
    };
    Ok(Written {
        minutes: hours * 60 + minutes,
        bare_hour: bare_hour && meridiem.is_none(),
        meridiem: meridiem.is_some(),
    })
}

/// `9am-5pm`, `8:30am-6pm`: a suggestion in 12-hour form (end under 24:00).
fn twelve_hour(start: u16, end: u16) -> String {
    let one = |minutes: u16| {
        let (hours, rest) = (minutes / 60, minutes % 60);
        let suffix = if hours >= 12 { "pm" } else { "am" };
        let hours = match hours % 12 {
            0 => 12,
            other => other,
        };
        if rest == 0 {
            format!("{hours}{suffix}")
        } else {
            format!("{hours}:{rest:02}{suffix}")
        }
    };
    format!("{}-{}", one(start), one(end))
}

/// `09:00`: the canonical form of a time of day.
pub(super) struct TimeOfDay(pub(super) u16);

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// `9` or `9:30`: the short form people type.
struct Short(u16);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 % 60 {
            0 => write!(f, "{}", self.0 / 60),
            minutes => write!(f, "{}:{minutes:02}", self.0 / 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(text: &str) -> (u16, u16) {
        parse_times(text, "").unwrap()
    }

    fn reason(text: &str, days: &str) -> String {
        match parse_times(text, days).unwrap_err() {
            TimesError::Invalid(reason) => reason,
            TimesError::Ambiguous(reason) => format!("ambiguous: {reason}"),
        }
    }

    #[test]
    fn twenty_four_hour_and_bare_hours() {
        assert_eq!(times("09:00-17:00"), (540, 1020));
        assert_eq!(times("9-17"), (540, 1020));
        assert_eq!(times("8:05 - 9:00"), (485, 540));
        assert_eq!(times("08:30-24:00"), (510, 1440));
    }

    #[test]
    fn am_and_pm_read_exactly() {
        assert_eq!(times("9am-5pm"), (540, 1020));
        assert_eq!(times("9:30am-5pm"), (570, 1020));
        assert_eq!(times("9 AM - 5 PM"), (540, 1020));
        assert_eq!(times("12pm-1pm"), (720, 780));
        // A night window in 12-hour form crosses midnight, as written.
        assert_eq!(times("10pm-2am"), (1320, 120));
        assert_eq!(times("9pm-12am"), (1260, 0));
    }

    #[test]
    fn am_or_pm_on_one_time_only_is_an_error() {
        for text in ["9-5pm", "9am-17:00"] {
            assert_eq!(
                reason(text, ""),
                format!(
                    "`{text}` gives am or pm on one time only; write it on both, such as `9am-5pm`"
                )
            );
        }
        for bad in ["0am", "13pm", "24pm"] {
            assert!(
                reason(&format!("{bad}-1pm"), "").contains("is not a 12-hour time"),
                "{bad}"
            );
        }
    }

    /// Issue 10, item 4: `9-5` used to mean 09:00-05:00 and plan sends all night.
    #[test]
    fn office_hours_written_as_people_say_them_are_ambiguous() {
        assert_eq!(
            reason("9-5", "mon-fri"),
            "ambiguous: `9-5` ends before it starts, which would send overnight from 09:00 to 05:00 the next day; \
             write `mon-fri 9-17` (or `mon-fri 9am-5pm`) for 09:00-17:00, or `mon-fri 21:00-05:00` \
             if you meant a night window"
        );
        assert_eq!(
            reason("8:30-6", ""),
            "ambiguous: `8:30-6` ends before it starts, which would send overnight from 08:30 to 06:00 the next day; \
             write `8:30-18` (or `8:30am-6pm`) for 08:30-18:00, or `20:30-06:00` if you meant a night window"
        );
        assert!(reason("11-1", "").contains("`11-13`"));
        assert!(reason("9-5:30", "").contains("`9-17:30`"));
    }

    #[test]
    fn real_night_windows_stay_overnight() {
        assert_eq!(times("22:00-02:00"), (1320, 120));
        assert_eq!(times("22-2"), (1320, 120));
        assert_eq!(times("12-5"), (720, 300));
        // Minutes on both times say exactly what is meant.
        assert_eq!(times("09:00-05:00"), (540, 300));
        assert_eq!(times("22:00-00:00"), (1320, 0));
    }

    #[test]
    fn bad_times_name_the_problem() {
        assert_eq!(reason("09:00", ""), "`09:00` is not a START-END time range");
        assert_eq!(
            reason("09:00-09:00", ""),
            "the start and end are equal; use 00:00-24:00 for a whole day"
        );
        assert_eq!(
            reason("24:00-02:00", ""),
            "a window cannot start at 24:00; use 00:00"
        );
        for bad in [
            "25:00", "24:30", "09:60", "9:5", "0900", "123:00", "09:00:00", "x", "5xm",
        ] {
            assert_eq!(
                reason(&format!("08:00-{bad}"), ""),
                format!("`{bad}` is not a time of day like 09:00, 24:00 or 9am"),
                "{bad}"
            );
        }
    }

    #[test]
    fn clock_forms() {
        assert_eq!(TimeOfDay(540).to_string(), "09:00");
        assert_eq!(TimeOfDay(1440).to_string(), "24:00");
        assert_eq!(Short(540).to_string(), "9");
        assert_eq!(Short(1050).to_string(), "17:30");
        assert_eq!(twelve_hour(0, 720), "12am-12pm");
    }
}
