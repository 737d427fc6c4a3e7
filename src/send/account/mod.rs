//! One account's send loop: wait for the slot, send, read the headers, decide.
//!
//! Every request, retries included, takes a slot from the account's
//! [`AccountSlots`], so real sends keep the plan's guarantees (spacing, the
//! rolling window, send windows, daily cap). Server hints only ever slow the
//! account down: the server's pace (its policy, announced or learned by the
//! [`Pacer`]) when it is slower than the plan, a pause until the real reset
//! when the quota is spent, or a wider spacing when the quota would run dry.
//! A known reset is waited exactly once. A lone transient failure is retried
//! on the next slot; exponential backoff is only for failures without a hint
//! while the recent requests keep failing.

#[cfg(test)]
mod claim_tests;
mod domains;
mod outcomes;
mod queue;
mod unreachable;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::api::{MessageApi, OutgoingMessage, Token};
use super::budget::ErrorBudget;
use super::claims::{self, ClaimedAhead};
use super::events::EventKind;
use super::executor::RunContext;
use super::recorder::{ClaimDomainFull, ClaimInFlight, ClaimSkipped, Outcome};
use crate::account::Account;
use crate::plan::Ready;
use crate::plan::slots::{AccountSlots, SlotRules};
use crate::throttle::Pacer;

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
    /// Its step in the recipient's sequence (1: the first message).
    pub step: u32,
    /// The row's priority (higher first), for due follow-ups.
    pub priority: i64,
    /// A first message, or a follow-up waiting for the previous step
    /// (`Ready::After` names that step's seq).
    pub ready: Ready,
}

#[cfg(test)]
impl Job {
    /// A first-step message to `recipient` planned at `at`, body "hello",
    /// key `key-SEQ`: for tests of the send loop alone.
    pub(crate) fn for_tests(seq: u64, recipient: String, at: DateTime<Utc>) -> Job {
        Job {
            seq,
            recipient: recipient.clone(),
            message: OutgoingMessage {
                payload: super::api::MessagePayload {
                    recipients: vec![recipient],
                    subject: None,
                    body: "hello".into(),
                },
                idempotency_key: format!("key-{seq}"),
                html: None,
                fields: Default::default(),
            },
            planned_at: at,
            timezone: None,
            step: 1,
            priority: 0,
            ready: Ready::First,
        }
    }
}

/// One account's work.
#[derive(Clone)]
pub struct AccountWork {
    pub rules: Account,
    /// The account's channel.
    pub api: Arc<dyn MessageApi>,
    pub token: Token,
    /// Where the token came from, for messages (e.g. `$OUTREACH_TOKEN`); never the token.
    pub token_source: String,
    pub jobs: Vec<Job>,
    /// Requests made earlier in this campaign (resume), for the rate windows.
    pub history: Vec<DateTime<Utc>>,
}

impl std::fmt::Debug for AccountWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountWork")
            .field("rules", &self.rules)
            .field("token_source", &self.token_source)
            .field("jobs", &self.jobs.len())
            .field("history", &self.history.len())
            .finish_non_exhaustive()
    }
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
    /// Messages not sent because their recipient was stopped during the run.
    pub recipients_stopped: usize,
    /// `--until-idle`: when the account's next message is due, beyond the
    /// horizon, so the account stopped waiting.
    pub next_due: Option<DateTime<Utc>>,
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
    /// `--until-idle`: the message is not due within the horizon; it stays
    /// pending and the account stops waiting.
    Idle,
    /// Its domain's daily cap is reached: it waits for this time (the next
    /// day) and the account's slot goes to the next message.
    Defer(DateTime<Utc>),
}

struct AccountState<'a> {
    ctx: &'a RunContext,
    name: String,
    api: Arc<dyn MessageApi>,
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
    /// Messages claimed with an earlier one, not sent yet.
    claimed: ClaimedAhead,
    /// What the server's responses taught about its limit.
    pacer: Pacer,
    /// The spacing the server's pace asks for, when wider than the plan's.
    header_spacing: Option<TimeDelta>,
    /// The plan's interval, which the slot generator already keeps.
    plan_interval: TimeDelta,
    last_request: Option<DateTime<Utc>>,
    /// 429s in a row without a hint, for exponential backoff.
    blind_throttles: u32,
    budget: ErrorBudget,
    /// Requests in a row that never reached the server.
    unreachable_streak: u32,
    /// When the current message was accepted, if it was.
    accepted_at: Option<DateTime<Utc>>,
    /// The slot the current message is counted at against its domain's
    /// daily cap (`per_domain_daily_cap`).
    domain_reserved: Option<DateTime<Utc>>,
    report: AccountReport,
}

