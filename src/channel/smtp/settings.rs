//! An account's SMTP settings as written in `outreach.toml`, and the checks
//! that catch a wrong one at load time, before anything is sent.
//!
//! ```toml
//! [smtp]
//! host = "smtp.gmail.com"
//! tls = "starttls"            # "starttls" (port 587), "tls" (465) or "none" (25)
//! username = "me@example.com"
//! auth = "password"           # or "xoauth2"; the secret is the account's token
//! from = "Ada Lovelace <me@example.com>"
//! reply_to = "replies@example.com"
//! list_unsubscribe = { mailto = "unsubscribe@example.com", url = "https://example.com/u?id={idempotency_key}" }
//! ```
//!
//! The secret (password or XOAUTH2 access token) is never here: it is the
//! account's token, read from the environment variable the config names.
//!
//! `tls = "none"` sends everything, the password included, in the clear: it
//! is only for a local server (the sandbox, a test server). It is refused
//! with a password for any host but a loopback one.
//!
//! [`validate`](SmtpSettings::validate) names the config key in every error
//! (`accounts.alice.smtp.from`), and returns the parsed sender headers the
//! messages are built with. [`validate_address`] is the same check for a
//! recipient, for `plan` to report a bad address with its CSV line.
//!
//! Over 400 lines: the tests of every setting error are a third of it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use lettre::Address;
use lettre::message::Mailbox;
use serde::Deserialize;

use super::message::SenderHeaders;
pub use super::unsubscribe::ListUnsubscribe;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with `STARTTLS` (RFC 3207); refused if the
    /// server does not offer it. Port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", RFC 8314). Port 465.
    Tls,
    /// No encryption at all: only for a local test server. Port 25.
    None,
}

impl TlsMode {
    /// The port a server usually listens on for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

/// How the account logs in; the secret is always the account's token.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// `AUTH PLAIN` or `AUTH LOGIN` with the username and the token as the
    /// password (for Gmail: an app password).
    #[default]
    Password,
    /// `AUTH XOAUTH2` with the username and the token as the OAuth 2.0
    /// access token (Gmail, Outlook).
    Xoauth2,
    /// No login: a local server, or a relay that trusts the network.
    None,
}

/// One account's SMTP server and sender identity.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Defaults by `tls`: 587, 465 or 25.
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    /// Required unless `auth = "none"`.
    pub username: Option<String>,
    #[serde(default)]
    pub auth: AuthMethod,
    /// `Name <address>` or `address`.
    pub from: String,
    pub reply_to: Option<String>,
    pub list_unsubscribe: Option<ListUnsubscribe>,
    /// A PEM file of extra trusted root certificates, for a server whose
    /// certificate comes from a private CA. The system's roots still apply.
    pub root_certificate: Option<PathBuf>,
}

/// A setting that cannot work; `key` is the config key to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {problem}")]
pub struct SmtpSettingsError {
    pub key: String,
    pub problem: String,
}

/// A recipient that is not a usable e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{address}` is not an e-mail address outreach can send to: {reason}")]
pub struct InvalidAddress {
    pub address: String,
    pub reason: String,
}

