//! kill -9 at many moments: ten campaigns, five at a time, each killed
//! five times at seeded random moments (start-up, journal creation,
//! mid-send, between sends) and resumed until its journal is settled; then
//! six more at a rate fast enough that several messages are claimed in one
//! commit, so a kill finds several in flight.
//!
//! Whatever the moments, afterwards: no recipient arrived twice; every one
//! that arrived is `sent` (or `uncertain`, when its response was lost with
//! the process), with its journal's Idempotency-Key; every one that did not
//! arrive is `uncertain` or `failed`, never `sent` and never left pending;
//! and all runs together kept the rate, both in the requests the sender
//! made (its `sending` events, exact) and in the arrivals at the sandbox.
//! Finally `resume --resend-uncertain` delivers every recipient exactly
//! once: the ones that had arrived are replays.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, Sandbox};
use serde_json::Value;

use crate::harness::{
    GATE, Outcome, Rng, STATE, Workdir, breach, counts, journal_keys, received_recipients,
    roomy_config, sorted, start, window_breach,
};

const KILLS_PER_CAMPAIGN: usize = 5;
const RECIPIENTS: usize = 30;

/// A campaign's rate, as the flag and as numbers for the window checks.
#[derive(Debug, Clone, Copy)]
struct Pace {
    rate: &'static str,
    count: usize,
    period_ms: i64,
}

/// At most 2 sends in any 200 ms: an even 100 ms spacing, so a campaign
/// takes 3 s of sending and kills at 0-400 ms land all through its first
/// runs. Each message is claimed in a commit of its own, 50 ms before its
/// slot, so about half the kills find one in flight and half none.
const SLOW: Pace = Pace {
    rate: "2/200ms",
    count: 2,
    period_ms: 200,
};
/// 20 ms apart: the messages due within the 50 ms claim lead are claimed
/// together (3 per commit), so a kill finds several in flight.
const FAST: Pace = Pace {
    rate: "10/200ms",
    count: 10,
    period_ms: 200,
};
/// The sender's own request times (its `sending` events) are exact to the
/// nanosecond, but a request cut off by kill -9 is known to the next run
/// only by its slot, recorded in the journal before it left; under load it
/// left a scheduler delay later (5 ms seen with the other core busy
/// compiling). 10 ms covers that and the rounding of the spacing.
const SENT_TOLERANCE_MS: i64 = 10;
/// Arrivals are stamped by the sandbox: the first request of every run opens
/// a new connection and, on a loaded 2-CPU machine, reaches the sandbox up
/// to ~50 ms after it left (49 ms seen at load 9), while the next one reuses
/// the connection. (Pacing across runs is checked exactly, at a period
/// longer than a restart, in `pacing.rs`.)
const ARRIVAL_TOLERANCE_MS: i64 = 70;
/// A campaign that needs more runs than this is stuck.
const MAX_RUNS: usize = 40;

/// Where a kill landed, judged from the journal and the sandbox right after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// No journal file yet (argument parsing, planning, connecting).
    BeforeJournal,
    /// A journal file without a complete campaign in it.
    DuringCreation,
    /// A complete journal, but this run had not sent anything yet.
    BeforeFirstSend,
    /// A message was in flight: claimed in the journal, its request on the
    /// wire or its response not yet recorded.
    MidSend,
    /// Between two sends of this run.
    BetweenSends,
}

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum Aim {
    /// As soon as the journal file appears: while it is being created.
    JournalFile,
    /// This long after the process started (mostly start-up: a debug build
    /// loads its TLS roots for a while).
    AfterSpawn(Duration),
    /// This long after the run's `started` event: mid-campaign.
    AfterStart(Duration),
}

/// Pick the next kill: the first of every other campaign aims at journal
/// creation, the first of the others at start-up; later ones mostly land
/// 0-400 ms into sending, some 0-400 ms after the process started.
fn aim(rng: &mut Rng, index: u64, first: bool, next: Next) -> Aim {
    let millis = |rng: &mut Rng| Duration::from_millis(rng.below(401));
    match (first, index % 2) {
        (true, 0) if next == Next::Send => Aim::JournalFile,
        (true, _) => Aim::AfterSpawn(millis(rng)),
        _ if rng.below(5) == 0 => Aim::AfterSpawn(millis(rng)),
        _ => Aim::AfterStart(millis(rng)),
    }
}

