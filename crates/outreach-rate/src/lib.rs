//! Send rates such as `20/h`, `10/s` or `50/90m`.
//!
//! A rate is "at most N sends in any rolling window of PERIOD". The planner
//! turns it into an even spacing of PERIOD/N, the sandbox into a limit, so
//! both parse the same syntax here.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// At most `count` sends in any window of `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

/// Why a rate string was not understood; the message lists the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rate `{input}`: {reason}; expected N/PERIOD such as `20/h`, `10/s`, `500/day` or `50/90m` \
     (units: s, sec, m, min, h, hour, d, day, or a duration like `10s`, `90m`, `1h30m`)"
)]
pub struct RateError {
    pub input: String,
    pub reason: &'static str,
}

impl Rate {
    /// The default: 20 per hour, the low end of LinkedIn's typical 20-50.
    pub const DEFAULT: Rate = Rate {
        count: 20,
        period: Duration::from_secs(3600),
    };

    /// The largest N accepted: more would be a burst by any other name.
    pub const MAX_COUNT: u32 = 1_000_000;
    /// The longest PERIOD accepted.
    pub const MAX_PERIOD: Duration = Duration::from_secs(366 * 86_400);

    pub fn new(count: u32, period: Duration) -> Rate {
        Rate { count, period }
    }

    /// The even spacing between two sends, rounded up to the nanosecond so
    /// that N intervals never add up to less than the period.
    pub fn interval(&self) -> Duration {
        let period = self.period.as_nanos();
        let count = u128::from(self.count.max(1));
        let nanos = period.div_ceil(count);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Sends per second, for display and throughput estimates.
    pub fn per_second(&self) -> f64 {
        f64::from(self.count) / self.period.as_secs_f64()
    }
}

fn parse_period(text: &str) -> Option<Duration> {
    let unit = match text.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => Some(1),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(60),
        "h" | "hr" | "hour" | "hours" => Some(3600),
        "d" | "day" | "days" => Some(86_400),
        _ => None,
    };
    if let Some(seconds) = unit {
        return Some(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).ok()
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(input: &str) -> Result<Rate, RateError> {
        let error = |reason| RateError {
            input: input.to_string(),
            reason,
        };
        let (count, period) = input
            .trim()
            .split_once('/')
            .ok_or_else(|| error("missing `/`"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| error("N must be a whole number"))?;
        if count == 0 {
            return Err(error("N must be at least 1"));
        }
        if count > Rate::MAX_COUNT {
            return Err(error("N must be at most 1000000"));
        }
        let period = parse_period(period.trim()).ok_or_else(|| error("unknown PERIOD"))?;
        if period.is_zero() {
            return Err(error("PERIOD must be longer than zero"));
        }
        if period > Rate::MAX_PERIOD {
            return Err(error("PERIOD must be at most 366 days"));
        }
        Ok(Rate { count, period })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        let unit = match (secs, self.period.subsec_nanos()) {
            (1, 0) => "s".to_string(),
            (60, 0) => "min".to_string(),
            (3600, 0) => "h".to_string(),
            (86_400, 0) => "day".to_string(),
            _ => humantime::format_duration(self.period)
                .to_string()
                .replace(' ', ""),
        };
        write!(f, "{}/{}", self.count, unit)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rate, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap()
    }

    #[test]
    fn units_and_durations() {
        assert_eq!(rate("20/h"), Rate::new(20, Duration::from_secs(3600)));
        assert_eq!(rate("20/hour"), Rate::new(20, Duration::from_secs(3600)));
        assert_eq!(rate("10/s"), Rate::new(10, Duration::from_secs(1)));
        assert_eq!(rate("10/sec"), Rate::new(10, Duration::from_secs(1)));
        assert_eq!(rate("3/min"), Rate::new(3, Duration::from_secs(60)));
        assert_eq!(rate("3/m"), Rate::new(3, Duration::from_secs(60)));
        assert_eq!(rate("500/day"), Rate::new(500, Duration::from_secs(86_400)));
        assert_eq!(rate("5/10s"), Rate::new(5, Duration::from_secs(10)));
        assert_eq!(rate("50/90m"), Rate::new(50, Duration::from_secs(5400)));
        assert_eq!(rate(" 7 / 1h30m "), Rate::new(7, Duration::from_secs(5400)));
    }

    #[test]
    fn interval_is_period_over_count() {
        assert_eq!(rate("20/h").interval(), Duration::from_secs(180));
        assert_eq!(rate("10/s").interval(), Duration::from_millis(100));
        // 1s/3 rounds up so that 3 intervals cover the whole second.
        assert_eq!(rate("3/s").interval(), Duration::from_nanos(333_333_334));
    }

    #[test]
    fn errors_name_the_accepted_forms() {
        for bad in ["20", "x/h", "0/h", "20/fortnight", "20/0s", "-1/h", ""] {
            let error = bad.parse::<Rate>().unwrap_err().to_string();
            assert!(error.contains("expected N/PERIOD"), "{bad}: {error}");
            assert!(error.contains(&format!("`{bad}`")), "{bad}: {error}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["20/h", "10/s", "3/min", "500/day", "50/1h30m", "5/10s"] {
            let parsed = rate(text);
            assert_eq!(
                parsed.to_string().parse::<Rate>().unwrap(),
                parsed,
                "{text}"
            );
        }
        assert_eq!(rate("20/hour").to_string(), "20/h");
    }
}
