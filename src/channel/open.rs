//! A configured channel becomes a working one.
//!
//! [`check`] runs when the campaign is loaded (so `plan` and `send --dry-run`
//! report a bad `[channel]` before anything happens); [`open`] runs when
//! sending begins. Both name the config key to fix.

use std::sync::Arc;
use std::time::Duration;

use super::choice::ChannelChoice;
use crate::send::api::{HttpApi, MessageApi};

/// Channel types this build can send through.
pub const KINDS: &[&str] = &["api"];

/// A channel that cannot be used as configured.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(
        "unknown channel type `{kind}`; use one of: {}",
        KINDS.join(", ")
    )]
    UnknownKind { kind: String },
    #[error("the `api` channel takes no settings (found `{key}`); its URL is `endpoint`")]
    UnexpectedSetting { key: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Whether `choice` can be opened, without opening anything.
pub fn check(choice: &ChannelChoice) -> Result<(), ChannelError> {
    match choice.kind.as_str() {
        "api" => match choice.settings.keys().next() {
            Some(key) => Err(ChannelError::UnexpectedSetting { key: key.clone() }),
            None => Ok(()),
        },
        _ => Err(ChannelError::UnknownKind {
            kind: choice.kind.clone(),
        }),
    }
}

/// The working channel for `choice`; `endpoint` is the URL the `api`
/// channel posts to (the embedded sandbox's when it runs).
pub fn open(
    choice: &ChannelChoice,
    endpoint: &str,
    timeout: Duration,
) -> Result<Arc<dyn MessageApi>, ChannelError> {
    check(choice)?;
    let api = HttpApi::new(endpoint, timeout).map_err(|e| ChannelError::Client(e.to_string()))?;
    Ok(Arc::new(api))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_type_lists_the_known_ones() {
        let choice = ChannelChoice {
            kind: "pigeon".into(),
            ..ChannelChoice::default()
        };
        let error = check(&choice).unwrap_err().to_string();
        assert!(error.contains("`pigeon`"), "{error}");
        assert!(error.contains("api"), "{error}");
    }

    #[test]
    fn the_api_channel_has_no_settings_of_its_own() {
        let mut choice = ChannelChoice::default();
        choice
            .settings
            .insert("url".into(), toml::Value::String("https://x.test".into()));
        let error = check(&choice).unwrap_err().to_string();
        assert!(
            error.contains("`url`") && error.contains("endpoint"),
            "{error}"
        );
    }
}
