//! The provider presets: each an [`HttpSpec`] written in TOML
//! (`presets/NAME.toml`, embedded in the binary), in exactly the form a
//! user writes in outreach.toml, so `source(name)` can be copied there and
//! adapted. Each file's opening comment names the provider documentation it
//! was checked against and what was verified.
//!
//! Discord is two presets, `discord-webhook` and `discord-bot`: they differ
//! in URL, in auth (the token in the path, or a `Bot` header) and in what
//! the recipient is, and one declaration with a mode setting would need a
//! code path a user's spec cannot have.

use super::error::ChannelError;
use super::spec::{HttpSpec, SpecOrigin};

/// A preset: its name and its TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub source: &'static str,
}

macro_rules! preset {
    ($name:literal) => {
        Preset {
            name: $name,
            source: include_str!(concat!("presets/", $name, ".toml")),
        }
    };
}

/// Every preset, by name.
pub const PRESETS: [Preset; 11] = [
    preset!("linkedin"),
    preset!("sendgrid"),
    preset!("mailgun"),
    preset!("postmark"),
    preset!("resend"),
    preset!("twilio"),
    preset!("slack"),
    preset!("discord-webhook"),
    preset!("discord-bot"),
    preset!("telegram"),
    preset!("webhook"),
];

/// The presets' names, in the order they are listed.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|preset| preset.name)
}

/// The TOML of the preset `name`, to copy into outreach.toml.
pub fn source(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|preset| preset.name == name)
        .map(|preset| preset.source)
}

/// The preset `name` as a spec whose settings errors name keys under
/// `channel` (see [`HttpSpec::at_key`] for another place).
pub fn get(name: &str) -> Result<HttpSpec, ChannelError> {
    let preset = PRESETS
        .iter()
        .find(|preset| preset.name == name)
        .ok_or_else(|| ChannelError::UnknownPreset {
            name: name.to_string(),
            known: names().collect::<Vec<_>>().join(", "),
        })?;
    preset.spec()
}

impl Preset {
    /// This preset as a spec.
    pub fn spec(&self) -> Result<HttpSpec, ChannelError> {
        // A preset that does not parse is a bug caught by the tests below;
        // it is still reported, not a panic.
        let spec = HttpSpec::from_toml(self.source).map_err(|error| ChannelError::Config {
            location: format!("the built-in `{}` preset", self.name),
            problem: error.message().to_string(),
        })?;
        Ok(HttpSpec {
            origin: SpecOrigin::Preset {
                name: self.name.to_string(),
                key: "channel".to_string(),
            },
            ..spec
        })
    }
}

#[cfg(test)]
#[path = "presets/request_tests.rs"]
mod request_tests;

#[cfg(test)]
#[path = "presets/response_tests.rs"]
mod response_tests;

#[cfg(test)]
#[path = "presets/chat_response_tests.rs"]
mod chat_response_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_validates() {
        let columns = vec!["company".to_string()];
        for preset in PRESETS {
            let spec = preset.spec().unwrap_or_else(|error| panic!("{error}"));
            assert!(!spec.summary.is_empty(), "{}", preset.name);
            assert_eq!(spec.preset_name(), Some(preset.name));
            spec.validate(&columns)
                .unwrap_or_else(|error| panic!("{}: {error}", preset.name));
            // Each names the documentation it was checked against.
            assert!(
                preset
                    .source
                    .starts_with(&format!("# Preset `{}`", preset.name)),
                "{}",
                preset.name
            );
            assert!(
                preset.source.contains("Checked against") || preset.name == "webhook",
                "{}",
                preset.name
            );
        }
    }

    #[test]
    fn presets_are_found_by_name() {
        assert_eq!(names().count(), 11);
        assert!(source("slack").unwrap().contains("chat.postMessage"));
        assert_eq!(source("smtp"), None);
        assert_eq!(
            get("discord").unwrap_err().to_string(),
            "no channel preset is named `discord`; the presets are linkedin, sendgrid, mailgun, postmark, resend, twilio, slack, discord-webhook, discord-bot, telegram, webhook"
        );
    }

    #[test]
    fn settings_errors_name_the_users_key() {
        let spec = get("mailgun").unwrap().at_key("accounts[0].channel");
        assert_eq!(
            spec.with_settings(&Default::default())
                .unwrap_err()
                .to_string(),
            "`accounts[0].channel.domain` in outreach.toml: the mailgun preset needs the sending domain; write domain = \"mg.example.com\""
        );
        let twilio = get("twilio").unwrap();
        let settings = [("account_sid".to_string(), "AC1".to_string())].into();
        assert_eq!(
            twilio.with_settings(&settings).unwrap_err().to_string(),
            "`channel.from` in outreach.toml: the twilio preset needs one of the settings `from`, `messaging_service_sid`"
        );
    }

    #[test]
    fn a_preset_copied_into_outreach_toml_reads_the_same() {
        // What a user gets by pasting a preset under [channel]: the same spec.
        for preset in PRESETS {
            let copied = HttpSpec::from_toml(preset.source).unwrap();
            let original = preset.spec().unwrap();
            assert_eq!(copied.url, original.url, "{}", preset.name);
            assert_eq!(copied.auth, original.auth, "{}", preset.name);
            assert_eq!(copied.origin, SpecOrigin::default());
        }
    }
}
