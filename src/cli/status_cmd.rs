//! `outreach status [--watch]`: where a campaign stands, read from its
//! journal without disturbing a sender that may be writing it.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::status_view::write_status;
use crate::exit_codes;
use crate::journal::SqliteStore;
use crate::state::paths::find_state;

// Moved to `status_view.rs`; this path keeps working.
pub use super::status_view::Sender;

/// `outreach status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// Example: outreach status --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Print JSON (total, pending, in_flight, sent, failed, uncertain, skipped, accounts, eta).
    ///
    /// Example: outreach status --json | jq '.sent, .pending'
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
    /// Refresh every few seconds while another process sends, until it ends or Ctrl-C.
    ///
    /// Refreshes every --interval while another `outreach send` or `resume` works on the
    /// campaign; stops when nothing is left to send, when no sender holds the journal any more,
    /// or on Ctrl-C. Reading never blocks the sender.
    ///
    /// Example: outreach status --watch --state recipients.outreach.db
    #[arg(long)]
    pub watch: bool,
    /// How often --watch refreshes.
    ///
    /// Example: outreach status --watch --interval 10s
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2s",
        requires = "watch"
    )]
    pub interval: String,
}

pub(super) fn open(state: &Option<PathBuf>) -> anyhow::Result<(PathBuf, SqliteStore)> {
    let path = match state {
        Some(path) => path.clone(),
        None => find_state(&std::env::current_dir()?)?,
    };
    let store = SqliteStore::open_read_only(&path)
        .map_err(|error| crate::state::paths::explain_open_error(error, &path))?;
    Ok((path, store))
}

pub fn run_status(args: StatusArgs) -> anyhow::Result<i32> {
    if args.watch {
        return watch(&args);
    }
    let (path, store) = open(&args.state)?;
    let sender = Sender::of(&path);
    let mut text = Vec::new();
    write_status(&mut text, &path, &store, args.json, sender)?;
    crate::console::write_stdout(&text)?;
    Ok(exit_codes::SUCCESS)
}

fn watch(args: &StatusArgs) -> anyhow::Result<i32> {
    let every = humantime::parse_duration(&args.interval)
        .with_context(|| {
            format!(
                "--interval: invalid duration `{}`; examples: `2s`, `500ms`",
                args.interval
            )
        })?
        .max(std::time::Duration::from_millis(200));
    let terminal = io::IsTerminal::is_terminal(&io::stdout());
    loop {
        let (path, store) = open(&args.state)?;
        // Asked before reading: a sender that ends meanwhile is seen as
        // running once more, never one that runs as stopped.
        let sender = Sender::of(&path);
        let mut screen = Vec::new();
        if terminal {
            screen.extend_from_slice(b"\x1b[2J\x1b[H");
        }
        let counts = write_status(&mut screen, &path, &store, false, sender)?;
        drop(store);
        let done = counts.pending + counts.in_flight == 0;
        let ended = done || !sender.running();
        if ended {
            let why = if done {
                "nothing left to send"
            } else {
                "no sender is working on this campaign"
            };
            writeln!(screen, "\n(watch ended: {why})")?;
        } else {
            writeln!(
                screen,
                "\n(refreshing every {}; Ctrl-C to stop watching — the sender goes on)",
                humantime::format_duration(every)
            )?;
        }
        let mut out = io::stdout().lock();
        match out.write_all(&screen).and_then(|()| out.flush()) {
            // Nobody reads any more (`| head`): watching is over.
            Err(error) if crate::console::is_closed_pipe(&error) => {
                return Ok(exit_codes::SUCCESS);
            }
            other => other?,
        }
        if ended {
            return Ok(exit_codes::SUCCESS);
        }
        std::thread::sleep(every);
    }
}
