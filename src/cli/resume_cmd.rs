//! `outreach resume`: continue a campaign from its journal.
//!
//! Order matters here: take the lock, turn messages left in flight by a crash
//! into `uncertain` (they may have arrived), check the inputs for changes,
//! apply `--retry-failed` / `--resend-uncertain`, then re-plan what is pending
//! from now with the earlier sends counted against every rate window.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{TimeDelta, Utc};
use clap::Args;

use super::send_cmd::{DeliveryArgs, apply_retry_flags, connect, run_work};
use crate::account::Account;
use crate::campaign::Campaign;
use crate::exit_codes;
use crate::journal::{
    CampaignStore, JournalHandle, MessageState, NewMessage, Rerender, RowDigest, SqliteStore,
};
use crate::options::{self, CampaignFlags, OptionsError, Origin};
use crate::rate::Rate;
use crate::send::executor::ExecSettings;
use crate::send::journal_recorder::JournalRecorder;
use crate::state::changes::{
    ChangePolicy, CurrentRow, EditedRow, changed_files, diff_rows, plan_changes,
};
use crate::state::paths::{explain_open_error, find_state};
use crate::state::replan::{Pacing, replan};
use crate::state::saved::SavedOptions;
use crate::state::start::{idempotency_key, rerender_key, row_digest};
use crate::window::WindowSet;

/// `outreach resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The campaign journal [default: the one *.outreach.db in the current directory].
    ///
    /// Example: outreach resume --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// A new pace for every account (e.g. lower after a warning from the API).
    ///
    /// The messages themselves do not change.
    ///
    /// Example: outreach resume --rate 10/h
    #[arg(short, long, value_name = "N/PERIOD")]
    pub rate: Option<String>,

    /// New send windows (repeatable), replacing the saved ones.
    ///
    /// Example: outreach resume --window 'mon-fri 09:00-17:00'
    #[arg(short, long = "window", value_name = "DAYS HH:MM-HH:MM")]
    pub windows: Vec<String>,

    /// A new daily cap per account.
    ///
    /// Example: outreach resume --daily-cap 50
    #[arg(
        long,
        value_name = "N",
        value_parser = super::args::count::<u32>
    )]
    pub daily_cap: Option<u32>,

    /// Continue although the CSV or a template changed: new rows are added, removed or edited rows skipped (`=update`: edited rows re-rendered).
    ///
    /// New rows are added as pending, removed rows are skipped. Edited rows: `--allow-changes`
    /// (or `=skip`) skips their messages, with the reason in the report;
    /// `--allow-changes=update` renders their unsent messages again from the edited row (same
    /// recipient). Messages that were sent, or may have been (failed, uncertain), are never
    /// changed.
    ///
    /// Example: outreach resume --allow-changes=update
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "skip"
    )]
    pub allow_changes: Option<AllowChanges>,

    /// Put permanently failed messages back in the queue (e.g. after fixing a token).
    ///
    /// Example: outreach resume --retry-failed
    #[arg(long)]
    pub retry_failed: bool,

    /// Send uncertain messages again, with the same Idempotency-Key.
    ///
    /// Uncertain: the first request may have arrived, but no response came back. Servers that
    /// honour the header drop the duplicate. Check `outreach report` first.
    ///
    /// Example: outreach resume --resend-uncertain
    #[arg(long)]
    pub resend_uncertain: bool,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// `--allow-changes[=HOW]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AllowChanges {
    /// Skip the messages of edited rows.
    Skip,
    /// Render the unsent messages of edited rows again.
    Update,
}

impl AllowChanges {
    fn policy(self) -> ChangePolicy {
        match self {
            AllowChanges::Skip => ChangePolicy::Skip,
            AllowChanges::Update => ChangePolicy::Update,
        }
    }
}

impl ResumeArgs {
    /// Every flag value, checked before the journal is opened or changed.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if let Some(text) = &self.rate {
            options::parse_rate_flag(text)?;
        }
        new_windows(self)?;
        if self.daily_cap == Some(0) {
            return Err(OptionsError::DailyCap {
                origin: Origin::Flag("--daily-cap"),
            });
        }
        self.delivery.validate()
    }
}

