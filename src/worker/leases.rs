//! The accounts a worker holds, each with the switch that stops its run.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use tokio::sync::watch;

use super::campaign::RunEnd;
use crate::journal::pg_lease::Lease;

/// An account's run ended (sent to the worker's loop).
#[derive(Debug)]
pub struct RunDone {
    pub campaign: i64,
    pub account: String,
    pub fence: i64,
    pub end: RunEnd,
}

struct Holding {
    fence: i64,
    stop: watch::Sender<bool>,
    /// When it was leased: a renewal that started earlier says nothing of it.
    since: Instant,
}

/// Leases held, by (campaign, account).
#[derive(Default)]
pub struct Held {
    runs: BTreeMap<(i64, String), Holding>,
}

impl Held {
    pub fn insert(&mut self, lease: &Lease, stop: watch::Sender<bool>) {
        debug_assert!(
            !self
                .runs
                .contains_key(&(lease.campaign, lease.account.clone())),
            "a second run of one account"
        );
        self.runs.insert(
            (lease.campaign, lease.account.clone()),
            Holding {
                fence: lease.fence,
                stop,
                since: Instant::now(),
            },
        );
    }

    /// Forgets the run of `account` leased with `fence`; false if the
    /// account is held with another fence (or not at all).
    pub fn remove(&mut self, campaign: i64, account: &str, fence: i64) -> bool {
        let key = (campaign, account.to_string());
        match self.runs.get(&key) {
            Some(holding) if holding.fence == fence => {
                self.runs.remove(&key);
                true
            }
            _ => false,
        }
    }

    /// The accounts of `campaign` with a run in this worker, stopping or not.
    pub fn accounts(&self, campaign: i64) -> Vec<String> {
        self.runs
            .keys()
            .filter(|(c, _)| *c == campaign)
            .map(|(_, account)| account.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn count(&self, campaign: i64) -> usize {
        self.runs.keys().filter(|(c, _)| *c == campaign).count()
    }

    /// Stops the run of one account (it finishes its request in flight).
    pub fn stop(&self, campaign: i64, account: &str) {
        if let Some(holding) = self.runs.get(&(campaign, account.to_string())) {
            holding.stop.send_replace(true);
        }
    }

    pub fn stop_all(&self) {
        for holding in self.runs.values() {
            holding.stop.send_replace(true);
        }
    }

    /// `n` accounts of `campaign` to give back, not already stopping.
    pub fn excess(&self, campaign: i64, n: usize) -> Vec<String> {
        self.runs
            .iter()
            .filter(|((c, _), holding)| *c == campaign && !*holding.stop.borrow())
            .map(|((_, account), _)| account.clone())
            .take(n)
            .collect()
    }

    /// After a renewal that started at `started` and kept `renewed`
    /// (campaign, account, fence): the leases held since before it and not
    /// among them are lost; their runs are told to stop.
    pub fn lost(&mut self, started: Instant, renewed: &[(i64, String, i64)]) -> Vec<(i64, String)> {
        let kept: HashSet<(i64, &str, i64)> = renewed
            .iter()
            .map(|(campaign, account, fence)| (*campaign, account.as_str(), *fence))
            .collect();
        let mut lost = Vec::new();
        for ((campaign, account), holding) in &self.runs {
            if holding.since < started
                && !kept.contains(&(*campaign, account.as_str(), holding.fence))
                && !*holding.stop.borrow()
            {
                holding.stop.send_replace(true);
                lost.push((*campaign, account.clone()));
            }
        }
        lost
    }
}
