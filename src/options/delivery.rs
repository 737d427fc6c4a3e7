//! How messages go out (`send` and `resume`), and what `resume` changes.
//!
//! Like the campaign flags, these are parsed once here into typed values, so
//! a bad value is reported naming its flag before any journal is opened, and
//! nothing below the CLI sees a clap struct. Retry values given as flags are
//! kept as overrides: `send` applies them over the config's `[retry]`,
//! `resume` over the policy saved in the journal.

use std::path::PathBuf;
use std::time::Duration;

use crate::account::Account;
use crate::config::RetryConfig;
use crate::rate::Rate;
use crate::state::changes::ChangePolicy;
use crate::throttle::BackoffPolicy;
use crate::window::WindowSet;

use super::{OptionsError, Origin, parse_rate_flag, parse_window};

/// The request timeout when neither a flag nor the config sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Live progress bars, or one plain line per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Live,
    Plain,
}

impl ProgressMode {
    /// Bars only where someone watches: stderr is a terminal that can draw
    /// them, and `--no-progress` was not given.
    pub fn detect(no_progress: bool) -> ProgressMode {
        use std::io::IsTerminal;
        let drawable = std::io::stderr().is_terminal()
            && std::env::var("TERM").map_or(true, |term| term != "dumb");
        if !no_progress && drawable {
            ProgressMode::Live
        } else {
            ProgressMode::Plain
        }
    }
}

/// `--retry-base`, `--retry-cap`, `--retry-attempts`, `--timeout` as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryOverrides {
    pub base: Option<Duration>,
    pub cap: Option<Duration>,
    pub attempts: Option<u32>,
    pub timeout: Option<Duration>,
}

impl RetryOverrides {
    /// These flags over `fallback` (the config's policy, or the saved one).
    pub fn over(&self, fallback: BackoffPolicy, timeout: Duration) -> (BackoffPolicy, Duration) {
        let policy = BackoffPolicy {
            base: self.base.unwrap_or(fallback.base),
            cap: self.cap.unwrap_or(fallback.cap),
            max_attempts: self.attempts.unwrap_or(fallback.max_attempts).max(1),
        };
        (policy, self.timeout.unwrap_or(timeout))
    }

    /// These flags over the config's `[retry]`, then the defaults.
    pub fn over_config(&self, retry: &RetryConfig) -> (BackoffPolicy, Duration) {
        let defaults = BackoffPolicy::default();
        let fallback = BackoffPolicy {
            base: retry.base.map_or(defaults.base, |d| d.0),
            cap: retry.cap.map_or(defaults.cap, |d| d.0),
            max_attempts: retry.attempts.unwrap_or(defaults.max_attempts),
        };
        self.over(fallback, retry.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0))
    }
}

/// How `send` and `resume` deliver, resolved from their flags.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOptions {
    /// `--endpoint`: wins over the config's (or the journal's) endpoint.
    pub endpoint: Option<String>,
    /// `--events`: a JSON Lines file every event is appended to.
    pub events: Option<PathBuf>,
    pub progress: ProgressMode,
    pub retry: RetryOverrides,
}

/// `send`/`resume`'s delivery flags as typed.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFlags<'a> {
    pub endpoint: Option<&'a str>,
    pub events: Option<&'a std::path::Path>,
    pub no_progress: bool,
    pub retry_base: Option<&'a str>,
    pub retry_cap: Option<&'a str>,
    pub retry_attempts: Option<u32>,
    pub timeout: Option<&'a str>,
}

impl DeliveryOptions {
    pub fn resolve(flags: &DeliveryFlags<'_>) -> Result<DeliveryOptions, OptionsError> {
        Ok(DeliveryOptions {
            endpoint: flags.endpoint.map(str::to_string),
            events: flags.events.map(std::path::Path::to_path_buf),
            progress: ProgressMode::detect(flags.no_progress),
            retry: RetryOverrides {
                base: duration_flag("--retry-base", flags.retry_base)?,
                cap: duration_flag("--retry-cap", flags.retry_cap)?,
                attempts: flags.retry_attempts,
                timeout: duration_flag("--timeout", flags.timeout)?,
            },
        })
    }
}

/// A duration flag's value, if given.
pub fn duration_flag(
    flag: &'static str,
    value: Option<&str>,
) -> Result<Option<Duration>, OptionsError> {
    value
        .map(|text| {
            humantime::parse_duration(text.trim()).map_err(|_| OptionsError::Duration {
                flag,
                input: text.to_string(),
            })
        })
        .transpose()
}

/// What `resume`'s flags change in a saved campaign.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeOverrides {
    /// `--rate`: a new pace for every account.
    pub rate: Option<Rate>,
    /// `--window`: replaces the saved windows.
    pub windows: Option<WindowSet>,
    /// `--daily-cap`: a new cap for every account.
    pub daily_cap: Option<u32>,
    /// `--allow-changes`: continue although the inputs changed.
    pub changes: Option<ChangePolicy>,
    /// `--retry-failed`.
    pub retry_failed: bool,
    /// `--resend-uncertain`.
    pub resend_uncertain: bool,
    /// `--until-idle[=WITHIN]`: send what is due within this, then exit.
    pub until_idle: Option<chrono::TimeDelta>,
}

