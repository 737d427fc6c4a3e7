//! Campaign options: flags and `outreach.toml` merged into one typed,
//! validated value.
//!
//! The CLI only collects raw strings ([`CampaignFlags`]); everything that can
//! be wrong is checked here, where each error can name the flag or config key
//! that fixes it. Flags win over the config file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::{self, ConfigError, JitterPercent, LoadedConfig};
use crate::exit_codes;
use crate::rate::{Rate, RateError};
use crate::window::{SendWindow, WindowError, WindowSet};

/// The environment variable holding the token of accounts that name none.
pub const DEFAULT_TOKEN_ENV: &str = "OUTREACH_TOKEN";
/// The account used when neither the config nor the CSV names one.
pub const DEFAULT_ACCOUNT: &str = "default";

/// The campaign flags as typed on the command line, not yet validated.
/// Saved in the journal, so `resume --allow-changes` can reload the CSV the
/// same way.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CampaignFlags {
    pub csv: PathBuf,
    pub config: Option<PathBuf>,
    pub recipient_column: Option<String>,
    pub template: Option<PathBuf>,
    pub rate: Option<String>,
    pub windows: Vec<String>,
    pub timezone: Option<String>,
    pub daily_cap: Option<u32>,
    pub jitter: Option<String>,
    pub start: Option<String>,
    pub max_length: Option<usize>,
}

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
}

impl OptionsError {
    /// The flag or config key the error is about, if it names one.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            OptionsError::Config(_) => None,
            OptionsError::Rate { origin, .. }
            | OptionsError::TimeZone { origin, .. }
            | OptionsError::Window { origin, .. }
            | OptionsError::Jitter { origin, .. }
            | OptionsError::DailyCap { origin }
            | OptionsError::MaxLength { origin } => Some(origin.clone()),
            OptionsError::Start { .. }
            | OptionsError::StartSkipped { .. }
            | OptionsError::StartRepeated { .. } => Some(Origin::Flag("--start")),
            OptionsError::Duration { flag, .. } | OptionsError::OnlyWithDryRun { flag } => {
                Some(Origin::Flag(flag))
            }
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

/// Where the campaign's time zone came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSource {
    Flag,
    Config,
    /// Neither: the machine's zone (`TZ`, the system setting, else UTC).
    Local,
}

/// One sender account with its pacing and the variable holding its token.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSpec {
    pub name: String,
    pub rate: Rate,
    pub daily_cap: Option<u32>,
    pub token_env: String,
}

/// Everything a campaign needs besides its CSV rows, validated.
#[derive(Debug, Clone)]
pub struct CampaignSpec {
    pub csv: PathBuf,
    pub config: LoadedConfig,
    pub recipient_column: String,
    /// The default template file, already resolved against its base folder.
    pub template: Option<PathBuf>,
    pub rate: Rate,
    /// Accounts from the config (may be empty: the CSV or the default fills in).
    pub accounts: Vec<AccountSpec>,
    pub windows: WindowSet,
    pub timezone: Tz,
    pub timezone_source: ZoneSource,
    pub daily_cap: Option<u32>,
    /// Fraction of the interval, 0..=1.
    pub jitter: f64,
    pub start: DateTime<Utc>,
    pub max_length: Option<usize>,
    pub endpoint: Option<String>,
}

/// The machine's time zone, and the `TZ` value that was not a zone if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalZone {
    pub zone: Tz,
    /// `TZ` named no known zone, so UTC is used (as the C library does).
    pub unknown_tz: Option<String>,
}

