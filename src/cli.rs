//! The command line: clap definitions and dispatch to the library.
//!
//! Parsing lives here and nowhere else; each command turns its raw flags into
//! typed options and hands them to library code.

use clap::{Parser, Subcommand};

use crate::exit_codes;

/// Evenly paced, header-aware, resumable outreach campaigns.
#[derive(Debug, Parser)]
#[command(name = "outreach", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local rate-limited messaging API for demos and tests.
    Sandbox(crate::sandbox::SandboxArgs),
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
            eprintln!("error: {error:#}");
            exit_codes::ERROR
        }
    }
}

/// Run one parsed command line; returns the exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Some(Command::Sandbox(args)) => {
            runtime.block_on(crate::sandbox::run_cli(args))?;
            Ok(exit_codes::SUCCESS)
        }
        None => {
            println!("outreach: see `outreach --help`");
            Ok(exit_codes::SUCCESS)
        }
    }
}
