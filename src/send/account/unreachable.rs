//! A request that never reached the server: refused, DNS, TLS handshake.
//!
//! Such a message was certainly not taken, so it is never failed for it,
//! whatever its attempt count: it stays pending. A few tries in a row that
//! cannot connect mean the endpoint is down or wrong, not the message; the
//! run then stops at once and names the endpoint, so a plain `outreach
//! resume` sends every pending message when the API is back.

use chrono::{DateTime, TimeDelta, Utc};

use super::{AccountState, Job, Step};
use crate::send::events::EventKind;
use crate::send::recorder::Outcome;

/// Connection failures in a row (one account) that stop the run. With the
/// default retry base of 2 s, a refused connection stops a run within about
/// 10 s; a silent host within 3 connect timeouts (10 s each) and the waits.
pub const UNREACHABLE_LIMIT: u32 = 3;

impl AccountState<'_> {
    pub(super) fn unreachable(
        &mut self,
        job: &Job,
        attempt: &mut u32,
        reason: String,
        now: DateTime<Utc>,
    ) -> Step {
        let ctx = self.ctx;
        // Claimed before the request; the server never saw it.
        ctx.recorder.outcome(job.seq, Outcome::BackToPending);
        self.retrying_in_flight = false;
        self.unreachable_streak += 1;
        if ctx.is_stopping() {
            return Step::Stopped;
        }
        if self.unreachable_streak >= UNREACHABLE_LIMIT {
            ctx.fail_run(format!(
                "{reason} ({} tries in a row, account `{}`); nothing more is sent and no message was lost: \
                 every message not sent stays pending. Check the endpoint and the network, then run `outreach resume`",
                self.unreachable_streak, self.name
            ));
            return Step::Stopped;
        }
        // Not a failed attempt of this message: it never left.
        *attempt = attempt.saturating_sub(1);
        let delay = ctx
            .settings
            .backoff
            .delay(self.unreachable_streak - 1, rand::random::<f64>());
        let wait = TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX);
        ctx.emit(EventKind::Retrying {
            seq: job.seq,
            account: self.name.clone(),
            attempt: self.unreachable_streak,
            reason,
            wait_ms: wait.num_milliseconds(),
        });
        self.pause_until = Some(
            self.pause_until
                .map_or(now + wait, |until| until.max(now + wait)),
        );
        Step::Again
    }
}