/// Which command a campaign runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Send,
    SendRestart,
    Resume,
}

struct Campaign {
    pace: Pace,
    work: Workdir,
    recipients: Vec<String>,
    kills: Vec<Moment>,
    /// One line per run, printed when an assertion fails.
    log: Vec<String>,
}

fn counts_of(status: &Value) -> Option<[u64; 7]> {
    let has_all = [
        "total",
        "pending",
        "in_flight",
        "sent",
        "failed",
        "uncertain",
    ]
    .iter()
    .all(|key| status[key].is_u64());
    has_all.then(|| counts(status))
}

/// `status --json`, or None when the journal is missing or unusable.
fn try_status(work: &Workdir) -> Option<[u64; 7]> {
    if !work.state().exists() {
        return None;
    }
    let out = work
        .cmd(&["status", "--json", "--state", STATE])
        .run_blocking();
    if out.code != Some(0) {
        return None;
    }
    serde_json::from_str::<Value>(&out.stdout)
        .ok()
        .as_ref()
        .and_then(counts_of)
}

fn classify(work: &Workdir, arrived_before: usize, arrived_after: usize) -> Moment {
    if !work.state().exists() {
        // The journal is built in `<state>.creating` and renamed into place
        // with its whole campaign.
        if building(work).exists() {
            return Moment::DuringCreation;
        }
        return Moment::BeforeJournal;
    }
    match try_status(work) {
        None => Moment::DuringCreation,
        Some([0, ..]) => Moment::DuringCreation,
        Some([_, _, in_flight, ..]) if in_flight > 0 => Moment::MidSend,
        Some(_) if arrived_after == arrived_before => Moment::BeforeFirstSend,
        Some(_) => Moment::BetweenSends,
    }
}

/// The file a new journal is built in before it is renamed to `state`.
fn building(work: &Workdir) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}.creating", work.state().display()))
}

/// What to run after a run that finished by itself, or why its exit is wrong.
/// `cut_creation`: the last kill left a journal file without a campaign.
fn after_run(next: Next, out: &Outcome, cut_creation: bool) -> Result<Next, String> {
    match (next, out.code) {
        (_, Some(0 | 3)) => Ok(Next::Resume),
        // A journal whose creation was cut short holds nothing sent: a new
        // campaign is the way on, as resume advises (when it can tell; see
        // `bad_state::a_journal_cut_off_while_being_created_points_at_restart`).
        // Were anything sent from it, the restart would send it again and the
        // at-most-once check below would fail.
        (Next::Resume, Some(1)) if cut_creation => Ok(Next::SendRestart),
        _ => Err(format!("unexpected exit\n{out}")),
    }
}

