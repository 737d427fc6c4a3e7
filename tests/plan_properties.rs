//! Property tests of the planner (issue 2): whatever the rates, accounts,
//! windows, zones, caps and jitter, a plan never breaks the promises the
//! README makes about pacing.
//!
//! The invariants checked on every generated plan:
//!
//! - in any rolling window of PERIOD an account has at most N sends
//!   (`t[i + N] - t[i] >= PERIOD` over its sorted send times), counting sends
//!   made before a resume;
//! - consecutive sends of one account are at least PERIOD / N apart;
//! - every send is inside a send window, read in the recipient's zone or the
//!   plan's, and never on a skipped date (holiday) there;
//! - no account sends more than its daily cap on any calendar day of the
//!   plan's zone;
//! - the plan is sorted by time, starts no earlier than `start`, and gives
//!   every queue item exactly one slot on its own account;
//! - with follow-ups (`[[steps]]`), all of the above for every step
//!   together, and no follow-up before its delay after the step it follows;
//! - requests that leave late (as the executor reports them) never go before
//!   their plan, keep the pacing within the 2 ms timer tolerance, and
//!   lateness within the tolerance never accumulates.
//!
//! These run at library level (no process is spawned) so that hundreds of
//! cases finish in a few seconds; the case counts below keep the whole file
//! well under ten seconds in a debug build.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use outreach::account::Account;
use outreach::plan::slots::{AccountSlots, SlotRules, timer_tolerance};
use outreach::plan::warmup::Warmup;
use outreach::plan::{PlanSettings, QueueItem, Ready, Slot, schedule};
use outreach::rate::Rate;
use outreach::sequence::StepDelay;
use outreach::window::{SendWindow, SkipDates, WindowSet};

// ---------------------------------------------------------------- inputs

/// Zones with the awkward cases: DST both ways, half-hour and 45-minute
/// offsets, a midnight DST change (Santiago), a half-hour DST (Lord Howe).
const ZONES: [Tz; 9] = [
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Europe::Berlin,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::America::Santiago,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Pacific::Chatham,
    chrono_tz::Asia::Tokyo,
    chrono_tz::America::Sao_Paulo,
];

/// Instants just before DST changes of the zones above, where bugs hide.
const TRANSITIONS: [i64; 8] = [
    1_772_953_200, // 2026-03-08 07:00 UTC, New York springs forward
    1_774_746_000, // 2026-03-29 01:00 UTC, Berlin springs forward
    1_792_890_000, // 2026-10-25 01:00 UTC, Berlin falls back
    1_793_512_800, // 2026-11-01 06:00 UTC, New York falls back
    1_775_314_800, // 2026-04-04 15:00 UTC, Lord Howe falls back half an hour
    1_775_358_000, // 2026-04-05 03:00 UTC, Santiago falls back
    1_788_667_200, // 2026-09-06 04:00 UTC, Santiago springs forward at midnight
    1_790_431_200, // 2026-09-26 14:00 UTC, Chatham springs forward
];

const DAY_SPECS: [&str; 14] = [
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "mon-fri",
    "sat,sun",
    "fri-mon",
    "daily",
    "weekdays",
    "weekends",
    "mon,wed-fri",
];

fn start_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let anywhere = 1_735_689_600i64..1_893_456_000; // 2025..2030
    let near_change = (0..TRANSITIONS.len(), -4 * 86_400i64..2 * 86_400)
        .prop_map(|(index, delta)| TRANSITIONS[index] + delta);
    prop_oneof![anywhere, near_change]
        .prop_map(|seconds| DateTime::from_timestamp(seconds, 0).expect("in range"))
}

/// N per PERIOD with N in 1..50 and PERIOD from 1 s to 2 h (to the millisecond).
fn rate() -> impl Strategy<Value = Rate> {
    let period_ms = prop_oneof![
        1_000u64..=7_200_000,
        // Round periods, as people write them.
        prop::sample::select(vec![
            1_000u64, 60_000, 90_000, 3_600_000, 5_400_000, 7_200_000
        ]),
    ];
    (1u32..50, period_ms).prop_map(|(count, ms)| Rate::new(count, Duration::from_millis(ms)))
}

