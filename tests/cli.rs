//! The command line around the campaign commands: help, man pages,
//! completions. These run the real binary; they need no server.

use assert_cmd::Command;
use predicates::prelude::*;

fn outreach() -> Command {
    let mut command = Command::cargo_bin("outreach").expect("the binary is built");
    command.env_remove("OUTREACH_TOKEN").env("NO_COLOR", "1");
    command
}

#[test]
fn help_points_at_something_an_installed_user_has() {
    outreach().arg("--help").assert().success().stdout(
        predicate::str::contains("outreach man").and(predicate::str::contains("docs/").not()),
    );
}

#[test]
fn every_page_the_top_man_page_refers_to_exists() {
    let top = outreach()
        .arg("man")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let top = String::from_utf8(top).expect("roff is UTF-8");
    for sub in ["plan", "send", "resume", "status", "report", "sandbox"] {
        let name = format!("outreach\\-{sub}(1)");
        assert!(top.contains(&name), "the top page lists {name}");
        let page = outreach()
            .args(["man", sub])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let page = String::from_utf8(page).expect("roff is UTF-8");
        assert!(
            page.starts_with(&format!(
                ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH outreach-{sub} 1"
            )),
            "outreach man {sub} prints the page titled outreach-{sub}:\n{}",
            &page[..page.len().min(200)]
        );
    }
}

#[test]
fn man_dir_writes_every_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    outreach()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("man pages written to"));
    for page in [
        "outreach.1",
        "outreach-plan.1",
        "outreach-send.1",
        "outreach-resume.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is a man page");
    }
}

#[test]
fn man_of_an_unknown_subcommand_is_a_usage_error() {
    outreach().args(["man", "sned"]).assert().code(2).stderr(
        predicate::str::contains("no subcommand `sned`").and(predicate::str::contains("send")),
    );
}

#[test]
fn the_guide_without_arguments_survives_a_closed_stdout() {
    // `outreach | head -0`: nothing reads; no panic, exit 0.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
