//! The command line: clap definitions and dispatch to the library.
//!
//! Parsing lives here and nowhere else. Flags are collected as raw values
//! (`args.rs`) and validated by library code (`options.rs`), so each error can
//! name the flag or config key that fixes it.

pub mod args;
mod lease_view;
mod plan_cmd;
pub mod replies_cmd;
pub mod report_cmd;
pub mod resume_cmd;
pub mod send_cmd;
pub mod status_cmd;
mod status_view;
pub mod stop_cmd;
mod watch_signal;
pub mod worker_cmd;

use clap::{Parser, Subcommand};

use crate::exit_codes;

const AFTER_HELP: &str = "\
Start here:
  outreach plan recipients.csv     the schedule, nothing sent
  outreach send recipients.csv     send it, with live progress
  outreach resume                  continue after Ctrl-C, a crash or a reboot

Manual: outreach man (one subcommand: outreach man send). Exit codes: 0 ok, 1 error, 2 usage,
3 some messages failed, 130 interrupted.";

/// Evenly paced, header-aware, resumable outreach campaigns.
#[derive(Debug, Parser)]
#[command(name = "outreach", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the send schedule for a CSV; nothing is sent.
    Plan(Box<args::PlanArgs>),
    /// Send the campaign, evenly paced, with live progress.
    Send(Box<send_cmd::SendArgs>),
    /// Continue an interrupted campaign from its journal; nothing is sent twice.
    Resume(Box<resume_cmd::ResumeArgs>),
    /// Where a campaign stands: counts by state, per account, next send, ETA.
    Status(status_cmd::StatusArgs),
    /// Stop people: their unsent messages are skipped, even while a sender runs.
    Stop(stop_cmd::StopArgs),
    /// Send the active campaigns of a PostgreSQL database, shared with other workers.
    Worker(Box<worker_cmd::WorkerArgs>),
    /// Read the campaign's inboxes once: stop who replied or bounced (for cron).
    Replies(replies_cmd::RepliesArgs),
    /// One row per recipient (csv, json), or one page with timelines and failures (html).
    Report(report_cmd::ReportArgs),
    /// Run a local rate-limited messaging API for demos and tests.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    #[command(
        long_about = "Print a shell completion script.\n\nExamples:\n  outreach completions bash > ~/.local/share/bash-completion/completions/outreach\n  outreach completions zsh > ~/.zfunc/_outreach\n  outreach completions fish > ~/.config/fish/completions/outreach.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on stdout, or write them all to a folder.
    #[command(
        long_about = "Print the man page (roff) of outreach or of one subcommand on stdout, or write every page to a folder.\n\nExamples:\n  outreach man > ~/.local/share/man/man1/outreach.1 && man outreach\n  outreach man send > ~/.local/share/man/man1/outreach-send.1\n  outreach man --dir ~/.local/share/man/man1"
    )]
    Man {
        /// The subcommand whose page to print (`plan`, `send`, ...).
        subcommand: Option<String>,
        /// Write every page (outreach.1, outreach-plan.1, ...) into DIR.
        ///
        /// Writes outreach.1, outreach-plan.1, outreach-send.1, ... instead of printing one
        /// page.
        ///
        /// Example: outreach man --dir ~/.local/share/man/man1
        #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
        dir: Option<std::path::PathBuf>,
    },
}

/// Parse the process arguments, run, and return the exit code.
pub fn main_with_exit_code() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return error.exit_code();
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            say!("error: {}", describe(&error));
            error_exit_code(&error)
        }
    }
}

/// 2 for a malformed flag value, 1 for every other error.
pub fn error_exit_code(error: &anyhow::Error) -> i32 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::options::OptionsError>())
        .map_or(exit_codes::ERROR, crate::options::OptionsError::exit_code)
}

