//! The one command builder for the real binary. The environment is
//! scrubbed here and only here: no `OUTREACH_*` (tokens) and no `*_PROXY`
//! leak in from the outer shell, and every run sees `TZ=UTC` and
//! `NO_COLOR=1` unless a test sets its own with [`Cmd::env`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Outcome, Running};

/// A command line for the real binary, built flag by flag; setting a flag
/// twice replaces it (clap rejects repeated options).
pub struct Cmd {
    dir: PathBuf,
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
    env: Vec<(String, String)>,
    /// A program that execs the binary, with its arguments (`nice -n 10`).
    through: Vec<String>,
}

impl Cmd {
    pub fn new(dir: &Path, positional: &[&str]) -> Cmd {
        Cmd {
            dir: dir.to_path_buf(),
            positional: positional.iter().map(|s| s.to_string()).collect(),
            options: Vec::new(),
            env: Vec::new(),
            through: Vec::new(),
        }
    }

    /// Add arguments as given, after the earlier ones.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Cmd {
        self.positional.extend(args.into_iter().map(Into::into));
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

    /// Set an environment variable, over the scrubbed defaults.
    pub fn env(mut self, name: &str, value: &str) -> Cmd {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// `OUTREACH_TOKEN=token`.
    pub fn token(self, token: &str) -> Cmd {
        self.env("OUTREACH_TOKEN", token)
    }

    /// Run the binary through `program` (which must exec it, keeping the
    /// pid): `program args... outreach <args>`.
    pub fn through(mut self, program: &[&str]) -> Cmd {
        self.through = program.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Run under `nice -n 10` (nice execs the binary: same pid), so that
    /// on a busy machine an in-process sandbox gets the CPU first and
    /// stamps arrivals when they arrive.
    pub fn nice(self) -> Cmd {
        self.through(&["nice", "-n", "10"])
    }

    /// The delivery flags `send` and `resume` share, with fast retries and
    /// an events file; add `--rate` and a token.
    pub fn delivery(self, endpoint: &str, events: &str) -> Cmd {
        self.opt("--endpoint", endpoint)
            .flag("--no-progress")
            .opt("--events", events)
            .opt("--retry-base", "50ms")
            .opt("--retry-cap", "500ms")
            .opt("--retry-attempts", "4")
            .opt("--timeout", "2s")
    }

    fn all_args(&self) -> Vec<String> {
        let mut args = self.positional.clone();
        for (name, value) in &self.options {
            args.push(name.clone());
            args.extend(value.clone());
        }
        args
    }

    /// The `--events` file, if the command writes one.
    fn events(&self) -> Option<PathBuf> {
        self.options
            .iter()
            .find(|(name, _)| name == "--events")
            .and_then(|(_, value)| value.as_ref())
            .map(|name| self.dir.join(name))
    }

    fn command(&self) -> Command {
        let binary = env!("CARGO_BIN_EXE_outreach");
        let mut command = match self.through.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command.args(self.all_args()).current_dir(&self.dir);
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
        let (args, events) = (self.all_args(), self.events());
        Running::start(self.command(), &args, self.dir, events)
    }

    /// Spawn with nobody reading stdout or stderr (a pipe whose reader
    /// exited).
    pub fn spawn_with_output_closed(self) -> Running {
        let (args, events) = (self.all_args(), self.events());
        Running::start_with_output_closed(self.command(), &args, self.dir, events)
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
