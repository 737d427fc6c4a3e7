//! Pending messages from the journal become per-account work again, paced
//! from now.
//!
//! The sends made before the interruption are handed to the slot generator as
//! history, so a campaign that sent 20 in the last hour of a 20/h limit waits
//! instead of bursting when it resumes.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::account::Account;
use crate::journal::StoredMessage;
use crate::plan::{self, PlanSettings, QueueItem};
use crate::send::account::{AccountWork, Job};
use crate::send::api::{AccountToken, MessagePayload, OutgoingMessage};
use crate::window::WindowSet;

/// How the remaining messages are paced.
#[derive(Debug, Clone)]
pub struct Pacing<'a> {
    pub accounts: &'a [Account],
    pub windows: &'a WindowSet,
    pub timezone: Tz,
    pub jitter: f64,
    pub seed: [u8; 32],
}

/// A message names an account the campaign no longer has.
#[derive(Debug, thiserror::Error)]
#[error(
    "message {seq} (line {line}) belongs to account `{account}`, which this campaign does not have"
)]
pub struct UnknownAccount {
    pub seq: u64,
    pub line: u64,
    pub account: String,
}

/// Plan `pending` (in seq order) from `now`; `history[i]` are the earlier
/// sends of account `i`. Returns one work list per account, in account order.
/// Takes the messages so their texts move into the jobs instead of being
/// copied (a resumed campaign may hold half a million).
pub fn replan(
    pending: Vec<StoredMessage>,
    pacing: &Pacing<'_>,
    history: &[Vec<DateTime<Utc>>],
    tokens: &[AccountToken],
    now: DateTime<Utc>,
) -> Result<Vec<AccountWork>, UnknownAccount> {
    let mut queue = Vec::with_capacity(pending.len());
    for (index, stored) in pending.iter().enumerate() {
        let message = &stored.message;
        let account = pacing
            .accounts
            .iter()
            .position(|rules| rules.name == message.account)
            .ok_or_else(|| UnknownAccount {
                seq: message.seq,
                line: message.line,
                account: message.account.clone(),
            })?;
        queue.push(QueueItem {
            id: index,
            account,
            timezone: message
                .timezone
                .as_deref()
                .and_then(|zone| zone.parse().ok()),
            key: &message.recipient,
        });
    }
    let settings = PlanSettings {
        start: now,
        timezone: pacing.timezone,
        windows: pacing.windows,
        jitter: pacing.jitter,
        seed: pacing.seed,
        accounts: pacing.accounts,
    };
    let slots = plan::schedule(&settings, &queue, history);
    let timezones: Vec<Option<Tz>> = queue.iter().map(|item| item.timezone).collect();
    drop(queue);
    let mut pending: Vec<Option<StoredMessage>> = pending.into_iter().map(Some).collect();
    let mut work: Vec<AccountWork> = pacing
        .accounts
        .iter()
        .enumerate()
        .filter_map(|(index, rules)| {
            // `connect` resolved a token for every account, or failed.
            let token = tokens.iter().find(|t| t.account == rules.name)?;
            Some(AccountWork {
                rules: rules.clone(),
                token: token.token.clone(),
                token_source: token.source.clone(),
                jobs: Vec::new(),
                history: history.get(index).cloned().unwrap_or_default(),
            })
        })
        .collect();
    for slot in slots {
        let Some(stored) = pending[slot.id].take() else {
            continue; // the plan has each message once
        };
        let message = stored.message;
        work[slot.account].jobs.push(Job {
            seq: message.seq,
            recipient: message.recipient.clone(),
            message: OutgoingMessage {
                payload: MessagePayload {
                    recipients: vec![message.recipient],
                    subject: message.subject,
                    body: message.body,
                },
                idempotency_key: message.idempotency_key,
            },
            planned_at: slot.at,
            timezone: timezones[slot.id],
        });
    }
    Ok(work)
}
