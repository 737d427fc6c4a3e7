//! The slot generator of one account: even spacing, the rolling-window
//! invariant, send windows, the daily cap and jitter.
//!
//! Each call to [`AccountSlots::next`] returns the earliest instant that is
//! (1) at least one interval after the previous send, (2) at least one period
//! after the send N places back (so no window of PERIOD holds more than N, even
//! counting sends made before a resume), (3) inside a send window, and (4) on a
//! day whose cap is not reached. Jitter only ever delays a slot, so it cannot
//! break (1) or (2).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use super::warmup::Warmup;
use crate::rate::Rate;
use crate::window::WindowSet;

/// The rules of one account's schedule.
#[derive(Debug, Clone)]
pub struct SlotRules<'a> {
    pub rate: Rate,
    pub daily_cap: Option<u32>,
    /// The daily cap's ramp, counted in days with sends (with `daily_cap`).
    pub warmup: Option<Warmup>,
    pub windows: &'a WindowSet,
    /// The zone of the daily cap and of windows for recipients without their own.
    pub timezone: Tz,
    /// Extra delay of up to this fraction of the interval (0 = none).
    pub jitter: f64,
}

/// Generates one account's send times in order.
#[derive(Debug)]
pub struct AccountSlots<'a> {
    rules: SlotRules<'a>,
    interval: TimeDelta,
    period: TimeDelta,
    earliest: DateTime<Utc>,
    last: Option<DateTime<Utc>>,
    recent: VecDeque<DateTime<Utc>>,
    per_day: HashMap<NaiveDate, u32>,
}

fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl<'a> AccountSlots<'a> {
    /// Slots start at `start`; `history` holds sends made before (for resume),
    /// in any order.
    pub fn new(
        rules: SlotRules<'a>,
        start: DateTime<Utc>,
        history: &[DateTime<Utc>],
    ) -> AccountSlots<'a> {
        let mut sorted = history.to_vec();
        sorted.sort();
        let capacity = rules.rate.count as usize;
        let mut slots = AccountSlots {
            interval: delta(rules.rate.interval()),
            period: delta(rules.rate.period),
            earliest: start,
            last: None,
            recent: VecDeque::with_capacity(capacity.min(1024) + 1),
            per_day: HashMap::new(),
            rules,
        };
        for at in sorted {
            slots.record(at);
        }
        slots
    }

    fn record(&mut self, at: DateTime<Utc>) {
        self.last = Some(self.last.map_or(at, |last| last.max(at)));
        self.recent.push_back(at);
        if self.recent.len() > self.rules.rate.count as usize {
            self.recent.pop_front();
        }
        if self.rules.daily_cap.is_some() {
            let day = at.with_timezone(&self.rules.timezone).date_naive();
            *self.per_day.entry(day).or_default() += 1;
        }
    }

    /// The earliest time the rate allows, before windows, caps and jitter.
    fn rate_floor(&self) -> DateTime<Utc> {
        let mut floor = self.earliest;
        if let Some(last) = self.last {
            floor = floor.max(last + self.interval);
        }
        if self.recent.len() >= self.rules.rate.count as usize
            && let Some(oldest) = self.recent.front()
        {
            floor = floor.max(*oldest + self.period);
        }
        floor
    }

    /// The next slot for a recipient; `timezone` is the recipient's own zone
    /// for windows (None: the account's); `jitter_fraction` in `[0, 1)`.
    pub fn next(&mut self, timezone: Option<&Tz>, jitter_fraction: f64) -> DateTime<Utc> {
        self.next_due(None, timezone, jitter_fraction)
    }

    /// The next slot at or after `not_before` (which already holds any
    /// jitter): the executor asks this for every request, retries included,
    /// so real sends keep the same guarantees as the plan.
    pub fn next_not_before(
        &mut self,
        not_before: DateTime<Utc>,
        timezone: Option<&Tz>,
    ) -> DateTime<Utc> {
        let floor = self.rate_floor().max(not_before);
        self.take(floor, timezone)
    }

    /// The slot [`next_not_before`](Self::next_not_before) would return,
    /// without taking it.
    pub fn peek_not_before(
        &self,
        not_before: DateTime<Utc>,
        timezone: Option<&Tz>,
    ) -> DateTime<Utc> {
        self.find(self.rate_floor().max(not_before), timezone)
    }

    /// The request for the last slot left at `actual`: later slots are spaced
    /// from `actual` less the [`timer_tolerance`]. So timer lateness does not
    /// accumulate (a request on time leaves later slots on the plan), a stall
    /// moves later slots, and the account then catches up with the plan by at
    /// most the tolerance per request: never a burst, and never closer than
    /// `interval - tolerance` or more than N in `period - tolerance`.
    pub fn correct_last(&mut self, actual: DateTime<Utc>) {
        let counted = actual - timer_tolerance(self.interval);
        if let (Some(last), Some(back)) = (self.last.as_mut(), self.recent.back_mut()) {
            *last = counted;
            *back = counted;
        }
    }

    /// The slot [`next`](Self::next) would return for a message due at
    /// `due` (None: now), without taking it.
    pub fn peek(
        &self,
        due: Option<DateTime<Utc>>,
        timezone: Option<&Tz>,
        jitter_fraction: f64,
    ) -> DateTime<Utc> {
        self.find(self.floor(due, jitter_fraction), timezone)
    }

    /// Takes `at`, a slot [`peek`](Self::peek) just told (nothing taken
    /// since), without searching for it again.
    pub fn take_peeked(&mut self, at: DateTime<Utc>) {
        self.record(at);
    }

    /// Takes the slot [`peek`](Self::peek) tells.
    pub fn next_due(
        &mut self,
        due: Option<DateTime<Utc>>,
        timezone: Option<&Tz>,
        jitter_fraction: f64,
    ) -> DateTime<Utc> {
        let floor = self.floor(due, jitter_fraction);
        self.take(floor, timezone)
    }

    fn floor(&self, due: Option<DateTime<Utc>>, jitter_fraction: f64) -> DateTime<Utc> {
        let jitter = self.interval.as_seconds_f64() * self.rules.jitter * jitter_fraction;
        let floor = self.rate_floor() + TimeDelta::microseconds((jitter * 1e6) as i64);
        due.map_or(floor, |due| floor.max(due))
    }

    fn take(&mut self, floor: DateTime<Utc>, timezone: Option<&Tz>) -> DateTime<Utc> {
        let at = self.find(floor, timezone);
        self.record(at);
        at
    }

    /// The first instant at or after `floor` inside a window and under the
    /// day's cap.
    fn find(&self, floor: DateTime<Utc>, timezone: Option<&Tz>) -> DateTime<Utc> {
        let window_zone = timezone.copied().unwrap_or(self.rules.timezone);
        let mut at = floor;
        // Each pass moves to a later day, so a handful always suffices; the
        // bound only guards against a broken window set.
        for _ in 0..400 {
            at = self.rules.windows.next_open(at, &window_zone);
            let Some(cap) = self.rules.daily_cap else {
                break;
            };
            let day = at.with_timezone(&self.rules.timezone).date_naive();
            if self.per_day.get(&day).copied().unwrap_or(0) < self.cap_on(day, cap) {
                break;
            }
            at = start_of_day(&self.rules.timezone, day + Days::new(1)).max(at);
        }
        at
    }
}