fn drive(index: u64, sandbox: Arc<Sandbox>, pace: Pace) -> Campaign {
    let mut rng = Rng::new(index + 1);
    let work = Workdir::new();
    let recipients = work.recipients(RECIPIENTS);
    let url = sandbox.url();
    let mut campaign = Campaign {
        pace,
        work,
        recipients,
        kills: Vec::new(),
        log: Vec::new(),
    };
    let mut next = Next::Send;
    let mut cut_creation = false;
    for _ in 0..MAX_RUNS {
        let work = &campaign.work;
        let command = match next {
            Next::Send => work.send(&url).opt("--rate", pace.rate),
            Next::SendRestart => work.send(&url).opt("--rate", pace.rate).flag("--restart"),
            Next::Resume => work.resume(),
        }
        .nice();
        let arrived_before = sandbox.messages().len();
        let mut running = command.spawn();
        if campaign.kills.len() < KILLS_PER_CAMPAIGN {
            let how = aim(&mut rng, index, campaign.kills.is_empty(), next);
            let ready = match how {
                Aim::JournalFile => {
                    let (state, building) = (work.state(), building(work));
                    running.wait_until(Duration::from_micros(200), move |_| {
                        building.exists() || state.exists()
                    })
                }
                Aim::AfterSpawn(delay) => {
                    std::thread::sleep(delay);
                    true
                }
                Aim::AfterStart(delay) => {
                    let started = running
                        .wait_until(Duration::from_millis(2), |run| run.has_event("started"));
                    std::thread::sleep(delay);
                    started
                }
            };
            if ready && running.kill9() {
                let out = running.wait_blocking();
                let moment = classify(work, arrived_before, sandbox.messages().len());
                campaign.kills.push(moment);
                cut_creation = moment == Moment::DuringCreation;
                campaign
                    .log
                    .push(format!("{} killed {how:?} ({moment:?})", out.description));
                next = if work.state().exists() {
                    Next::Resume
                } else {
                    Next::Send
                };
                continue;
            }
        }
        let out = running.wait_blocking();
        campaign
            .log
            .push(format!("{} -> {:?}", out.description, out.code));
        next = after_run(next, &out, cut_creation)
            .unwrap_or_else(|e| panic!("campaign {index}: {e}\n{}", campaign.log.join("\n")));
        if let Some([total, pending, in_flight, ..]) = try_status(&campaign.work)
            && total == RECIPIENTS as u64
            && pending == 0
            && in_flight == 0
        {
            return campaign;
        }
    }
    panic!(
        "campaign {index} not settled after {MAX_RUNS} runs\n{}",
        campaign.log.join("\n")
    );
}

/// How often each recipient arrived.
fn arrivals(messages: &[AcceptedMessage]) -> BTreeMap<String, usize> {
    let mut arrived = BTreeMap::new();
    for recipient in received_recipients(messages) {
        *arrived.entry(recipient).or_default() += 1;
    }
    arrived
}

/// The `ts` of every `sending` event in every run's events file: each
/// request the sender made, by its own clock.
pub(crate) fn sending_times(work: &Workdir) -> Vec<DateTime<Utc>> {
    events_of_kind(work, "sending")
        .iter()
        .map(|(_, event)| {
            event["ts"]
                .as_str()
                .and_then(|ts| ts.parse().ok())
                .expect("RFC 3339 ts")
        })
        .collect()
}

/// Every event of `kind` in every run's events file, with its run number.
/// (A run killed mid-line leaves a half line, which is skipped.)
fn events_of_kind(work: &Workdir, kind: &str) -> Vec<(usize, Value)> {
    let mut found = Vec::new();
    for run in 0..MAX_RUNS * 2 {
        let Ok(text) = std::fs::read_to_string(work.path().join(format!("events-{run}.jsonl")))
        else {
            continue;
        };
        found.extend(
            text.lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|event| event["event"] == kind)
                .map(|event| (run, event)),
        );
    }
    found
}

