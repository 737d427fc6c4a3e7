//! What an SMTP sandbox is asked to be: port, users, limit, replies, faults.
//!
//! [`SmtpConfig`] is built by the `outreach sandbox --smtp` flags, by tests
//! and by `outreach send` for a sandboxed SMTP account; its validation lives
//! here so all of them get the same errors, each naming the flag to fix.
//! Passwords never appear in `Debug` output or in an error.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use outreach_rate::Rate;

use super::pattern::AddressPattern;
use super::replies::{self, Reply};
use crate::faults::FaultRates;
use crate::limiter::WindowKind;
use crate::settings::{ConfigError, DEFAULT_LIMIT};

/// `outreach sandbox --smtp` listens here unless `--smtp-port` says
/// otherwise: the usual unprivileged stand-in for port 25/587.
pub const DEFAULT_SMTP_PORT: u16 = 2525;

/// The reply to a message over its sender's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ThrottleReply {
    /// `421 4.7.0 Try again later, closing connection`: the reply (and
    /// text) Gmail and Google Workspace give when a sender goes too fast;
    /// the server then closes the connection.
    #[default]
    #[value(name = "421")]
    Close421,
    /// `451 4.7.1 Try again later`: a temporary refusal of this message
    /// that keeps the connection open, as greylisting and Microsoft's
    /// 451 4.7.x deferrals do.
    #[value(name = "451")]
    Defer451,
}

impl ThrottleReply {
    /// The reply it stands for.
    pub fn reply(self) -> Reply {
        match self {
            ThrottleReply::Close421 => replies::THROTTLED_CLOSE,
            ThrottleReply::Defer451 => replies::THROTTLED_DEFER,
        }
    }
}

/// One SMTP user: the name and password a client logs in with
/// (`AUTH PLAIN` or `AUTH LOGIN`). Parsed from `NAME=PASSWORD`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUser {
    pub name: String,
    pub password: String,
}

impl SmtpUser {
    pub fn new(name: impl Into<String>, password: impl Into<String>) -> SmtpUser {
        SmtpUser {
            name: name.into(),
            password: password.into(),
        }
    }
}

impl FromStr for SmtpUser {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<SmtpUser, ConfigError> {
        let (name, password) = text.split_once('=').ok_or(ConfigError::SmtpUserFormat)?;
        let user = SmtpUser::new(name.trim(), password);
        user.validate()?;
        Ok(user)
    }
}

