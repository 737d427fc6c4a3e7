//! `outreach plan` end to end (issue 2): the real binary, run in a fresh
//! temporary folder per test, with its CSV, templates and config written by
//! the test itself.
//!
//! Every plan starts at a fixed instant (Monday 2026-01-05 09:00 UTC unless a
//! test says otherwise) in an explicit time zone, so the expected send times
//! are exact. Machine-readable output (`--format json`) is parsed and its
//! `at` values compared as strings.
//!
//! Tests named `bug_*` are ignored: each reproduces a defect found while
//! writing these tests and passes once it is fixed.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;

mod common;

use common::{Cmd, Outcome, Workdir};

// ---------------------------------------------------------------- helpers

/// Monday 2026-01-05 09:00 UTC.
const START: &str = "2026-01-05T09:00:00Z";

/// What only this suite asks of a work dir.
impl Workdir {
    /// `r.csv` with `recipient,name` rows `r1..=rN` / `N1..=NN`, and the
    /// template `t.txt`: `Subject: Hi {{ name }}` / `Hello {{ name }}`.
    fn simple(count: usize) -> Workdir {
        let work = Workdir::new();
        let mut text = String::from("recipient,name\n");
        for i in 1..=count {
            text.push_str(&format!("r{i},N{i}\n"));
        }
        work.write("r.csv", text)
            .write("t.txt", "Subject: Hi {{ name }}\n\nHello {{ name }}\n");
        work
    }

    /// `outreach ARGS` in this folder (the environment scrubbed, `TZ=UTC`);
    /// ARGS are split as a shell would split them, with `'...'` around an
    /// argument with spaces.
    fn command(&self, args: &str) -> Cmd {
        self.cmd(&[]).args(split(args))
    }

    /// `outreach ARGS`, as given.
    fn run(&self, args: &str) -> Run {
        Run::of(self.command(args))
    }

    /// `outreach plan ARGS`, adding `--start START` and `--timezone UTC`
    /// unless ARGS give their own.
    fn plan(&self, args: &str) -> Run {
        let given = split(args);
        let mut all = format!("plan {args}");
        if !given.iter().any(|arg| arg == "--start") {
            all.push_str(&format!(" --start {START}"));
        }
        if !given.iter().any(|arg| arg == "--timezone") {
            all.push_str(" --timezone UTC");
        }
        self.run(&all)
    }
}

/// Split a command line at spaces, keeping `'quoted text'` together.
fn split(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.get_or_insert_with(String::new);
            }
            ' ' if !quoted => args.extend(current.take()),
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unbalanced quote in {line:?}");
    args.extend(current);
    args
}

/// A finished command, printed in full when an expectation fails; the
/// plan-specific expectations on top of the shared [`Outcome`].
struct Run(Outcome);

impl std::ops::Deref for Run {
    type Target = Outcome;

    fn deref(&self) -> &Outcome {
        &self.0
    }
}

impl Run {
    fn of(command: Cmd) -> Run {
        Run(command.run_blocking())
    }

    /// Exit code 0 and no error on stderr.
    #[track_caller]
    fn success(self) -> Run {
        assert!(
            self.code == Some(0) && !self.stderr.contains("error"),
            "expected success\n{self}"
        );
        self
    }

    /// Exit code 1, an `error:` on stderr, and nothing on stdout.
    #[track_caller]
    fn error(self) -> Run {
        assert_eq!(self.code, Some(1), "expected exit code 1\n{self}");
        assert!(
            self.stdout.is_empty(),
            "an error must print no data on stdout\n{self}"
        );
        assert!(
            self.stderr.starts_with("error: "),
            "expected an `error: ` message\n{self}"
        );
        self
    }

    /// Exit code 2 for a malformed flag value: nothing on stdout, and one
    /// `error: --flag: ...` message.
    #[track_caller]
    fn flag_error(self) -> Run {
        assert_eq!(self.code, Some(2), "expected exit code 2\n{self}");
        assert!(self.stdout.is_empty(), "no data on stdout\n{self}");
        assert!(
            self.stderr.starts_with("error: --"),
            "expected an `error: --flag: ` message\n{self}"
        );
        self
    }

    /// Exit code 2 (usage), and nothing on stdout.
    #[track_caller]
    fn usage_error(self) -> Run {
        assert_eq!(self.code, Some(2), "expected exit code 2\n{self}");
        assert!(self.stdout.is_empty(), "no data on stdout\n{self}");
        self
    }

    #[track_caller]
    fn stderr_has(self, needle: &str) -> Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    fn stdout_has(self, needle: &str) -> Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{self}"
        );
        self
    }

    /// stdout as JSON Lines: every line must parse as an object.
    #[track_caller]
    fn json(&self) -> Vec<Value> {
        assert!(
            self.stdout.is_empty() || self.stdout.ends_with('\n'),
            "JSON Lines end with a newline\n{self}"
        );
        self.stdout
            .lines()
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(value) if value.is_object() => value,
                _ => panic!("stdout line is not a JSON object: {line:?}\n{self}"),
            })
            .collect()
    }

    /// One string field of every JSON record.
    #[track_caller]
    fn field(&self, name: &str) -> Vec<String> {
        self.json()
            .iter()
            .map(|record| match &record[name] {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect()
    }

    /// The `at` of every record.
    #[track_caller]
    fn ats(&self) -> Vec<String> {
        self.field("at")
    }

    /// `(recipient, account, at)` of every record.
    #[track_caller]
    fn plan(&self) -> Vec<(String, String, String)> {
        self.json()
            .iter()
            .map(|r| {
                let text = |key: &str| r[key].as_str().unwrap_or_default().to_string();
                (text("recipient"), text("account"), text("at"))
            })
            .collect()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Parse an RFC 3339 instant.
fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|_| panic!("bad instant {text}"))
        .to_utc()
}

/// An instant as the plan prints `at`: UTC, milliseconds, `Z`.
fn shown(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Instants written briefly (`2026-01-05T09:00:00Z`) in the plan's format.
fn utc(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| shown(instant(text))).collect()
}

/// `count` instants from `start`, `step` apart.
fn every(start: &str, step: TimeDelta, count: i32) -> Vec<String> {
    (0..count)
        .map(|k| shown(instant(start) + step * k))
        .collect()
}

fn triple(recipient: &str, account: &str, at: &str) -> (String, String, String) {
    (recipient.into(), account.into(), shown(instant(at)))
}

// ---------------------------------------------------------------- 1. spacing

#[test]
fn twenty_per_hour_is_one_every_three_minutes() {
    let run = Workdir::simple(5)
        .plan("r.csv -t t.txt --rate 20/h --format json")
        .success();
    assert_eq!(
        run.ats(),
        [
            "2026-01-05T09:00:00.000Z",
            "2026-01-05T09:03:00.000Z",
            "2026-01-05T09:06:00.000Z",
            "2026-01-05T09:09:00.000Z",
            "2026-01-05T09:12:00.000Z"
        ]
    );
    assert_eq!(run.field("account"), ["default"; 5]);
}

#[test]
fn ten_per_second_is_one_every_hundred_milliseconds() {
    let run = Workdir::simple(12)
        .plan("r.csv -t t.txt --rate 10/s --format json")
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::milliseconds(100), 12));
}

#[test]
fn three_per_minute_is_one_every_twenty_seconds() {
    let run = Workdir::simple(7)
        .plan("r.csv -t t.txt --rate 3/min --format json")
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::seconds(20), 7));
}

#[test]
fn fifty_per_ninety_minutes_is_one_every_108_seconds() {
    let run = Workdir::simple(60)
        .plan("r.csv -t t.txt --rate 50/90m --format json")
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::seconds(108), 60));
    // The 51st message is exactly one period after the first.
    assert_eq!(run.ats()[50], "2026-01-05T10:30:00.000Z");
}

#[test]
fn the_default_rate_is_twenty_per_hour() {
    let run = Workdir::simple(3)
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has("default (3 messages at 20/h)");
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(3), 3));
}

#[test]
fn the_rate_can_come_from_the_config() {
    let work = Workdir::simple(3);
    work.write("outreach.toml", "rate = \"3/min\"\n");
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(run.ats(), every(START, TimeDelta::seconds(20), 3));
    // The flag wins over the file.
    let run = work
        .plan("r.csv -t t.txt --rate 6/min --format json")
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::seconds(10), 3));
}

#[test]
fn start_accepts_an_offset_and_the_word_now() {
    let work = Workdir::simple(2);
    let run = work
        .plan("r.csv -t t.txt --start 2026-01-05T10:00:00+01:00 --format json")
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(3), 2));
    let before = Utc::now() - TimeDelta::seconds(1);
    let run = work
        .plan("r.csv -t t.txt --start now --format json")
        .success();
    let first = instant(&run.ats()[0]);
    assert!(
        first >= before && first <= Utc::now(),
        "`now` starts now\n{run}"
    );
}

// ---------------------------------------------------------------- 2. accounts

const TWO_ACCOUNTS: &str = r#"
[[accounts]]
name = "alice"
rate = "20/h"

[[accounts]]
name = "bob"
rate = "30/h"
"#;

#[test]
fn two_accounts_run_side_by_side_each_at_its_own_rate() {
    let work = Workdir::new();
    work.write("outreach.toml", TWO_ACCOUNTS)
        .write("t.txt", "Hello {{ recipient }}")
        .rows(
            "r.csv",
            &[
                &["recipient", "account"],
                &["a1", "alice"],
                &["b1", "bob"],
                &["a2", "alice"],
                &["a3", "alice"],
                &["b2", "bob"],
                &["b3", "bob"],
                &["b4", "bob"],
            ],
        );
    let run = work
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has("Plan: 7 messages from 2 account(s)")
        .stderr_has("alice (3 messages at 20/h), bob (4 messages at 30/h)");
    assert_eq!(
        run.plan(),
        [
            triple("a1", "alice", "2026-01-05T09:00:00Z"),
            triple("b1", "bob", "2026-01-05T09:00:00Z"),
            triple("b2", "bob", "2026-01-05T09:02:00Z"),
            triple("a2", "alice", "2026-01-05T09:03:00Z"),
            triple("b3", "bob", "2026-01-05T09:04:00Z"),
            // Ties go to the first account.
            triple("a3", "alice", "2026-01-05T09:06:00Z"),
            triple("b4", "bob", "2026-01-05T09:06:00Z"),
        ]
    );
}

