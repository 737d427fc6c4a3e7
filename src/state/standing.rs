//! Where a campaign stands, as `status` tells it: whether a sender is
//! running, the counts as a person should read them (a stopped sender has
//! nothing in flight), and when the work left should be done. Read from the
//! journal and its lock; the printing is `cli/status_view.rs`.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use crate::journal::{StateCounts, StatusSummary};
use crate::state::saved::SavedOptions;

/// Whether a process is sending from the journal: the one that holds its
/// lock. Without one, nothing is in flight any more, whatever the journal
/// says: a message left `in_flight` by an interruption may have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Running {
        pid: Option<u32>,
    },
    /// `outreach worker`s hold leases on the campaign's accounts.
    Workers {
        count: u32,
    },
    Stopped,
}

impl Sender {
    pub fn of(journal: &Path) -> Sender {
        match crate::journal::JournalLock::holder(journal) {
            Some(pid) => Sender::Running { pid },
            None => Sender::Stopped,
        }
    }

    pub fn running(self) -> bool {
        matches!(self, Sender::Running { .. } | Sender::Workers { .. })
    }
}

/// The counts as `status` shows them: with no sender running, messages left
/// in flight are shown as uncertain (they may have arrived), since no
/// request of theirs is still open.
pub fn shown_counts(counts: StateCounts, sender: Sender) -> StateCounts {
    if sender.running() {
        return counts;
    }
    StateCounts {
        in_flight: 0,
        uncertain: counts.uncertain + counts.in_flight,
        ..counts
    }
}

/// When each account is expected to finish, from its pending count and pace.
pub fn eta(
    summary: &StatusSummary,
    saved: Option<&SavedOptions>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let saved = saved?;
    summary
        .accounts
        .iter()
        .filter(|account| account.counts.pending + account.counts.in_flight > 0)
        .filter_map(|account| {
            let rate = saved
                .accounts
                .iter()
                .find(|a| a.name == account.account)?
                .rate;
            let interval = TimeDelta::from_std(rate.interval()).ok()?;
            let start = account.next_planned.unwrap_or(now).max(now);
            let left = (account.counts.pending + account.counts.in_flight).saturating_sub(1);
            Some(start + interval * i32::try_from(left).unwrap_or(i32::MAX))
        })
        .max()
}
