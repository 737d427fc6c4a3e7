//! `outreach status` with the real binary: which worker holds each
//! account's lease of a campaign in PostgreSQL (lease columns and worker
//! rows written with SQL, times relative to the database's clock), and
//! `status --watch`: timestamped blocks into a pipe whose reader leaves
//! after two, Ctrl-C, and a finished campaign, each ending with exit 0.
//!
//! Campaigns are sent through the embedded sandbox (`--endpoint sandbox`);
//! the PostgreSQL tests use a schema of their own on the server named by
//! `OUTREACH_TEST_DATABASE_URL` and skip without it (tests/common/postgres.rs).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::TestSchema;
use common::{Cmd, Workdir};
use serde_json::Value;

/// The database's clock in nanoseconds, plus `seconds`, as SQL.
fn db_now_plus(seconds: i64) -> String {
    format!("((extract(epoch FROM now()) * 1000000000)::bigint + {seconds}::bigint * 1000000000)")
}

/// alice, bob and carol, two recipients each.
fn three_accounts(work: &Workdir) {
    let mut rows = Vec::new();
    for (i, account) in ["alice", "bob", "carol"].iter().cycle().take(6).enumerate() {
        rows.push(format!("p{i}@example.test,P{i},{account}"));
    }
    work.csv("recipient,first_name,account", &rows);
}

fn send(work: &Workdir, state: Option<&str>) -> Cmd {
    let cmd = work
        .cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--endpoint", "sandbox")
        .opt("--rate", "50/s")
        .flag("--no-progress");
    match state {
        Some(url) => cmd.opt("--state", url),
        None => cmd,
    }
}

fn status(work: &Workdir, db: &TestSchema) -> Cmd {
    work.cmd(&["status"])
        .opt("--state", &db.url_text)
        .opt("--campaign", "data")
}

/// A sent campaign in `db` whose accounts are leased as workers would:
/// alice held by a live worker, bob free until his next message is due,
/// carol's lease expired, its worker no longer seen.
fn leased_campaign(work: &Workdir, db: &TestSchema) {
    three_accounts(work);
    send(work, Some(&db.url_text)).run_blocking().expect_code(0);
    db.execute(&format!(
        "UPDATE accounts SET lease_holder = 'host-a:1234:9f2c', lease_until_ns = {}, fence = 3
             WHERE account = 'alice';
         UPDATE accounts SET not_before_ns = {} WHERE account = 'bob';
         UPDATE accounts SET lease_holder = 'host-b:99:0001', lease_until_ns = {}, fence = 7
             WHERE account = 'carol';
         INSERT INTO workers (id, host, pid, started_at_ns, seen_at_ns) VALUES
             ('host-a:1234:9f2c', 'host-a', 1234, {}, {}),
             ('host-b:99:0001', 'host-b', 99, {}, {});",
        db_now_plus(60),
        db_now_plus(3600),
        db_now_plus(-3),
        db_now_plus(-600),
        db_now_plus(-2),
        db_now_plus(-900),
        db_now_plus(-300),
    ));
}

#[test]
fn status_shows_who_holds_each_account_and_the_live_workers() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    leased_campaign(&work, &db);
    let out = status(&work, &db).run_blocking();
    out.expect_code(0);
    for line in [
        "Workers (live: seen in the last 30s):",
        "  host-a:1234:9f2c  on host-a, pid 1234, seen ",
        "ago, holds 1 account",
        "Leases:",
        "  alice  held by host-a:1234:9f2c (lease ",
        "left, fence 3)",
        "  bob    free, next due ",
        "  carol  lease expired 3s ago (was host-b:99:0001)",
    ] {
        assert!(out.stdout.contains(line), "lacks {line:?}\n{out}");
    }
    assert!(
        !out.stdout.contains("on host-b"),
        "host-b is not live\n{out}"
    );

    let json = status(&work, &db).flag("--json").run_blocking();
    json.expect_code(0);
    let value: Value = serde_json::from_str(&json.stdout).unwrap();
    let leases = value["leases"].as_array().expect("leases");
    let lease = |name: &str| {
        leases
            .iter()
            .find(|l| l["account"] == name)
            .unwrap_or_else(|| panic!("no lease of {name}: {value}"))
    };
    assert_eq!(lease("alice")["lease"], "held");
    assert_eq!(lease("alice")["holder"], "host-a:1234:9f2c");
    assert_eq!(lease("alice")["fence"], 3);
    let left = lease("alice")["lease_left_ms"].as_i64().unwrap();
    assert!((50_000..=60_000).contains(&left), "{left}");
    assert_eq!(lease("bob")["lease"], "free");
    assert!(lease("bob")["next_due"].is_string(), "{value}");
    assert_eq!(lease("carol")["lease"], "expired");
    assert_eq!(value["workers"].as_array().unwrap().len(), 1, "{value}");
    assert_eq!(value["workers"][0]["holds"], 1);
}

