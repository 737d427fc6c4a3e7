//! `send --dry-run`'s journal check (and `plan --state`'s, the same), with
//! the real binary: after the plan it
//! says what `send` would do with the journal (create it, or refuse a
//! campaign under way with the real refusal's words) and exits as `send`
//! would, and it writes nothing: no file beside an SQLite journal, no
//! table or campaign in a database, nothing changed in either.
//!
//! Campaigns are sent through the embedded sandbox (`--endpoint sandbox`);
//! the PostgreSQL tests use a schema of their own on the server named by
//! `OUTREACH_TEST_DATABASE_URL` and skip without it (tests/common/postgres.rs).

mod common;

use std::path::PathBuf;

use common::postgres::TestSchema;
use common::{Cmd, Outcome, Workdir};

const JOURNAL: &str = "data.outreach.db";

fn campaign(work: &Workdir) {
    work.recipients(3);
}

fn send(work: &Workdir) -> Cmd {
    work.cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--endpoint", "sandbox")
        .opt("--rate", "50/s")
        .flag("--no-progress")
}

/// The plan as CSV, so its summary goes to stderr before the journal line.
fn dry_run(work: &Workdir) -> Cmd {
    send(work).flag("--dry-run").opt("--format", "csv")
}

/// Every file of the dir with its bytes: equal before and after means the
/// run created, changed and removed nothing.
fn snapshot(work: &Workdir) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = work.files();
    files.sort();
    files
}

/// The text after `journal: send would refuse: `, up to the end of its line.
fn refusal(out: &Outcome) -> String {
    let marker = "journal: send would refuse: ";
    let start = out
        .stderr
        .find(marker)
        .unwrap_or_else(|| panic!("no refusal\n{out}"))
        + marker.len();
    out.stderr[start..].lines().next().unwrap().to_string()
}

/// Marks the message `seq` pending again, as if it had not gone yet.
fn unsend_in_file(work: &Workdir, seq: u64) {
    let conn = rusqlite::Connection::open(work.path().join(JOURNAL)).unwrap();
    conn.execute(
        "UPDATE messages SET state = 'pending', sent_at_ns = NULL WHERE seq = ?1",
        [seq as i64],
    )
    .unwrap();
}

#[test]
fn a_fresh_csv_says_send_will_create_the_journal_and_creates_nothing() {
    let work = Workdir::new();
    campaign(&work);
    let before = snapshot(&work);
    let out = dry_run(&work).run_blocking();
    out.expect_code(0)
        .expect_stderr("Plan: 3 messages")
        .expect_stderr(&format!(
            "journal: {JOURNAL} does not exist yet; send will create it"
        ));
    // After the plan's summary, like it on stderr.
    assert!(
        out.stderr.find("Plan:") < out.stderr.find("journal:"),
        "{out}"
    );
    assert_eq!(out.stdout.lines().count(), 4, "header and 3 rows\n{out}");
    assert_eq!(snapshot(&work), before, "{:?}", work.names());
}

#[test]
fn an_existing_campaign_is_reported_as_send_would_without_touching_its_journal() {
    let work = Workdir::new();
    campaign(&work);
    send(&work).run_blocking().expect_code(0);
    let finished = snapshot(&work);
    let out = dry_run(&work).run_blocking();
    out.expect_code(0)
        .expect_stderr("journal: This campaign is already complete (3 sent, 0 failed, 0 skipped");
    assert_eq!(snapshot(&work), finished, "no -wal, -shm or lock file");

    unsend_in_file(&work, 2);
    let under_way = snapshot(&work);
    let out = dry_run(&work).run_blocking();
    out.expect_code(1);
    let why = refusal(&out);
    assert!(
        why.starts_with("this CSV's campaign is already under way (2 sent, 1 pending"),
        "{out}"
    );
    assert!(
        why.contains("`outreach resume --state data.outreach.db`"),
        "{out}"
    );
    assert!(why.contains("--restart"), "{out}");
    assert_eq!(snapshot(&work), under_way);

    // The real send refuses in the same words, with the same exit code.
    let real = send(&work).run_blocking();
    real.expect_code(1).expect_stderr(&why);

    let restart = dry_run(&work).flag("--restart").run_blocking();
    restart
        .expect_code(0)
        .expect_stderr("with --restart send will move it aside as data.");
    assert!(work.path().join(JOURNAL).exists());
}

#[test]
fn a_corrupt_journal_is_an_error_naming_it_and_what_to_do() {
    let work = Workdir::new();
    campaign(&work);
    work.write(JOURNAL, "not a journal at all, just some bytes\n");
    let before = snapshot(&work);
    let out = dry_run(&work).run_blocking();
    out.expect_code(1)
        .expect_stderr("Plan: 3 messages")
        .expect_stderr(&format!("{JOURNAL} is not an outreach journal"))
        .expect_stderr("outreach send --restart");
    assert_eq!(snapshot(&work), before);
}

#[test]
fn a_dry_run_into_a_closed_pipe_is_not_an_error() {
    let work = Workdir::new();
    campaign(&work);
    for format in ["table", "csv", "json"] {
        let out = dry_run(&work)
            .opt("--format", format)
            .spawn_with_output_closed()
            .wait_blocking();
        out.expect_code(0);
    }
    assert_eq!(work.names(), ["data.csv", "message.txt"]);
}

/// One number from `sql` in the test's schema.
fn count(db: &TestSchema, sql: &str) -> i64 {
    let (url, sql) = (db.url_text.clone(), sql.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.query_one(&sql, &[]).unwrap().get(0)
    })
    .join()
    .unwrap()
}

