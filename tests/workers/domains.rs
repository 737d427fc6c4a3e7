//! `per_domain_daily_cap` holds across workers: every recipient of the
//! campaign is at one domain, four accounts send to it from two workers, and
//! no more than the cap arrives that day; a fresh worker then fills the day
//! to exactly the cap. Each account's run counted only
//! its own sends before the claim counted the day in the database: four
//! accounts could send four times the cap.

use std::collections::BTreeMap;

use crate::harness::{GATE, Shared, TestSchema, arrivals, roomy_config, start};

const CAP: usize = 6;
const ACCOUNTS: usize = 4;
const EACH: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_send_a_domain_no_more_than_its_daily_cap() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, ACCOUNTS, EACH);
    shared
        .work
        .write("outreach.toml", format!("per_domain_daily_cap = {CAP}\n"));
    shared
        .send_detached(&sandbox.url(), "20/s")
        .opt("--timezone", "UTC")
        .run()
        .await
        .expect_code(0);
    let workers: Vec<_> = (0..2)
        .map(|_| shared.worker("2s").flag("--until-idle").spawn())
        .collect();
    let mut finished = Vec::new();
    for worker in workers {
        finished.push(worker.wait().await);
    }
    for outcome in &finished {
        outcome.expect_code(0);
    }

    let arrived = arrivals(&sandbox.messages());
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    let context = finished
        .iter()
        .map(|outcome| outcome.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    // Never over the cap. Possibly under it: a claim counted while in
    // flight and then given back (a worker handing accounts to the one that
    // joined) made other accounts' claims wait for the next day.
    assert!(
        (1..=CAP).contains(&arrived.len()),
        "the cap is {CAP} a day for example.test: {arrived:?}\n{context}"
    );
    // A worker that starts afresh on the same day (the accounts' waits
    // cleared, as if given back early) knows nothing of the day in memory:
    // the database's count alone holds it, and with nothing given back it
    // fills the day exactly.
    shared
        .db
        .execute("UPDATE accounts SET not_before_ns = NULL");
    let again = shared.worker("2s").flag("--until-idle").run().await;
    again.expect_code(0);
    let arrived = arrivals(&sandbox.messages());
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    assert_eq!(
        arrived.len(),
        CAP,
        "the day is not filled to its cap, or sent past it\n{again}"
    );
    let counts: BTreeMap<String, usize> = shared.counts();
    assert_eq!(counts.get("sent"), Some(&CAP), "{counts:?}");
    assert_eq!(
        counts.get("pending"),
        Some(&(ACCOUNTS * EACH - CAP)),
        "the rest waits for the next day: {counts:?}"
    );
    sandbox.shutdown().await;
}
