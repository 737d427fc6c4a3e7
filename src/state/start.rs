//! A planned campaign becomes journal rows: one per message, with its
//! rendered text, its Idempotency-Key and a digest of its CSV row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::saved::{SavedOptions, SavedRetry};
use crate::campaign::Campaign;
use crate::journal::{CampaignMeta, InputDigest, NewMessage};
use crate::options::CampaignFlags;
use crate::plan::Slot;
use crate::throttle::BackoffPolicy;

/// The journal's view of a new campaign.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub meta: CampaignMeta,
    pub messages: Vec<NewMessage>,
    pub options: SavedOptions,
}

/// The Idempotency-Key of a recipient in a campaign: the same on every retry
/// and resume, different for a `--restart`ed campaign.
pub fn idempotency_key(campaign_id: &str, recipient: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(campaign_id.as_bytes());
    hasher.update(b"\0");
    hasher.update(recipient.as_bytes());
    format!("outreach-{}", &hasher.finalize().to_hex()[..32])
}

/// The Idempotency-Key of one step of a recipient's sequence: step 1 keeps
/// [`idempotency_key`], so a campaign without steps is keyed as before.
pub fn step_key(campaign_id: &str, recipient: &str, step: u32) -> String {
    if step <= 1 {
        idempotency_key(campaign_id, recipient)
    } else {
        idempotency_key(campaign_id, &format!("{recipient}\0step {step}"))
    }
}

/// The key of a message re-rendered from an edited row
/// (`--allow-changes=update`). A message never attempted keeps its key: the
/// server has never seen it. One attempted before (refused with 408, 503 or
/// a lost connection, so back to pending) gets a key of its own, because a
/// server may have stored the old key with the old text.
pub fn rerender_key(
    campaign_id: &str,
    recipient: &str,
    row_digest: &str,
    attempted: bool,
) -> String {
    if attempted {
        idempotency_key(campaign_id, &format!("{recipient}\0{row_digest}"))
    } else {
        idempotency_key(campaign_id, recipient)
    }
}

/// blake3 of one CSV row's fields, to notice an edited row.
pub fn row_digest<'a>(record: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = blake3::Hasher::new();
    for field in record {
        hasher.update(field.as_bytes());
        hasher.update(b"\x1f");
    }
    hasher.finalize().to_hex().to_string()
}

/// blake3 of a file, or of nothing if it cannot be read.
pub fn file_digest(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| blake3::hash(&bytes).to_hex().to_string())
        .unwrap_or_default()
}

/// `path` made absolute, as journals save paths.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The input files of a campaign and their digests (the CSV first).
pub fn input_digests(campaign: &Campaign) -> Vec<InputDigest> {
    let mut inputs = vec![InputDigest {
        path: absolute(&campaign.spec.csv).display().to_string(),
        blake3: campaign.table.digest.clone(),
    }];
    for file in campaign.templates.files() {
        inputs.push(InputDigest {
            path: absolute(file).display().to_string(),
            blake3: file_digest(file),
        });
    }
    inputs
}

/// The CSV row's fields by header, kept with the message only when its
/// account's channel builds requests from them (a declared HTTP API), so a
/// resumed campaign sends what a fresh one would.
pub fn row_fields(
    campaign: &Campaign,
    message: &crate::campaign::Message,
    account: &crate::account::Account,
) -> BTreeMap<String, String> {
    if account.channel.kind != "http" {
        return BTreeMap::new();
    }
    let record = &campaign.table.rows[message.row].record;
    campaign
        .table
        .headers
        .iter()
        .enumerate()
        .filter_map(|(column, header)| Some((header.clone(), record.get(column)?.to_string())))
        .collect()
}

