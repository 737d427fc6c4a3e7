//! Flag definitions shared by several commands.

use std::path::PathBuf;

use clap::Args;

use crate::options::CampaignFlags;
use crate::output::schedule::PlanFormat;

/// The flags that define a campaign: its input and its pacing.
#[derive(Debug, Clone, Args)]
pub struct CampaignArgs {
    /// The recipients CSV (a header row with a `recipient` column).
    pub csv: PathBuf,

    /// Campaign settings file [default: outreach.toml beside the CSV, then in the current directory].
    ///
    /// Example: --config campaigns/q4.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The column that holds recipient ids [default: recipient].
    ///
    /// Example: --recipient-column urn
    #[arg(long, value_name = "NAME")]
    pub recipient_column: Option<String>,

    /// The default message template.
    ///
    /// An optional first line `Subject: ...`, a blank line, then the body, with placeholders
    /// such as {{ first_name }}.
    ///
    /// Example: --template templates/intro.txt
    #[arg(short, long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// Sends per period for each account [default: 20/h].
    ///
    /// At most N sends per PERIOD, evenly spaced (20/h means one every 3 minutes). PERIOD is s,
    /// min, h, day or a duration such as 90m.
    ///
    /// Example: --rate 30/h
    #[arg(short, long, value_name = "N/PERIOD")]
    pub rate: Option<String>,

    /// A send window such as 'mon-fri 09:00-17:00' (repeatable).
    ///
    /// Only send inside these windows, in --timezone or the recipient's own `timezone` column.
    /// Times are 24-hour (`09:00`, `17`) or 12-hour with am/pm on both (`9am-5pm`). Repeat for
    /// several windows; a window may cross midnight (`22:00-02:00`), but `9-5` is refused as
    /// ambiguous: write `9-17` or `21:00-05:00`.
    ///
    /// Example: --window 'mon-fri 09:00-12:00' --window 'mon-fri 13:00-17:00'
    #[arg(short, long = "window", value_name = "DAYS HH:MM-HH:MM")]
    pub windows: Vec<String>,

    /// Time zone of windows, daily caps and displayed times [default: the system's].
    ///
    /// An IANA name.
    ///
    /// Example: --timezone Europe/Berlin
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// At most N sends per account per calendar day.
    ///
    /// Days are counted in --timezone; later messages move to the next day.
    ///
    /// Example: --daily-cap 100
    #[arg(
        long,
        value_name = "N",
        value_parser = count::<u32>
    )]
    pub daily_cap: Option<u32>,

    /// Random extra delay of up to PCT of the interval.
    ///
    /// Each slot gets its own delay, PCT being a percentage of the interval, the same for the
    /// same campaign. It only delays, so the rate is never exceeded.
    ///
    /// Example: --jitter 30%
    #[arg(long, value_name = "PCT")]
    pub jitter: Option<String>,

    /// When the first message may go out [default: now].
    ///
    /// RFC 3339 with an offset, or a local time without one, read in --timezone (else the
    /// config's `timezone`, else the system's).
    ///
    /// Examples: --start 2026-12-01T09:00:00+01:00, --start 2026-12-01T09:00 --timezone
    /// Europe/Berlin
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// Reject rendered bodies longer than N characters.
    ///
    /// LinkedIn caps connection notes at 300.
    ///
    /// Example: --max-length 300
    #[arg(
        long,
        value_name = "N",
        value_parser = count::<usize>
    )]
    pub max_length: Option<usize>,

    /// The CSV's field separator: ',', ';' or tab [default: detected].
    ///
    /// Also '|'. Detected from what the header row uses: `,`, else `;` or tab.
    ///
    /// Example: --delimiter ';'
    #[arg(
        long,
        value_name = "SEP",
        value_parser = delimiter
    )]
    pub delimiter: Option<String>,
}

/// `--delimiter` is checked here, so a bad value is a usage error.
fn delimiter(text: &str) -> Result<String, String> {
    crate::input::sniff::parse_delimiter(text).map(|_| text.to_string())
}

impl CampaignArgs {
    pub fn flags(&self) -> CampaignFlags {
        CampaignFlags {
            csv: self.csv.clone(),
            config: self.config.clone(),
            recipient_column: self.recipient_column.clone(),
            template: self.template.clone(),
            rate: self.rate.clone(),
            windows: self.windows.clone(),
            timezone: self.timezone.clone(),
            daily_cap: self.daily_cap,
            jitter: self.jitter.clone(),
            start: self.start.clone(),
            max_length: self.max_length,
            delimiter: self.delimiter.clone(),
        }
    }
}

