//! Which channel an account sends through, as written in outreach.toml.
//!
//! `[channel]` sets the campaign's default and `[accounts.channel]` (or
//! `channel = { ... }` in an `[[accounts]]` entry) overrides it per account:
//! with the same `type` (or none), the account's keys replace the default's
//! one by one, so five Gmail accounts share `host` and `port` and differ in
//! `username` and `from`. The table is kept as written, saved with the account
//! in the journal, and turned into a working channel at the edge; secrets are
//! never in it, only the names of the variables that hold them.

use serde::{Deserialize, Serialize};

/// A table inside the channel table that an account's own table merges
/// into key by key (the SMTP channel's `imap`), rather than replaces.
const MERGED_TABLE: &str = "imap";

/// The channel used when the config names none: today's JSON API.
pub const DEFAULT_KIND: &str = "api";

/// An account's channel as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelChoice {
    /// `api` (the JSON API at `endpoint`), `smtp`, `http` (declared), or a
    /// preset name such as `slack`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Every other key of the table, as written.
    #[serde(flatten)]
    pub settings: toml::Table,
}

impl Default for ChannelChoice {
    fn default() -> ChannelChoice {
        ChannelChoice {
            kind: DEFAULT_KIND.to_string(),
            settings: toml::Table::new(),
        }
    }
}

/// A `[channel]` table that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("`type` must be a string such as \"smtp\", \"slack\" or \"http\"")]
    KindNotText,
}

impl ChannelChoice {
    /// Whether this is the default channel with nothing set (saved journals
    /// then keep the shape they had before channels existed).
    pub fn is_default(&self) -> bool {
        self.kind == DEFAULT_KIND && self.settings.is_empty()
    }

    /// The campaign's `[channel]` table; `None` gives the default.
    pub fn from_table(table: Option<&toml::Table>) -> Result<ChannelChoice, ChoiceError> {
        let Some(table) = table else {
            return Ok(ChannelChoice::default());
        };
        let mut settings = table.clone();
        let kind = match settings.remove("type") {
            None => DEFAULT_KIND.to_string(),
            Some(toml::Value::String(kind)) => kind.trim().to_ascii_lowercase(),
            Some(_) => return Err(ChoiceError::KindNotText),
        };
        Ok(ChannelChoice { kind, settings })
    }

    /// An account's own table over this (the campaign's) choice: the same
    /// type, or none, inherits every key it does not set; another type starts
    /// from nothing.
    pub fn with_account_table(
        &self,
        table: Option<&toml::Table>,
    ) -> Result<ChannelChoice, ChoiceError> {
        let Some(table) = table else {
            return Ok(self.clone());
        };
        let own = ChannelChoice::from_table(Some(table))?;
        let same_kind = !table.contains_key("type") || own.kind == self.kind;
        if !same_kind {
            return Ok(own);
        }
        let mut merged = self.clone();
        for (key, value) in own.settings {
            // The SMTP `imap` table merges one level down, key by key, so
            // accounts share its host and differ in `username`.
            if let (Some(toml::Value::Table(base)), toml::Value::Table(over)) =
                (merged.settings.get_mut(MERGED_TABLE), &value)
                && key == MERGED_TABLE
            {
                for (inner, inner_value) in over {
                    base.insert(inner.clone(), inner_value.clone());
                }
                continue;
            }
            merged.settings.insert(key, value);
        }
        Ok(merged)
    }

    /// A short description for the plan: the type and where it goes
    /// (`smtp (smtp.gmail.com:587)`, `slack`, `api`).
    pub fn describe(&self) -> String {
        let host = self.text("host").map(|host| match self.text("port") {
            Some(port) => format!("{host}:{port}"),
            None => host,
        });
        match host
            .or_else(|| self.text("base_url"))
            .or_else(|| self.text("url"))
        {
            Some(place) => format!("{} ({place})", self.kind),
            None => self.kind.clone(),
        }
    }

    /// Paths in the table (an SMTP `root_certificate`) made absolute against
    /// `base`, the config file's folder, as every path in outreach.toml is,
    /// so a resume from another folder finds the same file.
    pub fn with_paths_from(mut self, base: &std::path::Path) -> ChannelChoice {
        if let Some(toml::Value::String(path)) = self.settings.get_mut("root_certificate")
            && std::path::Path::new(path.as_str()).is_relative()
        {
            *path = base.join(path.as_str()).display().to_string();
        }
        crate::reply::settings::with_paths_from(&mut self.settings, base);
        self
    }

