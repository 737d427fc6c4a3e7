//! `outreach stop` through the real binary, against the sandbox: a stop
//! between runs, a stop while `send` runs (the stopped person is never
//! received once `stop` returned, unless the stop said their message was
//! already in flight), `--from` and `--domain`, and `status`.

mod common;

use std::time::Duration;

use common::{Cmd, Outcome, Workdir, received_recipients, rows, start};
use outreach::sandbox::{HeaderDialect, SandboxConfig, WindowKind};

const TOKEN: &str = "tok-stop-9d2c";
const STATE: &str = "data.outreach.db";

fn config() -> SandboxConfig {
    SandboxConfig {
        limit: "100/s".parse().expect("valid limit"),
        window: WindowKind::Rolling,
        dialect: HeaderDialect::XRateLimit,
        tokens: vec![("default".to_string(), TOKEN.to_string())],
        quiet: true,
        ..SandboxConfig::default()
    }
}

fn campaign(work: &Workdir, recipients: &[&str]) {
    let ids: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
    work.csv("recipient,first_name", &rows(&ids));
}

fn send(work: &Workdir, endpoint: &str, rate: &str, events: &str) -> Cmd {
    work.cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .delivery(endpoint, events)
        .opt("--rate", rate)
        .token(TOKEN)
}

fn stop(work: &Workdir, args: &[&str]) -> Outcome {
    let out = work
        .cmd(&["stop"])
        .args(args.iter().copied())
        .run_blocking();
    out.expect_code(0);
    out
}

/// Starts `send` at 1/s, lets the first message go, interrupts it: a
/// journal with one message sent and the rest pending.
async fn interrupted_after_one(work: &Workdir, endpoint: &str) {
    let running = send(work, endpoint, "1/s", "events-0.jsonl").spawn();
    assert!(
        running
            .wait_for_event("sent", Duration::from_secs(10))
            .await,
        "no send within 10 s"
    );
    running.signal("INT");
    running.wait().await.expect_code(130);
}

