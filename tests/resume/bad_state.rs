//! `resume --state` on something that is not a usable journal: exit 1, a
//! message that says what the file is, and the file exactly as it was.

use std::time::Duration;

use outreach::journal::schema;

use crate::harness::{GATE, STATE, Workdir, received_recipients, roomy_config, sorted, start};

/// `resume` and `status` on `name` both fail with `message`; the dir
/// (names and bytes) is unchanged.
#[track_caller]
fn assert_rejected(work: &Workdir, name: &str, message: &str) {
    let files = || {
        work.names()
            .into_iter()
            .map(|n| {
                let bytes = std::fs::read(work.path().join(&n)).ok();
                (n, bytes)
            })
            .collect::<Vec<_>>()
    };
    let before = files();
    for args in [
        vec!["resume", "--state", name],
        vec!["status", "--state", name],
        vec!["report", "--state", name],
    ] {
        let out = work.cmd(&args).run_blocking();
        out.expect_code(1)
            .expect_stderr(&format!("error: {message}"));
        assert_eq!(out.stdout, "", "{out}");
        assert_eq!(files(), before, "{out}");
    }
}

#[test]
fn a_missing_journal_is_reported_and_not_created() {
    let _gate = GATE.blocking_read();
    let work = Workdir::new();
    assert_rejected(
        &work,
        "nope.outreach.db",
        "no journal at nope.outreach.db; start a campaign with `outreach send`",
    );
    assert!(work.names().is_empty(), "{:?}", work.names());
}

#[test]
fn a_garbage_or_empty_file_is_not_a_journal_and_left_untouched() {
    let _gate = GATE.blocking_read();
    let work = Workdir::new();
    work.write(
        "garbage.outreach.db",
        "recipient,first_name\nnot a database\n",
    );
    assert_rejected(
        &work,
        "garbage.outreach.db",
        "garbage.outreach.db is not an outreach journal: it is not an SQLite database \
         (it does not start with the SQLite header)",
    );
    work.write("empty.outreach.db", "");
    assert_rejected(
        &work,
        "empty.outreach.db",
        "empty.outreach.db is not an outreach journal: it is not an SQLite database \
         (the file is empty)",
    );
}

#[test]
fn another_programs_sqlite_file_is_left_untouched() {
    let _gate = GATE.blocking_read();
    let work = Workdir::new();
    let path = work.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("create sqlite file");
        conn.execute_batch("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada');")
            .expect("fill sqlite file");
    }
    assert_rejected(
        &work,
        "other.db",
        "other.db is an SQLite database but not an outreach journal \
         (it has no outreach application id); check the",
    );
}

/// Issue 10, item 9: a damaged journal in WAL mode, as `send` leaves
/// them. Reading it read-only used to create `-wal` and `-shm` files beside
/// the file the error says was left untouched.
#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_journal_gets_no_files_beside_it() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    work.recipients(2);
    work.send(&sandbox.url())
        .opt("--rate", "50/s")
        .run()
        .await
        .expect_code(0);
    let mut bytes = work.read(STATE);
    assert_eq!(bytes[18..20], [2, 2], "a WAL journal");
    // Keep the 100-byte header, wreck the schema on the rest of page 1.
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    bytes[100..page_size].fill(0xA5);
    work.write(STATE, &bytes);
    assert_eq!(
        work.names(),
        [
            "data.csv",
            "data.outreach.db",
            "events-0.jsonl",
            "message.txt"
        ]
    );
    let path = work.state();
    assert_rejected(&work, STATE, &format!("the journal {STATE} is damaged ("));
    assert!(path.exists());
    sandbox.shutdown().await;
}

#[test]
fn journal_errors_name_the_state_flag() {
    let _gate = GATE.blocking_read();
    let work = Workdir::new();
    work.write("garbage.outreach.db", "not a database");
    for name in ["nope.outreach.db", "garbage.outreach.db"] {
        let out = work.cmd(&["resume", "--state", name]).run_blocking();
        out.expect_code(1)
            .expect_stderr_lacks("--journal")
            .expect_stderr("--state");
    }
}

