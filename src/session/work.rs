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
mod tests {
    use super::*;
    use crate::journal::MessageState;
    use crate::send::api::Token;
    use chrono::TimeZone;
    use std::time::Duration;

    fn account(name: &str, rate: &str) -> Account {
        Account {
            name: name.into(),
            rate: rate.parse().unwrap(),
            daily_cap: None,
            token_env: format!("{}_TOKEN", name.to_uppercase()),
            channel: Default::default(),
            warmup: None,
        }
    }

    fn token(name: &str) -> AccountChannel {
        // Never called: these tests only build work.
        let api = crate::send::api::HttpApi::new("http://127.0.0.1:9/", Duration::from_secs(1));
        AccountChannel {
            account: name.into(),
            api: std::sync::Arc::new(api.unwrap()),
            token: Token::new(format!("secret-{name}")),
            source: format!("${}_TOKEN", name.to_uppercase()),
        }
    }

    fn message(seq: u64, account: &str, at: DateTime<Utc>) -> NewMessage {
        NewMessage {
            seq,
            line: seq + 2,
            recipient: format!("r{seq}@example.test"),
            account: account.into(),
            subject: Some("Hi".into()),
            body: format!("body {seq}"),
            idempotency_key: format!("key-{seq}"),
            planned_at: at,
            row_digest: String::new(),
            timezone: Some("Europe/Berlin".into()),
            html: None,
            fields: Default::default(),
            sequence: Default::default(),
        }
    }

    fn pending(message: NewMessage) -> StoredMessage {
        StoredMessage {
            message,
            state: MessageState::Pending,
            attempts: 0,
            last_attempt_at: None,
            last_status: None,
            sent_at: None,
            api_message_id: None,
            failure_reason: None,
        }
    }

    /// Always open, in UTC, no jitter.
    fn utc_pacing<'a>(accounts: &'a [Account], windows: &'a WindowSet) -> Pacing<'a> {
        Pacing {
            accounts,
            windows,
            timezone: chrono_tz::UTC,
            jitter: 0.0,
            seed: [0; 32],
            steps: &[],
            domain_cap: None,
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
    }

    #[test]
    fn a_job_carries_its_message_unchanged() {
        let job = job(message(7, "a", t0()), Ready::First);
        assert_eq!(job.seq, 7);
        assert_eq!(job.recipient, "r7@example.test");
        assert_eq!(job.message.payload.recipients, vec!["r7@example.test"]);
        assert_eq!(job.message.payload.body, "body 7");
        assert_eq!(job.message.idempotency_key, "key-7");
        assert_eq!(job.planned_at, t0());
        assert_eq!(job.timezone, Some(chrono_tz::Europe::Berlin));
    }

    #[test]
    fn new_work_pairs_messages_and_tokens_with_accounts_by_name() {
        let accounts = [account("a", "10/h"), account("b", "10/h")];
        // Tokens in the other order: pairing must not depend on position.
        let tokens = [token("b"), token("a")];
        let messages = vec![
            message(0, "b", t0()),
            message(1, "a", t0()),
            message(2, "b", t0()),
        ];
        let work = work_from_new(&accounts, messages, &tokens, &[]);
        assert_eq!(work.len(), 2);
        assert_eq!(work[0].rules.name, "a");
        assert_eq!(work[0].token_source, "$A_TOKEN");
        let seqs = |w: &AccountWork| w.jobs.iter().map(|j| j.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&work[0]), vec![1]);
        assert_eq!(seqs(&work[1]), vec![0, 2]);
    }

    #[test]
    fn replanning_counts_each_accounts_own_history() {
        // `b` sent 2 of its 2/h in the last minutes; `a` sent nothing.
        let accounts = [account("a", "2/h"), account("b", "2/h")];
        let now = t0();
        let mut history = History::new();
        history.insert(
            "b".into(),
            vec![
                now - chrono::TimeDelta::minutes(10),
                now - chrono::TimeDelta::minutes(5),
            ],
        );
        let windows = WindowSet::always();
        let pacing = utc_pacing(&accounts, &windows);
        let pending = vec![pending(message(0, "a", now)), pending(message(1, "b", now))];
        let work = replan(
            pending,
            &pacing,
            &history,
            &[token("a"), token("b")],
            &PreviousSteps::new(),
            now,
        )
        .unwrap();
        let a = &work[0].jobs[0];
        let b = &work[1].jobs[0];
        assert_eq!(a.seq, 0);
        assert!(
            a.planned_at < now + chrono::TimeDelta::minutes(1),
            "{}",
            a.planned_at
        );
        // b waits until its oldest send leaves the rolling hour.
        assert!(
            b.planned_at >= now + chrono::TimeDelta::minutes(50),
            "{}",
            b.planned_at
        );
        assert_eq!(work[1].history.len(), 2);
    }

    #[test]
    fn a_message_of_an_unknown_account_is_refused_with_its_line() {
        let accounts = [account("a", "10/h")];
        let windows = WindowSet::always();
        let pacing = utc_pacing(&accounts, &windows);
        let error = replan(
            vec![pending(message(3, "gone", t0()))],
            &pacing,
            &History::new(),
            &[token("a")],
            &PreviousSteps::new(),
            t0(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "message 3 (line 5) belongs to account `gone`, which this campaign does not have"
        );
    }
}
