//! One account's way through its queue: first messages in plan order, due
//! follow-ups first, each message sent (with its retries) before the next;
//! a follow-up is released by the real send of its previous step.

use chrono::{DateTime, Utc};

use super::{AccountState, Job, PLANNED_AHEAD, Step};
use crate::plan::Ready;
use crate::send::claims;
use crate::send::events::EventKind;
use crate::sequence::StepQueue;

impl AccountState<'_> {
    /// Works through the queue until it is done or the account stops;
    /// `report.pending` counts what is left (follow-ups whose previous step
    /// did not go out included: they stay pending).
    pub(super) async fn run(&mut self, jobs: Vec<Job>) {
        let ctx = self.ctx;
        let mut queue = StepQueue::default();
        for job in jobs {
            match job.ready {
                Ready::First => {
                    let priority = job.priority;
                    queue.push_first(job, priority);
                }
                Ready::Due(due) => {
                    let priority = job.priority;
                    queue.push_due(job, priority, due);
                }
                Ready::After { previous, delay } => {
                    let (priority, zone) = (job.priority, job.timezone);
                    queue.push_after(job, priority, previous as u64, delay, zone);
                }
            }
        }
        // First messages announced (`planned` events) and not yet taken.
        let mut announced = 0usize;
        loop {
            if ctx.is_stopping() {
                self.report.pending = queue.remaining();
                return;
            }
            if announced == 0 {
                let ahead: Vec<(&Job, DateTime<Utc>)> = queue
                    .first_messages()
                    .take(PLANNED_AHEAD)
                    .map(|job| (job, job.planned_at))
                    .collect();
                announced = ahead.len();
                self.announce(ahead);
            }
            let Some(next) = queue.next(|job, due| {
                let not_before = self.not_before_at(due.unwrap_or(job.planned_at));
                self.slots
                    .peek_not_before(not_before, job.timezone.as_ref())
            }) else {
                break;
            };
            let mut job = next.item;
            match next.due {
                None => announced = announced.saturating_sub(1),
                // A follow-up is due after the real send of its previous step.
                Some(due) => job.planned_at = due,
            }
            let step = self.send_one(&job, &queue).await;
            match step {
                Step::Next => match self.accepted_at.take() {
                    Some(at) => {
                        queue.sent(
                            job.seq,
                            at,
                            &ctx.settings.windows,
                            &ctx.settings.timezone,
                            |follow_up, due| self.announce(vec![(follow_up, due)]),
                        );
                    }
                    None => {
                        queue.not_sent(job.seq);
                    }
                },
                Step::Again => unreachable!("send_one retries until the message is done"),
                Step::Defer(until) => {
                    let priority = job.priority;
                    queue.push_due(job, priority, until);
                }
                Step::Stopped | Step::Idle => {
                    self.release_domain(&job);
                    self.report.pending = queue.remaining() + 1;
                    return;
                }
                Step::StopAccount(reason) => {
                    self.release_domain(&job);
                    ctx.emit(EventKind::AccountStopped {
                        account: self.name.clone(),
                        reason: reason.clone(),
                    });
                    self.report.stopped = Some(reason);
                    self.report.pending = queue.remaining() + 1;
                    return;
                }
            }
        }
        self.report.pending = queue.remaining();
    }

    /// Sends `job`, retrying as the answers ask, until it is done (`Next`),
    /// the run stops or the account stops.
    async fn send_one(&mut self, job: &Job, queue: &StepQueue<Job>) -> Step {
        let mut attempt = 0u32;
        self.retrying_in_flight = false;
        self.domain_reserved = None;
        self.accepted_at = None;
        // First messages due right after this one may be claimed with it.
        let following: Vec<(u64, DateTime<Utc>)> = if job.ready == Ready::First {
            queue
                .first_messages()
                .take(claims::CLAIM_BATCH)
                .map(|next| (next.seq, next.planned_at))
                .collect()
        } else {
            Vec::new()
        };
        loop {
            if self.ctx.is_stopping() {
                return Step::Stopped;
            }
            match self.try_once(job, &following, &mut attempt).await {
                Step::Again => continue,
                other => return other,
            }
        }
    }

    fn announce(&self, jobs: Vec<(&Job, DateTime<Utc>)>) {
        for (job, at) in jobs {
            self.ctx.emit(EventKind::Planned {
                seq: job.seq,
                step: job.step,
                account: self.name.clone(),
                recipient: job.recipient.clone(),
                at,
            });
        }
    }
}