/// Parse a recipient: a bare `user@domain`, ASCII only (non-ASCII addresses
/// need the SMTPUTF8 extension, which outreach does not use).
pub fn validate_address(text: &str) -> Result<Address, InvalidAddress> {
    let invalid = |reason: &str| InvalidAddress {
        address: text.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if !trimmed.is_ascii() {
        return Err(invalid(
            "it has non-ASCII characters (write an international domain in its xn-- form)",
        ));
    }
    if trimmed.contains(['<', '>']) {
        return Err(invalid(
            "give the bare address, without a name or angle brackets",
        ));
    }
    trimmed
        .parse::<Address>()
        .map_err(|error| invalid(&error.to_string()))
}

impl SmtpSettings {
    /// The port to connect to: the given one, else the mode's usual one.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    /// `root_certificate` resolved against `base` (the config's folder) when
    /// it is relative.
    pub fn with_base_dir(mut self, base: &Path) -> SmtpSettings {
        if let Some(path) = &self.root_certificate
            && path.is_relative()
        {
            self.root_certificate = Some(base.join(path));
        }
        self
    }

    /// Check every setting; `prefix` is where they sit in the config
    /// (`smtp`, `accounts.alice.smtp`) so errors name the key to fix.
    /// Returns the parsed headers every message of the account carries.
    pub fn validate(&self, prefix: &str) -> Result<SenderHeaders, SmtpSettingsError> {
        let error = |field: &str, problem: String| SmtpSettingsError {
            key: format!("{prefix}.{field}"),
            problem,
        };
        check_host(&self.host).map_err(|problem| error("host", problem))?;
        if self.port == Some(0) {
            return Err(error("port", "0 is not a port".into()));
        }
        if self.auth != AuthMethod::None {
            match self.username.as_deref().map(str::trim) {
                None | Some("") => {
                    return Err(error(
                        "username",
                        "a login is needed for `auth = \"password\"` or `\"xoauth2\"`; \
                         set `username`, or `auth = \"none\"` for a server without login"
                            .into(),
                    ));
                }
                Some(_) => {}
            }
            if self.tls == TlsMode::None && !is_loopback(&self.host) {
                return Err(error(
                    "tls",
                    format!(
                        "`none` would send the password in the clear to {}; use \"starttls\" or \"tls\" \
                         (`none` is only for a local test server)",
                        self.host
                    ),
                ));
            }
        }
        if let Some(path) = &self.root_certificate
            && path.as_os_str().is_empty()
        {
            return Err(error("root_certificate", "the path is empty".into()));
        }
        let from = parse_mailbox(&self.from).map_err(|problem| error("from", problem))?;
        let reply_to = self
            .reply_to
            .as_deref()
            .map(parse_mailbox)
            .transpose()
            .map_err(|problem| error("reply_to", problem))?;
        let list_unsubscribe = self
            .list_unsubscribe
            .as_ref()
            .map(|targets| {
                targets.check().map_err(|(field, problem)| {
                    error(&format!("list_unsubscribe.{field}"), problem)
                })
            })
            .transpose()?;
        Ok(SenderHeaders {
            from,
            reply_to,
            list_unsubscribe,
        })
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.trim().is_empty() {
        return Err("the SMTP server's host name is empty".into());
    }
    if host.contains("://") {
        return Err(format!(
            "`{host}` is a URL; give the host name alone (`smtp.example.com`) and the port in `port`"
        ));
    }
    if host.chars().any(char::is_whitespace) {
        return Err(format!("`{host}` contains spaces"));
    }
    if host.contains(':') && host.trim_matches(['[', ']']).parse::<IpAddr>().is_err() {
        return Err(format!(
            "`{host}` looks like host:port; give the port in `port`"
        ));
    }
    Ok(())
}

/// Whether `host` is this machine, where a plain connection stays local.
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_mailbox(text: &str) -> Result<Mailbox, String> {
    let mailbox = text
        .trim()
        .parse::<Mailbox>()
        .map_err(|error| format!("`{text}` is not `Name <address>` or `address`: {error}"))?;
    validate_address(mailbox.email.as_ref()).map_err(|error| error.to_string())?;
    Ok(mailbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> SmtpSettings {
        toml::from_str(toml_text).expect("test settings parse")
    }

    const MINIMAL: &str = r#"
        host = "smtp.example.com"
        username = "me@example.com"
        from = "Ada <me@example.com>"
    "#;

    #[test]
    fn ports_follow_the_tls_mode_unless_given() {
        let mut smtp = settings(MINIMAL);
        assert_eq!(smtp.tls, TlsMode::Starttls);
        assert_eq!(smtp.auth, AuthMethod::Password);
        assert_eq!(smtp.port(), 587);
        smtp.tls = TlsMode::Tls;
        assert_eq!(smtp.port(), 465);
        smtp.tls = TlsMode::None;
        assert_eq!(smtp.port(), 25);
        smtp.port = Some(2525);
        assert_eq!(smtp.port(), 2525);
    }

    #[test]
    fn a_complete_config_parses_and_validates() {
        let smtp = settings(
            r#"
            host = "smtp.gmail.com"
            port = 465
            tls = "tls"
            username = "me@example.com"
            auth = "xoauth2"
            from = "Ada Lovelace <me@example.com>"
            reply_to = "replies@example.com"
            root_certificate = "ca.pem"
            list_unsubscribe = { mailto = "mailto:unsub@example.com?subject=stop", url = "https://example.com/u?id={idempotency_key}" }
            "#,
        );
        let sender = smtp.validate("smtp").expect("valid");
        assert_eq!(sender.from.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(sender.from.email.to_string(), "me@example.com");
        assert_eq!(
            sender.reply_to.map(|m| m.email.to_string()).as_deref(),
            Some("replies@example.com")
        );
        let unsubscribe = sender.list_unsubscribe.expect("targets");
        assert_eq!(
            unsubscribe.mailto.as_deref(),
            Some("mailto:unsub@example.com?subject=stop")
        );
        let resolved = smtp.with_base_dir(Path::new("/etc/outreach"));
        assert_eq!(
            resolved.root_certificate.as_deref(),
            Some(Path::new("/etc/outreach/ca.pem"))
        );
    }

    #[test]
    fn unknown_keys_and_modes_are_refused() {
        let typo = toml::from_str::<SmtpSettings>(&format!("{MINIMAL}\nsender = \"x\""));
        assert!(typo.unwrap_err().to_string().contains("sender"));
        let mode = toml::from_str::<SmtpSettings>(&format!("{MINIMAL}\ntls = \"ssl\""));
        assert!(mode.unwrap_err().to_string().contains("ssl"));
    }

    fn error_of(extra: &str, base: &str) -> SmtpSettingsError {
        let text = format!("{base}\n{extra}");
        let smtp: SmtpSettings = toml::from_str(&text).expect("parses");
        smtp.validate("accounts.alice.smtp")
            .expect_err("should be invalid")
    }

    #[test]
    fn every_error_names_its_key() {
        let no_user = r#"host = "smtp.example.com"
            from = "me@example.com""#;
        let cases = [
            ("", no_user, "accounts.alice.smtp.username"),
            ("port = 0", MINIMAL, "accounts.alice.smtp.port"),
            ("tls = \"none\"", MINIMAL, "accounts.alice.smtp.tls"),
            (
                "reply_to = \"not an address\"",
                MINIMAL,
                "accounts.alice.smtp.reply_to",
            ),
            (
                "list_unsubscribe = {}",
                MINIMAL,
                "accounts.alice.smtp.list_unsubscribe.mailto",
            ),
            (
                "list_unsubscribe = { url = \"http://example.com/u\" }",
                MINIMAL,
                "accounts.alice.smtp.list_unsubscribe.url",
            ),
            (
                "list_unsubscribe = { url = \"https://example.com/u?who={name}\" }",
                MINIMAL,
                "accounts.alice.smtp.list_unsubscribe.url",
            ),
            (
                "list_unsubscribe = { mailto = \"{recipient}@example.com\" }",
                MINIMAL,
                "accounts.alice.smtp.list_unsubscribe.mailto",
            ),
        ];
        for (extra, base, key) in cases {
            let error = error_of(extra, base);
            assert_eq!(error.key, key, "{extra}: {error}");
            assert!(error.to_string().starts_with(&format!("`{key}`: ")));
        }
        let bad_from = r#"host = "smtp.example.com"
            username = "u"
            from = "Ada <nobody>""#;
        assert_eq!(error_of("", bad_from).key, "accounts.alice.smtp.from");
        for host in ["", "smtp://smtp.example.com", "smtp.example.com:587", "a b"] {
            let text = format!("host = \"{host}\"\nusername = \"u\"\nfrom = \"me@example.com\"");
            let error = error_of("", &text);
            assert_eq!(error.key, "accounts.alice.smtp.host", "{host}: {error}");
        }
    }

    #[test]
    fn plaintext_is_allowed_for_loopback_or_without_a_password() {
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            let smtp = SmtpSettings {
                host: host.into(),
                tls: TlsMode::None,
                ..settings(MINIMAL)
            };
            assert!(smtp.validate("smtp").is_ok(), "{host}");
        }
        let relay = SmtpSettings {
            tls: TlsMode::None,
            auth: AuthMethod::None,
            username: None,
            ..settings(MINIMAL)
        };
        assert!(relay.validate("smtp").is_ok());
    }

    #[test]
    fn recipients_must_be_bare_ascii_addresses() {
        assert_eq!(
            validate_address(" ada@example.com ").unwrap().to_string(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "Ada <ada@example.com>",
            "ada@exa mple.com",
            "ådä@example.com",
        ] {
            let error = validate_address(bad).expect_err(bad);
            assert_eq!(error.address, bad);
            assert!(error.to_string().contains("is not an e-mail address"));
        }
    }
}
