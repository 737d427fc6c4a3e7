//! `outreach.toml`: the campaign's settings, so a long command line need not be
//! retyped for every `plan`, `send` and `resume`.
//!
//! The file is found beside the CSV, then in the current directory, or given
//! with `--config`. Unknown keys are errors (serde's `deny_unknown_fields`), so
//! a typo such as `rat = "20/h"` is caught instead of silently ignored. Flags
//! given on the command line override the file (see `options.rs`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rate::Rate;

/// The file name looked up beside the CSV and in the current directory.
pub const FILE_NAME: &str = "outreach.toml";

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is invalid: {detail}")]
    Invalid { path: PathBuf, detail: String },
}

/// A jitter given as `30`, `"30"` or `"30%"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterPercent(pub f64);

impl std::str::FromStr for JitterPercent {
    type Err = String;

    fn from_str(text: &str) -> Result<JitterPercent, String> {
        let number = text.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(value) if (0.0..=100.0).contains(&value) => Ok(JitterPercent(value)),
            _ => Err(format!(
                "invalid jitter `{text}`: expected a percentage of the send interval from 0 to 100, such as `30` or `30%`"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for JitterPercent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(value) => value.to_string().parse(),
            Raw::Text(text) => text.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// A duration written like `2s`, `10m` or `1h 30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub std::time::Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|error| {
                serde::de::Error::custom(format!(
                    "invalid duration `{text}`: {error} (examples: `2s`, `10m`, `1h 30m`)"
                ))
            })
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => vec![text],
        OneOrMany::Many(list) => list,
    })
}

/// One sender account.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub name: String,
    /// This account's own rate; the campaign rate otherwise.
    pub rate: Option<Rate>,
    /// The environment variable holding this account's token.
    pub token_env: Option<String>,
    /// A daily cap for this account only.
    pub daily_cap: Option<u32>,
    /// This account's channel, over the campaign's `[channel]`.
    pub channel: Option<toml::Table>,
    /// This account's warm-up, over the campaign's.
    pub warmup: Option<crate::plan::warmup::WarmupConfig>,
}

/// Retry settings for failed requests.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    pub base: Option<HumanDuration>,
    pub cap: Option<HumanDuration>,
    pub attempts: Option<u32>,
    pub timeout: Option<HumanDuration>,
}

/// The whole `outreach.toml`. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sandbox`, or the URL of `POST /v2/messages`.
    pub endpoint: Option<String>,
    /// The campaign's channel (docs/channels.md); today's JSON API if absent.
    pub channel: Option<toml::Table>,
    /// Every account's warm-up unless it has its own.
    pub warmup: Option<crate::plan::warmup::WarmupConfig>,
    pub rate: Option<Rate>,
    /// The default template file.
    pub template: Option<String>,
    /// Named templates for the CSV's `template` column.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Send windows such as `mon-fri 09:00-17:00` (one string or a list).
    #[serde(default, alias = "window", deserialize_with = "one_or_many")]
    pub windows: Vec<String>,
    /// Do-not-contact lists (paths relative to this file).
    #[serde(default, deserialize_with = "one_or_many")]
    pub suppress: Vec<String>,
    /// Holidays and blackout dates: `2026-12-24` or `2026-12-25..2027-01-01`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub skip_dates: Vec<String>,
    pub timezone: Option<String>,
    pub daily_cap: Option<u32>,
    /// At most this many messages a day to one e-mail domain, all accounts together.
    pub per_domain_daily_cap: Option<u32>,
    pub jitter: Option<JitterPercent>,
    pub max_length: Option<usize>,
    pub recipient_column: Option<String>,
    #[serde(default)]
    pub retry: RetryConfig,
    /// A sequence: the first message, then follow-ups (`[[steps]]`).
    #[serde(default)]
    pub steps: Vec<crate::sequence::StepConfig>,
}

/// A config and the folder its relative paths start from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedConfig {
    pub path: Option<PathBuf>,
    pub config: Config,
}

