//! The real binary with its campaigns in PostgreSQL (`--state postgres://...`
//! or `OUTREACH_DATABASE_URL`), against the sandbox: `send`, `status`
//! (one campaign, and the list of a database's campaigns), `report` (csv,
//! json and the HTML page),
//! `stop`, and `resume` after kill -9; the URL's password never printed;
//! TLS modes; a database that is unreachable, newer than the binary, or a
//! campaign another process is sending; the database lost mid-campaign
//! (`postgres/outage.rs`, through a TCP proxy that cuts connections).
//!
//! Each test works in a PostgreSQL schema of its own on the server named by
//! `OUTREACH_TEST_DATABASE_URL` (tests/common/postgres.rs); without it the
//! tests that need a server skip with one line saying so.

mod common;
#[path = "postgres/html.rs"]
mod html;
#[path = "postgres/outage.rs"]
mod outage;

use std::time::Duration;

use common::postgres::TestSchema;
use common::{Cmd, Outcome, Workdir, received_recipients, rows, sorted, start};
use outreach::sandbox::{HeaderDialect, SandboxConfig, WindowKind};
use serde_json::Value;

const TOKEN: &str = "tok-pg-4b1e";

fn config() -> SandboxConfig {
    SandboxConfig {
        limit: "1000/s".parse().expect("valid limit"),
        window: WindowKind::Rolling,
        dialect: HeaderDialect::XRateLimit,
        tokens: vec![("default".to_string(), TOKEN.to_string())],
        quiet: true,
        ..SandboxConfig::default()
    }
}

fn people(work: &Workdir, n: usize) -> Vec<String> {
    let ids = common::ids("pg", n);
    work.csv("recipient,first_name", &rows(&ids));
    ids
}

fn send(work: &Workdir, db: &TestSchema, endpoint: &str, rate: &str) -> Cmd {
    let events = format!("events-{}.jsonl", work.next_run());
    work.cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--state", &db.url_text)
        .delivery(endpoint, &events)
        .opt("--rate", rate)
        .token(TOKEN)
}

fn run(work: &Workdir, args: &[&str]) -> Outcome {
    work.cmd(args).run_blocking()
}