/// Run one account until its queue is done, it is stopped, or the run stops.
pub async fn run_account(ctx: Arc<RunContext>, work: AccountWork) -> AccountReport {
    let rules = SlotRules {
        rate: work.rules.rate,
        daily_cap: work.rules.daily_cap,
        warmup: work.rules.warmup,
        windows: &ctx.settings.windows,
        timezone: ctx.settings.timezone,
        jitter: 0.0,
    };
    let now = ctx.clock.now();
    let mut state = AccountState {
        ctx: &ctx,
        name: work.rules.name.clone(),
        api: Arc::clone(&work.api),
        token: work.token.clone(),
        token_source: work.token_source.clone(),
        slots: AccountSlots::new(rules, now, &work.history),
        pause_until: None,
        pause_announced: false,
        retrying_in_flight: false,
        // At a fast rate the lead exceeds the interval: the claim then starts
        // as soon as the previous response is in.
        claim_lead: TimeDelta::from_std(ctx.settings.claim_lead).unwrap_or_default(),
        claimed: ClaimedAhead::default(),
        pacer: Pacer::default(),
        header_spacing: None,
        plan_interval: TimeDelta::from_std(work.rules.rate.interval()).unwrap_or(TimeDelta::MAX),
        last_request: None,
        blind_throttles: 0,
        budget: ErrorBudget::default(),
        unreachable_streak: 0,
        accepted_at: None,
        domain_reserved: None,
        report: AccountReport {
            name: work.rules.name.clone(),
            ..AccountReport::default()
        },
    };
    state.run(work.jobs).await;
    // Claimed with an earlier message but never sent: back to pending.
    state.claimed.release(ctx.recorder.as_ref());
    state.report
}