impl LoadedConfig {
    /// The folder that relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// Parse config text; `path` is used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let invalid = |detail: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        detail,
    };
    let config: Config =
        toml::from_str(text).map_err(|error| invalid(error.to_string().trim_end().to_string()))?;
    // Two accounts of one name would share its CSV rows and token by accident.
    let mut seen = std::collections::BTreeSet::new();
    for account in &config.accounts {
        if !seen.insert(account.name.as_str()) {
            return Err(invalid(format!(
                "two `[[accounts]]` are named `{}`; give each account its own name",
                account.name
            )));
        }
    }
    Ok(config)
}

/// Load the config: `explicit` if given (it must exist), else `outreach.toml`
/// beside the CSV, else in `cwd`, else none.
pub fn load(explicit: Option<&Path>, csv: &Path, cwd: &Path) -> Result<LoadedConfig, ConfigError> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let beside = csv.parent().unwrap_or(Path::new("")).join(FILE_NAME);
            let here = cwd.join(FILE_NAME);
            [beside, here]
                .into_iter()
                .find(|candidate| candidate.is_file())
        }
    };
    let Some(path) = path else {
        return Ok(LoadedConfig::default());
    };
    let text = fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let config = parse(&path, &text)?;
    Ok(LoadedConfig {
        path: Some(path),
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let text = r#"
            endpoint = "sandbox"
            rate = "30/h"
            template = "templates/intro.txt"
            windows = ["mon-fri 09:00-17:00"]
            timezone = "Europe/Berlin"
            daily_cap = 100
            jitter = "25%"
            max_length = 300
            [templates]
            followup = "templates/followup.txt"
            [[accounts]]
            name = "alice"
            rate = "20/h"
            token_env = "ALICE_TOKEN"
            [retry]
            base = "2s"
            cap = "10m"
            attempts = 6
        "#;
        let config = parse(Path::new("outreach.toml"), text).unwrap();
        assert_eq!(config.rate, Some("30/h".parse().unwrap()));
        assert_eq!(config.jitter, Some(JitterPercent(25.0)));
        assert_eq!(config.accounts[0].token_env.as_deref(), Some("ALICE_TOKEN"));
        assert_eq!(config.templates["followup"], "templates/followup.txt");
        assert_eq!(
            config.retry.cap,
            Some(HumanDuration(std::time::Duration::from_secs(600)))
        );
    }

    #[test]
    fn a_window_may_be_one_string() {
        let config = parse(Path::new("o.toml"), "window = \"mon-fri 09:00-17:00\"\n").unwrap();
        assert_eq!(config.windows, ["mon-fri 09:00-17:00"]);
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse(Path::new("c/outreach.toml"), "rat = \"20/h\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("c/outreach.toml"), "{error}");
        assert!(error.contains("unknown field `rat`"), "{error}");
        let error = parse(
            Path::new("o.toml"),
            "[[accounts]]\nname = \"a\"\ntoken = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown field `token`"), "{error}");
    }

    /// Issue 10, item 9: a second `[[accounts]]` of the same name was accepted.
    #[test]
    fn duplicate_account_names_are_named() {
        let text = "[[accounts]]\nname = \"alice\"\n[[accounts]]\nname = \"bob\"\n\
                    [[accounts]]\nname = \"alice\"\nrate = \"5/h\"\n";
        let error = parse(Path::new("c/outreach.toml"), text)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config c/outreach.toml is invalid: two `[[accounts]]` are named `alice`; \
             give each account its own name"
        );
    }

    #[test]
    fn bad_values_explain_the_accepted_forms() {
        let error = parse(Path::new("o.toml"), "rate = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected N/PERIOD"), "{error}");
        let error = parse(Path::new("o.toml"), "jitter = 150\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("from 0 to 100"), "{error}");
        assert_eq!(
            parse(Path::new("o.toml"), "jitter = 30\n").unwrap().jitter,
            Some(JitterPercent(30.0))
        );
    }
}
