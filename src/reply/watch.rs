//! Reading the inboxes while `send` or `resume` runs: each inbox on its
//! own interval, the first check at once (replies that came in between
//! runs stop people before their next message).
//!
//! An IMAP server that is down or refuses the login never stops sending:
//! the first failure is one warning naming the server and what to check,
//! later ones are retried quietly with growing waits (the interval doubled
//! per failure, at most ten minutes), and the run's summary says since when
//! replies were not checked. A server that comes back is said once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::JoinHandle;

use super::campaign::{self, CampaignFacts};
use super::inbox::{Inbox, describe, gather};
use crate::account::Account;
use crate::send::account::AccountWork;
use crate::state::location::Location;

/// The longest wait between attempts at a failing server.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The longest wait for the server's answer to one command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The watch over every inbox of a run.
pub struct ReplyWatch {
    tasks: Vec<JoinHandle<()>>,
    health: Vec<Arc<Mutex<Health>>>,
}

/// How one inbox is doing.
#[derive(Debug, Clone)]
struct Health {
    label: String,
    /// The last successful check, or the run's start before the first.
    checked_until: DateTime<Utc>,
    /// The error of the latest check, if it failed.
    failing: Option<String>,
}

/// Start watching the inboxes of `work`'s accounts (those with an `imap`
/// table), recording stops in `journal` (a file or a campaign in
/// PostgreSQL). `None` when no account has one.
pub fn start(journal: Location, work: &[AccountWork]) -> anyhow::Result<Option<ReplyWatch>> {
    let accounts: Vec<(Account, Option<crate::send::api::Token>)> = work
        .iter()
        .map(|account| (account.rules.clone(), Some(account.token.clone())))
        .collect();
    let inboxes = gather(&accounts)?;
    if inboxes.is_empty() {
        return Ok(None);
    }
    let saved: Vec<Account> = accounts.into_iter().map(|(account, _)| account).collect();
    let facts = campaign::read(&journal, &saved)?;
    let facts = Arc::new(AsyncMutex::new(facts));
    let now = Utc::now();
    let mut watch = ReplyWatch {
        tasks: Vec::new(),
        health: Vec::new(),
    };
    for inbox in inboxes {
        say!(
            "replies: reading {} ({}) every {} for account {}",
            inbox.label(),
            inbox.settings.mailbox,
            humantime::format_duration(inbox.settings.poll_interval),
            inbox.accounts.join(", ")
        );
        let health = Arc::new(Mutex::new(Health {
            label: inbox.label(),
            checked_until: now,
            failing: None,
        }));
        watch.health.push(Arc::clone(&health));
        watch.tasks.push(tokio::spawn(poll(
            inbox,
            Arc::clone(&facts),
            journal.clone(),
            health,
        )));
    }
    Ok(Some(watch))
}

impl ReplyWatch {
    /// Stop watching; the lines for the run's summary (an inbox not
    /// checked since some time), with times in `zone`.
    pub fn finish(self, zone: Tz) -> Vec<String> {
        for task in &self.tasks {
            task.abort();
        }
        self.health
            .iter()
            .filter_map(|health| {
                let health = health.lock().ok()?.clone();
                let error = health.failing?;
                Some(format!(
                    "replies to {} were not checked since {} ({error})",
                    health.label,
                    health.checked_until.with_timezone(&zone).format("%H:%M")
                ))
            })
            .collect()
    }
}

async fn poll(
    mut inbox: Inbox,
    facts: Arc<AsyncMutex<CampaignFacts>>,
    journal: Location,
    health: Arc<Mutex<Health>>,
) {
    let interval = inbox.settings.poll_interval;
    let mut failures: u32 = 0;
    loop {
        let started = Utc::now();
        let result = {
            let mut facts = facts.lock().await;
            inbox
                .check(&mut facts, &journal, COMMAND_TIMEOUT, started)
                .await
        };
        match result {
            Ok(checked) => {
                if failures > 0 {
                    say!("replies: {} can be read again", inbox.label());
                }
                failures = 0;
                for (found, report) in &checked.stopped {
                    say!("{}", describe(found, report));
                }
                for (found, error) in &checked.unrecorded {
                    say!(
                        "cannot record the stop of {} ({}): {error}; the next check tries again",
                        found.recipient,
                        found.reason
                    );
                }
                if let Ok(mut health) = health.lock() {
                    health.checked_until = started;
                    health.failing = None;
                }
            }
            Err(error) => {
                if failures == 0 {
                    say!(
                        "warning: replies are not being checked: {error}; {}. Sending continues; \
                         outreach keeps trying.",
                        error.hint()
                    );
                }
                failures = failures.saturating_add(1);
                if let Ok(mut health) = health.lock() {
                    health.failing = Some(error.to_string());
                }
            }
        }
        tokio::time::sleep(wait(interval, failures)).await;
    }
}

/// The wait before the next check: the interval, doubled per failure in
/// a row, at most [`MAX_BACKOFF`] (or the interval, if longer).
fn wait(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    let doubled = interval.saturating_mul(1 << failures.min(16));
    doubled.min(MAX_BACKOFF.max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_a_cap() {
        let minute = Duration::from_secs(60);
        assert_eq!(wait(minute, 0), minute);
        assert_eq!(wait(minute, 1), 2 * minute);
        assert_eq!(wait(minute, 3), 8 * minute);
        assert_eq!(wait(minute, 30), MAX_BACKOFF);
        let hour = Duration::from_secs(3600);
        assert_eq!(wait(hour, 5), hour, "never shorter than the interval");
    }
}