/// Build the journal rows of a freshly planned campaign.
pub fn new_campaign(
    campaign: &Campaign,
    slots: &[Slot],
    flags: &CampaignFlags,
    backoff: &BackoffPolicy,
    timeout: Duration,
    endpoint: Option<String>,
    now: DateTime<Utc>,
) -> anyhow::Result<NewCampaign> {
    let mut flags = flags.clone();
    flags.csv = absolute(&flags.csv);
    flags.template = flags.template.as_deref().map(absolute);
    flags.config = campaign.spec.config.path.as_deref().map(absolute);
    flags.start = None;
    let options = SavedOptions {
        flags,
        accounts: campaign.accounts.clone(),
        windows: campaign.spec.windows.clone(),
        timezone: campaign.spec.timezone.name().to_string(),
        jitter: campaign.spec.jitter,
        seed: blake3::Hash::from_bytes(campaign.seed())
            .to_hex()
            .to_string(),
        endpoint,
        retry: SavedRetry::new(backoff, timeout),
        suppress: campaign.spec.suppress.clone(),
        steps: campaign.spec.steps.clone(),
        per_domain_daily_cap: campaign.spec.per_domain_daily_cap,
    };
    let options_json = serde_json::to_string(&options)?;
    let inputs = input_digests(campaign);
    let mut fingerprint = blake3::Hasher::new();
    for input in &inputs {
        fingerprint.update(input.blake3.as_bytes());
    }
    fingerprint.update(options_json.as_bytes());
    let fingerprint = fingerprint.finalize().to_hex().to_string();
    let campaign_id = {
        let mut id = blake3::Hasher::new();
        id.update(fingerprint.as_bytes());
        id.update(now.to_rfc3339().as_bytes());
        id.finalize().to_hex()[..16].to_string()
    };

    // A follow-up names its previous step by seq; seqs follow the plan.
    let mut seq_of = vec![None; campaign.messages.len()];
    for (seq, slot) in slots.iter().enumerate() {
        seq_of[slot.id] = Some(seq as u64);
    }
    let mut messages = Vec::with_capacity(slots.len());
    for (seq, slot) in slots.iter().enumerate() {
        let message = &campaign.messages[slot.id];
        let rendered = campaign.render(message)?;
        let recipient = campaign.recipient(message).to_string();
        messages.push(NewMessage {
            seq: seq as u64,
            line: campaign.line(message),
            idempotency_key: step_key(&campaign_id, &recipient, message.step),
            sequence: crate::journal::SequencePlace {
                step: message.step,
                previous: message.previous.and_then(|previous| seq_of[previous]),
                priority: message.priority,
            },
            account: campaign.accounts[slot.account].name.clone(),
            recipient,
            subject: rendered.subject,
            body: rendered.body,
            planned_at: slot.at,
            row_digest: row_digest(&campaign.table.rows[message.row].record),
            timezone: message.timezone.map(|zone| zone.name().to_string()),
            html: rendered.html,
            fields: row_fields(campaign, message, &campaign.accounts[slot.account]),
        });
    }
    Ok(NewCampaign {
        meta: CampaignMeta {
            campaign_id,
            created_at: now,
            csv_path: absolute(&campaign.spec.csv).display().to_string(),
            fingerprint,
            inputs,
            options_json,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        },
        messages,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_campaign_and_recipient() {
        let a = idempotency_key("c1", "urn:li:person:1");
        assert_eq!(a, idempotency_key("c1", "urn:li:person:1"));
        assert_ne!(a, idempotency_key("c2", "urn:li:person:1"));
        assert_ne!(a, idempotency_key("c1", "urn:li:person:2"));
        assert!(a.starts_with("outreach-") && a.len() == 41);
    }

    #[test]
    fn a_rerendered_message_keeps_its_key_unless_it_was_attempted() {
        let key = idempotency_key("c1", "r");
        assert_eq!(rerender_key("c1", "r", "d1", false), key);
        let fresh = rerender_key("c1", "r", "d1", true);
        assert_ne!(fresh, key);
        assert_ne!(fresh, rerender_key("c1", "r", "d2", true));
    }

    #[test]
    fn row_digest_sees_field_boundaries() {
        let ab = csv::StringRecord::from(vec!["a", "b"]);
        let a_b = csv::StringRecord::from(vec!["ab", ""]);
        assert_ne!(row_digest(&ab), row_digest(&a_b));
    }
}
