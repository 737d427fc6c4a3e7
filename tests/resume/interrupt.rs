//! A campaign stopped by Ctrl-C or by an API that went away is finished by
//! `resume`, every recipient exactly once.

use std::time::Duration;

use crate::harness::{
    GATE, TOKEN, Workdir, counts, received_recipients, roomy_config, sorted, start,
};

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_then_resume_sends_the_rest_exactly_once() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(12);
    let running = work.send(&sandbox.url()).opt("--rate", "10/s").spawn();
    assert!(
        running
            .wait_for_events("sent", 3, Duration::from_secs(10))
            .await
    );
    running.signal("INT");
    let first = running.wait().await;
    first
        .expect_code(130)
        .expect_stderr("Interrupted. Continue with: outreach resume --state data.outreach.db");
    let sent_first = first.recipients("sent");
    assert!((3..12).contains(&sent_first.len()), "{first}");
    assert_eq!(sent_first, sorted(&recipients[..sent_first.len()]));
    let [total, pending, in_flight, sent, ..] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, sent),
        (12, 12 - sent_first.len() as u64, 0, sent_first.len() as u64)
    );
    assert!(
        !work.path().join("data.outreach.db.lock").exists(),
        "an interrupted run takes its lock file with it: {:?}",
        work.names()
    );

    let second = work.resume().run().await;
    second
        .expect_code(0)
        .expect_stderr(&format!(
            "resuming: {} message(s) pending",
            12 - sent_first.len()
        ))
        .expect_stderr_lacks("were in flight");
    assert_eq!(
        second.recipients("sent"),
        sorted(&recipients[sent_first.len()..]),
        "{second}"
    );
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients)
    );
    let [total, pending, in_flight, sent, failed, uncertain, skipped] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, sent, failed, uncertain, skipped),
        (12, 0, 0, 12, 0, 0, 0)
    );
    assert!(
        !work.path().join("data.outreach.db.lock").exists(),
        "a finished run leaves no lock file: {:?}",
        work.names()
    );
    sandbox.shutdown().await;
}

/// The API is down from the first request (connection refused), with the
/// default retry settings: a request that never reached the server leaves
/// its message pending whatever the attempt count, the run stops within
/// seconds naming the endpoint, and a plain `resume` sends every message
/// exactly once when the API is back.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_api_leaves_every_message_pending_for_resume() {
    let _gate = GATE.read().await;
    let gone = start(roomy_config()).await;
    let gone_url = gone.url();
    gone.shutdown().await;
    let host = gone_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host")
        .to_string();
    let work = Workdir::new();
    let recipients = work.recipients(8);

    let first = work
        .cmd(&["send", "data.csv", "--template", "message.txt"])
        .opt("--endpoint", &gone_url)
        .opt("--rate", "50/s")
        .opt("--events", "events-down.jsonl")
        .flag("--no-progress")
        .token(TOKEN)
        .run()
        .await;
    first
        .expect_code(1)
        .expect_stderr(&format!("endpoint: {gone_url}"))
        .expect_stderr(&format!("could not connect to {host}"))
        .expect_stderr("3 tries in a row")
        .expect_stderr("no message was lost")
        .expect_stderr("Continue with: outreach resume --state data.outreach.db");
    assert!(
        first.elapsed < Duration::from_secs(20),
        "stops well under a minute with the default retries\n{first}"
    );
    assert!(first.recipients("failed").is_empty(), "{first}");
    let [total, pending, in_flight, sent, failed, uncertain, _] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, sent, failed, uncertain),
        (8, 8, 0, 0, 0, 0)
    );

    // The API is back, on another port.
    let sandbox = start(roomy_config()).await;
    let second = work.resume().opt("--endpoint", &sandbox.url()).run().await;
    second
        .expect_code(0)
        .expect_stderr("resuming: 8 message(s) pending");
    assert_eq!(second.recipients("sent"), recipients, "{second}");
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients)
    );
    let [total, pending, in_flight, sent, failed, uncertain, _] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, sent, failed, uncertain),
        (8, 0, 0, 8, 0, 0)
    );
    sandbox.shutdown().await;
}