/// The `--window` values, or `None` to keep the saved windows.
fn new_windows(args: &ResumeArgs) -> Result<Option<WindowSet>, OptionsError> {
    if args.windows.is_empty() {
        return Ok(None);
    }
    let origin = Origin::Flag("--window");
    args.windows
        .iter()
        .map(|text| options::parse_window(text, &origin))
        .collect::<Result<Vec<_>, _>>()
        .map(|windows| Some(WindowSet::new(windows)))
}

fn saved_options(
    store: &SqliteStore,
) -> anyhow::Result<(crate::journal::CampaignMeta, SavedOptions)> {
    let meta = store
        .campaign()?
        .with_context(|| format!("the journal {} holds no campaign (its creation was interrupted); start again with `outreach send --restart`", store.path().display()))?;
    let saved = SavedOptions::of(&meta)
        .with_context(|| format!("cannot resume from the journal {}", store.path().display()))?;
    Ok((meta, saved))
}

/// Compare inputs; with --allow-changes, add new rows, and skip (with the
/// reason recorded) or re-render the messages of removed and edited ones.
fn reconcile_changes(
    store: &mut SqliteStore,
    meta: &crate::journal::CampaignMeta,
    saved: &SavedOptions,
    allow: Option<AllowChanges>,
) -> anyhow::Result<()> {
    let changed = changed_files(&meta.inputs);
    if changed.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = changed
        .iter()
        .map(|file| {
            format!(
                "{} ({})",
                file.path,
                if file.missing { "missing" } else { "changed" }
            )
        })
        .collect();
    let Some(allow) = allow else {
        bail!(
            "the campaign's inputs changed since it began: {}. Nothing was sent. \
             Restore them, or pass --allow-changes to continue anyway (new rows are added, removed or edited rows are skipped; \
             --allow-changes=update sends edited rows' new text instead)",
            list.join(", ")
        );
    };
    let campaign = reload(&saved.flags)?;
    let mut journal_rows: Vec<RowDigest> = Vec::new();
    store.row_digests(&mut |row| {
        journal_rows.push(row);
        Ok(())
    })?;
    let current: Vec<CurrentRow> = campaign
        .messages
        .iter()
        .map(|message| CurrentRow {
            recipient: campaign.recipient(message).to_string(),
            line: campaign.line(message),
            digest: row_digest(&campaign.table.rows[message.row].record),
        })
        .collect();
    let changes = diff_rows(&journal_rows, &current);
    let csv_name = saved.flags.csv.file_name().map_or_else(
        || saved.flags.csv.display().to_string(),
        |name| name.to_string_lossy().to_string(),
    );
    let plan = plan_changes(&changes, &current, allow.policy(), &csv_name);
    let skipped = store.skip_with_reasons(&plan.skip)?;
    let updated = rerender_edited(store, meta, &campaign, &plan.update)?;
    let next_seq = journal_rows
        .iter()
        .map(|row| row.seq + 1)
        .max()
        .unwrap_or(0);
    let now = Utc::now();
    let added: Vec<NewMessage> = changes
        .added
        .iter()
        .enumerate()
        .map(|(offset, index)| -> anyhow::Result<NewMessage> {
            let message = &campaign.messages[*index];
            let rendered = campaign.render(message)?;
            let recipient = campaign.recipient(message).to_string();
            let account = saved.accounts.get(message.account).map_or_else(
                || campaign.accounts[message.account].name.clone(),
                |a| a.name.clone(),
            );
            Ok(NewMessage {
                seq: next_seq + offset as u64,
                line: campaign.line(message),
                idempotency_key: idempotency_key(&meta.campaign_id, &recipient),
                recipient,
                account,
                subject: rendered.subject,
                body: rendered.body,
                planned_at: now,
                row_digest: row_digest(&campaign.table.rows[message.row].record),
                timezone: message.timezone.map(|zone| zone.name().to_string()),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    store.add_messages(&added)?;
    let flag = match allow {
        AllowChanges::Skip => "--allow-changes",
        AllowChanges::Update => "--allow-changes=update",
    };
    let updated_text = match allow {
        AllowChanges::Skip => String::new(),
        AllowChanges::Update => format!(", {updated} re-rendered from their edited rows"),
    };
    say!(
        "{flag}: {}; {} added as pending{updated_text}, {skipped} skipped (sent messages are never touched); \
         the reasons are in `outreach report`",
        changes.describe(),
        added.len()
    );
    if allow == AllowChanges::Update && plan.kept > 0 {
        say!(
            "{flag}: {} edited row(s) keep the message they had: it was sent, failed or is uncertain, \
             and may have reached the server with its old text",
            plan.kept
        );
    }
    Ok(())
}

/// `--allow-changes=update`: the pending messages of edited rows get their
/// text from the row as it is now, for the same recipient. Returns how many.
fn rerender_edited(
    store: &mut SqliteStore,
    meta: &crate::journal::CampaignMeta,
    campaign: &Campaign,
    edited: &[EditedRow],
) -> anyhow::Result<usize> {
    if edited.is_empty() {
        return Ok(0);
    }
    let attempted: HashMap<u64, bool> = store
        .messages_in_state(&[MessageState::Pending])?
        .into_iter()
        .map(|stored| (stored.message.seq, stored.attempts > 0))
        .collect();
    let updates: Vec<Rerender> = edited
        .iter()
        .map(|row| -> anyhow::Result<Rerender> {
            let message = &campaign.messages[row.current];
            let rendered = campaign.render(message)?;
            let digest = row_digest(&campaign.table.rows[message.row].record);
            let was_attempted = attempted.get(&row.seq).copied().unwrap_or(false);
            Ok(Rerender {
                seq: row.seq,
                line: campaign.line(message),
                subject: rendered.subject,
                body: rendered.body,
                idempotency_key: rerender_key(
                    &meta.campaign_id,
                    &row.recipient,
                    &digest,
                    was_attempted,
                ),
                row_digest: digest,
                timezone: message.timezone.map(|zone| zone.name().to_string()),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    store.rerender(&updates)?;
    Ok(updates.len())
}

fn reload(flags: &CampaignFlags) -> anyhow::Result<Campaign> {
    let cwd = std::env::current_dir()?;
    let spec = options::resolve(flags, Utc::now(), &cwd, options::system_timezone())?;
    Ok(Campaign::load(spec)?)
}

/// The saved accounts with resume's pacing flags applied.
fn pacing_rules(saved: &SavedOptions, args: &ResumeArgs) -> anyhow::Result<Vec<Account>> {
    let rate: Option<Rate> = args
        .rate
        .as_deref()
        .map(options::parse_rate_flag)
        .transpose()?;
    if args.daily_cap == Some(0) {
        return Err(OptionsError::DailyCap {
            origin: Origin::Flag("--daily-cap"),
        }
        .into());
    }
    Ok(saved
        .accounts
        .iter()
        .map(|account| Account {
            rate: rate.unwrap_or(account.rate),
            daily_cap: args.daily_cap.or(account.daily_cap),
            ..account.clone()
        })
        .collect())
}

fn windows(saved: &SavedOptions, args: &ResumeArgs) -> anyhow::Result<WindowSet> {
    Ok(new_windows(args)?.unwrap_or_else(|| saved.windows.clone()))
}

/// This run's exit code, raised to 3 when the campaign as a whole (earlier
/// runs included) has failed or uncertain messages.
fn campaign_exit_code(run_code: i32, state: &std::path::Path) -> i32 {
    if run_code != exit_codes::SUCCESS {
        return run_code;
    }
    match SqliteStore::open_read_only(state).and_then(|store| store.summary()) {
        Ok(summary) if summary.counts.failed + summary.counts.uncertain > 0 => {
            say!(
                "The campaign has {} failed and {} uncertain message(s) from this or earlier runs; see `outreach report --state {}`.",
                summary.counts.failed,
                summary.counts.uncertain,
                state.display()
            );
            exit_codes::of_run(exit_codes::RunEnd {
                failed_or_uncertain: summary.counts.failed + summary.counts.uncertain,
                ..exit_codes::RunEnd::default()
            })
        }
        _ => run_code,
    }
}

pub fn run(args: ResumeArgs) -> anyhow::Result<i32> {
    args.validate()?;
    let state = match &args.state {
        Some(path) => path.clone(),
        None => find_state(&std::env::current_dir()?)?,
    };
    let mut store = SqliteStore::open(&state).map_err(|error| explain_open_error(error, &state))?;
    let (meta, saved) = saved_options(&store).map_err(|_| {
        explain_open_error(
            crate::journal::JournalError::NoCampaign {
                path: state.clone(),
            },
            &state,
        )
    })?;
    let recovered = store.recover_in_flight()?;
    if recovered > 0 {
        say!(
            "{recovered} message(s) were in flight when the last run stopped: they may have arrived, so they are now \
             `uncertain` and will not be sent again. See `outreach report --state {}`; \
             `outreach resume --resend-uncertain` sends them again with the same Idempotency-Key.",
            state.display()
        );
    }
    reconcile_changes(&mut store, &meta, &saved, args.allow_changes)?;
    // Read the rate history before --resend-uncertain moves those messages
    // back to pending: their earlier requests still count against the window.
    let rules = pacing_rules(&saved, &args)?;
    let windows = windows(&saved, &args)?;
    let now = Utc::now();
    let mut history = Vec::with_capacity(rules.len());
    for account in &rules {
        // Enough history for the rolling window and for today's daily cap.
        let lookback = TimeDelta::from_std(account.rate.period)
            .unwrap_or(TimeDelta::MAX)
            .max(TimeDelta::days(2));
        // The slot generator looks at the last N sends (the rolling window)
        // and counts today's against the daily cap, which never needs more
        // than the cap: older sends change nothing.
        let needed = (account.rate.count as usize).max(account.daily_cap.unwrap_or(0) as usize);
        history.push(store.sends_since(&account.name, now - lookback, needed)?);
    }

    if args.retry_failed {
        let moved = store.set_state_where(MessageState::Failed, MessageState::Pending)?;
        say!("--retry-failed: {moved} failed message(s) are pending again");
    }
    if args.resend_uncertain {
        let moved = store.set_state_where(MessageState::Uncertain, MessageState::Pending)?;
        say!(
            "--resend-uncertain: {moved} uncertain message(s) will be sent again with their original Idempotency-Key"
        );
    }
    let pending = store.messages_in_state(&[MessageState::Pending])?;
    if pending.is_empty() {
        let counts = store.summary()?.counts;
        say!(
            "Nothing left to send: {} sent, {} failed, {} uncertain, {} skipped (journal {}).",
            counts.sent,
            counts.failed,
            counts.uncertain,
            counts.skipped,
            state.display()
        );
        return Ok(exit_codes::of_run(exit_codes::RunEnd {
            failed_or_uncertain: counts.failed + counts.uncertain,
            ..exit_codes::RunEnd::default()
        }));
    }

    let (backoff, timeout) =
        apply_retry_flags(&args.delivery, saved.retry.policy(), saved.retry.timeout())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = connect(
            &saved.accounts,
            saved.endpoint.as_deref(),
            &args.delivery,
            timeout,
        )
        .await?;
        let pacing = Pacing {
            accounts: &rules,
            windows: &windows,
            timezone: saved.zone(),
            jitter: saved.jitter,
            seed: saved.seed_bytes(),
        };
        let pending_count = pending.len();
        let work = replan(pending, &pacing, &history, &target.tokens, Utc::now())?;
        say!(
            "resuming: {pending_count} message(s) pending (journal {})",
            state.display()
        );
        let journal = JournalHandle::spawn(store)?;
        let settings = ExecSettings {
            windows: windows.clone(),
            timezone: saved.zone(),
            backoff,
            claim_lead: crate::send::executor::CLAIM_LEAD,
        };
        let recorder = Arc::new(JournalRecorder::new(journal.clone()));
        let hint = format!("outreach resume --state {}", state.display());
        let code = run_work(&args.delivery, target, work, recorder, settings, &hint).await?;
        journal
            .close()
            .await
            .context("cannot finish writing the journal")?;
        Ok(campaign_exit_code(code, &state))
    })
}
