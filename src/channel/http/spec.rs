//! [`HttpSpec`]: an HTTP API as the user (or a preset) declares it in TOML.
//!
//! This is the *declared* form, kept close to what was written so errors can
//! name the key to fix. Nothing here is checked beyond its TOML shape: the
//! templates are parsed, the pointers, units and classes read, and the
//! settings merged by [`HttpSpec::with_settings`] (in `compile.rs`), which
//! turns the declaration into a [`super::ResolvedSpec`] ready to send.
//!
//! A complete declaration (the `slack` preset, abridged):
//!
//! ```toml
//! method = "POST"
//! url = "{{ settings.base_url }}/api/chat.postMessage"
//! auth = { kind = "bearer" }
//!
//! [headers]
//! Content-Type = "application/json; charset=utf-8"
//!
//! [body]
//! json = '''{"channel": {{ recipient }}, "text": {{ body }}}'''
//!
//! [settings.optional]
//! base_url = "https://slack.com"
//!
//! [response]
//! message_id = [{ pointer = "/ts" }]
//! error = [{ pointer = "/error" }]
//!
//! [[response.rules]]
//! status = [200]
//! body = [{ pointer = "/ok", equals = false }]
//! class = "permanent"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// Where the spec came from, so an error can say where to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecOrigin {
    /// Written in outreach.toml under this key (`channel`,
    /// `accounts[2].channel`, ...).
    Config { key: String },
    /// A built-in preset; its settings still live under `key` in
    /// outreach.toml.
    Preset { name: String, key: String },
}

impl Default for SpecOrigin {
    fn default() -> SpecOrigin {
        SpecOrigin::Config {
            key: "channel".to_string(),
        }
    }
}

/// An HTTP API, declared. See the module docs for the TOML form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// One line saying what this is (shown when presets are listed).
    #[serde(default)]
    pub summary: String,
    /// `POST` unless said otherwise.
    #[serde(default = "default_method")]
    pub method: String,
    /// A template; with `auth = { kind = "url" }` it places `{{ secret }}`.
    pub url: String,
    /// Header name to value template. `Content-Type` here replaces the one
    /// the body implies.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<BodySpec>,
    pub auth: AuthSpec,
    #[serde(default)]
    pub response: ResponseSpec,
    #[serde(default)]
    pub settings: SettingsSpec,
    /// The API drops a repeat of a request with the same `Idempotency-Key`
    /// (as Resend documents). Only then may outreach send a request again
    /// whose answer was lost; otherwise such a message ends `uncertain`.
    #[serde(default)]
    pub idempotent: bool,
    /// Not part of the TOML: where it was read from, for error messages.
    #[serde(skip)]
    pub origin: SpecOrigin,
}

fn default_method() -> String {
    "POST".to_string()
}

/// The request body: exactly one of `json` or `form`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodySpec {
    /// A template that renders a JSON document. Every `{{ value }}` in it is
    /// written as JSON (a string gets its quotes and escapes), so no value
    /// can break the document; `{{ value | json }}` says the same explicitly.
    #[serde(default)]
    pub json: Option<String>,
    /// Form fields (`application/x-www-form-urlencoded`), each a template.
    /// A field that renders empty is left out (an optional `html`).
    #[serde(default)]
    pub form: Option<BTreeMap<String, String>>,
}

/// How the account's secret (from the env var its `token_env` names) is
/// presented. The secret is never a template variable except in the URL of
/// `kind = "url"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// No credentials.
    None,
    /// `Authorization: Bearer SECRET`. With `optional = true`, an empty
    /// secret sends no header (a webhook that may or may not check one).
    Bearer {
        #[serde(default)]
        optional: bool,
    },
    /// `Authorization: Basic base64(user:SECRET)`; `user` is a template.
    Basic { user: String },
    /// `NAME: [PREFIX ]SECRET`, e.g. `X-Postmark-Server-Token` or
    /// `Authorization` with prefix `Bot`.
    Header {
        name: String,
        #[serde(default)]
        prefix: Option<String>,
    },
    /// `?NAME=SECRET` appended to the URL's query.
    Query { name: String },
    /// The URL template places `{{ secret }}` itself (Telegram's
    /// `/bot{{ secret }}/sendMessage`, a Discord webhook's token).
    Url,
}

/// What a response means, declared.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// Tried in order; the first that matches decides the class. Without a
    /// match the status decides, as for any HTTP API (2xx sent, 429
    /// throttled, 401/403 auth refused, 408/5xx transient, else permanent).
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Where the provider's message id is; the first found wins. Default:
    /// the JSON body's `/id`.
    #[serde(default)]
    pub message_id: Option<Vec<SourceSpec>>,
    /// Where the provider says what went wrong in words (Slack's `/error`,
    /// Telegram's `/description`); the first found wins.
    #[serde(default)]
    pub error: Vec<SourceSpec>,
    /// Where a throttled or transient response says how long to wait; the
    /// first that reads wins. A rule's own `wait` replaces this list.
    #[serde(default)]
    pub wait: Vec<WaitSpec>,
}

/// One response rule: every condition given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Statuses that match: numbers, `"4xx"`, or ranges `"500-599"`. Empty:
    /// any status.
    #[serde(default)]
    pub status: Vec<StatusSpec>,
    /// Conditions on the JSON body; all must hold.
    #[serde(default)]
    pub body: Vec<ConditionSpec>,
    /// `sent`, `throttled`, `auth_refused`, `transient` or `permanent`.
    pub class: String,
    /// For `transient`: whether the provider may have taken the message
    /// anyway (it is then never resent silently).
    #[serde(default)]
    pub maybe_delivered: bool,
    /// Replaces `response.wait` for responses this rule matches.
    #[serde(default)]
    pub wait: Option<Vec<WaitSpec>>,
}

