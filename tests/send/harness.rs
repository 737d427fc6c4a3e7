//! The shared fixture: a temp dir with a campaign, the real `outreach` binary
//! run against an in-process sandbox, and the outcome with its events.
//!
//! Every failure message prints the command, its directory, exit status,
//! stdout, stderr and the events file (xsv's `Workdir` habit), so a red test
//! says what the binary did without rerunning it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, HeaderDialect, SandboxConfig, WindowKind};
use serde_json::Value;
use tempfile::TempDir;

/// The token of the default account in single-account tests.
pub const TOKEN: &str = "tok-default-1b7e";

pub use crate::common::{Outcome, Running, ids, received_recipients, sorted, start};

// ---------------------------------------------------------------- sandbox

/// A quiet sandbox config: `limit` per token, a rolling window, `X-RateLimit-*`.
pub fn sandbox_config(limit: &str, tokens: &[(&str, &str)]) -> SandboxConfig {
    SandboxConfig {
        limit: limit.parse().expect("valid sandbox limit"),
        window: WindowKind::Rolling,
        dialect: HeaderDialect::XRateLimit,
        tokens: tokens
            .iter()
            .map(|(account, token)| (account.to_string(), token.to_string()))
            .collect(),
        quiet: true,
        ..SandboxConfig::default()
    }
}

/// One account, [`TOKEN`], a limit well above any test's `--rate`.
pub fn roomy_config() -> SandboxConfig {
    sandbox_config("100/s", &[("default", TOKEN)])
}

/// Gaps between consecutive accepted messages of `account`, in milliseconds.
pub fn gaps_ms(messages: &[AcceptedMessage], account: &str) -> Vec<i64> {
    let times: Vec<DateTime<Utc>> = messages
        .iter()
        .filter(|m| m.account == account)
        .map(|m| m.received_at)
        .collect();
    times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).num_milliseconds())
        .collect()
}

/// From the first to the last accepted message of `account`.
pub fn span(messages: &[AcceptedMessage], account: &str) -> TimeDelta {
    let times: Vec<DateTime<Utc>> = messages
        .iter()
        .filter(|m| m.account == account)
        .map(|m| m.received_at)
        .collect();
    match (times.first(), times.last()) {
        (Some(first), Some(last)) => *last - *first,
        _ => panic!("no message of account `{account}`"),
    }
}

// ---------------------------------------------------------------- workdir

/// A temp dir holding one campaign.
pub struct Workdir {
    dir: TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("outreach-send-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, contents: &str) {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, contents).expect("write fixture");
    }

    /// `data.csv` from a header and rows (each a CSV line), plus the default
    /// template `message.txt`.
    pub fn csv(&self, header: &str, rows: &[String]) {
        let mut text = format!("{header}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        self.write("data.csv", &text);
        if !self.path().join("message.txt").exists() {
            self.write(
                "message.txt",
                "Subject: Hello {{ first_name }}\n\nHi {{ first_name }}, a short note.\n",
            );
        }
    }

    /// A campaign of `n` recipients for the default account; returns their
    /// ids in file order.
    pub fn recipients(&self, n: usize) -> Vec<String> {
        let ids = ids("r", n);
        let rows: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| format!("{id},Name{i}"))
            .collect();
        self.csv("recipient,first_name", &rows);
        ids
    }

    /// `outreach send data.csv` against `endpoint` with fast retries and an
    /// events file; add `--rate` and a token.
    pub fn send(&self, endpoint: &str) -> SendCommand {
        SendCommand::new(self.path(), &["send", "data.csv"])
            .opt("--template", "message.txt")
            .opt("--endpoint", endpoint)
            .flag("--no-progress")
            .opt("--events", "events.jsonl")
            .opt("--retry-base", "50ms")
            .opt("--retry-cap", "500ms")
            .opt("--retry-attempts", "4")
            .opt("--timeout", "2s")
    }

    /// Every file under the dir, recursively, with its bytes.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, found: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).expect("read dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    let bytes = std::fs::read(&path).expect("read file");
                    found.push((path, bytes));
                }
            }
        }
        let mut found = Vec::new();
        walk(self.path(), &mut found);
        found
    }
}

