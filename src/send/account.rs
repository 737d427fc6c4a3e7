//! One account's send loop: wait for the slot, send, read the headers, decide.
//!
//! Every request, retries included, takes a slot from the account's
//! [`AccountSlots`], so real sends keep the plan's guarantees (spacing, the
//! rolling window, send windows, daily cap). Server hints only ever slow the
//! account down: a pause until the reset, or a wider spacing when the
//! remaining quota is low. A known reset is waited exactly once; exponential
//! backoff is only for failures that come without a hint.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::api::{OutgoingMessage, Token, TransportError};
use super::budget::ErrorBudget;
use super::events::EventKind;
use super::executor::RunContext;
use super::recorder::{AttemptInfo, SendOutcome};
use crate::plan::AccountRules;
use crate::plan::slots::{AccountSlots, SlotRules};
use crate::throttle::{advise, parse_rate_limit_headers};

/// How many of its messages an account announces (`planned` events) ahead of
/// the one it is sending.
pub const PLANNED_AHEAD: usize = 1000;

/// One message waiting to be sent.
#[derive(Debug, Clone)]
pub struct Job {
    pub seq: u64,
    pub recipient: String,
    pub message: OutgoingMessage,
    pub planned_at: DateTime<Utc>,
    pub timezone: Option<Tz>,
}

/// One account's work.
#[derive(Debug, Clone)]
pub struct AccountWork {
    pub rules: AccountRules,
    pub token: Token,
    /// Where the token came from, for messages (e.g. `$OUTREACH_TOKEN`); never the token.
    pub token_source: String,
    pub jobs: Vec<Job>,
    /// Requests made earlier in this campaign (resume), for the rate windows.
    pub history: Vec<DateTime<Utc>>,
}

/// What one account did.
#[derive(Debug, Clone, Default)]
pub struct AccountReport {
    pub name: String,
    pub sent: usize,
    /// (seq, reason)
    pub failed: Vec<(u64, String)>,
    pub uncertain: Vec<(u64, String)>,
    /// Messages this run did not get to.
    pub pending: usize,
    pub throttled: usize,
    pub throttled_wait: TimeDelta,
    pub stopped: Option<String>,
}

enum Step {
    /// Done with this message (sent, failed or uncertain).
    Next,
    /// The run is stopping; this message was not sent (it stays pending).
    Stopped,
    /// Try the same message again.
    Again,
    /// Stop the account; the message stays pending.
    StopAccount(String),
}

struct AccountState<'a> {
    ctx: &'a RunContext,
    name: String,
    token: Token,
    token_source: String,
    slots: AccountSlots<'a>,
    pause_until: Option<DateTime<Utc>>,
    /// Whether `account_paused` was emitted for the current pause.
    pause_announced: bool,
    /// The current message is being retried while still in flight (its
    /// last request may have arrived).
    retrying_in_flight: bool,
    /// How long before its slot a message is claimed in the journal.
    claim_lead: TimeDelta,
    /// A spacing the headers asked for, valid until the quota resets.
    header_spacing: Option<(TimeDelta, DateTime<Utc>)>,
    last_request: Option<DateTime<Utc>>,
    /// 429s in a row without a hint, for exponential backoff.
    blind_throttles: u32,
    budget: ErrorBudget,
    report: AccountReport,
}

