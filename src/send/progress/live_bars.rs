//! Live progress on a terminal: an overall bar and one line per account
//! (indicatif, drawn on stderr), refreshed a few times a second so that
//! countdowns move between events.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::text::{excerpt, human_duration};
use crate::send::clock::Clock;
use crate::send::events::{Event, EventKind, EventSink};

/// Accounts shown with a line of their own.
const MAX_ACCOUNT_LINES: usize = 12;

#[derive(Default, Clone)]
struct AccountView {
    sent: usize,
    failed: usize,
    total: usize,
    throttled: usize,
    next_at: Option<DateTime<Utc>>,
    paused_until: Option<DateTime<Utc>>,
    remaining: Option<u64>,
    last_status: Option<String>,
    stopped: Option<String>,
}

struct Bars {
    overall: ProgressBar,
    accounts: BTreeMap<String, ProgressBar>,
}

/// Bars on a terminal (indicatif, drawn on stderr).
pub struct LiveProgress {
    multi: MultiProgress,
    bars: Mutex<Option<Bars>>,
    views: Arc<Mutex<BTreeMap<String, AccountView>>>,
    failed: Mutex<usize>,
    done: Arc<AtomicBool>,
    clock: Clock,
}

impl LiveProgress {
    pub fn new(clock: Clock) -> Arc<LiveProgress> {
        LiveProgress::drawing_on(ProgressDrawTarget::stderr_with_hz(8), clock)
    }