/// A status as written: `429`, `"4xx"` or `"500-599"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    Code(i64),
    Pattern(String),
}

/// A condition on the value at a JSON pointer of the body. Exactly one of
/// `equals`, `not_equals`, `in` and `exists`. A body that is not JSON, or
/// has nothing at the pointer, satisfies only `exists = false`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// RFC 6901: `/ok`, `/errors/0/message`.
    pub pointer: String,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    #[serde(default)]
    pub not_equals: Option<serde_json::Value>,
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub exists: Option<bool>,
}

/// A value in the response: exactly one of a JSON `pointer` into the body
/// or a `header` name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    #[serde(default)]
    pub pointer: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
}

/// Where a wait is: a `pointer` or a `header` read in a `unit`, or
/// `until = "next_utc_midnight"` (a daily quota that resets at 00:00 UTC).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitSpec {
    #[serde(default)]
    pub pointer: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    /// `seconds` (the default; fractions allowed), `milliseconds`,
    /// `epoch_seconds`, `epoch_milliseconds` or `http_date`.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

/// The settings a spec's templates may use as `settings.NAME`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsSpec {
    /// Settings the account must give.
    #[serde(default)]
    pub required: BTreeMap<String, RequiredSetting>,
    /// Settings with a default (`base_url`, an API version).
    #[serde(default)]
    pub optional: BTreeMap<String, String>,
    /// Groups of optional settings of which at least one must be non-empty
    /// (Twilio's `from` or `messaging_service_sid`).
    #[serde(default)]
    pub one_of: Vec<Vec<String>>,
}

/// A required setting, described for the error that asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredSetting {
    /// What it is, as in "the mailgun preset needs {means}".
    pub means: String,
    /// A value to show in "write domain = \"{example}\"" (also the sample
    /// used when the spec is checked without settings).
    pub example: String,
}

impl HttpSpec {
    /// Reads a spec from TOML text (what a user copies into outreach.toml).
    pub fn from_toml(text: &str) -> Result<HttpSpec, toml::de::Error> {
        toml::from_str(text)
    }

    /// The same spec, its errors naming keys under `key` in outreach.toml
    /// (`channel` unless said otherwise).
    pub fn at_key(mut self, key: impl Into<String>) -> HttpSpec {
        let key = key.into();
        self.origin = match self.origin {
            SpecOrigin::Preset { name, .. } => SpecOrigin::Preset { name, key },
            SpecOrigin::Config { .. } => SpecOrigin::Config { key },
        };
        self
    }

    /// The preset's name, if this spec is one.
    pub fn preset_name(&self) -> Option<&str> {
        match &self.origin {
            SpecOrigin::Preset { name, .. } => Some(name),
            SpecOrigin::Config { .. } => None,
        }
    }

    /// Every setting name the templates may use.
    pub fn setting_names(&self) -> impl Iterator<Item = &str> {
        self.settings
            .required
            .keys()
            .chain(self.settings.optional.keys())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_part() {
        let spec = HttpSpec::from_toml(
            r#"
            url = "https://x.test/{{ settings.path }}"
            auth = { kind = "header", name = "X-Key", prefix = "Key" }
            headers = { Accept = "application/json" }
            body = { form = { to = "{{ recipient }}" } }
            [settings.required.path]
            means = "the path"
            example = "v1"
            [[response.rules]]
            status = [420, "5xx"]
            body = [{ pointer = "/ok", in = [false, "no"] }]
            class = "throttled"
            wait = [{ until = "next_utc_midnight" }]
            "#,
        )
        .unwrap();
        assert_eq!(spec.method, "POST");
        assert_eq!(
            spec.auth,
            AuthSpec::Header {
                name: "X-Key".into(),
                prefix: Some("Key".into())
            }
        );
        let rule = &spec.response.rules[0];
        assert_eq!(
            rule.status,
            [StatusSpec::Code(420), StatusSpec::Pattern("5xx".into())]
        );
        assert_eq!(rule.body[0].one_of.as_ref().unwrap().len(), 2);
        assert_eq!(spec.setting_names().collect::<Vec<_>>(), ["path"]);
        assert_eq!(spec.origin, SpecOrigin::default());
    }

    #[test]
    fn unknown_keys_and_auth_kinds_are_refused() {
        let error =
            HttpSpec::from_toml("url = \"x\"\nauth = { kind = \"none\" }\nmehtod = \"GET\"")
                .unwrap_err();
        assert!(error.to_string().contains("mehtod"), "{error}");
        let error = HttpSpec::from_toml("url = \"x\"\nauth = { kind = \"oauth\" }").unwrap_err();
        assert!(error.to_string().contains("oauth"), "{error}");
        let error = HttpSpec::from_toml("url = \"x\"\nauth = { kind = \"bearer\", name = \"y\" }")
            .unwrap_err();
        assert!(error.to_string().contains("name"), "{error}");
    }

    #[test]
    fn at_key_keeps_the_preset_name() {
        let spec = HttpSpec::from_toml("url = \"x\"\nauth = { kind = \"none\" }").unwrap();
        let spec = HttpSpec {
            origin: SpecOrigin::Preset {
                name: "slack".into(),
                key: "channel".into(),
            },
            ..spec
        }
        .at_key("accounts[1].channel");
        assert_eq!(spec.preset_name(), Some("slack"));
        assert_eq!(
            spec.origin,
            SpecOrigin::Preset {
                name: "slack".into(),
                key: "accounts[1].channel".into()
            }
        );
    }
}