#[test]
fn blank_account_cells_take_turns_over_the_configured_accounts() {
    let work = Workdir::new();
    work.write("outreach.toml", TWO_ACCOUNTS)
        .write("t.txt", "Hello")
        .rows(
            "r.csv",
            &[
                &["recipient", "account"],
                &["x1", ""],
                &["x2", " "],
                &["b1", "bob"],
                &["x3", ""],
                &["x4", ""],
            ],
        );
    let run = work.plan("r.csv -t t.txt --format json").success();
    // x1 alice, x2 bob, x3 alice, x4 bob; b1 is bob's by name.
    assert_eq!(
        run.plan(),
        [
            triple("x1", "alice", "2026-01-05T09:00:00Z"),
            triple("x2", "bob", "2026-01-05T09:00:00Z"),
            triple("b1", "bob", "2026-01-05T09:02:00Z"),
            triple("x3", "alice", "2026-01-05T09:03:00Z"),
            triple("x4", "bob", "2026-01-05T09:04:00Z"),
        ]
    );
}

#[test]
fn without_an_account_column_messages_take_turns_over_the_accounts() {
    let work = Workdir::simple(5);
    work.write("outreach.toml", TWO_ACCOUNTS);
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(
        run.plan(),
        [
            triple("r1", "alice", "2026-01-05T09:00:00Z"),
            triple("r2", "bob", "2026-01-05T09:00:00Z"),
            triple("r4", "bob", "2026-01-05T09:02:00Z"),
            triple("r3", "alice", "2026-01-05T09:03:00Z"),
            triple("r5", "alice", "2026-01-05T09:06:00Z"),
        ]
    );
}

#[test]
fn one_default_account_when_none_is_configured_or_named() {
    let work = Workdir::new();
    work.write("t.txt", "Hello").rows(
        "r.csv",
        &[&["recipient", "account"], &["a", ""], &["b", ""]],
    );
    let run = work
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has("Plan: 2 messages from 1 account(s)")
        .stderr_has("default (2 messages at 20/h)");
    assert_eq!(run.field("account"), ["default", "default"]);
}

#[test]
fn account_names_in_the_csv_are_accounts_when_none_are_configured() {
    let work = Workdir::new();
    work.write("t.txt", "Hello").rows(
        "r.csv",
        &[
            &["recipient", "account"],
            &["c1", "carol"],
            &["d1", "dave"],
            &["c2", "carol"],
            &["x", ""],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt --rate 10/h --format json")
        .success()
        .stderr_has("carol (3 messages at 10/h), dave (1 messages at 10/h)");
    assert_eq!(
        run.plan(),
        [
            triple("c1", "carol", "2026-01-05T09:00:00Z"),
            triple("d1", "dave", "2026-01-05T09:00:00Z"),
            triple("c2", "carol", "2026-01-05T09:06:00Z"),
            triple("x", "carol", "2026-01-05T09:12:00Z"),
        ]
    );
}

#[test]
fn the_rate_flag_applies_to_every_configured_account() {
    let work = Workdir::new();
    work.write("outreach.toml", TWO_ACCOUNTS)
        .write("t.txt", "Hello")
        .rows(
            "r.csv",
            &[
                &["recipient", "account"],
                &["a1", "alice"],
                &["a2", "alice"],
                &["b1", "bob"],
                &["b2", "bob"],
            ],
        );
    let run = work
        .plan("r.csv -t t.txt --rate 6/h --format json")
        .success()
        .stderr_has("alice (2 messages at 6/h), bob (2 messages at 6/h)");
    assert_eq!(
        run.plan(),
        [
            triple("a1", "alice", "2026-01-05T09:00:00Z"),
            triple("b1", "bob", "2026-01-05T09:00:00Z"),
            triple("a2", "alice", "2026-01-05T09:10:00Z"),
            triple("b2", "bob", "2026-01-05T09:10:00Z"),
        ]
    );
}

// ---------------------------------------------------------------- 3. priority and duplicates

#[test]
fn higher_priority_first_then_file_order() {
    let work = Workdir::new();
    work.write("t.txt", "Hello").rows(
        "r.csv",
        &[
            &["recipient", "priority"],
            &["a", ""],
            &["b", "5"],
            &["c", "-1"],
            &["d", "5"],
            &["e", "0"],
            &["f", " 7 "],
        ],
    );
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(run.field("recipient"), ["f", "b", "d", "a", "e", "c"]);
    assert_eq!(run.field("priority"), ["7", "5", "5", "0", "0", "-1"]);
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(3), 6));
}

#[test]
fn a_duplicate_recipient_is_planned_once_with_a_warning_naming_both_lines() {
    let work = Workdir::new();
    work.write("t.txt", "Hello {{ name }}").rows(
        "r.csv",
        &[
            &["recipient", "name"],
            &["a", "First"],
            &["b", "Bee"],
            &["a", "Second"],
            &["c", "Cee"],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has("warning: r.csv:4: recipient `a` is also on line 2; it is planned once")
        .stderr_has("duplicates  1 dropped");
    assert_eq!(run.field("recipient"), ["a", "b", "c"]);
    // The first row wins.
    assert_eq!(run.field("body")[0], "Hello First");
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(3), 3));
    // The table also warns, on stderr, and keeps its stdout for the table.
    let run = work.plan("r.csv -t t.txt").success();
    assert!(run.stderr.contains("also on line 2"), "{run}");
    assert!(!run.stdout.contains("warning"), "{run}");
}

#[test]
fn a_priority_that_is_not_a_number_names_the_line() {
    let work = Workdir::new();
    work.write("t.txt", "Hello").rows(
        "r.csv",
        &[&["recipient", "priority"], &["a", "1"], &["b", "high"]],
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 1 problem")
        .stderr_has("line 3: priority `high` is not a whole number");
}

// ---------------------------------------------------------------- 4. windows

#[test]
fn a_saturday_start_waits_for_monday_and_keeps_the_spacing() {
    let work = Workdir::simple(7);
    let run = work
        .plan("r.csv -t t.txt --rate 4/h --window 'mon-fri 09:00-10:00' --start 2026-01-10T12:00:00Z --format json")
        .success()
        .stderr_has("window      mon-fri 09:00-10:00 (UTC)\n");
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-12T09:00:00Z",
            "2026-01-12T09:15:00Z",
            "2026-01-12T09:30:00Z",
            "2026-01-12T09:45:00Z",
            // 10:00 closes the window: Tuesday.
            "2026-01-13T09:00:00Z",
            "2026-01-13T09:15:00Z",
            "2026-01-13T09:30:00Z",
        ])
    );
}

#[test]
fn friday_evening_moves_to_monday_morning() {
    let run = Workdir::simple(3)
        .plan("r.csv -t t.txt --rate 1/h --window 'mon-fri 09:00-17:00' --start 2026-01-09T15:30:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-09T15:30:00Z",
            "2026-01-09T16:30:00Z",
            "2026-01-12T09:00:00Z",
        ])
    );
}

#[test]
fn a_window_across_midnight() {
    let run = Workdir::simple(6)
        .plan("r.csv -t t.txt --rate 1/h --window 'daily 22:00-02:00' --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T22:00:00Z",
            "2026-01-05T23:00:00Z",
            "2026-01-06T00:00:00Z",
            "2026-01-06T01:00:00Z",
            // 02:00 closes it until the evening.
            "2026-01-06T22:00:00Z",
            "2026-01-06T23:00:00Z",
        ])
    );
}

#[test]
fn several_windows_leave_a_lunch_break() {
    let run = Workdir::simple(5)
        .plan("r.csv -t t.txt --rate 1/h --window 'mon-fri 09:00-12:00' --window 'mon-fri 13:00-17:00' --start 2026-01-05T10:00:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T10:00:00Z",
            "2026-01-05T11:00:00Z",
            "2026-01-05T13:00:00Z",
            "2026-01-05T14:00:00Z",
            "2026-01-05T15:00:00Z",
        ])
    );
}

#[test]
fn windows_are_read_in_the_plan_time_zone() {
    // 09:00-17:00 in Berlin is 08:00-16:00 UTC in winter.
    let run = Workdir::simple(9)
        .plan("r.csv -t t.txt --rate 1/h --timezone Europe/Berlin --window 'mon-fri 09:00-17:00' --format json")
        .success()
        .stderr_has("window      mon-fri 09:00-17:00 (Europe/Berlin)\n")
        .stderr_has("first send  Mon 2026-01-05 10:00:00 CET");
    let mut expected = every(START, TimeDelta::hours(1), 7);
    expected.extend(utc(&["2026-01-06T08:00:00Z", "2026-01-06T09:00:00Z"]));
    assert_eq!(run.ats(), expected);
    assert_eq!(run.field("local")[0], "2026-01-05T10:00:00+01:00");
}

#[test]
fn windows_can_come_from_the_config() {
    let work = Workdir::simple(2);
    work.write(
        "outreach.toml",
        "windows = [\"sat,sun 10:00-14:00\"]\ntimezone = \"UTC\"\n",
    );
    let run = work
        .run("plan r.csv -t t.txt --start 2026-01-05T09:00:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&["2026-01-10T10:00:00Z", "2026-01-10T10:03:00Z"])
    );
}

#[test]
fn new_york_spring_forward_keeps_the_local_window() {
    // Clocks go from 02:00 EST to 03:00 EDT on Sunday 2026-03-08, so the
    // 09:00 window opens at 14:00 UTC before and 13:00 UTC after.
    let run = Workdir::simple(10)
        .plan("r.csv -t t.txt --rate 3/h --timezone America/New_York --window 'daily 09:00-10:00' --start 2026-03-06T14:00:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-03-06T14:00:00Z",
            "2026-03-06T14:20:00Z",
            "2026-03-06T14:40:00Z",
            "2026-03-07T14:00:00Z",
            "2026-03-07T14:20:00Z",
            "2026-03-07T14:40:00Z",
            "2026-03-08T13:00:00Z",
            "2026-03-08T13:20:00Z",
            "2026-03-08T13:40:00Z",
            "2026-03-09T13:00:00Z",
        ])
    );
    let local = run.field("local");
    assert_eq!(local[5], "2026-03-07T09:40:00-05:00");
    assert_eq!(local[6], "2026-03-08T09:00:00-04:00");
}

