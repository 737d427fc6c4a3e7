//! Journal rows become per-account work: the one place a stored message
//! turns into a [`Job`] the executor sends.
//!
//! A new campaign's work keeps the times just planned; a resumed campaign's
//! pending messages are planned again from now, with the sends made before
//! the interruption handed to the slot generator as history, so a campaign
//! that sent 20 in the last hour of a 20/h limit waits instead of bursting.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::account::Account;
use crate::journal::{MessageState, NewMessage, PreviousStep, StoredMessage};
use crate::plan::{self, PlanSettings, QueueItem, Ready};
use crate::send::account::{AccountWork, Job};
use crate::send::api::{AccountChannel, MessagePayload, OutgoingMessage};
use crate::sequence::{Step, StepDelay};
use crate::window::WindowSet;

/// Each account's earlier sends in this campaign, by account name.
pub type History = HashMap<String, Vec<DateTime<Utc>>>;

/// How the remaining messages of a resumed campaign are paced.
#[derive(Debug, Clone)]
pub struct Pacing<'a> {
    pub accounts: &'a [Account],
    pub windows: &'a WindowSet,
    pub timezone: Tz,
    pub jitter: f64,
    pub seed: [u8; 32],
    /// The campaign's `[[steps]]` (empty without a sequence).
    pub steps: &'a [Step],
    /// `per_domain_daily_cap`, with what was sent today.
    pub domain_cap: Option<crate::plan::domain_cap::DomainCap>,
}

/// The delay of follow-up `step` (None for step 1, or a step the
/// campaign does not declare).
pub fn delay_of(steps: &[Step], step: u32) -> Option<StepDelay> {
    let index = usize::try_from(step).ok()?.checked_sub(1)?;
    steps.get(index)?.after
}

/// What became of the previous steps that pending follow-ups wait for, by seq.
pub type PreviousSteps = HashMap<u64, PreviousStep>;

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

/// The job that sends `message` at its planned time; a follow-up waits for
/// its previous step (`ready`).
pub fn job(message: NewMessage, ready: Ready) -> Job {
    let timezone = zone_of(&message);
    Job {
        seq: message.seq,
        step: message.sequence.step,
        priority: message.sequence.priority,
        ready,
        message: OutgoingMessage {
            payload: MessagePayload {
                recipients: vec![message.recipient.clone()],
                subject: message.subject,
                body: message.body,
            },
            idempotency_key: message.idempotency_key,
            html: message.html,
            fields: message.fields,
        },
        recipient: message.recipient,
        planned_at: message.planned_at,
        timezone,
    }
}

/// The recipient's own zone, when the CSV gave one this build knows.
fn zone_of(message: &NewMessage) -> Option<Tz> {
    message
        .timezone
        .as_deref()
        .and_then(|zone| zone.parse().ok())
}

