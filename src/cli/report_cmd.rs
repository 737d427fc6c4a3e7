//! `outreach report`: one row per recipient (csv, JSON Lines) or one page
//! (html), read from a journal without disturbing a sender that may be
//! writing it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use clap::{Args, ValueEnum};

use super::status_cmd::open;
use crate::exit_codes;
use crate::journal::{AnyStore, CampaignStore};
use crate::options::system_timezone;
use crate::output::html;
use crate::state::location::Location;
use crate::state::paths::SUFFIX;
use crate::state::saved::SavedOptions;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One CSV row per recipient.
    Csv,
    /// JSON Lines, one object per recipient.
    Json,
    /// One self-contained page: summary, failure reasons, per-account
    /// timelines (planned vs sent, 429s, pauses, quota), failed recipients.
    Html,
}

/// `outreach report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// A PostgreSQL database works too (postgres://USER@HOST/DB, or OUTREACH_DATABASE_URL).
    ///
    /// Example: outreach status --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The campaign's name in a PostgreSQL database [default: the only one there].
    ///
    /// Example: outreach report --state postgres://outreach@db.example/outreach --campaign q4
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
    /// Output format.
    ///
    /// csv or json (JSON Lines), one row per recipient; or html, one self-contained page with a
    /// summary, failure reasons, per-account timelines (planned vs sent, 429s, retries, pauses,
    /// quota) and the failed recipients, written beside the journal unless --output.
    ///
    /// Example: outreach report --format json | jq -c 'select(.state == "failed")'
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ReportFormat,
    /// Write the report to FILE; `-` is standard output [default: standard output
    /// for csv and json; for html, <journal name>.report.html beside the journal].
    ///
    /// The html default for the journal recipients.outreach.db is recipients.report.html;
    /// for a campaign in PostgreSQL, CAMPAIGN.report.html in the current directory.
    ///
    /// Example: outreach report --format html --output /tmp/campaign.html
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Where `report --format html` writes without `--output`: beside the
/// journal, `recipients.outreach.db` -> `recipients.report.html`.
pub fn default_html_path(journal: &Path) -> PathBuf {
    let name = journal
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    let stem = name
        .strip_suffix(SUFFIX)
        .or_else(|| journal.file_stem().and_then(|s| s.to_str()))
        .unwrap_or("campaign");
    journal.with_file_name(format!("{stem}.report.html"))
}

/// Where `report --format html` writes a PostgreSQL campaign's page
/// without `--output`: `NAME.report.html` in the current directory, with
/// anything but letters, digits, `.`, `-` and `_` in the name made `_`.
pub fn campaign_html_path(campaign: &str) -> PathBuf {
    let name: String = campaign
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.');
    let name = if name.is_empty() { "campaign" } else { name };
    PathBuf::from(format!("{name}.report.html"))
}

pub fn run_report(args: ReportArgs) -> anyhow::Result<i32> {
    let (location, store) = open(&args.state, &args.campaign)?;
    let path = location.as_path();
    let output = match (&args.output, args.format) {
        (Some(file), _) if file.as_os_str() == "-" => None,
        (Some(file), _) => Some(file.clone()),
        (None, ReportFormat::Html) => Some(match &location {
            Location::Postgres { campaign, .. } => campaign_html_path(campaign),
            Location::File(_) => default_html_path(&path),
        }),
        (None, _) => None,
    };
    if args.format == ReportFormat::Html {
        let meta = store.campaign()?;
        let zone = meta
            .as_ref()
            .and_then(|m| SavedOptions::of(m).ok())
            .map_or_else(system_timezone, |saved| saved.zone());
        let settings = html::Settings::new(zone, Utc::now());
        let page = html::render(&html::gather(&store, &settings)?, &settings);
        return match output {
            Some(file) => {
                std::fs::write(&file, &page)
                    .with_context(|| format!("cannot write the report to {}", file.display()))?;
                say!(
                    "Wrote {} ({} KB); open it in a browser.",
                    file.display(),
                    page.len().div_ceil(1024)
                );
                Ok(exit_codes::SUCCESS)
            }
            None => {
                let mut out = io::stdout().lock();
                crate::console::unless_closed_pipe(
                    out.write_all(page.as_bytes()).and_then(|()| out.flush()),
                )
                .context("cannot write the report")?;
                Ok(exit_codes::SUCCESS)
            }
        };
    }
    match output {
        Some(file) => {
            let created =
                File::create(&file).with_context(|| format!("cannot create {}", file.display()))?;
            write_rows(
                &store,
                args.format,
                BufWriter::with_capacity(1 << 16, created),
            )
            .with_context(|| format!("cannot write the report to {}", file.display()))
        }
        None => write_rows(
            &store,
            args.format,
            BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        ),
    }
}

/// The csv and json reports: one row per message, streamed. (Html is
/// rendered whole by `run_report` and never comes here.)
fn write_rows(store: &AnyStore, format: ReportFormat, mut out: impl Write) -> anyhow::Result<i32> {
    // One row per recipient and step for a sequence; no step column otherwise.
    let sequence = store
        .campaign()?
        .and_then(|meta| SavedOptions::of(&meta).ok())
        .is_some_and(|saved| saved.steps.len() > 1);
    let shown = |mut row: crate::journal::ReportRow| {
        if !sequence {
            row.step = None;
        }
        row
    };
    let result = match format {
        ReportFormat::Json | ReportFormat::Html => store.report_rows(&mut |row| {
            let row = shown(row);
            serde_json::to_writer(&mut out, &row).map_err(crate::journal::JournalError::sink)?;
            out.write_all(b"\n")
                .map_err(crate::journal::JournalError::sink)?;
            Ok(())
        }),
        ReportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            let result = store.report_rows(&mut |row| {
                writer
                    .serialize(shown(row))
                    .map_err(crate::journal::JournalError::sink)
            });
            crate::console::unless_closed_pipe(writer.flush())
                .context("cannot write the report")?;
            result
        }
    };
    match result {
        Err(error) if crate::console::is_closed_pipe(&error) => return Ok(exit_codes::SUCCESS),
        other => other?,
    }
    crate::console::unless_closed_pipe(out.flush()).context("cannot write the report")?;
    Ok(exit_codes::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_report_sits_beside_the_journal() {
        assert_eq!(
            default_html_path(Path::new("data/recipients.outreach.db")),
            Path::new("data/recipients.report.html")
        );
        assert_eq!(
            default_html_path(Path::new("/tmp/c.journal")),
            Path::new("/tmp/c.report.html")
        );
    }

    #[test]
    fn a_postgres_campaign_s_page_is_named_after_it_in_the_current_directory() {
        assert_eq!(campaign_html_path("q4"), Path::new("q4.report.html"));
        assert_eq!(
            campaign_html_path("../team/q4 final"),
            Path::new("_team_q4_final.report.html")
        );
        assert_eq!(campaign_html_path(""), Path::new("campaign.report.html"));
    }
}
