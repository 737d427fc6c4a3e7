//! The days a window runs on: read from text (`mon-fri`, `sat,sun`,
//! `fri-mon`, `weekdays`), kept as a set of weekdays, written back in the
//! canonical form.

use std::fmt;

use chrono::Weekday;

/// The days of the week, Monday first, as a window's day set orders them.
pub(super) const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

pub(super) const ALL_DAYS: u8 = 0b111_1111;

pub(super) fn day_bit(day: Weekday) -> u8 {
    1 << day.num_days_from_monday()
}

/// The days of a `,`-separated list (see `parse.rs`); empty means every day.
pub(super) fn parse_days(text: &str) -> Result<u8, String> {
    if text.is_empty() {
        return Ok(ALL_DAYS);
    }
    let lower = text.to_ascii_lowercase();
    let mut days = 0;
    for item in lower.split(',').map(str::trim) {
        days |= match item {
            "" => return Err(format!("the day list `{text}` has an empty item")),
            "daily" | "everyday" | "every day" => ALL_DAYS,
            "weekdays" => 0b001_1111,
            "weekends" | "weekend" => 0b110_0000,
            _ => match item.split_once('-') {
                Some((first, last)) => day_range(parse_day(first.trim())?, parse_day(last.trim())?),
                None => day_bit(parse_day(item)?),
            },
        };
    }
    Ok(days)
}

fn parse_day(name: &str) -> Result<Weekday, String> {
    Ok(match name {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "weds" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        "" => return Err("a day range is missing a day".to_string()),
        _ => return Err(format!("unknown day `{name}`")),
    })
}

/// The days from `first` to `last` inclusive, wrapping past Sunday.
fn day_range(first: Weekday, last: Weekday) -> u8 {
    let mut days = day_bit(first);
    let mut day = first;
    while day != last {
        day = day.succ();
        days |= day_bit(day);
    }
    days
}

/// Days as `daily` or as runs in week order, a run wrapping past Sunday
/// when it continues on Monday (`fri-mon`); runs of two print as a list.
pub(super) fn write_days(f: &mut fmt::Formatter<'_>, days: u8) -> fmt::Result {
    if days == ALL_DAYS {
        return f.write_str("daily");
    }
    let has = |index: usize| days & (1 << (index % 7)) != 0;
    let mut first = true;
    for start in 0..7 {
        // A run starts on a day whose previous day is not in the set.
        if !has(start) || has(start + 6) {
            continue;
        }
        let mut length = 1;
        while length < 7 && has(start + length) {
            length += 1;
        }
        let name = |offset: usize| day_name(WEEK[(start + offset) % 7]);
        if !first {
            f.write_str(",")?;
        }
        first = false;
        match length {
            1 => f.write_str(name(0))?,
            2 => write!(f, "{},{}", name(0), name(1))?,
            _ => write!(f, "{}-{}", name(0), name(length - 1))?,
        }
    }
    Ok(())
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

#[cfg(test)]
mod tests {
    use super::super::SendWindow;
    use super::*;

    /// The days of the window written as `text`.
    fn days(text: &str) -> Vec<Weekday> {
        text.parse::<SendWindow>().unwrap().days().collect()
    }

    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};

    #[test]
    fn day_lists_and_ranges() {
        assert_eq!(days("mon-fri 09:00-17:00"), [Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(days("sat,sun 10:00-14:00"), [Sat, Sun]);
        assert_eq!(days("mon,wed-fri 08:30-12:00"), [Mon, Wed, Thu, Fri]);
        assert_eq!(days("fri-mon 10:00-11:00"), [Mon, Fri, Sat, Sun]);
        assert_eq!(days("Monday, WEDNESDAY 10:00-11:00"), [Mon, Wed]);
        assert_eq!(days("tues,thurs 10:00-11:00"), [Tue, Thu]);
        assert_eq!(days("wed-wed 10:00-11:00"), [Wed]);
        assert_eq!(days("weekdays 10:00-11:00"), [Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(days("weekends 10:00-11:00"), [Sat, Sun]);
    }
}
