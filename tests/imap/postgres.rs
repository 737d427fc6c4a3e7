//! Replies for a campaign in PostgreSQL (issue 14): `send --state
//! postgres://...` watches the inbox and records the stops in the database,
//! and `outreach replies --state postgres://... --campaign NAME` checks it
//! once afterwards. Needs dovecot and `OUTREACH_TEST_DATABASE_URL` (a
//! schema of the test's own); skips with one line without either.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::postgres::TestSchema;
use crate::dovecot::{self, IMAP_PASSWORD, IMAP_PASSWORD_ENV, IMAP_USER};
use crate::harness::{Security, Workdir, received_recipients, roomy, smtp, sorted};
use crate::samples;

/// Four recipients two seconds apart in a PostgreSQL campaign: a reply
/// from r03 while `send` runs stops r03 before its turn; after the run, a
/// reply from r01 (already sent to) is found by `outreach replies`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_in_postgres_is_stopped_by_replies_during_send_and_by_outreach_replies() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let Some(dovecot) = dovecot::start(false) else {
        return;
    };
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    let imap = format!(
        "imap = {{ host = \"127.0.0.1\", port = {}, tls = \"none\", username = \"{IMAP_USER}\", \
         password_env = \"{IMAP_PASSWORD_ENV}\", poll_interval = \"1s\" }}\n",
        dovecot.port
    );
    let r = work.smtp_campaign(&sandbox, Security::Plain, 4, &imap);
    let running = work
        .send()
        .opt("--state", &db.url_text)
        .opt("--rate", "30/m")
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sandbox.messages().is_empty() {
        assert!(Instant::now() < deadline, "the first message within 20s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dovecot.append(&samples::reply(&r[2], None)).await;

    let run = running.wait().await;

    run.expect_code(0)
        .expect_stderr(&format!(
            "replies: reading {IMAP_USER} at 127.0.0.1:{}",
            dovecot.port
        ))
        .expect_stderr(&format!("stopped {}: replied", r[2]))
        .expect_stderr_lacks("not being checked")
        .expect_stderr_lacks(IMAP_PASSWORD);
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&[r[0].clone(), r[1].clone(), r[3].clone()]),
        "{run}"
    );
    assert!(
        !work.path().join("data.outreach.db").exists(),
        "the journal is the database"
    );

    dovecot.append(&samples::reply(&r[0], None)).await;
    let once = work
        .cmd(&["replies", "--state", &db.url_text, "--campaign", "data"])
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .run()
        .await;
    once.expect_code(0);
    assert!(
        once.stdout.contains(&format!("stopped {}: replied", r[0])),
        "{once}"
    );
    assert!(
        once.stdout
            .contains("2 message(s) since the campaign started, 1 recipient(s) stopped"),
        "r03 was stopped already: {once}"
    );

    let status = work
        .cmd(&[
            "status",
            "--json",
            "--state",
            &db.url_text,
            "--campaign",
            "data",
        ])
        .run_blocking();
    status.expect_code(0);
    let status: Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(
        status["stopped"]["replied"], 1,
        "r03's message skipped: {status}"
    );
    assert_eq!(status["sent"], 3, "{status}");
    sandbox.shutdown().await;
}
