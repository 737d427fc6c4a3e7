//! `outreach resume`: continue a campaign from its journal (`session::resume`).

use std::path::PathBuf;

use clap::Args;

use super::send_cmd::DeliveryArgs;
use crate::options::{OptionsError, ResumeFlags, ResumeOverrides};
use crate::session;
use crate::state::changes::ChangePolicy;

/// `outreach resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// A PostgreSQL database (postgres://USER@HOST/DB, or OUTREACH_DATABASE_URL) works too.
    ///
    /// Example: outreach resume --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The campaign's name in a PostgreSQL database (--state postgres://... or
    /// OUTREACH_DATABASE_URL) [default: the only one there].
    ///
    /// Example: --state postgres://outreach@db.example/outreach --campaign q4
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,

    /// A new pace for every account (e.g. lower after a warning from the API).
    ///
    /// The messages themselves do not change.
    ///
    /// Example: outreach resume --rate 10/h
    #[arg(short, long, value_name = "N/PERIOD")]
    pub rate: Option<String>,

    /// New send windows (repeatable), replacing the saved ones.
    ///
    /// Example: outreach resume --window 'mon-fri 09:00-17:00'
    #[arg(short, long = "window", value_name = "DAYS HH:MM-HH:MM")]
    pub windows: Vec<String>,

    /// A new daily cap per account.
    ///
    /// Example: outreach resume --daily-cap 50
    #[arg(
        long,
        value_name = "N",
        value_parser = super::args::count::<u32>
    )]
    pub daily_cap: Option<u32>,

    /// Continue although the CSV or a template changed: new rows are added, removed or edited rows skipped (`=update`: edited rows re-rendered).
    ///
    /// New rows are added as pending, removed rows are skipped. Edited rows: `--allow-changes`
    /// (or `=skip`) skips their messages, with the reason in the report;
    /// `--allow-changes=update` renders their unsent messages again from the edited row (same
    /// recipient). Messages that were sent, or may have been (failed, uncertain), are never
    /// changed.
    ///
    /// Example: outreach resume --allow-changes=update
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "skip"
    )]
    pub allow_changes: Option<AllowChanges>,

    /// Put permanently failed messages back in the queue (e.g. after fixing a token).
    ///
    /// Example: outreach resume --retry-failed
    #[arg(long)]
    pub retry_failed: bool,

    /// Send uncertain messages again, with the same Idempotency-Key.
    ///
    /// Uncertain: the first request may have arrived, but no response came back. Servers that
    /// honour the header drop the duplicate. Check `outreach report` first.
    ///
    /// Example: outreach resume --resend-uncertain
    #[arg(long)]
    pub resend_uncertain: bool,

    /// Send what is due within WITHIN (default 5m), then exit 0 saying when the next is due.
    ///
    /// For long sequences run from cron or a systemd timer instead of a sender that keeps
    /// running: each run sends what is due, waits for anything due within WITHIN, and exits
    /// printing when the next message is due (docs/sequences.md).
    ///
    /// Example: outreach resume --state data.outreach.db --until-idle
    #[arg(long, value_name = "WITHIN", num_args = 0..=1, require_equals = true, default_missing_value = "5m")]
    pub until_idle: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// `--allow-changes[=HOW]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AllowChanges {
    /// Skip the messages of edited rows.
    Skip,
    /// Render the unsent messages of edited rows again.
    Update,
}

impl AllowChanges {
    fn policy(self) -> ChangePolicy {
        match self {
            AllowChanges::Skip => ChangePolicy::Skip,
            AllowChanges::Update => ChangePolicy::Update,
        }
    }
}

impl ResumeArgs {
    /// Every flag value, checked before the journal is opened or changed.
    pub fn overrides(&self) -> Result<ResumeOverrides, OptionsError> {
        ResumeOverrides::resolve(&ResumeFlags {
            rate: self.rate.as_deref(),
            windows: &self.windows,
            daily_cap: self.daily_cap,
            changes: self.allow_changes.map(AllowChanges::policy),
            retry_failed: self.retry_failed,
            resend_uncertain: self.resend_uncertain,
            until_idle: self.until_idle.as_deref(),
        })
    }
}

pub fn run(args: ResumeArgs) -> anyhow::Result<i32> {
    let overrides = args.overrides()?;
    let delivery = args.delivery.options()?;
    let state =
        crate::state::location::for_existing(args.state.as_deref(), args.campaign.as_deref())?;
    session::resume(&state, &overrides, &delivery)
}
