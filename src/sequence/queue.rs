//! One account's queue of first messages and follow-ups, in the order they
//! go out: the one rule the planner and the executor share.
//!
//! First messages wait in plan order. A follow-up waits for the previous
//! step to its recipient to go out (the planner: its slot; the executor: the
//! real send), then for its delay; once due it competes for the account's
//! next slot, and a due follow-up goes before a new first message of the same
//! or a lower priority: people already in conversation come first. A
//! follow-up whose previous step never goes out (failed, uncertain, stopped)
//! stays behind, unsent.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::StepDelay;
use crate::window::WindowSet;

/// Hashes the integer keys of waiting follow-ups (seqs, queue positions)
/// with one multiplication: they are not chosen by an adversary, and SipHash
/// was half the cost of holding and releasing a follow-up.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = (self.0 ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A follow-up still waiting for its previous step; followers of one step
/// are chained through `next` (almost always one: no list to allocate).
#[derive(Debug)]
struct Blocked {
    entry: usize,
    delay: StepDelay,
    zone: Option<Tz>,
    next: Option<Box<Blocked>>,
}

/// A due follow-up's rank in the ready heap (largest first): priority,
/// then the earliest due, then queue order; the last field is its index.
type ReadyKey = (i64, Reverse<DateTime<Utc>>, Reverse<usize>, usize);

/// Where an item is, by index into `StepQueue::items`.
#[derive(Debug)]
struct Item<T> {
    value: Option<T>,
    priority: i64,
    /// Queue order, the last tie-break.
    order: usize,
    due: DateTime<Utc>,
}

/// The next item to send, and when it became due (None: a first message,
/// due at its planned time).
#[derive(Debug)]
pub struct Next<T> {
    pub item: T,
    pub due: Option<DateTime<Utc>>,
    /// The slot `slot_of` gave it (so the caller need not ask again).
    pub slot: DateTime<Utc>,
}

/// See the module docs. `T` is the planner's queue item or the executor's job.
#[derive(Debug)]
pub struct StepQueue<T> {
    items: Vec<Item<T>>,
    /// First messages, in plan order; `fresh[next_fresh..]` remain.
    fresh: Vec<usize>,
    next_fresh: usize,
    /// Follow-ups with a due time, earliest first.
    waiting: BinaryHeap<Reverse<(DateTime<Utc>, usize, usize)>>,
    /// Due follow-ups: highest priority, then earliest due, then order.
    ready: BinaryHeap<ReadyKey>,
    /// Follow-ups by the key of the step they follow.
    blocked: HashMap<u64, Blocked, BuildHasherDefault<KeyHasher>>,
    blocked_count: usize,
}

impl<T> Default for StepQueue<T> {
    fn default() -> Self {
        StepQueue {
            items: Vec::new(),
            fresh: Vec::new(),
            next_fresh: 0,
            waiting: BinaryHeap::new(),
            ready: BinaryHeap::new(),
            blocked: HashMap::default(),
            blocked_count: 0,
        }
    }
}

impl<T> StepQueue<T> {
    fn add(&mut self, value: T, priority: i64, due: DateTime<Utc>) -> usize {
        let index = self.items.len();
        self.items.push(Item {
            value: Some(value),
            priority,
            order: index,
            due,
        });
        index
    }

    /// A first message (or anything due at its planned time), after those
    /// added before.
    pub fn push_first(&mut self, value: T, priority: i64) {
        let index = self.add(value, priority, DateTime::<Utc>::MIN_UTC);
        self.fresh.push(index);
    }

    /// A follow-up already due at `due` (its previous step went out before).
    pub fn push_due(&mut self, value: T, priority: i64, due: DateTime<Utc>) {
        let index = self.add(value, priority, due);
        let order = self.items[index].order;
        self.waiting.push(Reverse((due, order, index)));
    }

    /// A follow-up of the step keyed `previous`, due `delay` after it goes
    /// out; `zone` reads business days (None: the caller's zone).
    pub fn push_after(
        &mut self,
        value: T,
        priority: i64,
        previous: u64,
        delay: StepDelay,
        zone: Option<Tz>,
    ) {
        let entry = self.add(value, priority, DateTime::<Utc>::MAX_UTC);
        let mut follower = Blocked {
            entry,
            delay,
            zone,
            next: None,
        };
        if let Some(earlier) = self.blocked.remove(&previous) {
            follower.next = Some(Box::new(earlier));
        }
        self.blocked.insert(previous, follower);
        self.blocked_count += 1;
    }

