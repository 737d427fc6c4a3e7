//! The reliability test of issue 14: three workers share one campaign of
//! 5,000 messages over 50 accounts; every two seconds or so (a seeded
//! RNG picks the moments) one of them, in turn, is killed with kill -9 and
//! started again at once, eight times; then they finish the campaign
//! (`--until-idle`). Afterwards, whatever the moments:
//!
//! - no duplicate: no recipient arrived twice, and the sandbox (which
//!   would answer a repeated Idempotency-Key with a replay) saw no repeat;
//! - nothing lost: every message is `sent` or `uncertain`, none pending or
//!   in flight; every `sent` one arrived exactly once, with its journal's
//!   Idempotency-Key; an `uncertain` one at most once;
//! - no rolling window over its limit for any account, across all workers;
//! - every account finished, and every worker not killed exited 0.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use chrono::TimeDelta;

use crate::harness::{
    GATE, Outcome, Rng, Running, Shared, TestSchema, arrivals, breach, roomy_config, start,
    times_by_account,
};

const ACCOUNTS: usize = 50;
const EACH: usize = 100;
/// Per account: at most 20 in any second, 50 ms apart.
const RATE: &str = "20/s";
const RATE_COUNT: usize = 20;
const WORKERS: usize = 3;
/// Kills, about two seconds apart: each worker is killed two or three
/// times. (Killing on to the end works too, but every restart costs a
/// debug build's start-up and the test then takes over a minute.)
const KILLS: usize = 8;
/// The campaign must be done this long after the first worker started.
const SETTLE_WITHIN: Duration = Duration::from_secs(100);
/// A short lease, so a killed worker's accounts move on within ~2.5 s.
const LEASE: &str = "2s";
const SEED: u64 = 14;
/// Arrivals are stamped by the sandbox: the first request of a worker to an
/// account opens a new connection and, on a loaded 2-CPU machine, reaches
/// the sandbox up to ~50 ms after it left, while the next one reuses the
/// connection (`tests/resume/kill.rs` measured this).
const ARRIVAL_TOLERANCE_MS: i64 = 70;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_one_killed_every_two_seconds_lose_nothing_and_send_nothing_twice() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _alone = GATE.write().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, ACCOUNTS, EACH);
    shared
        .send_detached(&sandbox.url(), RATE)
        .run()
        .await
        .expect_code(0);

    let began = Instant::now();
    let worker = || shared.worker(LEASE).flag("--until-idle").spawn();
    let mut workers: Vec<Running> = (0..WORKERS).map(|_| worker()).collect();
    let mut killed: Vec<Outcome> = Vec::new();
    let mut rng = Rng::new(SEED);
    while killed.len() < KILLS && !settled(&shared) {
        tokio::time::sleep(Duration::from_millis(1500 + rng.below(1001))).await;
        // Round robin: each worker is killed every third time.
        let victim = killed.len() % WORKERS;
        if !workers[victim].kill9() {
            break; // It had finished: the campaign is done.
        }
        let dead = std::mem::replace(&mut workers[victim], worker());
        killed.push(dead.wait().await);
    }
    // Waited for here, not by `Running::wait`, which kills a run older
    // than `common::DEADLINE`.
    while !settled(&shared) && began.elapsed() < SETTLE_WITHIN {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut finished = Vec::new();
    for running in workers {
        finished.push(running.wait().await);
    }
    let elapsed = began.elapsed();
    let context = || {
        let mut text = String::new();
        for outcome in killed.iter().chain(&finished) {
            text.push_str(&format!(
                "{}: {:?}\n{}\n",
                outcome.description, outcome.code, outcome.stderr
            ));
        }
        text
    };
    for outcome in &finished {
        assert_eq!(outcome.code, Some(0), "a worker failed\n{outcome}");
    }

    let messages = shared.messages();
    let received = sandbox.messages();
    let arrived = arrivals(&received);
    let duplicates: Vec<_> = arrived.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "arrived twice: {duplicates:?}\n{}",
        context()
    );
    assert_eq!(sandbox.stats().replayed, 0, "a request was repeated");
    let keys: BTreeMap<&str, &str> = messages
        .iter()
        .map(|m| (m.recipient.as_str(), m.key.as_str()))
        .collect();
    for message in &received {
        assert_eq!(
            message.idempotency_key.as_deref(),
            Some(keys[message.recipients[0].as_str()]),
            "{message:?}"
        );
    }
    let mut uncertain = 0;
    for message in &messages {
        let times = arrived.get(&message.recipient).copied().unwrap_or(0);
        match message.state.as_str() {
            "sent" => assert_eq!(times, 1, "{message:?} is sent\n{}", context()),
            "uncertain" => uncertain += 1,
            // Also: every account finished.
            _ => panic!("{message:?} is neither sent nor uncertain\n{}", context()),
        }
    }

    for (account, times) in times_by_account(&received, &shared.accounts) {
        let found = breach(
            &times,
            RATE_COUNT,
            TimeDelta::seconds(1),
            TimeDelta::milliseconds(ARRIVAL_TOLERANCE_MS),
        );
        assert!(found.is_none(), "{account} sent over {RATE}: {found:?}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "workers kill test: {} kills, {} sent, {uncertain} uncertain, {} accounts, {elapsed:.1?}",
        killed.len(),
        messages.len() - uncertain,
        ACCOUNTS
    );
    assert!(
        !killed.is_empty(),
        "no worker was killed: the test proved nothing"
    );
    sandbox.shutdown().await;
}

/// Nothing left to send: no message pending or in flight.
fn settled(shared: &Shared) -> bool {
    let counts = shared.counts();
    !counts.contains_key("pending") && !counts.contains_key("in_flight")
}
