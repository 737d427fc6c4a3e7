//! What a sandbox is asked to be: limit, window, headers, tokens, faults.
//!
//! The same [`SandboxConfig`] is built by the `outreach sandbox` flags, by
//! `outreach send` for `endpoint = "sandbox"`, and by tests; validation lives
//! here so all three get the same errors. Tokens are secrets in spirit even
//! in a sandbox, so the `Debug` output of this module never shows them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::faults::FaultRates;
use super::limiter::WindowKind;
use super::providers::Provider;
use super::rate_headers::HeaderDialect;
use outreach_rate::Rate;

/// The token a sandbox accepts when none is configured.
pub const DEMO_TOKEN: &str = "sandbox-demo-token";
/// The account name of [`DEMO_TOKEN`].
pub const DEMO_ACCOUNT: &str = "demo";

/// The default limit: 100 per minute per token, so a demo shows throttling
/// within a minute of fast sending without making slow demos wait.
pub const DEFAULT_LIMIT: Rate = Rate {
    count: 100,
    period: Duration::from_secs(60),
};

/// A sandbox's configuration. `Default` gives the demo token, 100/min on a
/// rolling window, `X-RateLimit-*` headers, no faults and the sandbox's own
/// API (`Provider::Default`).
#[derive(Clone)]
pub struct SandboxConfig {
    /// Sends allowed per token per period.
    pub limit: Rate,
    /// How sends are counted.
    pub window: WindowKind,
    /// Which rate-limit headers to send.
    pub dialect: HeaderDialect,
    /// `(account, token)` pairs; each token has its own limit.
    pub tokens: Vec<(String, String)>,
    /// Probability in 0..=1 of a 503 that accepts nothing.
    pub fail_rate: f64,
    /// Probability in 0..=1 of accepting a message and then dropping the
    /// connection without a response.
    pub drop_rate: f64,
    /// Random delay up to this long before each request is handled.
    pub latency: Option<Duration>,
    /// Seed for the fault sequence.
    pub seed: u64,
    /// Do not print accepted messages on stdout.
    pub quiet: bool,
    /// Whose API to speak: the sandbox's own (`Default`) or a provider's.
    pub provider: Provider,
    /// Under a provider: recipients matching one of these patterns (`*` any
    /// text, `?` one character, case-insensitive) are refused as that
    /// provider refuses a bad recipient. Recipients containing `invalid`
    /// are always refused under a provider.
    pub reject: Vec<String>,
    /// Under `--provider mailgun`: answer 429 instead of Mailgun's older 420
    /// when over the limit.
    pub mailgun_429: bool,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            limit: DEFAULT_LIMIT,
            window: WindowKind::Rolling,
            dialect: HeaderDialect::XRateLimit,
            tokens: vec![(DEMO_ACCOUNT.to_string(), DEMO_TOKEN.to_string())],
            fail_rate: 0.0,
            drop_rate: 0.0,
            latency: None,
            seed: 0,
            quiet: false,
            provider: Provider::Default,
            reject: Vec::new(),
            mailgun_429: false,
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let accounts: Vec<&str> = self.tokens.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("SandboxConfig")
            .field("limit", &self.limit)
            .field("window", &self.window)
            .field("dialect", &self.dialect)
            .field("accounts", &accounts)
            .field("fail_rate", &self.fail_rate)
            .field("drop_rate", &self.drop_rate)
            .field("latency", &self.latency)
            .field("seed", &self.seed)
            .field("quiet", &self.quiet)
            .field("provider", &self.provider)
            .field("reject", &self.reject)
            .field("mailgun_429", &self.mailgun_429)
            .finish()
    }
}

