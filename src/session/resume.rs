//! `resume`: continue a campaign from its journal.
//!
//! Order matters here: take the lock, turn messages left in flight by a crash
//! into `uncertain` (they may have arrived), check the inputs for changes,
//! read the rate history, apply `--retry-failed` / `--resend-uncertain`, then
//! plan what is pending again from now with the earlier sends counted against
//! every rate window.

use anyhow::Context;
use chrono::{TimeDelta, Utc};

use super::connect::{choose_endpoint, connect};
use super::reconcile::reconcile_changes;
use super::run::{ListWatch, run_work};
use super::work::{History, Pacing, replan};
use crate::account::Account;
use crate::exit_codes;
use crate::journal::{
    AnyStore, CampaignMeta, CampaignStore, JournalHandle, MessageState, StopStore,
};
use crate::options::{DeliveryOptions, ResumeOverrides};
use crate::send::executor::{CLAIM_LEAD, ExecSettings};
use crate::state::location::{self, Location};
use crate::state::paths::explain_open_error;
use crate::state::saved::SavedOptions;

/// Continue the campaign in the journal at `state`; returns the exit code.
pub fn resume(
    state: &Location,
    overrides: &ResumeOverrides,
    delivery: &DeliveryOptions,
) -> anyhow::Result<i32> {
    let mut store = location::open_store(state)?;
    let (meta, saved) = saved_options(&store, state).map_err(|_| {
        explain_open_error(
            crate::journal::JournalError::NoCampaign {
                path: state.as_path(),
            },
            &state.as_path(),
        )
    })?;
    let recovered = store.recover_in_flight()?;
    if recovered > 0 {
        say!(
            "{recovered} message(s) were in flight when the last run stopped: they may have arrived, so they are now \
             `uncertain` and will not be sent again. See `outreach report {}`; \
             `outreach resume --resend-uncertain` sends them again with the same Idempotency-Key.",
            state.flags()
        );
    }
    reconcile_changes(&mut store, &meta, &saved, overrides.changes)?;
    stop_listed(&mut store, &saved.suppress)?;
    // Read the rate history before --resend-uncertain moves those messages
    // back to pending: their earlier requests still count against the window.
    let accounts = overrides.accounts(&saved.accounts);
    let windows = overrides.windows_or(&saved.windows);
    let history = rate_history(&store, &accounts, Utc::now())?;

    if overrides.retry_failed {
        let moved = store.set_state_where(MessageState::Failed, MessageState::Pending)?;
        say!("--retry-failed: {moved} failed message(s) are pending again");
    }
    if overrides.resend_uncertain {
        let moved = store.set_state_where(MessageState::Uncertain, MessageState::Pending)?;
        say!(
            "--resend-uncertain: {moved} uncertain message(s) will be sent again with their original Idempotency-Key"
        );
    }
    let pending = store.messages_in_state(&[MessageState::Pending])?;
    let previous_steps = previous_steps_of(&store, &pending)?;
    let domain_cap = saved
        .per_domain_daily_cap
        .map(|cap| domain_cap_after(&store, cap, saved.zone(), Utc::now()))
        .transpose()?;
    if pending.is_empty() {
        let counts = store.summary()?.counts;
        say!(
            "Nothing left to send: {} sent, {} failed, {} uncertain, {} skipped (journal {}).",
            counts.sent,
            counts.failed,
            counts.uncertain,
            counts.skipped,
            state
        );
        return Ok(exit_codes::of_run(exit_codes::RunEnd {
            failed_or_uncertain: counts.failed + counts.uncertain,
            ..exit_codes::RunEnd::default()
        }));
    }

    let (backoff, timeout) = delivery
        .retry
        .over(saved.retry.policy(), saved.retry.timeout());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let endpoint = choose_endpoint(delivery.endpoint.as_deref(), saved.endpoint.as_deref());
        let target = connect(&saved.accounts, &endpoint, timeout).await?;
        let pacing = Pacing {
            accounts: &accounts,
            windows: &windows,
            timezone: saved.zone(),
            jitter: saved.jitter,
            seed: saved.seed_bytes(),
            steps: &saved.steps,
            domain_cap: domain_cap.clone(),
        };
        let pending_count = pending.len();
        let work = replan(
            pending,
            &pacing,
            &history,
            &target.channels,
            &previous_steps,
            Utc::now(),
        )?;
        say!(
            "resuming: {pending_count} message(s) pending (journal {})",
            state
        );
        let journal = JournalHandle::spawn(store)?;
        let settings = ExecSettings {
            windows: windows.clone(),
            timezone: saved.zone(),
            backoff,
            claim_lead: CLAIM_LEAD,
            idle_horizon: overrides.until_idle,
            domain_cap,
        };
        let hint = format!("outreach resume {}", state.flags());
        let lists = ListWatch {
            journal: state.clone(),
            lists: saved.suppress.clone(),
        };
        let code = run_work(delivery, target, work, journal, settings, &hint, lists).await?;
        Ok(campaign_exit_code(code, state))
    })
}

