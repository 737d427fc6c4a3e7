//! One account's chart: planned vs sent over time, its pauses, its 429s and
//! errors, and the quota the server reported.
//!
//! Layout, top to bottom, on one time axis shared by every account:
//!
//! 1. cumulative messages: the plan (dashed) and the sends (solid); the
//!    horizontal gap between them is how late the sends ran. Pauses are
//!    shaded behind them: red after a 429, amber after `Remaining: 0`.
//! 2. a strip of marks per bucket: 429 responses, failed attempts that were
//!    retried, and failed attempts that were a message's last.
//! 3. the server's `Remaining` quota: the range within each bucket as a band
//!    and the latest value as a line.
//!
//! Every mark has a `<title>`, which browsers show as a tooltip.

use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::markup::{Esc, TimeLabels, count, duration};
use super::svg::{Points, XScale, YScale, count_ticks, opacity, time_ticks};
use crate::journal::{AccountTimeline, Buckets, Pause, PauseCause};

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const MAIN_TOP: f64 = 14.0;
const MAIN_HEIGHT: f64 = 180.0;
const STRIP_TOP: f64 = 204.0;
const STRIP_ROW: f64 = 14.0;
const QUOTA_TOP: f64 = 266.0;
const QUOTA_HEIGHT: f64 = 70.0;
const HEIGHT: f64 = 358.0;
/// The widest band that merged pauses make, so dense stretches keep their shape.
const MAX_BAND: f64 = 8.0;

/// What one chart shows.
pub struct ChartInput<'a> {
    pub axis: &'a Buckets,
    pub timeline: &'a AccountTimeline,
    /// This account's pauses, in time order.
    pub pauses: &'a [Pause],
    /// Stops recorded per bucket (people stopped; all accounts).
    pub stops: &'a [u32],
    pub now: DateTime<Utc>,
    /// No message is pending or in flight: nothing more will happen.
    pub settled: bool,
    pub zone: &'a Tz,
}

/// Appends the `<svg>` of one account.
pub fn account_chart(out: &mut String, input: &ChartInput<'_>) {
    let axis = input.axis;
    let x = XScale::new(axis.start(), axis.end(), LEFT, WIDTH - LEFT - RIGHT);
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"Timeline of account {}\">",
        Esc(&input.timeline.account)
    );
    let now = (!input.settled)
        .then_some(input.now)
        .filter(|&now| axis.index_of(now).is_some());
    time_grid(out, &x, input.zone);
    main_panel(out, &x, input, now);
    marks_strip(out, &x, input);
    quota_panel(out, &x, input);
    if let Some(now) = now {
        let nx = x.x(now);
        let _ = write!(
            out,
            "<line class=\"now\" x1=\"{nx:.1}\" x2=\"{nx:.1}\" y1=\"{MAIN_TOP}\" y2=\"{}\"/>\
             <text class=\"note\" x=\"{:.1}\" y=\"{}\">report time</text>",
            QUOTA_TOP + QUOTA_HEIGHT,
            nx + 3.0,
            MAIN_TOP + 10.0
        );
    }
    out.push_str("</svg>");
}

/// The legend under every chart.
pub const LEGEND: &str = "<ul class=\"legend\">\
<li><span class=\"sw planned\"></span>planned (cumulative)</li>\
<li><span class=\"sw sent\"></span>sent (cumulative)</li>\
<li><span class=\"sw follow-ups\"></span>follow-ups sent (cumulative; sequences)</li>\
<li><span class=\"sw mark-stop\"></span>people stopped (all accounts)</li>\
<li><span class=\"sw pause-throttled\"></span>paused after a 429</li>\
<li><span class=\"sw pause-quota\"></span>paused: quota used up</li>\
<li><span class=\"sw mark-throttled\"></span>429 responses</li>\
<li><span class=\"sw mark-retried\"></span>errors, retried</li>\
<li><span class=\"sw mark-failed\"></span>errors on a message's last try (it failed, or is uncertain: may have arrived)</li>\
<li><span class=\"sw quota\"></span>quota left (band: range per slice)</li></ul>";

fn time_grid(out: &mut String, x: &XScale, zone: &Tz) {
    let bottom = QUOTA_TOP + QUOTA_HEIGHT;
    for (at, label) in time_ticks(x.start, x.end, zone, 8) {
        let tx = x.x(at);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{MAIN_TOP}\" y2=\"{bottom}\"/>\
             <text class=\"tick\" x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            bottom + 16.0,
            Esc(&label)
        );
    }
}

fn y_grid(out: &mut String, x: &XScale, y: &YScale, ticks: &[u64]) {
    for &tick in ticks {
        let ty = y.y(tick as f64);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x.right(),
            LEFT - 6.0,
            ty + 4.0,
            count(tick)
        );
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        x.right(),
        y.bottom(),
        y.bottom()
    );
}

