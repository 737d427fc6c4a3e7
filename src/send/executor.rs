//! Runs a planned campaign: one task per account, side by side, sharing one
//! stop signal.
//!
//! Stopping is cooperative: Ctrl-C or a fatal error sets the stop flag; each
//! account finishes the request it has in flight, starts no new one, and
//! reports what is left. Nothing here reads the wall clock directly; all time
//! comes from [`Clock`], which follows tokio's (pausable) clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;

use super::account::{AccountReport, AccountWork, run_account};
use super::clock::Clock;
use super::events::{Event, EventKind, EventSink};
use super::recorder::Recorder;
use crate::plan::domain_cap::DomainCap;
use crate::throttle::BackoffPolicy;
use crate::window::WindowSet;

/// Settings shared by every account of a run.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub windows: WindowSet,
    pub timezone: Tz,
    pub backoff: BackoffPolicy,
    /// How long before its slot a message is durably claimed, so the
    /// journal's commit does not delay the request.
    pub claim_lead: std::time::Duration,
    /// `resume --until-idle`: an account whose next message is due later
    /// than this from now stops waiting, and the run ends saying when.
    pub idle_horizon: Option<TimeDelta>,
    /// `per_domain_daily_cap`, shared by every account of the run.
    pub domain_cap: Option<DomainCap>,
}

#[cfg(test)]
impl ExecSettings {
    /// For tests of the executor alone: UTC, no windows, no caps, the
    /// default claim lead, at most `max_attempts` requests a message.
    pub(crate) fn for_tests(max_attempts: u32) -> ExecSettings {
        ExecSettings {
            windows: WindowSet::default(),
            timezone: chrono_tz::UTC,
            backoff: BackoffPolicy {
                max_attempts,
                ..BackoffPolicy::default()
            },
            claim_lead: CLAIM_LEAD,
            idle_horizon: None,
            domain_cap: None,
        }
    }
}

/// The default claim lead: well above a commit's latency on a healthy disk.
pub const CLAIM_LEAD: std::time::Duration = std::time::Duration::from_millis(50);

/// What every account task shares.
pub struct RunContext {
    pub clock: Clock,
    pub recorder: Arc<dyn Recorder>,
    pub events: Arc<dyn EventSink>,
    pub settings: ExecSettings,
    /// The per-domain cap's counts, shared by the accounts.
    pub domains: Option<Mutex<DomainCap>>,
    stop: watch::Sender<bool>,
    fatal: Mutex<Option<String>>,
    /// A claim was refused because a worker's lease on the account was
    /// lost: no fault of the account's (see `worker::settings`).
    lease_lost: std::sync::atomic::AtomicBool,
}

/// Asks a running campaign to stop (Ctrl-C).
#[derive(Clone)]
pub struct StopHandle {
    stop: watch::Sender<bool>,
}

