//! Sequences (`[[steps]]`, issue 13) through the real binary against the
//! sandbox: each follow-up goes out after its delay from the real send of
//! the step before, a person stopped between steps gets no follow-up,
//! kill -9 between steps loses and repeats nothing, `plan` shows every step,
//! and bad step config names its key. Delays are seconds, never long sleeps.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Workdir, rows, start};
use outreach::sandbox::{AcceptedMessage, HeaderDialect, SandboxConfig, WindowKind};

const TOKEN: &str = "tok-steps-51b8";
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

/// A two-step campaign: `intro.txt`, then `followup.txt` `after` it.
fn two_steps(work: &Workdir, recipients: &[&str], after: &str) {
    let ids: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
    work.write(
        "intro.txt",
        "Subject: Hello {{ first_name }}\n\nHi {{ first_name }}, a short note.\n",
    );
    work.write(
        "followup.txt",
        "Subject: Re: Hello {{ first_name }}\n\nFollowing up, {{ first_name }}.\n",
    );
    work.write(
        "outreach.toml",
        format!(
            "[[steps]]\ntemplate = \"intro.txt\"\n\n[[steps]]\ntemplate = \"followup.txt\"\nafter = \"{after}\"\n"
        ),
    );
    work.csv("recipient,first_name", &rows(&ids));
}

fn send(work: &Workdir, endpoint: &str, rate: &str, events: &str) -> common::Cmd {
    work.cmd(&["send", "data.csv"])
        .delivery(endpoint, events)
        .opt("--rate", rate)
        .token(TOKEN)
}

/// Each recipient's messages in the order received: (body, when).
fn by_recipient(messages: &[AcceptedMessage]) -> BTreeMap<String, Vec<(String, DateTime<Utc>)>> {
    let mut found: BTreeMap<String, Vec<(String, DateTime<Utc>)>> = BTreeMap::new();
    for message in messages {
        for recipient in &message.recipients {
            found
                .entry(recipient.clone())
                .or_default()
                .push((message.body.clone(), message.received_at));
        }
    }
    for list in found.values_mut() {
        list.sort_by_key(|(_, at)| *at);
    }
    found
}

/// Every recipient got the intro, then the follow-up at least `after`
/// later, each exactly once.
fn assert_in_order(messages: &[AcceptedMessage], recipients: &[&str], after: TimeDelta) {
    let found = by_recipient(messages);
    for recipient in recipients {
        let list = found
            .get(*recipient)
            .unwrap_or_else(|| panic!("{recipient} got nothing: {found:?}"));
        assert_eq!(list.len(), 2, "{recipient}: {list:?}");
        assert!(list[0].0.starts_with("Hi "), "{recipient}: {list:?}");
        assert!(
            list[1].0.starts_with("Following up"),
            "{recipient}: {list:?}"
        );
        // The sandbox stamps on arrival; the follow-up is due `after` the
        // response to the intro, which arrives after the intro's stamp.
        assert!(
            list[1].1 - list[0].1 >= after,
            "{recipient}: follow-up {} after the intro, expected at least {after}",
            list[1].1 - list[0].1
        );
    }
    let mut keys: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.idempotency_key.as_deref())
        .collect();
    let total = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), total, "an Idempotency-Key was used twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_follow_up_goes_out_after_its_delay_from_the_real_send() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let people = ["ann@x.io", "bob@y.io", "cat@z.io"];
    two_steps(&work, &people, "2s");
    let out = send(&work, &sandbox.url(), "10/s", "events.jsonl").run_blocking();
    out.expect_code(0);
    assert_in_order(&sandbox.messages(), &people, TimeDelta::seconds(2));
    let status = work.cmd(&["status"]).run_blocking();
    status.expect_code(0);
    assert!(status.stdout.contains("6 total: 6 sent"), "{status}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_stopped_between_steps_gets_no_follow_up() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let people = ["ann@x.io", "bob@y.io", "cat@z.io"];
    two_steps(&work, &people, "3s");
    let running = send(&work, &sandbox.url(), "10/s", "events.jsonl").spawn();
    assert!(
        running
            .wait_for_events("sent", 3, Duration::from_secs(10))
            .await,
        "the first steps were not sent within 10 s"
    );
    let stop = work
        .cmd(&["stop", "bob@y.io"])
        .opt("--reason", "replied")
        .run_blocking();
    stop.expect_code(0);
    let out = running.wait().await;
    out.expect_code(0);
    let found = by_recipient(&sandbox.messages());
    assert_eq!(found["bob@y.io"].len(), 1, "{found:?}");
    assert_eq!(found["ann@x.io"].len(), 2, "{found:?}");
    assert_eq!(found["cat@z.io"].len(), 2, "{found:?}");
    let status = work.cmd(&["status"]).run_blocking();
    assert!(status.stdout.contains("replied"), "{status}");
    assert!(
        status.stdout.contains("  steps     1: 3 sent\n"),
        "{status}"
    );
    assert!(
        status.stdout.contains("            2: 2 sent, 1 skipped\n"),
        "{status}"
    );

    // One report row per recipient and step, with the stop's reason.
    let csv = work
        .cmd(&["report", "--state", STATE, "--format", "csv"])
        .run_blocking();
    csv.expect_code(0);
    let mut lines = csv.stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("seq,line,recipient,step,account,state"),
        "{csv}"
    );
    let bob_step_2 = lines
        .find(|line| line.contains("bob@y.io,2,"))
        .unwrap_or_else(|| panic!("no row for bob's step 2: {csv}"));
    assert!(
        bob_step_2.contains("skipped") && bob_step_2.contains("stopped: replied"),
        "{bob_step_2}"
    );
    let html = work
        .cmd(&[
            "report", "--state", STATE, "--format", "html", "--output", "r.html",
        ])
        .run_blocking();
    html.expect_code(0);
    let page = String::from_utf8(work.read("r.html")).unwrap();
    assert!(
        page.contains("<h2>Steps and stops</h2>"),
        "no sequence section"
    );
    assert!(
        page.contains("<tr data-step=\"2\"><td>2</td><td>3s after step 1</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td>replied</td>"),
        "no stop reason in the page"
    );
    // The timeline marks the follow-ups and the stop.
    assert!(
        page.contains("class=\"follow-ups\""),
        "no follow-up line in the timeline"
    );
    assert!(
        page.contains("<path class=\"mark-stop\""),
        "no stop mark in the timeline"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_steps_then_resume_sends_every_follow_up_once() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let people = ["ann@x.io", "bob@y.io", "cat@z.io", "dan@w.io"];
    two_steps(&work, &people, "2s");
    let mut running = send(&work, &sandbox.url(), "20/s", "events-0.jsonl").spawn();
    assert!(
        running
            .wait_for_events("sent", 4, Duration::from_secs(10))
            .await,
        "the first steps were not sent within 10 s"
    );
    assert!(running.kill9(), "the sender had already exited");
    let _ = running.wait().await;
    let resumed = work
        .cmd(&["resume"])
        .opt("--state", STATE)
        .delivery(&sandbox.url(), "events-1.jsonl")
        .token(TOKEN)
        .run_blocking();
    resumed.expect_code(0);
    assert_in_order(&sandbox.messages(), &people, TimeDelta::seconds(2));
    sandbox.shutdown().await;
}