#[test]
fn berlin_spring_forward_opens_a_window_in_the_gap_when_the_gap_ends() {
    // On 2026-03-29 Berlin skips 02:00-03:00: a 02:30 window opens at 03:00
    // CEST (01:00 UTC) that day and closes at 04:00 CEST (02:00 UTC).
    let run = Workdir::simple(6)
        .plan("r.csv -t t.txt --rate 2/h --timezone Europe/Berlin --window 'daily 02:30-04:00' --start 2026-03-28T00:00:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-03-28T01:30:00Z",
            "2026-03-28T02:00:00Z",
            "2026-03-28T02:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:30:00Z",
            "2026-03-30T00:30:00Z",
        ])
    );
    assert_eq!(run.field("local")[3], "2026-03-29T03:00:00+02:00");
}

#[test]
fn new_york_fall_back_keeps_the_repeated_hour() {
    // On 2026-11-01 New York repeats 01:00-02:00; `01:00-03:00` opens at the
    // first 01:00 (EDT) and lasts three real hours.
    let run = Workdir::simple(5)
        .plan("r.csv -t t.txt --rate 1/h --timezone America/New_York --window 'daily 01:00-03:00' --start 2026-11-01T04:00:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-11-01T05:00:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T07:00:00Z",
            "2026-11-02T06:00:00Z",
            "2026-11-02T07:00:00Z",
        ])
    );
    let local = run.field("local");
    assert_eq!(local[0], "2026-11-01T01:00:00-04:00");
    assert_eq!(local[1], "2026-11-01T01:00:00-05:00");
}

#[test]
fn a_recipient_timezone_column_moves_the_window_to_the_recipient() {
    let work = Workdir::new();
    work.write("t.txt", "Hello").rows(
        "r.csv",
        &[
            &["recipient", "timezone"],
            &["here", ""],
            &["new-york", "America/New_York"],
            &["tokyo", "Asia/Tokyo"],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt --rate 10/h --window 'daily 09:00-17:00' --format json")
        .success();
    assert_eq!(
        run.plan(),
        [
            // The plan's zone (UTC): open at once.
            triple("here", "default", "2026-01-05T09:00:00Z"),
            // 09:00 EST.
            triple("new-york", "default", "2026-01-05T14:00:00Z"),
            // After 14:06 UTC (23:06 in Tokyo): Tuesday 09:00 JST.
            triple("tokyo", "default", "2026-01-06T00:00:00Z"),
        ]
    );
}

#[test]
fn an_unknown_recipient_timezone_names_the_line() {
    let work = Workdir::new();
    work.write("t.txt", "Hello").rows(
        "r.csv",
        &[
            &["recipient", "timezone"],
            &["a", "Europe/Berlin"],
            &["b", "Europe/Berln"],
        ],
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("line 3: unknown time zone `Europe/Berln`");
}

#[test]
fn the_default_time_zone_is_the_systems() {
    let work = Workdir::simple(1);
    let command = work
        .command(&format!(
            "plan r.csv -t t.txt --start {START} --window 'daily 09:00-17:00' --format json"
        ))
        .env("TZ", "America/New_York");
    let run = Run::of(command).success();
    assert_eq!(run.ats(), utc(&["2026-01-05T14:00:00Z"]));
    assert_eq!(run.field("local"), ["2026-01-05T09:00:00-05:00"]);
}

// ---------------------------------------------------------------- 5. daily cap and jitter

#[test]
fn the_daily_cap_moves_the_rest_to_the_next_day() {
    let work = Workdir::simple(5);
    let run = work
        .plan("r.csv -t t.txt --rate 10/h --daily-cap 2 --format json")
        .success()
        .stderr_has("at most 2/day");
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T09:00:00Z",
            "2026-01-05T09:06:00Z",
            "2026-01-06T00:00:00Z",
            "2026-01-06T00:06:00Z",
            "2026-01-07T00:00:00Z",
        ])
    );
    // With a window, the next day starts when the window opens.
    let run = work
        .plan(
            "r.csv -t t.txt --rate 10/h --daily-cap 2 --window 'mon-fri 09:00-17:00' --format json",
        )
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T09:00:00Z",
            "2026-01-05T09:06:00Z",
            "2026-01-06T09:00:00Z",
            "2026-01-06T09:06:00Z",
            "2026-01-07T09:00:00Z",
        ])
    );
}

#[test]
fn the_daily_cap_counts_calendar_days_of_the_plan_zone() {
    // 23:00 UTC is already the next day in Berlin.
    let run = Workdir::simple(5)
        .plan("r.csv -t t.txt --rate 10/h --daily-cap 2 --timezone Europe/Berlin --start 2026-01-05T22:00:00Z --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T22:00:00Z",
            "2026-01-05T22:06:00Z",
            "2026-01-05T23:00:00Z",
            "2026-01-05T23:06:00Z",
            "2026-01-06T23:00:00Z",
        ])
    );
}

#[test]
fn daily_caps_per_account_from_the_config() {
    let work = Workdir::new();
    work.write(
        "outreach.toml",
        "daily_cap = 2\nrate = \"10/h\"\n[[accounts]]\nname = \"alice\"\ndaily_cap = 1\n[[accounts]]\nname = \"bob\"\n",
    )
    .write("t.txt", "Hello")
    .rows(
        "r.csv",
        &[
            &["recipient", "account"],
            &["a1", "alice"],
            &["a2", "alice"],
            &["a3", "alice"],
            &["b1", "bob"],
            &["b2", "bob"],
            &["b3", "bob"],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has(
            "alice (3 messages at 10/h, at most 1/day), bob (3 messages at 10/h, at most 2/day)",
        );
    assert_eq!(
        run.plan(),
        [
            triple("a1", "alice", "2026-01-05T09:00:00Z"),
            triple("b1", "bob", "2026-01-05T09:00:00Z"),
            triple("b2", "bob", "2026-01-05T09:06:00Z"),
            triple("a2", "alice", "2026-01-06T00:00:00Z"),
            triple("b3", "bob", "2026-01-06T00:00:00Z"),
            triple("a3", "alice", "2026-01-07T00:00:00Z"),
        ]
    );
}

#[test]
fn jitter_is_reproducible_and_never_closer_than_the_interval() {
    let work = Workdir::simple(20);
    let args = "r.csv -t t.txt --rate 20/h --jitter 30% --format json";
    let first = work.plan(args).success();
    let second = work.plan(args).success();
    assert_eq!(first.stdout, second.stdout, "jitter must be reproducible");
    let first = first.stderr_has("jitter      up to 30% of the interval");
    // `30` means the same as `30%`.
    let bare = work
        .plan("r.csv -t t.txt --rate 20/h --jitter 30 --format json")
        .success();
    assert_eq!(bare.stdout, first.stdout);

    let interval = TimeDelta::minutes(3);
    let times: Vec<DateTime<Utc>> = first.ats().iter().map(|t| instant(t)).collect();
    assert!(times[0] >= instant(START), "{first}");
    assert!(times[0] < instant(START) + interval * 3 / 10, "{first}");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= interval,
            "{} then {}: closer than 3 minutes",
            pair[0],
            pair[1]
        );
        assert!(
            gap < interval * 13 / 10,
            "{} then {}: more than 30% late",
            pair[0],
            pair[1]
        );
    }
    assert_ne!(
        first.ats(),
        every(START, interval, 20),
        "30% jitter moves the slots"
    );
}

#[test]
fn full_jitter_with_windows_and_two_accounts_keeps_every_account_paced() {
    let work = Workdir::new();
    work.write("outreach.toml", TWO_ACCOUNTS)
        .write("t.txt", "Hello");
    let mut text = String::from("recipient,account\n");
    for i in 0..40 {
        text.push_str(&format!(
            "r{i},{}\n",
            if i % 3 == 0 { "alice" } else { "bob" }
        ));
    }
    work.write("r.csv", text);
    let run = work
        .plan("r.csv -t t.txt --jitter 100 --window 'mon-fri 09:00-10:00' --format json")
        .success();
    for (account, interval) in [
        ("alice", TimeDelta::minutes(3)),
        ("bob", TimeDelta::minutes(2)),
    ] {
        let times: Vec<DateTime<Utc>> = run
            .json()
            .iter()
            .filter(|r| r["account"] == account)
            .map(|r| instant(r["at"].as_str().unwrap()))
            .collect();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= interval, "{account}: {pair:?}\n{run}");
        }
        for at in &times {
            let day_and_hour = at.format("%a %H").to_string();
            assert!(
                !day_and_hour.starts_with("Sat")
                    && !day_and_hour.starts_with("Sun")
                    && day_and_hour.ends_with(" 09"),
                "{account}: {at} is outside mon-fri 09:00-10:00"
            );
        }
    }
}

// ---------------------------------------------------------------- 6. output formats

#[test]
fn the_table_is_the_default_with_a_summary() {
    let run = Workdir::simple(3).plan("r.csv -t t.txt").success();
    assert_eq!(
        run.stdout,
        "\
#  when                         account  recipient  message
1  Mon 2026-01-05 09:00:00 UTC  default  r1         Hi N1
2  Mon 2026-01-05 09:03:00 UTC  default  r2         Hi N2
3  Mon 2026-01-05 09:06:00 UTC  default  r3         Hi N3

Plan: 3 messages from 1 account(s)
  accounts    default (3 messages at 20/h)
  first send  Mon 2026-01-05 09:00:00 UTC
  last send   Mon 2026-01-05 09:06:00 UTC
  duration    6m
Nothing was sent (this is a plan).
",
        "\n{run}"
    );
    assert_eq!(run.stderr, "", "a table run prints nothing on stderr");
}

