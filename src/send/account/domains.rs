//! `per_domain_daily_cap` in the send loop: a message is counted against its
//! domain's day before it is claimed; when the day is full it waits for the
//! next day and the account's slot goes to the next message. In a worker the
//! claim also counts the day in the database, across workers
//! (`journal::pg_domains`), and a refusal fills the day here too.

use chrono::{DateTime, Utc};

use super::{AccountState, Job, Step};

impl AccountState<'_> {
    /// None when `job` may go at `at` (now counted for that day), else the
    /// step that holds it back to the next day.
    pub(super) fn hold_for_domain(&mut self, job: &Job, at: DateTime<Utc>) -> Option<Step> {
        let domains = self.ctx.domains.as_ref()?;
        let mut caps = domains.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reserved) = self.domain_reserved {
            // A retry of a request that may have arrived stays counted where
            // it was; so does one still on the same day.
            if self.retrying_in_flight || caps.next_day(reserved) > at {
                return None;
            }
            caps.release(&job.recipient, reserved);
            self.domain_reserved = None;
        }
        if caps.has_room(&job.recipient, at) {
            caps.record(&job.recipient, at);
            self.domain_reserved = Some(at);
            None
        } else {
            Some(Step::Defer(caps.next_day(at)))
        }
    }

    /// The database refused `job`'s claim at `at`: its domain's day is full
    /// with every worker's messages counted. The day is full here too, so
    /// the domain's other messages wait without asking, and `job` waits for
    /// the next day.
    pub(super) fn domain_full(&mut self, job: &Job, at: DateTime<Utc>) -> Step {
        self.release_domain(job);
        let Some(domains) = self.ctx.domains.as_ref() else {
            // A store counts domains only for a campaign with the cap.
            return Step::StopAccount(
                "the journal counted a per_domain_daily_cap this run does not have".into(),
            );
        };
        let mut caps = domains.lock().unwrap_or_else(|e| e.into_inner());
        caps.fill(&job.recipient, at);
        Step::Defer(caps.next_day(at))
    }

    /// The current message did not go: its count goes back to its day.
    pub(super) fn release_domain(&mut self, job: &Job) {
        let (Some(domains), Some(reserved)) =
            (self.ctx.domains.as_ref(), self.domain_reserved.take())
        else {
            return;
        };
        domains
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(&job.recipient, reserved);
    }
}
