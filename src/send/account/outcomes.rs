//! What a response, or a request that got none, means for the account:
//! sent, paused until the reset, retried with backoff, failed for this
//! recipient, or the account stopped. Split from the loop in `mod.rs` so
//! each reads on its own.

use chrono::{DateTime, TimeDelta, Utc};

use super::{AccountState, Job, Step};
use crate::send::api::{ApiResponse, ResponseClass, TransportError};
use crate::send::budget::HARD_BACKOFF_AFTER;
use crate::send::events::EventKind;
use crate::send::recorder::{AttemptInfo, Outcome};
use crate::throttle::parse_rate_limit_headers;

impl AccountState<'_> {
    pub(super) fn on_response(
        &mut self,
        job: &Job,
        attempt: &mut u32,
        response: ApiResponse,
        now: DateTime<Utc>,
    ) -> Step {
        let ctx = self.ctx;
        let status = response.status;
        self.unreachable_streak = 0;
        let info = parse_rate_limit_headers(&response.headers, now);
        let sent_at = self.last_request.unwrap_or(now);
        let class = response.class;
        let advice = self
            .pacer
            .observe(&info, class == ResponseClass::Throttled, sent_at, now);
        ctx.recorder.attempt(AttemptInfo {
            seq: job.seq,
            at: now,
            status: Some(status),
            limit: info.limit,
            remaining: info.remaining,
            reset_at: info.reset_at,
            error: (class != ResponseClass::Sent).then(|| response.body_excerpt.clone()),
        });
        // Only a pace slower than the plan's: the slot generator keeps the
        // plan's own pace, on its grid.
        self.header_spacing = advice
            .min_spacing
            .and_then(|spacing| TimeDelta::from_std(spacing).ok())
            .filter(|spacing| *spacing > self.plan_interval);

        match class {
            ResponseClass::Sent => {
                self.blind_throttles = 0;
                self.budget.record(false);
                ctx.recorder.outcome(
                    job.seq,
                    Outcome::Sent {
                        at: now,
                        api_message_id: response.message_id.clone(),
                    },
                );
                self.report.sent += 1;
                self.accepted_at = Some(now);
                ctx.emit(EventKind::Sent {
                    seq: job.seq,
                    step: job.step,
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
            ResponseClass::Throttled => {
                ctx.recorder.outcome(job.seq, Outcome::BackToPending);
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
                let reason = format!("{status} {}", response.status_text);
                self.pause(until, now, reason.trim_end());
                Step::Again
            }
            ResponseClass::AuthRefused => {
                ctx.recorder.outcome(job.seq, Outcome::BackToPending);
                Step::StopAccount(format!(
                    "the API answered {status} {}: check the token of account `{}` ({}), then run `outreach resume`",
                    response.status_text, self.name, self.token_source
                ))
            }
            ResponseClass::Transient { maybe_delivered } => {
                let reason = format!("{status} {}", response.status_text);
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
            ResponseClass::Permanent => {
                self.budget.record(false);
                let reason = format!(
                    "{status} {}: {}",
                    response.status_text, response.body_excerpt
                );
                ctx.recorder.outcome(
                    job.seq,
                    Outcome::Failed {
                        reason: reason.clone(),
                        status: Some(status),
                    },
                );
                self.fail(job, Some(status), reason);
                Step::Next
            }
        }
    }

    pub(super) fn on_transport_error(
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
        if let TransportError::Unreachable { .. } = error {
            return self.unreachable(job, attempt, error.to_string(), now);
        }
        self.unreachable_streak = 0;
        let maybe_delivered = error.maybe_delivered();
        if maybe_delivered {
            // The server may have counted it against the quota.
            self.pacer.unanswered(now);
        }
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
                crate::send::budget::WINDOW,
                self.name
            ));
        }
        let backoff = &ctx.settings.backoff;
        let stopping = ctx.is_stopping();
        if stopping && !maybe_delivered {
            // The server proved it did not take the message: it stays pending.
            ctx.recorder.outcome(job.seq, Outcome::BackToPending);
            return Step::Stopped;
        }
        // A request that may have arrived is repeated only where the
        // receiver drops repeats (the Idempotency-Key); else it is uncertain
        // now, and only `resume --resend-uncertain` sends it again.
        let unsafe_to_repeat = maybe_delivered && !self.api.repeats_safely();
        if backoff.exhausted(*attempt) || stopping || unsafe_to_repeat {
            let tries = if *attempt == 1 {
                "1 attempt".to_string()
            } else {
                format!("{} attempts", *attempt)
            };
            let reason = if unsafe_to_repeat {
                format!(
                    "{reason} (after {tries}; not resent: the server could not tell it from a new message)"
                )
            } else {
                format!("{reason} (after {tries})")
            };
            if maybe_delivered {
                ctx.recorder.outcome(
                    job.seq,
                    Outcome::Uncertain {
                        reason: reason.clone(),
                    },
                );
                self.report.uncertain.push((job.seq, reason.clone()));
                ctx.emit(EventKind::Uncertain {
                    seq: job.seq,
                    step: job.step,
                    account: self.name.clone(),
                    recipient: job.recipient.clone(),
                    reason,
                });
            } else {
                ctx.recorder.outcome(
                    job.seq,
                    Outcome::Failed {
                        reason: reason.clone(),
                        status,
                    },
                );
                self.fail(job, status, reason);
            }
            return Step::Next;
        }
        // A hint is waited as given. Without one, a lone failure costs one
        // interval (the retry takes the next slot); only a streak of
        // failures backs the account off, doubling with each further one.
        let streak = self.budget.failing_streak();
        let backoff_wait = match hinted_until {
            Some(until) => Some(until - now),
            None if streak >= HARD_BACKOFF_AFTER => {
                let exponent = u32::try_from(streak - HARD_BACKOFF_AFTER).unwrap_or(u32::MAX);
                let delay = backoff.delay(exponent, rand::random::<f64>());
                Some(TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX))
            }
            None => None,
        };
        let wait = backoff_wait.unwrap_or_else(|| self.next_interval(now));
        if !maybe_delivered {
            // Not taken by the server: pending until the retry claims it again,
            // so a crash meanwhile leaves it pending, not uncertain.
            ctx.recorder.outcome(job.seq, Outcome::BackToPending);
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
        if let Some(wait) = backoff_wait {
            self.pause_until = Some(
                self.pause_until
                    .map_or(now + wait, |until| until.max(now + wait)),
            );
        }
        Step::Again
    }

    fn fail(&mut self, job: &Job, status: Option<u16>, reason: String) {
        self.report.failed.push((job.seq, reason.clone()));
        self.ctx.emit(EventKind::Failed {
            seq: job.seq,
            step: job.step,
            account: self.name.clone(),
            recipient: job.recipient.clone(),
            status,
            reason,
        });
    }

    pub(super) fn pause(&mut self, until: DateTime<Utc>, now: DateTime<Utc>, reason: &str) {
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
