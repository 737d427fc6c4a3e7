//! [`ChannelError`]: what is wrong with a declared HTTP channel, naming the
//! key that fixes it. No message here ever holds the account's secret: the
//! rendered URL, headers and values are never quoted, only their keys.

use super::spec::SpecOrigin;

/// A declared HTTP channel that cannot be used, or a message it cannot send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// A value in the spec or its settings is wrong. `location` names the
    /// key: "`channel.domain` in outreach.toml".
    #[error("{location}: {problem}")]
    Config { location: String, problem: String },
    #[error("no channel preset is named `{name}`; the presets are {known}")]
    UnknownPreset { name: String, known: String },
    /// The account's secret cannot be placed where the spec puts it.
    #[error(
        "the account's secret contains characters not allowed in {place}; check the environment variable its `token_env` names"
    )]
    BadSecret { place: &'static str },
    /// This one message could not be made into a request (a value with a
    /// line break in a header, say): it fails on its own.
    #[error("could not build the request: {0}")]
    Request(String),
}

impl SpecOrigin {
    /// How an error names `path` (`url`, `response.rules[1].class`) of this
    /// spec.
    pub(crate) fn location(&self, path: &str) -> String {
        match self {
            SpecOrigin::Config { key } => format!("`{key}.{path}` in outreach.toml"),
            SpecOrigin::Preset { name, .. } => format!("`{path}` of the built-in `{name}` preset"),
        }
    }

    /// How an error names the setting `name`: settings are always the
    /// user's, in outreach.toml.
    pub(crate) fn setting_location(&self, name: &str) -> String {
        let key = match self {
            SpecOrigin::Config { key } | SpecOrigin::Preset { key, .. } => key,
        };
        format!("`{key}.{name}` in outreach.toml")
    }

    /// "the mailgun preset" or "this channel", for "... needs ...".
    pub(crate) fn subject(&self) -> String {
        match self {
            SpecOrigin::Preset { name, .. } => format!("the {name} preset"),
            SpecOrigin::Config { .. } => "this channel".to_string(),
        }
    }

    pub(crate) fn error(&self, path: &str, problem: impl Into<String>) -> ChannelError {
        ChannelError::Config {
            location: self.location(path),
            problem: problem.into(),
        }
    }
}

/// A template error in words, without minijinja's debug dump (which lists
/// the values in scope, the secret among them).
pub(crate) fn template_problem(error: &minijinja::Error) -> String {
    let mut text = error.kind().to_string();
    if let Some(detail) = error.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = error.line().filter(|line| *line > 1) {
        text.push_str(&format!(" (line {line})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_the_key_to_fix() {
        let config = SpecOrigin::Config {
            key: "accounts[1].channel".into(),
        };
        assert_eq!(
            config.error("url", "bad").to_string(),
            "`accounts[1].channel.url` in outreach.toml: bad"
        );
        let preset = SpecOrigin::Preset {
            name: "mailgun".into(),
            key: "channel".into(),
        };
        assert_eq!(
            preset.location("body.form.to"),
            "`body.form.to` of the built-in `mailgun` preset"
        );
        assert_eq!(
            preset.setting_location("domain"),
            "`channel.domain` in outreach.toml"
        );
        assert_eq!(preset.subject(), "the mailgun preset");
    }

    #[test]
    fn template_errors_carry_no_values() {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template("t", "a\n{{ missing }} {{ secret }}")
            .unwrap();
        let error = env
            .get_template("t")
            .unwrap()
            .render(minijinja::context! { secret => "s3cret-value" })
            .unwrap_err();
        let problem = template_problem(&error);
        assert!(problem.contains("undefined"), "{problem}");
        assert!(problem.contains("line 2"), "{problem}");
        assert!(!problem.contains("s3cret"), "{problem}");
    }
}
