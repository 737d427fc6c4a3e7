//! `send --detach` and `worker` as a user first meets them: a campaign
//! recorded and left to workers, two workers finishing it between them, and
//! the errors that say what to pass instead.

use crate::harness::{GATE, Shared, TOKEN, TestSchema, Workdir, arrivals, roomy_config, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_detach_records_and_two_workers_send_every_message_once() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, 4, 10);

    let detached = shared.send_detached(&sandbox.url(), "10/s").run().await;
    detached
        .expect_code(0)
        .expect_stderr("40 message(s) recorded")
        .expect_stderr("nothing was sent from here")
        .expect_stderr("outreach worker");
    assert!(sandbox.messages().is_empty(), "--detach sent something");
    assert_eq!(shared.counts().get("pending"), Some(&40));

    let first = shared.worker("2s").flag("--until-idle").spawn();
    let second = shared.worker("2s").flag("--until-idle").spawn();
    let (first, second) = (first.wait().await, second.wait().await);
    first
        .expect_code(0)
        .expect_stderr("no campaign has a message due");
    second
        .expect_code(0)
        .expect_stderr("no campaign has a message due");

    let arrived = arrivals(&sandbox.messages());
    assert_eq!(
        arrived.keys().cloned().collect::<Vec<_>>(),
        shared.recipients()
    );
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    assert_eq!(
        shared.counts().get("sent"),
        Some(&40),
        "{:?}",
        shared.counts()
    );
    let sent_by_workers = first.events("sent").len() + second.events("sent").len();
    assert_eq!(sent_by_workers, 40, "\n{first}\n{second}");
    sandbox.shutdown().await;
}

#[test]
fn send_detach_with_a_journal_file_is_refused_and_writes_nothing() {
    let work = Workdir::new();
    work.recipients(3);
    let out = work
        .cmd(&["send", "data.csv", "--template", "message.txt", "--detach"])
        .opt("--endpoint", "http://127.0.0.1:9/v2/messages")
        .token(TOKEN)
        .run_blocking();
    out.expect_code(1)
        .expect_stderr("--detach leaves the campaign to `outreach worker`s")
        .expect_stderr("--state postgres://");
    assert_eq!(work.names(), ["data.csv", "message.txt"], "{out}");
}

#[test]
fn a_worker_without_a_database_says_how_to_name_one() {
    let work = Workdir::new();
    let out = work.cmd(&["worker", "--until-idle"]).run_blocking();
    out.expect_code(1)
        .expect_stderr("`outreach worker` needs a PostgreSQL database")
        .expect_stderr("OUTREACH_DATABASE_URL");

    let file = work
        .cmd(&["worker", "--state", "data.outreach.db"])
        .run_blocking();
    file.expect_code(1)
        .expect_stderr("works on campaigns in PostgreSQL")
        .expect_stderr("outreach resume");
}

/// A campaign recorded to start later is not sent early by a worker: the
/// accounts go back with their first message's time as `not_before`, and
/// `--until-idle` has nothing due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_sends_nothing_before_the_campaigns_start() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, 2, 3);
    let later = (chrono::Utc::now() + chrono::TimeDelta::hours(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    shared
        .send_detached(&sandbox.url(), "10/s")
        .opt("--start", &later)
        .run()
        .await
        .expect_code(0);

    let worker = shared
        .worker("2s")
        .flag("--until-idle")
        .spawn()
        .wait()
        .await;
    worker
        .expect_code(0)
        .expect_stderr("no campaign has a message due");
    assert!(
        sandbox.messages().is_empty(),
        "sent before the start\n{worker}"
    );
    assert_eq!(shared.counts().get("pending"), Some(&6), "{worker}");
    let not_before = shared.query("SELECT count(*) FROM accounts WHERE not_before_ns IS NOT NULL");
    assert_eq!(not_before[0].get::<_, i64>(0), 2, "{worker}");
    sandbox.shutdown().await;
}
