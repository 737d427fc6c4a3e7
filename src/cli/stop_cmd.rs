//! `outreach stop`: arguments and dispatch; the work is in [`crate::stop`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::exit_codes;
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
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The campaign's name in a PostgreSQL database (--state postgres://... or
    /// OUTREACH_DATABASE_URL) [default: the only one there].
    ///
    /// Example: --state postgres://outreach@db.example/outreach --campaign q4
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
}

pub fn run(args: StopArgs) -> anyhow::Result<i32> {
    let order = StopOrder {
        recipients: args.recipients,
        from: args.from,
        domains: args.domain,
        reason: args.reason,
    };
    let request = order.request(chrono::Utc::now())?;
    let location =
        crate::state::location::for_existing(args.state.as_deref(), args.campaign.as_deref())?;
    let path = location.as_path();
    let report = stop_in_journal(&location, &request)
        .map_err(|error| crate::state::paths::explain_open_error(error, &path))
        .with_context(|| format!("cannot record the stop in {location}"))?;
    crate::console::write_stdout(describe(&report).as_bytes())?;
    Ok(exit_codes::SUCCESS)
}
