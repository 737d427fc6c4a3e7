//! Nobody is sent a message twice by accident: a second run while one is
//! going is refused, `send` on a finished campaign sends nothing, and only
//! `--restart` begins again, keeping the old journal.

use std::time::Duration;

use chrono::Utc;

use crate::harness::{
    GATE, STATE, TOKEN, Workdir, counts, journal_keys, received_recipients, roomy_config, rows,
    sorted, start,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_on_a_running_campaign_is_refused_and_sends_nothing() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(6);
    let running = work.send(&sandbox.url()).opt("--rate", "2/s").spawn();
    assert!(
        running
            .wait_for_events("sent", 1, Duration::from_secs(10))
            .await
    );
    let pid = std::fs::read_to_string(work.path().join("data.outreach.db.lock"))
        .expect("lock file")
        .trim()
        .to_string();

    let again = work.send(&sandbox.url()).opt("--rate", "2/s").run().await;
    // The lock is named first: "resume" would be refused too while it runs.
    again
        .expect_code(1)
        .expect_stderr("is running on the journal")
        .expect_stderr("wait for it to finish");
    assert!(again.events.is_empty(), "{again}");

    let resume = work.resume().run().await;
    resume.expect_code(1).expect_stderr(&format!(
        "another `outreach send` or `outreach resume` (pid {pid}) is running on the journal {STATE}"
    ));
    assert!(resume.events.is_empty(), "{resume}");

    let restart = work
        .send(&sandbox.url())
        .opt("--rate", "2/s")
        .flag("--restart")
        .run()
        .await;
    restart
        .expect_code(1)
        .expect_stderr(&format!("(pid {pid}) is running on the journal"));
    assert!(restart.events.is_empty(), "{restart}");
    assert_eq!(
        work.names()
            .iter()
            .filter(|name| name.ends_with(".outreach.db"))
            .count(),
        1,
        "--restart moved nothing aside: {:?}",
        work.names()
    );

    // Reading works meanwhile.
    let [total, ..] = counts(&work.status());
    assert_eq!(total, 6);

    running.signal("INT");
    let first = running.wait().await;
    first.expect_code(130);
    let sent = first.recipients("sent");
    assert_eq!(received_recipients(&sandbox.messages()), sent, "{first}");
    assert_eq!(sent, sorted(&recipients[..sent.len()]));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn send_on_a_finished_campaign_sends_nothing_and_restart_uses_new_keys() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(3);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .run()
        .await
        .expect_code(0);
    let old_keys = journal_keys(&work.state());
    assert!(
        !work.path().join("data.outreach.db.lock").exists(),
        "a finished campaign leaves no lock file: {:?}",
        work.names()
    );

    let again = work.send(&sandbox.url()).opt("--rate", "50/s").run().await;
    again
        .expect_code(0)
        .expect_stderr("This campaign is already complete (3 sent, 0 failed, 0 skipped")
        .expect_stderr("nothing was sent again")
        .expect_stderr("outreach send --restart");
    assert!(again.events.is_empty(), "{again}");
    assert_eq!(sandbox.messages().len(), 3);

    let restart = work
        .send(&sandbox.url())
        .opt("--rate", "50/s")
        .flag("--restart")
        .run()
        .await;
    restart
        .expect_code(0)
        .expect_stderr("--restart: the previous journal is kept as data.");
    assert_eq!(restart.recipients("sent"), recipients, "{restart}");

    // The old journal, renamed: data.<time>.outreach.db, still complete.
    let archives: Vec<String> = work
        .names()
        .into_iter()
        .filter(|name| name.ends_with(".outreach.db") && name != STATE)
        .collect();
    assert_eq!(archives.len(), 1, "{:?}", work.names());
    restart.expect_stderr(&format!("kept as {}", archives[0]));
    let [total, pending, _, sent, ..] = counts(&work.status_of(&archives[0]));
    assert_eq!((total, pending, sent), (3, 0, 3));

    // Issue 10, item 7: with no --state, status and resume find the current
    // journal, not "several campaign journals".
    let status = work.cmd(&["status", "--json"]).run_blocking();
    status.expect_code(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
    assert_eq!(
        status["journal"],
        work.state().display().to_string(),
        "{status}"
    );
    let resume = work
        .cmd(&["resume", "--no-progress"])
        .token(TOKEN)
        .run()
        .await;
    resume
        .expect_code(0)
        .expect_stderr("Nothing left to send: 3 sent")
        .expect_stderr(&format!("(journal {})", work.state().display()));
    assert_eq!(journal_keys(&work.path().join(&archives[0])), old_keys);

    // Every recipient twice now, once per campaign, with different keys.
    let messages = sandbox.messages();
    let mut twice: Vec<String> = recipients.iter().chain(&recipients).cloned().collect();
    twice.sort();
    assert_eq!(received_recipients(&messages), twice);
    let new_keys = journal_keys(&work.state());
    for ((recipient, old), (_, new)) in old_keys.iter().zip(&new_keys) {
        assert_ne!(old, new, "{recipient} kept its key");
        let sent_with: Vec<&str> = messages
            .iter()
            .filter(|m| m.recipients[0] == *recipient)
            .filter_map(|m| m.idempotency_key.as_deref())
            .collect();
        assert_eq!(sent_with, [old.as_str(), new.as_str()]);
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]

async fn restart_never_overwrites_a_kept_journal() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(1);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .run()
        .await
        .expect_code(0);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .flag("--restart")
        .run()
        .await
        .expect_code(0);
    // The first campaign's journal, kept, as a second restart within the
    // same second would find it: placed at this second's name and the next
    // few, so the test does not depend on the clock.
    let kept_name = work
        .names()
        .into_iter()
        .find(|name| name.ends_with(".outreach.db") && name != STATE)
        .expect("kept journal");
    let kept = work.read(&kept_name);
    let now = Utc::now();
    let names: Vec<String> = (0..5)
        .map(|s| {
            let at = now + chrono::TimeDelta::seconds(s);
            format!("data.{}.outreach.db", at.format("%Y-%m-%dT%H-%M-%SZ"))
        })
        .collect();
    for name in &names {
        std::fs::write(work.path().join(name), &kept).expect("write kept journal");
    }
    assert_ne!(work.read(STATE), kept);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .flag("--restart")
        .run()
        .await
        .expect_code(0);
    for name in &names {
        let now = std::fs::read(work.path().join(name)).expect("kept journal");
        assert!(
            now == kept,
            "{name} was overwritten by the journal --restart moved aside"
        );
    }
    let archives = work
        .names()
        .into_iter()
        .filter(|name| name.ends_with(".outreach.db") && name != STATE)
        .count();
    let expected = names.len() + usize::from(!names.contains(&kept_name)) + 1;
    assert_eq!(archives, expected, "{:?}", work.names());
    sandbox.shutdown().await;
}

/// Issue 10, item 2: `send other.csv --state <journal of data.csv>` used to
/// say "already complete" and exit 0, so other.csv was never sent. Another
/// CSV's journal, or this CSV changed since its campaign began, is an error
/// that names the way out; nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn send_with_another_campaigns_journal_is_refused() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(2);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .run()
        .await
        .expect_code(0);
    let journal = work.read(STATE);

    let others = crate::common::ids("other", 2);
    let mut text = "recipient,first_name\n".to_string();
    for row in rows(&others) {
        text.push_str(&row);
        text.push('\n');
    }
    work.write("other.csv", &text);
    let out = work
        .cmd(&["send", "other.csv"])
        .opt("--template", "message.txt")
        .delivery(&sandbox.url(), "events-other.jsonl")
        .opt("--rate", "50/s")
        .opt("--state", STATE)
        .run()
        .await;
    let csv = |name: &str| work.path().join(name).display().to_string();
    out.expect_code(1)
        .expect_stderr(&format!(
            "the journal {STATE} holds the campaign of {}, not {}; nothing was sent",
            csv("data.csv"),
            csv("other.csv")
        ))
        .expect_stderr("--state PATH")
        .expect_stderr("--restart")
        .expect_stderr_lacks("already complete");
    assert!(out.events.is_empty(), "{out}");

    // The same CSV with a row added since: not "complete" either.
    let mut ids = recipients.clone();
    ids.push("late01@example.test".to_string());
    work.csv("recipient,first_name", &rows(&ids));
    let out = work.send(&sandbox.url()).opt("--rate", "50/s").run().await;
    out.expect_code(1)
        .expect_stderr(&format!(
            "the campaign in {STATE} began with other inputs than the ones given ({} changed); nothing was sent",
            csv("data.csv")
        ))
        .expect_stderr("outreach resume --state data.outreach.db --allow-changes")
        .expect_stderr_lacks("already complete");
    assert!(out.events.is_empty(), "{out}");

    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients)
    );
    assert_eq!(work.read(STATE), journal, "the journal is untouched");
    sandbox.shutdown().await;
}
