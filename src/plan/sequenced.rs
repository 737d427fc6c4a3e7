//! The schedule when messages wait for each other or share a limit: follow-
//! ups (each due `after` its previous step's slot: the tentative plan) and a
//! per-domain daily cap across accounts.
//!
//! Every account takes its slots from its own generator, in the order its
//! [`StepQueue`] gives (the executor's order), and the accounts advance
//! together in time order, so the shared [`DomainCap`] sees the messages in
//! the order they will go. A message its domain's cap holds back waits for
//! the next day as a due item, and the account's slot goes to the next one.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

use super::domain_cap::DomainCap;
use super::{PlanSettings, QueueItem, Ready, Slot, generators, jitter_fraction};
use crate::sequence::{Next, StepQueue};

/// See the module docs. Follow-ups whose previous step is not in the queue
/// and not already due are left out.
pub(super) fn schedule(
    settings: &PlanSettings<'_>,
    queue: &[QueueItem<'_>],
    history: &[Vec<DateTime<Utc>>],
) -> Vec<Slot> {
    let mut generators = generators(settings, history);
    let mut domains: Option<DomainCap> = settings.domain_cap.clone();
    let mut queues: Vec<StepQueue<usize>> = (0..settings.accounts.len())
        .map(|_| StepQueue::default())
        .collect();
    for (order, item) in queue.iter().enumerate() {
        let Some(account_queue) = queues.get_mut(item.account) else {
            continue;
        };
        match item.ready {
            Ready::First => account_queue.push_first(order, item.priority),
            Ready::Due(due) => account_queue.push_due(order, item.priority, due),
            Ready::After { previous, delay } => account_queue.push_after(
                order,
                item.priority,
                previous as u64,
                delay,
                item.timezone,
            ),
        }
    }
    // Each account's next message and its slot; the earliest goes first.
    let mut current: Vec<Option<(Next<usize>, DateTime<Utc>)>> =
        (0..queues.len()).map(|_| None).collect();
    let mut earliest: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = BinaryHeap::new();
    let refill = |account: usize,
                  queues: &mut Vec<StepQueue<usize>>,
                  current: &mut Vec<Option<(Next<usize>, DateTime<Utc>)>>,
                  earliest: &mut BinaryHeap<Reverse<(DateTime<Utc>, usize)>>,
                  generator: &super::slots::AccountSlots<'_>| {
        let peek = |order: &usize, due: Option<DateTime<Utc>>| {
            let item = &queue[*order];
            generator.peek(due, item.timezone.as_ref(), jitter_fraction(settings, item))
        };
        if let Some(next) = queues[account].next(peek) {
            let at = next.slot;
            earliest.push(Reverse((at, account)));
            current[account] = Some((next, at));
        }
    };
    for (account, generator) in generators.iter().enumerate() {
        refill(account, &mut queues, &mut current, &mut earliest, generator);
    }
    let mut slots: Vec<(Slot, usize)> = Vec::with_capacity(queue.len());
    while let Some(Reverse((at, account))) = earliest.pop() {
        let Some((next, _)) = current[account].take() else {
            continue;
        };
        let item = &queue[next.item];
        if let Some(domains) = domains.as_mut() {
            if !domains.has_room(item.key, at) {
                // Held back to the next day; the slot goes to the next message.
                let tomorrow = domains.next_day(at);
                queues[account].push_due(next.item, item.priority, tomorrow);
                refill(
                    account,
                    &mut queues,
                    &mut current,
                    &mut earliest,
                    &generators[account],
                );
                continue;
            }
            domains.record(item.key, at);
        }
        // The slot was peeked for this message and nothing was taken since.
        debug_assert_eq!(
            generators[account].peek(
                next.due,
                item.timezone.as_ref(),
                jitter_fraction(settings, item)
            ),
            at
        );
        generators[account].take_peeked(at);
        let taken = at;
        queues[account].sent(
            next.item as u64,
            taken,
            settings.windows,
            &settings.timezone,
            |_, _| {},
        );
        slots.push((
            Slot {
                id: item.id,
                account,
                at: taken,
            },
            next.item,
        ));
        refill(
            account,
            &mut queues,
            &mut current,
            &mut earliest,
            &generators[account],
        );
    }
    slots.sort_unstable_by_key(|(slot, order)| (slot.at, slot.account, *order));
    slots.into_iter().map(|(slot, _)| slot).collect()
}

#[cfg(test)]
mod tests {
    use super::super::schedule;
    use super::*;
    use crate::account::Account;
    use crate::window::WindowSet;

    #[test]
    fn a_domains_cap_holds_its_messages_to_the_next_day_across_accounts() {
        let windows = WindowSet::always();
        let accounts = [
            Account::new("a", "60/h".parse().unwrap()),
            Account::new("b", "60/h".parse().unwrap()),
        ];
        let start: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
        let settings = PlanSettings {
            start,
            timezone: chrono_tz::UTC,
            windows: &windows,
            jitter: 0.0,
            seed: [0; 32],
            accounts: &accounts,
            domain_cap: Some(DomainCap::new(2, chrono_tz::UTC, [])),
        };
        let keys = ["1@acme.io", "2@acme.io", "3@ACME.io", "4@other.io", "urn:x"];
        let queue: Vec<QueueItem<'_>> = keys
            .iter()
            .enumerate()
            .map(|(id, key)| QueueItem {
                id,
                account: id % 2,
                timezone: None,
                key,
                priority: 0,
                ready: Ready::First,
            })
            .collect();
        let slots = schedule(&settings, &queue, &[]);
        let at = |id: usize| slots.iter().find(|slot| slot.id == id).unwrap().at;
        assert_eq!(at(0), start);
        assert_eq!(at(1), start);
        // acme.io has had its two today: account a's third acme message
        // waits for the next day and urn:x (also a's) takes its slot.
        assert_eq!(
            at(2),
            "2026-12-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(at(4), start + chrono::TimeDelta::minutes(1));
        assert_eq!(at(3), start + chrono::TimeDelta::minutes(1));
        assert_eq!(slots.len(), keys.len());
    }
}