#[test]
fn the_table_shows_fifty_rows_unless_told_otherwise() {
    let work = Workdir::simple(60);
    let run = work.plan("r.csv -t t.txt").success();
    assert!(run.stdout.contains("\n50 "), "{run}");
    assert!(!run.stdout.contains("\n51 "), "{run}");
    let run = run.stdout_has("... 10 more messages (use --all to list them, or --format csv/json)");
    assert!(run.stdout.contains("Plan: 60 messages"), "{run}");

    let run = work
        .plan("r.csv -t t.txt --limit 2")
        .success()
        .stdout_has("... 58 more messages")
        .stdout_has("Plan: 60 messages");
    assert!(!run.stdout.contains("\n3 "), "{run}");

    let run = work
        .plan("r.csv -t t.txt --all")
        .success()
        .stdout_has("\n60  Mon 2026-01-05 11:57:00 UTC  default  r60")
        .stdout_has("last send   Mon 2026-01-05 11:57:00 UTC");
    assert!(!run.stdout.contains("more messages"), "{run}");

    // --limit only shapes the table; JSON lists everything.
    let run = work
        .plan("r.csv -t t.txt --limit 2 --format json")
        .success();
    assert_eq!(run.json().len(), 60);

    work.plan("r.csv -t t.txt --limit 2 --all")
        .usage_error()
        .stderr_has("cannot be used with");
}

