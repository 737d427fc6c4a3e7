//! kill -9 during two-step sequences with stops arriving concurrently
//! (issue 13): four campaigns of 12 recipients x 2 steps, each run killed at
//! a seeded random moment up to four times, while another thread stops
//! three recipients at random moments with `outreach stop`, then resumed
//! until a run ends by itself.
//!
//! Afterwards: no message (recipient and step) arrived twice; no stopped
//! person received anything after their stop returned, unless the stop
//! said a message was already in flight; no step was skipped (a follow-up
//! arrived only after its first step, at least its delay after it, and every
//! follow-up of a sent first step that nobody stopped went out or is
//! uncertain, none left pending); and all runs together kept the rate.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, Sandbox};

use crate::harness::{GATE, Rng, STATE, Workdir, breach, roomy_config, start};

const RECIPIENTS: usize = 12;
const CAMPAIGNS: u64 = 4;
const KILLS: usize = 4;
const STOPS: usize = 3;
/// Two sends per 100 ms: an even 50 ms spacing.
const RATE: &str = "2/100ms";
const RATE_COUNT: usize = 2;
const RATE_PERIOD_MS: i64 = 100;
/// The follow-up's `after`.
const AFTER_MS: i64 = 300;
/// As in `kill.rs`: a request cut off by kill -9 is known to the next run
/// only by its slot.
const SENT_TOLERANCE_MS: i64 = 10;
const MAX_RUNS: usize = 30;

/// One `outreach stop` that returned: who, when, and whether it said a
/// message of theirs was already in flight.
#[derive(Debug, Clone)]
struct StopDone {
    recipient: String,
    returned: DateTime<Utc>,
    in_flight: bool,
}

fn two_step_campaign(work: &Workdir) -> Vec<String> {
    let recipients = work.recipients(RECIPIENTS);
    work.write(
        "followup.txt",
        "Subject: Re: Hello {{ first_name }}\n\nFollowing up, {{ first_name }}.\n",
    );
    work.write(
        "outreach.toml",
        format!("[[steps]]\n[[steps]]\ntemplate = \"followup.txt\"\nafter = \"{AFTER_MS}ms\"\n"),
    );
    recipients
}

/// Stops `STOPS` recipients at random moments while the runs go on.
fn stopper(dir: std::path::PathBuf, recipients: Vec<String>, seed: u64) -> Vec<StopDone> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut done = Vec::new();
    let mut chosen: Vec<String> = Vec::new();
    while chosen.len() < STOPS {
        let pick = recipients[rng.below(recipients.len() as u64) as usize].clone();
        if !chosen.contains(&pick) {
            chosen.push(pick);
        }
    }
    // A stop needs the journal the first `send` creates.
    let journal = dir.join(STATE);
    for _ in 0..2000 {
        if journal.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for recipient in chosen {
        std::thread::sleep(Duration::from_millis(100 + rng.below(600)));
        let out = crate::common::Cmd::new(&dir, &["stop", &recipient, "--reason", "replied"])
            .run_blocking();
        out.expect_code(0);
        done.push(StopDone {
            recipient,
            returned: Utc::now(),
            in_flight: out.stdout.contains("already in flight"),
        });
    }
    done
}

/// Runs the campaign to its end with kills; returns the log of runs.
fn drive(work: &Workdir, url: &str, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut log = Vec::new();
    let mut kills = 0;
    let mut started = false;
    for _ in 0..MAX_RUNS {
        let command = if started && work.state().exists() {
            work.resume()
        } else {
            work.send(url).opt("--rate", RATE)
        };
        let mut running = command.nice().spawn();
        if kills < KILLS {
            let ready =
                running.wait_until(Duration::from_millis(2), |run| run.has_event("started"));
            std::thread::sleep(Duration::from_millis(rng.below(500)));
            if ready && running.kill9() {
                let out = running.wait_blocking();
                log.push(format!("{} killed", out.description));
                kills += 1;
                started = true;
                continue;
            }
        }
        let out = running.wait_blocking();
        log.push(format!("{} -> {:?}", out.description, out.code));
        started = true;
        // A run that ends by itself ends the campaign (3: some messages are
        // uncertain, a kill cut their response off).
        if matches!(out.code, Some(0 | 3)) {
            return log;
        }
    }
    panic!("not finished after {MAX_RUNS} runs\n{}", log.join("\n"));
}

/// (recipient, step) of an arrival: the follow-up template starts with
/// "Following up".
fn step_of(message: &AcceptedMessage) -> u32 {
    if message.body.starts_with("Following up") {
        2
    } else {
        1
    }
}

