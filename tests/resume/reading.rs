//! `status --json` and `report --format csv` read back every state a
//! campaign can be in, with exact counts and one row per recipient.

use std::time::Duration;

use serde_json::Value;

use outreach::journal::{CampaignStore, MessageState, SqliteStore};

use crate::harness::{GATE, STATE, Workdir, counts, roomy_config, start};

const REPORT_HEADER: &str = "seq,line,recipient,account,state,attempts,last_status,planned_at,sent_at,api_message_id,failure_reason";

#[tokio::test(flavor = "multi_thread")]
async fn status_json_and_the_csv_report_show_every_state() {
    let _gate = GATE.read().await;
    let work = Workdir::new();
    // r06's body renders empty: 400.
    work.write(
        "message.txt",
        "Subject: Hello\n\n{{ note | default(\"\") }}\n",
    );
    let recipients: Vec<String> = (1..=6).map(|i| format!("r{i:02}@example.test")).collect();
    let rows: Vec<String> = recipients
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},{}", if i == 5 { "" } else { "a note" }))
        .collect();
    work.csv("recipient,note", &rows);

    // Run 1: sent, then Ctrl-C with the rest pending.
    let first_api = start(roomy_config()).await;
    let running = work
        .send(&first_api.url())
        .opt("--rate", "4/s")
        .opt("--retry-attempts", "1")
        .spawn();
    assert!(
        running
            .wait_for_events("sent", 2, Duration::from_secs(10))
            .await
    );
    running.signal("INT");
    let first = running.wait().await;
    first.expect_code(130);
    let sent = first.events("sent").len() as u64;
    assert!((2..=3).contains(&sent), "{first}");

    let status = work.status();
    assert_eq!(
        counts(&status),
        [6, 6 - sent, 0, sent, 0, 0, 0],
        "total, pending, in_flight, sent, failed, uncertain, skipped: {status}"
    );
    let journal = work.state().display().to_string();
    assert!(
        status["journal"] == STATE || status["journal"] == journal.as_str(),
        "{status}"
    );
    assert_eq!(
        status["csv"],
        work.path().join("data.csv").display().to_string()
    );
    assert!(
        status["campaign_id"]
            .as_str()
            .is_some_and(|id| id.len() == 16)
    );
    let accounts = status["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 1, "{status}");
    assert_eq!(accounts[0]["account"], "default");
    assert_eq!(accounts[0]["counts"]["sent"], sent);
    // Interrupted: nothing will be sent until `resume`, so no time is
    // promised (this used to show a next send and an ETA).
    assert_eq!(status["sender"], "stopped", "{status}");
    assert_eq!(
        (&status["next_send"], &status["eta"]),
        (&Value::Null, &Value::Null),
        "{status}"
    );

    // Run 2, on an API that loses every response: the rest are uncertain,
    // except r06, which it refuses (400).
    let mut config = roomy_config();
    config.drop_rate = 1.0;
    let second_api = start(config).await;
    let second = work
        .resume()
        .opt("--endpoint", &second_api.url())
        .run()
        .await;
    second.expect_code(3);
    let status = work.status();
    assert_eq!(
        counts(&status),
        [6, 0, 0, sent, 1, 5 - sent, 0],
        "total, pending, in_flight, sent, failed, uncertain, skipped: {status}"
    );
    assert_eq!(status["next_send"], Value::Null, "{status}");
    assert_eq!(status["sender"], "finished", "{status}");

    let out = work
        .cmd(&["report", "--format", "csv", "--state", STATE])
        .run_blocking();
    out.expect_code(0);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header.join(","), REPORT_HEADER);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), 6, "{}", out.stdout);
    let first_ids: Vec<String> = first_api.messages().into_iter().map(|m| m.id).collect();
    for (i, record) in records.iter().enumerate() {
        let field = |name: &str| {
            let column = header.iter().position(|h| h == name).expect("column");
            record[column].to_string()
        };
        assert_eq!(field("seq"), i.to_string());
        assert_eq!(field("line"), (i + 2).to_string());
        assert_eq!(field("recipient"), recipients[i]);
        assert_eq!(field("account"), "default");
        assert_eq!(field("attempts"), "1", "{record:?}");
        assert!(!field("planned_at").is_empty());
        let (state, status) = if (i as u64) < sent {
            ("sent", "201")
        } else if i == 5 {
            ("failed", "400")
        } else {
            ("uncertain", "")
        };
        assert_eq!(
            (field("state").as_str(), field("last_status").as_str()),
            (state, status)
        );
        if state == "sent" {
            assert!(!field("sent_at").is_empty());
            assert_eq!(field("api_message_id"), first_ids[i]);
            assert_eq!(field("failure_reason"), "");
        } else {
            assert_eq!(
                (field("sent_at"), field("api_message_id")),
                (String::new(), String::new())
            );
        }
        if state == "failed" {
            assert!(
                field("failure_reason").starts_with("400 Bad Request: "),
                "{record:?}"
            );
        }
        if state == "uncertain" {
            assert!(
                field("failure_reason").contains("(after 1 attempt)"),
                "{record:?}"
            );
        }
    }
    first_api.shutdown().await;
    second_api.shutdown().await;
}