fn main_panel(out: &mut String, x: &XScale, input: &ChartInput<'_>, now: Option<DateTime<Utc>>) {
    let timeline = input.timeline;
    let axis = input.axis;
    let planned_total: u64 = timeline.planned.iter().map(|&n| u64::from(n)).sum();
    let sent_total: u64 = timeline.sent.iter().map(|&n| u64::from(n)).sum();
    let (ticks, top) = count_ticks(planned_total.max(sent_total), 4);
    let y = YScale {
        top: MAIN_TOP,
        height: MAIN_HEIGHT,
        max: top as f64,
    };
    y_grid(out, x, &y, &ticks);
    let open_end = now.unwrap_or(axis.end());
    pause_bands(out, x, input, PauseCause::Throttled, open_end);
    pause_bands(out, x, input, PauseCause::QuotaUsedUp, open_end);

    let cumulative = |values: &[u32], upto: usize| {
        let mut points = Points::default();
        points.push(x.left, y.y(0.0));
        let mut sum = 0u64;
        for (index, &n) in values.iter().enumerate().take(upto) {
            sum += u64::from(n);
            points.push(x.x(axis.bucket_start(index + 1)), y.y(sum as f64));
        }
        points
    };
    cumulative(&timeline.planned, axis.count()).write_polyline(out, "planned");
    let last_sent = timeline.sent.iter().rposition(|&n| n > 0).map(|i| i + 1);
    let now_bucket = now.and_then(|now| axis.index_of(now)).map(|i| i + 1);
    if let Some(upto) = last_sent.max(now_bucket) {
        cumulative(&timeline.sent, upto).write_polyline(out, "sent");
    }
    // A sequence's follow-ups, and the moments people were stopped.
    if let Some(upto) = timeline.follow_ups.iter().rposition(|&n| n > 0) {
        cumulative(&timeline.follow_ups, upto + 1).write_polyline(out, "follow-ups");
    }
    let clock = TimeLabels::new(axis, input.zone);
    for (index, &n) in input.stops.iter().enumerate().filter(|(_, n)| **n > 0) {
        let from = axis.bucket_start(index);
        let sx = x.x(from);
        let _ = write!(
            out,
            "<path class=\"mark-stop\" d=\"M{:.1} {MAIN_TOP} l4 7 l-8 0 z\">\
             <title>{n} stopped, {}</title></path>",
            sx,
            Esc(&clock.at(from))
        );
    }
    let _ = write!(
        out,
        "<text class=\"note\" x=\"{:.1}\" y=\"{:.1}\">{} planned · {} sent</text>",
        LEFT + 6.0,
        MAIN_TOP + 12.0,
        count(planned_total),
        count(sent_total)
    );
}

/// Consecutive pauses closer than half a unit on screen, drawn as one band
/// of at most [`MAX_BAND`] units unless a single pause is longer.
struct Band {
    x0: f64,
    x1: f64,
    pauses: usize,
    total: TimeDelta,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

fn pause_bands(
    out: &mut String,
    x: &XScale,
    input: &ChartInput<'_>,
    cause: PauseCause,
    open_end: DateTime<Utc>,
) {
    let mut bands: Vec<Band> = Vec::new();
    for pause in input.pauses.iter().filter(|p| p.cause == cause) {
        let until = pause.until.unwrap_or(open_end).max(pause.from);
        let x0 = x.x(pause.from);
        let x1 = x.x(until).max(x0 + 1.0);
        match bands.last_mut() {
            Some(band) if x0 <= band.x1 + 0.5 && x1 - band.x0 <= MAX_BAND => {
                band.x1 = band.x1.max(x1);
                band.pauses += 1;
                band.total += until - pause.from;
                band.until = band.until.max(until);
            }
            _ => bands.push(Band {
                x0,
                x1,
                pauses: 1,
                total: until - pause.from,
                from: pause.from,
                until,
            }),
        }
    }
    if bands.is_empty() {
        return;
    }
    let (class, why) = match cause {
        PauseCause::Throttled => ("pause-throttled", "after a 429"),
        PauseCause::QuotaUsedUp => ("pause-quota", "quota used up"),
    };
    let clock = TimeLabels::new(input.axis, input.zone);
    let _ = write!(out, "<g class=\"{class}\">");
    for band in bands {
        let what = if band.pauses == 1 {
            format!("paused {}, {why}", duration(band.total))
        } else {
            format!(
                "{} pauses, {why}, {} in all",
                band.pauses,
                duration(band.total)
            )
        };
        // A band of many short pauses is as opaque as they fill it.
        let covered = band.total.num_milliseconds() as f64
            / 1000.0
            / ((band.x1 - band.x0) * x.seconds_per_unit());
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{MAIN_TOP}\" width=\"{:.1}\" height=\"{MAIN_HEIGHT}\"{}>\
             <title>{what}: {}</title></rect>",
            band.x0,
            band.x1 - band.x0,
            opacity(covered.clamp(0.3, 1.0)),
            clock.range(band.from, band.until)
        );
    }
    out.push_str("</g>");
}

