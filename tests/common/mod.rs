//! What the `send` and `resume` test suites share: the sandbox they start,
//! the outcome of one run of the binary and how it prints on failure, and a
//! few list helpers. Each suite's `harness` module adds its own commands
//! (one-run campaigns in `send`, multi-run journals in `resume`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use outreach::sandbox::{AcceptedMessage, Sandbox, SandboxConfig};
use serde_json::Value;

/// No run may take longer than this; a hung binary is killed and reported.
pub const DEADLINE: Duration = Duration::from_secs(40);

pub async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, 0).await.expect("sandbox starts")
}

/// Recipients of the accepted messages, sorted; equal to the expected list
/// sorted means every recipient exactly once.
pub fn received_recipients(messages: &[AcceptedMessage]) -> Vec<String> {
    let mut recipients: Vec<String> = messages
        .iter()
        .flat_map(|m| m.recipients.iter().cloned())
        .collect();
    recipients.sort();
    recipients
}

pub fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// `prefix01@example.test` and so on.
pub fn ids(prefix: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{prefix}{i:02}@example.test"))
        .collect()
}

/// The events of an `--events` file; none if it does not exist. A line may
/// be half-written while the binary runs: it is skipped.
pub fn read_events(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// What one run did.
pub struct Outcome {
    pub description: String,
    pub dir: PathBuf,
    /// None when killed by a signal or by the deadline.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// The run's `--events` file, one JSON object per line.
    pub events: Vec<Value>,
    pub elapsed: Duration,
}

#[allow(dead_code)] // each suite uses its own subset
impl Outcome {
    /// Panics, printing the whole outcome, unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Outcome {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stderr(&self, part: &str) -> &Outcome {
        assert!(self.stderr.contains(part), "stderr lacks {part:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stderr_lacks(&self, part: &str) -> &Outcome {
        assert!(!self.stderr.contains(part), "stderr has {part:?}\n{self}");
        self
    }

    /// Every event of `kind`, in file order.
    pub fn events(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == kind).collect()
    }

    /// The recipients of this run's events of `kind`, sorted.
    pub fn recipients(&self, kind: &str) -> Vec<String> {
        let mut recipients: Vec<String> = self
            .events(kind)
            .iter()
            .map(|e| e["recipient"].as_str().expect("recipient").to_string())
            .collect();
        recipients.sort();
        recipients
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.description)?;
        writeln!(f, "dir:     {}", self.dir.display())?;
        let status = match (self.code, self.timed_out) {
            (_, true) => format!("killed after {DEADLINE:?}"),
            (Some(code), _) => format!("exit {code}"),
            (None, _) => "killed by a signal".to_string(),
        };
        writeln!(f, "status:  {status} after {:?}", self.elapsed)?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        writeln!(f, "--- stderr\n{}", self.stderr)?;
        writeln!(f, "--- events ({})", self.events.len())?;
        for event in &self.events {
            if event["event"] != "planned" && event["event"] != "waiting" {
                writeln!(f, "{event}")?;
            }
        }
        Ok(())
    }
}
