//! Live progress on stderr: an overall bar and one line per account on a
//! terminal, or one plain log line per event otherwise.
//!
//! Both are [`EventSink`]s fed by the executor's events, so the executor never
//! branches on how (or whether) progress is shown.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::background::BackgroundLines;
use super::clock::Clock;
use super::events::{Event, EventKind, EventSink};
use crate::output::text::{excerpt, human_duration};

/// One plain line per event, for logs and pipes, written off the send path.
pub struct PlainLog {
    out: BackgroundLines,
    zone: Tz,
}

impl PlainLog {
    pub fn new(out: Box<dyn Write + Send>, zone: Tz) -> PlainLog {
        PlainLog {
            out: BackgroundLines::spawn(out),
            zone,
        }
    }

    /// The line for an event; None for events too frequent to log.
    pub fn line(&self, event: &Event) -> Option<String> {
        let time = event.ts.with_timezone(&self.zone).format("%H:%M:%S");
        let text = match &event.kind {
            EventKind::Started {
                total, accounts, ..
            } => {
                format!(
                    "starting: {total} messages from {} account(s): {}",
                    accounts.len(),
                    account_list(accounts)
                )
            }
            EventKind::Planned { .. } | EventKind::Waiting { .. } => return None,
            EventKind::Sending { .. } => return None,
            EventKind::Sent {
                account,
                recipient,
                status,
                remaining,
                ..
            } => {
                let quota = remaining.map(|r| format!(", {r} left")).unwrap_or_default();
                format!("sent      {account}  {recipient}  ({status}{quota})")
            }
            EventKind::Throttled {
                account,
                status,
                wait_ms,
                source,
                ..
            } => format!(
                "throttled {account}  {status}: waiting {} ({source})",
                human_duration(chrono::TimeDelta::milliseconds(*wait_ms))
            ),
            EventKind::Retrying {
                account,
                attempt,
                reason,
                wait_ms,
                ..
            } => format!(
                "retrying  {account}  attempt {attempt} failed: {}; again in {}",
                excerpt(reason, 80),
                human_duration(chrono::TimeDelta::milliseconds(*wait_ms))
            ),
            EventKind::Failed {
                account,
                recipient,
                reason,
                ..
            } => {
                format!("failed    {account}  {recipient}: {}", excerpt(reason, 120))
            }
            EventKind::Uncertain {
                account,
                recipient,
                reason,
                ..
            } => {
                format!("uncertain {account}  {recipient}: {}", excerpt(reason, 120))
            }
            EventKind::AccountPaused {
                account,
                until,
                reason,
            } => format!(
                "paused    {account}  until {} ({reason})",
                until.with_timezone(&self.zone).format("%H:%M:%S")
            ),
            EventKind::AccountResumed { account } => format!("resumed   {account}"),
            EventKind::AccountStopped { account, reason } => {
                format!("stopped   {account}: {reason}")
            }
            EventKind::Finished {
                sent,
                failed,
                uncertain,
                pending,
                ..
            } => format!(
                "finished: {sent} sent, {failed} failed, {uncertain} uncertain, {pending} not sent"
            ),
        };
        Some(format!("{time} {text}"))
    }
}

impl EventSink for PlainLog {
    fn emit(&self, event: &Event) {
        if let Some(mut line) = self.line(event) {
            line.push('\n');
            self.out.write(line.into_bytes());
        }
    }

    fn finish(&self) {
        self.out.finish();
    }
}

/// Account names for one log line: all of a few, the first of many.
fn account_list(accounts: &[String]) -> String {
    const SHOWN: usize = 8;
    if accounts.len() <= SHOWN {
        return accounts.join(", ");
    }
    format!(
        "{}, and {} more",
        accounts[..SHOWN].join(", "),
        accounts.len() - SHOWN
    )
}

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
    fn plain_lines_for_events() {
        let log = PlainLog::new(Box::new(std::io::sink()), chrono_tz::UTC);
        let event = Event {
            ts: "2026-01-05T09:00:00Z".parse().unwrap(),
            kind: EventKind::Sent {
                seq: 1,
                account: "alice".into(),
                recipient: "urn:li:person:1".into(),
                status: 201,
                message_id: None,
                planned_at: "2026-01-05T09:00:00Z".parse().unwrap(),
                late_ms: 2,
                remaining: Some(4),
            },
        };
        assert_eq!(
            log.line(&event).unwrap(),
            "09:00:00 sent      alice  urn:li:person:1  (201, 4 left)"
        );
    }

    #[test]
    fn the_start_line_names_a_few_accounts_not_a_thousand() {
        let log = PlainLog::new(Box::new(std::io::sink()), chrono_tz::UTC);
        let started = |accounts: Vec<String>| Event {
            ts: "2026-01-05T09:00:00Z".parse().unwrap(),
            kind: EventKind::Started {
                total: 10 * accounts.len(),
                account_totals: vec![10; accounts.len()],
                accounts,
                planned_end: None,
            },
        };
        let names = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>();
        assert_eq!(
            log.line(&started(names(2))).unwrap(),
            "09:00:00 starting: 20 messages from 2 account(s): a0, a1"
        );
        assert_eq!(
            log.line(&started(names(1000))).unwrap(),
            "09:00:00 starting: 10000 messages from 1000 account(s): a0, a1, a2, a3, a4, a5, a6, a7, and 992 more"
        );
    }

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