fn clock() -> impl Strategy<Value = String> {
    // Quarter hours line up with DST changes; any minute finds off-by-ones.
    prop_oneof![
        (0u16..24, 0u16..60).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        (0u16..96).prop_map(|q| format!("{:02}:{:02}", q / 4, (q % 4) * 15)),
    ]
}

/// A window as a user types it: `DAYS HH:MM-HH:MM`, possibly across midnight.
fn window_text() -> impl Strategy<Value = String> {
    (prop::sample::select(DAY_SPECS.to_vec()), clock(), clock())
        .prop_filter("start and end differ", |(_, start, end)| start != end)
        .prop_map(|(days, start, end)| format!("{days} {start}-{end}"))
}

/// Holidays on and around the DST changes above (where plans start), as
/// single dates and ranges.
const SKIP_CANDIDATES: [&str; 9] = [
    "2026-03-08",
    "2026-03-09..2026-03-10",
    "2026-03-29",
    "2026-03-28..2026-03-31",
    "2026-10-25",
    "2026-11-01..2026-11-03",
    "2026-04-04",
    "2026-04-05",
    "2026-09-06..2026-09-08",
];

/// 0 to 3 windows (none means always open), parsed from text, with 0 to 2
/// skipped dates or ranges.
fn windows() -> impl Strategy<Value = (Vec<String>, WindowSet)> {
    (
        prop::collection::vec(window_text(), 0..=3),
        prop::sample::subsequence(SKIP_CANDIDATES.to_vec(), 0..=2),
    )
        .prop_map(|(texts, skip)| {
            let parsed: Vec<SendWindow> = texts
                .iter()
                .map(|text| text.parse().expect("generated windows parse"))
                .collect();
            let skip = SkipDates::parse(&skip).expect("generated skip dates parse");
            let mut shown = texts.clone();
            shown.extend(skip.written().iter().map(|s| format!("skip {s}")));
            (shown, WindowSet::new(parsed).with_skip_dates(skip))
        })
}

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(ZONES.to_vec())
}

fn account() -> impl Strategy<Value = Account> {
    (
        rate(),
        prop::option::weighted(0.4, 1u32..8),
        prop::option::weighted(0.3, (1u32..4, 1u32..3, 1u32..3)),
    )
        .prop_map(|(rate, daily_cap, ramp)| Account {
            daily_cap,
            // A warm-up only with a cap, starting at or below it.
            warmup: daily_cap
                .zip(ramp)
                .map(|(cap, (start, step, every_days))| Warmup {
                    start: start.min(cap),
                    step,
                    every_days,
                }),
            ..Account::new("", rate)
        })
}

/// One queue entry before borrowing: account, recipient zone, key.
#[derive(Debug, Clone)]
struct Entry {
    account: usize,
    timezone: Option<Tz>,
    key: String,
    /// A follow-up: the entry it follows and how long after.
    follows: Option<(usize, StepDelay)>,
}

#[derive(Debug, Clone)]
struct Case {
    start: DateTime<Utc>,
    timezone: Tz,
    window_texts: Vec<String>,
    windows: WindowSet,
    jitter: f64,
    seed: [u8; 32],
    accounts: Vec<Account>,
    entries: Vec<Entry>,
}

fn jitter() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64]
}

fn case() -> impl Strategy<Value = Case> {
    (
        start_instant(),
        zone(),
        windows(),
        jitter(),
        any::<[u8; 32]>(),
        prop::collection::vec(account(), 1..=4),
    )
        .prop_flat_map(
            |(start, timezone, (window_texts, windows), jitter, seed, accounts)| {
                let count = accounts.len();
                let entry = (
                    0..count,
                    prop::option::weighted(0.3, zone()),
                    "[a-z0-9:]{1,12}",
                )
                    .prop_map(|(account, timezone, key)| Entry {
                        account,
                        timezone,
                        key,
                        follows: None,
                    });
                let mut accounts = accounts;
                for (index, account) in accounts.iter_mut().enumerate() {
                    account.name = format!("account{index}");
                }
                (
                    Just(Case {
                        start,
                        timezone,
                        window_texts,
                        windows,
                        jitter,
                        seed,
                        accounts,
                        entries: Vec::new(),
                    }),
                    prop::collection::vec(entry, 1..60),
                )
                    .prop_map(|(mut case, entries)| {
                        case.entries = entries;
                        case
                    })
            },
        )
}

