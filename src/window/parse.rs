//! The text form of send windows, shared by the command line and the config.
//!
//! `[DAYS] START-END`, where DAYS is a `,`-separated list of days (`mon`,
//! `monday`, any case), wrapping ranges (`fri-mon`) and the words `daily`,
//! `everyday`, `weekdays` and `weekends`; omitted DAYS means every day.
//! START and END are `HH:MM`, a bare hour (`9`) or 12-hour clock (`9am`,
//! `5:30pm`); END may be `24:00`, and an END before START crosses midnight
//! unless it reads like office hours (`9-5`, an error: see `time_of_day.rs`).
//! DAYS alone means the whole day. A set of windows joins them with `;`,
//! and `always` is the empty set.
//! Display prints the canonical form, which parses back to the same value.

use std::fmt;
use std::str::FromStr;

use super::days::{parse_days, write_days};
use super::time_of_day::{TimeOfDay, TimesError, parse_times};
use super::{DAY_MINUTES, SendWindow, WindowSet};

/// Why a window was not understood; the message quotes the input and, unless
/// the reason already says what to write, lists the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowError {
    pub input: String,
    pub reason: String,
    /// Whether the message ends with the accepted forms.
    pub show_forms: bool,
}

impl WindowError {
    fn new(input: &str, reason: String) -> WindowError {
        WindowError {
            input: input.to_string(),
            reason,
            show_forms: true,
        }
    }

    fn from_times(input: &str, error: TimesError) -> WindowError {
        match error {
            TimesError::Invalid(reason) => WindowError::new(input, reason),
            // The reason already suggests exact spellings.
            TimesError::Ambiguous(reason) => WindowError {
                show_forms: false,
                ..WindowError::new(input, reason)
            },
        }
    }
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid send window `{}`: {}", self.input, self.reason)?;
        if self.show_forms {
            f.write_str(
                "; expected [DAYS] HH:MM-HH:MM such as `mon-fri 09:00-17:00`, \
                 `sat,sun 10:00-14:00`, `mon,wed-fri 08:30-12:00`, `daily 22:00-02:00`, \
                 `09:00-17:00` or `mon-fri 9am-5pm` (DAYS: `mon`..`sun` or full names, ranges \
                 like `fri-mon`, lists joined by `,`, or `daily`, `everyday`, `weekdays`, \
                 `weekends`; an end before the start crosses midnight, `24:00` ends at \
                 midnight; join windows with `;`)",
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for WindowError {}

impl FromStr for SendWindow {
    type Err = WindowError;

    fn from_str(input: &str) -> Result<SendWindow, WindowError> {
        let error = |reason: String| WindowError::new(input, reason);
        let text = input.trim();
        if text.is_empty() {
            return Err(error("it is empty".to_string()));
        }
        // Day names have no digits, so the times start at the first digit.
        let split = text
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(text.len());
        let (days, times) = text.split_at(split);
        let days_text = days.trim();
        let days = parse_days(days_text).map_err(error)?;
        let (start, end) = if times.is_empty() {
            (0, DAY_MINUTES)
        } else {
            parse_times(times, days_text)
                .map_err(|times_error| WindowError::from_times(input, times_error))?
        };
        Ok(SendWindow { days, start, end })
    }
}

impl fmt::Display for SendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_days(f, self.days)?;
        write!(f, " {}-{}", TimeOfDay(self.start), TimeOfDay(self.end))
    }
}

impl FromStr for WindowSet {
    type Err = WindowError;

    /// `;`-separated windows, or `always` for the empty set.
    fn from_str(input: &str) -> Result<WindowSet, WindowError> {
        let text = input.trim();
        if text.eq_ignore_ascii_case("always") {
            return Ok(WindowSet::always());
        }
        let windows = text
            .split(';')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<SendWindow>, _>>()?;
        if windows.is_empty() {
            return Err(WindowError::new(
                input,
                "it is empty (write `always` for no restriction)".to_string(),
            ));
        }
        Ok(WindowSet::new(windows))
    }
}

impl fmt::Display for WindowSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.windows.is_empty() {
            return f.write_str("always");
        }
        for (index, window) in self.windows.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{window}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for SendWindow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SendWindow {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SendWindow, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn window(text: &str) -> SendWindow {
        text.parse().unwrap()
    }

    fn days(window: &SendWindow) -> Vec<Weekday> {
        window.days().collect()
    }

    fn reason(text: &str) -> String {
        text.parse::<SendWindow>().unwrap_err().reason
    }

    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};

    #[test]
    fn every_day_forms() {
        let every_day = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
        for text in [
            "09:00-17:00",
            "daily 09:00-17:00",
            "everyday 09:00-17:00",
            "Every Day 9-17",
        ] {
            let parsed = window(text);
            assert_eq!(days(&parsed), every_day, "{text}");
            assert_eq!(
                (parsed.start_minute(), parsed.end_minute()),
                (540, 1020),
                "{text}"
            );
        }
        // Days alone mean the whole day.
        let whole = window("daily");
        assert_eq!((whole.start_minute(), whole.end_minute()), (0, 1440));
        assert_eq!(window("sat,sun").to_string(), "sat,sun 00:00-24:00");
    }