/// The binary with stdout piped to this test, which reads it as it comes.
fn spawn_watch(work: &Workdir, args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outreach"));
    command.args(args).current_dir(work.path());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OUTREACH_") {
            command.env_remove(&name);
        }
    }
    command
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn outreach")
}

/// Reads lines until `blocks` views have ended (their trailer line).
fn read_blocks(reader: &mut impl BufRead, blocks: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut seen = 0;
    while seen < blocks {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "ended: {lines:?}");
        if line.starts_with("(refreshing every") {
            seen += 1;
        }
        lines.push(line);
    }
    lines
}

/// Waits for the exit code; `None` if it does not end within 10 s.
fn exit_code(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    None
}

#[test]
fn watch_into_a_pipe_prints_timestamped_blocks_and_stops_when_the_reader_leaves() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    leased_campaign(&work, &db);
    db.execute("UPDATE messages SET state = 'pending', sent_at_ns = NULL WHERE account = 'bob'");
    let mut child = spawn_watch(
        &work,
        &[
            "status",
            "--state",
            &db.url_text,
            "--campaign",
            "data",
            "--watch=200ms",
        ],
    );
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let lines = read_blocks(&mut reader, 2);
    let stamps: Vec<&String> = lines.iter().filter(|l| l.starts_with("=== ")).collect();
    assert_eq!(stamps.len(), 2, "{lines:?}");
    assert!(stamps[0].ends_with("UTC\n"), "{lines:?}");
    assert!(lines[0].starts_with("=== "), "a block opens with its time");
    let holders = lines
        .iter()
        .filter(|l| l.contains("alice  held by"))
        .count();
    assert_eq!(holders, 2, "{lines:?}");
    assert!(
        !lines.concat().contains("\x1b[2J"),
        "no screen clearing in a pipe"
    );
    drop(reader);
    assert_eq!(exit_code(&mut child), Some(0), "quiet end on a closed pipe");
}

/// Marks every message of the file's campaign pending again.
fn unsend_all(work: &Workdir) {
    let journal = work.path().join("data.outreach.db");
    let conn = rusqlite::Connection::open(journal).unwrap();
    conn.execute(
        "UPDATE messages SET state = 'pending', sent_at_ns = NULL",
        [],
    )
    .unwrap();
}

#[test]
fn ctrl_c_ends_a_watch_with_success() {
    let work = Workdir::new();
    three_accounts(&work);
    send(&work, None).run_blocking().expect_code(0);
    unsend_all(&work);
    let mut child = spawn_watch(&work, &["status", "--watch=200ms"]);
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let first = read_blocks(&mut reader, 1);
    assert!(first.concat().contains("6 pending"), "{first:?}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        exit_code(&mut child),
        Some(0),
        "Ctrl-C ends watching with 0"
    );
}

#[test]
fn watching_a_finished_campaign_prints_it_once_and_exits_by_itself() {
    let work = Workdir::new();
    three_accounts(&work);
    send(&work, None).run_blocking().expect_code(0);
    let out = work.cmd(&["status", "--watch"]).run_blocking();
    out.expect_code(0);
    assert_eq!(out.stdout.matches("=== ").count(), 1, "{out}");
    assert!(out.stdout.contains("6 total: 6 sent"), "{out}");
    assert!(
        out.stdout.contains("(watch ended: nothing left to send)"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("Leases:"),
        "no leases for a file\n{out}"
    );
}