impl AccountState<'_> {
    fn not_before(&self, job: &Job) -> DateTime<Utc> {
        self.not_before_at(job.planned_at)
    }

    /// The earliest a message planned at `planned` may leave: after any
    /// pause and the spacing the server's headers ask for.
    fn not_before_at(&self, planned: DateTime<Utc>) -> DateTime<Utc> {
        let mut at = planned;
        if let Some(until) = self.pause_until {
            at = at.max(until);
        }
        if let (Some(spacing), Some(last)) = (self.header_spacing, self.last_request) {
            at = at.max(last + spacing);
        }
        at
    }

    /// How long after `now` the next request may leave at the earliest,
    /// without a pause: one interval (the plan's or the server's) after the
    /// last request.
    fn next_interval(&self, now: DateTime<Utc>) -> TimeDelta {
        let spacing = self
            .header_spacing
            .map_or(self.plan_interval, |s| s.max(self.plan_interval));
        self.last_request.map_or(TimeDelta::zero(), |last| {
            (last + spacing - now).max(TimeDelta::zero())
        })
    }

    async fn try_once(
        &mut self,
        job: &Job,
        following: &[(u64, DateTime<Utc>)],
        attempt: &mut u32,
    ) -> Step {
        let ctx = self.ctx;
        let next = self
            .slots
            .peek_not_before(self.not_before(job), job.timezone.as_ref());
        if let Some(horizon) = ctx.settings.idle_horizon
            && next > ctx.clock.now() + horizon
            && !self.retrying_in_flight
        {
            self.report.next_due = Some(next);
            return Step::Idle;
        }
        if let Some(step) = self.hold_for_domain(job, next) {
            return step;
        }
        let slot = self
            .slots
            .next_not_before(self.not_before(job), job.timezone.as_ref());
        ctx.emit(EventKind::Waiting {
            account: self.name.clone(),
            at: slot,
        });
        let recorded = match self.claimed.take(job.seq, slot) {
            Some(recorded) => recorded,
            None => {
                self.claimed.release(ctx.recorder.as_ref());
                match self.claim(job, following, slot).await {
                    Ok(recorded) => recorded,
                    Err(step) => return step,
                }
            }
        };
        if !ctx.sleep_until(slot).await {
            // Claimed but never sent.
            if self.retrying_in_flight {
                let reason = "interrupted while waiting to retry a request that may have arrived"
                    .to_string();
                ctx.recorder.outcome(
                    job.seq,
                    Outcome::Uncertain {
                        reason: reason.clone(),
                    },
                );
                self.report.uncertain.push((job.seq, reason));
                return Step::Next;
            }
            ctx.recorder.outcome(job.seq, Outcome::BackToPending);
            return Step::Stopped;
        }
        let now = ctx.clock.now();
        if now + self.claim_lead > recorded && !self.retrying_in_flight {
            // The claim's commit came back too close to (or after) the time
            // it recorded, leaving the request no margin to reach the wire
            // before it: a crash would count this send too early. Claimed
            // again.
            ctx.recorder.outcome(job.seq, Outcome::BackToPending);
            return Step::Again;
        }
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
            step: job.step,
            account: self.name.clone(),
            recipient: job.recipient.clone(),
            attempt: *attempt,
        });
        self.last_request = Some(now);
        let result = self.api.send(&self.token, &job.message).await;
        let now = ctx.clock.now();
        match result {
            Ok(response) => self.on_response(job, attempt, response, now),
            Err(error) => self.on_transport_error(job, attempt, error, now),
        }
    }

    /// `job` will not be sent: its recipient was stopped.
    fn on_recipient_stopped(&mut self, job: &Job, reason: Option<String>) {
        self.report.recipients_stopped += 1;
        self.ctx.emit(EventKind::Stopped {
            seq: job.seq,
            step: job.step,
            account: self.name.clone(),
            recipient: job.recipient.clone(),
            reason,
        });
    }

    /// Claims `job` (durably in flight) a moment before its slot, so the
    /// commit's latency does not delay the request, together with the
    /// messages due right after it (see [`super::claims`]). Returns the
    /// time recorded for `job`: its request must not leave later.
    async fn claim(
        &mut self,
        job: &Job,
        following: &[(u64, DateTime<Utc>)],
        slot: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Step> {
        let ctx = self.ctx;
        if !ctx.sleep_until(slot - self.claim_lead).await {
            return Err(Step::Stopped);
        }
        // Recorded at the slot, when the request will leave: a resume after a
        // crash counts this possible send against the rate from that moment.
        let leaves_at = slot.max(ctx.clock.now());
        let claims = claims::batch(job, following, leaves_at, self.claim_lead);
        let mut results = ctx.recorder.before_send_many(&claims).await.into_iter();
        let head = results
            .next()
            .unwrap_or_else(|| Err(anyhow::anyhow!("the journal gave no answer")));
        // The others: one that could not be claimed is claimed again on its
        // turn; those that were are released if the account stops first.
        for (&(seq, at), result) in claims[1..].iter().zip(results) {
            if result.is_ok() {
                self.claimed.push(seq, at);
            }
        }
        match head {
            Ok(()) => Ok(claims[0].1),
            // Still in flight from this message's previous attempt.
            Err(error)
                if self.retrying_in_flight && error.downcast_ref::<ClaimInFlight>().is_some() =>
            {
                Ok(claims[0].1)
            }
            // Another worker's sends filled the domain's day.
            Err(error) if error.downcast_ref::<ClaimDomainFull>().is_some() => {
                Err(self.domain_full(job, leaves_at))
            }
            Err(error) if error.downcast_ref::<ClaimSkipped>().is_some() => {
                self.on_recipient_stopped(job, None);
                Err(Step::Next)
            }
            // Ctrl-C while the database was unreachable: interrupted, not failed.
            Err(error) if gave_up_reconnecting(&error) => Err(Step::Stopped),
            Err(error) => {
                let reason = format!(
                    "cannot record the send in the journal: {error:#}; nothing more is sent"
                );
                if lease_was_lost(&error) {
                    ctx.fail_run_lease_lost(reason);
                } else {
                    ctx.fail_run(reason);
                }
                Err(Step::Stopped)
            }
        }
    }
}

/// Whether a claim was refused because the worker's lease on the account
/// was lost.
fn lease_was_lost(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<crate::journal::JournalError>(),
        Some(crate::journal::JournalError::LeaseLost { .. })
    )
}

/// Whether a claim failed because the run gave up waiting for its database.
pub(crate) fn gave_up_reconnecting(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<crate::journal::JournalError>()
        .is_some_and(|error| error.gave_up_reconnecting().is_some())
}