/// Every event about `recipient`, run by run, for a failure message.
fn events_of(work: &Workdir, recipient: &str) -> String {
    let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = work
        .files()
        .into_iter()
        .filter(|(path, _)| path.to_string_lossy().contains("events-"))
        .collect();
    files.sort();
    let mut text = String::new();
    for (path, bytes) in files {
        for line in String::from_utf8_lossy(&bytes).lines() {
            if line.contains(recipient) {
                text.push_str(&format!("{}: {line}\n", path.display()));
            }
        }
    }
    text
}

fn check(work: &Workdir, sandbox: &Sandbox, stops: &[StopDone], log: &[String]) {
    let context = || log.join("\n");
    let messages = sandbox.messages();
    let mut arrived: BTreeMap<(String, u32), Vec<DateTime<Utc>>> = BTreeMap::new();
    for message in &messages {
        arrived
            .entry((message.recipients[0].clone(), step_of(message)))
            .or_default()
            .push(message.received_at);
    }
    for ((recipient, step), times) in &arrived {
        assert_eq!(
            times.len(),
            1,
            "{recipient} step {step} arrived {times:?}\n{}",
            context()
        );
    }
    // Nothing after a stop, unless it was already in flight.
    for stop in stops.iter().filter(|stop| !stop.in_flight) {
        for step in [1, 2] {
            if let Some(times) = arrived.get(&(stop.recipient.clone(), step)) {
                assert!(
                    times[0] <= stop.returned,
                    "{} got step {step} at {} after the stop returned at {}\n{}",
                    stop.recipient,
                    times[0],
                    stop.returned,
                    context()
                );
            }
        }
    }
    // Follow-ups only after their first step, at least the delay later.
    for ((recipient, step), times) in &arrived {
        if *step != 2 {
            continue;
        }
        let first = arrived
            .get(&(recipient.clone(), 1))
            .unwrap_or_else(|| panic!("{recipient}: step 2 arrived without step 1\n{}", context()));
        assert!(
            times[0] - first[0] >= TimeDelta::milliseconds(AFTER_MS),
            "{recipient}: step 2 {} after step 1\n{}\n{}",
            times[0] - first[0],
            context(),
            events_of(work, recipient)
        );
    }
    // No step skipped: a sent first step's follow-up is not left pending
    // unless its person was stopped.
    let report = work.report();
    let state_of = |recipient: &str, step: u64| -> String {
        report
            .iter()
            .find(|row| row["recipient"] == recipient && row["step"].as_u64() == Some(step))
            .and_then(|row| row["state"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no report row for {recipient} step {step}"))
    };
    for row in report.iter().filter(|row| row["step"].as_u64() == Some(1)) {
        let recipient = row["recipient"].as_str().expect("recipient");
        let stopped = stops.iter().any(|stop| stop.recipient == recipient);
        if row["state"] == "sent" && !stopped {
            let second = state_of(recipient, 2);
            assert!(
                ["sent", "uncertain", "failed"].contains(&second.as_str()),
                "{recipient}: step 1 sent, step 2 `{second}`\n{}",
                context()
            );
        }
    }
    // The rate across all runs, by the sender's own clock.
    let requests = crate::kill::sending_times(work);
    let breached = breach(
        &requests,
        RATE_COUNT,
        TimeDelta::milliseconds(RATE_PERIOD_MS),
        TimeDelta::milliseconds(SENT_TOLERANCE_MS),
    );
    assert!(
        breached.is_none(),
        "rate broken: {breached:?}\n{}",
        context()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_sequences_with_concurrent_stops() {
    let _gate = GATE.write().await;
    let mut sandboxes = Vec::new();
    for _ in 0..CAMPAIGNS {
        sandboxes.push(Arc::new(start(roomy_config()).await));
    }
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let kills = Arc::new(Mutex::new(0usize));
    let mut lanes = Vec::new();
    for (index, sandbox) in sandboxes.into_iter().enumerate() {
        let failures = Arc::clone(&failures);
        let kills = Arc::clone(&kills);
        lanes.push(tokio::task::spawn_blocking(move || {
            let seed = index as u64 + 101;
            let work = Workdir::new();
            let recipients = two_step_campaign(&work);
            let dir = work.path().to_path_buf();
            let stops = std::thread::spawn(move || stopper(dir, recipients, seed));
            let log = drive(&work, &sandbox.url(), seed);
            *kills.lock().unwrap() += log.iter().filter(|run| run.ends_with("killed")).count();
            let stops = stops.join().expect("the stopper panicked");
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check(&work, &sandbox, &stops, &log)
            }));
            if let Err(panic) = result {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "a check failed".into());
                failures
                    .lock()
                    .unwrap()
                    .push(format!("campaign {index}: {text}"));
            }
        }));
    }
    for lane in lanes {
        lane.await.expect("a campaign lane panicked");
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let kills = *kills.lock().unwrap();
    eprintln!("{CAMPAIGNS} two-step campaigns: {kills} kills landed");
    assert!(kills >= CAMPAIGNS as usize * 2, "only {kills} kills landed");
}
