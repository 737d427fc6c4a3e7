//! Small text helpers shared by the human-readable outputs.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// `Mon 2026-11-30 09:00:00 CET`: a time in the campaign's zone, zone named.
pub fn local_time(at: DateTime<Utc>, zone: &Tz) -> String {
    at.with_timezone(zone)
        .format("%a %Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// `1h 12m`, `40s`, `2d 3h`: a duration rounded to whole seconds.
pub fn human_duration(duration: TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0) as u64;
    if seconds == 0 {
        let millis = duration.num_milliseconds().max(0);
        return format!("{millis}ms");
    }
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

/// The first line of `text`, cut to `max` characters with an ellipsis.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Pad to a display width counted in characters.
pub fn pad(text: &str, width: usize) -> String {
    let count = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(count)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_duration(TimeDelta::seconds(4320)), "1h 12m");
        assert_eq!(human_duration(TimeDelta::milliseconds(250)), "250ms");
        assert_eq!(excerpt("Hi Zoë,\n\nthanks for", 10), "Hi Zoë, t…");
        assert_eq!(pad("Zoë", 5), "Zoë  ");
        let at: DateTime<Utc> = "2026-11-30T08:00:00Z".parse().unwrap();
        assert_eq!(
            local_time(at, &chrono_tz::Europe::Berlin),
            "Mon 2026-11-30 09:00:00 CET"
        );
    }
}
