//! The plan as a table for people, or CSV / JSON Lines for programs (those
//! two are in [`super::records`]).

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::text::{excerpt, human_duration, local_time, pad};
use crate::campaign::Campaign;
use crate::plan::Slot;

pub use super::records::{PlannedRecord, write_csv, write_json};

/// How the plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// A readable table and a summary.
    Table,
    /// One CSV row per message.
    Csv,
    /// JSON Lines: one object per message.
    Json,
}

/// Write up to `limit` rows as a table (None: all).
pub fn write_table(
    out: &mut dyn Write,
    campaign: &Campaign,
    slots: &[Slot],
    limit: Option<usize>,
) -> io::Result<()> {
    let shown = limit.map_or(slots.len(), |limit| limit.min(slots.len()));
    let zone = &campaign.spec.timezone;
    let mut renderer = campaign.renderer();
    // A sequence's table has a step column; a single message's does not.
    let sequence = campaign.step_count() > 1;
    let rows: Vec<Vec<String>> = slots[..shown]
        .iter()
        .enumerate()
        .map(|(seq, slot)| {
            let message = &campaign.messages[slot.id];
            let text = renderer
                .render(message)
                .map(|r| r.subject.filter(|s| !s.is_empty()).unwrap_or(r.body))
                .unwrap_or_default();
            let mut row = vec![
                (seq + 1).to_string(),
                local_time(slot.at, zone),
                campaign.accounts[slot.account].name.clone(),
                campaign.recipient(message).to_string(),
            ];
            if sequence {
                row.push(message.step.to_string());
            }
            row.push(excerpt(&text, 48));
            row
        })
        .collect();
    let mut headers = vec!["#", "when", "account", "recipient"];
    if sequence {
        headers.push("step");
    }
    headers.push("message");
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let last = headers.len() - 1;
    let line = |cells: &[&str]| -> String {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index == last {
                text.push_str(cell);
            } else {
                text.push_str(&pad(cell, widths[index]));
                text.push_str("  ");
            }
        }
        text.trim_end().to_string()
    };
    writeln!(out, "{}", line(&headers))?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    if shown < slots.len() {
        writeln!(
            out,
            "... {} more messages (use --all to list them, or --format csv/json)",
            slots.len() - shown
        )?;
    }
    writeln!(out)?;
    write_summary(out, campaign, slots)
}

/// Each step's message count and delay: `1: 40 messages, 2 (3 days after
/// 1): 40 messages`. Follow-up times in the plan assume each step goes out
/// on plan.
fn step_totals(campaign: &Campaign, slots: &[Slot]) -> Vec<String> {
    let mut counts = vec![0usize; campaign.step_count() as usize];
    for slot in slots {
        let step = campaign.messages[slot.id].step as usize;
        if let Some(count) = counts.get_mut(step.saturating_sub(1)) {
            *count += 1;
        }
    }
    counts
        .iter()
        .enumerate()
        .map(|(index, count)| {
            let number = index + 1;
            match campaign.spec.steps.get(index).and_then(|step| step.after) {
                Some(after) => format!("{number} ({after} after {}): {count} messages", number - 1),
                None => format!("{number}: {count} messages"),
            }
        })
        .collect()
}

/// The summary block: counts, accounts and rates, first and last send, duration.
pub fn write_summary(out: &mut dyn Write, campaign: &Campaign, slots: &[Slot]) -> io::Result<()> {
    let zone = &campaign.spec.timezone;
    let accounts: Vec<String> = campaign
        .accounts
        .iter()
        .enumerate()
        .map(|(index, account)| {
            let count = slots.iter().filter(|slot| slot.account == index).count();
            let cap = match (account.daily_cap, account.warmup) {
                (Some(cap), Some(warmup)) => {
                    let ramp = warmup.ramp(cap);
                    format!(
                        ", warm-up {}/day rising to {cap}/day over {} days with sends",
                        warmup.start,
                        ramp.len()
                    )
                }
                (Some(cap), None) => format!(", at most {cap}/day"),
                (None, _) => String::new(),
            };
            format!(
                "{} ({} messages at {}{cap})",
                account.name, count, account.rate
            )
        })
        .collect();
    writeln!(
        out,
        "Plan: {} messages from {} account(s)",
        slots.len(),
        campaign.accounts.len()
    )?;
    writeln!(out, "  accounts    {}", accounts.join(", "))?;
    if let Some(cap) = campaign.spec.per_domain_daily_cap {
        writeln!(
            out,
            "  per domain  at most {cap} messages a day to one e-mail domain, all accounts together"
        )?;
    }
    if campaign.step_count() > 1 {
        writeln!(
            out,
            "  steps       {}",
            step_totals(campaign, slots).join(", ")
        )?;
    }
    if campaign.accounts.iter().any(|a| !a.channel.is_default()) {
        let channels: Vec<String> = campaign
            .accounts
            .iter()
            .map(|a| format!("{}: {}", a.name, a.channel.describe()))
            .collect();
        writeln!(out, "  channels    {}", channels.join(", "))?;
    }
    let first = slots.first().map(|s| s.at);
    let last = slots.last().map(|s| s.at);
    if let (Some(first), Some(last)) = (first, last) {
        writeln!(out, "  first send  {}", local_time(first, zone))?;
        writeln!(out, "  last send   {}", local_time(last, zone))?;
        writeln!(out, "  duration    {}", human_duration(last - first))?;
    }
    // How each window was read, so `9am-5pm` or a night window can be
    // checked, and in whose time zone it opens.
    let own_zones = campaign
        .messages
        .iter()
        .filter(|m| m.timezone.is_some())
        .count();
    let zones = match own_zones {
        0 => zone.to_string(),
        n if n == campaign.messages.len() => "each recipient's time zone".to_string(),
        _ => format!("each recipient's time zone, else {zone}"),
    };
    for window in campaign.spec.windows.windows() {
        let night = if window.crosses_midnight() {
            ", closing the next day"
        } else {
            ""
        };
        writeln!(out, "  window      {window} ({zones}){night}")?;
    }
    let skip = campaign.spec.windows.skip_dates();
    if !skip.is_empty() {
        writeln!(
            out,
            "  skip dates  {} ({zones}): nothing is sent",
            skip.written().join(", ")
        )?;
    }
    if campaign.spec.jitter > 0.0 {
        writeln!(
            out,
            "  jitter      up to {}% of the interval",
            campaign.spec.jitter * 100.0
        )?;
    }
    if !campaign.suppressed.is_empty() {
        writeln!(
            out,
            "  suppressed  {} row(s) left out, on a do-not-contact list (never sent):",
            campaign.suppressed.len()
        )?;
        const SHOWN: usize = 10;
        for row in campaign.suppressed.iter().take(SHOWN) {
            writeln!(
                out,
                "    line {}: {}, {}",
                row.line, row.recipient, row.matched
            )?;
        }
        if campaign.suppressed.len() > SHOWN {
            writeln!(out, "    and {} more", campaign.suppressed.len() - SHOWN)?;
        }
    }
    if !campaign.duplicates.is_empty() {
        writeln!(
            out,
            "  duplicates  {} dropped (each planned once)",
            campaign.duplicates.len()
        )?;
    }
    writeln!(out, "Nothing was sent (this is a plan).")
}

/// The time span a plan covers.
pub fn span(slots: &[Slot]) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    Some((slots.first()?.at, slots.last()?.at))
}
