//! `outreach status [--watch[=INTERVAL]]`: where a campaign stands, read
//! from its journal without disturbing a sender that may be writing it;
//! for a campaign in PostgreSQL, also which worker holds which account
//! (`lease_view`). `--watch` redraws it until Ctrl-C or nothing is left.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;

use super::status_view::write_status;
use super::watch_signal::Interrupt;
use crate::exit_codes;
use crate::journal::{AnyStore, DbUrl, PgStore};
use crate::options::{OptionsError, system_timezone};
use crate::output::text::local_time;
use crate::state::location::{self, Location};
use crate::state::standing::shown_counts;

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
    /// A campaign in PostgreSQL adds `leases` (per account: held, free or expired, holder,
    /// fence, next_due), `workers` (the live ones) and `db_now`.
    ///
    /// Example: outreach status --json | jq '.sent, .pending'
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
    /// Redraw the status every INTERVAL [default: 1s] until Ctrl-C or nothing is left to send.
    ///
    /// On a terminal the view is redrawn in place; otherwise each view is printed as a block
    /// after a timestamp line, and watching stops quietly when the reader goes (`| head`).
    /// Ends by itself (exit 0, after the final view) once the campaign has nothing pending
    /// and nothing in flight; Ctrl-C ends it with exit 0 too. Reading never blocks a sender.
    ///
    /// Example: outreach status --watch=5s --state recipients.outreach.db
    #[arg(
        long,
        value_name = "INTERVAL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1s"
    )]
    pub watch: Option<String>,
    /// How often --watch redraws (the older spelling of --watch=INTERVAL; kept so scripts
    /// written for it still work).
    ///
    /// Example: outreach status --watch --interval 10s
    #[arg(
        long,
        value_name = "DURATION",
        requires = "watch",
        hide_short_help = true
    )]
    pub interval: Option<String>,
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
    // A bad interval is a usage error, found before anything is read.
    let every = args
        .watch
        .as_deref()
        .map(|given| watch_interval(args.interval.as_deref().unwrap_or(given)))
        .transpose()?;
    if let Err(url) = location::for_status(args.state.as_deref(), args.campaign.as_deref())? {
        return list_campaigns(&url, args.json);
    }
    if let Some(every) = every {
        return watch(&args, every);
    }
    let view = read_view(&args, args.json)?;
    crate::console::write_stdout(&view.text)?;
    Ok(exit_codes::SUCCESS)
}

/// One status view of the campaign, and whether it has nothing left to do.
struct View {
    text: Vec<u8>,
    done: bool,
}

fn read_view(args: &StatusArgs, as_json: bool) -> anyhow::Result<View> {
    let (location, store) = open(&args.state, &args.campaign)?;
    let holders = match &store {
        AnyStore::Postgres(pg) => Some(pg.holders()?),
        AnyStore::Sqlite(_) => None,
    };
    // Asked before reading the counts: a sender that ends meanwhile is
    // seen as running once more, never one that runs as stopped.
    let sender = location::sender(&location, &store);
    let mut text = Vec::new();
    let counts = write_status(
        &mut text,
        &location,
        &store,
        as_json,
        sender,
        holders.as_ref(),
    )?;
    let shown = shown_counts(counts, sender);
    Ok(View {
        text,
        done: shown.pending + shown.in_flight == 0,
    })
}

/// `--watch=INTERVAL`, at least 200 ms so a typo cannot spin.
fn watch_interval(text: &str) -> Result<Duration, OptionsError> {
    humantime::parse_duration(text)
        .map(|every| every.max(Duration::from_millis(200)))
        .map_err(|_| OptionsError::Duration {
            flag: "--watch",
            input: text.to_string(),
        })
}

fn watch(args: &StatusArgs, every: Duration) -> anyhow::Result<i32> {
    let terminal = io::IsTerminal::is_terminal(&io::stdout());
    let mut interrupt = Interrupt::listen()?;
    loop {
        let view = read_view(args, false)?;
        let screen = frame(
            view.text,
            terminal,
            view.done,
            every,
            &local_time(Utc::now(), &system_timezone()),
        );
        let mut out = io::stdout().lock();
        match out.write_all(&screen).and_then(|()| out.flush()) {
            // Nobody reads any more (`| head`): watching is over.
            Err(error) if crate::console::is_closed_pipe(&error) => {
                return Ok(exit_codes::SUCCESS);
            }
            other => other?,
        }
        drop(out);
        if view.done || interrupt.wait(every) {
            return Ok(exit_codes::SUCCESS);
        }
    }
}

/// One redraw: on a terminal the screen cleared first; elsewhere a block
/// after a timestamp line, so a log of views reads in order.
fn frame(view: Vec<u8>, terminal: bool, done: bool, every: Duration, stamp: &str) -> Vec<u8> {
    let mut screen = Vec::with_capacity(view.len() + 128);
    if terminal {
        screen.extend_from_slice(b"\x1b[2J\x1b[H");
    } else {
        screen.extend_from_slice(format!("=== {stamp}\n").as_bytes());
    }
    screen.extend_from_slice(&view);
    let trailer = if done {
        "\n(watch ended: nothing left to send)\n".to_string()
    } else {
        format!(
            "\n(refreshing every {}; Ctrl-C to stop watching — sending goes on)\n",
            humantime::format_duration(every)
        )
    };
    screen.extend_from_slice(trailer.as_bytes());
    if !terminal {
        screen.push(b'\n');
    }
    screen
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