#[test]
fn json_lines_carry_every_field_and_nothing_else_is_on_stdout() {
    let work = Workdir::simple(3);
    work.write("plain.txt", "No subject {{ name }}\n");
    let run = work
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has("Plan: 3 messages from 1 account(s)")
        .stderr_has("first send  Mon 2026-01-05 09:00:00 UTC")
        .stderr_has("Nothing was sent (this is a plan).");
    assert!(!run.stdout.contains("Plan:"), "{run}");
    let records = run.json();
    assert_eq!(records.len(), 3);
    let first = &records[0];
    assert_eq!(first["recipient"], "r1");
    assert_eq!(first["account"], "default");
    assert_eq!(first["at"], "2026-01-05T09:00:00.000Z");
    assert_eq!(first["subject"], "Hi N1");
    assert_eq!(first["body"], "Hello N1");
    assert_eq!(first["line"], 2);
    assert_eq!(first["seq"], 0);
    assert_eq!(first["priority"], 0);
    assert_eq!(first["local"], "2026-01-05T09:00:00+00:00");
    assert_eq!(first["template"], "t.txt");
    for record in &records {
        let at = record["at"].as_str().expect("at is a string");
        assert!(at.ends_with('Z'), "{at}");
        assert!(DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }
    // Without a subject line the subject is null.
    let run = work.plan("r.csv -t plain.txt --format json").success();
    assert_eq!(run.json()[0]["subject"], Value::Null);
    assert_eq!(run.json()[0]["body"], "No subject N1");
}

#[test]
fn csv_output_has_a_header_row_and_the_summary_on_stderr() {
    let work = Workdir::new();
    work.write(
        "t.txt",
        "Subject: Hi {{ name }}\n\nDear {{ name }},\nsee you\n",
    )
    .rows(
        "r.csv",
        &[
            &["recipient", "name"],
            &["a", "Ann, \"the\" first"],
            &["b", "Bob"],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt --format csv")
        .success()
        .stderr_has("Plan: 2 messages")
        .stderr_has("Nothing was sent");
    assert!(
        run.stdout
            .starts_with("seq,at,local,account,recipient,line,priority,template,subject,body\n"),
        "{run}"
    );
    assert!(!run.stdout.contains("Plan:"), "{run}");
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("stdout is not CSV: {error}\n{run}"));
    assert_eq!(records.len(), 2);
    assert_eq!(&records[0][1], "2026-01-05T09:00:00.000Z");
    assert_eq!(&records[0][4], "a");
    assert_eq!(&records[0][8], "Hi Ann, \"the\" first");
    assert_eq!(&records[0][9], "Dear Ann, \"the\" first,\nsee you");
    assert_eq!(&records[1][1], "2026-01-05T09:03:00.000Z");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    Workdir::simple(1)
        .plan("r.csv -t t.txt --format xml")
        .usage_error()
        .stderr_has("xml");
}

// ---------------------------------------------------------------- 7. templates

#[test]
fn the_subject_line_is_split_from_the_body() {
    let work = Workdir::simple(1);
    work.write(
        "crlf.txt",
        "subject:  Hello {{ name }}  \r\n\r\nLine one\r\nLine two\r\n",
    );
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(run.field("subject"), ["Hi N1"]);
    assert_eq!(run.field("body"), ["Hello N1"]);
    let run = work.plan("r.csv -t crlf.txt --format json").success();
    assert_eq!(run.field("subject"), ["Hello N1"]);
    assert_eq!(run.field("body"), ["Line one\r\nLine two"]);
}

#[test]
fn defaults_and_conditionals_handle_blank_cells() {
    let work = Workdir::new();
    work.write(
        "t.txt",
        "Subject: {{ first_name | default(\"there\") }}\n\nHi {{ first_name | default(\"there\") }}{% if company %} at {{ company }}{% endif %}!",
    )
    .rows(
        "r.csv",
        &[
            &["recipient", "First Name", "company"],
            &["a", "Zoë", "Acme, Inc."],
            &["b", "", ""],
            &["c", "Bo", "  "],
        ],
    );
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(
        run.field("body"),
        ["Hi Zoë at Acme, Inc.!", "Hi there!", "Hi Bo!"]
    );
    assert_eq!(run.field("subject"), ["Zoë", "there", "Bo"]);
}

#[test]
fn subject_and_body_columns_are_templates_when_no_template_is_given() {
    let work = Workdir::new();
    work.rows(
        "r.csv",
        &[
            &["recipient", "name", "subject", "body"],
            &[
                "a",
                "Ann",
                "Hi {{ name }}",
                "Dear {{ name }}, {{ x | default(\"friend\") }}",
            ],
            &["b", "Bob", "", "Body only {{ name }}"],
        ],
    );
    let run = work.plan("r.csv --format json").success();
    assert_eq!(run.field("subject"), ["Hi Ann", ""]);
    assert_eq!(run.json()[1]["subject"], Value::Null);
    assert_eq!(run.field("body"), ["Dear Ann, friend", "Body only Bob"]);
    assert_eq!(run.field("template"), ["(csv columns)", "(csv columns)"]);
}

#[test]
fn the_template_column_picks_a_named_template_or_a_file_beside_the_csv() {
    let work = Workdir::new();
    work.write(
        "campaign/tpl/intro.txt",
        "Subject: Intro {{ name }}\n\nIntro body {{ name }}\n",
    )
    .write("campaign/tpl/followup.txt", "Followup {{ name }}\n")
    .write("campaign/local.txt", "Local {{ name }}\n")
    .write(
        "campaign/outreach.toml",
        "template = \"tpl/intro.txt\"\n[templates]\nfollowup = \"tpl/followup.txt\"\n",
    )
    .rows(
        "campaign/r.csv",
        &[
            &["recipient", "name", "template"],
            &["a", "A", ""],
            &["b", "B", "followup"],
            &["c", "C", "local.txt"],
        ],
    );
    // Run from the parent folder: names resolve beside the CSV and the config.
    let run = work.plan("campaign/r.csv --format json").success();
    assert_eq!(run.field("body"), ["Intro body A", "Followup B", "Local C"]);
    assert_eq!(run.field("subject"), ["Intro A", "", ""]);
    let templates = run.field("template");
    assert!(templates[0].ends_with("intro.txt"), "{run}");
    assert!(templates[1].ends_with("followup.txt"), "{run}");
    assert!(templates[2].ends_with("local.txt"), "{run}");
}

#[test]
fn an_unknown_template_name_lists_the_known_ones() {
    let work = Workdir::new();
    work.write("f.txt", "F")
        .write("outreach.toml", "[templates]\nfollowup = \"f.txt\"\n")
        .rows(
            "r.csv",
            &[
                &["recipient", "template"],
                &["a", "followup"],
                &["b", "folowup"],
            ],
        );
    work.plan("r.csv")
        .error()
        .stderr_has("line 3: template `folowup` is neither a name from [templates]")
        .stderr_has("followup");
}

#[test]
fn the_template_flag_is_relative_to_the_current_directory() {
    let work = Workdir::new();
    work.write("t.txt", "From the current directory")
        .write("campaign/t.txt", "From the CSV folder")
        .rows("campaign/r.csv", &[&["recipient"], &["a"]]);
    let run = work.plan("campaign/r.csv -t t.txt --format json").success();
    assert_eq!(run.field("body"), ["From the current directory"]);
}

#[test]
fn max_length_names_the_lines_that_are_too_long() {
    let work = Workdir::new();
    work.write("t.txt", "Hello {{ name }}").rows(
        "r.csv",
        &[
            &["recipient", "name"],
            &["a", "Al"],
            &["b", "Bartholomew"],
            &["c", "Cy"],
        ],
    );
    work.plan("r.csv -t t.txt --max-length 10")
        .error()
        .stderr_has("r.csv has 1 problem")
        .stderr_has("line 3: the message body is 17 characters, over --max-length 10");
    // At the limit is fine.
    work.plan("r.csv -t t.txt --max-length 17").success();
    // Characters, not bytes.
    work.rows("r.csv", &[&["recipient", "name"], &["a", "Zoë Ünal"]]);
    work.plan("r.csv -t t.txt --max-length 14").success();
    work.plan("r.csv -t t.txt --max-length 0")
        .flag_error()
        .stderr_has("--max-length: the maximum length must be at least 1");
}

#[test]
fn no_template_at_all_says_how_to_give_one() {
    Workdir::simple(1)
        .plan("r.csv")
        .error()
        .stderr_has("no message template: pass --template FILE");
}

#[test]
fn a_template_syntax_error_names_the_template() {
    let work = Workdir::simple(1);
    work.write("bad.txt", "Hi {{ name");
    work.plan("r.csv -t bad.txt")
        .error()
        .stderr_has("template bad.txt has a syntax error");
}

// ---------------------------------------------------------------- 8. bad input

#[test]
fn a_missing_csv_names_the_file() {
    let work = Workdir::simple(1);
    work.plan("nope.csv -t t.txt")
        .error()
        .stderr_has("cannot read recipients file nope.csv")
        .stderr_has("check the path");
}

#[test]
fn no_recipient_column_lists_the_columns_found() {
    let work = Workdir::new();
    work.write("t.txt", "Hello")
        .rows("r.csv", &[&["urn", "First Name"], &["x", "y"]]);
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has no `recipient` column; columns found: `urn`, `First Name`")
        .stderr_has("--recipient-column NAME");
}

#[test]
fn the_recipient_column_flag_and_config_key() {
    let work = Workdir::new();
    work.write("t.txt", "Hello")
        .rows("r.csv", &[&["URN", "name"], &["x", "y"]]);
    let run = work
        .plan("r.csv -t t.txt --recipient-column urn --format json")
        .success();
    assert_eq!(run.field("recipient"), ["x"]);
    work.write("outreach.toml", "recipient_column = \"urn\"\n");
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(run.field("recipient"), ["x"]);
    work.plan("r.csv -t t.txt --recipient-column id")
        .error()
        .stderr_has("no `id` column");
}

#[test]
fn a_row_with_the_wrong_number_of_fields_names_its_line() {
    let work = Workdir::simple(0);
    work.write("r.csv", "recipient,name\na,Ann\nb,Smith, Bob\nc,Cy\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 1 problem:")
        .stderr_has("line 3: has 3 field(s) but the header has 2; quote fields that contain commas")
        .stderr_has("Fix these rows and run the command again; nothing was sent.");
}

#[test]
fn every_bad_row_is_reported_at_once() {
    let work = Workdir::simple(0);
    work.write(
        "r.csv",
        "recipient,name\na,Ann\nb,B,extra\nc\n\"d\",\"multi\nline\"\ne,E,1,2\n",
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 3 problems:")
        .stderr_has("line 3: has 3 field(s)")
        .stderr_has("line 4: has 1 field(s)")
        // The quoted newline on line 5 pushes `e` to line 7.
        .stderr_has("line 7: has 4 field(s)");
}

#[test]
fn more_than_twenty_problems_are_counted() {
    let work = Workdir::simple(0);
    let mut text = String::from("recipient,name\n");
    for i in 0..25 {
        text.push_str(&format!("r{i},a,b\n"));
    }
    work.write("r.csv", text);
    let run = work
        .plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 25 problems:")
        // The same problem on every row is one line naming the first rows.
        .stderr_has("lines 2, 3, 4, 5, 6 and 20 more (25 rows): has 3 field(s)");
    assert!(!run.stderr.contains("line 7"), "{run}");

    // Different problems are listed up to 20, then counted.
    let mut text = String::from("recipient,timezone\n");
    for i in 0..25 {
        text.push_str(&format!("r{i},Nowhere/Zone{i}\n"));
    }
    work.write("r.csv", text);
    let run = work
        .plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 25 problems:")
        .stderr_has("line 21: unknown time zone `Nowhere/Zone19`")
        .stderr_has("... and 5 more");
    assert!(!run.stderr.contains("line 22:"), "{run}");
}

#[test]
fn empty_recipients_are_each_named() {
    let work = Workdir::simple(0);
    work.write("r.csv", "recipient,name\na,Ann\n,Nobody\n  ,Blank\nd,Di\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 2 problems:")
        .stderr_has(
            "lines 3, 4 (2 rows): the `recipient` cell is empty; every row needs a recipient",
        );
}

#[test]
fn a_missing_template_variable_names_template_variable_and_line() {
    let work = Workdir::new();
    work.write("t.txt", "Hi {{ first_name }} at {{ company }}")
        .rows(
            "r.csv",
            &[
                &["recipient", "first_name", "company"],
                &["a", "Ann", "Acme"],
                &["b", "Bob", ""],
            ],
        );
    work.plan("r.csv -t t.txt --format json")
        .error()
        .stderr_has("r.csv has 1 problem")
        .stderr_has("line 3: template t.txt uses `company` but this row has no value for it")
        .stderr_has("{{ company | default(\"...\") }}");
    // A variable no column provides fails every row: one problem, on the
    // header's line (issue 10 item 8; it used to be one per row).
    work.write("t.txt", "Hi {{ nickname }}");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 1 problem")
        .stderr_has(
            "line 1: template t.txt uses `nickname`, which is no column of this file (2 rows fail)",
        );
}

#[test]
fn a_bad_rate_shows_the_accepted_forms() {
    let work = Workdir::simple(1);
    for bad in ["fast", "20", "0/h", "20/fortnight", "x/h"] {
        work.plan(&format!("r.csv -t t.txt --rate {bad}"))
            .flag_error()
            .stderr_has("--rate: invalid rate")
            .stderr_has(&format!("`{bad}`"))
            .stderr_has("expected N/PERIOD such as `20/h`, `10/s`, `500/day` or `50/90m`");
    }
    work.write("outreach.toml", "rate = \"fast\"\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("outreach.toml")
        .stderr_has("expected N/PERIOD");
}

#[test]
fn a_bad_time_zone_suggests_iana_names() {
    let work = Workdir::simple(1);
    work.plan("r.csv -t t.txt --timezone Mars/Base")
        .flag_error()
        .stderr_has(
            "--timezone: unknown time zone `Mars/Base`; use an IANA name such as `Europe/Berlin`",
        );
    work.write("outreach.toml", "timezone = \"CEST\"\n");
    work.run("plan r.csv -t t.txt --start 2026-01-05T09:00:00Z")
        .error()
        .stderr_has("`timezone` in ")
        .stderr_has("outreach.toml: unknown time zone `CEST`");
}

#[test]
fn a_bad_window_shows_the_accepted_forms() {
    let work = Workdir::simple(1);
    for (bad, reason) in [
        (
            "mon-fri 9-5pm",
            "`9-5pm` gives am or pm on one time only; write it on both, such as `9am-5pm`",
        ),
        ("mon-fri 9-5xm", "`5xm` is not a time of day"),
        ("mon-fry 09:00-17:00", "unknown day `fry`"),
        ("09:00-09:00", "the start and end are equal"),
        ("mon 25:00-26:00", "`25:00` is not a time of day"),
    ] {
        work.plan(&format!("r.csv -t t.txt --window '{bad}'"))
            .flag_error()
            .stderr_has(&format!("--window: invalid send window `{bad}`: {reason}"))
            .stderr_has("expected [DAYS] HH:MM-HH:MM such as `mon-fri 09:00-17:00`");
    }
    work.write("outreach.toml", "windows = [\"weekdayz 09:00-17:00\"]\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("`windows` in ")
        .stderr_has("unknown day `weekdayz`");
}

#[test]
fn a_bad_start_shows_the_format() {
    let work = Workdir::simple(1);
    for bad in ["yesterday", "2026-01-05", "2026-01-05 09:00"] {
        work.plan(&format!("r.csv -t t.txt --start '{bad}'"))
            .flag_error()
            .stderr_has(&format!("--start: invalid date `{bad}`"))
            .stderr_has("expected RFC 3339 such as `2026-12-01T09:00:00Z`");
    }
}

#[test]
fn bad_jitter_and_daily_cap_name_their_flag() {
    let work = Workdir::simple(1);
    work.plan("r.csv -t t.txt --jitter 150%")
        .flag_error()
        .stderr_has("--jitter: invalid jitter `150%`: expected a percentage of the send interval from 0 to 100");
    work.plan("r.csv -t t.txt --daily-cap 0")
        .flag_error()
        .stderr_has("--daily-cap: the daily cap must be at least 1; leave it out for no cap");
    work.plan("r.csv -t t.txt --daily-cap many")
        .usage_error()
        .stderr_has("--daily-cap")
        .stderr_has("not a whole number; write a count such as `100`");
    work.plan("r.csv -t t.txt --max-length 0")
        .flag_error()
        .stderr_has("--max-length: the maximum length must be at least 1");
    work.write("outreach.toml", "daily_cap = 0\nmax_length = 5\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("`daily_cap` in ")
        .stderr_has("the daily cap must be at least 1");
}

#[test]
fn an_empty_csv_says_what_it_needs() {
    let work = Workdir::simple(1);
    work.write("e.csv", "");
    work.plan("e.csv -t t.txt").error().stderr_has(
        "e.csv is empty: it needs a header row with a `recipient` column and one row per recipient",
    );
    work.write("e.csv", "\u{feff}\r\n");
    work.plan("e.csv -t t.txt")
        .error()
        .stderr_has("e.csv is empty");
}

#[test]
fn a_header_only_csv_asks_for_rows() {
    let work = Workdir::simple(1);
    work.write("h.csv", "recipient,name\n\n");
    work.plan("h.csv -t t.txt")
        .error()
        .stderr_has("h.csv has a header row but no recipients: add one row per recipient");
}

#[test]
fn an_invalid_config_names_the_file_and_the_key() {
    let work = Workdir::simple(1);
    work.write("outreach.toml", "rat = \"20/h\"\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("config outreach.toml is invalid")
        .stderr_has("unknown field `rat`")
        .stderr_has("`rate`");
    work.write(
        "outreach.toml",
        "[[accounts]]\nname = \"a\"\ntoken = \"secret\"\n",
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("unknown field `token`");
    work.write("outreach.toml", "rate = [\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("config outreach.toml is invalid")
        .stderr_has("line 1");
    work.write(
        "outreach.toml",
        "[[accounts]]\nname = \"a\"\ndaily_cap = 0\n",
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("`accounts.a.daily_cap` in ")
        .stderr_has("the daily cap must be at least 1");
}

#[test]
fn an_unreadable_config_names_the_file() {
    let work = Workdir::simple(1);
    work.plan("r.csv -t t.txt --config missing.toml")
        .error()
        .stderr_has("cannot read config missing.toml");
    // A folder where a file should be.
    std::fs::create_dir(work.path().join("dir.toml")).unwrap();
    work.plan("r.csv -t t.txt --config dir.toml")
        .error()
        .stderr_has("cannot read config dir.toml");
}

#[test]
fn the_config_beside_the_csv_wins_over_the_current_directory() {
    let work = Workdir::new();
    work.write("outreach.toml", "rate = \"1/h\"\n")
        .write("campaign/outreach.toml", "rate = \"2/h\"\n")
        .write("t.txt", "Hello")
        .rows("campaign/r.csv", &[&["recipient"], &["a"], &["b"]]);
    let run = work.plan("campaign/r.csv -t t.txt --format json").success();
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(30), 2));
    let run = work
        .plan("campaign/r.csv -t t.txt --config outreach.toml --format json")
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::hours(1), 2));
}

#[test]
fn an_account_the_config_does_not_list_names_the_line_and_the_accounts() {
    let work = Workdir::new();
    work.write("outreach.toml", TWO_ACCOUNTS)
        .write("t.txt", "Hello")
        .rows(
            "r.csv",
            &[
                &["recipient", "account"],
                &["a", "alice"],
                &["c", "carol"],
                &["d", "bob"],
            ],
        );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 1 problem")
        .stderr_has("line 3: account `carol` is not in outreach.toml (accounts: alice, bob); fix the cell or add the account");
}

#[test]
fn usage_errors_exit_with_two() {
    let work = Workdir::simple(1);
    work.run("plan r.csv --bogus")
        .usage_error()
        .stderr_has("--bogus");
    work.run("plan").usage_error().stderr_has("<CSV>");
    work.run("plan r.csv --rate").usage_error();
}

// ---------------------------------------------------------------- 9. samples

#[test]
fn the_shipped_samples_plan_fine() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR"));
    let command = Cmd::new(samples, &[]).args(split(&format!(
        "plan samples/recipients.csv --start {START} --timezone UTC --format json"
    )));
    let run = Run::of(command).success();
    let records = run.json();
    assert_eq!(records.len(), 48, "{run}");
    let run = run
        .stderr_has("Plan: 48 messages from 2 account(s)")
        .stderr_has("alice (24 messages at 30/min), bob (24 messages at 24/min)");
    // Alice sends every 2 s and Bob every 2.5 s, from the start.
    for (account, step) in [("alice", 2000), ("bob", 2500)] {
        let times: Vec<String> = records
            .iter()
            .filter(|r| r["account"] == account)
            .map(|r| r["at"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            times,
            every(START, TimeDelta::milliseconds(step), 24),
            "{account}\n{run}"
        );
    }
    // Priority 2 first; rows with a `template` cell use the follow-up.
    assert_eq!(records[0]["priority"], 2);
    assert!(
        records
            .iter()
            .any(|r| r["subject"].as_str().unwrap().starts_with("Following up")),
        "{run}"
    );
    for record in &records {
        assert!(!record["body"].as_str().unwrap().is_empty());
    }

    let table = Cmd::new(
        samples,
        &["plan", "samples/recipients.csv", "--timezone", "UTC"],
    );
    Run::of(table)
        .success()
        .stdout_has("Plan: 48 messages from 2 account(s)")
        .stdout_has("Nothing was sent (this is a plan).");
}

// ---------------------------------------------------------------- 10. CSV edge cases

#[test]
fn bom_crlf_quotes_newlines_unicode_and_header_case() {
    let work = Workdir::new();
    work.write(
        "r.csv",
        "\u{feff} Recipient , First Name ,Note\r\na,\"Zoë \"\"Z\"\" Ünal\",\"x, y\r\nnext\"\r\n\r\nb,Bob,plain\r\n",
    )
    .write("t.txt", "Subject: Hi {{ first_name }}\n\n{{ first_name }}: {{ note }}\n");
    let run = work.plan("r.csv -t t.txt --format json").success();
    let records = run.json();
    assert_eq!(run.field("recipient"), ["a", "b"]);
    assert_eq!(records[0]["subject"], "Hi Zoë \"Z\" Ünal");
    assert_eq!(records[0]["body"], "Zoë \"Z\" Ünal: x, y\r\nnext");
    // Line numbers count the quoted newline and the blank line.
    assert_eq!(records[0]["line"], 2);
    assert_eq!(records[1]["line"], 5);
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(3), 2));
}

#[test]
fn special_columns_match_in_any_case_with_spaces() {
    let work = Workdir::new();
    work.write("t.txt", "Hello {{ name }}").write(
        "r.csv",
        "RECIPIENT, Account ,PRIORITY,TimeZone,Name\nb,bob,,,B\na,alice, 3 ,Asia/Tokyo,A\n",
    );
    let run = work
        .plan("r.csv -t t.txt --window 'daily 09:00-17:00' --format json")
        .success();
    assert_eq!(
        run.plan(),
        [
            triple("b", "bob", "2026-01-05T09:00:00Z"),
            // Priority 3 and Tokyo's 09:00.
            triple("a", "alice", "2026-01-06T00:00:00Z"),
        ]
    );
    assert_eq!(run.field("body"), ["Hello B", "Hello A"]);
}

#[test]
fn unicode_recipients_and_values_survive_every_format() {
    let work = Workdir::new();
    work.write("t.txt", "Subject: Grüße, {{ name }}\n\n{{ name }} 🚀")
        .rows(
            "r.csv",
            &[
                &["recipient", "name"],
                &["urn:li:person:Łukasz", "Łukasz"],
                &["Søren", "Søren Ø"],
            ],
        );
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(run.field("recipient"), ["urn:li:person:Łukasz", "Søren"]);
    assert_eq!(run.field("subject"), ["Grüße, Łukasz", "Grüße, Søren Ø"]);
    assert_eq!(run.field("body"), ["Łukasz 🚀", "Søren Ø 🚀"]);
    work.plan("r.csv -t t.txt")
        .success()
        .stdout_has("urn:li:person:Łukasz  Grüße, Łukasz");
}

#[test]
fn invalid_utf8_names_the_line_and_column() {
    let work = Workdir::simple(0);
    work.write("r.csv", b"recipient,name\na,Ann\nb,\xff\xfe\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("line 3: column `name` is not valid UTF-8; save the file as UTF-8");
}

// ---------------------------------------------------------------- 11. input real exports produce
// Issue 10, item 8: case in e-mail addresses and template variables, other
// separators and encodings, header spellings, and every bad row in one run.

#[test]
fn issue10_e_mail_recipients_differing_only_in_case_are_one_person() {
    let work = Workdir::new();
    work.write("t.txt", "Hello {{ name }}").rows(
        "r.csv",
        &[
            &["recipient", "name"],
            &["Ana@Example.com", "First"],
            &["urn:li:person:Ab", "Urn"],
            &["ana@example.com", "Second"],
            &["urn:li:person:ab", "Other urn"],
            &["+49 30 1234", "Phone"],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt --format json")
        .success()
        .stderr_has(
            "warning: r.csv:4: recipient `ana@example.com` is also on line 2; it is planned once",
        )
        .stderr_has("duplicates  1 dropped");
    // The first row wins and is sent as written; URNs stay exact.
    assert_eq!(
        run.field("recipient"),
        [
            "Ana@Example.com",
            "urn:li:person:Ab",
            "urn:li:person:ab",
            "+49 30 1234"
        ]
    );
    assert_eq!(run.field("body")[0], "Hello First");
}

#[test]
fn issue10_a_variable_that_is_no_column_is_one_error_with_a_suggestion() {
    let work = Workdir::new();
    work.write(
        "t.txt",
        "Subject: Hi {{ frist_name }}\n\nHi {{ frist_name }}, {{ nickname }}",
    )
    .rows(
        "r.csv",
        &[
            &["recipient", "First Name", "company"],
            &["a", "Ann", "Acme"],
            &["b", "Bob", "Bee"],
            &["c", "Cy", "Sea"],
        ],
    );
    let run = work
        .plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 1 problem:")
        .stderr_has(
            "line 1: template t.txt uses `frist_name`, which is no column of this file (3 rows fail); \
             did you mean `first_name`?",
        );
    assert!(!run.stderr.contains("line 2:"), "{run}");
    // Fixed, the next unknown variable has no close column: the columns are listed.
    work.write("t.txt", "Hi {{ first_name }}, {{ nickname }}");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 1 problem:")
        .stderr_has("uses `nickname`, which is no column of this file (3 rows fail); columns: recipient, first_name, company");
}

#[test]
fn issue10_template_variables_match_columns_in_any_case() {
    let work = Workdir::new();
    work.write(
        "t.txt",
        "Subject: Hi {{ First_Name }}\n\n{{ FIRST_NAME }} at {{ Company }}",
    )
    .rows(
        "r.csv",
        &[
            &["recipient", "First Name", "company"],
            &["a", "Ann", "Acme"],
        ],
    );
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(run.field("subject"), ["Hi Ann"]);
    assert_eq!(run.field("body"), ["Ann at Acme"]);
}

#[test]
fn issue10_template_errors_name_the_file_and_its_line() {
    let work = Workdir::simple(1);
    work.write("bad.txt", "Subject: Hi\n\nHello\n{{ name");
    let run = work
        .plan("r.csv -t bad.txt")
        .error()
        .stderr_has("template bad.txt has a syntax error")
        .stderr_has("(line 4)");
    assert!(!run.stderr.contains("#body"), "{run}");
    work.write("bad.txt", "Subject: Hi {% if %}\n\nHello");
    let run = work
        .plan("r.csv -t bad.txt")
        .error()
        .stderr_has("template bad.txt has a syntax error")
        .stderr_has("(line 1)");
    assert!(!run.stderr.contains("#subject"), "{run}");
}

#[test]
fn issue10_semicolon_and_tab_separated_exports_are_detected() {
    let work = Workdir::new();
    work.write("t.txt", "Hi {{ name }} at {{ company }}")
        .write(
            "semi.csv",
            "recipient;name;company\r\na;Ann;Acme, Inc.\r\nb;\"Bob; Jr\";Bee\r\n",
        )
        .write("tabs.csv", "recipient\tname\tcompany\na\tAnn\tAcme, Inc.\n");
    let run = work.plan("semi.csv -t t.txt --format json").success();
    assert_eq!(run.field("recipient"), ["a", "b"]);
    assert_eq!(
        run.field("body"),
        ["Hi Ann at Acme, Inc.", "Hi Bob; Jr at Bee"]
    );
    let run = work.plan("tabs.csv -t t.txt --format json").success();
    assert_eq!(run.field("body"), ["Hi Ann at Acme, Inc."]);
}

#[test]
fn issue10_a_header_with_semicolons_suggests_the_delimiter_flag() {
    let work = Workdir::new();
    // A comma in the header hides the semicolons from detection.
    work.write("t.txt", "Hi {{ name }}")
        .write("r.csv", "recipient;name;note, more\na;Ann;x\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv: a header contains `;`, so the file looks separated by `;`")
        .stderr_has("pass --delimiter ';'");
    let run = work
        .plan("r.csv -t t.txt --delimiter ; --format json")
        .success();
    assert_eq!(run.field("body"), ["Hi Ann"]);
    // A comma-separated file read as tab-separated: one column with commas is no hint.
    work.write("c.csv", "recipient,name\na,Ann\n");
    work.plan("c.csv -t t.txt --delimiter tab")
        .error()
        .stderr_has("no `recipient` column");
    let run = work.plan("c.csv -t t.txt --delimiter x").usage_error();
    assert!(run.stderr.contains("unknown delimiter `x`"), "{run}");
}

#[test]
fn issue10_utf16_files_get_an_encoding_hint() {
    let work = Workdir::simple(0);
    let text = "recipient,name\r\na,Ann\r\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for bytes in [le, be, bare] {
        work.write("r.csv", bytes);
        work.plan("r.csv -t t.txt")
            .error()
            .stderr_has("r.csv is UTF-16 text; outreach reads UTF-8")
            .stderr_has("iconv -f UTF-16 -t UTF-8 r.csv > utf8.csv")
            .stderr_has("\"CSV UTF-8\"");
    }
}

#[test]
fn issue10_special_columns_in_any_case_or_spacing() {
    let work = Workdir::new();
    work.write("t.txt", "Hello {{ name }}").write(
        "r.csv",
        "Recipient,ACCOUNT,Pri_ority,Time Zone,Name\nb,bob,,,B\na,alice, 3 ,Asia/Tokyo,A\n",
    );
    let run = work
        .plan("r.csv -t t.txt --window 'daily 09:00-17:00' --format json")
        .success();
    assert_eq!(
        run.plan(),
        [
            triple("b", "bob", "2026-01-05T09:00:00Z"),
            // Priority 3 and Tokyo's 09:00.
            triple("a", "alice", "2026-01-06T00:00:00Z"),
        ]
    );
    work.write("r.csv", "recipient,time_zone,TimeZone\na,UTC,UTC\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has two `timezone` columns, `time_zone` and `TimeZone`");
}

#[test]
fn issue10_every_bad_row_is_reported_in_one_run() {
    let work = Workdir::new();
    work.write("t.txt", "Hi {{ name }} at {{ company }}").write(
        "r.csv",
        "recipient,name,company,priority\n\
         a,Ann,Acme,\n\
         b,Bob,,\n\
         ,Nobody,Corp,\n\
         d,Di,Dee,high\n\
         e,Eve,Ex,1,extra\n\
         f,Fay,Eff,\n",
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("r.csv has 4 problems:")
        .stderr_has("line 3: template t.txt uses `company` but this row has no value for it")
        .stderr_has("line 4: the `recipient` cell is empty")
        .stderr_has("line 5: priority `high` is not a whole number")
        .stderr_has("line 6: has 5 field(s) but the header has 4");
}

// ---------------------------------------------------------------- bugs found

/// `error: cannot read recipients file nope.csv: No such file or directory
/// (os error 2); check the path and permissions: No such file or directory
/// (os error 2)`: the thiserror messages embed `{source}` and `main` prints
/// the source chain again with `{:#}`.
#[test]
fn bug_error_causes_are_printed_once() {
    let work = Workdir::simple(1);
    let run = work.plan("nope.csv -t t.txt").error();
    assert_eq!(run.stderr.matches("os error 2").count(), 1, "{run}");
    let run = work.plan("r.csv -t t.txt --config missing.toml").error();
    assert_eq!(run.stderr.matches("os error 2").count(), 1, "{run}");
    let run = work.plan("r.csv -t missing.txt").error();
    assert_eq!(run.stderr.matches("os error 2").count(), 1, "{run}");
    let run = work.plan("r.csv -t t.txt --rate fast").flag_error();
    assert_eq!(run.stderr.matches("expected N/PERIOD").count(), 1, "{run}");
}

/// `--template` is read relative to the current directory (see
/// `the_template_flag_is_relative_to_the_current_directory`), but when it is
/// missing the message says "relative paths start at <the CSV's folder>" (or
/// at an empty string when the CSV is in the current directory).
#[test]
fn bug_a_missing_template_names_the_folder_it_was_looked_up_in() {
    let work = Workdir::new();
    work.write("campaign/intro.txt", "Hello")
        .rows("campaign/r.csv", &[&["recipient"], &["a"]]);
    let run = work
        .plan("campaign/r.csv -t intro.txt")
        .error()
        .stderr_has("cannot read template intro.txt");
    assert!(
        !run.stderr.contains("relative paths start at campaign"),
        "{run}"
    );
    work.rows("r.csv", &[&["recipient"], &["a"]]);
    let run = work.plan("r.csv -t intro.txt").error();
    assert!(!run.stderr.contains("start at )"), "{run}");
}

/// "Flags win over the config file" (options.rs), and `--rate` does override
/// every account's own rate, but `--daily-cap` loses to an account's
/// `daily_cap`: with `--daily-cap 1`, alice (daily_cap = 10) sends 3 on Monday.
#[test]
fn bug_the_daily_cap_flag_wins_over_account_caps() {
    let work = Workdir::new();
    work.write(
        "outreach.toml",
        "[[accounts]]\nname = \"alice\"\ndaily_cap = 10\n",
    )
    .write("t.txt", "Hello")
    .rows("r.csv", &[&["recipient"], &["a"], &["b"], &["c"]]);
    let run = work
        .plan("r.csv -t t.txt --daily-cap 1 --format json")
        .success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T09:00:00Z",
            "2026-01-06T00:00:00Z",
            "2026-01-07T00:00:00Z"
        ]),
        "{run}"
    );
}

/// `--rate 4294967295/s` makes the planner reserve room for N past sends up
/// front (`VecDeque::with_capacity(count + 1)` in plan/slots.rs): a 51 GB
/// allocation that aborts the process (exit 134, "memory allocation of
/// 51539607552 bytes failed") instead of planning or printing an error.
#[test]
#[cfg(unix)]
fn bug_a_huge_rate_count_does_not_abort() {
    let work = Workdir::simple(2);
    let command = work
        .command(&format!(
            "plan r.csv -t t.txt --start {START} --timezone UTC --rate 4294967295/s --format json"
        ))
        .through(&["sh", "-c", "ulimit -v 4000000; exec \"$0\" \"$@\""])
        .env("RUST_BACKTRACE", "0");
    let run = Run::of(command);
    // Planned, or refused as a malformed flag value (exit 2), never aborted.
    assert!(run.code == Some(0) || run.code == Some(2), "{run}");
}

/// `--rate 2/1000000y` parses (humantime accepts years) but the third slot
/// overflows chrono: the planner panics (`DateTime + TimeDelta overflowed`
/// at plan/slots.rs) with exit 101 instead of a rate error.
#[test]
fn bug_an_enormous_period_is_an_error_not_a_panic() {
    // Two messages plan (the interval is silently capped at u64::MAX
    // nanoseconds, 584 years); the third adds the period and overflows.
    let work = Workdir::simple(3);
    let command = work
        .command("plan r.csv -t t.txt --timezone UTC --rate 2/1000000y")
        .env("RUST_BACKTRACE", "0");
    let run = Run::of(command);
    assert_ne!(run.code, Some(101), "panicked\n{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
}

// ---------------------------------------------------------------- 11. issue 10: windows as written, flag values, exit codes

/// Item 4: `9-5` used to mean 09:00-05:00 the next morning and planned sends
/// all night without a word. It is now refused, suggesting both readings.
#[test]
fn office_hours_written_9_to_5_are_refused_with_both_readings() {
    let work = Workdir::simple(2);
    work.plan("r.csv -t t.txt --window 'mon-fri 9-5' --format json")
        .flag_error()
        .stderr_has("--window: invalid send window `mon-fri 9-5`: `9-5` ends before it starts")
        .stderr_has("write `mon-fri 9-17` (or `mon-fri 9am-5pm`) for 09:00-17:00")
        .stderr_has("or `mon-fri 21:00-05:00` if you meant a night window");
    work.plan("r.csv -t t.txt --window '8-6'")
        .flag_error()
        .stderr_has("write `8-18`");
    // In outreach.toml it is a bad file: exit 1, naming the file and the key.
    work.write("outreach.toml", "windows = [\"mon-fri 9-5\"]\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("`windows` in outreach.toml: invalid send window `mon-fri 9-5`")
        .stderr_has("`mon-fri 9-17`");
}

/// The summary says in whose time zone a window opens: with a `timezone`
/// column, each recipient's own (not the campaign's, as it used to say).
#[test]
fn the_window_line_names_recipient_time_zones_when_the_csv_has_them() {
    let work = Workdir::new();
    work.write(
        "r.csv",
        "recipient,timezone\nr1,Europe/Berlin\nr2,\nr3,America/New_York\n",
    );
    work.write("t.txt", "Subject: Hi\n\nHello\n");
    work.plan("r.csv -t t.txt --window 'mon-fri 9-17' --timezone UTC")
        .success()
        .stdout_has("  window      mon-fri 09:00-17:00 (each recipient's time zone, else UTC)\n");
}

/// Item 4: the forms people write plan as they mean, and the summary says
/// how each window was read.
#[test]
fn am_pm_and_night_windows_plan_as_read_and_the_summary_says_how() {
    let work = Workdir::simple(3);
    let run = work
        .plan("r.csv -t t.txt --rate 1/h --window 'mon-fri 9am-5pm' --start 2026-01-05T15:30:00Z --format json")
        .success()
        .stderr_has("  window      mon-fri 09:00-17:00 (UTC)\n");
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T15:30:00Z",
            "2026-01-05T16:30:00Z",
            "2026-01-06T09:00:00Z",
        ])
    );
    let nine_to_seventeen = work
        .plan("r.csv -t t.txt --rate 1/h --window 'mon-fri 9-17' --start 2026-01-05T15:30:00Z --format json")
        .success();
    assert_eq!(nine_to_seventeen.ats(), run.ats());

    // A genuine night window keeps working, written either way.
    for night in ["daily 22:00-02:00", "daily 22-2", "daily 10pm-2am"] {
        let run = work
            .plan(&format!(
                "r.csv -t t.txt --rate 1/h --window '{night}' --timezone Europe/Berlin --format json"
            ))
            .success()
            .stderr_has("  window      daily 22:00-02:00 (Europe/Berlin), closing the next day\n");
        assert_eq!(
            run.ats(),
            utc(&[
                "2026-01-05T21:00:00Z",
                "2026-01-05T22:00:00Z",
                "2026-01-05T23:00:00Z",
            ]),
            "{night}"
        );
    }

    // The table's summary shows each window on its own line.
    work.plan("r.csv -t t.txt --window 'mon-fri 9am-12pm' --window 'mon-fri 1pm-5pm'")
        .success()
        .stdout_has(
            "  window      mon-fri 09:00-12:00 (UTC)\n  window      mon-fri 13:00-17:00 (UTC)\n",
        );
}

/// Item 5: `send --format json` (and `--limit`, `--all`) without `--dry-run`
/// sent for real and ignored the flag.
#[test]
fn send_output_flags_need_dry_run() {
    let work = Workdir::simple(2);
    for flag in ["--format json", "--format table", "--limit 5", "--all"] {
        let name = flag.split(' ').next().unwrap();
        work.run(&format!(
            "send r.csv -t t.txt --timezone UTC --start {START} {flag}"
        ))
        .flag_error()
        .stderr_has(&format!("{name}: only with --dry-run"));
        assert!(
            !work.path().join("r.outreach.db").exists(),
            "{flag}: nothing may be recorded or sent"
        );
    }
    let run = work
        .run(&format!(
            "send r.csv -t t.txt --timezone UTC --start {START} --dry-run --format json"
        ))
        .success();
    assert_eq!(run.ats(), every(START, TimeDelta::minutes(3), 2));
    work.run(&format!(
        "send r.csv -t t.txt --timezone UTC --start {START} --dry-run --limit 1"
    ))
    .success()
    .stdout_has("... 1 more messages");
}

/// Item 5: every malformed flag value of `send` and `resume` is exit 2 in
/// the `--flag: ...` style, before any journal is opened; bad files stay 1.
#[test]
fn malformed_send_and_resume_flag_values_exit_with_two() {
    let work = Workdir::simple(1);
    work.run("send r.csv -t t.txt --retry-base soon")
        .flag_error()
        .stderr_has("--retry-base: invalid duration `soon`; write a duration such as `2s`");
    work.run("send r.csv -t t.txt --rate fast")
        .flag_error()
        .stderr_has("--rate: invalid rate `fast`");
    // No journal exists here: the flag is checked first.
    for (flag, message) in [
        ("--rate fast", "--rate: invalid rate `fast`"),
        (
            "--window 'mon-fri 9-5'",
            "--window: invalid send window `mon-fri 9-5`",
        ),
        (
            "--daily-cap 0",
            "--daily-cap: the daily cap must be at least 1",
        ),
        ("--timeout forever", "--timeout: invalid duration `forever`"),
    ] {
        work.run(&format!("resume {flag}"))
            .flag_error()
            .stderr_has(message);
    }
    work.run("resume --daily-cap lots")
        .usage_error()
        .stderr_has("not a whole number");
    work.run("plan r.csv -t t.txt --limit many")
        .usage_error()
        .stderr_has("--limit");
    // A bad file is still exit 1.
    work.run("resume").error();
}

/// Item 9: `TZ=Nowhere/Place` silently meant UTC.
#[test]
fn an_unknown_tz_warns_once_and_uses_utc() {
    let work = Workdir::simple(1);
    let warning = "warning: TZ=`Nowhere/Place` is not a known time zone, so UTC is used";
    let command = work
        .command(&format!(
            "plan r.csv -t t.txt --start {START} --format json"
        ))
        .env("TZ", "Nowhere/Place");
    let run = Run::of(command);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stderr.matches(warning).count(), 1, "{run}");
    assert_eq!(run.field("local"), ["2026-01-05T09:00:00+00:00"], "{run}");
    // No warning when the local zone is not needed.
    let command = work
        .command(&format!(
            "plan r.csv -t t.txt --start {START} --timezone Europe/Berlin --format json"
        ))
        .env("TZ", "Nowhere/Place");
    let run = Run::of(command);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.stderr.contains("warning: TZ"), "{run}");
}

/// Item 9: `--start` without an offset was refused even with `--timezone`.
#[test]
fn start_without_an_offset_is_read_in_the_campaign_time_zone() {
    let work = Workdir::simple(1);
    let run = work
        .plan("r.csv -t t.txt --start 2026-01-05T10:00:00 --timezone Europe/Berlin --format json")
        .success();
    assert_eq!(run.ats(), utc(&["2026-01-05T09:00:00Z"]));
    let run = work
        .plan("r.csv -t t.txt --start 2026-07-01T09:30 --timezone America/New_York --format json")
        .success();
    assert_eq!(run.ats(), utc(&["2026-07-01T13:30:00Z"]));
    // The local zone (TZ) when neither the flag nor the config names one.
    let command = work
        .command("plan r.csv -t t.txt --start 2026-01-05T10:00:00 --format json")
        .env("TZ", "Europe/Berlin");
    let run = Run::of(command);
    assert_eq!(run.ats(), utc(&["2026-01-05T09:00:00Z"]), "{run}");
    // The config's zone.
    work.write("outreach.toml", "timezone = \"Asia/Tokyo\"\n");
    let run = work
        .run("plan r.csv -t t.txt --start 2026-01-05T18:00:00 --format json")
        .success();
    assert_eq!(run.ats(), utc(&["2026-01-05T09:00:00Z"]));
}

/// Item 9: a local `--start` in a DST gap or overlap is an error naming the flag.
#[test]
fn start_in_a_dst_gap_or_overlap_names_the_flag() {
    let work = Workdir::simple(1);
    work.plan("r.csv -t t.txt --start 2026-03-29T02:30:00 --timezone Europe/Berlin")
        .flag_error()
        .stderr_has("--start: `2026-03-29T02:30:00` does not exist in Europe/Berlin")
        .stderr_has("`2026-03-29T02:30:00+01:00`");
    work.plan("r.csv -t t.txt --start 2026-10-25T02:30:00 --timezone Europe/Berlin")
        .flag_error()
        .stderr_has("--start: `2026-10-25T02:30:00` happens twice in Europe/Berlin")
        .stderr_has("`2026-10-25T02:30:00+02:00` or `2026-10-25T02:30:00+01:00`");
}

/// Item 9: two `[[accounts]]` with one name were accepted.
#[test]
fn duplicate_account_names_in_the_config_are_a_bad_file() {
    let work = Workdir::simple(1);
    work.write(
        "outreach.toml",
        "[[accounts]]\nname = \"alice\"\n\n[[accounts]]\nname = \"alice\"\nrate = \"5/h\"\n",
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("config outreach.toml is invalid: two `[[accounts]]` are named `alice`");
}

// ------------------------------------------------------------ skip dates (issue 13, item 4)

/// Holidays in the window's zone: no send on them, the plan says so, and a
/// bad entry names the config key.
#[test]
fn skip_dates_close_whole_days_in_the_windows_zone() {
    let work = Workdir::simple(4);
    work.write(
        "outreach.toml",
        "rate = \"1/h\"\nwindows = \"mon-fri 09:00-11:00\"\nskip_dates = [\"2026-01-06\", \"2026-01-07..2026-01-08\"]\n",
    );
    // Mon 5 Jan 09:00 start, 1/h in a two-hour window: two on Monday, then
    // Tue-Thu are holidays, so the next two go on Friday.
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T09:00:00Z",
            "2026-01-05T10:00:00Z",
            "2026-01-09T09:00:00Z",
            "2026-01-09T10:00:00Z",
        ])
    );
    work.plan("r.csv -t t.txt")
        .success()
        .stdout_has("  skip dates  2026-01-06, 2026-01-07..2026-01-08 (UTC): nothing is sent\n");
    work.write("outreach.toml", "skip_dates = \"24.12.2026\"\n");
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("`skip_dates` in ")
        .stderr_has("`24.12.2026` is not a date or a date range; write `2026-12-24`");
}