#[test]
fn plan_shows_every_step_with_its_tentative_time_and_totals() {
    let work = Workdir::new();
    two_steps(&work, &["ann@x.io", "bob@y.io"], "2 business days");
    let out = work
        .cmd(&["plan", "data.csv"])
        .opt("--rate", "10/h")
        .opt("--start", "2026-12-04T10:00:00Z")
        .opt("--timezone", "UTC")
        .run_blocking();
    out.expect_code(0);
    assert!(out.stdout.contains("step"), "{out}");
    assert!(
        out.stdout
            .contains("steps       1: 2 messages, 2 (2 business days after 1): 2 messages"),
        "{out}"
    );
    // Friday 10:00 and 10:06; two business days later is Tuesday.
    assert!(out.stdout.contains("2026-12-08 10:00"), "{out}");
    assert!(out.stdout.contains("2026-12-08 10:06"), "{out}");

    let json = work
        .cmd(&["plan", "data.csv"])
        .opt("--format", "json")
        .opt("--rate", "10/h")
        .opt("--start", "2026-12-04T10:00:00Z")
        .run_blocking();
    json.expect_code(0);
    let steps: Vec<u64> = json
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, [1, 1, 2, 2]);
}

#[test]
fn bad_step_config_names_the_key_and_sends_nothing() {
    let cases = [
        (
            "[[steps]]\ntemplate = \"intro.txt\"\n[[steps]]\ntemplate = \"followup.txt\"\n",
            "`steps[2].after`",
        ),
        (
            "[[steps]]\ntemplate = \"intro.txt\"\n[[steps]]\ntemplate = \"followup.txt\"\nafter = \"-3d\"\n",
            "`steps[2].after`: `-3d`",
        ),
        (
            "[[steps]]\ntemplate = \"intro.txt\"\n[[steps]]\ntemplate = \"followup.txt\"\nafter = \"soon\"\n",
            "`steps[2].after`: `soon` is not a delay",
        ),
        (
            "[[steps]]\ntemplate = \"intro.txt\"\n[[steps]]\ntemplate = \"nope.txt\"\nafter = \"3d\"\n",
            "`steps[2].template`",
        ),
        (
            "[[steps]]\ntemplate = \"intro.txt\"\nafter = \"1d\"\n",
            "`steps[1].after`",
        ),
    ];
    for (config, expected) in cases {
        let work = Workdir::new();
        two_steps(&work, &["ann@x.io"], "1d");
        work.write("outreach.toml", config);
        let out = work.cmd(&["plan", "data.csv"]).run_blocking();
        out.expect_code(1);
        out.expect_stderr(expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_until_idle_sends_what_is_due_and_says_when_the_next_is() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    let people = ["ann@x.io", "bob@y.io"];
    two_steps(&work, &people, "1h");
    let running = send(&work, &sandbox.url(), "10/s", "events-0.jsonl").spawn();
    assert!(
        running
            .wait_for_events("sent", 2, Duration::from_secs(10))
            .await,
        "the first steps were not sent within 10 s"
    );
    // The sender would wait an hour for the follow-ups: stop it.
    running.signal("INT");
    running.wait().await.expect_code(130);

    let idle = work
        .cmd(&["resume"])
        .opt("--state", STATE)
        .delivery(&sandbox.url(), "events-1.jsonl")
        .flag("--until-idle")
        .token(TOKEN)
        .run_blocking();
    idle.expect_code(0);
    idle.expect_stderr("Idle: nothing more is due now; the next message is due");
    idle.expect_stderr("--until-idle` again then");
    assert_eq!(sandbox.messages().len(), 2, "a follow-up went early");

    // A WITHIN that is no duration is a usage error, before anything is opened.
    let bad = work
        .cmd(&["resume"])
        .opt("--state", STATE)
        .flag("--until-idle=soon")
        .run_blocking();
    bad.expect_code(2);
    bad.expect_stderr("--until-idle: invalid duration `soon`");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_domain_daily_cap_holds_a_companys_messages_across_accounts() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    work.write("outreach.toml", "per_domain_daily_cap = 2\n");
    work.csv(
        "recipient,first_name",
        &rows(&[
            "a@acme.io".to_string(),
            "b@ACME.io".to_string(),
            "c@acme.io".to_string(),
            "d@other.io".to_string(),
            "e@acme.io".to_string(),
        ]),
    );
    // The plan holds the third and fourth acme.io messages to the next day.
    let plan = work
        .cmd(&["plan", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--rate", "10/s")
        .opt("--timezone", "UTC")
        .opt("--start", "2026-12-01T09:00:00Z")
        .run_blocking();
    plan.expect_code(0);
    assert!(plan.stdout.contains("2026-12-02 00:00"), "{plan}");
    assert!(
        plan.stdout
            .contains("per domain  at most 2 messages a day to one e-mail domain"),
        "{plan}"
    );

    let running = send(&work, &sandbox.url(), "10/s", "events.jsonl")
        .opt("--template", "message.txt")
        .spawn();
    assert!(
        running
            .wait_for_events("sent", 3, Duration::from_secs(10))
            .await,
        "three messages were not sent within 10 s"
    );
    // Nothing more goes today, however long the sender runs.
    tokio::time::sleep(Duration::from_millis(600)).await;
    running.signal("INT");
    running.wait().await.expect_code(130);
    let found = by_recipient(&sandbox.messages());
    let acme: Vec<&String> = found
        .keys()
        .filter(|r| r.to_lowercase().ends_with("@acme.io"))
        .collect();
    assert_eq!(acme.len(), 2, "{found:?}");
    assert!(found.contains_key("d@other.io"), "{found:?}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_changes_carries_every_step_of_added_edited_and_removed_rows() {
    let sandbox = start(config()).await;
    let work = Workdir::new();
    two_steps(&work, &["ann@x.io", "bob@y.io", "cat@z.io"], "1s");
    let running = send(&work, &sandbox.url(), "10/s", "events-0.jsonl").spawn();
    assert!(
        running
            .wait_for_events("sent", 3, Duration::from_secs(10))
            .await,
        "the first steps were not sent within 10 s"
    );
    running.signal("INT");
    running.wait().await.expect_code(130);
    assert_eq!(sandbox.messages().len(), 3, "a follow-up went early");

    // Bob's name is edited, Cat is removed, Dan is new.
    work.write(
        "data.csv",
        "recipient,first_name\nann@x.io,Name0\nbob@y.io,Robert\ndan@w.io,Dan\n",
    );
    let resumed = work
        .cmd(&["resume"])
        .opt("--state", STATE)
        .delivery(&sandbox.url(), "events-1.jsonl")
        .flag("--allow-changes=update")
        .token(TOKEN)
        .run_blocking();
    resumed.expect_code(0);
    let found = by_recipient(&sandbox.messages());
    let bodies = |who: &str| -> Vec<String> {
        found
            .get(who)
            .map(|list| list.iter().map(|(body, _)| body.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(bodies("ann@x.io").len(), 2, "{found:?}");
    assert_eq!(
        bodies("bob@y.io")[1],
        "Following up, Robert.",
        "the edited row's follow-up has its new text: {found:?}"
    );
    assert_eq!(
        bodies("cat@z.io").len(),
        1,
        "a removed row's follow-up went: {found:?}"
    );
    assert_eq!(
        bodies("dan@w.io"),
        ["Hi Dan, a short note.", "Following up, Dan."],
        "an added row gets every step: {found:?}"
    );
    assert_in_order(
        &sandbox.messages(),
        &["ann@x.io", "bob@y.io", "dan@w.io"],
        TimeDelta::seconds(1),
    );
    sandbox.shutdown().await;
}
