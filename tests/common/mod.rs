//! The one harness every suite of the real binary shares (`plan`, `send`,
//! `resume`): the temp dir a test works in ([`Workdir`]), the command
//! builder that scrubs the environment ([`Cmd`]), a running binary, the
//! outcome of one run and how it prints on failure, the sandbox the
//! delivery suites start, and a few list helpers. Each suite's `harness`
//! adds only its own conveniences on top, in `impl` blocks of its own.

// Each suite uses its own subset.
#![allow(dead_code)]

mod command;
pub mod postgres;
pub mod tcp_proxy;
mod workdir;

#[allow(unused_imports)]
pub use command::Cmd;
pub use workdir::Workdir;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// `id,Name<i>` rows for `recipient,first_name`.
pub fn rows(ids: &[String]) -> Vec<String> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| format!("{id},Name{i}"))
        .collect()
}

/// xorshift64*: reproducible kill moments without depending on an RNG's
/// stream staying the same across versions (the kill -9 suites).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
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

/// A running binary: its output drained on threads, its events file read
/// as it grows.
pub struct Running {
    child: Child,
    started: Instant,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    description: String,
    events: Option<PathBuf>,
    dir: PathBuf,
}

impl Running {
    /// Start `command` (stdout and stderr piped), which runs `args` in `dir`
    /// and writes its events to `events`, if any.
    pub fn start(
        command: Command,
        args: &[String],
        dir: PathBuf,
        events: Option<PathBuf>,
    ) -> Running {
        Running::spawn(command, args, dir, events, true)
    }

    /// Start `command` with the reading ends of stdout and stderr closed at
    /// once, like `outreach send x.csv 2>&1 | head -3` after `head` exits.
    pub fn start_with_output_closed(
        command: Command,
        args: &[String],
        dir: PathBuf,
        events: Option<PathBuf>,
    ) -> Running {
        Running::spawn(command, args, dir, events, false)
    }

    fn spawn(
        mut command: Command,
        args: &[String],
        dir: PathBuf,
        events: Option<PathBuf>,
        read_output: bool,
    ) -> Running {
        let mut child = command.spawn().expect("spawn outreach");
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let (stdout, stderr, shown) = if read_output {
            let stdout = drain(stdout.expect("stdout"));
            (stdout, drain(stderr.expect("stderr")), shell_words(args))
        } else {
            drop((stdout, stderr));
            let nothing = || std::thread::spawn(Vec::new);
            (
                nothing(),
                nothing(),
                format!("{} 2>&1 | (closed)", shell_words(args)),
            )
        };
        Running {
            child,
            started: Instant::now(),
            stdout,
            stderr,
            description: format!("outreach {shown}"),
            events,
            dir,
        }
    }

    /// Send a signal with kill(1) (no libc dependency for one call).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    /// SIGKILL (`Child::kill` on Unix) unless it has exited already; true
    /// if the process was still running, i.e. the kill interrupted it.
    pub fn kill9(&mut self) -> bool {
        if self.child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        self.child.kill().expect("kill -9");
        true
    }

    /// Whether the process is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Poll every `step` until `ready()`; false if the process exits (or
    /// the deadline passes) first.
    pub fn wait_until(&mut self, step: Duration, ready: impl Fn(&Running) -> bool) -> bool {
        loop {
            if ready(self) {
                return true;
            }
            if self.child.try_wait().expect("try_wait").is_some()
                || self.started.elapsed() > DEADLINE
            {
                return false;
            }
            std::thread::sleep(step);
        }
    }

    /// Whether the run has emitted an event of `kind` yet.
    pub fn has_event(&self, kind: &str) -> bool {
        self.events_so_far().iter().any(|e| e["event"] == kind)
    }

    /// The run's events so far (a line may be half-written meanwhile).
    pub fn events_so_far(&self) -> Vec<Value> {
        self.events.as_deref().map(read_events).unwrap_or_default()
    }

    /// Wait until the run has `count` events of `kind`; false after `limit`.
    pub async fn wait_for_events(&self, kind: &str, count: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let seen = self
                .events_so_far()
                .iter()
                .filter(|e| e["event"] == kind)
                .count();
            if seen >= count {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Wait until the run has an event of `kind`; false after `limit`.
    pub async fn wait_for_event(&self, kind: &str, limit: Duration) -> bool {
        self.wait_for_events(kind, 1, limit).await
    }

    /// Run to the end off the async workers, so a sandbox keeps serving.
    pub async fn wait(self) -> Outcome {
        tokio::task::spawn_blocking(move || self.wait_blocking())
            .await
            .expect("wait task")
    }

    /// Run to the end, blocking this thread; killed after [`DEADLINE`].
    pub fn wait_blocking(mut self) -> Outcome {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if self.started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = self.started.elapsed();
        let events = self.events_so_far();
        let text = |handle: JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&handle.join().expect("pipe reader")).into_owned()
        };
        Outcome {
            description: self.description,
            events,
            dir: self.dir,
            code: status.and_then(|s| s.code()),
            timed_out: status.is_none(),
            stdout: text(self.stdout),
            stderr: text(self.stderr),
            elapsed,
        }
    }
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|arg| {
            if arg.contains(' ') {
                format!("'{arg}'")
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
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