    /// Bars drawn on `target` (hidden in tests).
    fn drawing_on(target: ProgressDrawTarget, clock: Clock) -> Arc<LiveProgress> {
        let progress = Arc::new(LiveProgress {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(None),
            views: Arc::new(Mutex::new(BTreeMap::new())),
            failed: Mutex::new(0),
            done: Arc::new(AtomicBool::new(false)),
            clock,
        });
        crate::console::draw_lines_above(Some(progress.multi.clone()));
        let ticker = Arc::clone(&progress);
        std::thread::spawn(move || {
            while !ticker.done.load(Ordering::Relaxed) {
                ticker.refresh();
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        progress
    }

    fn refresh(&self) {
        let now = self.clock.now();
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let Some(bars) = bars.as_ref() else { return };
        let views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        for (name, bar) in &bars.accounts {
            if let Some(view) = views.get(name) {
                bar.set_message(account_line(name, view, now));
            }
        }
        let failed = *self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed > 0 {
            bars.overall.set_message(format!("{failed} failed"));
        }
    }

    fn start(&self, total: usize, accounts: &[String]) {
        let overall = self.multi.add(ProgressBar::new(total as u64));
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30.green/blue} {pos}/{len} sent  ETA {eta}  {msg}")
        {
            overall.set_style(style.progress_chars("=> "));
        }
        let mut bars = BTreeMap::new();
        // A line per account fits a screen up to a point; beyond it the
        // overall bar carries the totals and the rest go unlisted.
        for name in accounts.iter().take(MAX_ACCOUNT_LINES) {
            let bar = self.multi.add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("  {msg}") {
                bar.set_style(style);
            }
            bars.insert(name.clone(), bar);
        }
        if accounts.len() > MAX_ACCOUNT_LINES {
            let more = self.multi.add(ProgressBar::new_spinner());
            more.finish_with_message(format!(
                "  ... and {} more accounts (see --events or `outreach status`)",
                accounts.len() - MAX_ACCOUNT_LINES
            ));
        }
        *self.bars.lock().unwrap_or_else(|e| e.into_inner()) = Some(Bars {
            overall,
            accounts: bars,
        });
    }
}

fn account_line(name: &str, view: &AccountView, now: DateTime<Utc>) -> String {
    let mut parts = vec![format!("{name}: {}/{} sent", view.sent, view.total)];
    if let Some(reason) = &view.stopped {
        parts.push(format!("STOPPED: {}", excerpt(reason, 60)));
        return parts.join("  ");
    }
    if let Some(until) = view.paused_until.filter(|until| *until > now) {
        parts.push(format!(
            "paused, resumes in {}",
            human_duration(until - now)
        ));
    } else if let Some(next) = view.next_at
        && view.sent + view.failed < view.total
    {
        parts.push(format!(
            "next in {}",
            human_duration((next - now).max(chrono::TimeDelta::zero()))
        ));
    }
    if let Some(remaining) = view.remaining {
        parts.push(format!("quota left {remaining}"));
    }
    if view.throttled > 0 {
        parts.push(format!("429s {}", view.throttled));
    }
    if view.failed > 0 {
        parts.push(format!("failed {}", view.failed));
    }
    if let Some(status) = &view.last_status {
        parts.push(format!("last {status}"));
    }
    parts.join("  ")
}

impl EventSink for LiveProgress {
    fn emit(&self, event: &Event) {
        if let EventKind::Started {
            total,
            accounts,
            account_totals,
            ..
        } = &event.kind
        {
            self.start(*total, accounts);
            let mut views = self.views.lock().unwrap_or_else(|e| e.into_inner());
            for (name, total) in accounts.iter().zip(account_totals) {
                views.entry(name.clone()).or_default().total = *total;
            }
            return;
        }
        let mut views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        match &event.kind {
            EventKind::Waiting { account, at } => {
                views.entry(account.clone()).or_default().next_at = Some(*at)
            }
            EventKind::Sent {
                account,
                status,
                remaining,
                ..
            } => {
                let view = views.entry(account.clone()).or_default();
                view.sent += 1;
                view.remaining = *remaining;
                view.last_status = Some(status.to_string());
                if let Some(bars) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    bars.overall.inc(1);
                }
            }
            EventKind::Throttled {
                account, status, ..
            } => {
                let view = views.entry(account.clone()).or_default();
                view.throttled += 1;
                view.last_status = Some(status.to_string());
            }
            EventKind::Retrying {
                account, reason, ..
            } => {
                views.entry(account.clone()).or_default().last_status = Some(excerpt(reason, 30));
            }
            EventKind::Failed { account, .. } | EventKind::Uncertain { account, .. } => {
                views.entry(account.clone()).or_default().failed += 1;
                *self.failed.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                if let Some(bars) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    bars.overall.inc_length(0);
                }
            }
            EventKind::Stopped { account, .. } => {
                views.entry(account.clone()).or_default().last_status =
                    Some("recipient stopped".to_string());
            }
            EventKind::AccountPaused { account, until, .. } => {
                views.entry(account.clone()).or_default().paused_until = Some(*until);
            }
            EventKind::AccountResumed { account } => {
                views.entry(account.clone()).or_default().paused_until = None
            }
            EventKind::AccountStopped { account, reason } => {
                views.entry(account.clone()).or_default().stopped = Some(reason.clone());
            }
            EventKind::Finished {
                interrupted: true, ..
            } => {
                if let Some(bars) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    // No ETA and no "next in" for a run that will send nothing more.
                    if let Ok(style) =
                        ProgressStyle::with_template("{bar:30.green/blue} {pos}/{len} sent  {msg}")
                    {
                        bars.overall.set_style(style.progress_chars("=> "));
                    }
                    bars.overall.set_message("interrupted");
                }
                for view in views.values_mut() {
                    view.next_at = None;
                }
            }
            _ => {}
        }
    }

    fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
        crate::console::draw_lines_above(None);
        self.refresh();
        // `abandon`, not `finish`: finishing moves a bar to its length, and
        // an interrupted run's last frame would claim "N/N sent".
        if let Some(bars) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            for bar in bars.accounts.values() {
                bar.abandon();
            }
            bars.overall.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_frame_of_an_interrupted_run_shows_what_was_sent() {
        let progress = LiveProgress::drawing_on(ProgressDrawTarget::hidden(), Clock::system());
        let at = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
        let event = |kind| Event {
            ts: at("2026-01-05T09:00:00Z"),
            kind,
        };
        progress.emit(&event(EventKind::Started {
            total: 10,
            account_totals: vec![10],
            accounts: vec!["alice".into()],
            planned_end: None,
        }));
        for seq in 1..=3 {
            progress.emit(&event(EventKind::Sent {
                seq,
                step: 1,
                account: "alice".into(),
                recipient: format!("r{seq}"),
                status: 201,
                message_id: None,
                planned_at: at("2026-01-05T09:00:00Z"),
                late_ms: 0,
                remaining: None,
            }));
        }
        progress.emit(&event(EventKind::Finished {
            sent: 3,
            failed: 0,
            uncertain: 0,
            pending: 7,
            interrupted: true,
        }));
        progress.finish();
        let bars = progress.bars.lock().unwrap();
        let overall = &bars.as_ref().unwrap().overall;
        assert_eq!((overall.position(), overall.length()), (3, Some(10)));
        assert_eq!(overall.message(), "interrupted");
    }

    #[test]
    fn account_line_shows_countdown_quota_and_429s() {
        let now: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
        let view = AccountView {
            sent: 3,
            total: 10,
            throttled: 1,
            next_at: Some(now + chrono::TimeDelta::seconds(160)),
            remaining: Some(7),
            last_status: Some("201".into()),
            ..AccountView::default()
        };
        assert_eq!(
            account_line("alice", &view, now),
            "alice: 3/10 sent  next in 2m 40s  quota left 7  429s 1  last 201"
        );
    }
}
