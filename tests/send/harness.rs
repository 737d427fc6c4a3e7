//! What only the `send` suite adds to the shared harness (`tests/common`):
//! sandbox configs, `outreach send data.csv` with fast retries, copying the
//! samples, and reading a run's `sending` events.
//!
//! Every failure message prints the command, its directory, exit status,
//! stdout, stderr and the events file (xsv's `Workdir` habit), so a red test
//! says what the binary did without rerunning it.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, HeaderDialect, SandboxConfig, WindowKind};
use serde_json::Value;

/// The token of the default account in single-account tests.
pub const TOKEN: &str = "tok-default-1b7e";

pub use crate::common::{Cmd, Outcome, Workdir, ids, received_recipients, sorted, start};

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

/// What only this suite asks of a work dir.
impl Workdir {
    /// `outreach send data.csv` against `endpoint` with fast retries and an
    /// events file; add `--rate` and a token.
    pub fn send(&self, endpoint: &str) -> Cmd {
        self.cmd(&["send", "data.csv"])
            .opt("--template", "message.txt")
            .delivery(endpoint, "events.jsonl")
    }
}

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
