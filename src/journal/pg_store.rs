//! `PgStore`'s [`CampaignStore`] impl: each method ships its arguments to
//! the connection's thread (`pg_conn`) and runs there, in `pg_write`,
//! `pg_edits` or `pg_read`. Streams come back in pages (`pg_read`).

use chrono::{DateTime, Utc};

use crate::journal::error::JournalError;
use crate::journal::model::{
    AttemptRecord, CampaignMeta, MessageState, NewMessage, PreviousStep, Rerender, StoredMessage,
};
use crate::journal::pg::{Mode, PgStore};
use crate::journal::pg_reconnect::GiveUp;
use crate::journal::report::{ReportRow, RowDigest, StatusSummary};
use crate::journal::store::{CampaignStore, JournalUpdate, Refusal};
use crate::journal::{pg_edits as edits, pg_read as read, pg_write as write};

impl CampaignStore for PgStore {
    fn create_campaign(
        &mut self,
        meta: &CampaignMeta,
        messages: &[NewMessage],
    ) -> Result<(), JournalError> {
        if self.mode != Mode::Writable {
            return Err(self.read_only());
        }
        if self.campaign.is_some() {
            return Err(JournalError::CampaignExists {
                path: self.location.to_string().into(),
            });
        }
        let (meta, messages) = (meta.clone(), messages.to_vec());
        let (name, location, url) = (
            self.name.clone(),
            self.location.clone(),
            self.url.redacted(),
        );
        let id = self.conn.run(move |session| {
            write::create_campaign(session, &name, &location, &url, &meta, &messages)
        })?;
        self.campaign = Some(id);
        Ok(())
    }

    fn campaign(&self) -> Result<Option<CampaignMeta>, JournalError> {
        if self.campaign.is_none() {
            return Ok(None);
        }
        self.read(read::campaign).map(Some)
    }

    fn messages_in_state(
        &self,
        states: &[MessageState],
    ) -> Result<Vec<StoredMessage>, JournalError> {
        let states = states.to_vec();
        self.read(move |session, ctx| read::messages_in_state(session, ctx, &states))
    }

    fn row_digests(
        &self,
        f: &mut dyn FnMut(RowDigest) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut after = -1;
        loop {
            let page = self.read(move |session, ctx| read::row_digest_page(session, ctx, after))?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.seq as i64;
            for digest in page {
                f(digest)?;
            }
        }
    }

    fn recover_in_flight(&mut self) -> Result<u64, JournalError> {
        self.write(write::recover_in_flight)
    }

    fn record(&mut self, batch: &[JournalUpdate]) -> Result<Vec<Refusal>, JournalError> {
        self.record_batch(batch.to_vec())
    }

    fn sends_since(
        &self,
        account: &str,
        since: DateTime<Utc>,
        at_most: usize,
    ) -> Result<Vec<DateTime<Utc>>, JournalError> {
        let account = account.to_string();
        self.read(move |session, ctx| read::sends_since(session, ctx, &account, since, at_most))
    }

    fn previous_steps(&self, seqs: &[u64]) -> Result<Vec<PreviousStep>, JournalError> {
        let seqs = seqs.to_vec();
        self.read(move |session, ctx| read::previous_steps(session, ctx, &seqs))
    }

    fn set_state_where(
        &mut self,
        from: MessageState,
        to: MessageState,
    ) -> Result<u64, JournalError> {
        self.write(move |session, ctx| edits::set_state_where(session, ctx, from, to))
    }

    fn shift_pending(&mut self, by: chrono::TimeDelta) -> Result<u64, JournalError> {
        self.write(move |session, ctx| edits::shift_pending(session, ctx, by))
    }

    fn add_messages(&mut self, messages: &[NewMessage]) -> Result<(), JournalError> {
        let messages = messages.to_vec();
        self.write(move |session, ctx| edits::add_messages(session, ctx, &messages))
    }

    fn skip_messages(&mut self, seqs: &[u64]) -> Result<u64, JournalError> {
        let skips: Vec<(u64, Option<String>)> = seqs.iter().map(|&seq| (seq, None)).collect();
        self.write(move |session, ctx| edits::skip(session, ctx, &skips))
    }

    fn skip_with_reasons(&mut self, skips: &[(u64, String)]) -> Result<u64, JournalError> {
        let skips: Vec<(u64, Option<String>)> = skips
            .iter()
            .map(|(seq, reason)| (*seq, Some(reason.clone())))
            .collect();
        self.write(move |session, ctx| edits::skip(session, ctx, &skips))
    }

    fn rerender(&mut self, updates: &[Rerender]) -> Result<(), JournalError> {
        let updates = updates.to_vec();
        self.write(move |session, ctx| edits::rerender(session, ctx, &updates))
    }

    fn summary(&self) -> Result<StatusSummary, JournalError> {
        if self.campaign.is_none() {
            return Ok(StatusSummary::default());
        }
        self.read(read::summary)
    }

    fn report_rows(
        &self,
        f: &mut dyn FnMut(ReportRow) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut after = -1;
        loop {
            let page = self.read(move |session, ctx| read::report_page(session, ctx, after))?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.seq as i64;
            for row in page {
                f(row)?;
            }
        }
    }

    fn attempts(&self, seq: u64) -> Result<Vec<AttemptRecord>, JournalError> {
        self.read(move |session, ctx| read::attempts(session, ctx, seq))
    }

    fn give_up_handle(&self) -> Option<GiveUp> {
        Some(self.give_up.clone())
    }
}
