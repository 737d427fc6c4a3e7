//! Sends are evenly spaced per account, accounts run side by side, and
//! `--dry-run` only prints.

use chrono::TimeDelta;
use outreach::sandbox::Stats;
use serde_json::Value;

use crate::harness::{
    TOKEN, Workdir, gaps_ms, ids, received_recipients, roomy_config, sandbox_config, span, start,
    time,
};

#[tokio::test(flavor = "multi_thread")]
async fn ten_recipients_at_10_per_second_are_evenly_spaced() {
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(10);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "10/s")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 10 of 10 messages");
    let messages = sandbox.messages();
    // Every recipient exactly once, in file order.
    let order: Vec<String> = messages.iter().map(|m| m.recipients.join(",")).collect();
    assert_eq!(order, recipients, "{out}");
    // Received at least one interval apart (5 ms for loopback jitter and the
    // sandbox's millisecond truncation), the whole run close to 9 intervals.
    // The client lets requests go at least one interval apart; the server
    // sees them so too, up to transit jitter (large on a loaded 2-core CI).
    // A request may leave up to the timer tolerance (2 ms) late without
    // moving the next slot, so two can be 2 ms closer than the interval
    // (plus 1 ms of truncation to whole milliseconds).
    let sending = out.sending_gaps_ms("default");
    assert!(
        sending.iter().all(|gap| *gap >= 97),
        "sending gaps {sending:?}\n{out}"
    );
    let gaps = gaps_ms(&messages, "default");
    assert!(gaps.iter().all(|gap| *gap >= 50), "gaps {gaps:?}\n{out}");
    // Nine gaps of at least 98 ms (a late first request is caught up with
    // by up to the 2 ms tolerance per request), less arrival jitter.
    let total = span(&messages, "default").num_milliseconds();
    assert!((875..=2500).contains(&total), "span {total} ms\n{out}");

    // One Idempotency-Key per recipient, in the documented shape.
    let mut keys: Vec<String> = messages
        .iter()
        .map(|m| m.idempotency_key.clone().expect("every send has a key"))
        .collect();
    assert!(
        keys.iter().all(|k| k.len() == 41
            && k.starts_with("outreach-")
            && k[9..].bytes().all(|b| b.is_ascii_hexdigit())),
        "{keys:?}"
    );
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 10, "keys must differ per recipient");

    let stats = sandbox.stats();
    assert_eq!(
        (stats.accepted, stats.throttled, stats.replayed),
        (10, 0, 0)
    );

    // The plan is exactly one interval apart; the sends (same clock) at
    // least one interval less the 2 ms timer tolerance.
    let planned: Vec<_> = out
        .events("planned")
        .iter()
        .map(|e| time(e, "at"))
        .collect();
    assert_eq!(planned.len(), 10, "{out}");
    assert!(
        planned
            .windows(2)
            .all(|p| p[1] - p[0] == TimeDelta::milliseconds(100)),
        "{planned:?}"
    );
    let sending: Vec<_> = out
        .events("sending")
        .iter()
        .map(|e| time(e, "ts"))
        .collect();
    assert_eq!(sending.len(), 10, "one request each, no retries\n{out}");
    let client_gaps: Vec<i64> = sending
        .windows(2)
        .map(|p| (p[1] - p[0]).num_microseconds().unwrap())
        .collect();
    assert!(
        client_gaps.iter().all(|gap| *gap >= 98_000),
        "client gaps (µs) {client_gaps:?}"
    );
    assert_eq!(out.events("sent").len(), 10, "{out}");
    let finished = out.finished();
    assert_eq!(
        (
            &finished["sent"],
            &finished["failed"],
            &finished["pending"],
            &finished["interrupted"]
        ),
        (
            &Value::from(10),
            &Value::from(0),
            &Value::from(0),
            &Value::from(false)
        )
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_send_in_parallel_each_at_its_own_rate() {
    let sandbox = start(sandbox_config(
        "100/s",
        &[("fast", "tok-fast-9c2d"), ("slow", "tok-slow-4e8a")],
    ))
    .await;
    let work = Workdir::new();
    work.write(
        "outreach.toml",
        r#"
[[accounts]]
name = "fast"
rate = "10/s"
token_env = "OUTREACH_TEST_FAST"

[[accounts]]
name = "slow"
rate = "5/s"
token_env = "OUTREACH_TEST_SLOW"
"#,
    );
    let fast = ids("fast", 8);
    let slow = ids("slow", 4);
    // Interleaved rows, so the split comes from the `account` column.
    let mut rows = Vec::new();
    for i in 0..8 {
        rows.push(format!("{},F{i},fast", fast[i]));
        if i < 4 {
            rows.push(format!("{},S{i},slow", slow[i]));
        }
    }
    work.csv("recipient,first_name,account", &rows);

    let out = work
        .send(&sandbox.url())
        .env("OUTREACH_TEST_FAST", "tok-fast-9c2d")
        .env("OUTREACH_TEST_SLOW", "tok-slow-4e8a")
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 12 of 12 messages");
    let messages = sandbox.messages();
    let of = |account: &str| -> Vec<String> {
        messages
            .iter()
            .filter(|m| m.account == account)
            .map(|m| m.recipients.join(","))
            .collect()
    };
    // Each recipient went out once, with its own account's token.
    assert_eq!(of("fast"), fast, "{out}");
    assert_eq!(of("slow"), slow, "{out}");

    let fast_sending = out.sending_gaps_ms("fast");
    let slow_sending = out.sending_gaps_ms("slow");
    assert!(
        fast_sending.iter().all(|g| *g >= 97),
        "fast {fast_sending:?}"
    );
    assert!(
        slow_sending.iter().all(|g| *g >= 197),
        "slow {slow_sending:?}"
    );
    let fast_gaps = gaps_ms(&messages, "fast");
    let slow_gaps = gaps_ms(&messages, "slow");
    assert!(fast_gaps.iter().all(|g| *g >= 50), "fast {fast_gaps:?}");
    assert!(slow_gaps.iter().all(|g| *g >= 150), "slow {slow_gaps:?}");
    let fast_span = span(&messages, "fast").num_milliseconds();
    let slow_span = span(&messages, "slow").num_milliseconds();
    // 7 gaps of at least 98 ms and 3 of at least 198 ms (see above), as
    // the server saw them: less up to 20 ms of arrival jitter on a loaded
    // 2-core machine (the sender's own gaps are checked exactly above).
    assert!((666..=2000).contains(&fast_span), "fast span {fast_span}");
    assert!((574..=2000).contains(&slow_span), "slow span {slow_span}");

    // Side by side, not one after the other: each account's first message
    // arrives before the other's last (order, not a time bound: on a loaded
    // 2-core box the two tasks may start a few hundred ms apart), and the
    // whole campaign takes less than the two accounts back to back.
    let position = |account: &str, last: bool| {
        let mut of_account = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.account == account)
            .map(|(i, _)| i);
        if last {
            of_account.next_back().unwrap()
        } else {
            of_account.next().unwrap()
        }
    };
    assert!(
        position("fast", false) < position("slow", true)
            && position("slow", false) < position("fast", true),
        "one account finished before the other began\n{out}"
    );
    let all = messages.last().unwrap().received_at - messages[0].received_at;
    assert!(
        all.num_milliseconds() < fast_span + slow_span,
        "whole run {all}: the accounts ran one after the other"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_plan_and_sends_nothing() {
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(5);

    let json = work
        .send(&sandbox.url())
        .opt("--rate", "10/s")
        .flag("--dry-run")
        .opt("--format", "json")
        .token(TOKEN)
        .run()
        .await;
    json.expect_code(0);
    let plan: Vec<Value> = json
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON Lines on stdout"))
        .collect();
    let planned: Vec<&str> = plan
        .iter()
        .map(|p| p["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(planned, recipients, "{json}");
    assert_eq!(plan[2]["subject"], "Hello Name2");
    assert_eq!(plan[2]["body"], "Hi Name2, a short note.");
    let times: Vec<_> = plan.iter().map(|p| time(p, "at")).collect();
    assert!(
        times
            .windows(2)
            .all(|p| p[1] - p[0] == TimeDelta::milliseconds(100)),
        "{times:?}"
    );

    let table = work
        .send(&sandbox.url())
        .opt("--rate", "10/s")
        .flag("--dry-run")
        .token(TOKEN)
        .run()
        .await;
    table.expect_code(0);
    for recipient in &recipients {
        assert!(table.stdout.contains(recipient.as_str()), "{table}");
    }
    assert!(table.stdout.contains("Nothing was sent"), "{table}");

    assert_eq!(sandbox.stats(), Stats::default(), "no request at all");
    assert!(received_recipients(&sandbox.messages()).is_empty());
    assert!(
        !work.path().join("events.jsonl").exists(),
        "a dry run starts no send, so no events file"
    );
    sandbox.shutdown().await;
}