/// Copy a directory tree.
/// Copy a folder of campaign inputs, leaving out what earlier runs left
/// there (journals, their locks and archives): a user who ran the README's
/// quick start has `samples/recipients.outreach.db`, and a test must not
/// inherit that campaign.
pub fn copy_inputs(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_inputs(&entry.path(), &target);
        } else if !is_run_output(&entry.file_name().to_string_lossy()) {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Files a run writes beside its inputs: `x.outreach.db`, `-wal`, `-shm`,
/// `.lock`, archived `x.<stamp>.outreach.db`, events and reports.
fn is_run_output(name: &str) -> bool {
    name.contains(".outreach.db") || name.ends_with(".jsonl") || name.ends_with(".html")
}

// ---------------------------------------------------------------- command

/// A command line for the real binary, built flag by flag; setting a flag
/// twice replaces it (clap rejects repeated options).
pub struct SendCommand {
    dir: PathBuf,
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
    env: Vec<(String, String)>,
}

impl SendCommand {
    pub fn new(dir: &Path, positional: &[&str]) -> SendCommand {
        SendCommand {
            dir: dir.to_path_buf(),
            positional: positional.iter().map(|s| s.to_string()).collect(),
            options: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Set `name value`, replacing an earlier value.
    pub fn opt(mut self, name: &str, value: &str) -> SendCommand {
        self.options.retain(|(n, _)| n != name);
        self.options
            .push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Add a flag without a value.
    pub fn flag(mut self, name: &str) -> SendCommand {
        self.options.retain(|(n, _)| n != name);
        self.options.push((name.to_string(), None));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> SendCommand {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// `OUTREACH_TOKEN=token`.
    pub fn token(self, token: &str) -> SendCommand {
        self.env("OUTREACH_TOKEN", token)
    }

    fn args(&self) -> Vec<String> {
        let mut args = self.positional.clone();
        for (name, value) in &self.options {
            args.push(name.clone());
            args.extend(value.clone());
        }
        args
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_outreach"));
        command.args(self.args()).current_dir(&self.dir);
        // Nothing from the outer environment may leak in: no tokens, no
        // proxies between the binary and 127.0.0.1.
        for (name, _) in std::env::vars_os() {
            let upper = name.to_string_lossy().to_ascii_uppercase();
            if upper.starts_with("OUTREACH_") || upper.ends_with("_PROXY") {
                command.env_remove(&name);
            }
        }
        command.env("TZ", "UTC").env("NO_COLOR", "1");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    pub fn spawn(self) -> Running {
        let args = self.args();
        let events = Some(self.dir.join("events.jsonl"));
        Running::start(self.command(), &args, self.dir, events)
    }

    /// Spawn with nobody reading stdout or stderr (a pipe whose reader exited).
    pub fn spawn_with_output_closed(self) -> Running {
        let args = self.args();
        let events = Some(self.dir.join("events.jsonl"));
        Running::start_with_output_closed(self.command(), &args, self.dir, events)
    }

    /// Run to the end (off the async workers, so the sandbox keeps serving).
    pub async fn run(self) -> Outcome {
        self.spawn().wait().await
    }
}

// ---------------------------------------------------------------- outcome

/// What only this suite asks of a run.
impl Outcome {
    /// Gaps between consecutive `sending` events of `account`, in
    /// milliseconds: when the client let each request go, which is what the
    /// pacing guarantees (the server's receive times add transit jitter).
    pub fn sending_gaps_ms(&self, account: &str) -> Vec<i64> {
        let times: Vec<DateTime<Utc>> = self
            .events("sending")
            .into_iter()
            .filter(|e| e["account"] == account)
            .map(|e| e["ts"].as_str().unwrap().parse().unwrap())
            .collect();
        times
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).num_milliseconds())
            .collect()
    }

    /// The index in the events file of the first event matching `pred`.
    pub fn position(&self, pred: impl Fn(&Value) -> bool) -> Option<usize> {
        self.events.iter().position(pred)
    }

    /// The `finished` event.
    #[track_caller]
    pub fn finished(&self) -> &Value {
        let finished = self.events("finished");
        assert_eq!(finished.len(), 1, "one `finished` event\n{self}");
        finished[0]
    }
}

/// A timestamp field of an event.
#[track_caller]
pub fn time(event: &Value, field: &str) -> DateTime<Utc> {
    event[field]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {event}"))
        .parse()
        .unwrap_or_else(|e| panic!("`{field}` of {event} is not RFC 3339: {e}"))
}
