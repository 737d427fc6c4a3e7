//! `outreach send`: plan the campaign, then hand it to `session::send`;
//! with `--dry-run`, print the plan and what `send` would do with its
//! journal (`state::preflight`), sending and writing nothing.

use std::path::PathBuf;

use clap::Args;

use super::args::{CampaignArgs, PlanOutputArgs};
use super::plan_cmd::{load_campaign, print_plan};
use crate::campaign::Campaign;
use crate::options::{DeliveryFlags, DeliveryOptions, OptionsError};
use crate::session::{self, NewRun};
use crate::state::location::{self, Location};

/// Flags of `send` and `resume` that shape how messages go out.
#[derive(Debug, Clone, Args)]
pub struct DeliveryArgs {
    /// The messages endpoint, or `sandbox` for a local demo API.
    ///
    /// The URL of POST /v2/messages, or `sandbox` to run a local rate-limited API inside
    /// outreach (no account or token needed) [default: the config's `endpoint`, else
    /// https://api.linkedin.com/v2/messages].
    ///
    /// Example: --endpoint http://127.0.0.1:8080/v2/messages
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Append every event as JSON Lines to FILE.
    ///
    /// Events: planned, sending, sent, throttled, retrying, failed, account paused/resumed,
    /// finished; one JSON object per line, with timestamps.
    ///
    /// Example: --events events.jsonl, then: tail -f events.jsonl | jq .
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,

    /// Log one line per event instead of progress bars.
    ///
    /// Example: outreach send recipients.csv --no-progress 2> send.log
    #[arg(long)]
    pub no_progress: bool,

    /// First retry delay; later ones double (full jitter) [default: 2s].
    ///
    /// Example: --retry-base 5s
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub retry_base: Option<String>,

    /// Longest retry delay [default: 10m].
    ///
    /// Example: --retry-cap 30m
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub retry_cap: Option<String>,

    /// Attempts per message before it fails [default: 6].
    ///
    /// Example: --retry-attempts 10
    #[arg(
        long,
        value_name = "N",
        hide_short_help = true,
        value_parser = super::args::count::<u32>
    )]
    pub retry_attempts: Option<u32>,

    /// Request timeout [default: 30s].
    ///
    /// Example: --timeout 1m
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub timeout: Option<String>,
}

/// `outreach send`.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Print the plan exactly as `outreach plan` does, check the journal, send nothing.
    ///
    /// After the plan, says on stderr what `send` would do with its journal (create it, or
    /// refuse a campaign under way) without writing anything, and exits as `send` would
    /// before sending: 1 when `send` would refuse.
    ///
    /// Example: outreach send recipients.csv --dry-run --format json
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: also print the first message exactly as its channel would send it.
    ///
    /// The HTTP request (method, URL, headers, body) or the e-mail, with every secret shown as
    /// `[redacted]`.
    ///
    /// Example: outreach send recipients.csv --dry-run --show-request
    #[arg(long)]
    pub show_request: bool,
    /// The campaign journal [default: <csv name>.outreach.db beside the CSV, or the
    /// database in OUTREACH_DATABASE_URL].
    ///
    /// An SQLite file that records every message and attempt so the campaign can be resumed,
    /// or a PostgreSQL database (postgres://USER@HOST/DB) holding any number of campaigns;
    /// docs/postgres.md.
    ///
    /// Example: --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The campaign's name in a PostgreSQL database (--state postgres://... or
    /// OUTREACH_DATABASE_URL) [default: the CSV's file stem].
    ///
    /// Example: --state postgres://outreach@db.example/outreach --campaign q4
    #[arg(long = "campaign", value_name = "NAME")]
    pub campaign_name: Option<String>,
    /// Record the campaign in the PostgreSQL database and return: `outreach worker`s send it.
    ///
    /// Nothing is sent by this process; workers on any machine pick the campaign up at once
    /// (they need its tokens in their environment). See docs/postgres.md.
    ///
    /// Example: outreach send recipients.csv --state postgres://outreach@db/outreach --detach
    #[arg(long, conflicts_with = "dry_run")]
    pub detach: bool,
    /// Begin a new campaign even though this CSV already has one (the old journal is kept).
    ///
    /// Example: outreach send recipients.csv --restart
    #[arg(long)]
    pub restart: bool,
    #[command(flatten)]
    pub output: PlanOutputArgs,
}

impl SendArgs {
    /// Flag values `send` cannot use, found before any file is read.
    pub fn options(&self) -> Result<DeliveryOptions, OptionsError> {
        if !self.dry_run {
            if let Some(flag) = self.output.first_given() {
                return Err(OptionsError::OnlyWithDryRun { flag });
            }
            if self.show_request {
                return Err(OptionsError::OnlyWithDryRun {
                    flag: "--show-request",
                });
            }
        }
        self.delivery.options()
    }
}

impl DeliveryArgs {
    /// The delivery flags parsed and checked, before anything is read or sent.
    pub fn options(&self) -> Result<DeliveryOptions, OptionsError> {
        DeliveryOptions::resolve(&DeliveryFlags {
            endpoint: self.endpoint.as_deref(),
            events: self.events.as_deref(),
            no_progress: self.no_progress,
            retry_base: self.retry_base.as_deref(),
            retry_cap: self.retry_cap.as_deref(),
            retry_attempts: self.retry_attempts,
            timeout: self.timeout.as_deref(),
        })
    }
}

pub fn run(args: SendArgs) -> anyhow::Result<i32> {
    let delivery = args.options()?;
    let campaign = load_campaign(&args.campaign)?;
    let slots = campaign.plan();
    if args.dry_run {
        print_plan(&campaign, &slots, &args.output)?;
        if args.show_request {
            let (_, timeout) = delivery
                .retry
                .over_config(&campaign.spec.config.config.retry);
            let preview =
                session::first_request(&campaign, &slots, delivery.endpoint.as_deref(), timeout)?;
            let text = preview.unwrap_or_else(|| "The plan has no message.\n".to_string());
            crate::console::write_stdout(format!("\n{text}").as_bytes())?;
        }
        return check_journal(&args, &campaign);
    }
    let state = journal_location(&args)?;
    session::send(NewRun {
        campaign: &campaign,
        slots: &slots,
        flags: &args.campaign.flags(),
        state: &state,
        restart: args.restart,
        detach: args.detach,
        delivery: &delivery,
    })
}

fn journal_location(args: &SendArgs) -> anyhow::Result<Location> {
    location::for_send(
        args.state.as_deref(),
        args.campaign_name.as_deref(),
        &args.campaign.csv,
    )
}

/// `--dry-run`, after the plan: what `send` would do with its journal
/// (read only), and the code `send` would exit with before sending.
fn check_journal(args: &SendArgs, campaign: &Campaign) -> anyhow::Result<i32> {
    super::plan_cmd::check_journal(&journal_location(args)?, args.restart, campaign)
}
