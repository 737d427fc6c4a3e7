//! The report's tables: messages by state, timing against the plan, failure
//! reasons, and the failed and uncertain recipients.
//!
//! Rows carry `data-account` (empty for the totals row) so tests and
//! scripts can find them; cells hold formatted numbers.

use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Utc};

use super::markup::{Esc, count, duration, quantile, short_time};
use super::{HtmlReport, Settings, pause_length};
use crate::journal::{AccountDelays, MessageState, PauseCause, ProblemMessage, Span, StateCounts};
use crate::output::text::excerpt;

/// One row of the timing table: an account, or all of them.
struct Timing<'a> {
    name: &'a str,
    throttled: u64,
    throttled_for: TimeDelta,
    quota_waits: usize,
    quota_wait_for: TimeDelta,
    planned: Option<Span>,
    attempted: Option<Span>,
    sent: Option<Span>,
    delays: Vec<TimeDelta>,
}

fn merge(a: Option<Span>, b: Option<Span>) -> Option<Span> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Span {
            first: a.first.min(b.first),
            last: a.last.max(b.last),
        }),
        (a, b) => a.or(b),
    }
}

fn cell(out: &mut String, text: &str) {
    let _ = write!(out, "<td>{}</td>", Esc(text));
}

fn num(out: &mut String, n: u64) {
    let _ = write!(out, "<td class=\"num\">{}</td>", count(n));
}

/// Messages by state, per account and in total.
pub fn state_table(out: &mut String, report: &HtmlReport) {
    out.push_str(
        "<table class=\"data\" id=\"states\"><thead><tr><th>account</th><th>rate</th>\
         <th>messages</th><th>sent</th><th>failed</th><th>uncertain</th><th>skipped</th>\
         <th>pending</th><th>in flight</th></tr></thead><tbody>",
    );
    let row = |out: &mut String, name: &str, rate: &str, counts: &StateCounts| {
        let _ = write!(out, "<tr data-account=\"{}\">", Esc(name));
        cell(
            out,
            if name.is_empty() {
                "all accounts"
            } else {
                name
            },
        );
        cell(out, rate);
        for n in [
            counts.total,
            counts.sent,
            counts.failed,
            counts.uncertain,
            counts.skipped,
            counts.pending,
            counts.in_flight,
        ] {
            num(out, n);
        }
        out.push_str("</tr>");
    };
    for account in &report.summary.accounts {
        row(
            out,
            &account.account,
            report.rate(&account.account),
            &account.counts,
        );
    }
    out.push_str("</tbody><tfoot>");
    row(out, "", "", &report.summary.counts);
    out.push_str("</tfoot></table>");
}

/// 429s, pauses and how the sends ran against the plan.
pub fn timing_table(out: &mut String, report: &HtmlReport, settings: &Settings) {
    out.push_str(
        "<table class=\"data\" id=\"timing\"><thead><tr><th>account</th><th>429s</th>\
         <th>throttled for</th><th>quota waits</th><th>planned</th><th>actual</th>\
         <th>end vs plan</th><th>delay: median · p95 · max</th></tr></thead><tbody>",
    );
    let settled = report.settled();
    let date = |at: DateTime<Utc>| at.with_timezone(&settings.zone).date_naive();
    let one_day = report
        .axis
        .is_none_or(|axis| date(axis.start()) == date(axis.end()));
    let mut total = Timing {
        name: "",
        throttled: 0,
        throttled_for: TimeDelta::zero(),
        quota_waits: 0,
        quota_wait_for: TimeDelta::zero(),
        planned: None,
        attempted: None,
        sent: None,
        delays: Vec::new(),
    };
    for account in &report.summary.accounts {
        let delays = report.delays.iter().find(|d| d.account == account.account);
        let mut timing = Timing {
            name: &account.account,
            throttled: account.throttled,
            ..timing_of(delays)
        };
        for pause in report
            .pauses
            .iter()
            .filter(|p| p.account == account.account)
        {
            let length = pause_length(pause, settled, settings.now);
            match pause.cause {
                PauseCause::Throttled => timing.throttled_for += length,
                PauseCause::QuotaUsedUp => {
                    timing.quota_waits += 1;
                    timing.quota_wait_for += length;
                }
            }
        }
        timing_row(out, &timing, settled, one_day, settings);
        total.throttled += timing.throttled;
        total.throttled_for += timing.throttled_for;
        total.quota_waits += timing.quota_waits;
        total.quota_wait_for += timing.quota_wait_for;
        total.planned = merge(total.planned, timing.planned);
        total.attempted = merge(total.attempted, timing.attempted);
        total.sent = merge(total.sent, timing.sent);
        total.delays.extend(timing.delays);
    }
    total.delays.sort_unstable();
    out.push_str("</tbody><tfoot>");
    timing_row(out, &total, settled, one_day, settings);
    out.push_str("</tfoot></table>");
}

fn timing_of(delays: Option<&AccountDelays>) -> Timing<'static> {
    Timing {
        name: "",
        throttled: 0,
        throttled_for: TimeDelta::zero(),
        quota_waits: 0,
        quota_wait_for: TimeDelta::zero(),
        planned: delays.and_then(|d| d.planned),
        attempted: delays.and_then(|d| d.attempted),
        sent: delays.and_then(|d| d.sent),
        delays: delays.map(|d| d.delays.clone()).unwrap_or_default(),
    }
}