/// Run one account until its queue is done, it is stopped, or the run stops.
pub async fn run_account(ctx: Arc<RunContext>, work: AccountWork) -> AccountReport {
    let rules = SlotRules {
        rate: work.rules.rate,
        daily_cap: work.rules.daily_cap,
        windows: &ctx.settings.windows,
        timezone: ctx.settings.timezone,
        jitter: 0.0,
    };
    let now = ctx.clock.now();
    let mut state = AccountState {
        ctx: &ctx,
        name: work.rules.name.clone(),
        token: work.token.clone(),
        token_source: work.token_source.clone(),
        slots: AccountSlots::new(rules, now, &work.history),
        pause_until: None,
        pause_announced: false,
        retrying_in_flight: false,
        // At a fast rate the lead exceeds the interval: the claim then starts
        // as soon as the previous response is in.
        claim_lead: TimeDelta::from_std(ctx.settings.claim_lead).unwrap_or_default(),
        header_spacing: None,
        last_request: None,
        blind_throttles: 0,
        budget: ErrorBudget::default(),
        report: AccountReport {
            name: work.rules.name.clone(),
            ..AccountReport::default()
        },
    };
    let total = work.jobs.len();
    let mut announced = 0;
    for (index, job) in work.jobs.iter().enumerate() {
        if index == announced {
            announced = (index + PLANNED_AHEAD).min(total);
            state.announce(&work.jobs[index..announced]);
        }
        let mut attempt = 0u32;
        state.retrying_in_flight = false;
        loop {
            if ctx.is_stopping() {
                state.report.pending = total - index;
                return state.report;
            }
            match state.try_once(job, &mut attempt).await {
                Step::Next => break,
                Step::Again => continue,
                Step::Stopped => {
                    state.report.pending = total - index;
                    return state.report;
                }
                Step::StopAccount(reason) => {
                    ctx.emit(EventKind::AccountStopped {
                        account: state.name.clone(),
                        reason: reason.clone(),
                    });
                    state.report.stopped = Some(reason);
                    state.report.pending = total - index;
                    return state.report;
                }
            }
        }
    }
    state.report
}