// ---------------------------------------------------------------- warm-up (issue 13, item 3)

/// The cap grows from `start` by `step` per day with sends; the plan shows
/// the ramp; mistakes name the key.
#[test]
fn a_warm_up_ramps_the_daily_cap() {
    let work = Workdir::simple(6);
    work.write(
        "outreach.toml",
        "rate = \"60/h\"\ndaily_cap = 3\nwarmup = { start = 1, step = 1 }\n",
    );
    let run = work.plan("r.csv -t t.txt --format json").success();
    assert_eq!(
        run.ats(),
        utc(&[
            "2026-01-05T09:00:00Z",
            "2026-01-06T00:00:00Z",
            "2026-01-06T00:01:00Z",
            "2026-01-07T00:00:00Z",
            "2026-01-07T00:01:00Z",
            "2026-01-07T00:02:00Z",
        ])
    );
    work.plan("r.csv -t t.txt")
        .success()
        .stdout_has("warm-up 1/day rising to 3/day over 3 days with sends");
    work.write(
        "outreach.toml",
        "daily_cap = 3\n[[accounts]]\nname = \"alice\"\nwarmup = { start = 5, step = 1 }\n",
    );
    work.plan("r.csv -t t.txt")
        .error()
        .stderr_has("`accounts.alice.warmup` in ")
        .stderr_has("`start` (5/day) is above the daily cap (3/day)");
}