fn json(out: &Outcome) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// `report --format json` as (recipient, state), sorted.
fn states(work: &Workdir, db: &TestSchema, campaign: &str) -> Vec<(String, String)> {
    let out = run(
        work,
        &[
            "report",
            "--state",
            &db.url_text,
            "--campaign",
            campaign,
            "--format",
            "json",
        ],
    );
    out.expect_code(0);
    let mut rows: Vec<(String, String)> = out
        .stdout
        .lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).unwrap();
            (
                row["recipient"].as_str().unwrap().to_string(),
                row["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_status_report_and_stop_with_campaigns_in_postgres() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let ids = people(&work, 6);
    send(&work, &db, &sandbox.url(), "50/s")
        .flag("--no-progress")
        .run()
        .await
        .expect_code(0);
    assert_eq!(received_recipients(&sandbox.messages()), sorted(&ids));

    // The campaign is named after the CSV; a second one shares the database.
    send(&work, &db, &sandbox.url(), "50/s")
        .opt("--campaign", "again")
        .flag("--no-progress")
        .run()
        .await
        .expect_code(0);
    let list = run(&work, &["status", "--state", &db.url_text]);
    list.expect_code(0);
    assert!(list.stdout.contains("again "), "{list}");
    assert!(list.stdout.contains("data "), "{list}");
    assert!(list.stdout.contains("6 total: 6 sent"), "{list}");

    let status = run(
        &work,
        &[
            "status",
            "--state",
            &db.url_text,
            "--campaign",
            "data",
            "--json",
        ],
    );
    status.expect_code(0);
    let status = json(&status);
    assert_eq!(status["sent"], 6);
    assert_eq!(status["sender"], "finished");

    // Sending the same CSV's campaign again sends nothing.
    let again = send(&work, &db, &sandbox.url(), "50/s")
        .flag("--no-progress")
        .run()
        .await;
    again.expect_code(0).expect_stderr("already complete");
    assert_eq!(sandbox.messages().len(), 12);

    let rows = states(&work, &db, "data");
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|(_, state)| state == "sent"), "{rows:?}");

    let stopped = run(
        &work,
        &[
            "stop",
            &ids[0],
            "--state",
            &db.url_text,
            "--campaign",
            "data",
        ],
    );
    stopped.expect_code(0);
    assert!(stopped.stdout.contains("1 already sent"), "{stopped}");

    html::page_is_written_and_printed(&work, &db);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_between_runs_and_a_kill_9_mid_send_lose_nothing_and_send_nothing_twice() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let ids = people(&work, 12);
    // Slow enough to be killed mid-campaign, fast enough to finish soon.
    let mut running = send(&work, &db, &sandbox.url(), "10/s")
        .flag("--no-progress")
        .spawn();
    assert!(
        running
            .wait_for_events("sent", 3, Duration::from_secs(20))
            .await,
        "three sends within 20 s"
    );
    assert!(running.kill9(), "killed mid-campaign");
    let _ = running.wait().await;
    let before = received_recipients(&sandbox.messages());
    assert!(before.len() < ids.len(), "the kill came before the end");

    // A person not reached yet is stopped between runs.
    let last = ids.last().unwrap().clone();
    assert!(!before.contains(&last));
    run(
        &work,
        &["stop", &last, "--state", &db.url_text, "--reason", "asked"],
    )
    .expect_code(0);

    let resumed = work
        .cmd(&["resume"])
        .opt("--state", &db.url_text)
        .opt("--endpoint", &sandbox.url())
        .flag("--no-progress")
        .token(TOKEN)
        .run_blocking();
    // 3 when the kill left a message uncertain, 0 otherwise.
    assert!(matches!(resumed.code, Some(0 | 3)), "{resumed}");

    let received = received_recipients(&sandbox.messages());
    let mut unique = received.clone();
    unique.dedup();
    assert_eq!(unique, received, "nobody received twice");
    assert!(!received.contains(&last), "the stopped person was not sent");
    for (recipient, state) in states(&work, &db, "data") {
        let arrived = received.contains(&recipient);
        match state.as_str() {
            "sent" => assert!(arrived, "{recipient} sent but not received"),
            "uncertain" => {}
            "skipped" => assert_eq!(recipient, last),
            other => panic!("{recipient} left {other}"),
        }
    }
    let status = json(&run(
        &work,
        &[
            "status",
            "--state",
            &db.url_text,
            "--campaign",
            "data",
            "--json",
        ],
    ));
    assert_eq!(status["stopped"]["asked"], 1, "{status}");
    sandbox.shutdown().await;
}

#[test]
fn an_unreachable_database_names_the_host_and_what_to_check() {
    let work = Workdir::new();
    people(&work, 2);
    let out = work
        .cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--state", "postgres://outreach@127.0.0.1:1/nowhere")
        .opt("--endpoint", "http://127.0.0.1:9")
        .flag("--no-progress")
        .token(TOKEN)
        .run_blocking();
    out.expect_code(1)
        .expect_stderr("cannot connect to the PostgreSQL server at 127.0.0.1:1")
        .expect_stderr("pg_isready")
        .expect_stderr("nothing was sent");
}

#[test]
fn a_password_is_taken_only_from_the_environment_and_never_shown() {
    let work = Workdir::new();
    people(&work, 2);
    let flag = work
        .cmd(&["status"])
        .opt("--state", "postgres://ann:s3cret@127.0.0.1:1/x")
        .run_blocking();
    flag.expect_code(1)
        .expect_stderr("OUTREACH_DATABASE_URL")
        .expect_stderr_lacks("s3cret");
    // From the environment it is used (here: refused, nobody listens), and
    // every message shows the URL without it.
    let env = work
        .cmd(&["status"])
        .env(
            "OUTREACH_DATABASE_URL",
            "postgres://ann:s3cret@127.0.0.1:1/x",
        )
        .run_blocking();
    env.expect_code(1)
        .expect_stderr("postgres://ann@127.0.0.1:1/x")
        .expect_stderr_lacks("s3cret");
}

