//! An SMTP account's `imap` table: where its inbox is and how to log in,
//! checked at load with errors naming the config key.
//!
//! ```toml
//! [channel]
//! type = "smtp"
//! host = "smtp.gmail.com"
//! username = "me@example.com"
//! from = "Ada <me@example.com>"
//! imap = { host = "imap.gmail.com" }   # tls, port 993, INBOX, every 60 s
//! ```
//!
//! The login defaults to the SMTP one: the same `username`, the same `auth`
//! (password or XOAUTH2) and the same secret, the account's token. An
//! account whose inbox needs another secret names the variable holding it
//! (`password_env`, or `token_env` with `auth = "xoauth2"`); the secret
//! itself is never in the config, never printed and never stored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::channel::choice::ChannelChoice;
use crate::channel::smtp::settings::is_loopback;
use crate::channel::smtp::{AuthMethod, TlsMode};

/// The key of the IMAP table inside an SMTP channel table.
pub const KEY: &str = "imap";

/// The mailbox read when the table names none.
pub const DEFAULT_MAILBOX: &str = "INBOX";

/// How often the inbox is read when the table does not say.
pub const DEFAULT_POLL: Duration = Duration::from_secs(60);

/// The shortest poll interval accepted (a test server; a real one would
/// not thank us for more).
pub const MIN_POLL: Duration = Duration::from_secs(1);

/// The `imap` table as written.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImapTable {
    pub host: String,
    /// Defaults by `tls`: 993, or 143.
    pub port: Option<u16>,
    /// `tls` (implicit, port 993; the default), `starttls` (143) or `none`
    /// (a local test server only).
    pub tls: Option<TlsMode>,
    /// Defaults to the SMTP `username`.
    pub username: Option<String>,
    /// Defaults to the SMTP `auth`.
    pub auth: Option<AuthMethod>,
    /// The variable holding the IMAP password (default: the account's token).
    pub password_env: Option<String>,
    /// The variable holding the XOAUTH2 access token (default: the account's token).
    pub token_env: Option<String>,
    /// Default `INBOX`.
    pub mailbox: Option<String>,
    /// `60s`, `2m`, ... (default 60 s, at least 1 s).
    pub poll_interval: Option<String>,
    /// A PEM file of extra trusted roots (default: the SMTP one).
    pub root_certificate: Option<PathBuf>,
}

/// One account's inbox, checked and with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    /// `Password` or `Xoauth2` (an inbox always needs a login).
    pub auth: AuthMethod,
    /// The variable the secret is read from; `None`: the account's token.
    pub secret_env: Option<String>,
    pub mailbox: String,
    pub poll_interval: Duration,
    pub root_certificate: Option<PathBuf>,
}

impl ImapSettings {
    /// `host:port`, for messages.
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host.trim_matches(['[', ']']), self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Which inbox this is: accounts that share one are read once.
    pub fn inbox_key(&self) -> (String, u16, String, String) {
        (
            self.host.to_ascii_lowercase(),
            self.port,
            self.username.clone(),
            self.mailbox.clone(),
        )
    }
}

/// A setting that cannot work; `key` is the config key to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {problem}")]
pub struct ImapSettingsError {
    pub key: String,
    pub problem: String,
}

/// The checked `imap` settings of an SMTP channel table, if it has one;
/// `prefix` is where the channel table sits (`channel`,
/// `accounts.alice.channel`), so errors name `channel.imap.host`.
pub fn from_choice(
    choice: &ChannelChoice,
    prefix: &str,
) -> Result<Option<ImapSettings>, ImapSettingsError> {
    let key = format!("{prefix}.{KEY}");
    let Some(value) = choice.settings.get(KEY) else {
        return Ok(None);
    };
    if choice.kind != "smtp" {
        return Err(ImapSettingsError {
            key,
            problem: format!(
                "replies are read over IMAP for `type = \"smtp\"` channels only, not `{}`",
                choice.kind
            ),
        });
    }
    let table: ImapTable =
        value
            .clone()
            .try_into()
            .map_err(|error: toml::de::Error| ImapSettingsError {
                key: key.clone(),
                problem: error.message().to_string(),
            })?;
    let smtp = |name: &str| choice.text(name);
    table
        .check(
            &key,
            smtp("username"),
            smtp("auth"),
            smtp("root_certificate"),
        )
        .map(Some)
}

