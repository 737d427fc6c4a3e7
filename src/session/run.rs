//! One run of the executor with everything around it: the progress display
//! and events file, signals, the summary, and closing the journal and the
//! embedded sandbox.

use std::sync::Arc;

use anyhow::Context;

use super::connect::Target;
use super::signals::watch_signals;
use crate::journal::JournalHandle;
use crate::options::{DeliveryOptions, ProgressMode};
use crate::send::account::AccountWork;
use crate::send::clock::Clock;
use crate::send::events::{Event, EventSink, FanOut, JsonLinesSink};
use crate::send::executor::{ExecSettings, RunContext, execute};
use crate::send::journal_recorder::JournalRecorder;
use crate::send::progress::{LiveProgress, PlainLog};
use crate::send::summary;

/// Execute `work`, recording into `journal`, then print the summary and
/// close everything. Returns this run's exit code.
pub async fn run_work(
    delivery: &DeliveryOptions,
    target: Target,
    work: Vec<AccountWork>,
    journal: JournalHandle,
    settings: ExecSettings,
    resume_hint: &str,
) -> anyhow::Result<i32> {
    let clock = Clock::system();
    let events = event_sinks(delivery, clock, settings.timezone)?;
    let recorder = Arc::new(JournalRecorder::new(journal.clone()));
    let (context, stop) = RunContext::new(clock, recorder, events, settings);
    watch_signals(stop);
    let report = execute(context, work).await;
    let mut text = Vec::new();
    summary::write_summary(&mut text, &report, resume_hint)?;
    crate::console::bytes(&text);
    for channel in &target.channels {
        channel.api.close().await;
    }
    target.sandboxes.shutdown().await;
    journal
        .close()
        .await
        .context("cannot finish writing the journal")?;
    Ok(summary::exit_code(&report))
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
