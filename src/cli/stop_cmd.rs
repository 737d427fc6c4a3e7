//! `outreach stop`: arguments and dispatch; the work is in [`crate::stop`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::exit_codes;
use crate::state::paths::find_state;
use crate::stop::command::{StopOrder, describe, stop_in_journal};

/// `outreach stop`.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// Recipients to stop (ids or e-mail addresses; addresses in any case).
    pub recipients: Vec<String>,
    /// Why, kept in the journal and shown by status and report.
    ///
    /// Skipped messages read `stopped: TEXT`. Default: "stopped by hand".
    ///
    /// Example: outreach stop ann@acme.com --reason "asked not to be contacted"
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Stop every recipient of a CSV's recipient column (or of a one-column list).
    ///
    /// The `recipient` column is found as in the campaign's CSV (any case, spaces, `_`, `-`);
    /// a file without one is read like a do-not-contact list: one entry a line, `#` comments,
    /// `*@domain` and `domain` entries.
    ///
    /// Example: outreach stop --from unsubscribed.csv --reason unsubscribed
    #[arg(long, value_name = "FILE.csv")]
    pub from: Option<PathBuf>,
    /// Stop every e-mail recipient at this domain and its subdomains (repeatable).
    ///
    /// `acme.com` covers ann@acme.com and eve@eu.acme.com, not bob@notacme.com.
    ///
    /// Example: outreach stop --domain acme.com --reason "customer now"
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Vec<String>,
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// Works while `send` or `resume` runs on it: the sender's next claim of a stopped
    /// person's message is refused.
    ///
    /// Example: outreach stop ann@acme.com --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
}

pub fn run(args: StopArgs) -> anyhow::Result<i32> {
    let order = StopOrder {
        recipients: args.recipients,
        from: args.from,
        domains: args.domain,
        reason: args.reason,
    };
    let request = order.request(chrono::Utc::now())?;
    let path = match args.state {
        Some(path) => path,
        None => find_state(&std::env::current_dir()?)?,
    };
    let report = stop_in_journal(&path, &request)
        .map_err(|error| crate::state::paths::explain_open_error(error, &path))
        .with_context(|| format!("cannot record the stop in {}", path.display()))?;
    crate::console::write_stdout(describe(&report).as_bytes())?;
    Ok(exit_codes::SUCCESS)
}
