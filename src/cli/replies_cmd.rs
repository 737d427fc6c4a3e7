//! `outreach replies`: arguments and dispatch; the work is in
//! [`crate::reply::once`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::exit_codes;
use crate::state::paths::find_state;

/// `outreach replies`.
#[derive(Debug, Clone, Args)]
pub struct RepliesArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// The inboxes are the `imap` tables of the campaign's SMTP accounts, as saved in it;
    /// passwords and tokens come from the same environment variables as for `resume`.
    /// Works while `send` or `resume` runs on it.
    ///
    /// Example: outreach replies --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
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
    let path = match args.state {
        Some(path) => path,
        None => find_state(&std::env::current_dir()?)?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pass = runtime
        .block_on(crate::reply::once::check_once(&path, timeout))
        .map_err(
            |error| match error.downcast::<crate::journal::JournalError>() {
                Ok(journal) => crate::state::paths::explain_open_error(journal, &path),
                Err(other) => other,
            },
        )?;
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
