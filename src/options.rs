//! Campaign options: flags and `outreach.toml` merged into one typed,
//! validated value.
//!
//! The CLI only collects raw strings ([`CampaignFlags`]); everything that can
//! be wrong is checked here, where each error can name the flag or config key
//! that fixes it. Flags win over the config file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{self, JitterPercent, LoadedConfig};
use crate::rate::Rate;
use crate::window::{SendWindow, SkipDates, WindowSet};

mod delivery;
mod error;
mod zone;

pub use delivery::{
    DEFAULT_TIMEOUT, DeliveryFlags, DeliveryOptions, ProgressMode, ResumeFlags, ResumeOverrides,
    RetryOverrides, duration_flag,
};

pub use error::{OptionsError, Origin};
use zone::parse_start;
pub use zone::{LocalZone, system_timezone};

use crate::account::Account;
pub use crate::account::DEFAULT_TOKEN_ENV;
use crate::channel::choice::{ChannelChoice, ChoiceError};
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
    /// The CSV's field separator as given (`;`, `tab`, ...); `None`: detected.
    pub delimiter: Option<String>,
}

/// Where the campaign's time zone came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSource {
    Flag,
    Config,
    /// Neither: the machine's zone (`TZ`, the system setting, else UTC).
    Local,
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
    pub accounts: Vec<Account>,
    pub windows: WindowSet,
    pub timezone: Tz,
    pub timezone_source: ZoneSource,
    pub daily_cap: Option<u32>,
    /// Fraction of the interval, 0..=1.
    pub jitter: f64,
    pub start: DateTime<Utc>,
    pub max_length: Option<usize>,
    /// The CSV's field separator; `None`: detected from its first line.
    pub delimiter: Option<u8>,
    pub endpoint: Option<String>,
    /// The campaign's channel; accounts the config does not list use it.
    pub channel: ChannelChoice,
    /// Do-not-contact lists, absolute.
    pub suppress: Vec<PathBuf>,
    /// The campaign's warm-up; accounts the config does not list use it.
    pub warmup: Option<crate::plan::warmup::Warmup>,
    /// `[[steps]]`: empty for one message per recipient.
    pub steps: Vec<crate::sequence::Step>,
    /// `per_domain_daily_cap`: messages a day to one e-mail domain.
    pub per_domain_daily_cap: Option<u32>,
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
        .map(WindowSet::new)?
        .with_skip_dates(SkipDates::parse(&file.skip_dates).map_err(|source| {
            OptionsError::SkipDates {
                origin: origin(None, "skip_dates", &loaded),
                source,
            }
        })?);

    if file.per_domain_daily_cap == Some(0) {
        return Err(OptionsError::DailyCap {
            origin: origin(None, "per_domain_daily_cap", &loaded),
        });
    }
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
    let steps_origin = || origin(None, "steps", &loaded);
    let steps =
        crate::sequence::resolve(&file.steps, &base).map_err(|source| OptionsError::Steps {
            origin: steps_origin(),
            source,
        })?;
    if file.template.is_some() && steps.first().is_some_and(|step| step.template.is_some()) {
        return Err(OptionsError::Steps {
            origin: steps_origin(),
            source: crate::sequence::StepError {
                key: "steps[1].template".into(),
                detail: "the first step's template is also given as `template`; keep one".into(),
            },
        });
    }
    // The first step's template is the campaign's default (a flag still wins).
    let template = template.or_else(|| steps.first().and_then(|step| step.template.clone()));

    let channel_error = |key: &str, detail: String| OptionsError::Channel {
        origin: origin(None, key, &loaded),
        detail,
    };
    let choice_error = |key: &str, error: ChoiceError| {
        let at = origin(None, &format!("{key}.type"), &loaded);
        channel_error(key, format!("{at}: {error}"))
    };
    let channel = ChannelChoice::from_table(file.channel.as_ref())
        .map_err(|error| choice_error("channel", error))?
        .with_paths_from(&std::path::absolute(&base).unwrap_or_else(|_| base.clone()));
    // Checked as it stands only when some account uses it as it stands:
    // `[channel]` may hold just what several accounts share (host, port),
    // each `[accounts.channel]` the rest (username, from).
    let every_account_overrides =
        !file.accounts.is_empty() && file.accounts.iter().all(|a| a.channel.is_some());
    if file.channel.is_some() && !every_account_overrides {
        crate::channel::open::check(&channel, "channel", None)
            .map_err(|error| channel_error("channel", error.to_string()))?;
    }
    let absolute_base = std::path::absolute(&base).unwrap_or_else(|_| base.clone());
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
        let account_cap = if flags.daily_cap.is_some() {
            daily_cap
        } else {
            account.daily_cap.or(daily_cap)
        };
        let warmup = match (&account.warmup, &file.warmup) {
            (Some(own), _) => Some((own, format!("accounts.{}.warmup", account.name))),
            (None, Some(campaign)) => Some((campaign, "warmup".to_string())),
            (None, None) => None,
        };
        let warmup = warmup
            .map(|(config, key)| {
                config
                    .resolve(account_cap)
                    .map_err(|source| OptionsError::Warmup {
                        origin: origin(None, &key, &loaded),
                        source,
                    })
            })
            .transpose()?;
        accounts.push(Account {
            name: account.name.clone(),
            rate: if flags.rate.is_some() {
                rate
            } else {
                account.rate.unwrap_or(rate)
            },
            daily_cap: account_cap,
            warmup,
            token_env: account
                .token_env
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_ENV.to_string()),
            channel: account_channel(
                &channel,
                account,
                &channel_error,
                &choice_error,
                &absolute_base,
            )?,
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
        delimiter: flags
            .delimiter
            .as_deref()
            .map(crate::input::sniff::parse_delimiter)
            .transpose()
            .map_err(|detail| OptionsError::Delimiter { detail })?,
        endpoint: file.endpoint.clone(),
        suppress: file
            .suppress
            .iter()
            .map(|list| absolute_base.join(list))
            .collect(),
        // For accounts only the CSV names; with listed accounts and no
        // campaign-wide cap, each listed account's own cap was checked above.
        warmup: match &file.warmup {
            Some(config) if daily_cap.is_some() || file.accounts.is_empty() => Some(
                config
                    .resolve(daily_cap)
                    .map_err(|source| OptionsError::Warmup {
                        origin: origin(None, "warmup", &loaded),
                        source,
                    })?,
            ),
            Some(config) => config.resolve(daily_cap).ok(),
            None => None,
        },
        channel,
        steps,
        per_domain_daily_cap: file.per_domain_daily_cap,
        config: loaded,
    })
}

/// An account's channel: its own table over the campaign's, checked.
fn account_channel(
    campaign: &ChannelChoice,
    account: &config::AccountConfig,
    error: &dyn Fn(&str, String) -> OptionsError,
    choice_error: &dyn Fn(&str, ChoiceError) -> OptionsError,
    base: &Path,
) -> Result<ChannelChoice, OptionsError> {
    let key = format!("accounts.{}.channel", account.name);
    let choice = campaign
        .with_account_table(account.channel.as_ref())
        .map_err(|e| choice_error(&key, e))?
        .with_paths_from(base);
    if account.channel.is_some() || !choice.is_default() {
        crate::channel::open::check(&choice, &key, None).map_err(|e| error(&key, e.to_string()))?;
    }
    Ok(choice)
}

impl CampaignSpec {
    /// An account for a name the CSV uses but the config does not list.
    pub fn account_for(&self, name: &str) -> Account {
        Account {
            name: name.to_string(),
            rate: self.rate,
            daily_cap: self.daily_cap,
            token_env: DEFAULT_TOKEN_ENV.to_string(),
            warmup: self.warmup,
            channel: self.channel.clone(),
        }
    }
}