impl AccountSlots<'_> {
    /// The cap of `day`: the daily cap, or the warm-up's after the days
    /// with sends before it (history included, so a resume continues the ramp).
    fn cap_on(&self, day: NaiveDate, cap: u32) -> u32 {
        match self.rules.warmup {
            None => cap,
            Some(warmup) => {
                let earlier = self
                    .per_day
                    .iter()
                    .filter(|(other, count)| **other < day && **count > 0)
                    .count();
                warmup.cap(u32::try_from(earlier).unwrap_or(u32::MAX), cap)
            }
        }
    }
}

/// How late a request may leave after its slot without moving later slots:
/// 2 ms (a timer tick and a wake-up), at most a tenth of the interval. Two
/// requests are therefore at least `interval - tolerance` apart; spacing each
/// from the previous request's real departure instead would add every
/// request's timer lateness to all later ones.
pub fn timer_tolerance(interval: TimeDelta) -> TimeDelta {
    (interval / 10).min(TimeDelta::milliseconds(2))
}

// Where a local day begins is the windows' business; the daily cap asks too.
pub use crate::window::start_of_day;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn rules<'a>(rate: &str, windows: &'a WindowSet) -> SlotRules<'a> {
        SlotRules {
            rate: rate.parse().unwrap(),
            daily_cap: None,
            warmup: None,
            windows,
            timezone: chrono_tz::UTC,
            jitter: 0.0,
        }
    }

    #[test]
    fn a_warm_up_raises_the_cap_per_day_with_sends_counting_history() {
        let windows = WindowSet::default();
        let warmup = crate::plan::warmup::Warmup {
            start: 2,
            step: 1,
            every_days: 1,
        };
        let rules = SlotRules {
            daily_cap: Some(3),
            warmup: Some(warmup),
            ..rules("60/h", &windows)
        };
        let mut slots = AccountSlots::new(rules.clone(), at("2026-01-05T09:00:00Z"), &[]);
        let days: Vec<String> = (0..8)
            .map(|_| slots.next(None, 0.0).format("%d").to_string())
            .collect();
        // 2 on day one, 3 (the cap) from day two.
        assert_eq!(days, ["05", "05", "06", "06", "06", "07", "07", "07"]);
        // Resumed after one earlier day with sends: the ramp goes on at 3.
        let history = [at("2026-01-02T10:00:00Z")];
        let mut resumed = AccountSlots::new(rules, at("2026-01-05T09:00:00Z"), &history);
        let days: Vec<String> = (0..4)
            .map(|_| resumed.next(None, 0.0).format("%d").to_string())
            .collect();
        assert_eq!(days, ["05", "05", "05", "06"]);
    }

    #[test]
    fn evenly_spaced_from_start() {
        let windows = WindowSet::default();
        let mut slots = AccountSlots::new(rules("20/h", &windows), at("2026-01-05T09:00:00Z"), &[]);
        let times: Vec<_> = (0..4).map(|_| slots.next(None, 0.0)).collect();
        assert_eq!(
            times,
            [
                at("2026-01-05T09:00:00Z"),
                at("2026-01-05T09:03:00Z"),
                at("2026-01-05T09:06:00Z"),
                at("2026-01-05T09:09:00Z")
            ]
        );
    }

    #[test]
    fn history_counts_against_the_rolling_window() {
        let windows = WindowSet::default();
        // 3/h, and 3 sends were made in the last 20 minutes before a resume.
        let history = [
            at("2026-01-05T08:40:00Z"),
            at("2026-01-05T08:50:00Z"),
            at("2026-01-05T09:00:00Z"),
        ];
        let mut slots =
            AccountSlots::new(rules("3/h", &windows), at("2026-01-05T09:01:00Z"), &history);
        assert_eq!(slots.next(None, 0.0), at("2026-01-05T09:40:00Z"));
        assert_eq!(slots.next(None, 0.0), at("2026-01-05T10:00:00Z"));
    }

    #[test]
    fn timer_lateness_does_not_accumulate_but_a_stall_moves_later_slots() {
        let windows = WindowSet::default();
        let start = at("2026-01-05T09:00:00Z");
        let mut slots = AccountSlots::new(rules("100/s", &windows), start, &[]);
        // Each request leaves 1 ms late, within the 1 ms tolerance at 100/s:
        // the slots stay on the plan's 10 ms grid.
        for k in 0..50 {
            let slot = slots.next(None, 0.0);
            assert_eq!(slot, start + TimeDelta::milliseconds(10 * k));
            slots.correct_last(slot + TimeDelta::milliseconds(1));
        }
        // A 30 ms stall moves the next slot by what exceeds the tolerance...
        let slot = slots.next(None, 0.0);
        assert_eq!(slot, start + TimeDelta::milliseconds(500));
        slots.correct_last(slot + TimeDelta::milliseconds(30));
        let mut slot = slots.next(None, 0.0);
        assert_eq!(slot, start + TimeDelta::milliseconds(500 + 30 - 1 + 10));
        // ...then requests on time catch up with the plan (540, 550, 560 ms)
        // by the tolerance each, never closer than 9 ms.
        let mut behind = Vec::new();
        for _ in 0..3 {
            slots.correct_last(slot);
            let next = slots.next(None, 0.0);
            assert_eq!(next - slot, TimeDelta::milliseconds(9));
            slot = next;
            behind.push(slot - start);
        }
        assert_eq!(
            behind,
            [
                TimeDelta::milliseconds(548),
                TimeDelta::milliseconds(557),
                TimeDelta::milliseconds(566)
            ]
        );
    }

    #[test]
    fn timer_tolerance_is_small_against_the_interval() {
        assert_eq!(
            timer_tolerance(TimeDelta::milliseconds(10)),
            TimeDelta::milliseconds(1)
        );
        assert_eq!(
            timer_tolerance(TimeDelta::minutes(3)),
            TimeDelta::milliseconds(2)
        );
    }

    #[test]
    fn daily_cap_moves_to_the_next_day() {
        let windows = WindowSet::default();
        let mut rules = rules("10/h", &windows);
        rules.daily_cap = Some(2);
        rules.timezone = chrono_tz::Europe::Berlin;
        let mut slots = AccountSlots::new(rules, at("2026-01-05T22:00:00Z"), &[]);
        assert_eq!(slots.next(None, 0.0), at("2026-01-05T22:00:00Z"));
        // 23:06 UTC is already Jan 6 in Berlin: a new day with its own cap.
        assert_eq!(slots.next(None, 0.0), at("2026-01-05T22:06:00Z"));
        assert_eq!(slots.next(None, 0.0), at("2026-01-05T23:00:00Z"));
    }

    #[test]
    fn jitter_only_delays() {
        let windows = WindowSet::default();
        let mut rules = rules("10/min", &windows);
        rules.jitter = 0.5;
        let mut slots = AccountSlots::new(rules, at("2026-01-05T09:00:00Z"), &[]);
        let first = slots.next(None, 0.5);
        assert_eq!(first, at("2026-01-05T09:00:01.500Z"));
        let second = slots.next(None, 0.0);
        assert_eq!(second, at("2026-01-05T09:00:07.500Z"));
    }

    #[test]
    fn start_of_day_in_a_zone() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(
            start_of_day(&chrono_tz::Europe::Berlin, day),
            at("2026-03-28T23:00:00Z")
        );
        // Midnight does not exist on this day in Santiago (DST starts at 00:00).
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            start_of_day(&chrono_tz::America::Santiago, day),
            at("2026-09-06T04:00:00Z")
        );
    }
}