/// Why a sandbox configuration was refused; each names the flag to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{flag} must be between 0 and 1, got {value}")]
    Probability { flag: &'static str, value: f64 },
    #[error("the sandbox needs at least one token (--token)")]
    NoTokens,
    #[error("--token: the token of account `{account}` is empty")]
    EmptyToken { account: String },
    #[error("--token: an account name is empty; use NAME=TOKEN or just TOKEN")]
    EmptyAccount,
    #[error("--token: a token must not contain whitespace (account `{account}`)")]
    TokenWhitespace { account: String },
    #[error("--token: accounts `{first}` and `{second}` have the same token")]
    DuplicateToken { first: String, second: String },
    #[error("--token: account `{account}` is given twice")]
    DuplicateAccount { account: String },
    #[error("--reject only applies to a provider's API; add --provider NAME or drop --reject")]
    RejectWithoutProvider,
    #[error("--reject: a pattern is empty; give a recipient or a pattern such as `*@bounce.test`")]
    EmptyRejectPattern,
    #[error("--mailgun-429 only applies with --provider mailgun")]
    Mailgun429WithoutMailgun,
    #[error("--smtp-user: expected NAME=PASSWORD, e.g. alice=s3cret")]
    SmtpUserFormat,
    #[error("--smtp-user: a user name is empty; use NAME=PASSWORD")]
    SmtpEmptyUser,
    #[error("--smtp-user: the password of user `{user}` is empty")]
    SmtpEmptyPassword { user: String },
    #[error("--smtp-user: user `{user}` is given twice")]
    SmtpDuplicateUser { user: String },
    #[error(
        "--smtp-reject/--smtp-drop: `{pattern}` is not an address pattern; write one without spaces, e.g. *@bounce.test"
    )]
    SmtpPattern { pattern: String },
}

