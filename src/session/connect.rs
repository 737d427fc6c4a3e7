//! Where messages go: the endpoint and every account's token, resolved
//! before anything is written or sent, so a missing token stops the run with
//! nothing done.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::account::Account;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::send::api::{AccountToken, HttpApi, MessageApi, Token, endpoint_label};

/// The API used when neither `--endpoint` nor the config names one.
pub const DEFAULT_ENDPOINT: &str = "https://api.linkedin.com/v2/messages";
/// The endpoint value that runs the local sandbox in-process.
pub const SANDBOX_ENDPOINT: &str = "sandbox";

/// Where messages go, and the tokens to use for each account.
pub struct Target {
    pub api: Arc<dyn MessageApi>,
    pub tokens: Vec<AccountToken>,
    /// The embedded sandbox, when the endpoint is `sandbox`; shut down last.
    pub sandbox: Option<Sandbox>,
    pub endpoint: String,
}

/// `--endpoint`, else the configured (or saved) endpoint, else the default.
pub fn choose_endpoint(flag: Option<&str>, configured: Option<&str>) -> String {
    flag.or(configured).unwrap_or(DEFAULT_ENDPOINT).to_string()
}

/// Resolve `endpoint` and every account's token.
pub async fn connect(
    accounts: &[Account],
    endpoint: &str,
    timeout: Duration,
) -> anyhow::Result<Target> {
    if endpoint == SANDBOX_ENDPOINT {
        return embedded_sandbox(accounts, timeout).await;
    }
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        bail!(
            "endpoint `{endpoint}` is not a URL; use https://host/v2/messages, or `sandbox` for the local demo API"
        );
    }
    let tokens = tokens_from_environment(accounts)?;
    let api = HttpApi::new(endpoint, timeout)?;
    say!("endpoint: {}", endpoint_label(endpoint));
    Ok(Target {
        api: Arc::new(api),
        tokens,
        sandbox: None,
        endpoint: endpoint.to_string(),
    })
}

/// Every account's token from the variable it names; all missing ones in one error.
fn tokens_from_environment(accounts: &[Account]) -> anyhow::Result<Vec<AccountToken>> {
    let mut tokens = Vec::new();
    let mut missing = Vec::new();
    for account in accounts {
        match std::env::var(&account.token_env) {
            Ok(value) if !value.trim().is_empty() => tokens.push(AccountToken {
                account: account.name.clone(),
                token: Token::new(value.trim().to_string()),
                source: format!("the environment variable {}", account.token_env),
            }),
            _ => missing.push(format!(
                "{} (account `{}`)",
                account.token_env, account.name
            )),
        }
    }
    if !missing.is_empty() {
        bail!(
            "no API token: set the environment variable {} before sending; nothing was sent. \
             Tokens are read only from the environment, never from flags or files",
            missing.join(", ")
        );
    }
    Ok(tokens)
}

/// A sandbox inside this process, limited like the fastest account, with a
/// made-up token per account (nothing leaves the machine).
async fn embedded_sandbox(accounts: &[Account], timeout: Duration) -> anyhow::Result<Target> {
    let tokens: Vec<(String, String)> = accounts
        .iter()
        .map(|account| {
            (
                account.name.clone(),
                format!("sandbox-{}", blake3::hash(account.name.as_bytes()).to_hex()),
            )
        })
        .collect();
    let fastest = accounts
        .iter()
        .map(|a| a.rate)
        .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
        .unwrap_or(crate::rate::Rate::DEFAULT);
    let config = SandboxConfig {
        limit: fastest,
        tokens: tokens.clone(),
        quiet: true,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, 0)
        .await
        .context("cannot start the embedded sandbox")?;
    let api = HttpApi::new(&sandbox.url(), timeout)?;
    say!(
        "endpoint: the embedded sandbox at {} (nothing leaves this machine)",
        sandbox.url()
    );
    Ok(Target {
        api: Arc::new(api),
        tokens: tokens
            .into_iter()
            .map(|(account, token)| AccountToken {
                account,
                token: Token::new(token),
                source: "the embedded sandbox".to_string(),
            })
            .collect(),
        sandbox: Some(sandbox),
        endpoint: SANDBOX_ENDPOINT.to_string(),
    })
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
            name: "default".into(),
            rate: crate::rate::Rate::DEFAULT,
            daily_cap: None,
            token_env: "OUTREACH_TEST_TOKEN_THAT_IS_NEVER_SET".into(),
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
            name: name.into(),
            rate: crate::rate::Rate::DEFAULT,
            daily_cap: None,
            token_env: env.into(),
        };
        let error = tokens_from_environment(&[
            account("a", "OUTREACH_TEST_UNSET_A"),
            account("b", "OUTREACH_TEST_UNSET_B"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("OUTREACH_TEST_UNSET_A (account `a`)"),
            "{error}"
        );
        assert!(
            error.contains("OUTREACH_TEST_UNSET_B (account `b`)"),
            "{error}"
        );
        assert!(error.contains("nothing was sent"), "{error}");
    }
}
