//! The send plan: who gets a message, from which account, and when.
//!
//! Planning is a pure function of its inputs (including the start time), so
//! `outreach plan` shows exactly what `outreach send` will do, tests can check
//! exact times, and resume can re-plan the remaining messages from "now".
//!
//! Architecture:
//! - [`schedule`]: queue items in priority order -> slots in time order.
//! - [`slots::AccountSlots`]: one account's even spacing, windows, cap, jitter.
//! - [`jitter`]: reproducible random delays.
//! - `sequenced`: the schedule of follow-ups and of a per-domain daily cap,
//!   all accounts in time order through the executor's `StepQueue`.
//! - [`domain_cap`]: `per_domain_daily_cap`, shared by all accounts.

pub mod domain_cap;
pub mod jitter;
mod sequenced;
pub mod slots;
pub mod warmup;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::account::Account;
use crate::sequence::StepDelay;
use crate::window::WindowSet;
use domain_cap::DomainCap;
use slots::{AccountSlots, SlotRules};

/// Everything the schedule depends on besides the queue.
#[derive(Debug, Clone)]
pub struct PlanSettings<'a> {
    pub start: DateTime<Utc>,
    pub timezone: Tz,
    pub windows: &'a WindowSet,
    /// Jitter as a fraction of the interval, 0..=1.
    pub jitter: f64,
    /// Seeds the jitter; derived from the campaign's inputs.
    pub seed: [u8; 32],
    pub accounts: &'a [Account],
    /// `per_domain_daily_cap`, with the messages already counted (resume).
    pub domain_cap: Option<DomainCap>,
}

/// One message waiting for a slot.
#[derive(Debug, Clone)]
pub struct QueueItem<'a> {
    /// The caller's identifier (e.g. the row index), returned in the slot.
    pub id: usize,
    /// Index into [`PlanSettings::accounts`].
    pub account: usize,
    /// The recipient's own zone for send windows.
    pub timezone: Option<Tz>,
    /// Stable text for jitter (the recipient id).
    pub key: &'a str,
    /// Higher goes first; a due follow-up goes before a first message of
    /// the same priority.
    pub priority: i64,
    /// When the message may go out.
    pub ready: Ready,
}

/// When a queued message may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// In queue order (a first message).
    First,
    /// A follow-up due at this time (its previous step went out earlier).
    Due(DateTime<Utc>),
    /// A follow-up due `delay` after the queue item at index `previous`
    /// (same account) goes out.
    After { previous: usize, delay: StepDelay },
}

/// A planned send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub id: usize,
    pub account: usize,
    pub at: DateTime<Utc>,
}

/// Plan `queue` (already in priority order). `history[account]` lists sends
/// made earlier in the campaign, which count against each rolling window.
/// Slots come back sorted by time, then account, then queue order.
pub fn schedule(
    settings: &PlanSettings<'_>,
    queue: &[QueueItem<'_>],
    history: &[Vec<DateTime<Utc>>],
) -> Vec<Slot> {
    if settings.domain_cap.is_some() || queue.iter().any(|item| item.ready != Ready::First) {
        return sequenced::schedule(settings, queue, history);
    }
    let mut generators = generators(settings, history);
    let mut slots: Vec<(Slot, usize)> = queue
        .iter()
        .enumerate()
        .map(|(order, item)| {
            let fraction = jitter_fraction(settings, item);
            let at = generators[item.account].next(item.timezone.as_ref(), fraction);
            (
                Slot {
                    id: item.id,
                    account: item.account,
                    at,
                },
                order,
            )
        })
        .collect();
    slots.sort_unstable_by_key(|(slot, order)| (slot.at, slot.account, *order));
    slots.into_iter().map(|(slot, _)| slot).collect()
}

/// One slot generator per account, each after its account's history.
pub(crate) fn generators<'a>(
    settings: &PlanSettings<'a>,
    history: &[Vec<DateTime<Utc>>],
) -> Vec<AccountSlots<'a>> {
    settings
        .accounts
        .iter()
        .enumerate()
        .map(|(index, account)| {
            let rules = SlotRules {
                rate: account.rate,
                daily_cap: account.daily_cap,
                warmup: account.warmup,
                windows: settings.windows,
                timezone: settings.timezone,
                jitter: settings.jitter,
            };
            let past = history.get(index).map_or(&[][..], Vec::as_slice);
            AccountSlots::new(rules, settings.start, past)
        })
        .collect()
}

pub(crate) fn jitter_fraction(settings: &PlanSettings<'_>, item: &QueueItem<'_>) -> f64 {
    if settings.jitter > 0.0 {
        jitter::unit_fraction(&settings.seed, item.key)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, rate: &str) -> Account {
        Account::new(name, rate.parse().unwrap())
    }

    #[test]
    fn accounts_run_side_by_side() {
        let windows = WindowSet::default();
        let accounts = [account("a", "20/h"), account("b", "30/h")];
        let settings = PlanSettings {
            start: "2026-01-05T09:00:00Z".parse().unwrap(),
            timezone: chrono_tz::UTC,
            windows: &windows,
            jitter: 0.0,
            seed: [0; 32],
            accounts: &accounts,
            domain_cap: None,
        };
        let queue: Vec<QueueItem<'_>> = (0..6)
            .map(|id| QueueItem {
                id,
                account: id % 2,
                timezone: None,
                key: "x",
                priority: 0,
                ready: Ready::First,
            })
            .collect();
        let slots = schedule(&settings, &queue, &[]);
        let shown: Vec<(usize, String)> = slots
            .iter()
            .map(|s| (s.id, s.at.format("%H:%M").to_string()))
            .collect();
        assert_eq!(
            shown,
            [
                (0, "09:00".into()),
                (1, "09:00".into()),
                (3, "09:02".into()),
                (2, "09:03".into()),
                (5, "09:04".into()),
                (4, "09:06".into())
            ]
        );
    }
}
