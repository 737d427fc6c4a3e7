//! What the journal tells the reply check: every Message-ID we sent (or
//! will send) and whose it is, the campaign's recipients, who is already
//! stopped, and since when replies count.
//!
//! A message's Message-ID is derived from its idempotency key and its
//! account's `from` domain, exactly as the SMTP channel builds it, so a
//! Message-ID a reply references finds its recipient with a hash lookup.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;

use super::matching::CampaignIndex;
use crate::account::Account;
use crate::channel::smtp::message::message_id;
use crate::journal::stops::recipient_key;
use crate::journal::{CampaignStore, MessageState, StopStore, StopTarget};
use crate::state::location::{self, Location};

/// The journal's part of the reply check.
#[derive(Debug, Clone)]
pub struct CampaignFacts {
    pub index: CampaignIndex,
    /// Replies that arrived before this are not about the campaign.
    pub since: DateTime<Utc>,
    /// Recipient keys stopped already, for any reason: not stopped again.
    pub stopped: HashSet<String>,
}

/// Read the facts from the campaign's journal, a file or a campaign in
/// PostgreSQL (read-only, without the sender's lock); `accounts` as saved
/// in it, for each account's `from`.
pub fn read(journal: &Location, accounts: &[Account]) -> anyhow::Result<CampaignFacts> {
    let store = location::open_read_only(journal)?;
    let since = store
        .campaign()?
        .map(|meta| meta.created_at)
        .unwrap_or_else(Utc::now);
    let senders: Vec<(&str, Option<Mailbox>)> = accounts
        .iter()
        .map(|account| (account.name.as_str(), sender_of(account)))
        .collect();
    let mut index = CampaignIndex::default();
    let all = [
        MessageState::Pending,
        MessageState::InFlight,
        MessageState::Sent,
        MessageState::Failed,
        MessageState::Uncertain,
        MessageState::Skipped,
    ];
    for stored in store.messages_in_state(&all)? {
        let message = &stored.message;
        let from = senders
            .iter()
            .find(|(name, _)| *name == message.account)
            .and_then(|(_, from)| from.as_ref());
        let id = from.map(|from| message_id(&message.idempotency_key, &from.email));
        index.add(&message.recipient, id.as_deref());
    }
    let stopped = store
        .stops()?
        .into_iter()
        .filter_map(|(target, _, _)| match target {
            StopTarget::Recipient(key) => Some(recipient_key(&key)),
            StopTarget::Domain(_) => None,
        })
        .collect();
    Ok(CampaignFacts {
        index,
        since,
        stopped,
    })
}

/// The `from` mailbox of an SMTP account (None for other channels).
fn sender_of(account: &Account) -> Option<Mailbox> {
    if account.channel.kind != "smtp" {
        return None;
    }
    account.channel.text("from")?.trim().parse().ok()
}
