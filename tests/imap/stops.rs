//! A reply or a bounce stops the person; an automatic answer does not; an
//! unreachable inbox never stops sending; `outreach replies` checks once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use outreach::channel::smtp::message::message_id;
use outreach::journal::{CampaignStore, MessageState, SqliteStore};

use crate::dovecot::{self, IMAP_PASSWORD, IMAP_PASSWORD_ENV, IMAP_USER, free_port};
use crate::harness::{STATE, Security, USER, Workdir, received_recipients, roomy, smtp, sorted};
use crate::samples;

/// The `imap` line of the `[channel]` table: `tls` mode, `port`, and a
/// certificate file to trust, polled every second.
fn imap_table(port: u16, tls: &str, root_certificate: Option<&str>) -> String {
    let root = root_certificate
        .map(|path| format!(", root_certificate = \"{path}\""))
        .unwrap_or_default();
    format!(
        "imap = {{ host = \"127.0.0.1\", port = {port}, tls = \"{tls}\", username = \"{IMAP_USER}\", \
         password_env = \"{IMAP_PASSWORD_ENV}\", poll_interval = \"1s\"{root} }}\n"
    )
}

/// Every recipient's Message-ID, as the SMTP channel derives it from the
/// journal's idempotency key and the sender's domain.
fn message_ids(work: &Workdir) -> BTreeMap<String, String> {
    let store = SqliteStore::open_read_only(work.path().join(STATE)).expect("the journal");
    let from: lettre::Address = USER.parse().expect("an address");
    store
        .messages_in_state(&[
            MessageState::Pending,
            MessageState::InFlight,
            MessageState::Sent,
        ])
        .expect("messages")
        .into_iter()
        .map(|stored| {
            let id = message_id(&stored.message.idempotency_key, &from);
            (stored.message.recipient, id)
        })
        .collect()
}

async fn wait_for(what: &str, limit: Duration, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Six recipients two seconds apart. Once r01 is out, the inbox gets a
/// reply from r03's address, a reply from someone else to r04's message,
/// a DSN for r05 and an out-of-office from r06: r03, r04 and r05 are
/// stopped (the inbox is read every second, long before their turn), r06
/// still gets its message, and nothing in the inbox is marked read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_bounces_stop_people_while_send_runs_but_an_out_of_office_does_not() {
    let Some(dovecot) = dovecot::start(false) else {
        return;
    };
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    let imap = imap_table(dovecot.port, "none", None);
    let r = work.smtp_campaign(&sandbox, Security::Plain, 6, &imap);
    let running = work
        .send()
        .opt("--rate", "30/m")
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .spawn();
    wait_for("the first message", Duration::from_secs(20), || {
        !sandbox.messages().is_empty()
    })
    .await;
    let ids = message_ids(&work);
    dovecot.append(&samples::reply(&r[2], None)).await;
    dovecot
        .append(&samples::reply(
            "assistant@elsewhere.test",
            Some(&ids[&r[3]]),
        ))
        .await;
    dovecot.append(&samples::dsn(&r[4], &ids[&r[4]])).await;
    dovecot.append(&samples::vacation(&r[5], &ids[&r[5]])).await;

    let run = running.wait().await;

    run.expect_code(0)
        .expect_stderr(&format!("replies: reading {IMAP_USER} at 127.0.0.1:{}", dovecot.port))
        .expect_stderr(&format!("stopped {}: replied (message <reply-", r[2]))
        .expect_stderr(&format!(
            "stopped {}: replied (reply <reply-assistant.elsewhere.test@mail.test> from assistant@elsewhere.test to our {}",
            r[3], ids[&r[3]]
        ))
        .expect_stderr(&format!("stopped {}: bounced: 5.1.1 user unknown", r[4]))
        .expect_stderr_lacks(&format!("stopped {}", r[5]))
        .expect_stderr_lacks("not being checked")
        .expect_stderr_lacks(IMAP_PASSWORD);
    let received = received_recipients(&sandbox.messages());
    assert_eq!(
        received,
        sorted(&[r[0].clone(), r[1].clone(), r[5].clone()]),
        "{run}"
    );
    let stopped_events: Vec<String> = run
        .events("stopped")
        .iter()
        .filter_map(|event| event["recipient"].as_str().map(str::to_string))
        .collect();
    assert_eq!(stopped_events, r[2..5].to_vec(), "{run}");
    let status = work.status();
    assert_eq!(status["stopped"]["replied"], 2, "{status}");
    assert_eq!(
        status["stopped"]["bounced: 5.1.1 user unknown"], 1,
        "{status}"
    );
    let states = work.states();
    for stopped in &r[2..5] {
        assert_eq!(states[stopped], "skipped", "{stopped}: {states:?}");
    }
    let flags = dovecot.flags().await;
    assert!(flags.iter().all(|flag| !flag.contains("Seen")), "{flags:?}");
    sandbox.shutdown().await;
}