fn delay() -> impl Strategy<Value = StepDelay> {
    prop_oneof![
        (0..3 * 86_400_000i64).prop_map(StepDelay::Elapsed),
        (0..4u32).prop_map(StepDelay::BusinessDays),
    ]
}

/// A case whose entries get follow-ups (a second and sometimes a third
/// step) on the same account, as `[[steps]]` makes them.
fn case_with_steps() -> impl Strategy<Value = Case> {
    case().prop_flat_map(|case| {
        let count = case.entries.len();
        (
            Just(case),
            prop::collection::vec(
                prop::option::weighted(0.5, (delay(), prop::option::weighted(0.3, delay()))),
                count,
            ),
        )
            .prop_map(|(mut case, steps)| {
                for (index, step) in steps.into_iter().enumerate() {
                    let Some((second, third)) = step else {
                        continue;
                    };
                    let first = case.entries[index].clone();
                    case.entries.push(Entry {
                        key: format!("{}+2", first.key),
                        follows: Some((index, second)),
                        ..first.clone()
                    });
                    if let Some(third) = third {
                        let previous = case.entries.len() - 1;
                        case.entries.push(Entry {
                            key: format!("{}+3", first.key),
                            follows: Some((previous, third)),
                            ..first
                        });
                    }
                }
                case
            })
    })
}

/// Every follow-up goes out no earlier than its delay after the slot of the
/// step it follows.
fn check_steps(case: &Case, slots: &[Slot]) -> Result<(), TestCaseError> {
    let mut at = vec![None; case.entries.len()];
    for slot in slots {
        at[slot.id] = Some(slot.at);
    }
    for (id, entry) in case.entries.iter().enumerate() {
        let Some((previous, delay)) = entry.follows else {
            continue;
        };
        let (Some(sent), Some(previous_at)) = (at[id], at[previous]) else {
            return Err(TestCaseError::fail(format!(
                "entry {id} or {previous} has no slot"
            )));
        };
        let zone = entry.timezone.unwrap_or(case.timezone);
        let due = delay.due(previous_at, &case.windows, &zone);
        prop_assert!(
            sent >= due,
            "follow-up {id} at {sent} is before its due {due} ({delay} after {previous_at})"
        );
    }
    Ok(())
}

impl Case {
    fn settings(&self) -> PlanSettings<'_> {
        PlanSettings {
            start: self.start,
            timezone: self.timezone,
            windows: &self.windows,
            jitter: self.jitter,
            seed: self.seed,
            accounts: &self.accounts,
            domain_cap: None,
        }
    }

    fn queue(&self) -> Vec<QueueItem<'_>> {
        self.entries
            .iter()
            .enumerate()
            .map(|(id, entry)| QueueItem {
                id,
                account: entry.account,
                timezone: entry.timezone,
                key: &entry.key,
                priority: 0,
                ready: match entry.follows {
                    Some((previous, delay)) => Ready::After { previous, delay },
                    None => Ready::First,
                },
            })
            .collect()
    }
}

// ---------------------------------------------------------------- checks

fn interval(rate: &Rate) -> TimeDelta {
    TimeDelta::from_std(rate.interval()).expect("small interval")
}

fn period(rate: &Rate) -> TimeDelta {
    TimeDelta::from_std(rate.period).expect("small period")
}

