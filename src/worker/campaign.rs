//! One campaign as a worker holds it: its saved options, channels and
//! journal, opened once, and the send loop of each account it leases.
//!
//! An account's run is the same executor `send` and `resume` use, for that
//! one account: its pending messages planned again from now with the
//! campaign's earlier sends (by every worker) as rate history, claims that
//! need the lease (`pg_lease`), and the database's clock as the run's
//! clock, so the rolling window and the daily caps are kept across workers
//! whose clocks differ. An account whose next message is not due soon ends
//! its run, so the lease goes back with that time as `not_before`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

use crate::journal::pg_domains::DomainRule;
use crate::journal::pg_lease::{Lease, LeaseCheck};
use crate::journal::{DbUrl, JournalHandle, MessageState, PgStore};
use crate::plan::domain_cap::DomainCap;
use crate::send::clock::Clock;
use crate::send::events::EventSink;
use crate::send::executor::{CLAIM_LEAD, ExecSettings, RunContext, RunReport, execute};
use crate::send::journal_recorder::JournalRecorder;
use crate::session::connect::{Target, choose_endpoint, connect};
use crate::session::resume::{previous_steps_of, rate_history};
use crate::session::work::{Pacing, replan};
use crate::state::saved::SavedOptions;

/// A campaign this worker works on.
pub struct CampaignWork {
    pub name: String,
    saved: SavedOptions,
    /// Reads (an account's messages and history) on a connection apart
    /// from the journal writer's.
    reader: Mutex<PgStore>,
    journal: JournalHandle,
    recorder: Arc<JournalRecorder>,
    target: Target,
    backoff: crate::throttle::BackoffPolicy,
}

/// How one account's run ended.
#[derive(Debug)]
pub struct RunEnd {
    pub report: Option<RunReport>,
    /// When the account's next message is due (the lease goes back until
    /// then), if it has one beyond the idle horizon.
    pub not_before: Option<DateTime<Utc>>,
    /// Why the run could not start or stopped early.
    pub problem: Option<String>,
    /// It stopped because the lease was lost: no fault of the account's.
    pub lease_lost: bool,
}

impl CampaignWork {
    /// Opens campaign `name` for this worker and connects its channels.
    pub async fn open(
        url: &DbUrl,
        name: &str,
        check: Arc<LeaseCheck>,
        endpoint: Option<&str>,
    ) -> anyhow::Result<CampaignWork> {
        let (writer, reader) = tokio::task::block_in_place(|| {
            let writer = PgStore::open_for_worker(url, name, check.clone())?;
            let reader = PgStore::open_for_worker(url, name, check)?;
            anyhow::Ok((writer, reader))
        })?;
        let meta = tokio::task::block_in_place(|| {
            use crate::journal::CampaignStore;
            reader.campaign()
        })?
        .with_context(|| format!("campaign `{name}` holds no plan"))?;
        let saved =
            SavedOptions::of(&meta).with_context(|| format!("cannot work on campaign `{name}`"))?;
        let (backoff, timeout) = (saved.retry.policy(), saved.retry.timeout());
        let endpoint = choose_endpoint(endpoint, saved.endpoint.as_deref());
        let target = connect(&saved.accounts, &endpoint, timeout)
            .await
            .with_context(|| format!("campaign `{name}`"))?;
        let mut writer = writer;
        if let Some(cap) = saved.per_domain_daily_cap {
            // Accounts run apart (here and in other workers): the database
            // counts each domain's day for every claim.
            writer.share_domain_cap(DomainRule {
                cap,
                zone: saved.zone(),
            });
        }
        let journal = tokio::task::block_in_place(|| JournalHandle::spawn(writer))?;
        Ok(CampaignWork {
            name: name.to_string(),
            saved,
            reader: Mutex::new(reader),
            recorder: Arc::new(JournalRecorder::new(journal.clone())),
            journal,
            target,
            backoff,
        })
    }

    /// The accounts whose messages a takeover may send again with their
    /// Idempotency-Key (`--resend-uncertain`): their channel drops repeats.
    pub fn accounts_repeating_safely(&self) -> Vec<String> {
        self.target
            .channels
            .iter()
            .filter(|channel| channel.api.repeats_safely())
            .map(|channel| channel.account.clone())
            .collect()
    }

