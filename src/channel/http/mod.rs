//! Any HTTP API, declared rather than coded, and the provider presets
//! declared the same way.
//!
//! A user describes an API in outreach.toml as an [`HttpSpec`]: method;
//! URL, headers and body as templates over the message, the row and the
//! account's settings; where the secret goes; what responses mean. A preset
//! ([`presets`]) is the same declaration shipped with the tool (Slack,
//! SendGrid, Telegram, ...), so any preset can be copied into outreach.toml
//! and adapted: there is no code path a preset has and a user's spec lacks.
//!
//! Architecture, in the order a message goes through it:
//! - `spec.rs`: [`HttpSpec`], the declared form (serde, from TOML).
//! - `compile.rs`: [`HttpSpec::with_settings`] checks and merges the
//!   account's settings (`settings.rs`) and reads everything into a
//!   [`ResolvedSpec`];
//!   `validate.rs` checks it against the CSV's columns with sample values.
//!   `templates.rs` (variables, JSON escaping) and `rules.rs` (the response
//!   rules read) serve both; `fixed.rs` renders once what every request of
//!   the account shares (a URL or header over the settings alone), and
//!   `plain.rs` a JSON body written without minijinja when it can be.
//! - `request.rs`: [`prepare`] renders one message into a
//!   [`PreparedRequest`], which prints itself with the secret redacted.
//! - `response.rs`: [`classify`] decides what an answer means (pure, `now`
//!   passed in); `wait.rs` reads the wait it announces.
//! - `channel.rs`: [`HttpChannel`] sends with reqwest behind the executor's
//!   [`crate::send::api::MessageApi`].
//!
//! The secret never becomes a template variable except in the URL of
//! `auth = { kind = "url" }`, and no error, `Debug` or printed request
//! holds it.

mod channel;
mod compile;
mod error;
mod fixed;
mod plain;
pub mod presets;
mod request;
mod response;
mod rules;
mod settings;
mod spec;
mod templates;
mod validate;
mod wait;

#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod test_support;

pub use channel::HttpChannel;
pub use compile::ResolvedSpec;
pub use error::ChannelError;
pub use request::{PreparedRequest, REDACTED, prepare};
pub use response::{Classified, classify};
pub use spec::{
    AuthSpec, BodySpec, ConditionSpec, HttpSpec, RequiredSetting, ResponseSpec, RuleSpec,
    SettingsSpec, SourceSpec, SpecOrigin, StatusSpec, WaitSpec,
};