    /// A setting written as text (numbers and booleans as written).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.settings.get(key)? {
            toml::Value::String(text) => Some(text.clone()),
            toml::Value::Integer(n) => Some(n.to_string()),
            toml::Value::Float(x) => Some(x.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn no_table_is_todays_api() {
        let choice = ChannelChoice::from_table(None).unwrap();
        assert!(choice.is_default());
        assert_eq!(choice.kind, "api");
    }

    #[test]
    fn an_account_overrides_keys_of_the_same_type_one_by_one() {
        let campaign = ChannelChoice::from_table(Some(&table(
            "type = \"smtp\"\nhost = \"smtp.gmail.com\"\nport = 587\nfrom = \"Team <team@acme.test>\"",
        )))
        .unwrap();
        let alice = campaign
            .with_account_table(Some(&table(
                "from = \"Alice <alice@acme.test>\"\nusername = \"alice@acme.test\"",
            )))
            .unwrap();
        assert_eq!(alice.kind, "smtp");
        assert_eq!(alice.text("host").as_deref(), Some("smtp.gmail.com"));
        assert_eq!(alice.text("port").as_deref(), Some("587"));
        assert_eq!(
            alice.text("from").as_deref(),
            Some("Alice <alice@acme.test>")
        );
        assert_eq!(alice.text("username").as_deref(), Some("alice@acme.test"));
    }

    #[test]
    fn an_accounts_imap_table_merges_key_by_key() {
        let campaign = ChannelChoice::from_table(Some(&table(
            "type = \"smtp\"\nimap = { host = \"imap.gmail.com\", poll_interval = \"2m\" }",
        )))
        .unwrap();
        let alice = campaign
            .with_account_table(Some(&table("imap = { username = \"alice@acme.test\" }")))
            .unwrap();
        let imap = alice.settings["imap"].as_table().unwrap();
        assert_eq!(imap["host"].as_str(), Some("imap.gmail.com"));
        assert_eq!(imap["poll_interval"].as_str(), Some("2m"));
        assert_eq!(imap["username"].as_str(), Some("alice@acme.test"));
        let bob = campaign
            .with_account_table(Some(&table("from = \"b@acme.test\"")))
            .unwrap();
        assert_eq!(bob.settings["imap"], campaign.settings["imap"]);
    }

    #[test]
    fn another_type_starts_from_nothing() {
        let campaign =
            ChannelChoice::from_table(Some(&table("type = \"smtp\"\nhost = \"smtp.gmail.com\"")))
                .unwrap();
        let bob = campaign
            .with_account_table(Some(&table("type = \"Slack\"")))
            .unwrap();
        assert_eq!(bob.kind, "slack");
        assert!(bob.settings.is_empty());
    }

    #[test]
    fn the_saved_form_round_trips_and_the_default_is_left_out() {
        let choice = ChannelChoice::from_table(Some(&table(
            "type = \"mailgun\"\ndomain = \"mg.acme.test\"\nregion = \"eu\"",
        )))
        .unwrap();
        let json = serde_json::to_string(&choice).unwrap();
        assert_eq!(
            json,
            r#"{"type":"mailgun","domain":"mg.acme.test","region":"eu"}"#
        );
        assert_eq!(
            serde_json::from_str::<ChannelChoice>(&json).unwrap(),
            choice
        );
    }

    #[test]
    fn the_plan_names_the_type_and_where_it_goes() {
        let smtp = ChannelChoice::from_table(Some(&table(
            "type = \"smtp\"\nhost = \"smtp.gmail.com\"\nport = 587",
        )))
        .unwrap();
        assert_eq!(smtp.describe(), "smtp (smtp.gmail.com:587)");
        let slack = ChannelChoice::from_table(Some(&table("type = \"slack\""))).unwrap();
        assert_eq!(slack.describe(), "slack");
    }

    #[test]
    fn a_relative_certificate_is_read_from_the_config_folder() {
        let choice = ChannelChoice::from_table(Some(&table(
            "type = \"smtp\"\nroot_certificate = \"certs/ca.pem\"",
        )))
        .unwrap()
        .with_paths_from(std::path::Path::new("/etc/outreach"));
        assert_eq!(
            choice.text("root_certificate").as_deref(),
            Some("/etc/outreach/certs/ca.pem")
        );
        let absolute = ChannelChoice::from_table(Some(&table(
            "type = \"smtp\"\nroot_certificate = \"/srv/ca.pem\"",
        )))
        .unwrap()
        .with_paths_from(std::path::Path::new("/etc/outreach"));
        assert_eq!(
            absolute.text("root_certificate").as_deref(),
            Some("/srv/ca.pem")
        );
    }

    #[test]
    fn a_type_that_is_not_text_is_refused() {
        assert_eq!(
            ChannelChoice::from_table(Some(&table("type = 3"))).unwrap_err(),
            ChoiceError::KindNotText
        );
    }
}
