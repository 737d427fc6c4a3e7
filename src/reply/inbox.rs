//! One inbox checked once: fetch what arrived since the campaign started,
//! classify it, find the recipients it stops, and record the stops in the
//! journal (the same stop as `outreach stop`: safe while a sender runs).
//!
//! Inboxes are gathered from the accounts: SMTP accounts with an `imap`
//! table, accounts sharing one inbox (same server, login and mailbox) read
//! it once. The secret is the variable `imap` names, else the account's
//! token; it is handed to the login and nowhere else.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::campaign::CampaignFacts;
use super::classify::{Verdict, classify};
use super::client::{self, ImapError};
use super::matching::Found;
use super::settings::{ImapSettings, from_choice};
use crate::account::Account;
use crate::journal::stops::recipient_key;
use crate::journal::{StopReport, StopRequest, StopTarget};
use crate::send::api::Token;
use crate::state::location::Location;
use crate::stop::command::stop_in_journal;

/// One inbox to read.
pub struct Inbox {
    pub settings: ImapSettings,
    secret: Token,
    /// The accounts it serves, for messages.
    pub accounts: Vec<String>,
    /// UIDs already read (under `uid_validity`).
    seen: HashSet<u32>,
    uid_validity: Option<u32>,
}

/// An inbox that cannot be read as configured.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("{0} (in outreach.toml)")]
    Settings(#[from] super::settings::ImapSettingsError),
    #[error(
        "no IMAP secret for account `{account}`: set the environment variable {variable} (`imap.{key}`); nothing was sent"
    )]
    MissingSecret {
        account: String,
        variable: String,
        key: &'static str,
    },
}

/// What one check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Messages read this time.
    pub read: usize,
    /// Automatic answers (never a stop).
    pub automatic: usize,
    /// Stops recorded, with what the journal did.
    pub stopped: Vec<(Found, StopReport)>,
    /// Stops that could not be recorded (the next check tries again).
    pub unrecorded: Vec<(Found, String)>,
}

/// The inboxes of `accounts`, each account with its token (`None`: read
/// the account's `token_env` now).
pub fn gather(accounts: &[(Account, Option<Token>)]) -> Result<Vec<Inbox>, InboxError> {
    let mut inboxes: Vec<Inbox> = Vec::new();
    for (account, token) in accounts {
        let Some(settings) = from_choice(&account.channel, "channel")? else {
            continue;
        };
        let secret = match &settings.secret_env {
            Some(variable) => read_env(variable, account, &settings)?,
            None => match token {
                Some(token) => token.clone(),
                None => read_env(&account.token_env, account, &settings)?,
            },
        };
        match inboxes
            .iter_mut()
            .find(|inbox| inbox.settings.inbox_key() == settings.inbox_key())
        {
            Some(inbox) => inbox.accounts.push(account.name.clone()),
            None => inboxes.push(Inbox {
                settings,
                secret,
                accounts: vec![account.name.clone()],
                seen: HashSet::new(),
                uid_validity: None,
            }),
        }
    }
    Ok(inboxes)
}

fn read_env(
    variable: &str,
    account: &Account,
    settings: &ImapSettings,
) -> Result<Token, InboxError> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Ok(Token::new(value.trim().to_string())),
        _ => Err(InboxError::MissingSecret {
            account: account.name.clone(),
            variable: variable.to_string(),
            key: if settings.auth == crate::channel::smtp::AuthMethod::Xoauth2 {
                "token_env"
            } else {
                "password_env"
            },
        }),
    }
}

impl Inbox {
    /// `user at host:port`, for messages.
    pub fn label(&self) -> String {
        format!("{} at {}", self.settings.username, self.settings.label())
    }

    /// Read what is new, record the stops it asks for in `journal` (a
    /// file or a campaign in PostgreSQL).
    /// `facts.stopped` grows with each recorded stop.
    pub async fn check(
        &mut self,
        facts: &mut CampaignFacts,
        journal: &Location,
        timeout: Duration,
        now: DateTime<Utc>,
    ) -> Result<Checked, ImapError> {
        let mut session = client::open(&self.settings, &self.secret, timeout).await?;
        if session.uid_validity != self.uid_validity {
            self.seen.clear();
            self.uid_validity = session.uid_validity;
        }
        let fetched = session.fetch_since(facts.since, &self.seen).await;
        session.logout().await;
        let mut checked = Checked::default();
        for message in fetched? {
            checked.read += 1;
            let verdict = classify(&message.header, message.body.as_deref());
            if matches!(verdict, Verdict::Automatic { .. }) {
                checked.automatic += 1;
            }
            let mut all_recorded = true;
            for found in facts.index.decide(&verdict) {
                let key = recipient_key(&found.recipient);
                if facts.stopped.contains(&key) {
                    continue;
                }
                let request = StopRequest {
                    targets: vec![StopTarget::Recipient(found.recipient.clone())],
                    reason: found.reason.clone(),
                    source: format!("inbox {}: {}", self.label(), found.evidence),
                    at: now,
                };
                let journal = journal.clone();
                let recorded =
                    tokio::task::spawn_blocking(move || stop_in_journal(&journal, &request)).await;
                match recorded {
                    Ok(Ok(report)) => {
                        facts.stopped.insert(key);
                        checked.stopped.push((found, report));
                    }
                    Ok(Err(error)) => {
                        all_recorded = false;
                        checked.unrecorded.push((found, error.to_string()));
                    }
                    Err(error) => {
                        all_recorded = false;
                        checked.unrecorded.push((found, error.to_string()));
                    }
                }
            }
            if all_recorded {
                self.seen.insert(message.uid);
            }
        }
        Ok(checked)
    }
}

/// The line for one stop: who, why, and what told.
pub fn describe(found: &Found, report: &StopReport) -> String {
    let skipped = report.messages_stopped();
    let messages = match skipped {
        0 => String::from("no message left to skip"),
        1 => String::from("1 message skipped"),
        n => format!("{n} messages skipped"),
    };
    format!(
        "stopped {}: {} ({}; {messages})",
        found.recipient, found.reason, found.evidence
    )
}
