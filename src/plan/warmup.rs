//! Warm-up: a new sender account's daily cap grows day by day, because
//! mailbox providers and networks distrust a new account that sends its full
//! volume at once.
//!
//! `warmup = { start = 5, step = 5, every = "1d" }` (or percentages of the
//! daily cap: `start = "10%"`) makes the cap `start` on the first day with
//! sends, `start + step` after `every` such days, and so on up to the
//! account's `daily_cap`. Days count only when something was sent, so a
//! campaign paused for a week continues its ramp where it stopped (`resume`
//! counts them from the journal), not from the calendar.

use serde::{Deserialize, Serialize};

/// A resolved warm-up ramp (percentages already applied to the daily cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warmup {
    /// The cap on the first day with sends.
    pub start: u32,
    /// Added every `every_days` days with sends.
    pub step: u32,
    pub every_days: u32,
}

/// The `warmup` table as written in outreach.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmupConfig {
    pub start: Amount,
    pub step: Amount,
    /// Whole days, such as `1d` or `2d` [default: 1d].
    pub every: Option<String>,
}

/// A number of messages, or a percentage of the daily cap (`"10%"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Count(u32),
    Text(String),
}

/// Why a `warmup` table cannot be used; the caller names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarmupError {
    #[error("a warm-up grows toward the daily cap: set `daily_cap` too (e.g. daily_cap = 50)")]
    NoDailyCap,
    #[error("`{0}` is not a number of messages or a percentage such as \"10%\"")]
    Amount(String),
    #[error("`start` and `step` must be at least 1 message a day")]
    Zero,
    #[error(
        "`start` ({start}/day) is above the daily cap ({cap}/day); lower it or raise `daily_cap`"
    )]
    AboveCap { start: u32, cap: u32 },
    #[error("`every` must be a whole number of days such as \"1d\" or \"2d\", not `{0}`")]
    Every(String),
}

impl WarmupConfig {
    /// The ramp for an account whose daily cap is `daily_cap`.
    pub fn resolve(&self, daily_cap: Option<u32>) -> Result<Warmup, WarmupError> {
        let cap = daily_cap.ok_or(WarmupError::NoDailyCap)?;
        let start = self.start.of(cap)?;
        let step = self.step.of(cap)?;
        if start == 0 || step == 0 {
            return Err(WarmupError::Zero);
        }
        if start > cap {
            return Err(WarmupError::AboveCap { start, cap });
        }
        let every_days = match self.every.as_deref().map(str::trim) {
            None => 1,
            Some(text) => every_days(text).ok_or_else(|| WarmupError::Every(text.to_string()))?,
        };
        Ok(Warmup {
            start,
            step,
            every_days,
        })
    }
}

fn every_days(text: &str) -> Option<u32> {
    let duration = humantime::parse_duration(text).ok()?;
    let day = 24 * 60 * 60;
    let seconds = duration.as_secs();
    (seconds >= day && seconds % day == 0 && duration.subsec_nanos() == 0)
        .then(|| u32::try_from(seconds / day).ok())
        .flatten()
}

impl Amount {
    fn of(&self, cap: u32) -> Result<u32, WarmupError> {
        match self {
            Amount::Count(n) => Ok(*n),
            Amount::Text(text) => {
                let bad = || WarmupError::Amount(text.clone());
                let percent: f64 = text
                    .trim()
                    .strip_suffix('%')
                    .ok_or_else(bad)?
                    .trim()
                    .parse()
                    .map_err(|_| bad())?;
                if !(percent > 0.0 && percent <= 100.0) {
                    return Err(bad());
                }
                // At least one message: a ramp that rounds to 0 never starts.
                Ok(((f64::from(cap) * percent / 100.0).round() as u32).max(1))
            }
        }
    }
}

impl Warmup {
    /// The cap on a day after `days_with_sends` earlier days with sends.
    pub fn cap(&self, days_with_sends: u32, daily_cap: u32) -> u32 {
        let steps = days_with_sends / self.every_days.max(1);
        self.start
            .saturating_add(self.step.saturating_mul(steps))
            .min(daily_cap)
    }

    /// The caps day by day until the daily cap is reached, for the plan.
    pub fn ramp(&self, daily_cap: u32) -> Vec<u32> {
        let mut caps = Vec::new();
        let mut day = 0;
        loop {
            let cap = self.cap(day, daily_cap);
            caps.push(cap);
            if cap >= daily_cap || caps.len() >= 60 {
                return caps;
            }
            day += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> WarmupConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_cap_grows_every_n_days_with_sends_up_to_the_daily_cap() {
        let warmup = config("start = 5\nstep = 5\nevery = \"2d\"")
            .resolve(Some(18))
            .unwrap();
        let caps: Vec<u32> = (0..8).map(|day| warmup.cap(day, 18)).collect();
        assert_eq!(caps, vec![5, 5, 10, 10, 15, 15, 18, 18]);
        assert_eq!(warmup.ramp(18), vec![5, 5, 10, 10, 15, 15, 18]);
    }

    #[test]
    fn percentages_are_of_the_daily_cap() {
        let warmup = config("start = \"10%\"\nstep = \"25%\"")
            .resolve(Some(40))
            .unwrap();
        assert_eq!(
            warmup,
            Warmup {
                start: 4,
                step: 10,
                every_days: 1
            }
        );
    }

    #[test]
    fn mistakes_say_what_to_write() {
        let ramp = config("start = 5\nstep = 5");
        assert_eq!(ramp.resolve(None).unwrap_err(), WarmupError::NoDailyCap);
        assert_eq!(
            config("start = 60\nstep = 5")
                .resolve(Some(50))
                .unwrap_err(),
            WarmupError::AboveCap { start: 60, cap: 50 }
        );
        assert_eq!(
            config("start = 5\nstep = 5\nevery = \"12h\"")
                .resolve(Some(50))
                .unwrap_err(),
            WarmupError::Every("12h".into())
        );
        assert_eq!(
            config("start = \"lots\"\nstep = 5")
                .resolve(Some(50))
                .unwrap_err(),
            WarmupError::Amount("lots".into())
        );
        assert_eq!(
            config("start = 0\nstep = 5").resolve(Some(50)).unwrap_err(),
            WarmupError::Zero
        );
    }
}
