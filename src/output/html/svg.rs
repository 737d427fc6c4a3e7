//! SVG primitives for the report's charts: scales, "nice" axis ticks in the
//! campaign's time zone, and compact polylines.
//!
//! The charts are drawn by hand rather than by a plotting crate so the page
//! needs nothing at view time: no script, no font, no network. Coordinates
//! are written with one decimal, which is finer than any screen pixel of a
//! 1000-unit-wide chart and keeps 100,000-message reports small.

use std::fmt::Write;

use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Maps times to x coordinates.
#[derive(Debug, Clone, Copy)]
pub struct XScale {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    seconds: f64,
    pub left: f64,
    pub width: f64,
}

impl XScale {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, left: f64, width: f64) -> XScale {
        let seconds = ((end - start).num_milliseconds() as f64 / 1000.0).max(0.001);
        XScale {
            start,
            end,
            seconds,
            left,
            width,
        }
    }

    /// The x of `at`, clamped to the plot.
    pub fn x(&self, at: DateTime<Utc>) -> f64 {
        let offset = (at - self.start).num_milliseconds() as f64 / 1000.0;
        self.left + (offset / self.seconds).clamp(0.0, 1.0) * self.width
    }

    /// How many seconds one unit of x stands for.
    pub fn seconds_per_unit(&self) -> f64 {
        self.seconds / self.width.max(f64::MIN_POSITIVE)
    }

    pub fn right(&self) -> f64 {
        self.left + self.width
    }
}

/// Maps values `0..=max` to y coordinates, growing upwards.
#[derive(Debug, Clone, Copy)]
pub struct YScale {
    pub top: f64,
    pub height: f64,
    pub max: f64,
}

impl YScale {
    pub fn y(&self, value: f64) -> f64 {
        let ratio = if self.max > 0.0 {
            value / self.max
        } else {
            0.0
        };
        self.top + self.height * (1.0 - ratio.clamp(0.0, 1.0))
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }
}

/// A step of 1, 2 or 5 times a power of ten giving about `target` ticks up to
/// `max`, never below 1 (counts are whole).
pub fn nice_step(max: f64, target: usize) -> f64 {
    let raw = (max / target.max(1) as f64).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Count ticks `0, step, 2·step, ...` up to `max`, and the axis top (the
/// first tick at or above `max`).
pub fn count_ticks(max: u64, target: usize) -> (Vec<u64>, u64) {
    let step = nice_step(max as f64, target) as u64;
    let top = max.div_ceil(step).max(1) * step;
    ((0..=top).step_by(step as usize).collect(), top)
}

const TIME_STEPS: [i64; 22] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 1_209_600, 2_592_000,
];

/// Tick times in `start..=end`, at round local times of `zone`, at most
/// about `max_ticks`, each with its label: `%H:%M` (with seconds for steps
/// under a minute), and the date on ticks at midnight or when steps are days.
pub fn time_ticks(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: &Tz,
    max_ticks: usize,
) -> Vec<(DateTime<Utc>, String)> {
    let span = (end - start).num_seconds().max(1);
    let step = TIME_STEPS
        .into_iter()
        .find(|step| span / step <= max_ticks as i64)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1]);
    let local = start.with_timezone(zone).naive_local();
    let midnight = local.date().and_time(NaiveTime::MIN);
    let first: NaiveDateTime = if step < 86_400 {
        let offset = (local - midnight).num_seconds();
        midnight + TimeDelta::seconds((offset + step - 1) / step * step)
    } else if local == midnight {
        midnight
    } else {
        midnight + TimeDelta::days(1)
    };
    let several_days =
        start.with_timezone(zone).date_naive() != end.with_timezone(zone).date_naive();
    let mut ticks = Vec::new();
    let mut naive = first;
    while ticks.len() <= max_ticks * 2 {
        let Some(at) = zone.from_local_datetime(&naive).earliest() else {
            naive += TimeDelta::seconds(step);
            continue;
        };
        let at = at.with_timezone(&Utc);
        if at > end {
            break;
        }
        if at >= start {
            let at_midnight = naive.time() == NaiveTime::MIN;
            let format = if step >= 86_400 || (several_days && at_midnight) {
                "%b %d"
            } else if step < 60 {
                "%H:%M:%S"
            } else {
                "%H:%M"
            };
            ticks.push((at, naive.format(format).to_string()));
        }
        naive += TimeDelta::seconds(step);
    }
    ticks
}

