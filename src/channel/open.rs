//! A configured channel becomes a working one.
//!
//! [`resolve`] reads an account's [`ChannelChoice`]: `api` (today's JSON API
//! at `endpoint`), `http` (a declared API: the table's `method`, `url`,
//! `headers`, `body`, `auth`, `response`, `settings` and `summary` keys are
//! the declaration, every other key a setting value), or a preset name
//! (every key a setting value, e.g. `domain` for mailgun). It runs when the
//! campaign is loaded, so `plan` and `send --dry-run` report a bad
//! `[channel]` before anything happens, and again when sending begins.
//! Errors name the config key to fix.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::choice::ChannelChoice;
use super::http::{self, HttpChannel, HttpSpec, ResolvedSpec, presets};
use super::smtp::{SmtpChannel, SmtpSettings};
use crate::send::api::{HttpApi, MessageApi};

/// The keys of a declared (`type = "http"`) channel that are its declaration.
const SPEC_KEYS: &[&str] = &[
    "summary",
    "method",
    "url",
    "headers",
    "body",
    "auth",
    "response",
    "settings",
    "idempotent",
];

/// A channel that cannot be used as configured.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "`{key}.type` in outreach.toml: unknown channel type `{kind}`; use `api`, `smtp`, `http`, or a preset: {}",
        preset_list()
    )]
    UnknownKind { key: String, kind: String },
    #[error(
        "`{key}.{setting}` in outreach.toml: the `api` channel takes no settings; its URL is `endpoint`"
    )]
    UnexpectedSetting { key: String, setting: String },
    #[error("`{key}` in outreach.toml: {detail}")]
    Declaration { key: String, detail: String },
    #[error(transparent)]
    Http(#[from] http::ChannelError),
    /// An SMTP setting, named with its key.
    #[error("{0} (in outreach.toml)")]
    Smtp(String),
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

fn preset_list() -> String {
    presets::names().collect::<Vec<_>>().join(", ")
}

/// What an account's channel is, checked.
#[derive(Debug)]
pub enum Resolved {
    /// Today's JSON API at the campaign's endpoint.
    Api,
    /// A declared HTTP API or a preset, with its settings.
    Http(Box<ResolvedSpec>),
    /// E-mail over SMTP.
    Smtp(Box<SmtpSettings>),
}

/// What the account's secret is for this channel, for "set VARIABLE (...)"
/// messages; `None` when the channel can go without one (SMTP with
/// `auth = "none"`, an HTTP API whose bearer is optional).
pub fn secret_purpose(choice: &ChannelChoice) -> Option<&'static str> {
    match choice.kind.as_str() {
        "smtp" => match choice.text("auth").as_deref() {
            Some("none") => None,
            Some("xoauth2") => Some("its SMTP XOAUTH2 access token"),
            _ => Some("its SMTP password"),
        },
        "webhook" => None,
        "http" => {
            let optional = matches!(
                choice.settings.get("auth"),
                Some(toml::Value::Table(auth)) if auth.get("optional") == Some(&toml::Value::Boolean(true))
            );
            (!optional).then_some("its API token")
        }
        _ => Some("its API token"),
    }
}

/// Channel types whose recipients are e-mail addresses (checked at load).
pub fn sends_email(kind: &str) -> bool {
    matches!(
        kind,
        "smtp" | "sendgrid" | "mailgun" | "postmark" | "resend"
    )
}

/// Read `choice` (configured at `key`, e.g. `channel` or
/// `accounts.alice.channel`); `base_url`, when given, replaces the
/// preset's (the embedded sandbox).
pub fn resolve(
    choice: &ChannelChoice,
    key: &str,
    base_url: Option<&str>,
) -> Result<Resolved, OpenError> {
    match choice.kind.as_str() {
        "api" => match choice.settings.keys().next() {
            Some(setting) => Err(OpenError::UnexpectedSetting {
                key: key.to_string(),
                setting: setting.clone(),
            }),
            None => Ok(Resolved::Api),
        },
        "smtp" => {
            // The `imap` table is the reply check's (crate::reply), checked here
            // too so a bad one is reported at load with its key.
            crate::reply::settings::from_choice(choice, key)
                .map_err(|error| OpenError::Smtp(error.to_string()))?;
            let mut smtp = choice.settings.clone();
            smtp.remove(crate::reply::settings::KEY);
            let settings: SmtpSettings =
                toml::Value::Table(smtp)
                    .try_into()
                    .map_err(|error: toml::de::Error| OpenError::Declaration {
                        key: key.to_string(),
                        detail: error.message().to_string(),
                    })?;
            settings
                .validate(key)
                .map_err(|error| OpenError::Smtp(error.to_string()))?;
            Ok(Resolved::Smtp(Box::new(settings)))
        }
        "http" => {
            let mut declaration = toml::Table::new();
            let mut values = toml::Table::new();
            for (name, value) in &choice.settings {
                let target = if SPEC_KEYS.contains(&name.as_str()) {
                    &mut declaration
                } else {
                    &mut values
                };
                target.insert(name.clone(), value.clone());
            }
            let spec: HttpSpec =
                toml::Value::Table(declaration)
                    .try_into()
                    .map_err(|error: toml::de::Error| OpenError::Declaration {
                        key: key.to_string(),
                        detail: error.message().to_string(),
                    })?;
            with_values(spec.at_key(key), &values, base_url)
        }
        name if presets::names().any(|preset| preset == name) => {
            let spec = presets::get(name)?.at_key(key);
            with_values(spec, &choice.settings, base_url)
        }
        _ => Err(OpenError::UnknownKind {
            key: key.to_string(),
            kind: choice.kind.clone(),
        }),
    }
}

