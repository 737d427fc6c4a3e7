//! A `send` of its own (no `--detach`) holds its campaign alone: a worker
//! started beside it leaves that campaign untouched. When the send is
//! killed with kill -9, the worker takes the campaign over and finishes
//! it: what the send left in flight is uncertain, the rest sent once, and
//! each account's pace holds across the two.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::TimeDelta;
use outreach::sandbox::SandboxConfig;

use crate::harness::{
    GATE, Shared, TestSchema, arrivals, breach, roomy_config, start, times_by_account,
};

const RATE_COUNT: usize = 5;
/// The sandbox's latency bound: each request waits a random time up to it
/// before the sandbox stamps its arrival (slow answers, so the kill finds
/// requests in flight).
const LATENCY_MS: u64 = 150;
/// Arrivals are stamped after that random latency, so two requests sent
/// exactly on pace can arrive up to `LATENCY_MS` closer than they left; plus,
/// as in `kill.rs`, a new connection's first request arriving late. A
/// handover that ignored the sender's sends would still show: 6 requests
/// within a few hundred milliseconds.
const ARRIVAL_TOLERANCE_MS: i64 = LATENCY_MS as i64 + 70;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_leaves_a_campaign_being_sent_alone_until_the_sender_dies() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    // Slow answers, so the kill finds requests in flight.
    let sandbox = start(SandboxConfig {
        latency: Some(Duration::from_millis(LATENCY_MS)),
        ..roomy_config()
    })
    .await;
    let shared = Shared::new(db, 2, 20);
    let mut sender = shared
        .send(&sandbox.url(), "5/s")
        .flag("--no-progress")
        .spawn();
    assert!(
        sender
            .wait_for_events("sent", 2, Duration::from_secs(20))
            .await
    );

    let worker = shared.worker("1s").flag("--until-idle").spawn();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        worker
            .events_so_far()
            .iter()
            .all(|e| e["event"] != "sending"),
        "the worker sent for a campaign `send` holds"
    );
    let in_flight = |shared: &Shared| shared.counts().contains_key("in_flight");
    assert!(shared.wait_for(Duration::from_secs(10), in_flight).await);
    assert!(sender.kill9(), "the send was still running");
    let sender = sender.wait().await;
    let left: BTreeSet<String> = shared
        .messages()
        .into_iter()
        .filter(|m| m.state == "in_flight")
        .map(|m| m.recipient)
        .collect();
    assert!(
        !left.is_empty(),
        "the kill found nothing in flight\n{sender}"
    );

    let worker = worker.wait().await;
    worker.expect_code(0).expect_stderr("took over account");
    assert!(!worker.events("sent").is_empty(), "{worker}");

    let arrived = arrivals(&sandbox.messages());
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    for message in shared.messages() {
        let times = arrived.get(&message.recipient).copied().unwrap_or(0);
        match message.state.as_str() {
            "sent" => assert_eq!(times, 1, "{message:?}"),
            "uncertain" => {
                assert!(left.contains(&message.recipient), "{message:?}");
                assert!(
                    message
                        .reason
                        .as_deref()
                        .unwrap_or_default()
                        .contains("lease expired")
                );
            }
            _ => panic!("{message:?} left behind\n{worker}"),
        }
    }
    for recipient in &left {
        let message = shared
            .messages()
            .into_iter()
            .find(|m| &m.recipient == recipient);
        assert_eq!(message.map(|m| m.state), Some("uncertain".into()));
    }
    for (account, times) in times_by_account(&sandbox.messages(), &shared.accounts) {
        let found = breach(
            &times,
            RATE_COUNT,
            TimeDelta::seconds(1),
            TimeDelta::milliseconds(ARRIVAL_TOLERANCE_MS),
        );
        assert!(found.is_none(), "{account} went over 5/s: {found:?}");
    }
    sandbox.shutdown().await;
}