    /// The step keyed `previous` went out at `sent`: its follow-ups start
    /// their delay; `released` hears of each with its due time (to
    /// announce it).
    pub fn sent(
        &mut self,
        previous: u64,
        sent: DateTime<Utc>,
        windows: &WindowSet,
        zone: &Tz,
        mut released: impl FnMut(&T, DateTime<Utc>),
    ) {
        let mut follower = self.blocked.remove(&previous);
        while let Some(Blocked {
            entry,
            delay,
            zone: own_zone,
            next,
        }) = follower
        {
            self.blocked_count -= 1;
            let due = delay.due(sent, windows, own_zone.as_ref().unwrap_or(zone));
            let item = &mut self.items[entry];
            item.due = due;
            self.waiting.push(Reverse((due, item.order, entry)));
            if let Some(value) = item.value.as_ref() {
                released(value, due);
            }
            follower = next.map(|boxed| *boxed);
        }
    }

    /// The step keyed `previous` will not go out in this run: its
    /// follow-ups stay unsent. Returns how many.
    pub fn not_sent(&mut self, previous: u64) -> usize {
        // They stay counted in `remaining`: unsent, still pending.
        let mut count = 0;
        let mut follower = self.blocked.get(&previous);
        while let Some(blocked) = follower {
            count += 1;
            follower = blocked.next.as_deref();
        }
        count
    }

    /// The first messages not yet returned, in plan order (to announce
    /// them, or to claim those due right after the current one).
    pub fn first_messages(&self) -> impl Iterator<Item = &T> {
        self.fresh[self.next_fresh..]
            .iter()
            .filter_map(|&index| self.items[index].value.as_ref())
    }

    /// Items not yet returned, blocked follow-ups included.
    pub fn remaining(&self) -> usize {
        (self.fresh.len() - self.next_fresh)
            + self.waiting.len()
            + self.ready.len()
            + self.blocked_count
    }

    /// Items that can still go out in this run (blocked ones excluded).
    pub fn runnable(&self) -> usize {
        self.remaining() - self.blocked_count
    }

    /// Moves follow-ups due at or before `at` to the ready heap.
    fn promote(&mut self, at: DateTime<Utc>) {
        while let Some(Reverse((due, order, index))) = self.waiting.peek().copied() {
            if due > at {
                break;
            }
            self.waiting.pop();
            let priority = self.items[index].priority;
            self.ready
                .push((priority, Reverse(due), Reverse(order), index));
        }
    }

    fn take(&mut self, index: usize, slot: DateTime<Utc>) -> Option<Next<T>> {
        let item = &mut self.items[index];
        let due = (item.due != DateTime::<Utc>::MIN_UTC).then_some(item.due);
        Some(Next {
            item: item.value.take()?,
            due,
            slot,
        })
    }

