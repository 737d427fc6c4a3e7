//! Fencing: a lease taken away from a worker while it sends (simulated by
//! giving the account's row another holder and a higher fence, as a
//! takeover does) stops that account at once: its claims are refused, no
//! request for it leaves after a short moment, the worker says it lost the
//! lease and keeps sending the other accounts. When the other holder's
//! lease runs out, the worker takes the account back and finishes it.

use std::time::Duration;

use chrono::{TimeDelta, Utc};

use crate::harness::{GATE, Shared, TestSchema, arrivals, roomy_config, start, times_by_account};

/// Longer than a request that was already claimed when the lease went.
const SETTLE: TimeDelta = TimeDelta::milliseconds(500);
const STOLEN_FOR: TimeDelta = TimeDelta::seconds(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_was_taken_stops_that_account_and_keeps_the_others() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, 3, 30);
    shared
        .send_detached(&sandbox.url(), "5/s")
        .run()
        .await
        .expect_code(0);
    let worker = shared.worker("2s").flag("--until-idle").spawn();
    let started = |_: &Shared| {
        let times = times_by_account(&sandbox.messages(), &shared.accounts);
        times.get("acct01").is_some_and(|times| times.len() >= 3)
    };
    assert!(shared.wait_for(Duration::from_secs(20), started).await);

    let stolen_at = Utc::now();
    shared.db.execute(&format!(
        "UPDATE accounts SET lease_holder = 'another-worker', fence = fence + 1,
             lease_until_ns = (extract(epoch FROM clock_timestamp()) * 1e9)::bigint + {}
         WHERE account = 'acct01'",
        STOLEN_FOR.num_nanoseconds().unwrap()
    ));
    let out = worker.wait().await;
    out.expect_code(0);
    let lost = out.stderr.contains("lost the lease on account `acct01`")
        || out
            .stderr
            .contains("account `acct01`: cannot record the send in the journal: message")
            && out
                .stderr
                .contains("lease on its account expired or was taken over");
    assert!(lost, "the worker did not say it lost acct01's lease\n{out}");

    let times = times_by_account(&sandbox.messages(), &shared.accounts);
    let (quiet_from, quiet_to) = (stolen_at + SETTLE, stolen_at + STOLEN_FOR);
    let during = |account: &str| {
        times[account]
            .iter()
            .filter(|at| **at > quiet_from && **at < quiet_to)
            .count()
    };
    assert_eq!(during("acct01"), 0, "acct01 sent without its lease\n{out}");
    assert!(during("acct00") >= 5, "acct00 stopped too\n{out}");
    assert!(during("acct02") >= 5, "acct02 stopped too\n{out}");

    // Taken back once the other lease ran out: everything sent, once.
    let arrived = arrivals(&sandbox.messages());
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    for message in shared.messages() {
        let times = arrived.get(&message.recipient).copied().unwrap_or(0);
        match message.state.as_str() {
            "sent" => assert_eq!(times, 1, "{message:?}"),
            "uncertain" => assert!(times <= 1, "{message:?}"),
            _ => panic!("{message:?} left behind\n{out}"),
        }
    }
    sandbox.shutdown().await;
}