/// The pacing invariants over one account's sorted send times.
fn check_pacing(times: &[DateTime<Utc>], rate: &Rate, what: &str) -> Result<(), TestCaseError> {
    let n = rate.count as usize;
    for pair in times.windows(2) {
        prop_assert!(
            pair[1] - pair[0] >= interval(rate),
            "{what}: {} then {} is closer than the interval {:?} of {rate}",
            pair[0],
            pair[1],
            rate.interval()
        );
    }
    for (i, later) in times.iter().enumerate().skip(n) {
        prop_assert!(
            *later - times[i - n] >= period(rate),
            "{what}: {} sends from {} to {} are within one period of {rate}",
            n + 1,
            times[i - n],
            later
        );
    }
    Ok(())
}

fn check_daily_cap(
    times: &[DateTime<Utc>],
    cap: Option<u32>,
    warmup: Option<Warmup>,
    zone: &Tz,
    what: &str,
) -> Result<(), TestCaseError> {
    let Some(cap) = cap else {
        return Ok(());
    };
    let mut per_day: std::collections::BTreeMap<NaiveDate, u32> = Default::default();
    for at in times {
        *per_day
            .entry(at.with_timezone(zone).date_naive())
            .or_default() += 1;
    }
    // Days come in order: the n-th day with sends has the warm-up's n-th cap.
    for (earlier_days, (day, count)) in per_day.into_iter().enumerate() {
        let cap_that_day = warmup.map_or(cap, |ramp| ramp.cap(earlier_days as u32, cap));
        prop_assert!(
            count <= cap_that_day,
            "{what}: {count} sends on {day} ({zone}) but that day's cap is {cap_that_day}"
        );
    }
    Ok(())
}

/// Every invariant of a plan made by `schedule` for `case`, with `history`
/// counted against the rolling window and the daily cap.
fn check_plan(
    case: &Case,
    slots: &[Slot],
    history: &[Vec<DateTime<Utc>>],
) -> Result<(), TestCaseError> {
    // Every queue item gets exactly one slot, on its own account.
    prop_assert_eq!(slots.len(), case.entries.len());
    let mut seen = vec![false; case.entries.len()];
    for slot in slots {
        prop_assert!(slot.id < seen.len(), "unknown id {}", slot.id);
        prop_assert!(!seen[slot.id], "id {} planned twice", slot.id);
        seen[slot.id] = true;
        prop_assert_eq!(slot.account, case.entries[slot.id].account);
    }

    // Sorted by time, none before the start.
    for pair in slots.windows(2) {
        prop_assert!(pair[0].at <= pair[1].at, "not sorted: {pair:?}");
    }
    if let Some(first) = slots.first() {
        prop_assert!(first.at >= case.start, "{} is before the start", first.at);
    }

    // Inside a window, in the recipient's zone or the plan's, and never on
    // a skipped date there.
    for slot in slots {
        let zone = case.entries[slot.id].timezone.unwrap_or(case.timezone);
        let date = slot.at.with_timezone(&zone).date_naive();
        prop_assert!(
            !case.windows.skip_dates().contains(date),
            "{} is on a skipped date ({date} in {zone}; {:?})",
            slot.at,
            case.window_texts
        );
        prop_assert!(
            case.windows.contains(slot.at, &zone),
            "{} is outside the windows {:?} in {zone}",
            slot.at,
            case.window_texts
        );
    }

    for (index, account) in case.accounts.iter().enumerate() {
        let mut times: Vec<DateTime<Utc>> = history.get(index).cloned().unwrap_or_default();
        times.extend(slots.iter().filter(|s| s.account == index).map(|s| s.at));
        times.sort();
        let what = format!(
            "{} ({} windows {:?})",
            account.name, account.rate, case.window_texts
        );
        check_pacing(&times, &account.rate, &what)?;
        check_daily_cap(
            &times,
            account.daily_cap,
            account.warmup,
            &case.timezone,
            &what,
        )?;
    }
    Ok(())
}

