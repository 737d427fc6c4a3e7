//! `outreach replies`: every inbox of a campaign checked once, for people
//! who run outreach from cron or a systemd timer rather than keeping a
//! sender running. The accounts (with their `imap` tables) come from the
//! journal, the secrets from the environment, as `resume` does; the stops
//! are recorded like `outreach stop`'s, so this works while a sender runs.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;

use super::campaign;
use super::inbox::{describe, gather};
use crate::journal::CampaignStore;
use crate::state::location::{self, Location};
use crate::state::saved::SavedOptions;

/// What one pass over the inboxes did.
#[derive(Debug, Default)]
pub struct Pass {
    /// One line per stop, then per inbox that could not be read.
    pub lines: Vec<String>,
    pub stopped: usize,
    pub read: usize,
    pub automatic: usize,
    pub inboxes: usize,
    /// Inboxes that could not be read.
    pub failed: usize,
}

/// Check every inbox of the campaign in `journal` (a file or a campaign in
/// PostgreSQL) once.
pub async fn check_once(journal: &Location, timeout: Duration) -> anyhow::Result<Pass> {
    let accounts = {
        let store = location::open_read_only(journal)?;
        let meta = store
            .campaign()?
            .with_context(|| format!("{journal} holds no campaign"))?;
        SavedOptions::of(&meta)?.accounts
    };
    let pairs: Vec<_> = accounts.iter().map(|a| (a.clone(), None)).collect();
    let mut inboxes = gather(&pairs)?;
    if inboxes.is_empty() {
        anyhow::bail!(
            "no account of this campaign has an `imap` table: add `imap = {{ host = \"...\" }}` to the SMTP \
             `[channel]` (docs/channels.md), then `outreach resume` or `outreach replies` reads it"
        );
    }
    let mut facts = campaign::read(journal, &accounts)?;
    let mut pass = Pass {
        inboxes: inboxes.len(),
        ..Pass::default()
    };
    for inbox in &mut inboxes {
        match inbox.check(&mut facts, journal, timeout, Utc::now()).await {
            Ok(checked) => {
                pass.read += checked.read;
                pass.automatic += checked.automatic;
                pass.stopped += checked.stopped.len();
                for (found, report) in &checked.stopped {
                    pass.lines.push(describe(found, report));
                }
                for (found, error) in &checked.unrecorded {
                    pass.failed += 1;
                    pass.lines.push(format!(
                        "cannot record the stop of {} ({}): {error}",
                        found.recipient, found.reason
                    ));
                }
            }
            Err(error) => {
                pass.failed += 1;
                pass.lines.push(format!(
                    "cannot read {}: {error}; {}",
                    inbox.label(),
                    error.hint()
                ));
            }
        }
    }
    Ok(pass)
}

impl Pass {
    /// The closing line.
    pub fn summary(&self) -> String {
        format!(
            "{} inbox(es) checked: {} message(s) since the campaign started, {} recipient(s) stopped, \
             {} automatic answer(s) ignored{}",
            self.inboxes,
            self.read,
            self.stopped,
            self.automatic,
            match self.failed {
                0 => String::new(),
                n => format!(", {n} problem(s)"),
            }
        )
    }
}