impl LocalZone {
    /// From the value of `TZ` and the system setting (asked only when `TZ`
    /// is unset or empty).
    pub fn from_env(tz: Option<&str>, system: impl FnOnce() -> Option<String>) -> LocalZone {
        match tz.map(str::trim).filter(|value| !value.is_empty()) {
            Some(value) => {
                // `:Europe/Berlin` and `/usr/share/zoneinfo/Europe/Berlin` name a zone too.
                let name = value.trim_start_matches(':');
                let name = name.rsplit_once("zoneinfo/").map_or(name, |(_, zone)| zone);
                match name.parse() {
                    Ok(zone) => LocalZone {
                        zone,
                        unknown_tz: None,
                    },
                    Err(_) => LocalZone {
                        zone: chrono_tz::UTC,
                        unknown_tz: Some(value.to_string()),
                    },
                }
            }
            None => LocalZone {
                zone: system()
                    .and_then(|name| name.parse().ok())
                    .unwrap_or(chrono_tz::UTC),
                unknown_tz: None,
            },
        }
    }

    /// The machine's zone: `TZ` if set, else the system setting, else UTC.
    pub fn detect() -> LocalZone {
        let tz = std::env::var("TZ").ok();
        LocalZone::from_env(tz.as_deref(), || iana_time_zone::get_timezone().ok())
    }

    /// The one warning line to print when this zone is used, if any.
    pub fn warning(&self) -> Option<String> {
        self.unknown_tz.as_ref().map(|value| {
            format!(
                "warning: TZ=`{value}` is not a known time zone, so UTC is used; set TZ to an IANA \
                 name such as `Europe/Berlin`, or pass --timezone"
            )
        })
    }
}

/// The machine's time zone: `TZ` if it names a zone (UTC if it names none),
/// else the system setting, else UTC.
pub fn system_timezone() -> Tz {
    LocalZone::detect().zone
}

fn origin(flag: Option<&'static str>, key: &str, config: &LoadedConfig) -> Origin {
    match flag {
        Some(flag) => Origin::Flag(flag),
        None => Origin::Config {
            key: key.to_string(),
            path: config
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from(config::FILE_NAME)),
        },
    }
}

fn parse_timezone(input: &str, origin: Origin) -> Result<Tz, OptionsError> {
    input.trim().parse().map_err(|_| OptionsError::TimeZone {
        origin,
        input: input.to_string(),
    })
}

/// Parse one `--window` value (or `windows` entry) for `origin`.
pub fn parse_window(text: &str, origin: &Origin) -> Result<SendWindow, OptionsError> {
    text.parse().map_err(|source| OptionsError::Window {
        origin: origin.clone(),
        source,
    })
}

/// Parse a `--rate` value.
pub fn parse_rate_flag(text: &str) -> Result<Rate, OptionsError> {
    text.parse().map_err(|source| OptionsError::Rate {
        origin: Origin::Flag("--rate"),
        source,
    })
}

/// `--start`: `now`, RFC 3339, or a local time without offset read in `zone`.
fn parse_start(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<DateTime<Utc>, OptionsError> {
    if text == "now" {
        return Ok(now);
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.to_utc());
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| OptionsError::Start {
            input: text.to_string(),
        })?;
    let with_offset = |instant: DateTime<Tz>| instant.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(instant.to_utc()),
        LocalResult::Ambiguous(earlier, later) => Err(OptionsError::StartRepeated {
            input: text.to_string(),
            zone,
            earlier: with_offset(earlier),
            later: with_offset(later),
        }),
        LocalResult::None => {
            // The offset in force just before the gap, the one people forget to change.
            let before = local - TimeDelta::hours(3);
            let suggestion = match zone.from_local_datetime(&before).earliest() {
                Some(instant) => format!(
                    "{}{}",
                    local.format("%Y-%m-%dT%H:%M:%S"),
                    instant.offset().fix()
                ),
                None => format!("{}Z", local.format("%Y-%m-%dT%H:%M:%S")),
            };
            Err(OptionsError::StartSkipped {
                input: text.to_string(),
                zone,
                suggestion,
            })
        }
    }
}

