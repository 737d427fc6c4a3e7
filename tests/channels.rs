//! Channels from the command line: how `[channel]` in outreach.toml is read,
//! checked before anything happens, shown by `plan`, and previewed by
//! `send --dry-run --show-request`. [`channels::presets`] runs every HTTP preset end
//! to end through `outreach send` against the sandbox speaking its
//! provider; the channels' finer behaviour is tested beside each channel.

mod common;
// A crate root looks for `mod x;` beside itself (tests/x.rs); this suite's
// modules live in tests/channels/, and their own modules below them.
#[path = "channels"]
mod channels {
    pub mod presets;
}

use common::Workdir;

/// `r.csv` with two recipients, `t.txt`, and `outreach.toml` as given.
fn campaign(config: &str) -> Workdir {
    let work = Workdir::new();
    work.write("r.csv", "recipient,name\nr1,Ada\nr2,Bo\n")
        .write("t.txt", "Subject: Hi {{ name }}\n\nHello {{ name }}\n")
        .write("outreach.toml", config);
    work
}

#[test]
fn the_request_preview_shows_the_first_message_and_never_the_token() {
    let work = campaign("endpoint = \"https://api.example.test/v2/messages\"\n");
    let run = work
        .cmd(&[
            "send",
            "r.csv",
            "-t",
            "t.txt",
            "--dry-run",
            "--show-request",
            "--limit",
            "1",
        ])
        .token("s3cret-token-value")
        .run_blocking();
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Message 1 of 2 (account default, channel api)"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("POST https://api.example.test/v2/messages\n"),
        "{run}"
    );
    assert!(
        run.stdout.contains("Authorization: Bearer [redacted]"),
        "{run}"
    );
    assert!(run.stdout.contains("\"subject\": \"Hi Ada\""), "{run}");
    assert!(
        !run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"),
        "{run}"
    );
    assert!(
        !work.path().join("r.outreach.db").exists(),
        "a dry run records nothing"
    );
}

#[test]
fn show_request_needs_dry_run() {
    let work = campaign("");
    let run = work
        .cmd(&["send", "r.csv", "-t", "t.txt", "--show-request"])
        .run_blocking();
    run.expect_code(2)
        .expect_stderr("--show-request: only with --dry-run");
    assert!(!work.path().join("r.outreach.db").exists());
}

#[test]
fn an_unknown_channel_type_names_the_key_and_sends_nothing() {
    let work = campaign("[channel]\ntype = \"pigeon\"\n");
    let run = work.cmd(&["plan", "r.csv", "-t", "t.txt"]).run_blocking();
    run.expect_code(1)
        .expect_stderr("`channel.type` in outreach.toml: unknown channel type `pigeon`")
        .expect_stderr("mailgun");
}

#[test]
fn an_accounts_channel_error_names_that_account() {
    let work = campaign("[[accounts]]\nname = \"alice\"\n[accounts.channel]\ntype = 7\n");
    let run = work.cmd(&["plan", "r.csv", "-t", "t.txt"]).run_blocking();
    run.expect_code(1)
        .expect_stderr("`accounts.alice.channel.type` in ")
        .expect_stderr("`type` must be a string");
}

#[test]
fn a_preset_missing_a_setting_says_what_to_write() {
    let work = campaign("[channel]\ntype = \"mailgun\"\nfrom = \"Ann <ann@acme.test>\"\n");
    let run = work.cmd(&["plan", "r.csv", "-t", "t.txt"]).run_blocking();
    run.expect_code(1)
        .expect_stderr("`channel.domain` in outreach.toml")
        .expect_stderr("domain = ");
}

#[test]
fn plan_shows_each_accounts_channel_and_the_preview_is_the_providers_request() {
    let work = campaign(
        r#"[channel]
type = "slack"

[[accounts]]
name = "default"
"#,
    );
    let run = work
        .cmd(&[
            "send",
            "r.csv",
            "-t",
            "t.txt",
            "--dry-run",
            "--show-request",
            "--limit",
            "1",
        ])
        .token("xoxb-s3cret")
        .run_blocking();
    run.expect_code(0);
    assert!(
        run.stdout.contains("  channels    default: slack\n"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("POST https://slack.com/api/chat.postMessage"),
        "{run}"
    );
    assert!(run.stdout.contains("Bearer [redacted]"), "{run}");
    assert!(
        run.stdout
            .contains(r#"{"channel": "r1", "text": "Hello Ada"}"#),
        "{run}"
    );
    assert!(!run.stdout.contains("s3cret"), "{run}");
}