/// A journal file without a campaign, as a `send` killed while creating its
/// journal could leave before creation became atomic (today the file only
/// appears with its whole campaign).
fn journal_without_campaign(work: &Workdir) {
    let path = work.state();
    let mut conn = rusqlite::Connection::open(&path).expect("create journal");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("WAL, as journals always were");
    schema::migrate(&mut conn, &path, 0).expect("journal schema");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_without_campaign_is_refused_and_restart_begins_again() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(3);
    journal_without_campaign(&work);
    let bytes = work.read(STATE);

    let out = work.resume().run().await;
    out.expect_code(1).expect_stderr(
        "the journal data.outreach.db holds no campaign (its creation was interrupted); \
         start again with `outreach send --restart`",
    );
    assert_eq!(work.read(STATE), bytes);

    let restart = work
        .send(&sandbox.url())
        .opt("--rate", "50/s")
        .flag("--restart")
        .run()
        .await;
    restart.expect_code(0);
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]

async fn send_on_a_journal_without_campaign_does_not_call_it_complete() {
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let work = Workdir::new();
    let recipients = work.recipients(3);
    journal_without_campaign(&work);

    let out = work.send(&sandbox.url()).opt("--rate", "50/s").run().await;
    out.expect_stderr_lacks("already complete");
    // Either it refuses and points at --restart, or it starts the campaign.
    let received = received_recipients(&sandbox.messages());
    match out.code {
        Some(1) => {
            out.expect_stderr("--restart");
            assert!(received.is_empty());
        }
        _ => {
            out.expect_code(0);
            assert_eq!(received, sorted(&recipients));
        }
    }
    sandbox.shutdown().await;
}

/// kill -9 `send` while it creates its journal. The journal is built in
/// `<state>.creating` and renamed into place with its whole campaign, so a
/// kill leaves either no journal (`resume` says so and points at `send`,
/// which starts over) or a complete one, never a half-made file (which used
/// to fail with "Error code 776", "not an outreach journal", ...).
#[test]

fn a_send_killed_while_creating_its_journal_leaves_none() {
    let _gate = GATE.blocking_read();
    let work = Workdir::new();
    work.recipients(3);
    let state = work.state();
    let mut checked = 0;
    for attempt in 0..12 {
        for suffix in ["", "-journal", "-wal", "-shm", ".creating"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", state.display()));
        }
        let building = std::path::PathBuf::from(format!("{}.creating", state.display()));
        // Nothing is sent: the kill comes long before the first slot.
        let mut running = work
            .send("http://127.0.0.1:9/v2/messages")
            .opt("--rate", "1/s")
            .spawn();
        let watched = building.clone();
        let ready = running.wait_until(Duration::from_micros(50), move |_| {
            let len = std::fs::metadata(&watched).map(|m| m.len());
            if attempt % 2 == 0 {
                len.is_ok_and(|len| len > 0)
            } else {
                len.is_ok()
            }
        });
        if !ready || !running.kill9() {
            continue;
        }
        running.wait_blocking();
        let status = work
            .cmd(&["status", "--json", "--state", STATE])
            .run_blocking();
        let created = status.code == Some(0)
            && serde_json::from_str::<serde_json::Value>(&status.stdout)
                .is_ok_and(|s| s["total"].as_u64() > Some(0));
        if created {
            continue; // the kill came after the campaign was written
        }
        checked += 1;
        assert!(!state.exists(), "a half-made journal at the path");
        let resume = work.cmd(&["resume", "--state", STATE]).run_blocking();
        resume
            .expect_code(1)
            .expect_stderr("no journal at")
            .expect_stderr("outreach send")
            .expect_stderr_lacks("Error code");
    }
    assert!(checked > 0, "no kill landed during creation");
}
