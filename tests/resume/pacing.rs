//! The rate holds across an interruption, exactly: at a period longer than
//! a restart takes, a resumed run must wait for the sends made before it,
//! including one that was on the wire when the process was killed.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{FaultDice, FaultRates};
use serde_json::Value;

use crate::harness::{
    GATE, Outcome, Workdir, counts, received_recipients, roomy_config, sorted, start, window_breach,
};

/// A message is recorded in flight with the time its commit began; its
/// request leaves when the commit is durable, a few ms later (8 ms measured
/// here). After kill -9, resume paces from the recorded time, so a resumed
/// send may leave up to one commit earlier than `period` after the request
/// that was cut off (a restart after Ctrl-C paces from the real sent time).
const COMMIT_SLACK_MS: i64 = 25;

/// How late after `max(its slot, the resumed run's start)` a resumed send
/// may leave: a claim and a timer. An upper bound from the earlier run's
/// send alone would also count how long the new process took to start,
/// which on a loaded 2-core CI box can be a second or more.
const RESUME_LEEWAY_MS: i64 = 600;

/// Panics unless `out` sent `recipient` within [`RESUME_LEEWAY_MS`] of
/// `slot`, or of its own start if it started after the slot.
#[track_caller]
fn assert_sent_on_time(out: &Outcome, recipient: &str, slot: DateTime<Utc>) {
    let started = ts(out.events("started")[0]);
    let due = slot.max(started);
    let late = sending_at(out, recipient) - due;
    assert!(
        late < TimeDelta::milliseconds(RESUME_LEEWAY_MS),
        "{recipient} left {late} after it was due (slot {slot}, run started {started})\n{out}"
    );
}

/// The `ts` of this run's `sending` event for `recipient`.
#[track_caller]
fn sending_at(out: &Outcome, recipient: &str) -> DateTime<Utc> {
    let event = out
        .events("sending")
        .into_iter()
        .find(|e| e["recipient"] == recipient)
        .unwrap_or_else(|| panic!("no `sending` of {recipient}\n{out}"));
    ts(event)
}

#[track_caller]
fn ts(event: &Value) -> DateTime<Utc> {
    event["ts"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("no RFC 3339 `ts` in {event}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_run_waits_for_the_sends_before_ctrl_c() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(3);
    // At most 2 in any 2 s: r01 at 0 s, r02 at 1 s, then Ctrl-C; a restart
    // takes well under a second, so r03 must be held back to 2 s.
    let running = work.send(&sandbox.url()).opt("--rate", "2/2s").spawn();
    assert!(
        running
            .wait_for_events("sent", 2, Duration::from_secs(10))
            .await
    );
    running.signal("INT");
    let first = running.wait().await;
    first.expect_code(130);
    assert_eq!(first.recipients("sent"), recipients[..2], "{first}");

    let second = work.resume().run().await;
    second.expect_code(0);
    assert_eq!(second.recipients("sent"), recipients[2..], "{second}");
    let gap = sending_at(&second, &recipients[2]) - sending_at(&first, &recipients[0]);
    assert!(
        gap >= TimeDelta::milliseconds(2000 - COMMIT_SLACK_MS),
        "r03 left {gap} after r01\n{first}\n{second}"
    );
    assert_sent_on_time(
        &second,
        &recipients[2],
        sending_at(&first, &recipients[0]) + TimeDelta::seconds(2),
    );

    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients));
    let breach = window_breach(
        &messages,
        "default",
        2,
        TimeDelta::seconds(2),
        TimeDelta::milliseconds(20),
    );
    assert_eq!(breach, None, "{messages:?}");
    sandbox.shutdown().await;
}

/// A seed whose first request is handled at once and whose second one
/// sleeps at least 400 ms in the sandbox (of at most `max`).
fn slow_second_request(max: Duration) -> u64 {
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate: 0.0,
        latency: Some(max),
    };
    (0..10_000)
        .find(|seed| {
            let dice = FaultDice::new(rates, *seed);
            let (first, second) = (dice.draw().delay, dice.draw().delay);
            first < Duration::from_millis(30) && second > Duration::from_millis(400)
        })
        .expect("a seed with a fast then a slow request")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_cut_off_by_kill_9_still_counts_against_the_rate() {
    let _gate = GATE.read().await;
    let mut config = roomy_config();
    let max = Duration::from_millis(600);
    config.latency = Some(max);
    config.seed = slow_second_request(max);
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(3);
    let mut running = work.send(&sandbox.url()).opt("--rate", "1/1500ms").spawn();
    // r02's request sits in the sandbox for 400+ ms: kill the sender while
    // it waits, with r02 durably in flight.
    assert!(running.wait_until(Duration::from_millis(1), |run| {
        run.events_so_far()
            .iter()
            .filter(|e| e["event"] == "sending")
            .count()
            >= 2
    }));
    assert!(running.kill9(), "the sender ended by itself");
    let first = running.wait().await;

    let second = work.resume().run().await;
    // r02 stays uncertain: the campaign ends with exit 3.
    second.expect_code(3);
    second.expect_stderr("1 message(s) were in flight when the last run stopped");
    assert_eq!(second.recipients("sending"), recipients[2..], "{second}");
    let gap = sending_at(&second, &recipients[2]) - sending_at(&first, &recipients[1]);
    assert!(
        gap >= TimeDelta::milliseconds(1500 - COMMIT_SLACK_MS),
        "r03 left {gap} after the cut-off r02\n{first}\n{second}"
    );
    assert_sent_on_time(
        &second,
        &recipients[2],
        sending_at(&first, &recipients[1]) + TimeDelta::milliseconds(1500),
    );

    let row = work.row(&recipients[1]);
    assert_eq!(row["state"], "uncertain", "{row}");
    let [total, pending, in_flight, sent, failed, uncertain, _] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, sent, failed, uncertain),
        (3, 0, 0, 2, 0, 1)
    );
    // Whether the sandbox went on to take r02 after its sender died or not,
    // nobody arrived twice. (The sandbox stamps r02 after its injected
    // delay, so its arrival times say nothing about the sender's pacing.)
    let received = received_recipients(&sandbox.messages());
    let mut deduped = received.clone();
    deduped.dedup();
    assert_eq!(received, deduped);
    assert!(received.contains(&recipients[0]) && received.contains(&recipients[2]));
    sandbox.shutdown().await;
}