fn tables(db: &TestSchema) -> i64 {
    count(
        db,
        &format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = '{}'",
            db.name()
        ),
    )
}

#[test]
fn a_fresh_database_says_send_will_create_the_schema_and_creates_no_table() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    campaign(&work);
    let out = dry_run(&work).opt("--state", &db.url_text).run_blocking();
    out.expect_code(0)
        .expect_stderr("journal: campaign `data` in ")
        .expect_stderr("the database has no outreach tables: send will create the schema (version");
    assert_eq!(tables(&db), 0, "no table created");
    assert_eq!(work.names(), ["data.csv", "message.txt"]);
}

#[test]
fn a_campaign_in_the_database_is_reported_as_send_would_and_left_as_it_was() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    campaign(&work);
    send(&work)
        .opt("--state", &db.url_text)
        .run_blocking()
        .expect_code(0);
    db.execute("UPDATE messages SET state = 'pending', sent_at_ns = NULL WHERE seq = 1");
    let state = "SELECT count(*) FROM messages WHERE state = 'pending'";
    let out = dry_run(&work).opt("--state", &db.url_text).run_blocking();
    out.expect_code(1);
    let why = refusal(&out);
    assert!(
        why.starts_with("this CSV's campaign is already under way (2 sent, 1 pending"),
        "{out}"
    );
    assert!(why.contains("--campaign data`"), "{out}");
    assert_eq!(count(&db, state), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM campaigns"), 1);

    // Another name is a new campaign: nothing in the way, nothing created.
    let other = dry_run(&work)
        .opt("--state", &db.url_text)
        .opt("--campaign", "other")
        .run_blocking();
    other
        .expect_code(0)
        .expect_stderr("campaign `other` in ")
        .expect_stderr("does not exist yet; send will create it");
    assert_eq!(count(&db, "SELECT count(*) FROM campaigns"), 1);

    // --restart does not apply in a database: refused, as by send.
    let restart = dry_run(&work)
        .opt("--state", &db.url_text)
        .flag("--restart")
        .run_blocking();
    restart
        .expect_code(1)
        .expect_stderr("send would refuse: --restart: campaign `data` in ");
}

#[test]
fn a_database_of_a_newer_outreach_is_an_error_naming_both_versions() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    campaign(&work);
    drop(outreach::journal::PgStore::create(&db.url, "x").unwrap());
    db.execute("UPDATE outreach_meta SET value = '99' WHERE key = 'schema_version'");
    let out = dry_run(&work).opt("--state", &db.url_text).run_blocking();
    out.expect_code(1)
        .expect_stderr("Plan: 3 messages")
        .expect_stderr("schema version 99")
        .expect_stderr(&format!(
            "understands up to {}",
            outreach::journal::pg_schema::SCHEMA_VERSION
        ));
    assert_eq!(
        count(
            &db,
            "SELECT value::bigint FROM outreach_meta WHERE key = 'schema_version'"
        ),
        99
    );
}

#[test]
fn an_unreachable_database_names_host_and_port_never_the_password() {
    let work = Workdir::new();
    campaign(&work);
    let out = dry_run(&work)
        .env(
            "OUTREACH_DATABASE_URL",
            "postgres://ann:s3cret@127.0.0.1:1/nowhere",
        )
        .run_blocking();
    out.expect_code(1)
        .expect_stderr("Plan: 3 messages")
        .expect_stderr("cannot connect to the PostgreSQL server at 127.0.0.1:1")
        .expect_stderr_lacks("s3cret");
    assert!(!out.stdout.contains("s3cret"), "{out}");
}

/// `plan --state` checks the journal as `send --dry-run` does: the same
/// verdict, the same exit code, nothing written; plain `plan` reads none.
#[test]
fn plan_with_a_state_checks_the_journal_as_send_dry_run_does() {
    let work = Workdir::new();
    campaign(&work);
    let plan = |state: Option<&str>| {
        let cmd = work
            .cmd(&["plan", "data.csv"])
            .opt("--template", "message.txt")
            .opt("--rate", "50/s")
            .opt("--format", "csv");
        match state {
            Some(state) => cmd.opt("--state", state),
            None => cmd,
        }
    };
    let fresh = plan(Some(JOURNAL)).run_blocking();
    fresh.expect_code(0).expect_stderr(&format!(
        "journal: {JOURNAL} does not exist yet; send will create it"
    ));
    assert!(!work.path().join(JOURNAL).exists());

    send(&work).run_blocking().expect_code(0);
    unsend_in_file(&work, 2);
    let under_way = snapshot(&work);
    let checked = plan(Some(JOURNAL)).run_blocking();
    checked.expect_code(1);
    assert_eq!(refusal(&checked), refusal(&dry_run(&work).run_blocking()));
    assert_eq!(snapshot(&work), under_way);

    let offline = plan(None).run_blocking();
    offline.expect_code(0);
    assert!(!offline.stderr.contains("journal:"), "{offline}");

    let Some(db) = TestSchema::create() else {
        return;
    };
    let other = plan(Some(&db.url_text))
        .opt("--campaign", "q4")
        .run_blocking();
    other
        .expect_code(0)
        .expect_stderr("journal: campaign `q4` in ")
        .expect_stderr("the database has no outreach tables: send will create the schema (version");
    assert_eq!(tables(&db), 0, "nothing created");
}