/// The table's row limit when neither `--limit` nor `--all` is given.
pub const DEFAULT_LIMIT: usize = 50;

/// How a plan is printed. The fields stay `None` unless given, so `send`
/// can refuse them without `--dry-run`.
#[derive(Debug, Clone, Args)]
pub struct PlanOutputArgs {
    /// Output format [default: table].
    ///
    /// A readable table, CSV, or JSON Lines (one object per message with recipient, account,
    /// at, subject, body).
    ///
    /// Example: outreach plan recipients.csv --format json | jq .at
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,

    /// Show at most N rows in the table [default: 50].
    ///
    /// Example: outreach plan recipients.csv --limit 200
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "all",
        value_parser = count::<usize>
    )]
    pub limit: Option<usize>,

    /// Show every row in the table.
    ///
    /// Example: outreach plan recipients.csv --all | less
    #[arg(long)]
    pub all: bool,
}

impl PlanOutputArgs {
    pub fn format(&self) -> PlanFormat {
        self.format.unwrap_or(PlanFormat::Table)
    }

    /// The table's row limit; `None` with `--all`.
    pub fn row_limit(&self) -> Option<usize> {
        (!self.all).then(|| self.limit.unwrap_or(DEFAULT_LIMIT))
    }

    /// The first of these flags given, for `send` without `--dry-run`.
    pub fn first_given(&self) -> Option<&'static str> {
        if self.format.is_some() {
            Some("--format")
        } else if self.limit.is_some() {
            Some("--limit")
        } else if self.all {
            Some("--all")
        } else {
            None
        }
    }
}

/// A whole number for a count flag, with the house message style (clap adds
/// the flag and the value).
pub fn count<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| "not a whole number; write a count such as `100`".to_string())
}

/// `outreach plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    #[command(flatten)]
    pub output: PlanOutputArgs,
    /// Also check the journal `send` would use, as `send --dry-run` does (read only).
    ///
    /// After the plan, says on stderr what `send --state` would do with this journal (create
    /// it, create or upgrade a database's schema, or refuse a campaign under way) and exits
    /// as `send` would before sending. Without it, `plan` reads no journal.
    ///
    /// Example: outreach plan q4.csv --state postgres://outreach@db.example/outreach
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<std::path::PathBuf>,
    /// With --state: the campaign's name in a PostgreSQL database [default: the CSV's file
    /// stem].
    ///
    /// Example: --campaign q4
    #[arg(long = "campaign", value_name = "NAME", requires = "state")]
    pub campaign_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;

    use crate::cli::{Cli, Command};

    fn plan(args: &[&str]) -> Result<Box<super::PlanArgs>, clap::Error> {
        let cli = Cli::try_parse_from(["outreach", "plan", "r.csv"].iter().chain(args))?;
        match cli.command {
            Some(Command::Plan(plan)) => Ok(plan),
            other => panic!("not plan: {other:?}"),
        }
    }

    #[test]
    fn output_flags_are_none_unless_given() {
        let output = plan(&[]).unwrap().output;
        assert_eq!(output.first_given(), None);
        assert_eq!(output.format(), super::PlanFormat::Table);
        assert_eq!(output.row_limit(), Some(super::DEFAULT_LIMIT));
        let output = plan(&["--limit", "7"]).unwrap().output;
        assert_eq!(
            (output.first_given(), output.row_limit()),
            (Some("--limit"), Some(7))
        );
        let output = plan(&["--all"]).unwrap().output;
        assert_eq!(
            (output.first_given(), output.row_limit()),
            (Some("--all"), None)
        );
        let output = plan(&["--format", "json"]).unwrap().output;
        assert_eq!(output.first_given(), Some("--format"));
    }

    #[test]
    fn counts_that_are_not_numbers_are_usage_errors_in_the_house_style() {
        for flag in ["--daily-cap", "--max-length", "--limit"] {
            let error = plan(&[flag, "many"]).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{flag}");
            assert_eq!(error.exit_code(), crate::exit_codes::USAGE, "{flag}");
            let text = error.to_string();
            assert!(text.contains(flag), "{text}");
            assert!(
                text.contains("not a whole number; write a count such as `100`"),
                "{text}"
            );
        }
        assert_eq!(
            plan(&["--daily-cap", " 12 "]).unwrap().campaign.daily_cap,
            Some(12)
        );
    }
}