impl AccountState<'_> {
    fn announce(&self, jobs: &[Job]) {
        for job in jobs {
            self.ctx.emit(EventKind::Planned {
                seq: job.seq,
                account: self.name.clone(),
                recipient: job.recipient.clone(),
                at: job.planned_at,
            });
        }
    }

    fn not_before(&self, job: &Job) -> DateTime<Utc> {
        let mut at = job.planned_at;
        if let Some(until) = self.pause_until {
            at = at.max(until);
        }
        if let (Some((spacing, valid_until)), Some(last)) = (self.header_spacing, self.last_request)
            && last < valid_until
        {
            at = at.max((last + spacing).min(valid_until));
        }
        at
    }

    async fn try_once(&mut self, job: &Job, attempt: &mut u32) -> Step {
        let ctx = self.ctx;
        let slot = self
            .slots
            .next_not_before(self.not_before(job), job.timezone.as_ref());
        ctx.emit(EventKind::Waiting {
            account: self.name.clone(),
            at: slot,
        });
        // Claim the message (durably in flight) a moment before its slot, so
        // the commit's latency does not delay the request or pile up as drift.
        let lead = self.claim_lead;
        if !ctx.sleep_until(slot - lead).await {
            return Step::Stopped;
        }
        // Recorded at the slot, when the request will leave: a resume after a
        // crash counts this possible send against the rate from that moment.
        let leaves_at = slot.max(ctx.clock.now());
        if let Err(error) = ctx.recorder.before_send(job.seq, leaves_at).await {
            ctx.fail_run(format!(
                "cannot record the send in the journal: {error:#}; nothing more is sent"
            ));
            return Step::Stopped;
        }
        if !ctx.sleep_until(slot).await {
            // Claimed but never sent.
            if self.retrying_in_flight {
                let reason = "interrupted while waiting to retry a request that may have arrived"
                    .to_string();
                ctx.recorder.outcome(
                    job.seq,
                    SendOutcome::Uncertain {
                        reason: reason.clone(),
                    },
                );
                self.report.uncertain.push((job.seq, reason));
                return Step::Next;
            }
            ctx.recorder.outcome(job.seq, SendOutcome::BackToPending);
            return Step::Stopped;
        }
        let now = ctx.clock.now();
        if self.pause_until.take().is_some_and(|until| until <= now)
            && std::mem::take(&mut self.pause_announced)
        {
            ctx.emit(EventKind::AccountResumed {
                account: self.name.clone(),
            });
        }
        // Space the next slot from the moment the request really leaves.
        self.slots.correct_last(now);
        *attempt += 1;
        ctx.emit(EventKind::Sending {
            seq: job.seq,
            account: self.name.clone(),
            recipient: job.recipient.clone(),
            attempt: *attempt,
        });
        self.last_request = Some(now);
        let result = ctx.api.send(&self.token, &job.message).await;
        let now = ctx.clock.now();
        match result {
            Ok(response) => self.on_response(job, attempt, response, now),
            Err(error) => self.on_transport_error(job, attempt, error, now),
        }
    }

    fn on_response(
        &mut self,
        job: &Job,
        attempt: &mut u32,
        response: super::api::ApiResponse,
        now: DateTime<Utc>,
    ) -> Step {
        let ctx = self.ctx;
        let status = response.status;
        let info = parse_rate_limit_headers(&response.headers, now);
        let advice = advise(&info, status, now);
        ctx.recorder.attempt(AttemptInfo {
            seq: job.seq,
            at: now,
            status: Some(status),
            limit: info.limit,
            remaining: info.remaining,
            reset_at: info.reset_at,
            error: (!(200..300).contains(&status)).then(|| response.body_excerpt.clone()),
        });
        self.header_spacing = advice
            .min_spacing
            .and_then(|spacing| TimeDelta::from_std(spacing).ok())
            .map(|spacing| (spacing, info.reset_at.unwrap_or(now + spacing)));

        match status {
            200..=299 => {
                self.blind_throttles = 0;
                self.budget.record(false);
                ctx.recorder.outcome(
                    job.seq,
                    SendOutcome::Sent {
                        at: now,
                        message_id: response.message_id.clone(),
                    },
                );
                self.report.sent += 1;
                ctx.emit(EventKind::Sent {
                    seq: job.seq,
                    account: self.name.clone(),
                    recipient: job.recipient.clone(),
                    status,
                    message_id: response.message_id,
                    planned_at: job.planned_at,
                    late_ms: (now - job.planned_at).num_milliseconds(),
                    remaining: info.remaining,
                });
                if let Some(until) = advice.pause_until {
                    self.pause(until, now, "the quota is used up until the reset");
                }
                Step::Next
            }
            429 => {
                ctx.recorder.outcome(job.seq, SendOutcome::BackToPending);
                let (until, source) = match advice.pause_until {
                    Some(until) => {
                        self.blind_throttles = 0;
                        (until, "headers")
                    }
                    None => {
                        let wait = ctx
                            .settings
                            .backoff
                            .delay(self.blind_throttles, rand::random::<f64>());
                        self.blind_throttles += 1;
                        (
                            now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX),
                            "backoff",
                        )
                    }
                };
                *attempt = attempt.saturating_sub(1); // a throttle is not a failed attempt
                self.report.throttled += 1;
                self.report.throttled_wait += until - now;
                ctx.emit(EventKind::Throttled {
                    seq: job.seq,
                    account: self.name.clone(),
                    status,
                    wait_ms: (until - now).num_milliseconds(),
                    until,
                    source: source.into(),
                });
                self.pause(until, now, "429 Too Many Requests");
                Step::Again
            }
            401 | 403 => {
                ctx.recorder.outcome(job.seq, SendOutcome::BackToPending);
                Step::StopAccount(format!(
                    "the API answered {status} {}: check the token of account `{}` ({}), then run `outreach resume`",
                    reason_phrase(status),
                    self.name,
                    self.token_source
                ))
            }
            408 | 500..=599 => {
                let reason = format!("{status} {}", reason_phrase(status));
                let maybe_delivered = matches!(status, 500 | 502 | 504);
                self.transient(
                    job,
                    attempt,
                    reason,
                    Some(status),
                    maybe_delivered,
                    advice.pause_until,
                    now,
                )
            }
            _ => {
                self.budget.record(false);
                let reason = format!(
                    "{status} {}: {}",
                    reason_phrase(status),
                    response.body_excerpt
                );
                ctx.recorder.outcome(
                    job.seq,
                    SendOutcome::Failed {
                        reason: reason.clone(),
                        status: Some(status),
                    },
                );
                self.fail(job, Some(status), reason);
                Step::Next
            }
        }
    }

    fn on_transport_error(
        &mut self,
        job: &Job,
        attempt: &mut u32,
        error: TransportError,
        now: DateTime<Utc>,
    ) -> Step {
        self.ctx.recorder.attempt(AttemptInfo {
            seq: job.seq,
            at: now,
            status: None,
            limit: None,
            remaining: None,
            reset_at: None,
            error: Some(error.to_string()),
        });
        if matches!(error, TransportError::BadToken) {
            return Step::StopAccount(format!(
                "the token of account `{}` contains characters not allowed in a header; check {}",
                self.name, self.token_source
            ));
        }
        let maybe_delivered = error.maybe_delivered();
        self.transient(
            job,
            attempt,
            error.to_string(),
            None,
            maybe_delivered,
            None,
            now,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn transient(
        &mut self,
        job: &Job,
        attempt: &mut u32,
        reason: String,
        status: Option<u16>,
        maybe_delivered: bool,
        hinted_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Step {
        let ctx = self.ctx;
        self.budget.record(true);
        if self.budget.exhausted() {
            ctx.fail_run(format!(
                "{} of the last {} requests of account `{}` failed (last: {reason}); the API looks down, so nothing more is sent. \
                 Run `outreach resume` when it is back",
                self.budget.failures(),
                super::budget::WINDOW,
                self.name
            ));
        }
        let backoff = &ctx.settings.backoff;
        let stopping = ctx.is_stopping();
        if stopping && !maybe_delivered {
            // The server proved it did not take the message: it stays pending.
            ctx.recorder.outcome(job.seq, SendOutcome::BackToPending);
            return Step::Stopped;
        }
        if backoff.exhausted(*attempt) || stopping {
            let tries = if *attempt == 1 {
                "1 attempt".to_string()
            } else {
                format!("{} attempts", *attempt)
            };
            let reason = format!("{reason} (after {tries})");
            if maybe_delivered {
                ctx.recorder.outcome(
                    job.seq,
                    SendOutcome::Uncertain {
                        reason: reason.clone(),
                    },
                );
                self.report.uncertain.push((job.seq, reason.clone()));
                ctx.emit(EventKind::Uncertain {
                    seq: job.seq,
                    account: self.name.clone(),
                    recipient: job.recipient.clone(),
                    reason,
                });
            } else {
                ctx.recorder.outcome(
                    job.seq,
                    SendOutcome::Failed {
                        reason: reason.clone(),
                        status,
                    },
                );
                self.fail(job, status, reason);
            }
            return Step::Next;
        }
        let wait = hinted_until.map(|until| until - now).unwrap_or_else(|| {
            let delay = backoff.delay(attempt.saturating_sub(1), rand::random::<f64>());
            TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX)
        });
        if !maybe_delivered {
            // Not taken by the server: pending until the retry claims it again,
            // so a crash meanwhile leaves it pending, not uncertain.
            ctx.recorder.outcome(job.seq, SendOutcome::BackToPending);
        }
        self.retrying_in_flight = maybe_delivered;
        ctx.emit(EventKind::Retrying {
            seq: job.seq,
            account: self.name.clone(),
            attempt: *attempt,
            reason,
            wait_ms: wait.num_milliseconds(),
        });
        // The `retrying` event already says when; no pause/resume pair.
        self.pause_until = Some(
            self.pause_until
                .map_or(now + wait, |until| until.max(now + wait)),
        );
        Step::Again
    }

    fn fail(&mut self, job: &Job, status: Option<u16>, reason: String) {
        self.report.failed.push((job.seq, reason.clone()));
        self.ctx.emit(EventKind::Failed {
            seq: job.seq,
            account: self.name.clone(),
            recipient: job.recipient.clone(),
            status,
            reason,
        });
    }

    fn pause(&mut self, until: DateTime<Utc>, now: DateTime<Utc>, reason: &str) {
        if until <= now {
            return;
        }
        self.pause_until = Some(self.pause_until.map_or(until, |current| current.max(until)));
        self.pause_announced = true;
        self.ctx.emit(EventKind::AccountPaused {
            account: self.name.clone(),
            until,
            reason: reason.to_string(),
        });
    }
}

/// The standard phrase of an HTTP status, for messages.
pub fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("")
}
