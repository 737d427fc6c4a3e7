//! Why an option value cannot be used, and whether that is the command
//! line's fault (exit 2) or a file's (exit 1).

use std::path::PathBuf;

use chrono_tz::Tz;

use crate::config::ConfigError;
use crate::exit_codes;
use crate::rate::RateError;
use crate::window::WindowError;

/// Where an option value came from: a flag, or a key in the config file.
/// A bad flag is a usage error (exit 2); a bad config value is a bad file
/// (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Config { key: String, path: PathBuf },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Config { key, path } => write!(f, "`{key}` in {}", path.display()),
        }
    }
}

/// An option value that cannot be used. Every message starts with the flag
/// or config key, says what is wrong, then what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{origin}: {source}")]
    Rate { origin: Origin, source: RateError },
    #[error(
        "{origin}: unknown time zone `{input}`; use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`"
    )]
    TimeZone { origin: Origin, input: String },
    #[error("{origin}: {source}")]
    Window { origin: Origin, source: WindowError },
    #[error("{origin}: {source}")]
    Warmup {
        origin: Origin,
        source: crate::plan::warmup::WarmupError,
    },
    #[error("{source} in {}", origin_file(origin))]
    Steps {
        origin: Origin,
        source: crate::sequence::StepError,
    },
    #[error("{origin}: {source}")]
    SkipDates {
        origin: Origin,
        source: crate::window::SkipDateError,
    },
    #[error(
        "--start: invalid date `{input}`; expected RFC 3339 such as `2026-12-01T09:00:00Z` or \
         `2026-12-01T09:00:00+01:00`, a local time such as `2026-12-01T09:00` read in the \
         campaign's time zone, or `now`"
    )]
    Start { input: String },
    #[error(
        "--start: `{input}` does not exist in {zone} (the clocks skip that hour); give an offset, \
         such as `{suggestion}`"
    )]
    StartSkipped {
        input: String,
        zone: Tz,
        suggestion: String,
    },
    #[error(
        "--start: `{input}` happens twice in {zone} (the clocks go back); give the offset: \
         `{earlier}` or `{later}`"
    )]
    StartRepeated {
        input: String,
        zone: Tz,
        earlier: String,
        later: String,
    },
    #[error("{origin}: {detail}")]
    Jitter { origin: Origin, detail: String },
    #[error("{origin}: the daily cap must be at least 1; leave it out for no cap")]
    DailyCap { origin: Origin },
    #[error("{origin}: the maximum length must be at least 1; leave it out for no limit")]
    MaxLength { origin: Origin },
    #[error("{flag}: invalid duration `{input}`; write a duration such as `2s`, `500ms` or `10m`")]
    Duration { flag: &'static str, input: String },
    #[error(
        "{flag}: only with --dry-run, because `send` prints no plan; use `outreach plan` or \
         `outreach send --dry-run {flag}`"
    )]
    OnlyWithDryRun { flag: &'static str },
    #[error("--delimiter: {detail}")]
    Delimiter { detail: String },
    /// `detail` names the key itself (often one inside the table, such as
    /// `channel.body.json`).
    #[error("{detail}")]
    Channel { origin: Origin, detail: String },
}

/// The file of a config origin, for errors that name their own key.
fn origin_file(origin: &Origin) -> String {
    match origin {
        Origin::Config { path, .. } => path.display().to_string(),
        Origin::Flag(flag) => (*flag).to_string(),
    }
}

impl OptionsError {
    /// The flag or config key the error is about, if it names one.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            OptionsError::Config(_) => None,
            OptionsError::Rate { origin, .. }
            | OptionsError::TimeZone { origin, .. }
            | OptionsError::Window { origin, .. }
            | OptionsError::SkipDates { origin, .. }
            | OptionsError::Steps { origin, .. }
            | OptionsError::Warmup { origin, .. }
            | OptionsError::Jitter { origin, .. }
            | OptionsError::DailyCap { origin }
            | OptionsError::MaxLength { origin }
            | OptionsError::Channel { origin, .. } => Some(origin.clone()),
            OptionsError::Start { .. }
            | OptionsError::StartSkipped { .. }
            | OptionsError::StartRepeated { .. } => Some(Origin::Flag("--start")),
            OptionsError::Duration { flag, .. } | OptionsError::OnlyWithDryRun { flag } => {
                Some(Origin::Flag(flag))
            }
            OptionsError::Delimiter { .. } => Some(Origin::Flag("--delimiter")),
        }
    }

    /// 2 (usage) for a bad flag, 1 for a bad config file.
    pub fn exit_code(&self) -> i32 {
        match self.origin() {
            Some(Origin::Flag(_)) => exit_codes::USAGE,
            _ => exit_codes::ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{parse_rate_flag, parse_window};

    #[test]
    fn flags_are_usage_errors_and_config_values_bad_files() {
        let flag = parse_rate_flag("fast").unwrap_err();
        assert_eq!(flag.exit_code(), exit_codes::USAGE);
        assert!(flag.to_string().starts_with("--rate: invalid rate `fast`"));
        let config = OptionsError::TimeZone {
            origin: Origin::Config {
                key: "timezone".into(),
                path: "c/outreach.toml".into(),
            },
            input: "CEST".into(),
        };
        assert_eq!(config.exit_code(), exit_codes::ERROR);
        assert!(
            config
                .to_string()
                .starts_with("`timezone` in c/outreach.toml: unknown time zone `CEST`; "),
            "{config}"
        );
        let window = parse_window("mon-fri 9-5", &Origin::Flag("--window")).unwrap_err();
        assert_eq!(window.exit_code(), exit_codes::USAGE);
    }
}