/// Issue 10, item 6: after an interruption that left a message in flight
/// (kill -9 mid-request), no process holds the lock: `status` says the
/// campaign stopped, promises no next send or ETA, and counts the message
/// as uncertain (it may have arrived), not as pending.
#[tokio::test(flavor = "multi_thread")]
async fn status_of_a_stopped_campaign_shows_no_sender_and_nothing_in_flight() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(6);
    let running = work.send(&sandbox.url()).opt("--rate", "2/s").spawn();
    assert!(
        running
            .wait_for_events("sent", 1, Duration::from_secs(10))
            .await
    );
    running.signal("INT");
    running.wait().await.expect_code(130);
    // What a kill -9 during a request leaves: a claim without an outcome.
    {
        let mut store = SqliteStore::open(work.state()).expect("open journal");
        let next = store
            .messages_in_state(&[MessageState::Pending])
            .expect("pending")[0]
            .message
            .seq;
        store
            .mark_in_flight(&[next], chrono::Utc::now())
            .expect("claim");
    }
    let status = work.status();
    assert_eq!(status["in_flight"], 1, "the journal's own count: {status}");
    assert_eq!(status["sender"], "stopped", "{status}");
    assert_eq!(status["next_send"], Value::Null, "{status}");
    assert_eq!(status["eta"], Value::Null, "{status}");

    let out = work.cmd(&["status", "--state", STATE]).run_blocking();
    out.expect_code(0);
    let sent = status["sent"].as_u64().expect("sent");
    let pending = status["pending"].as_u64().expect("pending");
    for part in [
        "  sender    stopped (no sender running); continue with `outreach resume --state data.outreach.db`"
            .to_string(),
        format!("6 total: {sent} sent, {pending} pending, 0 failed, 1 uncertain, 0 skipped"),
        "1 message(s) were in flight when the sender stopped: their request may have arrived".to_string(),
    ] {
        assert!(out.stdout.contains(&part), "lacks {part:?}\n{out}");
    }
    for absent in ["in flight,", "next send", "ETA"] {
        assert!(!out.stdout.contains(absent), "has {absent:?}\n{out}");
    }
    assert!(
        !work.path().join("data.outreach.db.lock").exists(),
        "status creates no lock file: {:?}",
        work.names()
    );
    sandbox.shutdown().await;
}

/// `outreach report ... | head -1` and `status | head -1`: a reader that has
/// seen enough is not an error, whatever the format.
#[tokio::test(flavor = "multi_thread")]
async fn reading_into_a_closed_pipe_is_not_an_error() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(3);
    work.send(&sandbox.url())
        .opt("--rate", "100/s")
        .run()
        .await
        .expect_code(0);
    sandbox.shutdown().await;
    for args in [
        &["report", "--format", "csv"][..],
        &["report", "--format", "json"],
        &["report", "--format", "html", "--output", "-"],
        &["status"],
        &["status", "--json"],
        &["status", "--watch"],
    ] {
        let out = work
            .cmd(args)
            .opt("--state", STATE)
            .spawn_with_output_closed()
            .wait()
            .await;
        out.expect_code(0);
    }
}
