//! The database unreachable mid-campaign (issue 14): a TCP proxy between
//! the binary and the shared server cuts every connection, so the server is
//! never restarted. A cut of a few seconds pauses sending and the run goes
//! on, every message sent once and none while the database was away; a
//! database gone for good keeps the run retrying until Ctrl-C, which ends it
//! as interrupted with nothing lost.

use std::time::Duration;

use chrono::TimeDelta;

use super::{TOKEN, config, people, states};
use crate::common::postgres::TestSchema;
use crate::common::tcp_proxy::TcpProxy;
use crate::common::{Cmd, Workdir, received_recipients, sorted, start};

/// The test server's URL, through `proxy` instead of straight to it.
fn through(db: &TestSchema, proxy: &TcpProxy) -> String {
    proxy.url_for(&db.url_text)
}

fn send(work: &Workdir, state: &str, endpoint: &str) -> Cmd {
    let events = format!("events-{}.jsonl", work.next_run());
    work.cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--state", state)
        .delivery(endpoint, &events)
        .opt("--rate", "20/s")
        .token(TOKEN)
}

/// How long after a cut begins a request may still leave: its claim was
/// granted before the cut, up to the claim lead (50 ms) ahead of its slot;
/// the rest is the machine's scheduling.
const GRANTED_BEFORE_THE_CUT: TimeDelta = TimeDelta::milliseconds(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_cut_for_3_s_pauses_sending_and_nothing_is_lost_or_sent_twice() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap());
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let ids = people(&work, 60);
    let running = send(&work, &through(&db, &proxy), &sandbox.url()).spawn();
    assert!(
        running
            .wait_for_events("sent", 20, Duration::from_secs(20))
            .await,
        "20 sends before the cut"
    );
    let cut = proxy.cut(Duration::from_secs(3));
    let out = running.wait().await;
    let host = format!("127.0.0.1:{}", proxy.port());
    out.expect_code(0)
        .expect_stderr(&format!("lost the connection to the database at {host} ("))
        .expect_stderr("sending is paused, reconnecting")
        .expect_stderr(&format!("the database at {host} is back after "))
        .expect_stderr("sending continues");

    // Every message once, by its Idempotency-Key and its recipient.
    let messages = sandbox.messages();
    let mut keys: Vec<_> = messages
        .iter()
        .map(|m| m.idempotency_key.clone().expect("a key"))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), ids.len(), "{out}");
    assert_eq!(received_recipients(&messages), sorted(&ids), "{out}");
    let rows = states(&work, &db, "data");
    assert!(rows.iter().all(|(_, state)| state == "sent"), "{rows:?}");

    // Nothing left while the database was away, but what was granted
    // before; sending went on before and after.
    let during: Vec<_> = messages
        .iter()
        .filter(|m| m.received_at > cut.from + GRANTED_BEFORE_THE_CUT && m.received_at < cut.until)
        .map(|m| (m.received_at, m.recipients[0].clone()))
        .collect();
    assert!(
        during.is_empty(),
        "sent during the cut {cut:?}: {during:?}\n{out}"
    );
    assert!(messages.iter().any(|m| m.received_at < cut.from));
    assert!(messages.iter().any(|m| m.received_at > cut.until));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_gone_for_good_keeps_the_run_waiting_until_ctrl_c_and_loses_nothing() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap());
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let ids = people(&work, 60);
    let running = send(&work, &through(&db, &proxy), &sandbox.url()).spawn();
    assert!(
        running
            .wait_for_events("sent", 10, Duration::from_secs(20))
            .await,
        "10 sends before the cut"
    );
    proxy.cut(Duration::from_secs(3600));
    // Past the first attempts to reconnect: the run waits, it does not fail.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_ctrl_c = sandbox.messages().len();
    // Still running (an exit before would not be 130 below).
    running.signal("INT");
    let out = running.wait().await;
    out.expect_code(130)
        .expect_stderr("sending is paused, reconnecting")
        .expect_stderr("Interrupted")
        .expect_stderr("gave up reconnecting to the database")
        .expect_stderr_lacks("is back after");
    assert_eq!(
        sandbox.messages().len(),
        before_ctrl_c,
        "nothing left after the cut"
    );

    // Every message that arrived is in the journal as sent or as in flight
    // (its outcome was not written): nothing lost; the rest is pending.
    let received = received_recipients(&sandbox.messages());
    for (recipient, state) in states(&work, &db, "data") {
        let arrived = received.contains(&recipient);
        match state.as_str() {
            "sent" => assert!(arrived, "{recipient} sent but not received"),
            "in_flight" => {}
            "pending" => assert!(!arrived, "{recipient} received but pending\n{out}"),
            other => panic!("{recipient} left {other}"),
        }
    }
    // Resumed straight to the database, the uncertain ones again with
    // their Idempotency-Key (the sandbox drops a repeat): everyone once.
    let resumed = work
        .cmd(&["resume"])
        .opt("--state", &db.url_text)
        .opt("--endpoint", &sandbox.url())
        .flag("--resend-uncertain")
        .flag("--no-progress")
        .token(TOKEN)
        .run()
        .await;
    resumed.expect_code(0);
    assert_eq!(received_recipients(&sandbox.messages()), sorted(&ids));
    sandbox.shutdown().await;
}
