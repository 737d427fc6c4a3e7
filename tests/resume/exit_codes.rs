//! The exit code of `resume` describes the campaign, as docs/cli.md says:
//! 3 when it is finished but some messages failed or are uncertain.

use std::time::Duration;

use crate::harness::{GATE, Workdir, counts, roomy_config, start};

#[tokio::test(flavor = "multi_thread")]

async fn resume_reports_earlier_uncertain_and_failed() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    // r01's body renders empty: the API answers 400 and it fails for good.
    work.write(
        "message.txt",
        "Subject: Hello\n\n{{ note | default(\"\") }}\n",
    );
    let recipients: Vec<String> = (1..=5).map(|i| format!("r{i:02}@example.test")).collect();
    let rows: Vec<String> = recipients
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},{}", if i == 0 { "" } else { "a note" }))
        .collect();
    work.csv("recipient,note", &rows);
    let running = work.send(&sandbox.url()).opt("--rate", "4/s").spawn();
    assert!(
        running
            .wait_for_events("sent", 1, Duration::from_secs(10))
            .await
    );
    running.signal("INT");
    let first = running.wait().await;
    first.expect_code(130);
    assert_eq!(first.recipients("failed"), recipients[..1], "{first}");

    let second = work.resume().run().await;
    let [total, pending, in_flight, sent, failed, ..] = counts(&work.status());
    assert_eq!((total, pending, in_flight, sent, failed), (5, 0, 0, 4, 1));
    // The same journal with nothing left to send exits 3 ...
    let third = work.resume().run().await;
    third
        .expect_code(3)
        .expect_stderr("Nothing left to send: 4 sent, 1 failed");
    // ... and so must the run that finished it.
    second.expect_code(3);
    sandbox.shutdown().await;
}
