//! `outreach replies`: arguments and dispatch; the work is in
//! [`crate::reply::once`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::exit_codes;
use crate::state::location;

/// `outreach replies`.
#[derive(Debug, Clone, Args)]
pub struct RepliesArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// A PostgreSQL database works too (postgres://USER@HOST/DB, or OUTREACH_DATABASE_URL),
    /// with --campaign. The inboxes are the `imap` tables of the campaign's SMTP accounts, as saved in it;
    /// passwords and tokens come from the same environment variables as for `resume`.
    /// Works while `send` or `resume` runs on it.
    ///
    /// Example: outreach replies --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The campaign's name in a PostgreSQL database [default: its only campaign].
    ///
    /// Example: outreach replies --state postgres://outreach@db.example/outreach --campaign q4
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
    /// The longest wait for the IMAP server's answer to each step.
    ///
    /// Example: outreach replies --timeout 10s
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: String,
}

pub fn run(args: RepliesArgs) -> anyhow::Result<i32> {
    let timeout: Duration = humantime::parse_duration(args.timeout.trim()).map_err(|_| {
        crate::options::OptionsError::Duration {
            flag: "--timeout",
            input: args.timeout.clone(),
        }
    })?;
    let journal = location::for_existing(args.state.as_deref(), args.campaign.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pass = runtime
        .block_on(crate::reply::once::check_once(&journal, timeout))
        .map_err(|error| {
            match (
                error.downcast::<crate::journal::JournalError>(),
                journal.file(),
            ) {
                (Ok(error), Some(path)) => crate::state::paths::explain_open_error(error, path),
                (Ok(error), None) => error.into(),
                (Err(other), _) => other,
            }
        })?;
    let mut out = String::new();
    for line in &pass.lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&pass.summary());
    out.push('\n');
    crate::console::write_stdout(out.as_bytes())?;
    Ok(if pass.failed > 0 {
        exit_codes::ERROR
    } else {
        exit_codes::SUCCESS
    })
}
