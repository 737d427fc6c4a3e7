//! `outreach worker`: executes every active campaign of a PostgreSQL
//! database, sharing them with any number of other workers on any number
//! of machines.
//!
//! Leases are renewed by a thread of their own (`renewer`). The loop, about
//! every `tick`: stop every account whose lease the last renewal did not
//! keep, record a heartbeat, list the
//! campaigns with work, lease free accounts up to a fair share (accounts
//! with work / live workers) and start a send loop for each, and give back
//! accounts above the share so a worker that joins gets some. Between
//! ticks it sleeps until a NOTIFY (new work, a lease given back), an
//! account's run ending, or Ctrl-C. docs/postgres.md ("Workers") has the
//! guarantees and the failover bound.

mod campaign;
mod database;
mod leases;
mod renewer;
mod settings;
mod sink;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, mpsc, watch};

use crate::exit_codes;
use crate::journal::pg_control::{PgControl, PgListener};
use crate::journal::pg_lease::{LeaseCheck, OpenCampaign, WorkerId};
use campaign::{CampaignWork, RunEnd};
use leases::{Held, RunDone};
pub use settings::WorkerSettings;
use settings::{ACCOUNT_STOP_PAUSE, fair_share, margin, problem_pause, tick, worker_id};
pub use sink::WorkerSink;

/// Runs a worker until Ctrl-C (or, with `until_idle`, until nothing is
/// due); returns the exit code.
pub fn run(settings: WorkerSettings) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: WorkerSettings) -> anyhow::Result<i32> {
    let id = worker_id();
    let control = tokio::task::block_in_place(|| PgControl::connect(&settings.url))?;
    let wake = Arc::new(Notify::new());
    let woken = wake.clone();
    let listener = tokio::task::block_in_place(|| {
        PgListener::start(&settings.url, move || woken.notify_one())
    })?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopper = stop_tx.clone();
    crate::session::signals::on_signals(move || {
        stopper.send_replace(true);
    });
    let sink = Arc::new(WorkerSink::new(settings.events.as_deref())?);
    let renewer = renewer::Renewer::start(
        settings.url.clone(),
        id.id.clone(),
        settings.lease,
        settings.lease / 3,
    );
    say!(
        "worker {} on {}: leases of {}, renewed every {}",
        id.id,
        control.url(),
        humantime::format_duration(settings.lease),
        humantime::format_duration(Duration::from_millis(tick(&settings).as_millis() as u64)),
    );
    let mut worker = Worker {
        check: LeaseCheck::new(id.id.clone(), margin(&settings)),
        id,
        control,
        settings,
        campaigns: HashMap::new(),
        held: Held::default(),
        done: mpsc::unbounded_channel(),
        sink,
        offset: TimeDelta::zero(),
        wake: wake.clone(),
        listener: Some(listener),
        trouble_since: None,
        renewer,
    };
    let code = worker.serve(&wake, stop_rx).await;
    worker.finish().await;
    code
}

struct Worker {
    id: WorkerId,
    settings: WorkerSettings,
    control: PgControl,
    check: Arc<LeaseCheck>,
    campaigns: HashMap<i64, Arc<CampaignWork>>,
    held: Held,
    done: (
        mpsc::UnboundedSender<RunDone>,
        mpsc::UnboundedReceiver<RunDone>,
    ),
    sink: Arc<WorkerSink>,
    /// The database's clock minus this machine's.
    offset: TimeDelta,
    wake: Arc<Notify>,
    listener: Option<PgListener>,
    /// Since when looks at the database fail.
    trouble_since: Option<tokio::time::Instant>,
    renewer: renewer::Renewer,
}