impl StopHandle {
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl RunContext {
    pub fn new(
        clock: Clock,
        recorder: Arc<dyn Recorder>,
        events: Arc<dyn EventSink>,
        settings: ExecSettings,
    ) -> (Arc<RunContext>, StopHandle) {
        let (stop, _) = watch::channel(false);
        let handle = StopHandle { stop: stop.clone() };
        let context = RunContext {
            clock,
            recorder,
            events,
            domains: settings.domain_cap.clone().map(Mutex::new),
            settings,
            stop,
            fatal: Mutex::new(None),
            lease_lost: std::sync::atomic::AtomicBool::new(false),
        };
        (Arc::new(context), handle)
    }

    pub fn emit(&self, kind: EventKind) {
        self.events.emit(&Event {
            ts: self.clock.now(),
            kind,
        });
    }

    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sleep until `at`; false if the run is stopping (at once or meanwhile).
    pub async fn sleep_until(&self, at: DateTime<Utc>) -> bool {
        let mut stop = self.stop.subscribe();
        if *stop.borrow_and_update() {
            return false;
        }
        tokio::select! {
            () = self.clock.sleep_until(at) => !self.is_stopping(),
            _ = stop.wait_for(|stopping| *stopping) => false,
        }
    }

    /// Stop the whole run because of `reason` (the first reason wins).
    pub fn fail_run(&self, reason: String) {
        self.fatal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(reason);
        self.stop.send_replace(true);
    }

    /// [`fail_run`](Self::fail_run) for a claim refused because the
    /// worker's lease on the account was lost.
    pub fn fail_run_lease_lost(&self, reason: String) {
        self.lease_lost
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.fail_run(reason);
    }

    pub fn fatal_reason(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub accounts: Vec<AccountReport>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub planned_end: Option<DateTime<Utc>>,
    /// Stopped by the user before the end.
    pub interrupted: bool,
    /// Stopped by an error (API down, journal failing).
    pub fatal: Option<String>,
    /// Stopped because a worker's lease on the account was lost.
    pub lease_lost: bool,
}

impl RunReport {
    pub fn sent(&self) -> usize {
        self.accounts.iter().map(|a| a.sent).sum()
    }
    pub fn failed(&self) -> usize {
        self.accounts.iter().map(|a| a.failed.len()).sum()
    }
    pub fn uncertain(&self) -> usize {
        self.accounts.iter().map(|a| a.uncertain.len()).sum()
    }
    pub fn pending(&self) -> usize {
        self.accounts.iter().map(|a| a.pending).sum()
    }
    /// When the next message is due, if accounts stopped waiting for it
    /// (`--until-idle`).
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.accounts.iter().filter_map(|a| a.next_due).min()
    }
    pub fn stopped_accounts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.accounts
            .iter()
            .filter_map(|a| Some((a.name.as_str(), a.stopped.as_deref()?)))
    }
}

