//! Failures: 5xx and dropped connections are retried with the same
//! Idempotency-Key, timeouts end as "uncertain", a 400 fails one message, a
//! 401 stops one account.

use std::time::Duration;

use outreach::sandbox::{FaultDice, FaultRates, Stats};
use serde_json::Value;

use crate::harness::{
    TOKEN, Workdir, ids, received_recipients, roomy_config, sandbox_config, sorted, start,
};

/// What the sandbox will do for a campaign of `recipients` sent one request
/// at a time, replayed from its seeded dice: the same draws in the same order.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    requests: u64,
    faults: u64,
    dropped: u64,
    replayed: u64,
    /// The most requests any one message needs.
    most_attempts: u32,
}

fn expected_faults(rates: FaultRates, seed: u64, recipients: usize) -> Expected {
    let dice = FaultDice::new(rates, seed);
    let mut expected = Expected::default();
    for _ in 0..recipients {
        let mut accepted = false;
        let mut attempts = 0;
        loop {
            attempts += 1;
            expected.requests += 1;
            let fault = dice.draw();
            if fault.fail {
                expected.faults += 1; // 503 before the ledger: nothing stored
                continue;
            }
            if accepted {
                expected.replayed += 1; // same key: the stored 201 again
                break;
            }
            accepted = true;
            if fault.drop {
                expected.dropped += 1; // stored, then the connection is cut
                continue;
            }
            break;
        }
        expected.most_attempts = expected.most_attempts.max(attempts);
    }
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_and_dropped_connections_are_retried_with_the_same_key() {
    let rates = FaultRates {
        fail_rate: 0.3,
        drop_rate: 0.25,
        latency: None,
    };
    const SEED: u64 = 3;
    const RECIPIENTS: usize = 10;
    let expected = expected_faults(rates, SEED, RECIPIENTS);
    // The seed must exercise both faults and stay within --retry-attempts 4.
    assert!(
        expected.faults > 0 && expected.dropped > 0 && expected.most_attempts <= 4,
        "pick another seed: {expected:?}"
    );
    let mut config = roomy_config();
    config.fail_rate = rates.fail_rate;
    config.drop_rate = rates.drop_rate;
    config.seed = SEED;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(RECIPIENTS);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 10 of 10 messages");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    // A replay needs the key of the first attempt: one replay per dropped
    // response proves retries reuse it.
    let stats = sandbox.stats();
    assert_eq!(
        (stats.accepted, stats.faults, stats.dropped, stats.replayed),
        (
            RECIPIENTS as u64,
            expected.faults,
            expected.dropped,
            expected.replayed
        ),
        "{out}"
    );
    assert_eq!(expected.replayed, expected.dropped);
    let retrying = out.events("retrying");
    assert_eq!(
        retrying.len() as u64,
        expected.faults + expected.dropped,
        "{out}"
    );
    let reasons = |part: &str| {
        retrying
            .iter()
            .filter(|e| e["reason"].as_str().unwrap().contains(part))
            .count() as u64
    };
    assert_eq!(reasons("503 Service Unavailable"), expected.faults, "{out}");
    assert_eq!(reasons("connection lost"), expected.dropped, "{out}");
    assert_eq!(
        out.events("sending").len() as u64,
        expected.requests,
        "{out}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_lost_still_delivers_each_message_once() {
    // Every new message is accepted and then its connection is dropped; the
    // retry carries the same key and gets the stored 201.
    let mut config = roomy_config();
    config.drop_rate = 1.0;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(5);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 5 of 5 messages");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    let stats = sandbox.stats();
    assert_eq!(
        (stats.accepted, stats.dropped, stats.replayed),
        (5, 5, 5),
        "{out}"
    );
    let retrying = out.events("retrying");
    assert_eq!(retrying.len(), 5, "{out}");
    for event in retrying {
        assert_eq!(event["attempt"], 1, "{event}");
        let reason = event["reason"].as_str().unwrap();
        assert!(reason.starts_with("connection lost"), "{reason}");
    }
    // The message id in `sent` is the one the sandbox stored the first time.
    let mut ids: Vec<String> = out
        .events("sent")
        .iter()
        .map(|e| e["message_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut stored: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    stored.sort();
    assert_eq!(ids, stored);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_retries_on_503_fail_the_message_with_exit_code_3() {
    let mut config = roomy_config();
    config.fail_rate = 1.0;
    let sandbox = start(config).await;
    let work = Workdir::new();
    work.recipients(2);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .opt("--retry-attempts", "3")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(3).expect_stderr("Sent 0 of 2 messages");
    out.expect_stderr("failed      2")
        .expect_stderr("503 Service Unavailable");
    let failed = out.events("failed");
    assert_eq!(failed.len(), 2, "{out}");
    for event in failed {
        assert_eq!(event["status"], 503, "{event}");
        assert_eq!(
            event["reason"], "503 Service Unavailable (after 3 attempts)",
            "{event}"
        );
    }
    assert_eq!(out.events("retrying").len(), 4, "2 retries each\n{out}");
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.faults), (0, 6));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn timed_out_requests_are_retried_and_each_message_arrives_once() {
    // Latency up to 1.2 s against a 500 ms timeout. The seed gives delays
    // far from the timeout (< 300 ms or > 700 ms), so which requests time
    // out is certain.
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate: 0.0,
        latency: Some(Duration::from_millis(1200)),
    };
    const SEED: u64 = 377;
    const RECIPIENTS: usize = 4;
    let dice = FaultDice::new(rates, SEED);
    let mut timeouts = 0;
    let mut requests = 0;
    for _ in 0..RECIPIENTS {
        let mut attempts = 0;
        loop {
            attempts += 1;
            requests += 1;
            let delay = dice.draw().delay;
            assert!(
                delay < Duration::from_millis(300) || delay > Duration::from_millis(700),
                "pick another seed: a delay of {delay:?} is too close to the timeout"
            );
            if delay < Duration::from_millis(300) {
                break;
            }
            timeouts += 1;
        }
        assert!(attempts <= 4, "pick another seed: {attempts} attempts");
    }
    assert!(timeouts > 0, "pick another seed: no timeout");

    let mut config = roomy_config();
    config.latency = rates.latency;
    config.seed = SEED;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(RECIPIENTS);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .opt("--timeout", "500ms")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 4 of 4 messages");
    let retrying = out.events("retrying");
    assert_eq!(retrying.len(), timeouts, "{out}");
    assert!(
        retrying
            .iter()
            .all(|e| e["reason"].as_str().unwrap().starts_with("timed out")),
        "{out}"
    );
    assert_eq!(out.events("sending").len(), requests, "{out}");
    // Were a timed-out request accepted after the client gave up, its retry
    // would replay it (hyper in fact drops the handler when the client
    // hangs up). Either way: once each.
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    assert_eq!(sandbox.stats().accepted, RECIPIENTS as u64);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_always_times_out_ends_uncertain() {
    // Every delay is over a second against a 200 ms timeout: the message may
    // have arrived, so it is reported uncertain, not failed, and not re-sent.
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate: 0.0,
        latency: Some(Duration::from_secs(30)),
    };
    const SEED: u64 = 1;
    let dice = FaultDice::new(rates, SEED);
    for _ in 0..2 {
        let delay = dice.draw().delay;
        assert!(
            delay > Duration::from_secs(1),
            "pick another seed: {delay:?}"
        );
    }
    let mut config = roomy_config();
    config.latency = rates.latency;
    config.seed = SEED;
    let sandbox = start(config).await;
    let work = Workdir::new();
    work.recipients(1);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .opt("--timeout", "200ms")
        .opt("--retry-attempts", "2")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(3).expect_stderr("Sent 0 of 1 messages");
    out.expect_stderr("uncertain   1");
    let uncertain = out.events("uncertain");
    assert_eq!(uncertain.len(), 1, "{out}");
    assert_eq!(uncertain[0]["recipient"], "r01@example.test");
    let reason = uncertain[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("timed out") && reason.ends_with("(after 2 attempts)"),
        "{reason}"
    );
    assert!(out.events("failed").is_empty(), "{out}");
    assert_eq!(out.finished()["uncertain"], Value::from(1));
    // The handlers are still sleeping: drop the sandbox without waiting.
    drop(sandbox);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_400_fails_that_recipient_and_the_others_go_on() {
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    // `default("")` passes validation but renders an empty body, which the
    // API rejects with 400.
    work.write(
        "message.txt",
        "Subject: Hello\n\n{{ note | default(\"\") }}\n",
    );
    let recipients = ids("r", 5);
    let rows: Vec<String> = recipients
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let note = if i == 2 { "" } else { "a note" };
            format!("{id},{note}")
        })
        .collect();
    work.csv("recipient,note", &rows);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(3).expect_stderr("Sent 4 of 5 messages");
    out.expect_stderr("failed      1")
        .expect_stderr("400 Bad Request");
    let failed = out.events("failed");
    assert_eq!(failed.len(), 1, "{out}");
    assert_eq!(failed[0]["recipient"], recipients[2].as_str());
    assert_eq!(failed[0]["status"], 400);
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.contains("`body` is empty"), "{reason}");
    assert!(out.events("retrying").is_empty(), "a 400 is not retried");

    let mut others = recipients.clone();
    others.remove(2);
    assert_eq!(received_recipients(&sandbox.messages()), sorted(&others));
    assert_eq!(sandbox.stats().rejected, 1);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_stops_that_account_and_the_other_sends_everything() {
    let sandbox = start(sandbox_config(
        "100/s",
        &[("alice", "tok-alice-3f9b"), ("bob", "tok-bob-77d1")],
    ))
    .await;
    let work = Workdir::new();
    work.write(
        "outreach.toml",
        r#"
[[accounts]]
name = "alice"
token_env = "OUTREACH_TEST_ALICE"

[[accounts]]
name = "bob"
token_env = "OUTREACH_TEST_BOB"
"#,
    );
    let alice = ids("alice", 4);
    let bob = ids("bob", 4);
    let rows: Vec<String> = alice
        .iter()
        .zip(&bob)
        .flat_map(|(a, b)| [format!("{a},A,alice"), format!("{b},B,bob")])
        .collect();
    work.csv("recipient,first_name,account", &rows);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .env("OUTREACH_TEST_ALICE", "tok-alice-3f9b")
        .env("OUTREACH_TEST_BOB", "tok-wrong-0000")
        .run()
        .await;

    out.expect_code(1).expect_stderr("Sent 4 of 8 messages");
    out.expect_stderr("not sent    4");
    out.expect_stderr("account `bob` stopped: the API answered 401 Unauthorized");
    out.expect_stderr("check the token of account `bob`");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&alice), "{out}");
    assert!(messages.iter().all(|m| m.account == "alice"));
    // Bob stops at the first 401; nothing of his is retried.
    assert_eq!(
        sandbox.stats(),
        Stats {
            accepted: 4,
            unauthorized: 1,
            ..Stats::default()
        }
    );
    let stopped = out.events("account_stopped");
    assert_eq!(stopped.len(), 1, "{out}");
    assert_eq!(stopped[0]["account"], "bob");
    let finished = out.finished();
    assert_eq!(
        (&finished["sent"], &finished["pending"]),
        (&Value::from(4), &Value::from(4))
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_that_keeps_failing_stops_the_whole_run() {
    // 16 failures in the last 20 requests mean the API is down: stop
    // instead of burning every recipient's retries.
    let mut config = roomy_config();
    config.fail_rate = 1.0;
    let sandbox = start(config).await;
    let work = Workdir::new();
    work.recipients(15);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "50/s")
        .opt("--retry-attempts", "2")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(1)
        .expect_stderr("Sent 0 of 15 messages")
        .expect_stderr(
            "Stopped: 20 of the last 20 requests of account `default` failed \
             (last: 503 Service Unavailable); the API looks down",
        )
        .expect_stderr("not sent    6")
        .expect_stderr("Continue with:");
    // 9 messages used both attempts; the 20th request (the 10th message's
    // second) stops the run, and that message stays pending for `resume`
    // rather than failing: the budget exists to spare recipients' retries.
    assert_eq!(out.events("failed").len(), 9, "{out}");
    assert_eq!(sandbox.stats().faults, 20, "{out}");
    assert_eq!(out.finished()["pending"], Value::from(6));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn account_resumed_only_follows_account_paused() {
    let mut config = roomy_config();
    config.fail_rate = 1.0;
    let sandbox = start(config).await;
    let work = Workdir::new();
    work.recipients(1);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .opt("--retry-attempts", "3")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(3);
    assert_eq!(out.events("retrying").len(), 2, "{out}");
    let mut paused = false;
    for event in &out.events {
        match event["event"].as_str() {
            Some("account_paused") => paused = true,
            Some("account_resumed") => {
                assert!(paused, "resumed without a pause: {event}\n{out}");
                paused = false;
            }
            _ => {}
        }
    }
    assert!(!out.stderr.contains("resumed"), "{out}");
    sandbox.shutdown().await;
}