impl SmtpUser {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::SmtpEmptyUser);
        }
        if self.password.is_empty() {
            return Err(ConfigError::SmtpEmptyPassword {
                user: self.name.clone(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for SmtpUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUser")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An SMTP sandbox's configuration. `Default` gives any free port, no AUTH,
/// 100/min per sender on a rolling window, 421 when over it, no rejected or
/// dropped recipients and no faults.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Messages allowed per user (or, without AUTH, per envelope sender).
    pub limit: Rate,
    /// How messages are counted against the limit.
    pub window: WindowKind,
    /// Users that may log in. Empty: AUTH is not offered and not needed.
    pub users: Vec<SmtpUser>,
    /// The reply when over the limit.
    pub throttle_reply: ThrottleReply,
    /// Recipients refused with `550 5.1.1 User unknown`.
    pub reject: Vec<AddressPattern>,
    /// Recipients whose message is recorded and then answered by nothing:
    /// the connection is dropped after the end of DATA.
    pub drop: Vec<AddressPattern>,
    /// Probability in 0..=1 of `451 4.3.0` for a message (nothing recorded).
    pub fail_rate: f64,
    /// Probability in 0..=1 of recording a message, then dropping the
    /// connection after its DATA without a reply.
    pub drop_rate: f64,
    /// Random delay up to this long before the reply to `MAIL FROM`.
    pub latency: Option<Duration>,
    /// Seed for the fault sequence.
    pub seed: u64,
    /// Also write the STARTTLS certificate (PEM) here, for clients to trust.
    pub cert_out: Option<PathBuf>,
    /// Do not print accepted messages on stdout.
    pub quiet: bool,
}

impl Default for SmtpConfig {
    fn default() -> SmtpConfig {
        SmtpConfig {
            port: 0,
            limit: DEFAULT_LIMIT,
            window: WindowKind::Rolling,
            users: Vec::new(),
            throttle_reply: ThrottleReply::Close421,
            reject: Vec::new(),
            drop: Vec::new(),
            fail_rate: 0.0,
            drop_rate: 0.0,
            latency: None,
            seed: 0,
            cert_out: None,
            quiet: false,
        }
    }
}

impl SmtpConfig {
    /// Check the probabilities and the users.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (flag, value) in [
            ("--fail-rate", self.fail_rate),
            ("--drop-rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::Probability { flag, value });
            }
        }
        for (index, user) in self.users.iter().enumerate() {
            user.validate()?;
            if self.users[..index]
                .iter()
                .any(|other| other.name == user.name)
            {
                return Err(ConfigError::SmtpDuplicateUser {
                    user: user.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// AUTH is offered and required.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Any fault enabled (the seed is then worth printing).
    pub fn has_faults(&self) -> bool {
        self.fail_rate > 0.0 || self.drop_rate > 0.0 || self.latency.is_some_and(|d| !d.is_zero())
    }

    pub(crate) fn fault_rates(&self) -> FaultRates {
        FaultRates {
            fail_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            latency: self.latency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_as_name_equals_password() {
        let user: SmtpUser = "alice=s3=cret".parse().unwrap();
        assert_eq!(user, SmtpUser::new("alice", "s3=cret"));
        assert_eq!(
            "alice".parse::<SmtpUser>(),
            Err(ConfigError::SmtpUserFormat)
        );
        assert_eq!("=pw".parse::<SmtpUser>(), Err(ConfigError::SmtpEmptyUser));
        assert!(matches!(
            "bob=".parse::<SmtpUser>(),
            Err(ConfigError::SmtpEmptyPassword { .. })
        ));
    }

    #[test]
    fn validation_names_the_flag_and_never_the_password() {
        let config = |users: Vec<SmtpUser>, fail_rate: f64| SmtpConfig {
            users,
            fail_rate,
            ..SmtpConfig::default()
        };
        assert_eq!(config(vec![], 0.0).validate(), Ok(()));
        let error = config(vec![], 2.0).validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "--fail-rate must be between 0 and 1, got 2"
        );
        let twice = config(
            vec![SmtpUser::new("a", "pw-one"), SmtpUser::new("a", "pw-two")],
            0.0,
        )
        .validate()
        .unwrap_err();
        assert_eq!(twice.to_string(), "--smtp-user: user `a` is given twice");
        let empty = config(vec![SmtpUser::new("b", "")], 0.0).validate();
        assert!(matches!(empty, Err(ConfigError::SmtpEmptyPassword { .. })));
    }

    #[test]
    fn debug_redacts_passwords() {
        let config = SmtpConfig {
            users: vec![SmtpUser::new("alice", "s3cret")],
            ..SmtpConfig::default()
        };
        let text = format!("{config:?}");
        assert!(text.contains("alice") && !text.contains("s3cret"), "{text}");
    }

    #[test]
    fn throttle_replies_are_the_providers_codes() {
        assert_eq!(ThrottleReply::Close421.reply().code, 421);
        assert!(ThrottleReply::Close421.reply().text.starts_with("4.7.0 "));
        assert_eq!(ThrottleReply::Defer451.reply().code, 451);
        assert!(ThrottleReply::Defer451.reply().text.starts_with("4.7.1 "));
        assert!(!SmtpConfig::default().requires_auth());
        assert_eq!(
            SmtpConfig::default().throttle_reply,
            ThrottleReply::Close421
        );
    }
}