/// Each arrival with the run (events file) that sent it and the client's
/// `sending` time, for a failure message.
fn arrivals_by_run(work: &Workdir, messages: &[AcceptedMessage]) -> String {
    let sending: BTreeMap<String, (usize, String)> = events_of_kind(work, "sending")
        .into_iter()
        .map(|(run, event)| {
            let recipient = event["recipient"].as_str().unwrap_or("").to_string();
            let ts = event["ts"].as_str().unwrap_or("").to_string();
            (recipient, (run, ts))
        })
        .collect();
    let mut lines: Vec<(DateTime<Utc>, String)> = messages
        .iter()
        .map(|m| {
            let (run, ts) = sending.get(&m.recipients[0]).cloned().unwrap_or_default();
            let line = format!(
                "{}  run {run}  sending {ts}  {}",
                m.received_at, m.recipients[0]
            );
            (m.received_at, line)
        })
        .collect();
    lines.sort();
    lines
        .into_iter()
        .map(|(_, line)| line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The invariants after a settled campaign; returns the uncertain count.
fn check_settled(index: u64, campaign: &Campaign, sandbox: &Sandbox) -> usize {
    let context = || format!("campaign {index}:\n{}", campaign.log.join("\n"));
    let work = &campaign.work;
    let messages = sandbox.messages();
    let arrived = arrivals(&messages);
    for (recipient, times) in &arrived {
        assert_eq!(
            *times,
            1,
            "{recipient} arrived {times} times\n{}",
            context()
        );
        assert!(
            campaign.recipients.contains(recipient),
            "unknown recipient {recipient}\n{}",
            context()
        );
    }

    let [total, pending, in_flight, sent, failed, uncertain, skipped] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, skipped),
        (RECIPIENTS as u64, 0, 0, 0),
        "{}",
        context()
    );
    assert_eq!(sent + failed + uncertain, total, "{}", context());

    let report = work.report();
    let reported: Vec<String> = report
        .iter()
        .map(|row| row["recipient"].as_str().expect("recipient").to_string())
        .collect();
    assert_eq!(
        sorted(&reported),
        sorted(&campaign.recipients),
        "{}",
        context()
    );
    let mut uncertain_rows = 0;
    for row in &report {
        let recipient = row["recipient"].as_str().expect("recipient");
        let times = arrived.get(recipient).copied().unwrap_or(0);
        let state = row["state"].as_str().expect("state");
        let allowed = match times {
            1 => ["sent", "uncertain"].contains(&state),
            _ => ["uncertain", "failed"].contains(&state),
        };
        assert!(
            allowed,
            "{recipient} arrived {times} times but is `{state}`: {row}\n{}",
            context()
        );
        if state == "uncertain" {
            uncertain_rows += 1;
        }
    }
    assert_eq!(uncertain_rows, uncertain as usize, "{}", context());

    // Every arrival carries its recipient's key in this journal.
    let keys: BTreeMap<String, String> = journal_keys(&work.state()).into_iter().collect();
    for message in &messages {
        assert_eq!(
            message.idempotency_key.as_ref(),
            keys.get(&message.recipients[0]),
            "{message:?}\n{}",
            context()
        );
    }

    // The requests as the sender made them, by its own clock: every
    // `sending` event of every run, arrived or not.
    let requests = sending_times(work);
    let breach_sent = breach(
        &requests,
        campaign.pace.count,
        TimeDelta::milliseconds(campaign.pace.period_ms),
        TimeDelta::milliseconds(SENT_TOLERANCE_MS),
    );
    assert!(
        breach_sent.is_none(),
        "the sender made more than {} requests: {breach_sent:?}\n{}\n{}",
        campaign.pace.rate,
        arrivals_by_run(work, &messages),
        context()
    );
    // And as the sandbox saw them arrive.
    let breach_arrived = window_breach(
        &messages,
        "default",
        campaign.pace.count,
        TimeDelta::milliseconds(campaign.pace.period_ms),
        TimeDelta::milliseconds(ARRIVAL_TOLERANCE_MS),
    );
    assert!(
        breach_arrived.is_none(),
        "more than {} arrived: {breach_arrived:?}\narrivals (time, run):\n{}\n{}",
        campaign.pace.rate,
        arrivals_by_run(work, &messages),
        context()
    );
    uncertain as usize
}

/// `resume --resend-uncertain`: now every recipient arrives exactly once.
/// Returns how many uncertain messages had arrived (replayed now) and how
/// many had not (arrived now).
fn check_resend(
    index: u64,
    campaign: &Campaign,
    sandbox: &Sandbox,
    uncertain: usize,
) -> (usize, usize) {
    let context = || format!("campaign {index}:\n{}", campaign.log.join("\n"));
    let work = &campaign.work;
    let before = sandbox.messages().len();
    let replayed_before = sandbox.stats().replayed;
    let out = work.resume().flag("--resend-uncertain").run_blocking();
    let failed = counts(&work.status())[4];
    out.expect_code(if failed > 0 { 3 } else { 0 });
    let messages = sandbox.messages();
    let arrived = arrivals(&messages);
    assert!(
        arrived.values().all(|times| *times == 1),
        "{arrived:?}\n{out}\n{}",
        context()
    );
    // An uncertain message either had arrived (its resend is a replay) or
    // had not (it arrives now).
    let replayed = (sandbox.stats().replayed - replayed_before) as usize;
    assert_eq!(replayed + (messages.len() - before), uncertain, "{out}");
    let [total, pending, in_flight, sent, _, uncertain_left, _] = counts(&work.status());
    assert_eq!(
        (pending, in_flight, uncertain_left, sent + failed),
        (0, 0, 0, total),
        "{out}\n{}",
        context()
    );
    assert_eq!(messages.len() as u64, sent, "{}", context());
    (replayed, messages.len() - before)
}

