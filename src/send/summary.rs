//! The end-of-run summary: what was sent, what failed and why, how long the
//! API made us wait, and how to continue.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::executor::RunReport;
use crate::exit_codes;
use crate::output::text::{excerpt, human_duration};

/// The exit code a run ends with (see docs/cli.md).
pub fn exit_code(report: &RunReport) -> i32 {
    exit_codes::of_run(exit_codes::RunEnd {
        error: report.fatal.is_some() || report.stopped_accounts().next().is_some(),
        interrupted: report.interrupted,
        failed_or_uncertain: (report.failed() + report.uncertain()) as u64,
    })
}

/// Failure reasons without per-message detail (ids, bodies), for grouping.
fn reason_group(reason: &str) -> String {
    let head = reason.split(':').next().unwrap_or(reason);
    excerpt(head, 60)
}

/// Write the summary; `resume_hint` is the command that continues the campaign.
pub fn write_summary(out: &mut dyn Write, report: &RunReport, resume_hint: &str) -> io::Result<()> {
    let total = report.sent() + report.failed() + report.uncertain() + report.pending();
    let elapsed = report.finished - report.started;
    let planned = report
        .planned_end
        .map(|end| format!(" (planned {})", human_duration(end - report.started)))
        .unwrap_or_default();
    writeln!(out)?;
    writeln!(
        out,
        "Sent {} of {total} messages in {}{planned}.",
        report.sent(),
        human_duration(elapsed)
    )?;
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for account in &report.accounts {
        for (_, reason) in &account.failed {
            *failures.entry(reason_group(reason)).or_default() += 1;
        }
    }
    if !failures.is_empty() {
        writeln!(out, "  failed      {}", report.failed())?;
        for (reason, count) in &failures {
            writeln!(out, "    {count:>4}  {reason}")?;
        }
    }
    if report.uncertain() > 0 {
        writeln!(
            out,
            "  uncertain   {} (sent, but no answer came back; not re-sent unless you run `outreach resume --resend-uncertain`)",
            report.uncertain()
        )?;
    }
    let throttled: usize = report.accounts.iter().map(|a| a.throttled).sum();
    if throttled > 0 {
        let wait = report
            .accounts
            .iter()
            .map(|a| a.throttled_wait)
            .fold(chrono::TimeDelta::zero(), |sum, wait| sum + wait);
        writeln!(
            out,
            "  throttled   {throttled} times, {} of waiting in total",
            human_duration(wait)
        )?;
    }
    if report.pending() > 0 {
        writeln!(out, "  not sent    {}", report.pending())?;
    }
    for (account, reason) in report.stopped_accounts() {
        writeln!(out, "  account `{account}` stopped: {reason}")?;
    }
    if let Some(reason) = &report.fatal {
        writeln!(out, "Stopped: {reason}")?;
    } else if report.interrupted {
        writeln!(out, "Interrupted. Continue with: {resume_hint}")?;
    }
    if let Some(next) = report
        .next_due()
        .filter(|_| !report.interrupted && report.fatal.is_none())
    {
        writeln!(
            out,
            "Idle: nothing more is due now; the next message is due {} (in {}). Run `{resume_hint} --until-idle` again then.",
            next.format("%Y-%m-%d %H:%M:%S UTC"),
            human_duration(next - report.finished)
        )?;
    }
    if report.pending() > 0 && report.fatal.is_some() {
        writeln!(out, "Continue with: {resume_hint}")?;
    }
    Ok(())
}