/// Send every account's jobs; returns when all accounts are done or stopped.
pub async fn execute(context: Arc<RunContext>, work: Vec<AccountWork>) -> RunReport {
    let started = context.clock.now();
    let planned_end = work
        .iter()
        .filter_map(|w| w.jobs.last().map(|j| j.planned_at))
        .max();
    context.emit(EventKind::Started {
        total: work.iter().map(|w| w.jobs.len()).sum(),
        accounts: work.iter().map(|w| w.rules.name.clone()).collect(),
        account_totals: work.iter().map(|w| w.jobs.len()).collect(),
        planned_end,
    });
    let tasks: Vec<_> = work
        .into_iter()
        .map(|account| tokio::spawn(run_account(Arc::clone(&context), account)))
        .collect();
    let mut accounts = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(report) => accounts.push(report),
            Err(error) => context.fail_run(format!("an account task crashed: {error}")),
        }
    }
    if let Err(error) = context.recorder.flush().await
        && !super::account::gave_up_reconnecting(&error)
    {
        context.fail_run(format!("cannot write the journal: {error:#}"));
    }
    let fatal = context.fatal_reason();
    let report = RunReport {
        interrupted: context.is_stopping() && fatal.is_none(),
        fatal,
        lease_lost: context.lease_lost.load(std::sync::atomic::Ordering::SeqCst),
        accounts,
        started,
        finished: context.clock.now(),
        planned_end,
    };
    context.emit(EventKind::Finished {
        sent: report.sent(),
        failed: report.failed(),
        uncertain: report.uncertain(),
        pending: report.pending(),
        interrupted: report.interrupted,
    });
    context.events.finish();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use crate::send::account::{Job, PLANNED_AHEAD};
    use crate::send::api::{ApiFuture, ApiResponse, MessageApi, OutgoingMessage, Token};
    use crate::send::events::MemorySink;
    use crate::send::recorder::NoRecorder;
    use chrono::TimeDelta;

    /// Accepts every message at once.
    struct AcceptAll;

    impl MessageApi for AcceptAll {
        fn send<'a>(&'a self, _: &'a Token, _: &'a OutgoingMessage) -> ApiFuture<'a> {
            Box::pin(async {
                Ok(ApiResponse {
                    status: 201,
                    class: crate::send::api::ResponseClass::Sent,
                    status_text: "Created".into(),
                    headers: Default::default(),
                    body_excerpt: String::new(),
                    message_id: None,
                })
            })
        }

        fn preview(&self, _: &OutgoingMessage) -> String {
            "accepts everything".into()
        }
    }

    fn job(seq: u64, at: DateTime<Utc>) -> Job {
        Job::for_tests(seq, format!("urn:li:person:{seq}"), at)
    }

    #[tokio::test(start_paused = true)]
    async fn planned_events_come_ahead_of_each_send_not_all_at_the_start() {
        let start: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
        let count = PLANNED_AHEAD as u64 * 2 + 500;
        let rules = Account::new("default", "1000/s".parse().unwrap());
        let jobs = (0..count)
            .map(|seq| job(seq, start + TimeDelta::milliseconds(seq as i64)))
            .collect();
        let sink = Arc::new(MemorySink::default());
        let (context, _stop) = RunContext::new(
            Clock::starting_at(start),
            Arc::new(NoRecorder),
            sink.clone(),
            ExecSettings {
                windows: WindowSet::default(),
                timezone: chrono_tz::UTC,
                backoff: BackoffPolicy::default(),
                claim_lead: CLAIM_LEAD,
                idle_horizon: None,
                domain_cap: None,
            },
        );
        let work = AccountWork {
            rules,
            api: Arc::new(AcceptAll),
            token: Token::new("t".into()),
            token_source: "$OUTREACH_TOKEN".into(),
            jobs,
            history: Vec::new(),
        };
        let report = execute(context, vec![work]).await;
        assert_eq!(report.sent(), count as usize);

        let events = sink.events.lock().unwrap();
        let position = |wanted: &dyn Fn(&EventKind) -> bool| {
            events.iter().position(|e| wanted(&e.kind)).unwrap()
        };
        // Every message is announced once, before its request.
        for seq in [0, 999, 1000, 1999, 2000, count - 1] {
            let planned =
                position(&|k| matches!(k, EventKind::Planned { seq: s, .. } if *s == seq));
            let sending =
                position(&|k| matches!(k, EventKind::Sending { seq: s, .. } if *s == seq));
            assert!(
                planned < sending,
                "seq {seq}: planned at {planned}, sending at {sending}"
            );
        }
        let planned = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Planned { .. }))
            .count();
        assert_eq!(planned as u64, count);
        // The first request does not wait for the whole schedule.
        let first_sending = position(&|k| matches!(k, EventKind::Sending { .. }));
        assert!(first_sending <= PLANNED_AHEAD + 3, "{first_sending}");
        match &events[0].kind {
            EventKind::Started { account_totals, .. } => {
                assert_eq!(account_totals, &[count as usize])
            }
            other => panic!("first event {other:?}"),
        }
    }

    /// Takes every message, but the answer never comes back (a connection
    /// lost after the data): it may have arrived.
    struct LosesAnswers {
        repeats_safely: bool,
        requests: std::sync::atomic::AtomicUsize,
    }

    impl MessageApi for LosesAnswers {
        fn send<'a>(&'a self, _: &'a Token, _: &'a OutgoingMessage) -> ApiFuture<'a> {
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async {
                Err(crate::send::api::TransportError::Interrupted(
                    "connection reset".into(),
                ))
            })
        }

        fn preview(&self, _: &OutgoingMessage) -> String {
            "loses every answer".into()
        }

        fn repeats_safely(&self) -> bool {
            self.repeats_safely
        }
    }

    /// A lost answer is retried only where the receiver drops repeats (the
    /// Idempotency-Key); on SMTP and most providers the message is
    /// uncertain after its one request: never resent silently.
    #[tokio::test(start_paused = true)]
    async fn a_lost_answer_is_repeated_only_where_repeats_are_dropped() {
        for (repeats_safely, expected_requests) in [(false, 1), (true, 3)] {
            let start: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
            let api = Arc::new(LosesAnswers {
                repeats_safely,
                requests: Default::default(),
            });
            let (context, _stop) = RunContext::new(
                Clock::starting_at(start),
                Arc::new(NoRecorder),
                Arc::new(MemorySink::default()),
                ExecSettings::for_tests(3),
            );
            let work = AccountWork {
                rules: Account::new("default", "10/s".parse().unwrap()),
                api: api.clone(),
                token: Token::new("t".into()),
                token_source: "$OUTREACH_TOKEN".into(),
                jobs: vec![job(0, start)],
                history: Vec::new(),
            };
            let report = execute(context, vec![work]).await;
            assert_eq!(report.uncertain(), 1);
            assert_eq!(
                api.requests.load(std::sync::atomic::Ordering::SeqCst),
                expected_requests,
                "repeats_safely = {repeats_safely}"
            );
        }
    }
}