/// One empty work list per account that has a channel, in account order.
fn work_lists(
    accounts: &[Account],
    channels: &[AccountChannel],
    history: &History,
) -> Vec<AccountWork> {
    // `connect` resolved a channel for every account, or failed.
    accounts
        .iter()
        .filter_map(|account| {
            let channel = channels.iter().find(|c| c.account == account.name)?;
            Some(AccountWork {
                rules: account.clone(),
                api: std::sync::Arc::clone(&channel.api),
                token: channel.token.clone(),
                token_source: channel.source.clone(),
                jobs: Vec::new(),
                history: history.get(&account.name).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// Per-account work from a new campaign's messages, in plan order; each
/// follow-up waits for its previous step's real send.
pub fn work_from_new(
    accounts: &[Account],
    messages: Vec<NewMessage>,
    channels: &[AccountChannel],
    steps: &[Step],
) -> Vec<AccountWork> {
    let mut work = work_lists(accounts, channels, &History::new());
    for message in messages {
        let ready = match (
            message.sequence.previous,
            delay_of(steps, message.sequence.step),
        ) {
            (Some(previous), Some(delay)) => Ready::After {
                previous: previous as usize,
                delay,
            },
            _ => Ready::First,
        };
        if let Some(account) = work.iter_mut().find(|w| w.rules.name == message.account) {
            account.jobs.push(job(message, ready));
        }
    }
    work
}

/// When a pending message may go out on resume, by queue index: a first
/// message in its turn; a follow-up after its pending previous step (whose
/// queue index `index_of` gives), or `after` its previous step's real send;
/// None when the previous step will not go out (failed, uncertain, skipped):
/// the follow-up then waits, pending, for a retry of that step.
fn resume_readiness(
    message: &NewMessage,
    pacing: &Pacing<'_>,
    previous_steps: &PreviousSteps,
    index_of: &HashMap<u64, usize>,
) -> Option<Ready> {
    let (Some(previous), Some(delay)) = (
        message.sequence.previous,
        delay_of(pacing.steps, message.sequence.step),
    ) else {
        return Some(Ready::First);
    };
    if let Some(&index) = index_of.get(&previous) {
        return Some(Ready::After {
            previous: index,
            delay,
        });
    }
    let found = previous_steps.get(&previous)?;
    let sent_at = found
        .sent_at
        .filter(|_| found.state == MessageState::Sent)?;
    let zone = zone_of(message).unwrap_or(pacing.timezone);
    Some(Ready::Due(delay.due(sent_at, pacing.windows, &zone)))
}

/// Plan `pending` (in seq order) again from `now`, after `history`. Takes
/// the messages so their texts move into the jobs instead of being copied (a
/// resumed campaign may hold half a million).
pub fn replan(
    pending: Vec<StoredMessage>,
    pacing: &Pacing<'_>,
    history: &History,
    channels: &[AccountChannel],
    previous_steps: &PreviousSteps,
    now: DateTime<Utc>,
) -> Result<Vec<AccountWork>, UnknownAccount> {
    let index_of: HashMap<u64, usize> = pending
        .iter()
        .enumerate()
        .map(|(index, stored)| (stored.message.seq, index))
        .collect();
    let mut queue = Vec::with_capacity(pending.len());
    let mut readiness = Vec::with_capacity(pending.len());
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
        let mut ready = resume_readiness(message, pacing, previous_steps, &index_of);
        // A follow-up of a follow-up left out is left out too (a previous
        // step always has a lower seq: it was planned earlier).
        if let Some(Ready::After { previous, .. }) = ready
            && readiness.get(previous).is_none_or(Option::is_none)
        {
            ready = None;
        }
        readiness.push(ready);
        let Some(ready) = ready else {
            continue; // its previous step did not go out
        };
        queue.push(QueueItem {
            id: index,
            account,
            timezone: zone_of(message),
            key: &message.recipient,
            priority: message.sequence.priority,
            ready,
        });
    }
    // The planner keys follow-ups by queue position, which skips the
    // messages left out above.
    let position: HashMap<usize, usize> = queue
        .iter()
        .enumerate()
        .map(|(position, item)| (item.id, position))
        .collect();
    for item in &mut queue {
        if let Ready::After { previous, delay } = item.ready
            && let Some(&at) = position.get(&previous)
        {
            item.ready = Ready::After {
                previous: at,
                delay,
            };
        }
    }
    let settings = PlanSettings {
        start: now,
        timezone: pacing.timezone,
        windows: pacing.windows,
        jitter: pacing.jitter,
        seed: pacing.seed,
        accounts: pacing.accounts,
        domain_cap: pacing.domain_cap.clone(),
    };
    // The slot generator takes history by account position.
    let by_position: Vec<Vec<DateTime<Utc>>> = pacing
        .accounts
        .iter()
        .map(|account| history.get(&account.name).cloned().unwrap_or_default())
        .collect();
    let slots = plan::schedule(&settings, &queue, &by_position);
    drop(queue);
    let pending_seq: Vec<u64> = pending.iter().map(|stored| stored.message.seq).collect();
    let mut pending: Vec<Option<StoredMessage>> = pending.into_iter().map(Some).collect();
    let mut work = work_lists(pacing.accounts, channels, history);
    // Accounts are paired with their work by name, never by position.
    let work_of: Vec<Option<usize>> = pacing
        .accounts
        .iter()
        .map(|account| work.iter().position(|w| w.rules.name == account.name))
        .collect();
    for slot in slots {
        let Some(stored) = pending[slot.id].take() else {
            continue; // the plan has each message once
        };
        // The executor keys follow-ups by the previous step's seq.
        let ready = match readiness[slot.id] {
            Some(Ready::After { previous, delay }) => Ready::After {
                previous: pending_seq[previous] as usize,
                delay,
            },
            other => other.unwrap_or(Ready::First),
        };
        if let Some(index) = work_of[slot.account] {
            work[index].jobs.push(Job {
                planned_at: slot.at,
                ..job(stored.message, ready)
            });
        }
    }
    Ok(work)
}

#[cfg(test)]
#[path = "work_tests.rs"]
mod tests;
