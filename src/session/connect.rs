//! Where messages go: every account's channel and token, resolved before
//! anything is written or sent, so a missing token stops the run with
//! nothing done. Channels and tokens are paired with accounts by name.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::account::Account;
use crate::channel::choice::ChannelChoice;
use crate::channel::open::{open, secret_purpose};
use crate::sandbox::{Provider, Sandbox, SandboxConfig, SmtpConfig, SmtpSandbox};
use crate::send::api::{AccountChannel, MessageApi, Token, endpoint_label};

/// The API used when neither `--endpoint` nor the config names one.
pub const DEFAULT_ENDPOINT: &str = "https://api.linkedin.com/v2/messages";
/// The endpoint value that runs the local sandbox in-process.
pub const SANDBOX_ENDPOINT: &str = "sandbox";

/// Where messages go: one channel per account.
pub struct Target {
    pub channels: Vec<AccountChannel>,
    /// The embedded sandboxes, when the endpoint is `sandbox`; shut down last.
    pub sandboxes: LocalServers,
    pub endpoint: String,
}

/// The servers the embedded sandbox runs for one campaign.
#[derive(Default)]
pub struct LocalServers {
    http: Vec<Sandbox>,
    smtp: Vec<SmtpSandbox>,
}

impl LocalServers {
    /// Stop them all (after the run: nothing is in flight any more).
    pub async fn shutdown(self) {
        for sandbox in self.http {
            sandbox.shutdown().await;
        }
        for sandbox in self.smtp {
            sandbox.shutdown().await;
        }
    }
}

/// `--endpoint`, else the configured (or saved) endpoint, else the default.
pub fn choose_endpoint(flag: Option<&str>, configured: Option<&str>) -> String {
    flag.or(configured).unwrap_or(DEFAULT_ENDPOINT).to_string()
}

/// Whether every account that needs a token has one, before anything is
/// written (`send --restart` moves the old journal aside only then).
pub fn check_tokens(accounts: &[Account], endpoint: &str) -> anyhow::Result<()> {
    if endpoint != SANDBOX_ENDPOINT {
        tokens_from_environment(accounts)?;
        check_inbox_secrets(accounts)?;
    }
    Ok(())
}

/// Resolve `endpoint` and every account's channel and token.
pub async fn connect(
    accounts: &[Account],
    endpoint: &str,
    timeout: Duration,
) -> anyhow::Result<Target> {
    if endpoint == SANDBOX_ENDPOINT {
        return embedded_sandbox(accounts, timeout).await;
    }
    let uses_api = accounts.iter().any(|a| a.channel.kind == "api");
    if uses_api && !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        bail!(
            "endpoint `{endpoint}` is not a URL; use https://host/v2/messages, or `sandbox` for the local demo API"
        );
    }
    let tokens = tokens_from_environment(accounts)?;
    check_inbox_secrets(accounts)?;
    let apis = open_channels(accounts, endpoint, timeout)?;
    if uses_api {
        say!("endpoint: {}", endpoint_label(endpoint));
    }
    for line in channel_lines(accounts) {
        say!("{line}");
    }
    Ok(Target {
        channels: pair(tokens, apis),
        sandboxes: LocalServers::default(),
        endpoint: endpoint.to_string(),
    })
}