/// Merge `flags` with the config found for them. `now` is the default start.
pub fn resolve(
    flags: &CampaignFlags,
    now: DateTime<Utc>,
    cwd: &Path,
    system_zone: Tz,
) -> Result<CampaignSpec, OptionsError> {
    let loaded = config::load(flags.config.as_deref(), &flags.csv, cwd)?;
    let file = &loaded.config;
    let base = loaded.base_dir();

    let rate = match (&flags.rate, &file.rate) {
        (Some(text), _) => parse_rate_flag(text)?,
        (None, Some(rate)) => *rate,
        (None, None) => Rate::DEFAULT,
    };

    let (timezone, timezone_source) = match (&flags.timezone, &file.timezone) {
        (Some(text), _) => (
            parse_timezone(text, Origin::Flag("--timezone"))?,
            ZoneSource::Flag,
        ),
        (None, Some(text)) => (
            parse_timezone(text, origin(None, "timezone", &loaded))?,
            ZoneSource::Config,
        ),
        (None, None) => (system_zone, ZoneSource::Local),
    };

    let (window_texts, window_origin) = if flags.windows.is_empty() {
        (&file.windows, origin(None, "windows", &loaded))
    } else {
        (&flags.windows, Origin::Flag("--window"))
    };
    let windows = window_texts
        .iter()
        .map(|text| parse_window(text, &window_origin))
        .collect::<Result<Vec<_>, _>>()
        .map(WindowSet::new)?;

    let daily_cap = flags.daily_cap.or(file.daily_cap);
    if daily_cap == Some(0) {
        let flag = flags.daily_cap.is_some().then_some("--daily-cap");
        return Err(OptionsError::DailyCap {
            origin: origin(flag, "daily_cap", &loaded),
        });
    }

    let jitter = match (&flags.jitter, file.jitter) {
        (Some(text), _) => {
            text.parse::<JitterPercent>()
                .map_err(|detail| OptionsError::Jitter {
                    origin: Origin::Flag("--jitter"),
                    detail,
                })?
                .0
        }
        (None, Some(JitterPercent(value))) => value,
        (None, None) => 0.0,
    } / 100.0;

    let start = match flags.start.as_deref().map(str::trim) {
        None => now,
        Some(text) => parse_start(text, now, timezone)?,
    };

    let max_length = flags.max_length.or(file.max_length);
    if max_length == Some(0) {
        let flag = flags.max_length.is_some().then_some("--max-length");
        return Err(OptionsError::MaxLength {
            origin: origin(flag, "max_length", &loaded),
        });
    }

    let template = flags
        .template
        .clone()
        .or_else(|| file.template.as_ref().map(|t| base.join(t)));

    let mut accounts = Vec::new();
    for account in &file.accounts {
        if account.daily_cap == Some(0) {
            return Err(OptionsError::DailyCap {
                origin: origin(
                    None,
                    &format!("accounts.{}.daily_cap", account.name),
                    &loaded,
                ),
            });
        }
        accounts.push(AccountSpec {
            name: account.name.clone(),
            rate: if flags.rate.is_some() {
                rate
            } else {
                account.rate.unwrap_or(rate)
            },
            daily_cap: if flags.daily_cap.is_some() {
                daily_cap
            } else {
                account.daily_cap.or(daily_cap)
            },
            token_env: account
                .token_env
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_ENV.to_string()),
        });
    }

    Ok(CampaignSpec {
        csv: flags.csv.clone(),
        recipient_column: flags
            .recipient_column
            .clone()
            .or_else(|| file.recipient_column.clone())
            .unwrap_or_else(|| crate::input::recipients::columns::RECIPIENT.to_string()),
        template,
        rate,
        accounts,
        windows,
        timezone,
        timezone_source,
        daily_cap,
        jitter,
        start,
        max_length,
        endpoint: file.endpoint.clone(),
        config: loaded,
    })
}

impl CampaignSpec {
    /// An account for a name the CSV uses but the config does not list.
    pub fn account_for(&self, name: &str) -> AccountSpec {
        AccountSpec {
            name: name.to_string(),
            rate: self.rate,
            daily_cap: self.daily_cap,
            token_env: DEFAULT_TOKEN_ENV.to_string(),
        }
    }
}
