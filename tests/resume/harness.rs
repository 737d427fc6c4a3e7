//! What only the `resume` suite adds to the shared harness (`tests/common`:
//! the work dir, the command builder, a run and its outcome, the sandbox).
//!
//! One campaign here is several runs, so every run writes its own events
//! file; runs can be waited for from plain threads (the kill -9 test drives
//! ten campaigns at once); and `status --json` / `report --format json` are
//! parsed for assertions.
//! Every failure message prints the command, its directory, exit status,
//! stdout, stderr and the run's events.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, HeaderDialect, SandboxConfig, WindowKind};
use serde_json::Value;

/// The token of the default account.
pub const TOKEN: &str = "tok-resume-4c1d";

/// The journal of `data.csv`, relative to the work dir.
pub const STATE: &str = "data.outreach.db";

pub use crate::common::{Cmd, Outcome, Rng, Workdir, received_recipients, rows, sorted, start};

/// The kill -9 test takes this for writing, every other test for reading:
/// it runs alone, so the arrival times it checks measure the sender, not
/// the CPU its neighbours use.
pub static GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

// ---------------------------------------------------------------- random moments

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

/// What only this suite asks of a work dir holding one campaign
/// (`data.csv`, `message.txt`) and its journal (`data.outreach.db`).
impl Workdir {
    pub fn state(&self) -> PathBuf {
        self.path().join(STATE)
    }

    /// A fresh events file name for the next run.
    fn events_file(&self) -> String {
        format!("events-{}.jsonl", self.next_run())
    }

    /// `outreach send data.csv` against `endpoint`, fast retries, its own
    /// events file and the token; add `--rate`.
    pub fn send(&self, endpoint: &str) -> Cmd {
        self.cmd(&["send", "data.csv"])
            .opt("--template", "message.txt")
            .delivery(endpoint, &self.events_file())
            .token(TOKEN)
    }

    /// `outreach resume --state data.outreach.db` with the token and its
    /// own events file; the endpoint is the saved one unless `.opt`-ed.
    pub fn resume(&self) -> Cmd {
        self.cmd(&["resume"])
            .opt("--state", STATE)
            .flag("--no-progress")
            .opt("--events", &self.events_file())
            .token(TOKEN)
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