/// Keep the longest prefix-greedy subsequence of sorted `times` that obeys the
/// rate and the cap: a history a real earlier run could have produced.
fn valid_history(mut times: Vec<DateTime<Utc>>, rules: &Account, zone: &Tz) -> Vec<DateTime<Utc>> {
    times.sort();
    let n = rules.rate.count as usize;
    let mut kept: Vec<DateTime<Utc>> = Vec::new();
    let mut per_day: HashMap<NaiveDate, u32> = HashMap::new();
    for at in times {
        let spaced = kept
            .last()
            .is_none_or(|last| at - *last >= interval(&rules.rate));
        let rolling = kept.len() < n || at - kept[kept.len() - n] >= period(&rules.rate);
        let day = at.with_timezone(zone).date_naive();
        // Sorted times: every day with sends so far is before this one.
        let earlier_days = per_day.keys().filter(|other| **other < day).count() as u32;
        let capped = rules.daily_cap.is_some_and(|cap| {
            let cap = rules.warmup.map_or(cap, |ramp| ramp.cap(earlier_days, cap));
            per_day.get(&day).copied().unwrap_or(0) >= cap
        });
        if spaced && rolling && !capped {
            kept.push(at);
            *per_day.entry(day).or_default() += 1;
        }
    }
    kept
}

/// Offsets before the start, in milliseconds, for up to 60 history sends.
fn history_offsets() -> impl Strategy<Value = Vec<Vec<i64>>> {
    prop::collection::vec(prop::collection::vec(0i64..4 * 7_200_000, 0..60), 4)
}

fn history_for(case: &Case, offsets: &[Vec<i64>], valid: bool) -> Vec<Vec<DateTime<Utc>>> {
    case.accounts
        .iter()
        .zip(offsets)
        .map(|(rules, offsets)| {
            let times: Vec<DateTime<Utc>> = offsets
                .iter()
                .map(|ms| case.start - TimeDelta::milliseconds(*ms))
                .collect();
            if valid {
                valid_history(times, rules, &case.timezone)
            } else {
                times
            }
        })
        .collect()
}

// ---------------------------------------------------------------- properties

