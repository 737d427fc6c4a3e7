//! A campaign stopped by Ctrl-C or by an API that went away is finished by
//! `resume`, every recipient exactly once.

use std::time::Duration;

use crate::harness::{GATE, Workdir, counts, received_recipients, roomy_config, sorted, start};

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

/// The API is down from the first request: 5 recipients x 4 attempts make
/// the 20 requests after which the error budget stops the run.
#[tokio::test(flavor = "multi_thread")]
async fn after_the_api_was_down_resume_sends_to_the_new_endpoint() {
    let _gate = GATE.read().await;
    let gone = start(roomy_config()).await;
    let gone_url = gone.url();
    gone.shutdown().await;
    let work = Workdir::new();
    let recipients = work.recipients(8);

    let first = work.send(&gone_url).opt("--rate", "50/s").run().await;
    first
        .expect_code(1)
        .expect_stderr("20 of the last 20 requests of account `default` failed")
        .expect_stderr("the API looks down")
        .expect_stderr("Continue with: outreach resume --state data.outreach.db");
    // r01-r04 used up their 4 attempts; r05's 4th attempt was the 20th
    // request, so it stays pending with r06-r08.
    assert_eq!(first.recipients("failed"), recipients[..4], "{first}");
    assert_eq!(first.events("sending").len(), 20, "{first}");
    let [total, pending, in_flight, sent, failed, uncertain, _] = counts(&work.status());
    assert_eq!(
        (total, pending, in_flight, sent, failed, uncertain),
        (8, 4, 0, 0, 4, 0)
    );
    let attempts: Vec<u64> = work
        .report()
        .iter()
        .map(|row| row["attempts"].as_u64().expect("attempts"))
        .collect();
    assert_eq!(attempts, [4, 4, 4, 4, 4, 0, 0, 0]);

    // The API is back, on another port.
    let sandbox = start(roomy_config()).await;
    let second = work.resume().opt("--endpoint", &sandbox.url()).run().await;
    // 3 once `exit_codes::resume_reports_earlier_uncertain_and_failed`
    // passes (r01-r04 are still failed); 0 today.
    assert!(matches!(second.code, Some(0 | 3)), "{second}");
    second.expect_stderr("resuming: 4 message(s) pending");
    assert_eq!(second.recipients("sent"), recipients[4..], "{second}");
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients[4..])
    );

    let third = work
        .resume()
        .opt("--endpoint", &sandbox.url())
        .flag("--retry-failed")
        .run()
        .await;
    third
        .expect_code(0)
        .expect_stderr("--retry-failed: 4 failed message(s) are pending again");
    assert_eq!(third.recipients("sent"), recipients[..4], "{third}");
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
