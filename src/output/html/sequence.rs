//! The report's sequence section: each step's messages by state, and the
//! people stopped, by reason. Shown for a sequence (`[[steps]]`), and the
//! stops for any campaign that has some.

use std::fmt::Write;

use super::HtmlReport;
use super::markup::{Esc, count};

fn num(out: &mut String, n: u64) {
    let _ = write!(out, "<td class=\"num\">{}</td>", count(n));
}

/// The section, or nothing when there is neither a sequence nor a stop.
pub fn steps_and_stops(out: &mut String, report: &HtmlReport) {
    if report.steps.is_empty() && report.stopped.is_empty() {
        return;
    }
    out.push_str("<section id=\"sequence\"><h2>Steps and stops</h2>");
    if !report.steps.is_empty() {
        out.push_str(
            "<table class=\"data\" id=\"steps\"><thead><tr><th>step</th><th>due</th>\
             <th>messages</th><th>sent</th><th>pending</th><th>waiting for the step before</th>\
             <th>failed</th><th>uncertain</th><th>skipped</th></tr></thead><tbody>",
        );
        for step in &report.steps {
            let due = match report.step_delays.get(step.step.saturating_sub(1) as usize) {
                Some(Some(after)) => format!("{after} after step {}", step.step - 1),
                _ => "as planned".to_string(),
            };
            let counts = &step.counts;
            let _ = write!(
                out,
                "<tr data-step=\"{}\"><td>{}</td><td>{}</td>",
                step.step,
                step.step,
                Esc(&due)
            );
            for n in [
                counts.total,
                counts.sent,
                counts.pending,
                step.waiting,
                counts.failed,
                counts.uncertain,
                counts.skipped,
            ] {
                num(out, n);
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    if !report.stopped.is_empty() {
        out.push_str(
            "<table class=\"data\" id=\"stops\"><thead><tr><th>stopped because</th>\
             <th>messages not sent</th></tr></thead><tbody>",
        );
        for (reason, skipped) in &report.stopped {
            let _ = write!(out, "<tr><td>{}</td>", Esc(reason));
            num(out, *skipped);
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}