    #[test]
    fn times() {
        let parsed = window("mon 22:00-02:00");
        assert_eq!((parsed.start_minute(), parsed.end_minute()), (1320, 120));
        assert!(parsed.crosses_midnight());
        assert!(!window("mon 08:30-24:00").crosses_midnight());
        assert_eq!(window("mon 08:30-24:00").end_minute(), 1440);
        assert_eq!(window("mon 8:05 - 9:00").start_minute(), 485);
        assert_eq!(
            window("  daily   00:00-24:00  ").to_string(),
            "daily 00:00-24:00"
        );
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            ("Monday-Friday 9:00-17:00", "mon-fri 09:00-17:00"),
            ("sun,sat 10:00-14:00", "sat,sun 10:00-14:00"),
            ("mon,wed-fri 08:30-12:00", "mon,wed-fri 08:30-12:00"),
            ("fri-mon 22:00-02:00", "fri-mon 22:00-02:00"),
            ("sun,mon,wed 10:00-11:00", "wed,sun,mon 10:00-11:00"),
            ("mon-sun 10:00-11:00", "daily 10:00-11:00"),
            ("weekdays 10:00-11:00", "mon-fri 10:00-11:00"),
            ("22:00-00:00", "daily 22:00-00:00"),
        ];
        for (input, shown) in cases {
            assert_eq!(window(input).to_string(), shown, "{input}");
            assert_eq!(window(shown), window(input), "{input}");
        }
    }

    #[test]
    fn window_sets() {
        let set: WindowSet = "mon-fri 09:00-12:00; mon-fri 13:00-17:00;".parse().unwrap();
        assert_eq!(set.windows().len(), 2);
        assert_eq!(set.to_string(), "mon-fri 09:00-12:00; mon-fri 13:00-17:00");
        assert_eq!("ALWAYS".parse::<WindowSet>().unwrap(), WindowSet::always());
        assert_eq!(WindowSet::always().to_string(), "always");
        let error = " ; ".parse::<WindowSet>().unwrap_err();
        assert!(error.reason.contains("always"), "{error}");
        let error = "mon 09:00-17:00; tomorrow 10:00-11:00"
            .parse::<WindowSet>()
            .unwrap_err();
        assert_eq!(error.input, "tomorrow 10:00-11:00");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(reason(""), "it is empty");
        assert_eq!(reason("mnday 09:00-17:00"), "unknown day `mnday`");
        assert_eq!(reason("mon- 09:00-17:00"), "a day range is missing a day");
        assert_eq!(
            reason("mon,,tue 09:00-17:00"),
            "the day list `mon,,tue` has an empty item"
        );
        assert_eq!(reason("mon 09:00"), "`09:00` is not a START-END time range");
        assert_eq!(
            reason("mon 09:00-09:00"),
            "the start and end are equal; use 00:00-24:00 for a whole day"
        );
        assert_eq!(
            reason("mon 24:00-02:00"),
            "a window cannot start at 24:00; use 00:00"
        );
        for bad in [
            "25:00", "24:30", "09:60", "9:5", "0900", "123:00", "09:00:00", "x",
        ] {
            assert_eq!(
                reason(&format!("mon 08:00-{bad}")),
                format!("`{bad}` is not a time of day like 09:00, 24:00 or 9am"),
                "{bad}"
            );
        }
    }

    /// Issue 10, item 4: `mon-fri 9-5` parsed as 09:00-05:00 without a word.
    #[test]
    fn office_hours_written_as_people_say_them() {
        let error = "mon-fri 9-5".parse::<SendWindow>().unwrap_err();
        assert!(!error.show_forms);
        let message = error.to_string();
        assert!(
            message.starts_with("invalid send window `mon-fri 9-5`: `9-5` ends before it starts"),
            "{message}"
        );
        assert!(message.contains("write `mon-fri 9-17`"), "{message}");
        assert!(message.contains("`mon-fri 21:00-05:00`"), "{message}");
        assert!(!message.contains("expected [DAYS]"), "{message}");
        // The readings people mean, and real night windows.
        assert_eq!(window("mon-fri 9am-5pm"), window("mon-fri 09:00-17:00"));
        assert_eq!(window("mon-fri 9-17"), window("mon-fri 09:00-17:00"));
        assert_eq!(window("fri 22-2").to_string(), "fri 22:00-02:00");
        assert_eq!(window("fri 10pm-2am").to_string(), "fri 22:00-02:00");
        // The canonical form of an explicit 09:00-05:00 still parses back.
        let night = window("mon 09:00-05:00");
        assert_eq!(window(&night.to_string()), night);
    }

    #[test]
    fn error_message_quotes_input_and_shows_examples() {
        let message = "mon-fry 09:00-17:00"
            .parse::<SendWindow>()
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("invalid send window `mon-fry 09:00-17:00`: unknown day `fry`; ")
        );
        for example in [
            "`mon-fri 09:00-17:00`",
            "`sat,sun 10:00-14:00`",
            "`daily 22:00-02:00`",
            "`24:00`",
        ] {
            assert!(message.contains(example), "{message}");
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let set: WindowSet = "mon-fri 09:00-17:00; sat 10:00-12:00".parse().unwrap();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["mon-fri 09:00-17:00","sat 10:00-12:00"]"#);
        assert_eq!(serde_json::from_str::<WindowSet>(&json).unwrap(), set);
        let error = serde_json::from_str::<WindowSet>(r#"["mon 9-9"]"#).unwrap_err();
        assert!(
            error.to_string().contains("invalid send window `mon 9-9`"),
            "{error}"
        );
    }
}
