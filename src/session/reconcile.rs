//! A campaign's CSV or templates changed between runs. Without
//! `--allow-changes`, resume refuses; with it, new rows are added, and the
//! messages of removed and edited rows are skipped (with the reason kept) or,
//! with `=update`, rendered again from the edited row. Messages that were
//! sent, or may have been, are never touched.

use std::collections::HashMap;

use anyhow::bail;
use chrono::Utc;

use crate::campaign::Campaign;
use crate::journal::{CampaignMeta, CampaignStore, MessageState, NewMessage, Rerender, RowDigest};
use crate::options::{self, CampaignFlags};
use crate::state::changes::{
    ChangePolicy, CurrentRow, EditedRow, changed_files, diff_rows, plan_changes,
};
use crate::state::saved::SavedOptions;
use crate::state::start::{rerender_key, row_digest, row_fields, step_key};

/// Compare the inputs with the journal's digests and apply `policy`.
pub fn reconcile_changes(
    store: &mut impl CampaignStore,
    meta: &CampaignMeta,
    saved: &SavedOptions,
    policy: Option<ChangePolicy>,
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
    let Some(policy) = policy else {
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
    // Rows are compared through their first messages; a sequence's later
    // steps follow their row (see `steps_of` and `new_rows`).
    let firsts: Vec<usize> = (0..campaign.messages.len())
        .filter(|&index| campaign.messages[index].step == 1)
        .collect();
    let current: Vec<CurrentRow> = firsts
        .iter()
        .map(|&index| &campaign.messages[index])
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
    let plan = plan_changes(&changes, &current, policy, &csv_name);
    let skipped = store.skip_with_reasons(&plan.skip)?;
    let steps = steps_of(&campaign);
    let updated = rerender_edited(store, meta, &campaign, &plan.update, &firsts, &steps)?;
    let next_seq = journal_rows
        .iter()
        .map(|row| row.seq + 1)
        .max()
        .unwrap_or(0);
    let added: Vec<usize> = changes.added.iter().map(|&index| firsts[index]).collect();
    let added = new_rows(&campaign, &added, meta, next_seq, &steps)?;
    store.add_messages(&added)?;
    let (flag, updated_text) = match policy {
        ChangePolicy::Skip => ("--allow-changes", String::new()),
        ChangePolicy::Update => (
            "--allow-changes=update",
            format!(", {updated} re-rendered from their edited rows"),
        ),
    };
    say!(
        "{flag}: {}; {} added as pending{updated_text}, {skipped} skipped (sent messages are never touched); \
         the reasons are in `outreach report`",
        changes.describe(),
        added.len()
    );
    if policy == ChangePolicy::Update && plan.kept > 0 {
        say!(
            "{flag}: {} edited row(s) keep the message they had: it was sent, failed or is uncertain, \
             and may have reached the server with its old text",
            plan.kept
        );
    }
    Ok(())
}

/// Each row's message index per step: `(row, step) -> index` into
/// `campaign.messages`.
type StepIndex = HashMap<(usize, u32), usize>;

fn steps_of(campaign: &Campaign) -> StepIndex {
    campaign
        .messages
        .iter()
        .enumerate()
        .map(|(index, message)| ((message.row, message.step), index))
        .collect()
}

/// The messages of rows added to the CSV (`added`: their first messages,
/// by index), every step of each, numbered from `next_seq` (a follow-up
/// after its previous step), planned for now (resume plans every pending
/// message again anyway).
fn new_rows(
    campaign: &Campaign,
    added: &[usize],
    meta: &CampaignMeta,
    next_seq: u64,
    steps: &StepIndex,
) -> anyhow::Result<Vec<NewMessage>> {
    let now = Utc::now();
    let mut messages = Vec::new();
    for &first in added {
        let row = campaign.messages[first].row;
        let mut previous: Option<u64> = None;
        for step in 1..=campaign.step_count() {
            let Some(&index) = steps.get(&(row, step)) else {
                break;
            };
            let seq = next_seq + messages.len() as u64;
            let mut message = new_row(campaign, index, meta, seq, now)?;
            message.sequence.previous = previous;
            previous = Some(seq);
            messages.push(message);
        }
    }
    Ok(messages)
}

/// One message of an added row.
fn new_row(
    campaign: &Campaign,
    index: usize,
    meta: &CampaignMeta,
    seq: u64,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<NewMessage> {
    let message = &campaign.messages[index];
    let rendered = campaign.render(message)?;
    let recipient = campaign.recipient(message).to_string();
    // By name: a row of an account the campaign no longer has is
    // refused when the pending messages are planned again.
    let account = campaign.accounts[message.account].name.clone();
    Ok(NewMessage {
        seq,
        line: campaign.line(message),
        idempotency_key: step_key(&meta.campaign_id, &recipient, message.step),
        recipient,
        account,
        subject: rendered.subject,
        body: rendered.body,
        planned_at: now,
        row_digest: row_digest(&campaign.table.rows[message.row].record),
        timezone: message.timezone.map(|zone| zone.name().to_string()),
        html: rendered.html,
        fields: row_fields(campaign, message, &campaign.accounts[message.account]),
        sequence: crate::journal::SequencePlace {
            step: message.step,
            previous: None,
            priority: message.priority,
        },
    })
}

/// `--allow-changes=update`: the pending messages of edited rows get their
/// text from the row as it is now, for the same recipient. Returns how many.
fn rerender_edited(
    store: &mut impl CampaignStore,
    meta: &CampaignMeta,
    campaign: &Campaign,
    edited: &[EditedRow],
    firsts: &[usize],
    steps: &StepIndex,
) -> anyhow::Result<usize> {
    if edited.is_empty() {
        return Ok(0);
    }
    // (attempted, step) of each pending message.
    let pending: HashMap<u64, (bool, u32)> = store
        .messages_in_state(&[MessageState::Pending])?
        .into_iter()
        .map(|stored| {
            let step = stored.message.sequence.step;
            (stored.message.seq, (stored.attempts > 0, step))
        })
        .collect();
    let updates: Vec<Rerender> = edited
        .iter()
        .map(|row| -> anyhow::Result<Rerender> {
            let (was_attempted, step) = pending.get(&row.seq).copied().unwrap_or((false, 1));
            // The same step of the row as it is now.
            let row_index = campaign.messages[firsts[row.current]].row;
            let index = steps
                .get(&(row_index, step))
                .copied()
                .unwrap_or(firsts[row.current]);
            let message = &campaign.messages[index];
            let rendered = campaign.render(message)?;
            let digest = row_digest(&campaign.table.rows[message.row].record);
            let keyed = if step > 1 {
                format!("{}\0step {step}", row.recipient)
            } else {
                row.recipient.clone()
            };
            Ok(Rerender {
                seq: row.seq,
                line: campaign.line(message),
                subject: rendered.subject,
                body: rendered.body,
                idempotency_key: rerender_key(&meta.campaign_id, &keyed, &digest, was_attempted),
                row_digest: digest,
                timezone: message.timezone.map(|zone| zone.name().to_string()),
                html: rendered.html,
                fields: row_fields(campaign, message, &campaign.accounts[message.account]),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    store.rerender(&updates)?;
    Ok(updates.len())
}

/// The campaign as its saved flags load it today.
fn reload(flags: &CampaignFlags) -> anyhow::Result<Campaign> {
    let cwd = std::env::current_dir()?;
    let spec = options::resolve(flags, Utc::now(), &cwd, options::system_timezone())?;
    Ok(Campaign::load(spec)?)
}