/// An inbox nobody answers at: every message still goes, with one warning
/// naming the server and what to check, and the summary says since when
/// replies were not checked. Needs no dovecot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_inbox_warns_once_and_sending_goes_on() {
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    let port = free_port();
    let imap = imap_table(port, "none", None);
    let r = work.smtp_campaign(&sandbox, Security::Plain, 8, &imap);

    let run = work
        .send()
        .opt("--rate", "2/s")
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .run()
        .await;

    run.expect_code(0)
        .expect_stderr("Sent 8 of 8 messages")
        .expect_stderr(&format!("cannot reach the IMAP server 127.0.0.1:{port}"))
        .expect_stderr("check `imap.host`, `imap.port` and `imap.tls`")
        .expect_stderr(&format!(
            "replies to {IMAP_USER} at 127.0.0.1:{port} were not checked since "
        ))
        .expect_stderr_lacks(IMAP_PASSWORD);
    let warnings = run.stderr.matches("replies are not being checked").count();
    assert_eq!(warnings, 1, "{run}");
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&r),
        "{run}"
    );
    sandbox.shutdown().await;
}

/// A missing IMAP password stops `send` before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_imap_password_sends_nothing() {
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    work.smtp_campaign(
        &sandbox,
        Security::Plain,
        2,
        &imap_table(free_port(), "none", None),
    );

    let run = work.send().opt("--rate", "10/s").run().await;

    run.expect_code(1)
        .expect_stderr(&format!("set the environment variable {IMAP_PASSWORD_ENV}"));
    assert!(sandbox.messages().is_empty(), "{run}");
    assert!(!work.path().join(STATE).exists(), "{run}");
    sandbox.shutdown().await;
}

/// After a finished campaign, `outreach replies` reads the inbox once over
/// implicit TLS: a reply and an exim bounce are recorded as stops (the
/// people were already sent to, so the stop holds for anything later), a
/// second pass finds nothing new, nothing is marked read, and a wrong
/// password is reported with exit 1 and never shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outreach_replies_checks_once_over_tls() {
    let Some(dovecot) = dovecot::start(true) else {
        return;
    };
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    work.write(
        "imap-cert.pem",
        dovecot.certificate_pem.as_deref().expect("a certificate"),
    );
    let tls_port = dovecot.tls_port.expect("a TLS port");
    let imap = imap_table(tls_port, "tls", Some("imap-cert.pem"));
    let r = work.smtp_campaign(&sandbox, Security::Plain, 3, &imap);
    work.send()
        .opt("--rate", "10/s")
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .run()
        .await
        .expect_code(0);
    dovecot
        .append(&samples::reply(&r[0].to_uppercase(), None))
        .await;
    dovecot.append(&samples::exim_bounce(&r[1])).await;
    dovecot
        .append(&samples::vacation(&r[2], "<x@y.test>"))
        .await;

    let once = work
        .cmd(&["replies", "--state", STATE])
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
            .contains(&format!("stopped {}: bounced: 5.1.1 user unknown", r[1])),
        "{once}"
    );
    assert!(
        once.stdout.contains("1 inbox(es) checked: 3 message(s) since the campaign started, 2 recipient(s) stopped, 1 automatic answer(s) ignored"),
        "{once}"
    );
    let again = work
        .cmd(&["replies", "--state", STATE])
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .run()
        .await;
    again.expect_code(0);
    assert!(again.stdout.contains("0 recipient(s) stopped"), "{again}");
    let flags = dovecot.flags().await;
    assert!(flags.iter().all(|flag| !flag.contains("Seen")), "{flags:?}");

    let wrong = work
        .cmd(&["replies", "--state", STATE])
        .env(IMAP_PASSWORD_ENV, "not-the-password-31")
        .run()
        .await;
    wrong.expect_code(1);
    assert!(
        wrong
            .stdout
            .contains(&format!("refused the login of {IMAP_USER}")),
        "{wrong}"
    );
    assert!(
        !format!("{wrong}").contains("not-the-password-31"),
        "{wrong}"
    );
    sandbox.shutdown().await;
}

/// `tls = "starttls"`: the plain port, upgraded before the login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_reads_the_inbox_too() {
    let Some(dovecot) = dovecot::start(true) else {
        return;
    };
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    work.write(
        "imap-cert.pem",
        dovecot.certificate_pem.as_deref().expect("a certificate"),
    );
    let imap = imap_table(dovecot.port, "starttls", Some("imap-cert.pem"));
    let r = work.smtp_campaign(&sandbox, Security::Plain, 2, &imap);
    work.send()
        .opt("--rate", "10/s")
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .run()
        .await
        .expect_code(0)
        .expect_stderr_lacks("not being checked");
    dovecot.append(&samples::reply(&r[1], None)).await;

    let once = work
        .cmd(&["replies", "--state", STATE])
        .env(IMAP_PASSWORD_ENV, IMAP_PASSWORD)
        .run()
        .await;

    once.expect_code(0);
    assert!(
        once.stdout.contains(&format!("stopped {}: replied", r[1])),
        "{once}"
    );
    sandbox.shutdown().await;
}