    /// Sends `lease`'s account until it is done, its next message is
    /// further than `idle` away, or `stop` turns true.
    pub async fn run_account(
        self: Arc<Self>,
        lease: Lease,
        now: DateTime<Utc>,
        idle: Duration,
        events: Arc<dyn EventSink>,
        mut stop: watch::Receiver<bool>,
    ) -> RunEnd {
        let work = match tokio::task::block_in_place(|| self.account_work(&lease.account, now)) {
            Ok(work) => work,
            Err(error) => {
                return RunEnd {
                    report: None,
                    not_before: None,
                    problem: Some(format!("{error:#}")),
                    lease_lost: false,
                };
            }
        };
        let Some((work, settings)) = work else {
            return RunEnd {
                report: None,
                not_before: None,
                problem: None,
                lease_lost: false,
            };
        };
        let settings = ExecSettings {
            idle_horizon: Some(TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX)),
            ..settings
        };
        let (context, handle) = RunContext::new(
            Clock::starting_at(now),
            self.recorder.clone(),
            events,
            settings,
        );
        let stopper = tokio::spawn(async move {
            if stop.wait_for(|stopping| *stopping).await.is_ok() {
                handle.stop();
            }
        });
        let report = execute(context, work).await;
        stopper.abort();
        RunEnd {
            not_before: report.next_due(),
            problem: report.fatal.clone(),
            lease_lost: report.lease_lost,
            report: Some(report),
        }
    }

    /// The account's pending messages, planned again from `now` with the
    /// campaign's past sends; None when it has nothing pending.
    fn account_work(
        &self,
        account: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(Vec<crate::send::account::AccountWork>, ExecSettings)>> {
        let saved = &self.saved;
        let rules: Vec<_> = saved
            .accounts
            .iter()
            .filter(|rules| rules.name == account)
            .cloned()
            .collect();
        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let pending = reader.account_messages(account, &[MessageState::Pending])?;
        if pending.is_empty() || rules.is_empty() {
            return Ok(None);
        }
        let history = rate_history(&*reader, &rules, now)?;
        let previous_steps = previous_steps_of(&*reader, &pending)?;
        // Starts empty: every claim counts its domain's day in the database
        // (`journal::pg_domains`, set up in `open`), and a refusal fills the
        // day here. Reading the campaign's past sends instead would load
        // every sent message, bodies included, each time an account starts.
        let domain_cap = saved
            .per_domain_daily_cap
            .map(|cap| DomainCap::new(cap, saved.zone(), std::iter::empty()));
        drop(reader);
        let pacing = Pacing {
            accounts: &rules,
            windows: &saved.windows,
            timezone: saved.zone(),
            jitter: saved.jitter,
            seed: saved.seed_bytes(),
            steps: &saved.steps,
            domain_cap: domain_cap.clone(),
        };
        // Nothing before the campaign's start (`send --detach --start`):
        // no message of the account was planned earlier than its first.
        let start = pending
            .iter()
            .map(|stored| stored.message.planned_at)
            .min()
            .map_or(now, |first| first.max(now));
        let work = replan(
            pending,
            &pacing,
            &history,
            &self.target.channels,
            &previous_steps,
            start,
        )?;
        let settings = ExecSettings {
            windows: saved.windows.clone(),
            timezone: saved.zone(),
            backoff: self.backoff,
            claim_lead: CLAIM_LEAD,
            idle_horizon: None,
            domain_cap,
        };
        Ok(Some((work, settings)))
    }

    /// Ctrl-C: a journal waiting for the database to come back stops
    /// waiting.
    pub fn give_up_waiting(&self) {
        self.journal.give_up_waiting();
    }

    /// Writes what is queued and closes the channels and the journal.
    pub async fn close(self) -> anyhow::Result<()> {
        for channel in &self.target.channels {
            channel.api.close().await;
        }
        self.target.sandboxes.shutdown().await;
        self.journal
            .close()
            .await
            .with_context(|| format!("cannot finish writing campaign `{}`", self.name))
    }
}