/// Builds the `points` of a polyline, dropping points in the middle of flat
/// stretches (they add bytes, not shape).
#[derive(Debug, Default)]
pub struct Points {
    points: Vec<(f64, f64)>,
}

impl Points {
    pub fn push(&mut self, x: f64, y: f64) {
        let n = self.points.len();
        if n >= 2 {
            let (a, b) = (self.points[n - 2], self.points[n - 1]);
            if (a.1 - b.1).abs() < 0.05 && (b.1 - y).abs() < 0.05 {
                self.points[n - 1] = (x, y);
                return;
            }
        }
        self.points.push((x, y));
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// `<polyline points="..." class="..."/>`; nothing for fewer than two points.
    pub fn write_polyline(&self, out: &mut String, class: &str) {
        if self.points.len() < 2 {
            return;
        }
        let _ = write!(out, "<polyline class=\"{class}\" points=\"");
        for (i, (x, y)) in self.points.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{x:.1},{y:.1}");
        }
        out.push_str("\"/>");
    }
}

/// ` fill-opacity="0.4"`, or nothing for fully opaque.
pub fn opacity(value: f64) -> String {
    if value >= 0.95 {
        String::new()
    } else {
        format!(" fill-opacity=\"{value:.1}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn scales_map_and_clamp() {
        let x = XScale::new(
            utc("2026-01-01T00:00:00Z"),
            utc("2026-01-01T01:00:00Z"),
            10.0,
            100.0,
        );
        assert_eq!(x.x(utc("2026-01-01T00:30:00Z")), 60.0);
        assert_eq!(x.x(utc("2025-12-31T00:00:00Z")), 10.0);
        assert_eq!(x.x(utc("2026-01-02T00:00:00Z")), 110.0);
        let y = YScale {
            top: 0.0,
            height: 100.0,
            max: 50.0,
        };
        assert_eq!(y.y(0.0), 100.0);
        assert_eq!(y.y(25.0), 50.0);
    }

    #[test]
    fn count_ticks_are_round() {
        assert_eq!(count_ticks(0, 4), (vec![0, 1], 1));
        assert_eq!(count_ticks(7, 4), (vec![0, 2, 4, 6, 8], 8));
        assert_eq!(count_ticks(100_000, 4).1, 100_000);
        assert_eq!(count_ticks(33_334, 4).0[1], 10_000);
    }

    #[test]
    fn time_ticks_fall_on_round_local_times() {
        let berlin = chrono_tz::Europe::Berlin;
        let ticks = time_ticks(
            utc("2026-11-30T08:07:00Z"),
            utc("2026-11-30T13:00:00Z"),
            &berlin,
            8,
        );
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["10:00", "11:00", "12:00", "13:00", "14:00"]);
        let days = time_ticks(
            utc("2026-11-29T20:00:00Z"),
            utc("2026-12-01T04:00:00Z"),
            &chrono_tz::UTC,
            8,
        );
        let labels: Vec<&str> = days.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["Nov 30", "06:00", "12:00", "18:00", "Dec 01"]);
    }

    #[test]
    fn flat_stretches_collapse() {
        let mut points = Points::default();
        for x in 0..10 {
            points.push(x as f64, 5.0);
        }
        points.push(10.0, 8.0);
        assert_eq!(points.len(), 3);
        let mut out = String::new();
        points.write_polyline(&mut out, "sent");
        assert_eq!(
            out,
            "<polyline class=\"sent\" points=\"0.0,5.0 9.0,5.0 10.0,8.0\"/>"
        );
    }
}
