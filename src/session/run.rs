//! One run of the executor with everything around it: the progress display
//! and events file, signals, the summary, and closing the journal and the
//! embedded sandbox.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::connect::Target;
use super::signals::watch_signals;
use crate::journal::JournalHandle;
use crate::journal::StopRequest;
use crate::options::{DeliveryOptions, ProgressMode};
use crate::send::account::AccountWork;
use crate::send::clock::Clock;
use crate::send::events::{Event, EventSink, FanOut, JsonLinesSink};
use crate::send::executor::{ExecSettings, RunContext, execute};
use crate::send::journal_recorder::JournalRecorder;
use crate::send::progress::{LiveProgress, PlainLog};
use crate::send::summary;
use crate::state::location::Location;
use crate::stop::command::stop_in_journal;
use crate::stop::suppress::Watch;

/// Do-not-contact lists to watch while the run goes, and the journal the
/// stops they ask for are recorded in.
pub struct ListWatch {
    pub journal: Location,
    pub lists: Vec<PathBuf>,
}

/// Execute `work`, recording into `journal`, then print the summary and
/// close everything. Returns this run's exit code.
pub async fn run_work(
    delivery: &DeliveryOptions,
    target: Target,
    work: Vec<AccountWork>,
    journal: JournalHandle,
    settings: ExecSettings,
    resume_hint: &str,
    lists: ListWatch,
) -> anyhow::Result<i32> {
    // Replies and bounces over IMAP (crate::reply), beside the list watch;
    // not for the embedded sandbox, whose made-up tokens open no inbox.
    let replies = match target.endpoint.as_str() {
        super::connect::SANDBOX_ENDPOINT => None,
        // The journal's file or its campaign in PostgreSQL.
        _ => crate::reply::watch::start(lists.journal.clone(), &work)?,
    };
    let zone = settings.timezone;
    let clock = Clock::system();
    let events = event_sinks(delivery, clock, settings.timezone)?;
    let recorder = Arc::new(JournalRecorder::new(journal.clone()));
    let (context, stop) = RunContext::new(clock, recorder, events, settings);
    watch_signals(stop, journal.clone());
    let watcher = watch_lists(lists, &work);
    let report = execute(context, work).await;
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    let unchecked = replies.map(|watch| watch.finish(zone)).unwrap_or_default();
    let mut text = Vec::new();
    summary::write_summary(&mut text, &report, resume_hint)?;
    crate::console::bytes(&text);
    for line in unchecked {
        say!("{line}");
    }
    for channel in &target.channels {
        channel.api.close().await;
    }
    target.sandboxes.shutdown().await;
    if let Err(error) = journal.close().await {
        // Interrupted during an outage: said why, the run ends as interrupted.
        match error.gave_up_reconnecting() {
            Some(gave_up) => say!("{gave_up}"),
            None => return Err(error).context("cannot finish writing the journal"),
        }
    }
    Ok(summary::exit_code(&report))
}

/// Re-read the lists about once a second while the run goes; the people a
/// changed list now names are stopped through the journal, and the
/// sender's next claim of their messages is refused. A stop that cannot be
/// recorded yet (the database unreachable) is tried again each second.
fn watch_lists(lists: ListWatch, work: &[AccountWork]) -> Option<tokio::task::JoinHandle<()>> {
    if lists.lists.is_empty() {
        return None;
    }
    let recipients = work
        .iter()
        .flat_map(|account| account.jobs.iter().map(|job| job.recipient.clone()))
        .collect();
    let mut watch = Watch::new(lists.lists, recipients);
    let journal = lists.journal;
    Some(tokio::spawn(async move {
        // Stops not recorded yet, each with whether that was said.
        let mut waiting: Vec<(StopRequest, bool)> = Vec::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            waiting.extend(watch.changes().into_iter().map(|request| (request, false)));
            let mut still = Vec::new();
            for (request, said) in waiting.drain(..) {
                let path = journal.clone();
                let count = request.targets.len();
                let reason = request.reason.clone();
                let attempt = request.clone();
                let recorded =
                    tokio::task::spawn_blocking(move || stop_in_journal(&path, &attempt)).await;
                match recorded {
                    Ok(Ok(_)) => say!("{count} recipient(s) stopped: {reason}"),
                    Ok(Err(error)) => {
                        if !said {
                            say!("cannot record the stop ({reason}) yet: {error}; trying again");
                        }
                        still.push((request, true));
                    }
                    Err(_) => {}
                }
            }
            waiting = still;
        }
    }))
}

/// Progress on a terminal, plain lines otherwise; plus the events file.
fn event_sinks(
    delivery: &DeliveryOptions,
    clock: Clock,
    zone: chrono_tz::Tz,
) -> anyhow::Result<Arc<dyn EventSink>> {
    let mut fan_out = FanOut::new();
    match delivery.progress {
        ProgressMode::Live => fan_out.add(Box::new(ArcSink(LiveProgress::new(clock)))),
        ProgressMode::Plain => {
            fan_out.add(Box::new(PlainLog::new(Box::new(std::io::stderr()), zone)));
        }
    }
    if let Some(path) = &delivery.events {
        let sink = JsonLinesSink::create(path)
            .with_context(|| format!("cannot open the events file {}", path.display()))?;
        fan_out.add(Box::new(sink));
    }
    Ok(Arc::new(fan_out))
}

struct ArcSink<T>(Arc<T>);

impl<T: EventSink> EventSink for ArcSink<T> {
    fn emit(&self, event: &Event) {
        self.0.emit(event);
    }
    fn finish(&self) {
        self.0.finish();
    }
}
