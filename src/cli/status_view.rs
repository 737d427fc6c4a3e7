//! What `outreach status` prints for one journal, as text or JSON: the
//! counts as a person should read them (a stopped sender has nothing in
//! flight), whether a sender is running, the next send, the ETA and a line
//! per account; for a campaign in PostgreSQL, its leases and live workers
//! (`lease_view`).

use std::io::Write;

use chrono::Utc;
use serde_json::{Value, json};

use super::lease_view::{leases_json, write_leases};

use crate::journal::pg_holders::Holders;
use crate::journal::{AnyStore, CampaignStore, StateCounts, StepCounts, StopStore};
use crate::options::system_timezone;
use crate::output::text::{excerpt, human_duration, local_time, pad};
use crate::state::location::Location;
use crate::state::saved::SavedOptions;
pub use crate::state::standing::Sender;
use crate::state::standing::{eta, shown_counts};

/// The `sender` line: running, stopped with work left, or finished.
fn sender_text(sender: Sender, counts: &StateCounts, location: &Location) -> String {
    match sender {
        Sender::Running { pid: Some(pid) } => format!("running (pid {pid})"),
        Sender::Running { pid: None } => "running".to_string(),
        Sender::Workers { count } => format!("running on {count} worker(s)"),
        Sender::Stopped if counts.pending + counts.in_flight > 0 => match location {
            // Recorded with `send --detach`, or a `send` that stopped: either
            // way workers can take it, or one process can.
            Location::Postgres { .. } => format!(
                "waiting (no sender or worker running); start `{}` on any machine, or continue here with `outreach resume {}`",
                location.worker_command(),
                location.flags()
            ),
            Location::File(_) => format!(
                "stopped (no sender running); continue with `outreach resume {}`",
                location.flags()
            ),
        },
        Sender::Stopped => "finished (nothing left to send)".to_string(),
    }
}

fn sender_json(sender: Sender, counts: &StateCounts) -> &'static str {
    match sender {
        Sender::Running { .. } | Sender::Workers { .. } => "running",
        Sender::Stopped if counts.pending + counts.in_flight > 0 => "stopped",
        Sender::Stopped => "finished",
    }
}

