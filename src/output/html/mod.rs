//! `outreach report --format html`: one self-contained page about a
//! campaign, finished, running or interrupted.
//!
//! The page needs nothing but itself: styles are inline, charts are inline
//! SVG drawn here, there is no script and no reference to any other file or
//! host, so it can be mailed, archived or opened offline. Every text that
//! came from outside (recipients, accounts, reasons, paths) is escaped.
//!
//! Size stays bounded whatever the campaign's: series are aggregated by the
//! journal into at most [`Settings::max_buckets`] time slices, and the lists
//! of recipients and reasons are capped. 100,000 messages make a page of
//! well under a megabyte.
//!
//! # Architecture
//!
//! - this file: [`Settings`], [`HtmlReport`] (everything the page shows,
//!   read by [`gather`] in one journal snapshot) and [`render`];
//! - [`tables`]: messages by state, timing against plan, failure reasons,
//!   failed and uncertain recipients;
//! - [`sequence`]: each step's messages and the stops by reason;
//! - [`chart`]: one account's timeline; [`svg`]: scales, ticks, polylines;
//! - [`markup`]: escaping and formatting; `style.css`: the inline styles.

pub mod chart;
pub mod markup;
pub mod sequence;
pub mod svg;
pub mod tables;

use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::journal::{
    AccountDelays, AccountTimeline, Buckets, CampaignMeta, JournalError, Pause, ProblemMessage,
    Reasons, ReportStore, StatusSummary, StepCounts,
};
use crate::state::saved::SavedOptions;
use markup::{Esc, count, duration, time};

const STYLE: &str = include_str!("style.css");

/// How the page is made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The zone times are shown in.
    pub zone: Tz,
    /// When the report is made: marks "report time" on an unfinished
    /// campaign and ends its open pauses.
    pub now: DateTime<Utc>,
    /// Time slices per chart with up to four accounts; more accounts share
    /// four charts' worth, down to a quarter of it each, so the page stays
    /// small.
    pub max_buckets: usize,
    /// Failed and uncertain recipients listed.
    pub max_problems: usize,
    /// Distinct reasons listed per state.
    pub max_reasons: usize,
}

impl Settings {
    pub fn new(zone: Tz, now: DateTime<Utc>) -> Settings {
        Settings {
            zone,
            now,
            max_buckets: 600,
            max_problems: 500,
            max_reasons: 20,
        }
    }
}

/// Everything the page shows, read from one snapshot of the journal.
#[derive(Debug, Clone)]
pub struct HtmlReport {
    pub journal: String,
    pub meta: Option<CampaignMeta>,
    /// `(account, rate)` as the campaign was started, if its options parse.
    pub rates: Vec<(String, String)>,
    pub summary: StatusSummary,
    /// `None` when the campaign has no message.
    pub axis: Option<Buckets>,
    pub timelines: Vec<AccountTimeline>,
    pub pauses: Vec<Pause>,
    pub delays: Vec<AccountDelays>,
    pub reasons: Reasons,
    pub problems: Vec<ProblemMessage>,
    /// Per step of a sequence (empty without `[[steps]]`).
    pub steps: Vec<StepCounts>,
    /// Each step's `after` (None for step 1), by step - 1.
    pub step_delays: Vec<Option<crate::sequence::StepDelay>>,
    /// Messages skipped because their person was stopped, by reason.
    pub stopped: Vec<(String, u64)>,
    /// Stops recorded per time slice of `axis` (all accounts).
    pub stop_marks: Vec<u32>,
}

impl HtmlReport {
    /// The rate of `account`, or `""`.
    pub fn rate(&self, account: &str) -> &str {
        self.rates
            .iter()
            .find(|(name, _)| name == account)
            .map_or("", |(_, rate)| rate.as_str())
    }

    /// No message is pending or in flight.
    pub fn settled(&self) -> bool {
        let counts = &self.summary.counts;
        counts.pending == 0 && counts.in_flight == 0
    }

    /// The latest attempt or send of any account.
    pub fn last_activity(&self) -> Option<DateTime<Utc>> {
        self.delays
            .iter()
            .flat_map(|d| [d.attempted.map(|s| s.last), d.sent.map(|s| s.last)])
            .flatten()
            .max()
    }
}

/// How long `pause` lasted; an open one lasts until `now` while the
/// campaign is unfinished, and counts nothing once it is settled.
pub fn pause_length(pause: &Pause, settled: bool, now: DateTime<Utc>) -> TimeDelta {
    let until = match pause.until {
        Some(until) => until,
        None if settled => pause.from,
        None => now,
    };
    (until - pause.from).max(TimeDelta::zero())
}