/// `resume`'s pacing flags as typed.
#[derive(Debug, Clone, Default)]
pub struct ResumeFlags<'a> {
    pub rate: Option<&'a str>,
    pub windows: &'a [String],
    pub daily_cap: Option<u32>,
    pub changes: Option<ChangePolicy>,
    pub retry_failed: bool,
    pub resend_uncertain: bool,
    pub until_idle: Option<&'a str>,
}

impl ResumeOverrides {
    pub fn resolve(flags: &ResumeFlags<'_>) -> Result<ResumeOverrides, OptionsError> {
        let rate = flags.rate.map(parse_rate_flag).transpose()?;
        let windows = if flags.windows.is_empty() {
            None
        } else {
            let origin = Origin::Flag("--window");
            let parsed = flags
                .windows
                .iter()
                .map(|text| parse_window(text, &origin))
                .collect::<Result<Vec<_>, _>>()?;
            Some(WindowSet::new(parsed))
        };
        if flags.daily_cap == Some(0) {
            return Err(OptionsError::DailyCap {
                origin: Origin::Flag("--daily-cap"),
            });
        }
        let until_idle = flags
            .until_idle
            .map(|text| {
                humantime::parse_duration(text.trim())
                    .ok()
                    .and_then(|d| chrono::TimeDelta::from_std(d).ok())
                    .ok_or_else(|| OptionsError::Duration {
                        flag: "--until-idle",
                        input: text.to_string(),
                    })
            })
            .transpose()?;
        Ok(ResumeOverrides {
            rate,
            windows,
            daily_cap: flags.daily_cap,
            changes: flags.changes,
            retry_failed: flags.retry_failed,
            resend_uncertain: flags.resend_uncertain,
            until_idle,
        })
    }

    /// The saved accounts with `--rate` and `--daily-cap` applied.
    pub fn accounts(&self, saved: &[Account]) -> Vec<Account> {
        saved
            .iter()
            .map(|account| Account {
                rate: self.rate.unwrap_or(account.rate),
                daily_cap: self.daily_cap.or(account.daily_cap),
                ..account.clone()
            })
            .collect()
    }

    /// `--window` if given (keeping the saved skip dates), else the saved windows.
    pub fn windows_or(&self, saved: &WindowSet) -> WindowSet {
        match &self.windows {
            Some(windows) => windows.clone().with_skip_dates(saved.skip_dates().clone()),
            None => saved.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_flags_win_over_the_fallback_and_attempts_stay_at_least_one() {
        let overrides = RetryOverrides {
            base: Some(Duration::from_millis(5)),
            attempts: Some(0),
            ..RetryOverrides::default()
        };
        let fallback = BackoffPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_attempts: 6,
        };
        let (policy, timeout) = overrides.over(fallback, Duration::from_secs(9));
        assert_eq!(policy.base, Duration::from_millis(5));
        assert_eq!(policy.cap, Duration::from_secs(60));
        assert_eq!(policy.max_attempts, 1);
        assert_eq!(timeout, Duration::from_secs(9));
    }

    #[test]
    fn a_bad_duration_names_its_flag() {
        let flags = DeliveryFlags {
            retry_cap: Some("soon"),
            ..DeliveryFlags::default()
        };
        let error = DeliveryOptions::resolve(&flags).unwrap_err();
        assert_eq!(error.origin(), Some(Origin::Flag("--retry-cap")));
        assert!(error.to_string().contains("`soon`"), "{error}");
    }

    #[test]
    fn resume_overrides_apply_to_every_account_by_field() {
        let flags = ResumeFlags {
            rate: Some("10/h"),
            daily_cap: Some(7),
            ..ResumeFlags::default()
        };
        let overrides = ResumeOverrides::resolve(&flags).unwrap();
        let saved = vec![
            Account {
                name: "a".into(),
                rate: "20/h".parse().unwrap(),
                daily_cap: None,
                token_env: "A_TOKEN".into(),
                channel: Default::default(),
                warmup: None,
            },
            Account {
                name: "b".into(),
                rate: "5/h".parse().unwrap(),
                daily_cap: Some(3),
                token_env: "B_TOKEN".into(),
                channel: Default::default(),
                warmup: None,
            },
        ];
        let changed = overrides.accounts(&saved);
        assert!(changed.iter().all(|a| a.rate == "10/h".parse().unwrap()));
        assert!(changed.iter().all(|a| a.daily_cap == Some(7)));
        assert_eq!(changed[1].token_env, "B_TOKEN");
    }

    #[test]
    fn a_zero_daily_cap_and_a_bad_window_name_their_flags() {
        let zero = ResumeFlags {
            daily_cap: Some(0),
            ..ResumeFlags::default()
        };
        let error = ResumeOverrides::resolve(&zero).unwrap_err();
        assert_eq!(error.origin(), Some(Origin::Flag("--daily-cap")));
        let windows = vec!["someday".to_string()];
        let bad = ResumeFlags {
            windows: &windows,
            ..ResumeFlags::default()
        };
        let error = ResumeOverrides::resolve(&bad).unwrap_err();
        assert_eq!(error.origin(), Some(Origin::Flag("--window")));
    }
}
