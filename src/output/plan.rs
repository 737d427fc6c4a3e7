//! The plan as a table for people, or CSV / JSON Lines for programs.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::text::{excerpt, human_duration, local_time, pad};
use crate::campaign::Campaign;
use crate::plan::Slot;

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

/// One planned message as programs see it.
#[derive(Debug, Serialize)]
pub struct PlannedRecord<'a> {
    pub seq: usize,
    pub at: String,
    pub local: String,
    pub account: &'a str,
    pub recipient: &'a str,
    pub line: u64,
    pub priority: i64,
    pub template: &'a str,
    pub subject: Option<String>,
    pub body: String,
}

fn record<'a>(campaign: &'a Campaign, seq: usize, slot: &Slot) -> io::Result<PlannedRecord<'a>> {
    let message = &campaign.messages[slot.id];
    let rendered = campaign.render(message).map_err(io::Error::other)?;
    Ok(PlannedRecord {
        seq,
        at: slot.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        local: slot
            .at
            .with_timezone(&campaign.spec.timezone)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        account: &campaign.accounts[slot.account].name,
        recipient: campaign.recipient(message),
        line: campaign.line(message),
        priority: message.priority,
        template: campaign.template_name(message),
        subject: rendered.subject,
        body: rendered.body,
    })
}

/// Write every planned message as JSON Lines.
pub fn write_json(out: &mut dyn Write, campaign: &Campaign, slots: &[Slot]) -> io::Result<()> {
    for (seq, slot) in slots.iter().enumerate() {
        serde_json::to_writer(&mut *out, &record(campaign, seq, slot)?)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Write every planned message as CSV with a header row.
pub fn write_csv(out: &mut dyn Write, campaign: &Campaign, slots: &[Slot]) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    for (seq, slot) in slots.iter().enumerate() {
        writer
            .serialize(record(campaign, seq, slot)?)
            .map_err(io::Error::other)?;
    }
    writer.flush()
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
    let rows: Vec<[String; 5]> = slots[..shown]
        .iter()
        .enumerate()
        .map(|(seq, slot)| {
            let message = &campaign.messages[slot.id];
            let text = campaign
                .render(message)
                .map(|r| r.subject.filter(|s| !s.is_empty()).unwrap_or(r.body))
                .unwrap_or_default();
            [
                (seq + 1).to_string(),
                local_time(slot.at, zone),
                campaign.accounts[slot.account].name.clone(),
                campaign.recipient(message).to_string(),
                excerpt(&text, 48),
            ]
        })
        .collect();
    let headers = ["#", "when", "account", "recipient", "message"];
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| -> String {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index == 4 {
                text.push_str(cell);
            } else {
                text.push_str(&pad(cell, widths[index]));
                text.push_str("  ");
            }
        }
        text.trim_end().to_string()
    };
    writeln!(out, "{}", line(headers))?;
    for row in &rows {
        writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3], &row[4]])
        )?;
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

/// The summary block: counts, accounts and rates, first and last send, duration.
pub fn write_summary(out: &mut dyn Write, campaign: &Campaign, slots: &[Slot]) -> io::Result<()> {
    let zone = &campaign.spec.timezone;
    let accounts: Vec<String> = campaign
        .accounts
        .iter()
        .enumerate()
        .map(|(index, account)| {
            let count = slots.iter().filter(|slot| slot.account == index).count();
            let cap = account
                .daily_cap
                .map(|cap| format!(", at most {cap}/day"))
                .unwrap_or_default();
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
    let first = slots.first().map(|s| s.at);
    let last = slots.last().map(|s| s.at);
    if let (Some(first), Some(last)) = (first, last) {
        writeln!(out, "  first send  {}", local_time(first, zone))?;
        writeln!(out, "  last send   {}", local_time(last, zone))?;
        writeln!(out, "  duration    {}", human_duration(last - first))?;
    }
    if !campaign.spec.windows.is_always_open() {
        writeln!(out, "  windows     {} ({zone})", campaign.spec.windows)?;
    }
    if campaign.spec.jitter > 0.0 {
        writeln!(
            out,
            "  jitter      up to {}% of the interval",
            campaign.spec.jitter * 100.0
        )?;
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
