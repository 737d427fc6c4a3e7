//! `outreach status [--watch]`: where a campaign stands, read from its
//! journal without disturbing a sender that may be writing it.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::status_view::write_status;
use crate::exit_codes;
use crate::journal::{AnyStore, DbUrl, PgStore};
use crate::state::location::{self, Location};

// Moved to `status_view.rs`; this path keeps working.
pub use super::status_view::Sender;

/// `outreach status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// A PostgreSQL database works too (postgres://USER@HOST/DB, or OUTREACH_DATABASE_URL):
    /// without --campaign, status lists its campaigns.
    ///
    /// Example: outreach status --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The campaign's name in a PostgreSQL database.
    ///
    /// Example: outreach status --state postgres://outreach@db.example/outreach --campaign q4
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
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

/// The campaign's journal, read-only: a file, or a campaign in a database.
pub(super) fn open(
    state: &Option<PathBuf>,
    campaign: &Option<String>,
) -> anyhow::Result<(Location, AnyStore)> {
    let location = location::for_existing(state.as_deref(), campaign.as_deref())?;
    let store = location::open_read_only(&location)?;
    Ok((location, store))
}

pub fn run_status(args: StatusArgs) -> anyhow::Result<i32> {
    if let Err(url) = location::for_status(args.state.as_deref(), args.campaign.as_deref())? {
        return list_campaigns(&url, args.json);
    }
    if args.watch {
        return watch(&args);
    }
    let (location, store) = open(&args.state, &args.campaign)?;
    let sender = location::sender(&location, &store);
    let mut text = Vec::new();
    write_status(&mut text, &location, &store, args.json, sender)?;
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
        let (location, store) = open(&args.state, &args.campaign)?;
        // Asked before reading: a sender that ends meanwhile is seen as
        // running once more, never one that runs as stopped.
        let sender = location::sender(&location, &store);
        let mut screen = Vec::new();
        if terminal {
            screen.extend_from_slice(b"\x1b[2J\x1b[H");
        }
        let counts = write_status(&mut screen, &location, &store, false, sender)?;
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

/// `status` on a database without `--campaign`: one line per campaign.
fn list_campaigns(url: &DbUrl, as_json: bool) -> anyhow::Result<i32> {
    let campaigns = PgStore::campaigns(url)?;
    let mut text = String::new();
    if as_json {
        let list: Vec<serde_json::Value> = campaigns
            .iter()
            .map(|c| {
                serde_json::json!({
                    "campaign": c.name,
                    "created_at": c.created_at,
                    "csv": c.csv_path,
                    "total": c.counts.total,
                    "pending": c.counts.pending,
                    "in_flight": c.counts.in_flight,
                    "sent": c.counts.sent,
                    "failed": c.counts.failed,
                    "uncertain": c.counts.uncertain,
                    "skipped": c.counts.skipped,
                })
            })
            .collect();
        text = serde_json::to_string_pretty(&list)?;
        text.push('\n');
    } else if campaigns.is_empty() {
        text.push_str(&format!(
            "No campaigns in {url} yet; start one with `outreach send CSV --state {url}`.\n"
        ));
    } else {
        text.push_str(&format!("Campaigns in {url}:\n"));
        for c in &campaigns {
            text.push_str(&format!(
                "  {:<24} {} total: {} sent, {} pending, {} failed, {} uncertain, {} skipped ({})\n",
                c.name,
                c.counts.total,
                c.counts.sent,
                c.counts.pending + c.counts.in_flight,
                c.counts.failed,
                c.counts.uncertain,
                c.counts.skipped,
                c.csv_path
            ));
        }
        text.push_str("Show one with --campaign NAME.\n");
    }
    crate::console::write_stdout(text.as_bytes())?;
    Ok(exit_codes::SUCCESS)
}
