//! `send --dry-run --show-request`: the first message of the plan as its
//! account's channel would send it, secrets redacted. Nothing is sent and
//! no journal is written.

use std::time::Duration;

use super::connect::{SANDBOX_ENDPOINT, choose_endpoint};
use super::work::job;
use crate::campaign::Campaign;
use crate::channel::open::open;
use crate::options::CampaignFlags;
use crate::plan::Slot;
use crate::state::start;
use crate::throttle::BackoffPolicy;

/// The first planned message's request, with a line saying whose it is;
/// `None` when the plan is empty.
pub fn first_request(
    campaign: &Campaign,
    slots: &[Slot],
    endpoint_flag: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<Option<String>> {
    let Some(first) = slots.first() else {
        return Ok(None);
    };
    let account = &campaign.accounts[first.account];
    let new = start::new_campaign(
        campaign,
        std::slice::from_ref(first),
        &CampaignFlags::default(),
        &BackoffPolicy::default(),
        timeout,
        None,
        chrono::Utc::now(),
    )?;
    let Some(message) = new.messages.into_iter().next() else {
        return Ok(None);
    };
    let endpoint = choose_endpoint(endpoint_flag, campaign.spec.endpoint.as_deref());
    let (endpoint, note) = if endpoint == SANDBOX_ENDPOINT && account.channel.kind == "api" {
        (
            "http://127.0.0.1:0/v2/messages".to_string(),
            " (the embedded sandbox: its port is chosen when sending starts)",
        )
    } else {
        (endpoint, "")
    };
    let api = open(&account.channel, "channel", &endpoint, None, timeout)?;
    let outgoing = job(message, crate::plan::Ready::First).message;
    Ok(Some(format!(
        "Message 1 of {} (account {}, channel {}){note}; a new Idempotency-Key is made when the campaign starts:\n\n{}",
        slots.len(),
        account.name,
        account.channel.describe(),
        api.preview(&outgoing)
    )))
}