/// What the campaigns went through, for the summary line.
#[derive(Debug, Default)]
struct Tally {
    moments: BTreeMap<Moment, usize>,
    /// Uncertain messages that had reached the sandbox.
    uncertain_arrived: usize,
    /// Uncertain messages whose request never got there.
    uncertain_lost: usize,
}

/// One campaign from first `send` to the final checks.
fn campaign(index: u64, sandbox: Arc<Sandbox>, pace: Pace, tally: &mut Tally) {
    let campaign = drive(index, Arc::clone(&sandbox), pace);
    let uncertain = check_settled(index, &campaign, &sandbox);
    let (arrived, lost) = check_resend(index, &campaign, &sandbox, uncertain);
    for moment in campaign.kills {
        *tally.moments.entry(moment).or_default() += 1;
    }
    tally.uncertain_arrived += arrived;
    tally.uncertain_lost += lost;
}

/// Campaigns run this many at a time: more would measure the 2 CPUs'
/// scheduling delays rather than the sender's pacing.
const PARALLEL: u64 = 5;

/// Runs `campaigns` campaigns at `pace`, [`PARALLEL`] at a time, and
/// returns where the kills landed.
async fn kill_campaigns(campaigns: u64, pace: Pace) -> BTreeMap<Moment, usize> {
    let started = Instant::now();
    let mut lanes = Vec::new();
    for lane in 0..PARALLEL {
        let mut sandboxes = Vec::new();
        for _ in (lane..campaigns).step_by(PARALLEL as usize) {
            sandboxes.push(Arc::new(start(roomy_config()).await));
        }
        lanes.push(tokio::task::spawn_blocking(move || {
            let mut tally = Tally::default();
            for (index, sandbox) in (lane..campaigns).step_by(PARALLEL as usize).zip(sandboxes) {
                campaign(index, sandbox, pace, &mut tally);
            }
            tally
        }));
    }
    let mut tally = Tally::default();
    for lane in lanes {
        let lane = lane
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        for (moment, count) in lane.moments {
            *tally.moments.entry(moment).or_default() += count;
        }
        tally.uncertain_arrived += lane.uncertain_arrived;
        tally.uncertain_lost += lane.uncertain_lost;
    }
    eprintln!(
        "{} at {}: kills in {:?}: {:?}; uncertain: {} had arrived, {} had not",
        campaigns,
        pace.rate,
        started.elapsed(),
        tally.moments,
        tally.uncertain_arrived,
        tally.uncertain_lost
    );
    tally.moments
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_at_many_moments_never_duplicates_loses_or_bursts() {
    let _gate = GATE.write().await;
    let moments = &kill_campaigns(10, SLOW).await;
    let kills: usize = moments.values().sum();
    assert!(kills >= 50, "only {kills} kills landed: {moments:?}");
    // The kills spread over the moments that matter.
    for moment in [
        Moment::DuringCreation,
        Moment::MidSend,
        Moment::BetweenSends,
    ] {
        assert!(
            moments.contains_key(&moment),
            "no kill landed {moment:?}: {moments:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_several_messages_are_claimed_together() {
    let _gate = GATE.write().await;
    let moments = &kill_campaigns(6, FAST).await;
    let kills: usize = moments.values().sum();
    assert!(kills >= 15, "only {kills} kills landed: {moments:?}");
    assert!(
        moments.contains_key(&Moment::MidSend),
        "no kill landed mid-send: {moments:?}"
    );
}
