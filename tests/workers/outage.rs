//! Workers ride out a database outage (issue 14): three workers share a
//! campaign, every one reaching the database through a TCP proxy
//! (`tests/common/tcp_proxy.rs`) that cuts every connection for a while, so
//! the shared server is never restarted.
//!
//! - A cut of 3 s, longer than the 2 s lease: the leases expire meanwhile
//!   (on the database's clock). Every worker keeps running through it, says
//!   the database was lost and is back, and they finish the campaign.
//! - A cut of 1 s, shorter than the lease.
//!
//! Either way: nothing lost (every message sent or uncertain, none pending
//! or in flight), nothing received twice and no request made twice (the
//! sandbox counts repeated Idempotency-Keys), no rolling window over its limit,
//! nothing sent while the database was away but what was granted before,
//! and only messages in flight when the cut began may be uncertain.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::TimeDelta;
use outreach::sandbox::Sandbox;

use crate::common::tcp_proxy::{Cut, TcpProxy};
use crate::harness::{
    GATE, Outcome, Running, Shared, TestSchema, arrivals, breach, roomy_config, start,
    times_by_account,
};

const ACCOUNTS: usize = 10;
const EACH: usize = 40;
/// Per account: at most 10 in any second; 4 s of sending in all.
const RATE: &str = "10/s";
const RATE_COUNT: usize = 10;
const WORKERS: usize = 3;
const LEASE: &str = "2s";
/// Sends before the cut: about a second's worth.
const SENT_BEFORE_THE_CUT: usize = 60;
/// As in `kill.rs`: a first request on a new connection may reach the
/// sandbox up to ~50 ms after it left.
const ARRIVAL_TOLERANCE_MS: i64 = 70;
/// How long after a cut begins a request may still arrive: its claim was
/// granted before the cut (as in `tests/postgres/outage.rs`).
const GRANTED_BEFORE_THE_CUT: TimeDelta = TimeDelta::milliseconds(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_longer_than_the_lease_pauses_every_worker_and_they_finish_losing_nothing() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let run = cut_mid_campaign(db, Duration::from_secs(3)).await;
    for outcome in &run.finished {
        outcome
            .expect_code(0)
            .expect_stderr("cannot reach the database (")
            .expect_stderr("its accounts send nothing new until it is back; reconnecting")
            .expect_stderr("the database is back after ");
    }
    run.check();
    run.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_shorter_than_the_lease_makes_nothing_uncertain_but_what_was_in_flight() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let run = cut_mid_campaign(db, Duration::from_secs(1)).await;
    for outcome in &run.finished {
        outcome
            .expect_code(0)
            .expect_stderr("the database is back after ");
    }
    run.check();
    run.sandbox.shutdown().await;
}

/// A campaign shared by the workers, cut once, run to its end.
struct CutRun {
    shared: Shared,
    sandbox: Sandbox,
    cut: Cut,
    /// Recipients whose messages were in flight when the cut began.
    in_flight: BTreeSet<String>,
    finished: Vec<Outcome>,
}

/// Starts the workers through a proxy, cuts it for `duration` after some
/// sends, checks that every worker is still running once it is back, and
/// waits for them all to finish.
async fn cut_mid_campaign(db: TestSchema, duration: Duration) -> CutRun {
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, ACCOUNTS, EACH);
    shared
        .send_detached(&sandbox.url(), RATE)
        .run()
        .await
        .expect_code(0);
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap());
    let state = proxy.url_for(&shared.db.url_text);
    let mut workers: Vec<Running> = (0..WORKERS)
        .map(|_| shared.worker_on(&state, LEASE).flag("--until-idle").spawn())
        .collect();
    let started = shared
        .wait_for(Duration::from_secs(20), |s| {
            s.counts().get("sent").copied().unwrap_or(0) >= SENT_BEFORE_THE_CUT
        })
        .await;
    assert!(started, "{SENT_BEFORE_THE_CUT} sends before the cut");

    let cut = proxy.cut(duration);
    // What was mid-commit when the connections closed lands meanwhile.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let in_flight = recipients_in(&shared, "in_flight");
    tokio::time::sleep(duration + Duration::from_millis(200)).await;
    let during: Vec<bool> = workers.iter_mut().map(Running::is_running).collect();
    let mut finished = Vec::new();
    for running in workers {
        finished.push(running.wait().await);
    }
    for (outcome, running) in finished.iter().zip(during) {
        assert!(running, "a worker exited during the cut {cut:?}\n{outcome}");
    }
    CutRun {
        shared,
        sandbox,
        cut,
        in_flight,
        finished,
    }
}

fn recipients_in(shared: &Shared, state: &str) -> BTreeSet<String> {
    shared
        .messages()
        .into_iter()
        .filter(|m| m.state == state)
        .map(|m| m.recipient)
        .collect()
}

impl CutRun {
    fn context(&self) -> String {
        let mut text = format!("cut {:?}\n", self.cut);
        for outcome in &self.finished {
            text.push_str(&format!("{outcome}\n"));
        }
        text
    }

    fn check(&self) {
        let messages = self.shared.messages();
        let received = self.sandbox.messages();
        let arrived = arrivals(&received);
        let duplicates: Vec<_> = arrived.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            duplicates.is_empty(),
            "arrived twice: {duplicates:?}\n{}",
            self.context()
        );
        // No request is made twice: the sandbox drops a repeated
        // Idempotency-Key, so this is what shows a message sent by two runs
        // (a worker re-leasing its own accounts after the cut used to start a
        // second run of each beside the first).
        let replayed = self.sandbox.stats().replayed;
        assert_eq!(
            replayed,
            0,
            "requests repeated with the same Idempotency-Key\n{}",
            self.context()
        );
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
        for message in &messages {
            let times = arrived.get(&message.recipient).copied().unwrap_or(0);
            match message.state.as_str() {
                "sent" => assert_eq!(times, 1, "{message:?} is sent\n{}", self.context()),
                "uncertain" => assert!(
                    self.in_flight.contains(&message.recipient),
                    "{message:?} is uncertain but was not in flight at the cut \
                     (in flight: {:?})\n{}",
                    self.in_flight,
                    self.context()
                ),
                _ => panic!(
                    "{message:?} is neither sent nor uncertain\n{}",
                    self.context()
                ),
            }
        }
        self.check_windows(&received);
        self.check_paused(&received);
    }

    fn check_windows(&self, received: &[outreach::sandbox::AcceptedMessage]) {
        for (account, times) in times_by_account(received, &self.shared.accounts) {
            let found = breach(
                &times,
                RATE_COUNT,
                TimeDelta::seconds(1),
                TimeDelta::milliseconds(ARRIVAL_TOLERANCE_MS),
            );
            assert!(found.is_none(), "{account} sent over {RATE}: {found:?}");
        }
    }

    /// Nothing left while the database was away but what was granted
    /// before; sending went on before and after.
    fn check_paused(&self, received: &[outreach::sandbox::AcceptedMessage]) {
        let cut = self.cut;
        let during: Vec<_> = received
            .iter()
            .filter(|m| {
                m.received_at > cut.from + GRANTED_BEFORE_THE_CUT && m.received_at < cut.until
            })
            .map(|m| (m.received_at, m.recipients[0].clone()))
            .collect();
        assert!(
            during.is_empty(),
            "sent during the cut: {during:?}\n{}",
            self.context()
        );
        assert!(received.iter().any(|m| m.received_at < cut.from));
        assert!(received.iter().any(|m| m.received_at > cut.until));
    }
}