/// `spec` with the account's setting values (as text) and any base URL.
fn with_values(
    spec: HttpSpec,
    values: &toml::Table,
    base_url: Option<&str>,
) -> Result<Resolved, OpenError> {
    let mut settings: BTreeMap<String, String> = values
        .iter()
        .map(|(name, value)| (name.clone(), setting_text(value)))
        .collect();
    if let Some(base_url) = base_url {
        if spec.setting_names().any(|name| name == "base_url") {
            settings.insert("base_url".to_string(), base_url.to_string());
        } else if spec.setting_names().any(|name| name == "url") {
            // The webhook preset: the sandbox answers on any path.
            settings.insert("url".to_string(), format!("{base_url}/webhook"));
        }
    }
    Ok(Resolved::Http(Box::new(spec.with_settings(&settings)?)))
}

/// A setting value as the templates see it.
fn setting_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Check `choice` at `key`; with the CSV's columns, also every `row.X` the
/// request uses and a sample request.
pub fn check(
    choice: &ChannelChoice,
    key: &str,
    row_columns: Option<&[String]>,
) -> Result<(), OpenError> {
    match (resolve(choice, key, None)?, row_columns) {
        (Resolved::Http(spec), Some(columns)) => Ok(spec.validate(columns)?),
        _ => Ok(()),
    }
}

/// The working channel for `choice`; `endpoint` is the URL the `api`
/// channel posts to (the embedded sandbox's when it runs), `base_url` the
/// embedded sandbox's origin for presets.
pub fn open(
    choice: &ChannelChoice,
    key: &str,
    endpoint: &str,
    base_url: Option<&str>,
    timeout: Duration,
) -> Result<Arc<dyn MessageApi>, OpenError> {
    let client = |error: anyhow::Error| OpenError::Client(error.to_string());
    Ok(match resolve(choice, key, base_url)? {
        Resolved::Api => Arc::new(HttpApi::new(endpoint, timeout).map_err(client)?),
        Resolved::Http(spec) => Arc::new(HttpChannel::new(*spec, timeout).map_err(client)?),
        Resolved::Smtp(settings) => Arc::new(
            SmtpChannel::with_config_key(&settings, key, timeout)
                .map_err(|error| OpenError::Smtp(error.to_string()))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(text: &str) -> ChannelChoice {
        ChannelChoice::from_table(Some(&text.parse().unwrap())).unwrap()
    }

    #[test]
    fn an_unknown_type_lists_the_known_ones() {
        let error = check(&choice("type = \"pigeon\""), "channel", None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`pigeon`"), "{error}");
        assert!(
            error.contains("slack") && error.contains("mailgun"),
            "{error}"
        );
    }

    #[test]
    fn the_api_channel_has_no_settings_of_its_own() {
        let error = check(&choice("url = \"https://x.test\""), "channel", None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`channel.url`") && error.contains("endpoint"),
            "{error}"
        );
    }

    #[test]
    fn a_preset_takes_its_settings_from_the_table_and_names_missing_ones() {
        let error = check(
            &choice("type = \"mailgun\""),
            "accounts.alice.channel",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("`accounts.alice.channel.domain`"), "{error}");
        let ok =
            choice("type = \"mailgun\"\ndomain = \"mg.acme.test\"\nfrom = \"Ann <ann@acme.test>\"");
        assert!(check(&ok, "channel", None).is_ok());
    }

    #[test]
    fn a_declared_api_splits_its_declaration_from_its_values() {
        let declared = choice(
            r#"type = "http"
url = "https://api.acme.test/send/{{ settings.list }}"
auth = { kind = "bearer" }
body.json = '{"to": {{ recipient }}, "text": {{ body }}, "city": {{ row.city }}}'
settings.required = { list = { means = "the list to post to", example = "news" } }
list = "q4"
"#,
        );
        let columns = vec!["city".to_string()];
        check(&declared, "channel", Some(&columns)).unwrap();
        let error = check(&declared, "channel", Some(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("city"), "{error}");
    }
}