/// Write the status view of one journal; returns its counts as stored.
pub(super) fn write_status(
    out: &mut dyn Write,
    location: &Location,
    store: &AnyStore,
    as_json: bool,
    sender: Sender,
    holders: Option<&Holders>,
) -> anyhow::Result<StateCounts> {
    let meta = store.campaign()?;
    let saved: Option<SavedOptions> = meta.as_ref().and_then(|m| SavedOptions::of(m).ok());
    let summary = store.summary()?;
    let stopped = store.stopped_by_reason()?;
    let steps = match &saved {
        Some(saved) if saved.steps.len() > 1 => store.step_counts()?,
        _ => Vec::new(),
    };
    let now = Utc::now();
    // Nothing will be sent until someone runs `resume`: no time to promise.
    let (eta, next) = if sender.running() {
        (
            eta(&summary, saved.as_ref(), now),
            summary.accounts.iter().filter_map(|a| a.next_planned).min(),
        )
    } else {
        (None, None)
    };
    if as_json {
        let counts = &summary.counts;
        let mut value = json!({
            "journal": location.to_string(),
            "campaign_id": meta.as_ref().map(|m| m.campaign_id.clone()),
            "csv": meta.as_ref().map(|m| m.csv_path.clone()),
            "sender": sender_json(sender, counts),
            "sender_pid": match sender { Sender::Running { pid } => pid, _ => None },
            "total": counts.total,
            "pending": counts.pending,
            "in_flight": counts.in_flight,
            "sent": counts.sent,
            "failed": counts.failed,
            "uncertain": counts.uncertain,
            "skipped": counts.skipped,
            "stopped": stopped_json(&stopped),
            "steps": steps,
            "next_send": next,
            "eta": eta,
            "accounts": summary.accounts,
        });
        if let (Some(holders), Some(object)) = (holders, value.as_object_mut())
            && let Value::Object(leases) = leases_json(holders)
        {
            object.extend(leases);
        }
        serde_json::to_writer_pretty(&mut *out, &value)?;
        writeln!(out)?;
        return Ok(summary.counts);
    }
    let zone = saved
        .as_ref()
        .map_or_else(system_timezone, SavedOptions::zone);
    let stored = summary.counts;
    let counts = shown_counts(stored, sender);
    if let Some(meta) = &meta {
        writeln!(out, "Campaign {} for {}", meta.campaign_id, meta.csv_path)?;
        writeln!(out, "  started   {}", local_time(meta.created_at, &zone))?;
    }
    writeln!(out, "  journal   {location}")?;
    writeln!(
        out,
        "  sender    {}",
        sender_text(sender, &stored, location)
    )?;
    writeln!(out, "  messages  {}", messages_text(&counts, sender))?;
    if !stopped.is_empty() {
        writeln!(out, "  stopped   {}", stopped_text(&stopped))?;
    }
    for (index, step) in steps.iter().enumerate() {
        let label = if index == 0 { "  steps" } else { "" };
        writeln!(out, "{label:<12}{}", step_text(step))?;
    }
    if let Some(next) = next.filter(|_| counts.pending > 0) {
        writeln!(out, "  next send {}", local_time(next.max(now), &zone))?;
    }
    if let Some(eta) = eta {
        writeln!(
            out,
            "  ETA       {} (in {})",
            local_time(eta, &zone),
            human_duration(eta - now)
        )?;
    }
    writeln!(out)?;
    let header = [
        "account",
        "sent",
        "pending",
        "failed",
        "uncertain",
        "429s",
        "quota",
        "last error",
    ];
    let rows: Vec<[String; 8]> = summary
        .accounts
        .iter()
        .map(|account| {
            let quota = account.rate_limit.map_or_else(String::new, |quota| {
                let remaining = quota.remaining.map_or("?".to_string(), |r| r.to_string());
                let limit = quota.limit.map_or(String::new(), |l| format!("/{l}"));
                let reset = quota.reset_at.map_or(String::new(), |reset| {
                    format!(", resets {}", reset.with_timezone(&zone).format("%H:%M:%S"))
                });
                format!("{remaining}{limit} left{reset}")
            });
            let shown = shown_counts(account.counts, sender);
            [
                account.account.clone(),
                shown.sent.to_string(),
                (shown.pending + shown.in_flight).to_string(),
                shown.failed.to_string(),
                shown.uncertain.to_string(),
                account.throttled.to_string(),
                quota,
                account
                    .last_error
                    .as_deref()
                    .map(|e| excerpt(e, 50))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| pad(cell, width))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    if let Some(holders) = holders {
        write_leases(out, holders, &zone)?;
    }
    if !sender.running() && stored.in_flight > 0 {
        writeln!(
            out,
            "\n{} message(s) were in flight when the sender stopped: their request may have arrived, \
             so they count as uncertain. `outreach resume` records them so and does not send them again.",
            stored.in_flight
        )?;
    }
    if counts.uncertain > 0 {
        writeln!(
            out,
            "\n{} message(s) are uncertain: their request may have arrived. See `outreach report`; \
             `outreach resume --resend-uncertain` sends them again with the same Idempotency-Key.",
            counts.uncertain
        )?;
    }
    Ok(stored)
}

/// `6 total: 1 sent, 4 pending, ...`; in flight only while a sender runs.
fn messages_text(counts: &StateCounts, sender: Sender) -> String {
    let in_flight = if sender.running() {
        format!(", {} in flight", counts.in_flight)
    } else {
        String::new()
    };
    format!(
        "{} total: {} sent, {} pending{in_flight}, {} failed, {} uncertain, {} skipped",
        counts.total, counts.sent, counts.pending, counts.failed, counts.uncertain, counts.skipped
    )
}

/// `2: 3 sent, 4 pending (3 due, 1 waiting for step 1), 1 skipped`: due
/// ones wait only for their delay or slot; the states a
/// step's messages are in, the empty ones left out.
fn step_text(step: &StepCounts) -> String {
    let counts = &step.counts;
    let mut parts = Vec::new();
    for (count, name) in [
        (counts.sent, "sent"),
        (counts.pending, "pending"),
        (counts.in_flight, "in flight"),
        (counts.failed, "failed"),
        (counts.uncertain, "uncertain"),
        (counts.skipped, "skipped"),
    ] {
        if count == 0 {
            continue;
        }
        if name == "pending" && step.waiting > 0 {
            parts.push(format!(
                "{count} pending ({} due, {} waiting for step {})",
                count.saturating_sub(step.waiting),
                step.waiting,
                step.step.saturating_sub(1)
            ));
        } else {
            parts.push(format!("{count} {name}"));
        }
    }
    format!("{}: {}", step.step, parts.join(", "))
}

/// `3 stopped by hand, 1 unsubscribed`: skipped messages of stopped people,
/// by reason.
fn stopped_text(stopped: &[(String, u64)]) -> String {
    stopped
        .iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn stopped_json(stopped: &[(String, u64)]) -> serde_json::Value {
    serde_json::Value::Object(
        stopped
            .iter()
            .map(|(reason, count)| (reason.clone(), json!(count)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_steps_line_says_what_is_due_and_what_waits_for_the_step_before() {
        let mut counts = StateCounts::default();
        counts.add(crate::journal::MessageState::Sent, 3);
        counts.add(crate::journal::MessageState::Pending, 4);
        counts.add(crate::journal::MessageState::Skipped, 1);
        let step = StepCounts {
            step: 2,
            counts,
            waiting: 1,
        };
        assert_eq!(
            step_text(&step),
            "2: 3 sent, 4 pending (3 due, 1 waiting for step 1), 1 skipped"
        );
    }

    use super::*;

    fn counts(pending: u64, in_flight: u64, uncertain: u64) -> StateCounts {
        StateCounts {
            total: pending + in_flight + uncertain + 2,
            pending,
            in_flight,
            sent: 2,
            uncertain,
            ..StateCounts::default()
        }
    }

    #[test]
    fn a_stopped_campaign_shows_its_in_flight_message_as_uncertain() {
        let stored = counts(3, 1, 0);
        let stopped = shown_counts(stored, Sender::Stopped);
        assert_eq!((stopped.in_flight, stopped.uncertain), (0, 1));
        assert_eq!(
            messages_text(&stopped, Sender::Stopped),
            "6 total: 2 sent, 3 pending, 0 failed, 1 uncertain, 0 skipped"
        );
        let path = Location::File("c.outreach.db".into());
        assert_eq!(
            sender_text(Sender::Stopped, &stored, &path),
            "stopped (no sender running); continue with `outreach resume --state c.outreach.db`"
        );
        assert_eq!(sender_json(Sender::Stopped, &stored), "stopped");
        // A campaign in PostgreSQL may be waiting for workers (`send --detach`).
        let shared = Location::Postgres {
            url: crate::journal::pg_url::DbUrl::parse("postgres://db.example/outreach").unwrap(),
            campaign: "q4".into(),
            from_env: true,
        };
        assert_eq!(
            sender_text(Sender::Stopped, &stored, &shared),
            "waiting (no sender or worker running); start `outreach worker` on any machine, or continue here with `outreach resume --campaign q4`"
        );
    }

    #[test]
    fn a_running_campaign_keeps_its_in_flight_count() {
        let stored = counts(3, 1, 0);
        let running = Sender::Running { pid: Some(7) };
        assert_eq!(shown_counts(stored, running), stored);
        assert_eq!(
            messages_text(&stored, running),
            "6 total: 2 sent, 3 pending, 1 in flight, 0 failed, 0 uncertain, 0 skipped"
        );
        assert_eq!(
            sender_text(running, &stored, &Location::File("c".into())),
            "running (pid 7)"
        );
        let done = counts(0, 0, 0);
        assert_eq!(
            sender_text(Sender::Stopped, &done, &Location::File("c".into())),
            "finished (nothing left to send)"
        );
    }
}