impl ImapTable {
    /// Check every setting and fill in the defaults, some from the SMTP
    /// table (`smtp_username`, `smtp_auth`, `smtp_root` as written there).
    pub fn check(
        &self,
        key: &str,
        smtp_username: Option<String>,
        smtp_auth: Option<String>,
        smtp_root: Option<String>,
    ) -> Result<ImapSettings, ImapSettingsError> {
        let error = |field: &str, problem: String| ImapSettingsError {
            key: format!("{key}.{field}"),
            problem,
        };
        let host = self.host.trim();
        if host.is_empty() {
            return Err(error("host", "the IMAP server's host name is empty".into()));
        }
        if host.contains("://") || host.chars().any(char::is_whitespace) {
            return Err(error(
                "host",
                format!("`{host}` is not a host name; write it like `imap.gmail.com`"),
            ));
        }
        if host.contains(':')
            && host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_err()
        {
            return Err(error(
                "host",
                format!("`{host}` looks like host:port; give the port in `port`"),
            ));
        }
        if self.port == Some(0) {
            return Err(error("port", "0 is not a port".into()));
        }
        let tls = self.tls.unwrap_or(TlsMode::Tls);
        let port = self.port.unwrap_or(match tls {
            TlsMode::Tls => 993,
            TlsMode::Starttls | TlsMode::None => 143,
        });
        if tls == TlsMode::None && !is_loopback(host) {
            return Err(error(
                "tls",
                format!(
                    "`none` would send the login in the clear to {host}; use \"tls\" (port 993) or \"starttls\" \
                     (`none` is only for a local test server)"
                ),
            ));
        }
        let auth = match self.auth {
            Some(auth) => auth,
            None => match smtp_auth.as_deref() {
                Some("xoauth2") => AuthMethod::Xoauth2,
                _ => AuthMethod::Password,
            },
        };
        if auth == AuthMethod::None {
            return Err(error(
                "auth",
                "an inbox always needs a login: use \"password\" or \"xoauth2\"".into(),
            ));
        }
        let username = self
            .username
            .clone()
            .or(smtp_username)
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                error(
                    "username",
                    "no login for the inbox: set `username` here or in the SMTP table".into(),
                )
            })?;
        let secret_env = match (auth, &self.password_env, &self.token_env) {
            (AuthMethod::Xoauth2, Some(_), _) => {
                return Err(error(
                    "password_env",
                    "with `auth = \"xoauth2\"` name the access token's variable in `token_env`"
                        .into(),
                ));
            }
            (AuthMethod::Password, _, Some(_)) => {
                return Err(error(
                    "token_env",
                    "with password login name the password's variable in `password_env` \
                     (or set `auth = \"xoauth2\"`)"
                        .into(),
                ));
            }
            (_, Some(name), _) | (_, _, Some(name)) => {
                let field = if auth == AuthMethod::Xoauth2 {
                    "token_env"
                } else {
                    "password_env"
                };
                check_variable_name(name).map_err(|problem| error(field, problem))?;
                Some(name.trim().to_string())
            }
            _ => None,
        };
        let mailbox = self
            .mailbox
            .clone()
            .unwrap_or_else(|| DEFAULT_MAILBOX.to_string());
        if mailbox.trim().is_empty() {
            return Err(error("mailbox", "the mailbox name is empty".into()));
        }
        let poll_interval = match &self.poll_interval {
            None => DEFAULT_POLL,
            Some(text) => {
                let interval = humantime::parse_duration(text.trim()).map_err(|e| {
                    error(
                        "poll_interval",
                        format!("`{text}` is not a duration like \"60s\" or \"2m\": {e}"),
                    )
                })?;
                if interval < MIN_POLL {
                    return Err(error(
                        "poll_interval",
                        format!("`{text}` is shorter than the shortest interval, 1s"),
                    ));
                }
                interval
            }
        };
        let root_certificate = self
            .root_certificate
            .clone()
            .or_else(|| smtp_root.map(PathBuf::from));
        if root_certificate
            .as_ref()
            .is_some_and(|path| path.as_os_str().is_empty())
        {
            return Err(error("root_certificate", "the path is empty".into()));
        }
        Ok(ImapSettings {
            host: host.to_string(),
            port,
            tls,
            username,
            auth,
            secret_env,
            mailbox,
            poll_interval,
            root_certificate,
        })
    }
}

fn check_variable_name(name: &str) -> Result<(), String> {
    let name = name.trim();
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an environment variable name; name the variable (like `IMAP_PASSWORD`), never the secret itself"
        ))
    }
}

/// `root_certificate` inside the `imap` table resolved against `base`.
pub fn with_paths_from(table: &mut toml::Table, base: &Path) {
    if let Some(toml::Value::Table(imap)) = table.get_mut(KEY)
        && let Some(toml::Value::String(path)) = imap.get_mut("root_certificate")
        && Path::new(path.as_str()).is_relative()
    {
        *path = base.join(path.as_str()).display().to_string();
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
