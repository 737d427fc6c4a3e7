//! The shared fixture: a temp dir with a campaign and its journal, the real
//! `outreach` binary (`send`, `resume`, `status`, `report`) run against an
//! in-process sandbox, and what each run did.
//!
//! The outcome of a run and the sandbox come from tests/common, shared with
//! tests/send/harness.rs. The differences from that harness: one campaign here is
//! several runs, so every run writes its own events file; runs can be waited
//! for from plain threads (the kill -9 test drives ten campaigns at once);
//! and `status --json` / `report --format json` are parsed for assertions.
//! Every failure message prints the command, its directory, exit status,
//! stdout, stderr and the run's events.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, HeaderDialect, SandboxConfig, WindowKind};
use serde_json::Value;
use tempfile::TempDir;

/// The token of the default account.
pub const TOKEN: &str = "tok-resume-4c1d";

/// The journal of `data.csv`, relative to the work dir.
pub const STATE: &str = "data.outreach.db";

pub use crate::common::{Outcome, Running, ids, received_recipients, sorted, start};

/// The kill -9 test takes this for writing, every other test for reading:
/// it runs alone, so the arrival times it checks measure the sender, not
/// the CPU its neighbours use.
pub static GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

// ---------------------------------------------------------------- sandbox

/// One account, [`TOKEN`], a rolling limit well above any test's `--rate`.
pub fn roomy_config() -> SandboxConfig {
    SandboxConfig {
        limit: "1000/s".parse().expect("valid sandbox limit"),
        window: WindowKind::Rolling,
        dialect: HeaderDialect::XRateLimit,
        tokens: vec![("default".to_string(), TOKEN.to_string())],
        quiet: true,
        ..SandboxConfig::default()
    }
}

/// The first breach of "at most `count` in any window of `period`" among
/// `account`'s arrivals (see [`breach`]).
pub fn window_breach(
    messages: &[AcceptedMessage],
    account: &str,
    count: usize,
    period: TimeDelta,
    tolerance: TimeDelta,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let times: Vec<DateTime<Utc>> = messages
        .iter()
        .filter(|m| m.account == account)
        .map(|m| m.received_at)
        .collect();
    breach(&times, count, period, tolerance)
}

/// The first pair of times `count` apart (in sorted order) that are closer
/// than `period - tolerance`: more than `count` inside one window.
pub fn breach(
    times: &[DateTime<Utc>],
    count: usize,
    period: TimeDelta,
    tolerance: TimeDelta,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let mut times = times.to_vec();
    times.sort();
    times
        .windows(count + 1)
        .map(|w| (w[0], w[count]))
        .find(|(first, last)| *last - *first < period - tolerance)
}

// ---------------------------------------------------------------- workdir

/// A temp dir holding one campaign (`data.csv`, `message.txt`) and its
/// journal (`data.outreach.db`).
pub struct Workdir {
    dir: TempDir,
    runs: AtomicUsize,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("outreach-resume-")
                .tempdir()
                .expect("temp dir"),
            runs: AtomicUsize::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.path().join(STATE)
    }

    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path().join(name), contents).expect("write fixture");
    }

    pub fn write_bytes(&self, name: &str, contents: &[u8]) {
        std::fs::write(self.path().join(name), contents).expect("write fixture");
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path().join(name)).expect("read file")
    }

    /// `data.csv` from a header and rows, plus the default template
    /// `message.txt` unless one was written already.
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

    /// `n` recipients for the default account; their ids in file order.
    pub fn recipients(&self, n: usize) -> Vec<String> {
        let ids = ids("r", n);
        self.csv("recipient,first_name", &rows(&ids));
        ids
    }

    /// A fresh events file name for the next run.
    fn events_file(&self) -> String {
        format!("events-{}.jsonl", self.runs.fetch_add(1, Ordering::Relaxed))
    }

    /// `outreach send data.csv` against `endpoint`, fast retries, its own
    /// events file and the token; add `--rate`.
    pub fn send(&self, endpoint: &str) -> Cmd {
        Cmd::new(self.path(), &["send", "data.csv"])
            .opt("--template", "message.txt")
            .delivery(endpoint, &self.events_file())
    }

    /// `outreach resume --state data.outreach.db` with the token and its
    /// own events file; the endpoint is the saved one unless `.opt`-ed.
    pub fn resume(&self) -> Cmd {
        Cmd::new(self.path(), &["resume"])
            .opt("--state", STATE)
            .flag("--no-progress")
            .opt("--events", &self.events_file())
            .token(TOKEN)
    }

    /// `outreach <args>` in this dir, nothing added.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        Cmd::new(self.path(), args)
    }

    /// `outreach status --json` of the journal, parsed; panics unless exit 0.
    pub fn status(&self) -> Value {
        self.status_of(STATE)
    }

    pub fn status_of(&self, state: &str) -> Value {
        let out = self
            .cmd(&["status", "--json", "--state", state])
            .run_blocking();
        out.expect_code(0);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON: {e}\n{out}"))
    }

    /// `outreach report --format json`, one object per recipient.
    pub fn report(&self) -> Vec<Value> {
        let out = self
            .cmd(&["report", "--format", "json", "--state", STATE])
            .run_blocking();
        out.expect_code(0);
        out.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("report line {line:?} is not JSON: {e}\n{out}"))
            })
            .collect()
    }

    /// The report row of `recipient`.
    #[track_caller]
    pub fn row(&self, recipient: &str) -> Value {
        let report = self.report();
        report
            .into_iter()
            .find(|row| row["recipient"] == recipient)
            .unwrap_or_else(|| panic!("no report row for {recipient}"))
    }

    /// File names in the dir, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("read dir")
            .map(|entry| {
                entry
                    .expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

/// `id,Name<i>` rows for `recipient,first_name`.
pub fn rows(ids: &[String]) -> Vec<String> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| format!("{id},Name{i}"))
        .collect()
}

