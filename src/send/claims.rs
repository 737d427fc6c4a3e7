//! Claiming messages in the journal ahead of their slots, several per commit.
//!
//! A message must be durably in flight before its request leaves. At a fast
//! rate, one commit (one fsync) per message would cap an account at the
//! disk's fsync rate, so the messages due within the claim lead of the next
//! one are claimed with it, in one commit, up to [`CLAIM_BATCH`]. A crash
//! then reports those claimed but not yet sent as uncertain: safe (never sent
//! twice), and bounded by the lead (50 ms of sends) and the batch size. At
//! ordinary rates (one message every few seconds or minutes) a batch is one
//! message.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use super::account::Job;
use super::recorder::{Outcome, Recorder};

/// The most messages claimed in one commit.
pub const CLAIM_BATCH: usize = 32;

/// How long after its slot a claimed message may still leave under its
/// claim. Wider than a commit under load (tens of milliseconds), so a slow
/// commit does not cost a second claim; narrow enough that a resume after a
/// crash waits at most this much longer than it had to.
pub const CLAIM_SLACK: TimeDelta = TimeDelta::milliseconds(500);

/// Messages claimed ahead of their turn, in queue order, each with the
/// departure time recorded for it.
#[derive(Debug, Default)]
pub struct ClaimedAhead {
    queue: VecDeque<(u64, DateTime<Utc>)>,
}

impl ClaimedAhead {
    /// Uses the claim of `seq` if it was claimed ahead for a departure no
    /// earlier than its `slot` (the recorded time is what a resume after a
    /// crash counts against the rate windows, so it must not be early);
    /// returns the time recorded.
    pub fn take(&mut self, seq: u64, slot: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.queue.front() {
            Some(&(claimed, at)) if claimed == seq && slot <= at => {
                self.queue.pop_front();
                Some(at)
            }
            _ => None,
        }
    }

    pub fn push(&mut self, seq: u64, at: DateTime<Utc>) {
        self.queue.push_back((seq, at));
    }

    /// Claims that will not be used as made (a retry, a pause, the end of
    /// the run) go back to pending; the next commit records it.
    pub fn release(&mut self, recorder: &dyn Recorder) {
        for (seq, _) in self.queue.drain(..) {
            recorder.outcome(seq, Outcome::BackToPending);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// What to claim with `job`, due at `slot`: it, then the messages after it
/// (`following`, in queue order) planned less than `lead` after it, counting
/// `job`'s lateness against its plan. Each is recorded as leaving at
/// `slot + lead + CLAIM_SLACK`, the latest it may use the claim (see
/// [`ClaimedAhead::take`]): should the process die, a resume counts them
/// against the rate windows a little late, which only ever makes it wait.
pub fn batch(
    job: &Job,
    following: &[(u64, DateTime<Utc>)],
    slot: DateTime<Utc>,
    lead: TimeDelta,
) -> Vec<(u64, DateTime<Utc>)> {
    let shift = (slot - job.planned_at).max(TimeDelta::zero());
    let within = slot + lead;
    let latest = within + CLAIM_SLACK;
    let mut claims = vec![(job.seq, latest)];
    for &(seq, planned_at) in following.iter().take(CLAIM_BATCH - 1) {
        // Strictly within the lead: at 20/s and slower, one per commit.
        if planned_at + shift >= within {
            break;
        }
        claims.push((seq, latest));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::api::{MessagePayload, OutgoingMessage};
    use crate::send::recorder::{AttemptInfo, RecordFuture};
    use std::sync::Mutex;

    fn at(ms: i64) -> DateTime<Utc> {
        "2026-01-05T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::milliseconds(ms)
    }

    fn job(seq: u64, planned_ms: i64) -> Job {
        Job {
            seq,
            recipient: format!("r{seq}"),
            message: OutgoingMessage {
                payload: MessagePayload {
                    recipients: vec![format!("r{seq}")],
                    subject: None,
                    body: String::new(),
                },
                idempotency_key: format!("k{seq}"),
                html: None,
                fields: Default::default(),
            },
            planned_at: at(planned_ms),
            timezone: None,
            step: 1,
            priority: 0,
            ready: crate::plan::Ready::First,
        }
    }

    fn rest(jobs: &[Job]) -> Vec<(u64, DateTime<Utc>)> {
        jobs[1..]
            .iter()
            .map(|job| (job.seq, job.planned_at))
            .collect()
    }

    #[test]
    fn a_batch_holds_what_is_due_within_the_lead_moved_by_the_lateness() {
        let jobs: Vec<Job> = (0..10).map(|seq| job(seq, seq as i64 * 10)).collect();
        // The head is 3 ms late: the others are expected 3 ms late too.
        let claims = batch(&jobs[0], &rest(&jobs), at(3), TimeDelta::milliseconds(50));
        let latest = at(53) + CLAIM_SLACK;
        assert_eq!(
            claims,
            vec![
                (0, latest),
                (1, latest),
                (2, latest),
                (3, latest),
                (4, latest)
            ]
        );
    }

    #[test]
    fn one_interval_of_exactly_the_lead_claims_one_message_at_a_time() {
        let jobs: Vec<Job> = (0..3).map(|seq| job(seq, seq as i64 * 50)).collect();
        let claims = batch(&jobs[0], &rest(&jobs), at(0), TimeDelta::milliseconds(50));
        assert_eq!(claims, vec![(0, at(50) + CLAIM_SLACK)]);
    }

    #[test]
    fn slow_rates_claim_one_message_at_a_time() {
        let jobs: Vec<Job> = (0..3).map(|seq| job(seq, seq as i64 * 180_000)).collect();
        let claims = batch(&jobs[0], &rest(&jobs), at(0), TimeDelta::milliseconds(50));
        assert_eq!(claims, vec![(0, at(50) + CLAIM_SLACK)]);
    }

    #[test]
    fn a_batch_is_capped() {
        let jobs: Vec<Job> = (0..100).map(|seq| job(seq, 0)).collect();
        let claims = batch(&jobs[0], &rest(&jobs), at(0), TimeDelta::milliseconds(50));
        assert_eq!(claims.len(), CLAIM_BATCH);
    }

    #[derive(Default)]
    struct Released(Mutex<Vec<u64>>);

    impl Recorder for Released {
        fn before_send(&self, _: u64, _: DateTime<Utc>) -> RecordFuture<'_> {
            Box::pin(async { Ok(()) })
        }
        fn attempt(&self, _: AttemptInfo) {}
        fn outcome(&self, seq: u64, outcome: Outcome) {
            assert!(matches!(outcome, Outcome::BackToPending));
            self.0.lock().unwrap().push(seq);
        }
        fn flush(&self) -> RecordFuture<'_> {
            Box::pin(async { Ok(()) })
        }
    }

    #[test]
    fn a_claim_is_used_only_in_order_and_on_time() {
        let mut claimed = ClaimedAhead::default();
        claimed.push(1, at(50));
        claimed.push(2, at(50));
        assert_eq!(claimed.take(2, at(20)), None, "not the next one");
        assert_eq!(claimed.take(1, at(50)), Some(at(50)), "in time");
        assert_eq!(claimed.take(2, at(51)), None, "a pause moved it");
        let recorder = Released::default();
        claimed.release(&recorder);
        assert_eq!(*recorder.0.lock().unwrap(), vec![2]);
        assert!(claimed.is_empty());
    }
}