fn marks_strip(out: &mut String, x: &XScale, input: &ChartInput<'_>) {
    let timeline = input.timeline;
    let axis = input.axis;
    let clock = TimeLabels::new(input.axis, input.zone);
    let bucket_width = (x.width / axis.count() as f64).max(1.5);
    let rows: [(&str, &str, &[u32]); 3] = [
        ("429", "× 429", &timeline.throttled),
        ("retried", "failed, retried", &timeline.retried),
        // The last try of a failed *or an uncertain* message: not "given
        // up", since an uncertain one may have arrived.
        (
            "last try",
            "errors on the last try (failed, or uncertain: may have arrived)",
            &timeline.errors,
        ),
    ];
    for (row, (label, what, values)) in rows.into_iter().enumerate() {
        let top = STRIP_TOP + row as f64 * STRIP_ROW;
        let class = ["mark-throttled", "mark-retried", "mark-failed"][row];
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\
             <line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            LEFT - 6.0,
            top + 9.0,
            x.right(),
            top + 5.0,
            top + 5.0
        );
        let max = values.iter().copied().max().unwrap_or(0);
        if max == 0 {
            let _ = write!(
                out,
                "<text class=\"note\" x=\"{:.1}\" y=\"{:.1}\">none</text>",
                LEFT + 6.0,
                top + 9.0
            );
            continue;
        }
        let _ = write!(
            out,
            "<g class=\"{class}\" transform=\"translate(0 {top})\">"
        );
        for (index, &n) in values.iter().enumerate().filter(|(_, n)| **n > 0) {
            let from = axis.bucket_start(index);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" width=\"{bucket_width:.1}\" height=\"10\"{}>\
                 <title>{n} {what}, {}</title></rect>",
                x.x(from),
                opacity(0.35 + 0.65 * f64::from(n) / f64::from(max)),
                clock.range(from, axis.bucket_start(index + 1))
            );
        }
        out.push_str("</g>");
    }
}

fn quota_panel(out: &mut String, x: &XScale, input: &ChartInput<'_>) {
    let axis = input.axis;
    let quota: Vec<_> = input
        .timeline
        .quota
        .iter()
        .enumerate()
        .filter_map(|(index, q)| q.map(|q| (index, q)))
        .collect();
    if quota.is_empty() {
        let _ = write!(
            out,
            "<text class=\"note\" x=\"{:.1}\" y=\"{:.1}\">quota: the server sent no rate-limit headers</text>",
            LEFT + 6.0,
            QUOTA_TOP + QUOTA_HEIGHT / 2.0
        );
        return;
    }
    let max = quota
        .iter()
        .map(|(_, q)| q.limit.unwrap_or(0).max(q.max))
        .max()
        .unwrap_or(1)
        .max(1);
    let y = YScale {
        top: QUOTA_TOP,
        height: QUOTA_HEIGHT,
        max: f64::from(max),
    };
    y_grid(out, x, &y, &[0, u64::from(max)]);
    let clock = TimeLabels::new(input.axis, input.zone);
    let bucket_width = (x.width / axis.count() as f64).max(1.0);
    let mut line = Points::default();
    out.push_str("<g class=\"quota-band\">");
    for &(index, q) in &quota {
        let x0 = x.x(axis.bucket_start(index));
        let top = y.y(f64::from(q.max));
        let height = (y.y(f64::from(q.min)) - top).max(1.0);
        let limit = q.limit.map_or(String::new(), |l| format!("/{l}"));
        let range = if q.min == q.max {
            q.min.to_string()
        } else {
            format!("{}–{}", q.min, q.max)
        };
        let _ = write!(
            out,
            "<rect x=\"{x0:.1}\" y=\"{top:.1}\" width=\"{bucket_width:.1}\" height=\"{height:.1}\">\
             <title>{range} left (last {}{limit}), {}</title></rect>",
            q.last,
            clock.range(axis.bucket_start(index), axis.bucket_start(index + 1))
        );
        line.push(x0 + bucket_width / 2.0, y.y(f64::from(q.last)));
    }
    out.push_str("</g>");
    line.write_polyline(out, "quota");
    let _ = write!(
        out,
        "<text class=\"note\" x=\"{:.1}\" y=\"{}\">quota left, as the server reported it</text>",
        LEFT + 6.0,
        QUOTA_TOP - 5.0
    );
}