impl SandboxConfig {
    /// Check the probabilities and the tokens.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (flag, value) in [
            ("--fail-rate", self.fail_rate),
            ("--drop-rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::Probability { flag, value });
            }
        }
        if self.tokens.is_empty() {
            return Err(ConfigError::NoTokens);
        }
        if !self.reject.is_empty() && self.provider == Provider::Default {
            return Err(ConfigError::RejectWithoutProvider);
        }
        if self.reject.iter().any(|pattern| pattern.trim().is_empty()) {
            return Err(ConfigError::EmptyRejectPattern);
        }
        if self.mailgun_429 && self.provider != Provider::Mailgun {
            return Err(ConfigError::Mailgun429WithoutMailgun);
        }
        for (index, (account, token)) in self.tokens.iter().enumerate() {
            if account.is_empty() {
                return Err(ConfigError::EmptyAccount);
            }
            if token.is_empty() {
                return Err(ConfigError::EmptyToken {
                    account: account.clone(),
                });
            }
            if token.chars().any(char::is_whitespace) {
                return Err(ConfigError::TokenWhitespace {
                    account: account.clone(),
                });
            }
            for (other_account, other_token) in &self.tokens[..index] {
                if other_token == token {
                    return Err(ConfigError::DuplicateToken {
                        first: other_account.clone(),
                        second: account.clone(),
                    });
                }
                if other_account == account {
                    return Err(ConfigError::DuplicateAccount {
                        account: account.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    pub(crate) fn fault_rates(&self) -> FaultRates {
        FaultRates {
            fail_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            latency: self.latency,
        }
    }

    /// Any fault enabled (the seed is then worth printing).
    pub fn has_faults(&self) -> bool {
        self.fail_rate > 0.0 || self.drop_rate > 0.0 || self.latency.is_some_and(|d| !d.is_zero())
    }
}

/// One `--token` value: `TOKEN` or `NAME=TOKEN`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub account: Option<String>,
    pub token: String,
}

impl FromStr for TokenSpec {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<TokenSpec, ConfigError> {
        let (account, token) = match text.split_once('=') {
            Some((account, token)) => (Some(account.trim().to_string()), token.trim()),
            None => (None, text.trim()),
        };
        if account.as_deref() == Some("") {
            return Err(ConfigError::EmptyAccount);
        }
        if token.is_empty() {
            return Err(ConfigError::EmptyToken {
                account: account.unwrap_or_default(),
            });
        }
        Ok(TokenSpec {
            account,
            token: token.to_string(),
        })
    }
}

impl fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSpec")
            .field("account", &self.account)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Name the tokens: the n-th `--token` without a name is account `token<n>`,
/// counting every `--token` flag, named or not. No flags: the demo token.
pub fn accounts_from_specs(specs: &[TokenSpec]) -> Vec<(String, String)> {
    if specs.is_empty() {
        return vec![(DEMO_ACCOUNT.to_string(), DEMO_TOKEN.to_string())];
    }
    specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let account = spec
                .account
                .clone()
                .unwrap_or_else(|| format!("token{}", index + 1));
            (account, spec.token.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TokenSpec {
        text.parse().unwrap()
    }

    #[test]
    fn token_specs_parse_with_and_without_names() {
        assert_eq!(
            spec("abc"),
            TokenSpec {
                account: None,
                token: "abc".into()
            }
        );
        assert_eq!(
            spec("alice=abc=def"),
            TokenSpec {
                account: Some("alice".into()),
                token: "abc=def".into()
            }
        );
        assert_eq!("=abc".parse::<TokenSpec>(), Err(ConfigError::EmptyAccount));
        assert!(matches!(
            "bob=".parse::<TokenSpec>(),
            Err(ConfigError::EmptyToken { .. })
        ));
        assert!(matches!(
            "".parse::<TokenSpec>(),
            Err(ConfigError::EmptyToken { .. })
        ));
    }

    #[test]
    fn unnamed_tokens_are_numbered_by_position() {
        let specs = [spec("t-one"), spec("alice=t-two"), spec("t-three")];
        assert_eq!(
            accounts_from_specs(&specs),
            vec![
                ("token1".to_string(), "t-one".to_string()),
                ("alice".to_string(), "t-two".to_string()),
                ("token3".to_string(), "t-three".to_string()),
            ]
        );
        assert_eq!(accounts_from_specs(&[]), SandboxConfig::default().tokens);
    }

    #[test]
    fn validation_names_the_flag() {
        let config = |f: fn(&mut SandboxConfig)| {
            let mut config = SandboxConfig::default();
            f(&mut config);
            config.validate()
        };
        assert_eq!(config(|_| {}), Ok(()));
        let error = config(|c| c.fail_rate = 1.5).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--fail-rate must be between 0 and 1, got 1.5"
        );
        assert!(
            config(|c| c.drop_rate = -0.1)
                .unwrap_err()
                .to_string()
                .contains("--drop-rate")
        );
        assert!(config(|c| c.drop_rate = f64::NAN).is_err());
        assert_eq!(config(|c| c.tokens.clear()), Err(ConfigError::NoTokens));
        let duplicate = config(|c| c.tokens.push(("other".into(), DEMO_TOKEN.into())));
        assert_eq!(
            duplicate,
            Err(ConfigError::DuplicateToken {
                first: "demo".into(),
                second: "other".into()
            })
        );
        assert!(!duplicate.unwrap_err().to_string().contains(DEMO_TOKEN));
        assert!(matches!(
            config(|c| c.tokens.push(("demo".into(), "x".into()))),
            Err(ConfigError::DuplicateAccount { .. })
        ));
        assert!(matches!(
            config(|c| c.tokens.push(("x".into(), "a b".into()))),
            Err(ConfigError::TokenWhitespace { .. })
        ));
    }

    #[test]
    fn provider_options_need_their_provider() {
        let config = |f: fn(&mut SandboxConfig)| {
            let mut config = SandboxConfig::default();
            f(&mut config);
            config.validate()
        };
        assert_eq!(
            config(|c| c.reject.push("*@x.io".into())),
            Err(ConfigError::RejectWithoutProvider)
        );
        assert_eq!(
            config(|c| {
                c.provider = Provider::Slack;
                c.reject.push("*@x.io".into());
            }),
            Ok(())
        );
        assert_eq!(
            config(|c| {
                c.provider = Provider::Slack;
                c.reject.push(" ".into());
            }),
            Err(ConfigError::EmptyRejectPattern)
        );
        assert_eq!(
            config(|c| {
                c.provider = Provider::Resend;
                c.mailgun_429 = true;
            }),
            Err(ConfigError::Mailgun429WithoutMailgun)
        );
        assert_eq!(
            config(|c| {
                c.provider = Provider::Mailgun;
                c.mailgun_429 = true;
            }),
            Ok(())
        );
        assert!(
            ConfigError::RejectWithoutProvider
                .to_string()
                .contains("--provider")
        );
    }

    #[test]
    fn debug_never_shows_tokens() {
        let text = format!("{:?} {:?}", SandboxConfig::default(), spec("alice=s3cret"));
        assert!(
            !text.contains(DEMO_TOKEN) && !text.contains("s3cret"),
            "{text}"
        );
        assert!(text.contains("demo") && text.contains("alice"), "{text}");
    }
}
