//! One sender account: its name, pacing, channel and where its token comes from.
//!
//! The config, the planner, the executor and the journal all use this one
//! type, so an account's rate, daily cap and token variable travel together
//! by name and are never paired by position in two lists. The token itself
//! is resolved at the edge (`send::api::AccountChannel`, with the account's
//! channel) and never stored.

use serde::{Deserialize, Serialize};

use crate::channel::choice::ChannelChoice;
use crate::plan::warmup::Warmup;
use crate::rate::Rate;

/// The environment variable holding the token of accounts that name none.
pub const DEFAULT_TOKEN_ENV: &str = "OUTREACH_TOKEN";

/// A sender account. Saved as is in the journal (`resume` runs from it), so
/// its field names are part of the journal format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    /// At most this many sends per period, evenly spaced.
    pub rate: Rate,
    pub daily_cap: Option<u32>,
    /// The environment variable holding its token (the name, never the value).
    pub token_env: String,
    /// A daily cap that grows from a small start (see `plan::warmup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Warmup>,
    /// How its messages go out; today's JSON API unless the config says.
    #[serde(default, skip_serializing_if = "ChannelChoice::is_default")]
    pub channel: ChannelChoice,
}

impl Account {
    /// An account with no daily cap whose token is in [`DEFAULT_TOKEN_ENV`].
    pub fn new(name: &str, rate: Rate) -> Account {
        Account {
            name: name.to_string(),
            rate,
            daily_cap: None,
            token_env: DEFAULT_TOKEN_ENV.to_string(),
            warmup: None,
            channel: ChannelChoice::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Journals written before the one account type saved accounts in this
    /// shape; `resume` must still read them.
    #[test]
    fn reads_accounts_saved_by_earlier_builds() {
        let saved = r#"{"name":"alice","rate":"20/h","daily_cap":100,"token_env":"ALICE_TOKEN"}"#;
        let account: Account = serde_json::from_str(saved).unwrap();
        assert_eq!(
            account,
            Account {
                daily_cap: Some(100),
                token_env: "ALICE_TOKEN".into(),
                ..Account::new("alice", "20/h".parse().unwrap())
            }
        );
        assert_eq!(serde_json::to_string(&account).unwrap(), saved);
    }
}