/// The value of `key` in every `status --json` count field.
#[track_caller]
pub fn counts(status: &Value) -> [u64; 7] {
    let get = |key: &str| {
        status[key]
            .as_u64()
            .unwrap_or_else(|| panic!("status --json lacks `{key}`: {status}"))
    };
    [
        get("total"),
        get("pending"),
        get("in_flight"),
        get("sent"),
        get("failed"),
        get("uncertain"),
        get("skipped"),
    ]
}

/// The Idempotency-Key of every message in a journal, by recipient, read
/// through the library (the report does not show keys).
pub fn journal_keys(state: &Path) -> Vec<(String, String)> {
    use outreach::journal::{CampaignStore, MessageState, SqliteStore};
    let store = SqliteStore::open_read_only(state).expect("open journal");
    let all = [
        MessageState::Pending,
        MessageState::InFlight,
        MessageState::Sent,
        MessageState::Failed,
        MessageState::Uncertain,
        MessageState::Skipped,
    ];
    let mut keys: Vec<(String, String)> = store
        .messages_in_state(&all)
        .expect("read messages")
        .into_iter()
        .map(|m| (m.message.recipient, m.message.idempotency_key))
        .collect();
    keys.sort();
    keys
}

// ---------------------------------------------------------------- command

/// A command line for the real binary, built flag by flag; setting a flag
/// twice replaces it.
pub struct Cmd {
    dir: PathBuf,
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
    env: Vec<(String, String)>,
    nice: bool,
}

impl Cmd {
    pub fn new(dir: &Path, positional: &[&str]) -> Cmd {
        Cmd {
            dir: dir.to_path_buf(),
            positional: positional.iter().map(|s| s.to_string()).collect(),
            options: Vec::new(),
            env: Vec::new(),
            nice: false,
        }
    }

    /// Run under `nice -n 10` (nice execs the binary: same pid), so that
    /// on a busy machine the in-process sandbox gets the CPU first and
    /// stamps arrivals when they arrive.
    pub fn nice(mut self) -> Cmd {
        self.nice = true;
        self
    }

    /// Set `name value`, replacing an earlier value.
    pub fn opt(mut self, name: &str, value: &str) -> Cmd {
        self.options.retain(|(n, _)| n != name);
        self.options
            .push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Add a flag without a value.
    pub fn flag(mut self, name: &str) -> Cmd {
        self.options.retain(|(n, _)| n != name);
        self.options.push((name.to_string(), None));
        self
    }

    /// `OUTREACH_TOKEN=token`.
    pub fn token(mut self, token: &str) -> Cmd {
        self.env
            .push(("OUTREACH_TOKEN".to_string(), token.to_string()));
        self
    }

    /// The delivery flags `send` and `resume` share, with fast retries.
    pub fn delivery(self, endpoint: &str, events: &str) -> Cmd {
        self.opt("--endpoint", endpoint)
            .flag("--no-progress")
            .opt("--events", events)
            .opt("--retry-base", "50ms")
            .opt("--retry-cap", "500ms")
            .opt("--retry-attempts", "4")
            .opt("--timeout", "2s")
            .token(TOKEN)
    }

    fn args(&self) -> Vec<String> {
        let mut args = self.positional.clone();
        for (name, value) in &self.options {
            args.push(name.clone());
            args.extend(value.clone());
        }
        args
    }

    fn events(&self) -> Option<PathBuf> {
        self.options
            .iter()
            .find(|(name, _)| name == "--events")
            .and_then(|(_, value)| value.as_ref())
            .map(|name| self.dir.join(name))
    }

    fn command(&self) -> Command {
        let mut command = if self.nice {
            let mut nice = Command::new("nice");
            nice.args(["-n", "10", env!("CARGO_BIN_EXE_outreach")]);
            nice
        } else {
            Command::new(env!("CARGO_BIN_EXE_outreach"))
        };
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
        let events = self.events();
        Running::start(self.command(), &args, self.dir, events)
    }

    /// Run to the end, blocking this thread.
    pub fn run_blocking(self) -> Outcome {
        self.spawn().wait_blocking()
    }

    /// Run to the end off the async workers, so a sandbox keeps serving.
    pub async fn run(self) -> Outcome {
        self.spawn().wait().await
    }
}