fn resume(work: &Workdir, endpoint: &str) -> Outcome {
    work.cmd(&["resume"])
        .opt("--state", STATE)
        .opt("--endpoint", endpoint)
        .flag("--no-progress")
        .opt("--events", "events-1.jsonl")
        .token(TOKEN)
        .run_blocking()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_between_runs_skips_the_person_and_status_says_why() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    campaign(
        &work,
        &["first@x.io", "Ann@Acme.io", "bob@y.io", "carl@z.io"],
    );
    interrupted_after_one(&work, &sandbox.url()).await;

    let out = stop(
        &work,
        &[
            "ann@acme.IO",
            "first@x.io",
            "nobody@x.io",
            "--reason",
            "asked",
        ],
    );
    assert!(
        out.stdout
            .contains("first@x.io: already sent, later messages stopped"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("1 stopped, 1 already sent, 1 unknown (not in this campaign: nobody@x.io"),
        "{out}"
    );
    let status = work.cmd(&["status"]).run_blocking();
    status.expect_code(0);
    assert!(status.stdout.contains("stopped   1 asked"), "{status}");

    resume(&work, &sandbox.url()).expect_code(0);
    let received = received_recipients(&sandbox.messages());
    assert_eq!(received, ["bob@y.io", "carl@z.io", "first@x.io"]);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_send_runs_is_never_received_unless_already_in_flight() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let ids = common::ids("r", 8);
    work.csv("recipient,first_name", &rows(&ids));
    let running = send(&work, &sandbox.url(), "4/s", "events.jsonl").spawn();
    assert!(
        running
            .wait_for_event("sent", Duration::from_secs(10))
            .await,
        "no send within 10 s"
    );
    // r05..r08 are due over the next second or so: some may be in flight.
    let targets = &ids[4..8];
    let args: Vec<&str> = targets.iter().map(String::as_str).collect();
    let out = stop(&work, &args);
    let received_at_stop = received_recipients(&sandbox.messages());
    let out_text = out.stdout.clone();
    let run = running.wait().await;
    run.expect_code(0);

    let received = received_recipients(&sandbox.messages());
    for target in targets {
        let went = received.contains(target);
        let said_so = out_text.contains(&format!("{target}: "));
        let before = received_at_stop.contains(target);
        // Received only if it had gone or was in flight, which the stop said.
        assert!(
            !went || said_so || before,
            "{target} went unannounced\n{out_text}"
        );
        if !went {
            let skipped = run
                .events("stopped")
                .iter()
                .any(|event| event["recipient"] == target.as_str());
            assert!(skipped, "no stopped event for {target}\n{run}");
        }
    }
    // r05 was due a second after r01: the stop came well before it.
    assert!(
        !received.contains(&ids[4]) || out_text.contains(&ids[4]),
        "{run}"
    );
    assert!(
        received.len() < ids.len(),
        "nothing was stopped\n{out_text}\n{run}"
    );
    // Nothing twice, the others all once.
    let mut unique = received.clone();
    unique.dedup();
    assert_eq!(unique, received);
    for other in &ids[..4] {
        assert!(received.contains(other), "{other} missing\n{run}");
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_file_and_by_domain() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    campaign(
        &work,
        &[
            "first@x.io",
            "a@acme.com",
            "b@eu.ACME.com",
            "c@notacme.com",
            "d@y.io",
            "e@y.io",
        ],
    );
    work.write("unsubscribed.csv", "email\nD@y.io\n# later\n");
    interrupted_after_one(&work, &sandbox.url()).await;

    let out = stop(
        &work,
        &[
            "--from",
            "unsubscribed.csv",
            "--domain",
            "acme.com",
            "--state",
            STATE,
        ],
    );
    assert!(
        out.stdout.contains("2 stopped, 0 already sent, 0 unknown"),
        "{out}"
    );

    resume(&work, &sandbox.url()).expect_code(0);
    let received = received_recipients(&sandbox.messages());
    assert_eq!(received, ["c@notacme.com", "e@y.io", "first@x.io"]);
    sandbox.shutdown().await;
}

#[test]
fn nobody_to_stop_is_an_error_naming_the_flags() {
    let work = Workdir::new();
    let out = work.cmd(&["stop"]).run_blocking();
    out.expect_code(1).expect_stderr("--from");
}

// ------------------------------------------------------- do-not-contact lists

/// A row a list names is left out of the plan, with the list and line
/// that matched; e-mail addresses in any case, `*@domain` for a company.
#[test]
fn suppressed_rows_are_listed_and_never_planned() {
    let work = Workdir::new();
    campaign(
        &work,
        &["ann@acme.test", "BO@Other.test", "cy@keep.test", "C42"],
    );
    work.write(
        "dnc.csv",
        "email\nbo@other.test\n# a company\n*@acme.test\n",
    );
    work.write("outreach.toml", "suppress = [\"dnc.csv\"]\n");
    let out = work
        .cmd(&["plan", "data.csv", "--template", "message.txt"])
        .run_blocking();
    out.expect_code(0);
    assert!(out.stdout.contains("Plan: 2 messages"), "{out}");
    assert!(
        out.stdout
            .contains("  suppressed  2 row(s) left out, on a do-not-contact list (never sent):"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("line 2: ann@acme.test, on dnc.csv line 4 (*@acme.test)"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("line 3: BO@Other.test, on dnc.csv line 2 (bo@other.test)"),
        "{out}"
    );
    work.write("outreach.toml", "suppress = [\"missing.csv\"]\n");
    work.cmd(&["plan", "data.csv", "--template", "message.txt"])
        .run_blocking()
        .expect_code(1)
        .expect_stderr("cannot read the do-not-contact list")
        .expect_stderr("missing.csv");
}

/// A name added to a list while `send` runs is stopped: never received
/// unless it was already in flight, with a `stopped` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_added_to_a_list_mid_campaign_is_not_sent() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let ids = common::ids("r", 8);
    work.csv("recipient,first_name", &rows(&ids));
    work.write("dnc.txt", "# nobody yet\n");
    work.write("outreach.toml", "suppress = \"dnc.txt\"\n");
    let running = send(&work, &sandbox.url(), "3/s", "events.jsonl").spawn();
    assert!(
        running
            .wait_for_event("sent", Duration::from_secs(10))
            .await,
        "no send within 10 s"
    );
    // r08 is due about two seconds later; the list is re-read within one.
    let last = ids[7].clone();
    work.write("dnc.txt", format!("# nobody yet\n{last}\n"));
    let run = running.wait().await;
    run.expect_code(0).expect_stderr(&format!(
        "1 recipient(s) stopped: on the do-not-contact list dnc.txt line 2 ({last})"
    ));
    let received = received_recipients(&sandbox.messages());
    assert!(!received.contains(&last), "{run}");
    assert_eq!(received.len(), 7, "{run}");
    assert!(
        run.events("stopped")
            .iter()
            .any(|e| e["recipient"] == last.as_str()),
        "{run}"
    );
    sandbox.shutdown().await;
}
