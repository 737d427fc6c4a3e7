//! `--retry-failed` and `--resend-uncertain` put messages back in the
//! queue on purpose; delivery flags given to `resume` apply to it.

use outreach::sandbox::Sandbox;

use crate::harness::{
    GATE, Workdir, counts, journal_keys, received_recipients, roomy_config, sorted, start,
};

/// Recipients r01-r04; r03's body renders empty, which the API rejects
/// with 400.
fn campaign_with_a_400(work: &Workdir) -> Vec<String> {
    work.write(
        "message.txt",
        "Subject: Hello\n\n{{ note | default(\"\") }}\n",
    );
    let recipients: Vec<String> = (1..=4).map(|i| format!("r{i:02}@example.test")).collect();
    let rows: Vec<String> = recipients
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},{}", if i == 2 { "" } else { "a note" }))
        .collect();
    work.csv("recipient,note", &rows);
    recipients
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_failed_sends_a_failed_message_again() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = campaign_with_a_400(&work);
    let first = work.send(&sandbox.url()).opt("--rate", "50/s").run().await;
    first
        .expect_code(3)
        .expect_stderr("Sent 3 of 4 messages")
        .expect_stderr("400 Bad Request");
    let row = work.row(&recipients[2]);
    assert_eq!(
        (&row["state"], &row["attempts"], &row["last_status"]),
        (&"failed".into(), &1.into(), &400.into()),
        "{row}"
    );
    let reason = row["failure_reason"].as_str().expect("failure_reason");
    assert!(reason.starts_with("400 Bad Request: "), "{reason}");

    // Without the flag: nothing to send.
    let idle = work.resume().run().await;
    idle.expect_code(3)
        .expect_stderr("Nothing left to send: 3 sent, 1 failed, 0 uncertain, 0 skipped");
    assert_eq!(sandbox.stats().rejected, 1);

    // Nothing was fixed: the API refuses it again, and says so again.
    let retry = work.resume().flag("--retry-failed").run().await;
    retry
        .expect_code(3)
        .expect_stderr("--retry-failed: 1 failed message(s) are pending again")
        .expect_stderr("resuming: 1 message(s) pending");
    assert_eq!(retry.recipients("failed"), recipients[2..3], "{retry}");
    assert!(retry.events("sent").is_empty(), "{retry}");
    assert_eq!(sandbox.stats().rejected, 2);
    let row = work.row(&recipients[2]);
    assert_eq!(
        (&row["state"], &row["attempts"], &row["last_status"]),
        (&"failed".into(), &2.into(), &400.into()),
        "{row}"
    );
    // The others were not touched.
    let mut others = recipients.clone();
    others.remove(2);
    assert_eq!(received_recipients(&sandbox.messages()), others);
    for recipient in &others {
        assert_eq!(work.row(recipient)["attempts"], 1, "{recipient}");
    }
    sandbox.shutdown().await;
}

/// Every response lost: the sandbox took each message, the sender cannot
/// know, so with one attempt each they end `uncertain`.
async fn all_uncertain(sandbox: &Sandbox, work: &Workdir) -> Vec<String> {
    let recipients = work.recipients(3);
    let out = work
        .send(&sandbox.url())
        .opt("--rate", "50/s")
        .opt("--retry-attempts", "1")
        .run()
        .await;
    out.expect_code(3).expect_stderr("uncertain   3");
    assert_eq!(out.recipients("uncertain"), recipients, "{out}");
    recipients
}

#[tokio::test(flavor = "multi_thread")]
async fn resend_uncertain_reuses_the_key_so_each_arrives_once() {
    let _gate = GATE.read().await;
    let mut config = roomy_config();
    config.drop_rate = 1.0;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = all_uncertain(&sandbox, &work).await;
    let status = work.status();
    let [total, pending, in_flight, sent, failed, uncertain, _] = counts(&status);
    assert_eq!(
        (total, pending, in_flight, sent, failed, uncertain),
        (3, 0, 0, 0, 0, 3)
    );
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.dropped, stats.replayed), (3, 3, 0));

    // Without the flag, uncertain messages are never sent again.
    let idle = work.resume().run().await;
    idle.expect_code(3)
        .expect_stderr("Nothing left to send: 0 sent, 0 failed, 3 uncertain");
    assert_eq!(sandbox.stats().accepted + sandbox.stats().replayed, 3);

    let resend = work.resume().flag("--resend-uncertain").run().await;
    resend
        .expect_code(0)
        .expect_stderr("--resend-uncertain: 3 uncertain message(s) will be sent again with their original Idempotency-Key");
    assert_eq!(resend.recipients("sent"), recipients, "{resend}");
    // The sandbox replayed its stored answers: still one message each.
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.replayed), (3, 3));
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients));
    let mut keys: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let key = m.idempotency_key.clone().expect("Idempotency-Key");
            (m.recipients[0].clone(), key)
        })
        .collect();
    keys.sort();
    assert_eq!(keys, journal_keys(&work.state()));
    for message in &messages {
        let row = work.row(&message.recipients[0]);
        assert_eq!(row["state"], "sent", "{row}");
        assert_eq!(row["attempts"], 2, "{row}");
        assert_eq!(row["api_message_id"], message.id.as_str(), "{row}");
    }
    let [_, pending, in_flight, sent, failed, uncertain, _] = counts(&work.status());
    assert_eq!(
        (pending, in_flight, sent, failed, uncertain),
        (0, 0, 3, 0, 0)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]

async fn resume_applies_its_retry_flags() {
    let _gate = GATE.read().await;
    let mut config = roomy_config();
    config.fail_rate = 1.0;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(1);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .opt("--retry-attempts", "1")
        .run()
        .await
        .expect_code(3);
    assert_eq!(work.row(&recipients[0])["attempts"], 1);

    let out = work
        .resume()
        .flag("--retry-failed")
        .opt("--retry-attempts", "3")
        .opt("--retry-base", "10ms")
        .run()
        .await;
    out.expect_code(3)
        .expect_stderr("503 Service Unavailable (after 3 attempts)");
    assert_eq!(work.row(&recipients[0])["attempts"], 4);
    assert_eq!(sandbox.stats().faults, 4);
    sandbox.shutdown().await;
}
