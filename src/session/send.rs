//! `send`: a freshly planned campaign is written to its journal, then sent.
//!
//! A CSV whose journal already exists is never sent again by accident: a
//! finished campaign says so and stops, one under way points at `resume`,
//! and another campaign's journal is refused. `--restart` moves the old
//! journal aside first.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::connect::{check_tokens, choose_endpoint, connect};
use super::run::{ListWatch, run_work};
use super::work::work_from_new;
use crate::campaign::Campaign;
use crate::exit_codes;
use crate::journal::{CampaignStore, JournalHandle, JournalLock};
use crate::options::{CampaignFlags, DeliveryOptions};
use crate::plan::Slot;
use crate::send::executor::{CLAIM_LEAD, ExecSettings};
use crate::state::location::{self, Location};
use crate::state::paths::archive_path;
use crate::state::{preflight, start};

/// A planned campaign and how to send it.
pub struct NewRun<'a> {
    pub campaign: &'a Campaign,
    pub slots: &'a [Slot],
    /// The campaign flags as given, saved in the journal for `resume`.
    pub flags: &'a CampaignFlags,
    /// The journal to create.
    pub state: &'a Location,
    /// `--restart`: begin again although `state` holds a campaign.
    pub restart: bool,
    /// `--detach`: record the campaign for workers and return.
    pub detach: bool,
    pub delivery: &'a DeliveryOptions,
}

/// Record and send `run`'s campaign; returns the exit code.
pub fn send(run: NewRun<'_>) -> anyhow::Result<i32> {
    let NewRun {
        campaign,
        slots,
        flags,
        state,
        restart,
        detach,
        delivery,
    } = run;
    if detach && state.file().is_some() {
        bail!(
            "--detach leaves the campaign to `outreach worker`s, which share campaigns through PostgreSQL: \
             pass --state postgres://USER@HOST/DB (or set OUTREACH_DATABASE_URL)"
        );
    }
    let (backoff, timeout) = delivery
        .retry
        .over_config(&campaign.spec.config.config.retry);
    // Saved as given (`None`: the default), so a resume follows a config edit.
    let endpoint = delivery
        .endpoint
        .clone()
        .or_else(|| campaign.spec.endpoint.clone());
    if location::exists(state)? {
        if restart {
            // A missing token stops here, before the old journal is moved.
            check_tokens(
                &campaign.accounts,
                &choose_endpoint(endpoint.as_deref(), None),
            )?;
        }
        if let Some(code) = existing_campaign(state, restart, campaign)? {
            return Ok(code);
        }
    }
    if detach {
        return detached(campaign, slots, flags, state, endpoint, (&backoff, timeout));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = connect(
            &campaign.accounts,
            &choose_endpoint(endpoint.as_deref(), None),
            timeout,
        )
        .await?;
        let mut new = start::new_campaign(
            campaign,
            slots,
            flags,
            &backoff,
            timeout,
            endpoint,
            chrono::Utc::now(),
        )?;
        let mut store = location::create_store(state)?;
        store.create_campaign(&new.meta, &new.messages)?;
        // A campaign that starts "now" starts when sending can begin: storing
        // a large plan takes a moment, and slots planned during it would all
        // be late at once. The journal keeps the times the executor uses.
        if flags.start.is_none() {
            let setup = chrono::Utc::now() - campaign.spec.start;
            if setup > chrono::TimeDelta::zero() {
                store.shift_pending(setup)?;
                for message in &mut new.messages {
                    message.planned_at += setup;
                }
            }
        }
        let journal = JournalHandle::spawn(store)?;
        let work = work_from_new(
            &campaign.accounts,
            new.messages,
            &target.channels,
            &campaign.spec.steps,
        );
        let settings = ExecSettings {
            windows: campaign.spec.windows.clone(),
            timezone: campaign.spec.timezone,
            backoff,
            claim_lead: CLAIM_LEAD,
            idle_horizon: None,
            domain_cap: campaign.spec.per_domain_daily_cap.map(|cap| {
                crate::plan::domain_cap::DomainCap::new(cap, campaign.spec.timezone, [])
            }),
        };
        let hint = format!("outreach resume {}", state.flags());
        let lists = ListWatch {
            journal: state.clone(),
            lists: campaign.spec.suppress.clone(),
        };
        run_work(delivery, target, work, journal, settings, &hint, lists).await
    })
}

/// `send --detach`: the campaign goes into the database, due now, and the
/// workers are woken; nothing is sent from here.
fn detached(
    campaign: &Campaign,
    slots: &[Slot],
    flags: &CampaignFlags,
    state: &Location,
    endpoint: Option<String>,
    (backoff, timeout): (&crate::throttle::BackoffPolicy, std::time::Duration),
) -> anyhow::Result<i32> {
    let new = start::new_campaign(
        campaign,
        slots,
        flags,
        backoff,
        timeout,
        endpoint,
        chrono::Utc::now(),
    )?;
    let mut store = location::create_store(state)?;
    store.create_campaign(&new.meta, &new.messages)?;
    if let crate::journal::AnyStore::Postgres(store) = &store {
        store.wake_workers()?;
    }
    say!(
        "{} message(s) recorded in {state}; nothing was sent from here. \
         `outreach worker` sends them (start one or more: {}); \
         follow with `outreach status {} --watch`.",
        new.messages.len(),
        state.worker_command(),
        state.flags()
    );
    Ok(exit_codes::SUCCESS)
}

/// `send` on a CSV whose campaign exists: never send anyone again by accident,
/// and never take another campaign's journal for this one's.
/// Returns `Some(exit code)` when `send` must stop here.
fn existing_campaign(
    location: &Location,
    restart: bool,
    campaign: &Campaign,
) -> anyhow::Result<Option<i32>> {
    match location {
        // A campaign being sent right now: say so, whatever else is true.
        Location::File(path) => drop(JournalLock::acquire(path)?),
        Location::Postgres { url, campaign, .. } => {
            if restart {
                bail!("{}", preflight::restart_in_database(location));
            }
            let store = location::open_read_only(location)?;
            if location::sender(location, &store).running() {
                return Err(crate::journal::JournalError::CampaignBusy {
                    url: url.redacted(),
                    name: campaign.clone(),
                }
                .into());
            }
        }
    }
    if restart && let Location::File(path) = location {
        move_aside(path)?;
        return Ok(None);
    }
    let store = location::open_read_only(location)?;
    let existing = preflight::existing(location, &store, campaign)?;
    if existing.is_complete() {
        say!("{}", existing.complete_text());
        return Ok(Some(exit_codes::SUCCESS));
    }
    bail!("{}", existing.under_way_text())
}

/// `--restart`: the journal and its SQLite side files get a dated name.
fn move_aside(state: &Path) -> anyhow::Result<()> {
    let archive = archive_path(state, chrono::Utc::now());
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let from = PathBuf::from(format!("{}{suffix}", state.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", archive.display()));
            std::fs::rename(&from, &to)
                .with_context(|| format!("cannot move {} aside", from.display()))?;
        }
    }
    say!(
        "--restart: the previous journal is kept as {}",
        archive.display()
    );
    Ok(())
}
