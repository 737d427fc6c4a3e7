//! A campaign whose inputs changed after an interruption: `resume` names
//! the file and refuses; `--allow-changes` adds new rows, skips removed and
//! edited ones that were not sent, and never sends a sent one again.

use std::time::Duration;

use outreach::sandbox::Sandbox;
use serde_json::Value;

use crate::harness::{
    GATE, Outcome, Workdir, counts, journal_keys, received_recipients, roomy_config, rows, sorted,
    start,
};

/// Six recipients at 2/s, interrupted after the first send: r01 (maybe
/// r02) sent, the rest pending.
async fn interrupted(sandbox: &Sandbox) -> (Workdir, Vec<String>, Outcome) {
    let work = Workdir::new();
    let recipients = work.recipients(6);
    let running = work.send(&sandbox.url()).opt("--rate", "2/s").spawn();
    assert!(
        running
            .wait_for_events("sent", 1, Duration::from_secs(10))
            .await
    );
    running.signal("INT");
    let out = running.wait().await;
    out.expect_code(130);
    let sent = out.recipients("sent");
    assert!((1..=2).contains(&sent.len()), "{out}");
    (work, recipients, out)
}

/// `resume` refuses: exit 1, the changed file named, nothing sent, the
/// journal as it was.
async fn assert_refused(work: &Workdir, sandbox: &Sandbox, file: &str, how: &str) {
    // (`eta` moves with the clock; everything else must stay.)
    let status = || {
        let mut status = work.status();
        status["eta"] = serde_json::Value::Null;
        status
    };
    let before = status();
    let received = sandbox.messages().len();
    let out = work.resume().run().await;
    let path = work.path().join(file);
    out.expect_code(1)
        .expect_stderr("the campaign's inputs changed since it began: ")
        .expect_stderr(&format!("{} ({how})", path.display()))
        .expect_stderr("Nothing was sent")
        .expect_stderr("--allow-changes");
    assert!(out.events.is_empty(), "{out}");
    assert_eq!(sandbox.messages().len(), received);
    assert_eq!(status(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_csv_is_refused_then_allow_changes_adds_and_skips() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let (work, recipients, first) = interrupted(&sandbox).await;
    let sent = first.recipients("sent");

    // One row appended: refused.
    let mut ids = recipients.clone();
    ids.push("new01@example.test".to_string());
    let mut lines = rows(&ids);
    work.csv("recipient,first_name", &lines);
    assert_refused(&work, &sandbox, "data.csv", "changed").await;

    // Also: r01 (sent) and r05 (pending) edited, r06 (pending) removed.
    lines[0] = format!("{},Renamed", recipients[0]);
    lines[4] = format!("{},Renamed", recipients[4]);
    lines.remove(5);
    work.csv("recipient,first_name", &lines);
    assert_refused(&work, &sandbox, "data.csv", "changed").await;

    let out = work.resume().flag("--allow-changes").run().await;
    out.expect_code(0).expect_stderr(
        "--allow-changes: 1 new rows, 1 removed, 2 edited; 1 added as pending, 2 skipped \
         (sent messages are never touched)",
    );
    // Sent before: not again. Edited or removed while pending: never.
    // Added: once, with its own text.
    let mut expected: Vec<String> = recipients[sent.len()..4].to_vec();
    expected.push("new01@example.test".to_string());
    assert_eq!(out.recipients("sent"), sorted(&expected), "{out}");
    let messages = sandbox.messages();
    let mut all = sent.clone();
    all.extend(expected);
    assert_eq!(received_recipients(&messages), sorted(&all));
    let added = messages
        .iter()
        .find(|m| m.recipients[0] == "new01@example.test")
        .expect("new row sent");
    assert_eq!(added.subject.as_deref(), Some("Hello Name6"));

    let [
        total,
        pending,
        in_flight,
        sent_count,
        failed,
        uncertain,
        skipped,
    ] = counts(&work.status());
    assert_eq!(
        (
            total, pending, in_flight, sent_count, failed, uncertain, skipped
        ),
        (7, 0, 0, 5, 0, 0, 2)
    );
    for (recipient, state) in [
        (&recipients[0], "sent"),
        (&recipients[4], "skipped"),
        (&recipients[5], "skipped"),
    ] {
        assert_eq!(work.row(recipient)["state"], state, "{recipient}");
    }
    // Issue 10, item 7: the report says why (the reason used to be empty).
    assert_eq!(
        work.row(&recipients[4])["failure_reason"],
        "row edited after the campaign started (line 6 of data.csv differs from the row this \
         message was made from); use `outreach resume --allow-changes=update` to send the edited text"
    );
    assert_eq!(
        work.row(&recipients[5])["failure_reason"],
        "row removed from data.csv after the campaign started (it was line 7)"
    );
    assert_eq!(work.row(&recipients[0])["failure_reason"], Value::Null);
    out.expect_stderr("the reasons are in `outreach report`");
    sandbox.shutdown().await;
}

/// `--allow-changes=update`: a typo fixed in a pending row's name is sent
/// with the new text, to the same recipient, with its original key (it was
/// never attempted); a sent row's edit changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn allow_changes_update_sends_the_edited_text() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let (work, recipients, first) = interrupted(&sandbox).await;
    assert!(
        !first.recipients("sent").contains(&recipients[4]),
        "{first}"
    );
    let keys = journal_keys(&work.state());
    let mut lines = rows(&recipients);
    lines[0] = format!("{},Renamed", recipients[0]);
    lines[4] = format!("{},Fixed", recipients[4]);
    work.csv("recipient,first_name", &lines);

    let out = work.resume().opt("--allow-changes", "update").run().await;
    // (`opt` passes `--allow-changes update`: the value must be attached.)
    out.expect_code(2);
    let out = work.resume().flag("--allow-changes=update").run().await;
    out.expect_code(0)
        .expect_stderr("--allow-changes=update: 0 new rows, 0 removed, 2 edited; 0 added as pending, 1 re-rendered from their edited rows, 0 skipped")
        .expect_stderr("1 edited row(s) keep the message they had");
    let messages = sandbox.messages();
    let mut all = recipients.clone();
    all.sort();
    assert_eq!(received_recipients(&messages), all, "everyone once");
    let fixed = messages
        .iter()
        .find(|m| m.recipients[0] == recipients[4])
        .expect("edited row sent");
    assert_eq!(fixed.subject.as_deref(), Some("Hello Fixed"));
    assert!(fixed.body.contains("Hi Fixed,"), "{}", fixed.body);
    assert_eq!(journal_keys(&work.state()), keys, "keys kept");
    let key = &keys
        .iter()
        .find(|(r, _)| r == &recipients[4])
        .expect("key")
        .1;
    assert_eq!(fixed.idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(work.row(&recipients[0])["state"], "sent");
    let [total, pending, _, sent_count, _, _, skipped] = counts(&work.status());
    assert_eq!((total, pending, sent_count, skipped), (6, 0, 6, 0));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_template_or_a_missing_csv_is_refused() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let (work, _, _) = interrupted(&sandbox).await;
    let csv = work.read("data.csv");
    work.write(
        "message.txt",
        "Subject: Changed\n\nNew text {{ first_name }}\n",
    );
    assert_refused(&work, &sandbox, "message.txt", "changed").await;
    std::fs::remove_file(work.path().join("data.csv")).expect("remove csv");
    assert_refused(&work, &sandbox, "data.csv", "missing").await;
    std::fs::write(work.path().join("data.csv"), csv).expect("restore csv");
    assert_refused(&work, &sandbox, "message.txt", "changed").await;
    sandbox.shutdown().await;
}
