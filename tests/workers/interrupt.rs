//! Ctrl-C (SIGINT) on a worker: no new sends, the requests in flight
//! finish and are recorded, every lease is given back at once (so no other
//! worker waits for it to run out), and the worker exits 130. Another
//! worker then finishes the campaign, nothing sent twice.

use std::time::Duration;

use crate::harness::{GATE, Shared, TestSchema, arrivals, roomy_config, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_gives_the_leases_back_and_another_worker_finishes() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, 2, 20);
    shared
        .send_detached(&sandbox.url(), "5/s")
        .run()
        .await
        .expect_code(0);
    // A long lease: only giving it back lets the next worker in soon.
    let first = shared.worker("30s").spawn();
    assert!(
        first
            .wait_for_events("sent", 4, Duration::from_secs(20))
            .await
    );
    first.signal("INT");
    let first = first.wait().await;
    first
        .expect_code(130)
        .expect_stderr("stopping: no new sends");

    let holders = shared.holders();
    assert!(
        holders.iter().all(|(_, holder)| holder.is_none()),
        "{holders:?}"
    );
    let counts = shared.counts();
    assert_eq!(counts.get("in_flight"), None, "{counts:?}\n{first}");
    assert!(
        counts.contains_key("pending"),
        "nothing left for the next worker"
    );

    let second = shared.worker("30s").flag("--until-idle").run().await;
    second.expect_code(0).expect_stderr_lacks("took over");
    let arrived = arrivals(&sandbox.messages());
    assert_eq!(
        arrived.keys().cloned().collect::<Vec<_>>(),
        shared.recipients()
    );
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    assert_eq!(shared.counts().get("sent"), Some(&40), "{second}");
    sandbox.shutdown().await;
}
