//! `outreach worker`: arguments and dispatch; the work is in
//! [`crate::worker`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::options::OptionsError;
use crate::worker::WorkerSettings;

/// `outreach worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The PostgreSQL database holding the campaigns [default: OUTREACH_DATABASE_URL].
    ///
    /// Example: --state postgres://outreach@db.example/outreach
    #[arg(long, value_name = "URL")]
    pub state: Option<PathBuf>,
    /// Work only on this campaign (repeat for several) [default: every active campaign].
    ///
    /// Example: --campaign q4 --campaign q4-followups
    #[arg(long = "campaign", value_name = "NAME")]
    pub campaigns: Vec<String>,
    /// How long an account's lease lasts unless renewed: a worker that dies gives its
    /// accounts up after this.
    ///
    /// The lease is renewed every third of it; another worker takes an account over within
    /// LEASE + POLL of its worker dying.
    ///
    /// Example: --lease 30s
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub lease: String,
    /// Longest wait between looks at the database when no NOTIFY wakes the worker.
    ///
    /// Example: --poll 5s
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub poll: String,
    /// An account whose next message is further away gives its lease back until then.
    ///
    /// Example: --idle 10m
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub idle: String,
    /// Exit when no campaign has a message due (for cron or a systemd timer).
    ///
    /// Example: outreach worker --until-idle
    #[arg(long)]
    pub until_idle: bool,
    /// Messages a dead worker left in flight are sent again with the same Idempotency-Key
    /// where the channel drops repeats; elsewhere they stay uncertain.
    ///
    /// Example: outreach worker --resend-uncertain
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Hold at most N accounts at once [default: a fair share of the accounts with work].
    ///
    /// Example: --max-accounts 100
    #[arg(long, value_name = "N", value_parser = super::args::count::<usize>)]
    pub max_accounts: Option<usize>,
    /// Send to this endpoint instead of each campaign's saved one.
    ///
    /// Example: --endpoint http://127.0.0.1:8080/v2/messages
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Append every event as JSON Lines to FILE.
    ///
    /// Example: --events worker.jsonl
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
}

fn duration(flag: &'static str, text: &str) -> Result<Duration, OptionsError> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| OptionsError::Duration {
            flag,
            input: text.to_string(),
        })
}

impl WorkerArgs {
    pub fn settings(&self) -> anyhow::Result<WorkerSettings> {
        let lease = duration("--lease", &self.lease)?;
        if lease < Duration::from_millis(300) {
            anyhow::bail!(
                "--lease {}: a lease must last at least 300ms, to be renewed three times over",
                self.lease
            );
        }
        Ok(WorkerSettings {
            url: crate::state::location::database_for_worker(self.state.as_deref())?,
            campaigns: self.campaigns.clone(),
            lease,
            poll: duration("--poll", &self.poll)?,
            idle: duration("--idle", &self.idle)?,
            until_idle: self.until_idle,
            resend_uncertain: self.resend_uncertain,
            max_accounts: self.max_accounts,
            endpoint: self.endpoint.clone(),
            events: self.events.clone(),
        })
    }
}

pub fn run(args: WorkerArgs) -> anyhow::Result<i32> {
    crate::worker::run(args.settings()?)
}