/// The people the do-not-contact lists name now are stopped before any
/// message is planned again.
fn stop_listed(store: &mut AnyStore, lists: &[std::path::PathBuf]) -> anyhow::Result<()> {
    if lists.is_empty() {
        return Ok(());
    }
    crate::stop::suppress::load(lists)?;
    let recipients = store
        .messages_in_state(&[
            MessageState::Pending,
            MessageState::Failed,
            MessageState::Uncertain,
        ])?
        .into_iter()
        .map(|stored| stored.message.recipient)
        .collect();
    let mut watch = crate::stop::suppress::Watch::new(lists.to_vec(), recipients);
    for request in watch.check_now() {
        store.stop(&request)?;
        say!(
            "{} recipient(s) stopped: {}",
            request.targets.len(),
            request.reason
        );
    }
    Ok(())
}

fn saved_options(
    store: &AnyStore,
    state: &Location,
) -> anyhow::Result<(CampaignMeta, SavedOptions)> {
    let meta = store
        .campaign()?
        .with_context(|| format!("the journal {state} holds no campaign (its creation was interrupted); start again with `outreach send --restart`"))?;
    let saved = SavedOptions::of(&meta)
        .with_context(|| format!("cannot resume from the journal {state}"))?;
    Ok((meta, saved))
}

/// Each account's recent sends: enough for its rolling window and for
/// today's daily cap, which never needs more than the cap.
pub(crate) fn rate_history(
    store: &dyn CampaignStore,
    accounts: &[Account],
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<History> {
    let mut history = History::new();
    for account in accounts {
        let lookback = TimeDelta::from_std(account.rate.period)
            .unwrap_or(TimeDelta::MAX)
            .max(TimeDelta::days(2));
        let needed = (account.rate.count as usize).max(account.daily_cap.unwrap_or(0) as usize);
        // A warm-up counts every earlier day with sends: all of them.
        let (since, needed) = match account.warmup {
            Some(_) => (chrono::DateTime::<Utc>::UNIX_EPOCH, usize::MAX),
            None => (now - lookback, needed),
        };
        let sends = store.sends_since(&account.name, since, needed)?;
        history.insert(account.name.clone(), sends);
    }
    Ok(history)
}

/// This run's exit code, raised to 3 when the campaign as a whole (earlier
/// runs included) has failed or uncertain messages.
fn campaign_exit_code(run_code: i32, state: &Location) -> i32 {
    if run_code != exit_codes::SUCCESS {
        return run_code;
    }
    let summary = location::open_read_only(state).and_then(|store| Ok(store.summary()?));
    match summary {
        Ok(summary) if summary.counts.failed + summary.counts.uncertain > 0 => {
            say!(
                "The campaign has {} failed and {} uncertain message(s) from this or earlier runs; see `outreach report {}`.",
                summary.counts.failed,
                summary.counts.uncertain,
                state.flags()
            );
            exit_codes::of_run(exit_codes::RunEnd {
                failed_or_uncertain: summary.counts.failed + summary.counts.uncertain,
                ..exit_codes::RunEnd::default()
            })
        }
        _ => run_code,
    }
}

/// What became of the previous steps that pending follow-ups wait for,
/// when those steps are not pending themselves.
pub(crate) fn previous_steps_of(
    store: &dyn CampaignStore,
    pending: &[crate::journal::StoredMessage],
) -> anyhow::Result<super::work::PreviousSteps> {
    let pending_seqs: std::collections::HashSet<u64> =
        pending.iter().map(|stored| stored.message.seq).collect();
    let wanted: Vec<u64> = pending
        .iter()
        .filter_map(|stored| stored.message.sequence.previous)
        .filter(|previous| !pending_seqs.contains(previous))
        .collect();
    Ok(store
        .previous_steps(&wanted)?
        .into_iter()
        .map(|step| (step.seq, step))
        .collect())
}

/// `per_domain_daily_cap` with the messages that may have reached their
/// server in the last two days counted (older ones cannot share a day with
/// anything still to send).
pub(crate) fn domain_cap_after(
    store: &dyn CampaignStore,
    cap: u32,
    zone: chrono_tz::Tz,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<crate::plan::domain_cap::DomainCap> {
    let since = now - TimeDelta::days(2);
    let past = store.messages_in_state(&[MessageState::Sent, MessageState::Uncertain])?;
    let recent = past.iter().filter_map(|stored| {
        let at = stored.sent_at.or(stored.last_attempt_at)?;
        (at >= since).then_some((stored.message.recipient.as_str(), at))
    });
    Ok(crate::plan::domain_cap::DomainCap::new(cap, zone, recent))
}