/// `09:00:00 → 09:33:00 (33m)`, or `Nov 30 09:00 → Dec 02 17:00 (2d 8h)`
/// when the campaign spans days.
fn span_text(span: Option<Span>, settings: &Settings, one_day: bool) -> String {
    let at = |at: DateTime<Utc>| {
        if one_day {
            at.with_timezone(&settings.zone)
                .format("%H:%M:%S")
                .to_string()
        } else {
            at.with_timezone(&settings.zone)
                .format("%b %d %H:%M")
                .to_string()
        }
    };
    span.map_or_else(
        || "—".to_string(),
        |span| {
            format!(
                "{} → {} ({})",
                at(span.first),
                at(span.last),
                duration(span.last - span.first)
            )
        },
    )
}

fn timing_row(
    out: &mut String,
    timing: &Timing<'_>,
    settled: bool,
    one_day: bool,
    settings: &Settings,
) {
    let _ = write!(out, "<tr data-account=\"{}\">", Esc(timing.name));
    cell(
        out,
        if timing.name.is_empty() {
            "all accounts"
        } else {
            timing.name
        },
    );
    num(out, timing.throttled);
    cell(out, &duration(timing.throttled_for));
    if timing.quota_waits == 0 {
        cell(out, "0");
    } else {
        cell(
            out,
            &format!(
                "{} ({})",
                timing.quota_waits,
                duration(timing.quota_wait_for)
            ),
        );
    }
    cell(out, &span_text(timing.planned, settings, one_day));
    // The actual run: first attempt to the last attempt or send.
    let actual = timing.attempted.map(|attempted| Span {
        first: attempted.first,
        last: timing
            .sent
            .map_or(attempted.last, |sent| sent.last.max(attempted.last)),
    });
    let mut actual_text = span_text(actual, settings, one_day);
    if !settled && actual.is_some() {
        actual_text.push_str(", so far");
    }
    cell(out, &actual_text);
    let end = match (timing.planned, actual) {
        (Some(planned), Some(actual)) if settled => signed(actual.last - planned.last),
        _ => "—".to_string(),
    };
    cell(out, &end);
    let delays = &timing.delays;
    let stats = match (
        quantile(delays, 0.5),
        quantile(delays, 0.95),
        delays.last().copied(),
    ) {
        (Some(median), Some(p95), Some(max)) => {
            format!("{} · {} · {}", signed(median), signed(p95), signed(max))
        }
        _ => "—".to_string(),
    };
    cell(out, &stats);
    out.push_str("</tr>");
}

/// `+5m 10s` late or `-2s` early.
fn signed(delta: TimeDelta) -> String {
    if delta > TimeDelta::zero() {
        format!("+{}", duration(delta))
    } else {
        duration(delta)
    }
}

/// Failed and uncertain messages counted by reason.
pub fn reasons_table(out: &mut String, report: &HtmlReport) {
    let reasons = &report.reasons;
    if reasons.top.is_empty() {
        out.push_str("<p class=\"good\">No message failed and none is uncertain.</p>");
        return;
    }
    out.push_str(
        "<table class=\"data\" id=\"reasons\"><thead><tr><th>state</th><th>reason</th>\
         <th>messages</th></tr></thead><tbody>",
    );
    for reason in &reasons.top {
        let _ = write!(out, "<tr class=\"{}\">", reason.state);
        cell(out, reason.state.as_str());
        cell(
            out,
            reason.reason.as_deref().unwrap_or("(no reason recorded)"),
        );
        num(out, reason.count);
        out.push_str("</tr>");
    }
    for (state, other) in [
        (MessageState::Failed, reasons.other_failed),
        (MessageState::Uncertain, reasons.other_uncertain),
    ] {
        if other > 0 {
            let _ = write!(out, "<tr class=\"{state}\">");
            cell(out, state.as_str());
            cell(out, "(other reasons)");
            num(out, other);
            out.push_str("</tr>");
        }
    }
    out.push_str("</tbody></table>");
}

/// The failed and uncertain recipients, capped, with how many were left out.
pub fn problems_table(out: &mut String, report: &HtmlReport, settings: &Settings) {
    let counts = &report.summary.counts;
    let total = counts.failed + counts.uncertain;
    if total == 0 {
        out.push_str("<p class=\"good\">None.</p>");
        return;
    }
    let shown = report.problems.len() as u64;
    if shown < total {
        let _ = write!(
            out,
            "<p>The first {} of {} (by plan order); {} more are in \
             <code>outreach report --format csv</code>.</p>",
            count(shown),
            count(total),
            count(total - shown)
        );
    }
    out.push_str(
        "<table class=\"data\" id=\"problems\"><thead><tr><th>seq</th><th>line</th>\
         <th>recipient</th><th>account</th><th>state</th><th>attempts</th><th>last status</th>\
         <th>last attempt</th><th>reason</th></tr></thead><tbody>",
    );
    for problem in &report.problems {
        problem_row(out, problem, settings);
    }
    out.push_str("</tbody></table>");
}

fn problem_row(out: &mut String, problem: &ProblemMessage, settings: &Settings) {
    let _ = write!(out, "<tr class=\"{}\">", problem.state);
    num(out, problem.seq);
    num(out, problem.line);
    cell(out, &problem.recipient);
    cell(out, &problem.account);
    cell(out, problem.state.as_str());
    num(out, problem.attempts.into());
    cell(
        out,
        &problem.last_status.map_or(String::new(), |s| s.to_string()),
    );
    let at: Option<DateTime<Utc>> = problem.last_attempt_at;
    cell(
        out,
        &at.map_or(String::new(), |at| short_time(at, &settings.zone)),
    );
    cell(
        out,
        &problem
            .reason
            .as_deref()
            .map_or(String::new(), |r| excerpt(r, 300)),
    );
    out.push_str("</tr>");
}