/// `outreach man`: the top page, one subcommand's page (the top page refers
/// to them as `outreach-plan(1)` and so on), or all of them into a folder.
fn man_pages(subcommand: Option<&str>, dir: Option<&std::path::Path>) -> anyhow::Result<i32> {
    use anyhow::Context;
    let mut command = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        clap_mangen::generate_to(command, dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        say!("man pages written to {}", dir.display());
        return Ok(exit_codes::SUCCESS);
    }
    // Built, so subcommands carry their full names (`outreach-plan`).
    command.build();
    let page_of = match subcommand {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = command
                    .get_subcommands()
                    .map(clap::Command::get_name)
                    .collect();
                say!(
                    "error: no subcommand `{name}`; man pages exist for: {}",
                    names.join(", ")
                );
                return Ok(exit_codes::USAGE);
            }
        },
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(page_of).render(&mut page)?;
    crate::console::write_stdout(&page)?;
    Ok(exit_codes::SUCCESS)
}

/// The error and its causes, skipping any cause its message already contains
/// (most of our messages embed their cause to read as one sentence).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Run one parsed command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Some(Command::Plan(args)) => plan_cmd::run(*args),
        Some(Command::Send(args)) => send_cmd::run(*args),
        Some(Command::Resume(args)) => resume_cmd::run(*args),
        Some(Command::Status(args)) => status_cmd::run_status(args),
        Some(Command::Report(args)) => report_cmd::run_report(args),
        Some(Command::Stop(args)) => stop_cmd::run(args),
        Some(Command::Replies(args)) => replies_cmd::run(args),
        Some(Command::Worker(args)) => worker_cmd::run(*args),
        Some(Command::Sandbox(args)) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(crate::sandbox::run_cli(args))?;
            Ok(exit_codes::SUCCESS)
        }
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "outreach", &mut script);
            crate::console::write_stdout(&script)?;
            Ok(exit_codes::SUCCESS)
        }
        Some(Command::Man { subcommand, dir }) => man_pages(subcommand.as_deref(), dir.as_deref()),
        None => {
            crate::console::write_stdout(
                format!("outreach: evenly paced, resumable outreach campaigns\n\n{AFTER_HELP}\n")
                    .as_bytes(),
            )?;
            Ok(exit_codes::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every flag has a one-line help for `-h` and, in `--help`, a longer
    /// text with an example.
    #[test]
    fn every_flag_has_help_and_an_example() {
        let mut missing = Vec::new();
        for command in Cli::command().get_subcommands() {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_positional() || matches!(id, "help" | "version") {
                    continue;
                }
                let short = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                let long = arg
                    .get_long_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if short.is_empty() || !long.contains("Example") {
                    missing.push(format!("{} --{id}", command.get_name()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "flags without help or example: {missing:?}"
        );
    }

    #[test]
    fn bad_flags_exit_2_and_bad_files_exit_1() {
        use crate::options::{OptionsError, Origin};
        let flag = anyhow::Error::new(OptionsError::OnlyWithDryRun { flag: "--format" });
        assert_eq!(error_exit_code(&flag), exit_codes::USAGE);
        let wrapped = flag.context("cannot plan");
        assert_eq!(error_exit_code(&wrapped), exit_codes::USAGE);
        let file = anyhow::Error::new(OptionsError::DailyCap {
            origin: Origin::Config {
                key: "daily_cap".into(),
                path: "outreach.toml".into(),
            },
        });
        assert_eq!(error_exit_code(&file), exit_codes::ERROR);
        assert_eq!(
            error_exit_code(&anyhow::anyhow!("disk full")),
            exit_codes::ERROR
        );
    }

    #[test]
    fn errors_print_each_cause_once() {
        let error = anyhow::anyhow!("disk full").context("cannot write the journal: disk full");
        assert_eq!(describe(&error), "cannot write the journal: disk full");
        let error = anyhow::anyhow!("disk full").context("cannot write the journal");
        assert_eq!(describe(&error), "cannot write the journal: disk full");
    }
}