/// Reads everything the page needs from `store` (either kind), in one
/// read transaction.
pub fn gather<S: ReportStore>(store: &S, settings: &Settings) -> Result<HtmlReport, JournalError> {
    store.snapshot(|store| {
        let meta = store.campaign()?;
        let saved = meta.as_ref().and_then(|meta| SavedOptions::of(meta).ok());
        let step_delays: Vec<Option<crate::sequence::StepDelay>> = saved
            .as_ref()
            .map(|saved| saved.steps.iter().map(|step| step.after).collect())
            .unwrap_or_default();
        let steps = if step_delays.len() > 1 {
            store.step_counts()?
        } else {
            Vec::new()
        };
        let rates = saved
            .as_ref()
            .map(|saved| {
                saved
                    .accounts
                    .iter()
                    .map(|a| (a.name.clone(), a.rate.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let summary = store.summary()?;
        let accounts = summary.accounts.len().max(4);
        let buckets = (settings.max_buckets * 4 / accounts).max(settings.max_buckets / 4);
        let axis = match store.activity_span()? {
            Some(span) => {
                // At least a minute, with a margin on both sides.
                let length = (span.last - span.first).max(TimeDelta::minutes(1));
                let margin = length / 50;
                Some(Buckets::covering(
                    span.first - margin,
                    span.first + length + margin,
                    buckets,
                )?)
            }
            None => None,
        };
        let timelines = match &axis {
            Some(axis) => store.timelines(axis)?,
            None => Vec::new(),
        };
        let stop_marks = match &axis {
            Some(axis) => store.stops_per_bucket(axis)?,
            None => Vec::new(),
        };
        Ok(HtmlReport {
            journal: store.journal_name(),
            meta,
            rates,
            summary,
            axis,
            timelines,
            pauses: store.pauses()?,
            delays: store.account_delays()?,
            reasons: store.problem_reasons(settings.max_reasons)?,
            problems: store.problem_messages(settings.max_problems)?,
            steps,
            step_delays,
            stopped: store.stopped_by_reason()?,
            stop_marks,
        })
    })
}

/// The whole page.
pub fn render(report: &HtmlReport, settings: &Settings) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let title = report
        .meta
        .as_ref()
        .map_or("no campaign".to_string(), |m| m.campaign_id.clone());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Outreach report: {}</title><style>{STYLE}</style></head><body>",
        Esc(&title)
    );
    header(&mut out, report, settings);
    out.push_str("<main>");
    if report.summary.counts.total == 0 {
        out.push_str("<p>The journal holds no messages yet.</p>");
    } else {
        body(&mut out, report, settings);
    }
    let _ = writeln!(
        out,
        "</main><footer>Made by outreach {} at {} ({}).</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        time(settings.now, &settings.zone),
        Esc(settings.zone.name())
    );
    out
}

fn header(out: &mut String, report: &HtmlReport, settings: &Settings) {
    let zone = &settings.zone;
    let _ = write!(out, "<header><h1>Outreach report");
    if let Some(meta) = &report.meta {
        let _ = write!(out, ": <span>{}</span>", Esc(&meta.campaign_id));
    }
    out.push_str("</h1><dl class=\"facts\">");
    let mut fact = |name: &str, value: String| {
        let _ = write!(out, "<dt>{name}</dt><dd>{value}</dd>");
    };
    let counts = &report.summary.counts;
    let status = if counts.total == 0 {
        "<span class=\"badge\">empty</span>".to_string()
    } else if report.settled() {
        "<span class=\"badge done\">finished</span>".to_string()
    } else {
        format!(
            "<span class=\"badge open\">not finished</span> {} pending, {} in flight: \
             still sending, or interrupted (<code>outreach resume</code> continues)",
            count(counts.pending),
            count(counts.in_flight)
        )
    };
    fact("status", status);
    if let Some(meta) = &report.meta {
        fact("CSV", format!("<code>{}</code>", Esc(&meta.csv_path)));
        fact("started", Esc(&time(meta.created_at, zone)).to_string());
    }
    fact("journal", format!("<code>{}</code>", Esc(&report.journal)));
    if let Some(last) = report.last_activity() {
        let ago = settings.now - last;
        let ago = if ago > TimeDelta::zero() {
            format!(" ({} before this report)", duration(ago))
        } else {
            String::new()
        };
        fact("last activity", format!("{}{ago}", time(last, zone)));
    }
    fact(
        "report made",
        format!(
            "{}, times in {}",
            time(settings.now, zone),
            Esc(zone.name())
        ),
    );
    out.push_str("</dl></header>");
}

fn body(out: &mut String, report: &HtmlReport, settings: &Settings) {
    out.push_str("<section id=\"summary\"><h2>Summary</h2>");
    tables::state_table(out, report);
    tables::timing_table(out, report, settings);
    out.push_str(
        "<p class=\"hint\">Throttled for: time from each 429 to the account's next attempt \
         (or the announced reset, if sooner). Quota waits: the same after a response that said \
         <code>Remaining: 0</code>. Delay behind plan: sent time minus planned time of each \
         sent message.</p></section>",
    );
    sequence::steps_and_stops(out, report);
    out.push_str("<section id=\"failures\"><h2>Why messages failed</h2>");
    tables::reasons_table(out, report);
    out.push_str("</section><section id=\"timelines\"><h2>Timelines</h2>");
    if let Some(axis) = &report.axis {
        let _ = write!(
            out,
            "<p class=\"hint\">One axis for all accounts, in {}; each chart slice is {}. \
             Hover over a mark for details.</p>",
            Esc(settings.zone.name()),
            duration(axis.width())
        );
        for timeline in &report.timelines {
            let pauses: Vec<Pause> = report
                .pauses
                .iter()
                .filter(|p| p.account == timeline.account)
                .cloned()
                .collect();
            let rate = report.rate(&timeline.account);
            let _ = write!(
                out,
                "<article class=\"account\"><h3>{}{}</h3>",
                Esc(&timeline.account),
                if rate.is_empty() {
                    String::new()
                } else {
                    format!(" <span class=\"rate\">{}</span>", Esc(rate))
                }
            );
            chart::account_chart(
                out,
                &chart::ChartInput {
                    axis,
                    timeline,
                    pauses: &pauses,
                    stops: &report.stop_marks,
                    now: settings.now,
                    settled: report.settled(),
                    zone: &settings.zone,
                },
            );
            out.push_str(chart::LEGEND);
            out.push_str("</article>");
        }
    }
    out.push_str("</section><section id=\"recipients\"><h2>Failed and uncertain recipients</h2>");
    tables::problems_table(out, report, settings);
    out.push_str("</section>");
}
