//! The server says no: a refused login stops the account (and `resume`
//! with the right password finishes the campaign), 421 over the server's
//! limit pauses the account until it may go on, 550 fails one recipient.

use outreach::sandbox::smtp::{SmtpConfig, ThrottleReply};
use serde_json::Value;

use crate::harness::{
    PASSWORD_ENV, Security, Workdir, arrivals, counts, received_recipients, roomy, smtp, sorted,
    with_login,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_stops_the_account_and_resume_with_the_right_one_sends_all_once() {
    let sandbox = smtp(with_login()).await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(&sandbox, Security::StartTlsLogin, 4, "");

    let out = work
        .send()
        .opt("--rate", "20/s")
        .env(PASSWORD_ENV, "not-the-password")
        .run()
        .await;

    out.expect_code(1)
        .expect_stderr("Sent 0 of 4 messages")
        .expect_stderr("account `default` stopped")
        .expect_stderr("535")
        .expect_stderr(PASSWORD_ENV)
        .expect_stderr_lacks("not-the-password");
    let stopped = out.events("account_stopped");
    assert_eq!(stopped.len(), 1, "{out}");
    assert!(
        stopped[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(PASSWORD_ENV)),
        "{out}"
    );
    // One login tried, nothing delivered, nothing recorded as sent or failed.
    assert!(sandbox.messages().is_empty());
    assert_eq!(sandbox.stats().auth_failures, 1);
    let [total, pending, _, sent, failed, uncertain] = counts(&work.status());
    assert_eq!(
        (total, pending, sent, failed, uncertain),
        (4, 4, 0, 0, 0),
        "{out}"
    );

    let resumed = work.resume().run().await;

    resumed.expect_code(0).expect_stderr("Sent 4 of 4 messages");
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients),
        "{resumed}"
    );
    assert_eq!(sandbox.stats().duplicates, 0);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_421_mid_campaign_pauses_the_account_and_everyone_arrives_once() {
    // 4 per second at the server, 10 per second in the plan: the fifth
    // message of any second gets `421 4.7.0 Try again later` and its
    // connection closed.
    let sandbox = smtp(SmtpConfig {
        limit: "4/s".parse().expect("limit"),
        throttle_reply: ThrottleReply::Close421,
        ..SmtpConfig::default()
    })
    .await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(&sandbox, Security::Plain, 12, "");

    let out = work.send().opt("--rate", "10/s").run().await;

    out.expect_code(0).expect_stderr("Sent 12 of 12 messages");
    let throttled = out.events("throttled");
    assert!(!throttled.is_empty(), "the server's limit was hit\n{out}");
    assert!(throttled.iter().all(|e| e["status"] == 421), "{out}");
    // Each 421 is one refused MAIL FROM: nothing of it was recorded.
    let stats = sandbox.stats();
    assert_eq!(stats.throttled, throttled.len() as u64, "{out}");
    assert_eq!((stats.accepted, stats.duplicates), (12, 0), "{out}");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    assert!(arrivals(&messages).values().all(|n| *n == 1));
    // The account paused and went on; every pause was followed by a resume.
    let kinds: Vec<&str> = out
        .events
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|kind| kind.starts_with("account_"))
        .collect();
    assert!(kinds.contains(&"account_paused"), "{out}");
    let mut paused = false;
    for kind in &kinds {
        match *kind {
            "account_paused" => paused = true,
            "account_resumed" => {
                assert!(paused, "resumed without a pause\n{out}");
                paused = false;
            }
            _ => {}
        }
    }
    assert!(
        !paused,
        "the last pause was never followed by a resume\n{out}"
    );
    let finished = out.events("finished");
    assert_eq!(finished.len(), 1, "{out}");
    assert_eq!(finished[0]["sent"], Value::from(12));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_550_fails_that_recipient_with_the_servers_words_and_the_others_go() {
    let sandbox = smtp(SmtpConfig {
        reject: vec!["r03@*".parse().expect("pattern")],
        ..roomy()
    })
    .await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(&sandbox, Security::Plain, 5, "");

    let out = work.send().opt("--rate", "20/s").run().await;

    out.expect_code(3)
        .expect_stderr("Sent 4 of 5 messages")
        .expect_stderr("failed      1");
    let failed = out.events("failed");
    assert_eq!(failed.len(), 1, "{out}");
    assert_eq!(failed[0]["recipient"], "r03@example.test");
    assert_eq!(failed[0]["status"], 550);
    let reason = failed[0]["reason"].as_str().expect("reason");
    assert!(reason.contains("5.1.1 User unknown"), "{reason}");
    assert!(out.events("retrying").is_empty(), "a 550 is not retried");
    let mut others = recipients.clone();
    others.remove(2);
    assert_eq!(received_recipients(&sandbox.messages()), sorted(&others));
    assert_eq!(sandbox.stats().rejected_recipients, 1);
    let states = work.states();
    assert_eq!(states["r03@example.test"], "failed");
    assert_eq!(states.values().filter(|s| *s == "sent").count(), 4);
    sandbox.shutdown().await;
}