/// The checks themselves catch what they should (so a passing property is
/// not a vacuous one).
#[test]
fn checks_reject_broken_plans() {
    let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
    let rate: Rate = "2/h".parse().unwrap();
    let even = [
        at("2026-01-05T09:00:00Z"),
        at("2026-01-05T09:30:00Z"),
        at("2026-01-05T10:00:00Z"),
    ];
    assert!(check_pacing(&even, &rate, "even").is_ok());
    let close = [at("2026-01-05T09:00:00Z"), at("2026-01-05T09:29:59Z")];
    assert!(check_pacing(&close, &rate, "close").is_err());
    // (With every gap at least PERIOD / N the rolling window follows; it
    // matters on its own where a bursty history precedes the plan.)
    assert!(check_daily_cap(&even, Some(3), None, &chrono_tz::UTC, "cap").is_ok());
    assert!(check_daily_cap(&even, Some(2), None, &chrono_tz::UTC, "cap").is_err());
    // 09:00 and 10:00 UTC on 5 January are the same day in Berlin, but
    // 23:30 UTC is the next day there.
    let late = [at("2026-01-05T22:00:00Z"), at("2026-01-05T23:30:00Z")];
    assert!(check_daily_cap(&late, Some(1), None, &chrono_tz::Europe::Berlin, "cap").is_ok());
    assert!(check_daily_cap(&late, Some(1), None, &chrono_tz::UTC, "cap").is_err());
    // A warm-up of 1 then 2: two sends on the first day break it.
    let ramp = Some(Warmup {
        start: 1,
        step: 1,
        every_days: 1,
    });
    assert!(check_daily_cap(&even, Some(3), ramp, &chrono_tz::UTC, "ramp").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The main invariant: every promise holds for any campaign shape.
    #[test]
    fn every_plan_keeps_every_promise(case in case()) {
        let slots = schedule(&case.settings(), &case.queue(), &[]);
        check_plan(&case, &slots, &[])?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// With follow-ups (issue 13): every promise holds for all steps
    /// together, and no follow-up goes before its delay.
    #[test]
    fn sequences_keep_every_promise(case in case_with_steps()) {
        let slots = schedule(&case.settings(), &case.queue(), &[]);
        check_plan(&case, &slots, &[])?;
        check_steps(&case, &slots)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same inputs give the same plan (the jitter is reproducible).
    #[test]
    fn plans_are_reproducible(case in case()) {
        let settings = case.settings();
        let queue = case.queue();
        prop_assert_eq!(schedule(&settings, &queue, &[]), schedule(&settings, &queue, &[]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// After a resume, the sends made before still count: history plus the
    /// new plan obey the rolling window, the spacing and the daily cap.
    #[test]
    fn history_and_new_sends_keep_the_rolling_window(
        case in case(),
        offsets in history_offsets(),
    ) {
        let history = history_for(&case, &offsets, true);
        let slots = schedule(&case.settings(), &case.queue(), &history);
        check_plan(&case, &slots, &history)?;
        // New sends never go before (or on top of) the history.
        for slot in &slots {
            if let Some(last) = history[slot.account].last() {
                prop_assert!(slot.at > *last, "{} is not after the history's {last}", slot.at);
            }
        }
    }

    /// Even a bursty history (more than N sends in a period, e.g. from an
    /// older version or a rate that was lowered) never lets a new send make
    /// a window of PERIOD hold more than N sends.
    #[test]
    fn bursty_history_still_limits_new_sends(
        case in case(),
        offsets in history_offsets(),
    ) {
        let history = history_for(&case, &offsets, false);
        let slots = schedule(&case.settings(), &case.queue(), &history);
        prop_assert_eq!(slots.len(), case.entries.len());
        for (index, account) in case.accounts.iter().enumerate() {
            let mut history = history[index].clone();
            history.sort();
            let new: Vec<DateTime<Utc>> =
                slots.iter().filter(|s| s.account == index).map(|s| s.at).collect();
            let mut all = history.clone();
            all.extend(&new);
            all.sort();
            let n = account.rate.count as usize;
            for (i, at) in all.iter().enumerate() {
                let is_new = i >= history.len();
                if is_new && i >= n {
                    prop_assert!(
                        *at - all[i - n] >= period(&account.rate),
                        "new send {at} is the {}th within one period of {} ({})",
                        n + 1, all[i - n], account.rate
                    );
                }
                if is_new && i >= 1 {
                    prop_assert!(*at - all[i - 1] >= interval(&account.rate));
                }
            }
        }
    }

    /// Jitter only delays: each account's k-th send is never earlier than
    /// its k-th send without jitter.
    #[test]
    fn jitter_only_delays(case in case()) {
        let mut plain = case.clone();
        plain.jitter = 0.0;
        let with = schedule(&case.settings(), &case.queue(), &[]);
        let without = schedule(&plain.settings(), &plain.queue(), &[]);
        let by_id = |slots: &[Slot]| {
            let mut at = vec![None; slots.len()];
            for slot in slots {
                at[slot.id] = Some(slot.at);
            }
            at
        };
        let (with, without) = (by_id(&with), by_id(&without));
        for (id, (jittered, exact)) in with.iter().zip(&without).enumerate() {
            prop_assert!(
                jittered >= exact,
                "item {id}: {jittered:?} with jitter is before {exact:?} without"
            );
        }
    }

    /// Without windows, caps or jitter the plan is exactly even:
    /// `start + k * interval` for an account's k-th message.
    #[test]
    fn plain_plans_are_exactly_even(
        start in start_instant(),
        zone in zone(),
        accounts in prop::collection::vec(rate(), 1..=4),
        picks in prop::collection::vec(0usize..4, 1..60),
    ) {
        let windows = WindowSet::always();
        let accounts: Vec<Account> = accounts
            .into_iter()
            .enumerate()
            .map(|(index, rate)| Account::new(&format!("a{index}"), rate))
            .collect();
        let settings = PlanSettings {
            start,
            timezone: zone,
            windows: &windows,
            jitter: 0.0,
            seed: [0; 32],
            accounts: &accounts,
            domain_cap: None,
        };
        let queue: Vec<QueueItem<'_>> = picks
            .iter()
            .enumerate()
            .map(|(id, pick)| QueueItem {
                id,
                account: pick % accounts.len(),
                timezone: None,
                key: "k",
                priority: 0,
                ready: Ready::First,
            })
            .collect();
        let slots = schedule(&settings, &queue, &[]);
        let mut position = vec![0i32; accounts.len()];
        let mut expected = vec![None; queue.len()];
        for item in &queue {
            let k = position[item.account];
            position[item.account] += 1;
            expected[item.id] = Some(start + interval(&accounts[item.account].rate) * k);
        }
        for slot in &slots {
            prop_assert_eq!(Some(slot.at), expected[slot.id]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// One account's generator, asked with `next_not_before` as the executor
    /// does (retries ask again later): the same invariants hold, and each
    /// slot is at or after what was asked.
    #[test]
    fn account_slots_keep_the_invariants_for_executor_requests(
        rules in account(),
        start in start_instant(),
        zone in zone(),
        (window_texts, windows) in windows(),
        requests in prop::collection::vec((0i64..3 * 3_600_000, prop::option::weighted(0.3, zone())), 1..60),
    ) {
        let slot_rules = SlotRules {
            rate: rules.rate,
            daily_cap: rules.daily_cap,
            warmup: rules.warmup,
            windows: &windows,
            timezone: zone,
            jitter: 0.0,
        };
        let mut slots = AccountSlots::new(slot_rules, start, &[]);
        let mut times = Vec::new();
        for (offset, recipient_zone) in &requests {
            let not_before = start + TimeDelta::milliseconds(*offset);
            let at = slots.next_not_before(not_before, recipient_zone.as_ref());
            prop_assert!(at >= not_before);
            prop_assert!(
                windows.contains(at, &recipient_zone.unwrap_or(zone)),
                "{at} outside {window_texts:?}"
            );
            if let Some(last) = times.last() {
                prop_assert!(at > *last, "{at} is not after {last}");
            }
            times.push(at);
        }
        check_pacing(&times, &rules.rate, "next_not_before")?;
        check_daily_cap(&times, rules.daily_cap, rules.warmup, &zone, "next_not_before")?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The executor asks for each message's slot with its planned time, then
    /// reports when the request really left (`correct_last`). Whatever the
    /// lateness: no request before its planned time, requests at least
    /// `interval - tolerance` apart, N+1 of them spanning at least
    /// `period - tolerance`. And lateness within the tolerance never
    /// accumulates: then every request goes exactly on its planned slot.
    #[test]
    fn late_requests_keep_the_pacing_within_the_timer_tolerance(
        rate in rate(),
        start in start_instant(),
        lateness_us in prop::collection::vec(
            prop_oneof![8 => 0i64..3_000, 1 => 0i64..2_000_000],
            1..120,
        ),
    ) {
        let windows = WindowSet::default();
        let rules = || SlotRules {
            rate,
            daily_cap: None,
            warmup: None,
            windows: &windows,
            timezone: chrono_tz::UTC,
            jitter: 0.0,
        };
        let mut plan = AccountSlots::new(rules(), start, &[]);
        let planned: Vec<DateTime<Utc>> =
            lateness_us.iter().map(|_| plan.next(None, 0.0)).collect();
        let tolerance = timer_tolerance(interval(&rate));
        let mut executor = AccountSlots::new(rules(), start, &[]);
        let mut departures = Vec::new();
        let mut on_time = true;
        for (planned_at, late) in planned.iter().zip(&lateness_us) {
            let slot = executor.next_not_before(*planned_at, None);
            prop_assert!(slot >= *planned_at);
            if on_time {
                prop_assert_eq!(slot, *planned_at, "lateness within the tolerance moved a slot");
            }
            let late = TimeDelta::microseconds(*late);
            on_time &= late <= tolerance;
            let left = slot + late;
            executor.correct_last(left);
            departures.push(left);
        }
        let n = rate.count as usize;
        for pair in departures.windows(2) {
            prop_assert!(pair[1] - pair[0] >= interval(&rate) - tolerance, "{pair:?}");
        }
        for (i, later) in departures.iter().enumerate().skip(n) {
            prop_assert!(*later - departures[i - n] >= period(&rate) - tolerance);
        }
    }
}