/// Each account's channel, by name; HTTP accounts configured alike share
/// one client.
fn open_channels(
    accounts: &[Account],
    endpoint: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<(String, Arc<dyn MessageApi>)>> {
    let mut opened: Vec<(&ChannelChoice, Arc<dyn MessageApi>)> = Vec::new();
    let mut apis = Vec::with_capacity(accounts.len());
    for account in accounts {
        // An SMTP session is logged in as one account: never shared.
        let shared = opened
            .iter()
            .filter(|_| account.channel.kind != "smtp")
            .find(|(choice, _)| **choice == account.channel);
        let api = match shared {
            Some((_, api)) => Arc::clone(api),
            None => {
                // Checked at load, where errors name the exact key.
                let api = open(&account.channel, "channel", endpoint, None, timeout).with_context(
                    || format!("cannot open the channel of account `{}`", account.name),
                )?;
                opened.push((&account.channel, Arc::clone(&api)));
                api
            }
        };
        apis.push((account.name.clone(), api));
    }
    Ok(apis)
}

/// Tokens and channels of the same accounts, paired by name.
fn pair(
    tokens: Vec<(String, Token, String)>,
    apis: Vec<(String, Arc<dyn MessageApi>)>,
) -> Vec<AccountChannel> {
    tokens
        .into_iter()
        .filter_map(|(account, token, source)| {
            let api = apis.iter().find(|(name, _)| *name == account)?.1.clone();
            Some(AccountChannel {
                account,
                api,
                token,
                source,
            })
        })
        .collect()
}

/// One line per channel other than today's API, naming its accounts.
fn channel_lines(accounts: &[Account]) -> Vec<String> {
    let mut lines: Vec<(String, Vec<&str>)> = Vec::new();
    for account in accounts.iter().filter(|a| a.channel.kind != "api") {
        let described = account.channel.describe();
        match lines.iter_mut().find(|(line, _)| *line == described) {
            Some((_, names)) => names.push(&account.name),
            None => lines.push((described, vec![&account.name])),
        }
    }
    lines
        .into_iter()
        .map(|(channel, names)| format!("channel: {channel} (account {})", names.join(", ")))
        .collect()
}

/// Every inbox an `imap` table names has its secret (crate::reply), before
/// anything is written.
fn check_inbox_secrets(accounts: &[Account]) -> anyhow::Result<()> {
    let accounts: Vec<_> = accounts.iter().map(|a| (a.clone(), None)).collect();
    crate::reply::inbox::gather(&accounts)?;
    Ok(())
}

/// Every account's token from the variable it names, with where it came
/// from; all missing ones in one error.
fn tokens_from_environment(accounts: &[Account]) -> anyhow::Result<Vec<(String, Token, String)>> {
    let mut tokens = Vec::new();
    let mut missing = Vec::new();
    for account in accounts {
        let source = format!("the environment variable {}", account.token_env);
        match (
            std::env::var(&account.token_env),
            secret_purpose(&account.channel),
        ) {
            (Ok(value), _) if !value.trim().is_empty() => tokens.push((
                account.name.clone(),
                Token::new(value.trim().to_string()),
                source,
            )),
            // The channel can go without one (SMTP `auth = "none"`).
            (_, None) => tokens.push((account.name.clone(), Token::new(String::new()), source)),
            (_, Some(purpose)) => missing.push(format!(
                "{} (account `{}`, {purpose})",
                account.token_env, account.name
            )),
        }
    }
    if !missing.is_empty() {
        bail!(
            "no token: set the environment variable {} before sending; nothing was sent. \
             Tokens and passwords are read only from the environment, never from flags or files",
            missing.join(", ")
        );
    }
    Ok(tokens)
}

/// Sandboxes inside this process, one per kind of channel the accounts
/// use (today's API, or a provider's), each limited like its fastest
/// account, with a made-up token per account: nothing leaves the machine.
async fn embedded_sandbox(accounts: &[Account], timeout: Duration) -> anyhow::Result<Target> {
    let mut sandboxes: Vec<(String, Sandbox)> = Vec::new();
    let mut smtp = None;
    for account in accounts {
        let kind = &account.channel.kind;
        if kind == "smtp" {
            if smtp.is_none() {
                smtp = Some(smtp_sandbox(accounts).await?);
            }
            continue;
        }
        if sandboxes.iter().any(|(started, _)| started == kind) {
            continue;
        }
        let provider = sandbox_provider(kind)?;
        let group: Vec<&Account> = accounts
            .iter()
            .filter(|a| &a.channel.kind == kind)
            .collect();
        let fastest = group
            .iter()
            .map(|a| a.rate)
            .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
            .unwrap_or(crate::rate::Rate::DEFAULT);
        let config = SandboxConfig {
            limit: fastest,
            tokens: group
                .iter()
                .map(|a| (a.name.clone(), sandbox_token(a)))
                .collect(),
            quiet: true,
            provider,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config, 0)
            .await
            .context("cannot start the embedded sandbox")?;
        match provider {
            Provider::Default => say!(
                "endpoint: the embedded sandbox at {} (nothing leaves this machine)",
                sandbox.url()
            ),
            _ => say!(
                "endpoint: the embedded sandbox speaking {kind} at {} (nothing leaves this machine)",
                sandbox.base_url()
            ),
        }
        sandboxes.push((kind.clone(), sandbox));
    }
    let mut apis = Vec::with_capacity(accounts.len());
    for account in accounts {
        if let Some(smtp) = smtp.as_ref().filter(|_| account.channel.kind == "smtp") {
            let local = smtp_to_sandbox(&account.channel, smtp);
            let api = open(&local, "channel", "", None, timeout).with_context(|| {
                format!("cannot open the channel of account `{}`", account.name)
            })?;
            apis.push((account.name.clone(), api));
            continue;
        }
        let Some((_, sandbox)) = sandboxes
            .iter()
            .find(|(kind, _)| *kind == account.channel.kind)
        else {
            continue; // every kind was started above
        };
        let api = open(
            &account.channel,
            "channel",
            &sandbox.url(),
            Some(&sandbox.base_url()),
            timeout,
        )
        .with_context(|| format!("cannot open the channel of account `{}`", account.name))?;
        apis.push((account.name.clone(), api));
    }
    let tokens = accounts
        .iter()
        .map(|a| {
            let source = "the embedded sandbox".to_string();
            (a.name.clone(), Token::new(sandbox_token(a)), source)
        })
        .collect();
    Ok(Target {
        channels: pair(tokens, apis),
        sandboxes: LocalServers {
            http: sandboxes.into_iter().map(|(_, sandbox)| sandbox).collect(),
            smtp: smtp.into_iter().collect(),
        },
        endpoint: SANDBOX_ENDPOINT.to_string(),
    })
}

/// An SMTP server for the accounts that send e-mail, limited like the
/// fastest of them (per sender address).
async fn smtp_sandbox(accounts: &[Account]) -> anyhow::Result<SmtpSandbox> {
    let fastest = accounts
        .iter()
        .filter(|a| a.channel.kind == "smtp")
        .map(|a| a.rate)
        .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
        .unwrap_or(crate::rate::Rate::DEFAULT);
    let config = SmtpConfig {
        limit: fastest,
        quiet: true,
        ..SmtpConfig::default()
    };
    let sandbox = SmtpSandbox::start(config)
        .await
        .context("cannot start the embedded SMTP sandbox")?;
    say!(
        "endpoint: the embedded SMTP sandbox at {} (nothing leaves this machine)",
        sandbox.addr()
    );
    Ok(sandbox)
}

/// An SMTP account's settings pointed at the local server: plain, no login
/// (the sandbox needs none), everything else (from, reply-to, unsubscribe)
/// as configured.
fn smtp_to_sandbox(choice: &ChannelChoice, sandbox: &SmtpSandbox) -> ChannelChoice {
    let mut local = choice.clone();
    let settings = &mut local.settings;
    settings.insert("host".into(), toml::Value::String("127.0.0.1".into()));
    settings.insert(
        "port".into(),
        toml::Value::Integer(i64::from(sandbox.addr().port())),
    );
    settings.insert("tls".into(), toml::Value::String("none".into()));
    settings.insert("auth".into(), toml::Value::String("none".into()));
    settings.remove("username");
    settings.remove("root_certificate");
    local
}

/// The made-up token of an account in the embedded sandbox.
fn sandbox_token(account: &Account) -> String {
    format!("sandbox-{}", blake3::hash(account.name.as_bytes()).to_hex())
}

/// The sandbox personality for a channel type.
fn sandbox_provider(kind: &str) -> anyhow::Result<Provider> {
    let name = match kind {
        "api" => "default",
        "discord-webhook" | "discord-bot" => "discord",
        other => other,
    };
    match Provider::from_name(name) {
        Some(provider) => Ok(provider),
        None => bail!(
            "endpoint `sandbox` cannot imitate a `{kind}` channel; it speaks today's API and the presets ({}). \
             Point a declared channel's `url` at your own test server instead",
            crate::channel::http::presets::names()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_config_which_wins_over_the_default() {
        assert_eq!(
            choose_endpoint(Some("sandbox"), Some("http://x")),
            "sandbox"
        );
        assert_eq!(choose_endpoint(None, Some("http://x")), "http://x");
        assert_eq!(choose_endpoint(None, None), DEFAULT_ENDPOINT);
    }

    #[tokio::test]
    async fn an_endpoint_that_is_not_a_url_is_refused_before_tokens_are_read() {
        let accounts = [Account {
            token_env: "OUTREACH_TEST_TOKEN_THAT_IS_NEVER_SET".into(),
            ..Account::new("default", crate::rate::Rate::DEFAULT)
        }];
        let error = connect(&accounts, "api.example.test/v2", Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("is not a URL"), "{error}");
    }

    #[test]
    fn every_missing_token_is_named_in_one_error() {
        let account = |name: &str, env: &str| Account {
            token_env: env.into(),
            ..Account::new(name, crate::rate::Rate::DEFAULT)
        };
        let error = tokens_from_environment(&[
            account("a", "OUTREACH_TEST_UNSET_A"),
            account("b", "OUTREACH_TEST_UNSET_B"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("OUTREACH_TEST_UNSET_A (account `a`, its API token)"),
            "{error}"
        );
        assert!(
            error.contains("OUTREACH_TEST_UNSET_B (account `b`, its API token)"),
            "{error}"
        );
        assert!(error.contains("nothing was sent"), "{error}");
    }
}
