//! Flag definitions shared by several commands.

use std::path::PathBuf;

use clap::Args;

use crate::options::CampaignFlags;
use crate::output::plan::PlanFormat;

/// The flags that define a campaign: its input and its pacing.
#[derive(Debug, Clone, Args)]
pub struct CampaignArgs {
    /// The recipients CSV (a header row with a `recipient` column).
    pub csv: PathBuf,

    /// Campaign settings file [default: outreach.toml beside the CSV, then in the current directory].
    #[arg(
        long,
        value_name = "FILE",
        long_help = "Campaign settings file [default: outreach.toml beside the CSV, then in the current directory].\n\nExample: --config campaigns/q4.toml"
    )]
    pub config: Option<PathBuf>,

    /// The column that holds recipient ids.
    #[arg(
        long,
        value_name = "NAME",
        long_help = "The column that holds recipient ids [default: recipient].\n\nExample: --recipient-column urn"
    )]
    pub recipient_column: Option<String>,

    /// The default message template.
    #[arg(
        short,
        long,
        value_name = "FILE",
        long_help = "The default message template: an optional first line `Subject: ...`, a blank line, then the body, with placeholders such as {{ first_name }}.\n\nExample: --template templates/intro.txt"
    )]
    pub template: Option<PathBuf>,

    /// Sends per period for each account [default: 20/h].
    #[arg(
        short,
        long,
        value_name = "N/PERIOD",
        long_help = "At most N sends per PERIOD for each account, evenly spaced (20/h means one every 3 minutes). PERIOD is s, min, h, day or a duration such as 90m. [default: 20/h]\n\nExample: --rate 30/h"
    )]
    pub rate: Option<String>,

    /// A send window such as 'mon-fri 09:00-17:00' (repeatable).
    #[arg(
        short,
        long = "window",
        value_name = "DAYS HH:MM-HH:MM",
        long_help = "Only send inside these windows, in --timezone or the recipient's own `timezone` column. Repeat for several windows; a window may cross midnight.\n\nExample: --window 'mon-fri 09:00-12:00' --window 'mon-fri 13:00-17:00'"
    )]
    pub windows: Vec<String>,

    /// Time zone of windows, daily caps and displayed times [default: the system's].
    #[arg(
        long,
        value_name = "ZONE",
        long_help = "IANA time zone of send windows, daily caps and displayed times [default: the system's].\n\nExample: --timezone Europe/Berlin"
    )]
    pub timezone: Option<String>,

    /// At most N sends per account per calendar day.
    #[arg(
        long,
        value_name = "N",
        long_help = "At most N sends per account per calendar day (in --timezone); later messages move to the next day.\n\nExample: --daily-cap 100"
    )]
    pub daily_cap: Option<u32>,

    /// Random extra delay of up to PCT of the interval.
    #[arg(
        long,
        value_name = "PCT",
        long_help = "Each slot gets a random extra delay of up to PCT percent of the interval, the same for the same campaign. It only delays, so the rate is never exceeded.\n\nExample: --jitter 30%"
    )]
    pub jitter: Option<String>,

    /// When the first message may go out (RFC 3339) [default: now].
    #[arg(
        long,
        value_name = "TIME",
        long_help = "When the first message may go out, RFC 3339 [default: now].\n\nExample: --start 2026-12-01T09:00:00+01:00"
    )]
    pub start: Option<String>,

    /// Reject rendered bodies longer than N characters.
    #[arg(
        long,
        value_name = "N",
        long_help = "Reject any rendered body longer than N characters (LinkedIn caps connection notes at 300).\n\nExample: --max-length 300"
    )]
    pub max_length: Option<usize>,

    /// The CSV's field separator: ',', ';' or tab [default: detected].
    #[arg(
        long,
        value_name = "SEP",
        value_parser = delimiter,
        long_help = "The CSV's field separator: ',', ';', tab or '|' [default: what the header row uses: `,`, else `;` or tab].\n\nExample: --delimiter ';'"
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

/// How a plan is printed.
#[derive(Debug, Clone, Args)]
pub struct PlanOutputArgs {
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "table",
        long_help = "Output format: a readable table, CSV, or JSON Lines (one object per message with recipient, account, at, subject, body).\n\nExample: outreach plan recipients.csv --format json | jq .at"
    )]
    pub format: PlanFormat,

    /// Show at most N rows in the table.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 50,
        conflicts_with = "all",
        long_help = "Show at most N rows in the table.\n\nExample: outreach plan recipients.csv --limit 200"
    )]
    pub limit: usize,

    /// Show every row in the table.
    #[arg(
        long,
        long_help = "Show every row in the table.\n\nExample: outreach plan recipients.csv --all | less"
    )]
    pub all: bool,
}

/// `outreach plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    #[command(flatten)]
    pub output: PlanOutputArgs,
}