impl Worker {
    async fn serve(
        &mut self,
        wake: &Notify,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<i32> {
        let mut last_report = tokio::time::Instant::now();
        loop {
            while let Ok(done) = self.done.1.try_recv() {
                self.finished(done)?;
            }
            if *stop.borrow() {
                return self.stop_all().await.map(|()| exit_codes::INTERRUPTED);
            }
            let idle = self.look_or_reconnect();
            if idle && self.settings.until_idle && self.held.is_empty() {
                say!(
                    "worker {}: no campaign has a message due; exiting",
                    self.id.id
                );
                return Ok(exit_codes::SUCCESS);
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                last_report = tokio::time::Instant::now();
                say!("worker {}: {}", self.id.id, self.sink.line(self.held.len()));
            }
            tokio::select! {
                () = wake.notified() => {}
                Some(done) = self.done.1.recv() => self.finished(done)?,
                () = tokio::time::sleep(tick(&self.settings)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One look at the database: lost leases, heartbeat, lease, rebalance.
    /// Returns whether nothing is due anywhere.
    fn look(&mut self) -> anyhow::Result<bool> {
        let now_ns = self.control.now_ns()?;
        self.offset = crate::journal::sqlite::from_ns(now_ns) - Utc::now();
        let renewed = self.renewer.take();
        let lost = renewed
            .map(|(started, renewed)| self.held.lost(started, &renewed))
            .unwrap_or_default();
        for (campaign, account) in lost {
            say!(
                "worker {}: lost the lease on account `{account}` of campaign {campaign}; it stops at once",
                self.id.id
            );
            self.check.drop_lease(campaign, &account);
        }
        let live = self
            .control
            .heartbeat(&self.id, self.settings.lease)?
            .max(1);
        let open = self.control.open_campaigns()?;
        let mut due = 0;
        for campaign in &open {
            if !self.wanted(campaign) {
                continue;
            }
            due += campaign.due;
            self.balance(campaign, live)?;
        }
        Ok(due == 0)
    }

    fn wanted(&self, campaign: &OpenCampaign) -> bool {
        self.settings.campaigns.is_empty() || self.settings.campaigns.contains(&campaign.name)
    }

    /// Leases up to this worker's share of `campaign`'s accounts, or gives
    /// back what is above it.
    fn balance(&mut self, campaign: &OpenCampaign, live: i64) -> anyhow::Result<()> {
        let share = fair_share(campaign.due, live, self.settings.max_accounts);
        let held = self.held.count(campaign.id) as i64;
        if held > share {
            for account in self.held.excess(campaign.id, (held - share) as usize) {
                self.held.stop(campaign.id, &account);
            }
            return Ok(());
        }
        if campaign.free == 0 || held >= share {
            return Ok(());
        }
        let Some(work) = self.campaign(campaign)? else {
            return Ok(());
        };
        let resend = if self.settings.resend_uncertain {
            work.accounts_repeating_safely()
        } else {
            Vec::new()
        };
        let leases = self.control.acquire(
            campaign.id,
            &self.id.id,
            share - held,
            self.settings.lease,
            resend,
            self.held.accounts(campaign.id),
        )?;
        let now = Utc::now() + self.offset;
        for lease in leases {
            self.check.hold(lease.campaign, &lease.account, lease.fence);
            if lease.uncertain + lease.resent > 0 {
                say!(
                    "worker {}: took over account `{}` of campaign `{}`: {} message(s) its last worker left in flight are uncertain{}",
                    self.id.id,
                    lease.account,
                    campaign.name,
                    lease.uncertain,
                    if lease.resent > 0 {
                        format!(", {} pending again (--resend-uncertain)", lease.resent)
                    } else {
                        String::new()
                    }
                );
            }
            self.start(work.clone(), lease, now);
        }
        Ok(())
    }

    /// The campaign's work, opened on first use; None while a `send` or
    /// `resume` holds it alone.
    fn campaign(&mut self, campaign: &OpenCampaign) -> anyhow::Result<Option<Arc<CampaignWork>>> {
        if let Some(work) = self.campaigns.get(&campaign.id) {
            return Ok(Some(work.clone()));
        }
        if !self.control.share_campaign(&campaign.name)? {
            return Ok(None);
        }
        let opened = tokio::runtime::Handle::current().block_on(CampaignWork::open(
            &self.settings.url,
            &campaign.name,
            self.check.clone(),
            self.settings.endpoint.as_deref(),
        ));
        let work = match opened {
            Ok(work) => Arc::new(work),
            Err(error) => {
                self.control.unshare_campaign(&campaign.name)?;
                say!(
                    "worker {}: skipping campaign `{}`: {error:#}",
                    self.id.id,
                    campaign.name
                );
                return Ok(None);
            }
        };
        say!(
            "worker {}: working on campaign `{}`",
            self.id.id,
            campaign.name
        );
        self.campaigns.insert(campaign.id, work.clone());
        Ok(Some(work))
    }

    fn start(
        &mut self,
        work: Arc<CampaignWork>,
        lease: crate::journal::pg_lease::Lease,
        now: DateTime<Utc>,
    ) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let done = self.done.0.clone();
        let events: Arc<dyn crate::send::events::EventSink> = self.sink.clone();
        let idle = self.settings.idle;
        let key = (lease.campaign, lease.account.clone(), lease.fence);
        self.held.insert(&lease, stop_tx);
        tokio::spawn(async move {
            let end = work.run_account(lease, now, idle, events, stop_rx).await;
            let _ = done.send(RunDone {
                campaign: key.0,
                account: key.1,
                fence: key.2,
                end,
            });
        });
    }

    /// An account's run ended: give its lease back, until its next message
    /// is due if it has one later.
    fn finished(&mut self, done: RunDone) -> anyhow::Result<()> {
        let RunDone {
            campaign,
            account,
            fence,
            end,
        } = done;
        if !self.held.remove(campaign, &account, fence) {
            // Not the run this worker holds the account with (cannot
            // happen: `acquire` skips accounts still running here).
            return Ok(());
        }
        self.check.drop_lease(campaign, &account);
        let RunEnd {
            not_before,
            problem,
            lease_lost,
            report,
        } = end;
        let mut not_before = not_before;
        let now = Utc::now() + self.offset;
        for (name, reason) in report.iter().flat_map(|report| report.stopped_accounts()) {
            say!(
                "worker {}: account `{name}` stopped: {reason}; no worker takes it for {} minutes (fix it, then `outreach worker` picks it up again)",
                self.id.id,
                ACCOUNT_STOP_PAUSE.num_minutes()
            );
            not_before = Some(now + ACCOUNT_STOP_PAUSE);
        }
        if let Some(problem) = problem {
            say!("worker {}: account `{account}`: {problem}", self.id.id);
            if let Some(pause) = problem_pause(lease_lost, now) {
                not_before.get_or_insert(pause);
            }
        }
        let not_before_ns = not_before.and_then(|at| at.timestamp_nanos_opt());
        let released = tokio::task::block_in_place(|| {
            self.control
                .release(campaign, &account, fence, &self.id.id, not_before_ns)
        });
        if let Err(error) = released {
            // It expires by itself; another worker takes it then.
            say!(
                "worker {}: cannot give the lease on account `{account}` back ({error}); it expires within {}",
                self.id.id,
                humantime::format_duration(self.settings.lease)
            );
        }
        Ok(())
    }

    /// Ctrl-C: every account finishes its request in flight, then the
    /// leases go back.
    async fn stop_all(&mut self) -> anyhow::Result<()> {
        say!(
            "worker {}: stopping: no new sends; {} account(s) finish their request in flight",
            self.id.id,
            self.held.len()
        );
        self.held.stop_all();
        // Claims waiting for a database that is away end now (the
        // messages they were for stay pending, or uncertain if in flight).
        for work in self.campaigns.values() {
            work.give_up_waiting();
        }
        while !self.held.is_empty() {
            match self.done.1.recv().await {
                Some(done) => self.finished(done)?,
                None => break,
            }
        }
        Ok(())
    }

    async fn finish(&mut self) {
        for (_, work) in self.campaigns.drain() {
            if let Ok(work) = Arc::try_unwrap(work)
                && let Err(error) = work.close().await
            {
                say!("worker {}: {error:#}", self.id.id);
            }
        }
        let _ = tokio::task::block_in_place(|| self.control.unregister(&self.id));
        say!("worker {}: {}", self.id.id, self.sink.line(0));
    }
}
