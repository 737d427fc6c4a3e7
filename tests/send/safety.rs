//! Ctrl-C stops cleanly, tokens never reach any output or file, a missing
//! token stops before anything is sent, and the samples run against the
//! embedded sandbox.

use std::path::Path;
use std::time::Duration;

use outreach::sandbox::{FaultDice, FaultRates, HeaderDialect, Stats, WindowKind};
use serde_json::Value;

use crate::harness::{
    Cmd, Outcome, TOKEN, Workdir, copy_inputs, ids, roomy_config, sandbox_config, start,
};

/// 20 recipients at 2/s, stopped by `signal` a moment after the first send;
/// the outcome and how many messages the sandbox accepted.
async fn interrupted_by(signal: &str) -> (Outcome, usize) {
    interrupted(signal, Output::Read).await
}

/// Whether anybody reads the run's stdout and stderr.
enum Output {
    Read,
    /// `2>&1 | head -3` after `head` has exited.
    Closed,
}

async fn interrupted(signal: &str, output: Output) -> (Outcome, usize) {
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(20);
    let command = work.send(&sandbox.url()).opt("--rate", "2/s").token(TOKEN);
    let running = match output {
        Output::Read => command.spawn(),
        Output::Closed => command.flag("--no-progress").spawn_with_output_closed(),
    };
    // The signal handler is installed before the first send.
    assert!(
        running
            .wait_for_event("sent", Duration::from_secs(10))
            .await,
        "no send within 10 s"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    running.signal(signal);
    let out = running.wait().await;
    let received = sandbox.messages().len();
    sandbox.shutdown().await;
    (out, received)
}

#[track_caller]
fn assert_stopped_cleanly(out: &Outcome, received: usize) {
    out.expect_code(130)
        .expect_stderr("stopping: no new sends")
        .expect_stderr("Interrupted. Continue with");
    let sent = out.events("sent").len();
    assert!((1..20).contains(&sent), "{sent} sent\n{out}");
    assert_eq!(
        received, sent,
        "the sandbox got exactly the sends reported\n{out}"
    );
    out.expect_stderr(&format!("Sent {sent} of "));
    // Stopping does not wait for the next slot.
    assert!(out.elapsed < Duration::from_secs(5), "{out}");
    assert_eq!(out.finished()["interrupted"], true, "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_with_130_and_a_summary() {
    let (out, received) = interrupted_by("INT").await;
    assert_stopped_cleanly(&out, received);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_like_ctrl_c() {
    let (out, received) = interrupted_by("TERM").await;
    assert_stopped_cleanly(&out, received);
}

/// `outreach send x.csv --no-progress 2>&1 | head -3`, then Ctrl-C or
/// SIGTERM: writing to the closed pipe neither panics nor deafens the run.
async fn interrupted_with_output_closed(signal: &str) {
    let (out, received) = interrupted(signal, Output::Closed).await;
    out.expect_code(130);
    let sent = out.events("sent").len();
    assert!((1..20).contains(&sent), "{sent} sent\n{out}");
    assert_eq!(
        received, sent,
        "the sandbox got exactly the sends reported\n{out}"
    );
    assert!(out.elapsed < Duration::from_secs(5), "{out}");
    assert_eq!(out.finished()["interrupted"], true, "{out}");
    assert_eq!(out.finished()["pending"], Value::from(20 - sent), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_a_run_whose_stderr_is_closed() {
    interrupted_with_output_closed("INT").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_run_whose_stderr_is_closed() {
    interrupted_with_output_closed("TERM").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_counts_every_unsent_message_as_not_sent() {
    let (out, received) = interrupted_by("INT").await;
    assert_stopped_cleanly(&out, received);
    let sent = out.events("sent").len();
    out.expect_stderr(&format!("Sent {sent} of 20 messages"));
    out.expect_stderr(&format!("not sent    {}", 20 - sent));
    assert_eq!(out.finished()["pending"], Value::from(20 - sent), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_appear_in_no_output_and_no_file() {
    const ALICE: &str = "tok-SECRET-alice-5e0c1d9a";
    const BOB_RIGHT: &str = "tok-SECRET-bob-right-2a4c";
    const BOB_WRONG: &str = "tok-SECRET-bob-wrong-8b7f";
    // Every path that reports something: sent, 400, 429 with a pause, 401.
    let mut config = sandbox_config("3/s", &[("alice", ALICE), ("bob", BOB_RIGHT)]);
    config.window = WindowKind::Fixed;
    config.dialect = HeaderDialect::RetryAfter;
    let sandbox = start(config).await;
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
    work.write("message.txt", "{{ note | default(\"\") }}\n");
    let alice = ids("alice", 5);
    let mut rows: Vec<String> = alice
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},{},alice", if i == 1 { "" } else { "hi" }))
        .collect();
    rows.push("bob01@example.test,hi,bob".into());
    work.csv("recipient,note,account", &rows);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .env("OUTREACH_TEST_ALICE", ALICE)
        .env("OUTREACH_TEST_BOB", BOB_WRONG)
        .run()
        .await;

    out.expect_code(1).expect_stderr("Sent 4 of 6 messages");
    // Each path above really happened.
    for kind in ["sent", "failed", "throttled", "account_stopped"] {
        assert!(!out.events(kind).is_empty(), "no `{kind}` event\n{out}");
    }
    let secrets = [ALICE, BOB_RIGHT, BOB_WRONG, "SECRET"];
    for secret in secrets {
        assert!(!out.stdout.contains(secret), "stdout has {secret}\n{out}");
        assert!(!out.stderr.contains(secret), "stderr has {secret}\n{out}");
    }
    let files = work.files();
    let names: Vec<String> = files
        .iter()
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"events.jsonl".to_string()), "{names:?}");
    for (path, bytes) in &files {
        for secret in secrets {
            let found = bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes());
            assert!(!found, "{} contains {secret}", path.display());
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_token_stops_before_anything_is_sent() {
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(3);

    let unset = work.send(&sandbox.url()).opt("--rate", "10/s").run().await;
    unset
        .expect_code(1)
        .expect_stderr(
            "set the environment variable OUTREACH_TOKEN (account `default`, its API token)",
        )
        .expect_stderr("nothing was sent");
    // A blank value is no token either.
    let blank = work
        .send(&sandbox.url())
        .opt("--rate", "10/s")
        .token("  ")
        .run()
        .await;
    blank.expect_code(1).expect_stderr("OUTREACH_TOKEN");

    assert_eq!(sandbox.stats(), Stats::default(), "not one request");
    assert!(unset.events.is_empty() && blank.events.is_empty());
    sandbox.shutdown().await;
}

/// `send --restart` with no token used to move the finished journal aside
/// and then stop: the campaign's journal was gone from its usual place.
#[tokio::test(flavor = "multi_thread")]
async fn restart_without_a_token_leaves_the_journal_where_it_was() {
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(2);
    work.send(&sandbox.url())
        .opt("--rate", "10/s")
        .token(TOKEN)
        .run()
        .await
        .expect_code(0);
    let journal = work.path().join("data.outreach.db");
    let before = std::fs::read_dir(work.path()).unwrap().count();
    work.send(&sandbox.url())
        .opt("--rate", "10/s")
        .flag("--restart")
        .run()
        .await
        .expect_code(1)
        .expect_stderr("set the environment variable OUTREACH_TOKEN");
    assert!(
        journal.exists(),
        "the journal stays where status and resume look"
    );
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        before,
        "no archive was made"
    );
    assert_eq!(sandbox.stats().accepted, 2, "nothing sent again");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_token_of_one_account_sends_nothing_for_any_account() {
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
    work.csv(
        "recipient,first_name,account",
        &[
            "a@example.test,A,alice".into(),
            "b@example.test,B,bob".into(),
        ],
    );

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "10/s")
        .env("OUTREACH_TEST_ALICE", "tok-alice-3f9b")
        .run()
        .await;

    out.expect_code(1).expect_stderr(
        "set the environment variable OUTREACH_TEST_BOB (account `bob`, its API token)",
    );
    assert!(!out.stderr.contains("OUTREACH_TEST_ALICE"), "{out}");
    assert_eq!(
        sandbox.stats(),
        Stats::default(),
        "alice sends nothing either"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_samples_run_against_the_embedded_sandbox() {
    // A copy of the inputs only, so nothing the run writes (a journal) lands
    // in the repo and nothing a user's earlier run left there is read.
    let work = Workdir::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    copy_inputs(&samples, &work.path().join("samples"));
    let csv = std::fs::read_to_string(samples.join("recipients.csv")).unwrap();
    let mut expected: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap())
        .collect();
    expected.sort_unstable();
    assert_eq!(expected.len(), 48);

    let out = Cmd::new(work.path(), &["send", "samples/recipients.csv"])
        .opt("--rate", "20/s")
        .opt("--events", "events.jsonl")
        .run()
        .await;

    out.expect_code(0)
        .expect_stderr("endpoint: the embedded sandbox at http://127.0.0.1:")
        .expect_stderr("Sent 48 of 48 messages");
    let mut sent: Vec<&str> = out
        .events("sent")
        .iter()
        .map(|e| e["recipient"].as_str().unwrap())
        .collect();
    sent.sort_unstable();
    assert_eq!(sent, expected, "each sample recipient once\n{out}");
    let accounts: Vec<&str> = out
        .events("sent")
        .iter()
        .map(|e| e["account"].as_str().unwrap())
        .collect();
    assert!(accounts.contains(&"alice") && accounts.contains(&"bob"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_answered_after_ctrl_c_stays_not_sent() {
    // Every request fails with 503 after a delay of 1 to 1.8 s, so Ctrl-C
    // arrives while the first request is in flight.
    let latency = Duration::from_secs(2);
    let rates = FaultRates {
        fail_rate: 1.0,
        drop_rate: 0.0,
        latency: Some(latency),
    };
    let seed = (0..1000u64)
        .find(|&seed| {
            let delay = FaultDice::new(rates, seed).draw().delay;
            delay > Duration::from_millis(1000) && delay < Duration::from_millis(1800)
        })
        .expect("a seed with a slow first request");
    let mut config = roomy_config();
    config.fail_rate = 1.0;
    config.latency = Some(latency);
    config.seed = seed;
    let sandbox = start(config).await;
    let work = Workdir::new();
    work.recipients(3);
    let running = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(TOKEN)
        .spawn();
    assert!(
        running
            .wait_for_event("sending", Duration::from_secs(10))
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.signal("INT");
    let out = running.wait().await;

    out.expect_code(130);
    assert_eq!(sandbox.stats().faults, 1, "one request, in flight\n{out}");
    // The server proved the message was not taken: it is left for later,
    // like the two never tried.
    assert!(
        out.events("failed").is_empty(),
        "a 503 proves the message was not taken; it must not be `failed`\n{out}"
    );
    assert_eq!(out.finished()["pending"], Value::from(3), "{out}");
    out.expect_stderr("Sent 0 of 3 messages")
        .expect_stderr("not sent    3");
    drop(sandbox);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_is_no_header_value_stops_the_account_unprinted() {
    const BAD: &str = "tok-SECRET-\u{1}-ctrl";
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(3);

    let out = work
        .send(&sandbox.url())
        .opt("--rate", "20/s")
        .token(BAD)
        .run()
        .await;

    out.expect_code(1)
        .expect_stderr("the token of account `default` contains characters not allowed in a header")
        .expect_stderr("not sent    3");
    assert!(!out.stderr.contains("SECRET") && !out.stdout.contains("SECRET"));
    assert_eq!(sandbox.stats(), Stats::default(), "no request left");
    sandbox.shutdown().await;
}