    /// The next item to send. `slot_of(item, due)` tells when the account
    /// could send `item` (due at `due`, or a first message when None),
    /// without taking the slot.
    pub fn next(
        &mut self,
        mut slot_of: impl FnMut(&T, Option<DateTime<Utc>>) -> DateTime<Utc>,
    ) -> Option<Next<T>> {
        if let Some(&head) = self.fresh.get(self.next_fresh) {
            let head_value = self.items[head].value.as_ref()?;
            let fresh_at = slot_of(head_value, None);
            self.promote(fresh_at);
            if let Some(&(priority, Reverse(due), _, index)) = self.ready.peek()
                && priority >= self.items[head].priority
                && let Some(value) = self.items[index].value.as_ref()
            {
                let ready_at = slot_of(value, Some(due));
                if ready_at <= fresh_at {
                    self.ready.pop();
                    return self.take(index, ready_at);
                }
            }
            self.next_fresh += 1;
            return self.take(head, fresh_at);
        }
        if self.ready.is_empty() {
            let Reverse((earliest, _, _)) = *self.waiting.peek()?;
            self.promote(earliest);
        }
        // Anything due by the time the first ready one could go competes.
        let &(_, Reverse(due), _, first) = self.ready.peek()?;
        let first_at = slot_of(self.items[first].value.as_ref()?, Some(due));
        self.promote(first_at);
        let (_, Reverse(due), _, index) = self.ready.pop()?;
        let at = if index == first {
            first_at
        } else {
            slot_of(self.items[index].value.as_ref()?, Some(due))
        };
        self.take(index, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        "2026-12-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::TimeDelta::minutes(minute)
    }

    /// Drains the queue with one slot a minute from minute 0, as the account
    /// would; returns (item, minute).
    fn drain(mut queue: StepQueue<&'static str>) -> Vec<(String, i64)> {
        let windows = WindowSet::always();
        let mut next_free = 0i64;
        let mut out = Vec::new();
        while let Some(next) = queue.next(|_, due| {
            let due_minute = due.map_or(0, |d| (d - at(0)).num_minutes());
            at(next_free.max(due_minute))
        }) {
            let due_minute = next.due.map_or(0, |d| (d - at(0)).num_minutes());
            let minute = next_free.max(due_minute);
            out.push((next.item.to_string(), minute));
            queue.sent(
                key(next.item),
                at(minute),
                &windows,
                &chrono_tz::UTC,
                |_, _| {},
            );
            next_free = minute + 1;
        }
        out
    }

    fn key(name: &str) -> u64 {
        name.bytes().map(u64::from).sum()
    }

    #[test]
    fn first_messages_keep_plan_order() {
        let mut queue = StepQueue::default();
        for name in ["a", "b", "c"] {
            queue.push_first(name, 0);
        }
        let order = drain(queue);
        assert_eq!(order, [("a".into(), 0), ("b".into(), 1), ("c".into(), 2)]);
    }

    #[test]
    fn a_due_follow_up_goes_before_new_first_messages() {
        let mut queue = StepQueue::default();
        for name in ["a", "b", "c", "d", "e"] {
            queue.push_first(name, 0);
        }
        // a's follow-up is due 2 minutes after a went out (minute 0).
        queue.push_after("a2", 0, key("a"), StepDelay::Elapsed(120_000), None);
        let order = drain(queue);
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "a2", "c", "d", "e"]);
        assert_eq!(order[2].1, 2);
    }

    #[test]
    fn a_higher_priority_first_message_goes_before_a_follow_up() {
        let mut queue = StepQueue::default();
        queue.push_first("a", 1);
        queue.push_first("vip", 5);
        queue.push_after("a2", 1, key("a"), StepDelay::Elapsed(0), None);
        let names: Vec<String> = drain(queue).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "vip", "a2"]);
    }

    #[test]
    fn follow_ups_wait_for_their_delay_when_nothing_else_is_left() {
        let mut queue = StepQueue::default();
        queue.push_first("a", 0);
        queue.push_first("b", 0);
        queue.push_after("b2", 0, key("b"), StepDelay::Elapsed(600_000), None);
        queue.push_after("a2", 0, key("a"), StepDelay::Elapsed(600_000), None);
        queue.push_after("a3", 0, key("a2"), StepDelay::Elapsed(60_000), None);
        let order = drain(queue);
        assert_eq!(
            order,
            [
                ("a".into(), 0),
                ("b".into(), 1),
                ("a2".into(), 10),
                ("b2".into(), 11),
                ("a3".into(), 12)
            ]
        );
    }

    #[test]
    fn a_follow_up_of_a_step_that_never_went_out_stays_behind() {
        let mut queue: StepQueue<&str> = StepQueue::default();
        queue.push_first("a", 0);
        queue.push_after("a2", 0, key("a"), StepDelay::Elapsed(0), None);
        assert_eq!(queue.remaining(), 2);
        let next = queue.next(|_, _| at(0)).unwrap();
        assert_eq!(next.item, "a");
        assert_eq!(queue.not_sent(key("a")), 1);
        assert!(queue.next(|_, _| at(0)).is_none());
        assert_eq!(queue.remaining(), 1);
        assert_eq!(queue.runnable(), 0);
    }

    #[test]
    fn an_already_due_follow_up_competes_from_its_due_time() {
        let mut queue = StepQueue::default();
        queue.push_first("a", 0);
        queue.push_due("z2", 0, at(0));
        let names: Vec<String> = drain(queue).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["z2", "a"]);
    }
}