#[test]
fn the_database_in_the_environment_is_used_without_state() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    let empty = work
        .cmd(&["status"])
        .env("OUTREACH_DATABASE_URL", &db.url_text)
        .run_blocking();
    empty.expect_code(0);
    assert!(empty.stdout.contains("No campaigns in"), "{empty}");
    // With a password in the variable (trust authentication ignores it).
    let with_password = db
        .url_text
        .replacen("://postgres@", "://postgres:s3cret@", 1);
    let out = work
        .cmd(&["status", "--json"])
        .env("OUTREACH_DATABASE_URL", &with_password)
        .run_blocking();
    out.expect_code(0);
    assert!(
        !out.stdout.contains("s3cret") && !out.stderr.contains("s3cret"),
        "{out}"
    );
}

#[test]
fn tls_modes_are_accepted_or_refused_clearly() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    for mode in ["disable", "prefer", "require"] {
        let url = format!("{}&sslmode={mode}", db.url_text);
        let out = work.cmd(&["status", "--state", &url]).run_blocking();
        // `require` needs a server with TLS: either it works, or it says so.
        if mode == "require" && out.code != Some(0) {
            out.expect_stderr("cannot connect to the PostgreSQL server");
        } else {
            out.expect_code(0);
        }
    }
    // verify-full checks the certificate and the host name: a server
    // without TLS, or with a certificate not for 127.0.0.1, is refused.
    let url = format!("{}&sslmode=verify-full", db.url_text);
    let out = work.cmd(&["status", "--state", &url]).run_blocking();
    out.expect_code(1)
        .expect_stderr("cannot connect to the PostgreSQL server at 127.0.0.1:5432");
}

#[test]
fn a_database_of_a_newer_outreach_is_refused_naming_both_versions() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let work = Workdir::new();
    run(&work, &["status", "--state", &db.url_text]).expect_code(0);
    let store = outreach::journal::PgStore::create(&db.url, "x").unwrap();
    drop(store);
    db.execute("UPDATE outreach_meta SET value = '99' WHERE key = 'schema_version'");
    let out = run(&work, &["status", "--state", &db.url_text]);
    out.expect_code(1)
        .expect_stderr("schema version 99")
        .expect_stderr(&format!(
            "understands up to {}",
            outreach::journal::pg_schema::SCHEMA_VERSION
        ));
}

#[test]
fn a_campaign_being_sent_cannot_be_resumed_by_another_process() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    use outreach::journal::{CampaignStore, PgStore};
    let mut holder = PgStore::create(&db.url, "busy").unwrap();
    let meta = outreach::journal::CampaignMeta {
        campaign_id: "c".into(),
        created_at: chrono::Utc::now(),
        csv_path: "busy.csv".into(),
        fingerprint: "f".into(),
        inputs: vec![],
        options_json: "{}".into(),
        tool_version: "0".into(),
    };
    holder.create_campaign(&meta, &[]).unwrap();
    let work = Workdir::new();
    let out = run(
        &work,
        &["resume", "--state", &db.url_text, "--campaign", "busy"],
    );
    out.expect_code(1).expect_stderr(
        "another `outreach send` or `outreach resume` is working on campaign `busy`",
    );
    let status = json(&run(
        &work,
        &[
            "status",
            "--state",
            &db.url_text,
            "--campaign",
            "busy",
            "--json",
        ],
    ));
    assert_eq!(status["sender"], "running", "{status}");
    drop(holder);
}
