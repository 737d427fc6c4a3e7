//! The server's limit is lower than `--rate`: every header dialect still
//! delivers each message once, and a 429 pauses the account until the reset.

use chrono::TimeDelta;
use outreach::sandbox::{HeaderDialect, WindowKind};
use serde_json::Value;

use crate::harness::{
    Outcome, TOKEN, Workdir, received_recipients, sandbox_config, sorted, start, time,
};

/// Sandbox 5/s on a rolling window, client 20/s, 12 recipients: each
/// delivered once, at most `max_throttles` 429s, each answered by a pause
/// (`source` says where its length came from).
async fn server_limit_below_rate(
    dialect: HeaderDialect,
    max_throttles: usize,
    source: &str,
) -> Outcome {
    let mut config = sandbox_config("5/s", &[("default", TOKEN)]);
    config.dialect = dialect;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(12);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 12 of 12 messages");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    let throttled = out.events("throttled");
    assert!(
        throttled.len() <= max_throttles,
        "{} throttles with {}, expected at most {max_throttles}\n{out}",
        throttled.len(),
        dialect.name()
    );
    assert_eq!(throttled.len() as u64, sandbox.stats().throttled, "{out}");
    for event in &throttled {
        assert_eq!(event["status"], 429, "{event}");
        assert_eq!(event["source"], source, "{event}");
        let paused = out
            .events("account_paused")
            .into_iter()
            .any(|p| p["until"] == event["until"]);
        assert!(paused, "no pause until {}\n{out}", event["until"]);
    }
    assert_eq!(out.events("sent").len(), 12, "{out}");
    sandbox.shutdown().await;
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn x_ratelimit_headers_keep_every_send_within_the_server_limit() {
    server_limit_below_rate(HeaderDialect::XRateLimit, 3, "headers").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn x_ratelimit_epoch_headers_keep_every_send_within_the_server_limit() {
    server_limit_below_rate(HeaderDialect::XRateLimitEpoch, 3, "headers").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ietf_headers_keep_every_send_within_the_server_limit() {
    server_limit_below_rate(HeaderDialect::Ietf, 3, "headers").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_alone_still_delivers_each_message_once() {
    // Only a 429 tells the limit, so at least one is needed.
    let out = server_limit_below_rate(HeaderDialect::RetryAfter, 3, "headers").await;
    assert!(!out.events("throttled").is_empty(), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_headers_at_all_backs_off_and_delivers_each_message_once() {
    // Nothing to read: the client learns only from 429s, so there are more,
    // and it backs off exponentially with full jitter: the k-th 429 in a row
    // waits less than min(50 ms * 2^k, 500 ms).
    let out = server_limit_below_rate(HeaderDialect::None, 60, "backoff").await;
    let mut in_a_row = 0u32;
    for event in &out.events {
        match event["event"].as_str() {
            Some("sent") => in_a_row = 0,
            Some("throttled") => {
                let ceiling = (50i64 << in_a_row.min(10)).min(500);
                let wait = event["wait_ms"].as_i64().unwrap();
                assert!(
                    (0..ceiling).contains(&wait),
                    "429 #{in_a_row} in a row waited {wait} ms, ceiling {ceiling} ms\n{out}"
                );
                in_a_row += 1;
            }
            _ => {}
        }
    }
    assert!(!out.events("throttled").is_empty(), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_pauses_the_account_until_the_reset() {
    // 4 per fixed second, and only `Retry-After` on the 429: the client
    // cannot know the limit until it hits it at the 5th send.
    let mut config = sandbox_config("4/s", &[("default", TOKEN)]);
    config.window = WindowKind::Fixed;
    config.dialect = HeaderDialect::RetryAfter;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = work.recipients(8);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(TOKEN)
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 8 of 8 messages");
    out.expect_stderr("throttled   1 times");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");

    let throttled = out.events("throttled");
    assert_eq!(throttled.len(), 1, "{out}");
    let throttle = throttled[0];
    assert_eq!(throttle["seq"], 4, "the 5th send hits the limit\n{out}");
    assert_eq!(throttle["source"], "headers");
    let hit = time(throttle, "ts");
    let until = time(throttle, "until");
    assert!(
        throttle["wait_ms"].as_i64().unwrap() >= 500,
        "the window had ~800 ms left\n{out}"
    );

    // The very next event is the pause, until the same instant.
    let index = out
        .position(|e| e["event"] == "throttled")
        .expect("throttled");
    let paused = &out.events[index + 1];
    assert_eq!(paused["event"], "account_paused", "{out}");
    assert_eq!(paused["until"], throttle["until"]);
    assert_eq!(paused["account"], "default");
    assert_eq!(paused["reason"], "429 Too Many Requests");

    // No request leaves between the 429 and `until` (same clock: exact).
    for sending in out.events("sending") {
        let at = time(sending, "ts");
        assert!(
            at < hit || at >= until,
            "request at {at} during the pause {hit}..{until}\n{out}"
        );
    }
    // The throttled message is tried again at `until`, and resumed is logged.
    let retry = out
        .events("sending")
        .into_iter()
        .find(|e| e["seq"] == 4 && e["attempt"] == 1 && time(e, "ts") > hit)
        .expect("the throttled message is sent again, still as attempt 1");
    assert!(time(retry, "ts") >= until);
    assert!(
        out.events("account_resumed")
            .iter()
            .any(|e| time(e, "ts") >= until),
        "{out}"
    );

    // The sandbox agrees: 4 accepted before the 429, the rest after `until`
    // and after its fixed window ended (2 ms for millisecond truncation and
    // the two clocks).
    let slack = TimeDelta::milliseconds(2);
    let before = messages.iter().filter(|m| m.received_at <= hit).count();
    let after: Vec<_> = messages
        .iter()
        .filter(|m| m.received_at >= until - slack)
        .collect();
    assert_eq!((before, after.len()), (4, 4), "{out}");
    let window_end = messages[0].received_at + TimeDelta::seconds(1);
    assert!(after[0].received_at >= window_end - slack, "{out}");
    assert_eq!(sandbox.stats().throttled, 1);
    let finished = out.finished();
    assert_eq!(finished["sent"], Value::from(8));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_pauses_only_that_account() {
    // Per-token limit 4 per fixed second. `busy` (20/s) hits it at its 5th
    // send; `calm` (3/s) stays under it and keeps sending meanwhile.
    let mut config = sandbox_config(
        "4/s",
        &[("busy", "tok-busy-61ae"), ("calm", "tok-calm-0b3d")],
    );
    config.window = WindowKind::Fixed;
    config.dialect = HeaderDialect::RetryAfter;
    let sandbox = start(config).await;
    let work = Workdir::new();
    work.write(
        "outreach.toml",
        r#"
[[accounts]]
name = "busy"
rate = "20/s"
token_env = "OUTREACH_TEST_BUSY"

[[accounts]]
name = "calm"
rate = "3/s"
token_env = "OUTREACH_TEST_CALM"
"#,
    );
    let busy = crate::harness::ids("busy", 6);
    let calm = crate::harness::ids("calm", 4);
    let mut rows: Vec<String> = busy.iter().map(|id| format!("{id},B,busy")).collect();
    rows.extend(calm.iter().map(|id| format!("{id},C,calm")));
    work.csv("recipient,first_name,account", &rows);

    let out = work
        .send(&sandbox.url())
        .env("OUTREACH_TEST_BUSY", "tok-busy-61ae")
        .env("OUTREACH_TEST_CALM", "tok-calm-0b3d")
        .run()
        .await;

    out.expect_code(0).expect_stderr("Sent 10 of 10 messages");
    let throttled = out.events("throttled");
    assert_eq!(throttled.len(), 1, "{out}");
    assert_eq!(throttled[0]["account"], "busy");
    let paused = out.events("account_paused");
    assert!(paused.iter().all(|p| p["account"] == "busy"), "{out}");
    let (hit, until) = (time(throttled[0], "ts"), time(throttled[0], "until"));
    let calm_during_pause = out
        .events("sending")
        .iter()
        .filter(|e| e["account"] == "calm")
        .map(|e| time(e, "ts"))
        .filter(|at| *at > hit && *at < until)
        .count();
    assert!(
        calm_during_pause >= 1,
        "calm sent nothing during busy's pause {hit}..{until}\n{out}"
    );
    let messages = sandbox.messages();
    let mut expected = busy.clone();
    expected.extend(calm);
    assert_eq!(received_recipients(&messages), sorted(&expected), "{out}");
    sandbox.shutdown().await;
}
