//! Time-bucketed views of a campaign, for charts (`outreach report --format
//! html`).
//!
//! A campaign of 100,000 messages has more sends than a chart has pixels, so
//! every per-time series here is aggregated in SQL into at most
//! [`Buckets::count`] equal slices of one time axis, shared by all accounts.
//!
//! # Architecture
//!
//! - [`SqliteStore::snapshot`]: runs several reads in one read transaction,
//!   so a report of a running campaign adds up even while a sender commits.
//! - [`SqliteStore::activity_span`], [`Buckets`]: the time axis.
//! - [`SqliteStore::timelines`]: per account and bucket, planned and sent
//!   messages, 429s, errors, and the quota the server reported.
//!
//! Pauses and delays live in [`waits`](super::waits), failure lists in
//! [`problems`](super::problems).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, Row, params};
use serde::Serialize;

use crate::journal::error::JournalError;
use crate::journal::sqlite::{SqliteStore, from_ns, to_ns};

/// The first and last instant anything happened or was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// A time axis cut into `count` equal buckets from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    start_ns: i64,
    width_ns: i64,
    count: usize,
}

impl Buckets {
    /// At most `max_count` (≥ 1) buckets covering `from..=to`.
    pub fn covering(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max_count: usize,
    ) -> Result<Buckets, JournalError> {
        let start_ns = to_ns(from)?;
        let end_ns = to_ns(to)?.max(start_ns);
        let max_count = max_count.max(1) as i64;
        let length = end_ns - start_ns + 1;
        let width_ns = (length + max_count - 1) / max_count;
        let count = ((length + width_ns - 1) / width_ns) as usize;
        Ok(Buckets {
            start_ns,
            width_ns,
            count,
        })
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn start(&self) -> DateTime<Utc> {
        from_ns(self.start_ns)
    }

    /// The end of the last bucket (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.bucket_start(self.count)
    }

    pub fn width(&self) -> TimeDelta {
        TimeDelta::nanoseconds(self.width_ns)
    }

    /// Where bucket `index` starts; `index == count()` gives [`Buckets::end`].
    pub fn bucket_start(&self, index: usize) -> DateTime<Utc> {
        from_ns(
            self.start_ns
                .saturating_add(self.width_ns.saturating_mul(index as i64)),
        )
    }

    /// The bucket holding `at`, if the axis does.
    pub fn index_of(&self, at: DateTime<Utc>) -> Option<usize> {
        let offset = to_ns(at).ok()?.checked_sub(self.start_ns)?;
        let index = usize::try_from(offset / self.width_ns).ok()?;
        (offset >= 0 && index < self.count).then_some(index)
    }

    /// Where the axis starts, in the journal's nanoseconds (a query's `$1`).
    pub(crate) fn start_ns(&self) -> i64 {
        self.start_ns
    }

    /// A bucket's width in nanoseconds (a query's `$2`).
    pub(crate) fn width_ns(&self) -> i64 {
        self.width_ns
    }

    /// The bucket of an SQL-computed index, clamped to the axis.
    pub(crate) fn clamp(&self, index: i64) -> usize {
        index.clamp(0, self.count as i64 - 1) as usize
    }
}

/// The server's `Remaining` quota within one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuotaBucket {
    pub min: u32,
    pub max: u32,
    /// The value of the bucket's latest response.
    pub last: u32,
    /// The largest `Limit` seen in the bucket, if the server sent one.
    pub limit: Option<u32>,
}

/// One account's activity per bucket of a [`Buckets`] axis; every vector has
/// `count()` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountTimeline {
    pub account: String,
    /// Messages planned in the bucket (skipped ones left out).
    pub planned: Vec<u32>,
    /// Messages sent in the bucket.
    pub sent: Vec<u32>,
    /// Of those, follow-ups (step 2 and later of a sequence).
    pub follow_ups: Vec<u32>,
    /// Responses with HTTP 429.
    pub throttled: Vec<u32>,
    /// Failed attempts (transport error, non-2xx other than 429) that the
    /// same message tried again later.
    pub retried: Vec<u32>,
    /// Failed attempts that were the message's last.
    pub errors: Vec<u32>,
    pub quota: Vec<Option<QuotaBucket>>,
}

impl AccountTimeline {
    pub(crate) fn new(account: String, count: usize) -> AccountTimeline {
        AccountTimeline {
            account,
            planned: vec![0; count],
            sent: vec![0; count],
            follow_ups: vec![0; count],
            throttled: vec![0; count],
            retried: vec![0; count],
            errors: vec![0; count],
            quota: vec![None; count],
        }
    }
}

pub(super) fn sql(
    store: &SqliteStore,
    action: &'static str,
) -> impl FnOnce(rusqlite::Error) -> JournalError {
    JournalError::sqlite(store.path(), action)
}

pub(super) fn span(first: Option<i64>, last: Option<i64>) -> Option<Span> {
    Some(Span {
        first: from_ns(first?),
        last: from_ns(last?),
    })
}

const SPAN: &str = "
    SELECT min(planned_at_ns), max(planned_at_ns), min(sent_at_ns), max(sent_at_ns),
           max(last_attempt_at_ns),
           (SELECT min(at_ns) FROM attempts), (SELECT max(at_ns) FROM attempts)
    FROM messages WHERE state <> 'skipped'";

const PLANNED: &str = "
    SELECT account, (planned_at_ns - ?1) / ?2, count(*) FROM messages
    WHERE state <> 'skipped' GROUP BY 1, 2";

const SENT: &str = "
    SELECT account, (sent_at_ns - ?1) / ?2, count(*) FROM messages
    WHERE state = 'sent' GROUP BY 1, 2";

const FOLLOW_UPS: &str = "
    SELECT account, (sent_at_ns - ?1) / ?2, count(*) FROM messages
    WHERE state = 'sent' AND step > 1 GROUP BY 1, 2";

/// Stops (`outreach stop`, lists, replies) by when they were recorded; they
/// belong to no account.
const STOPS: &str = "
    SELECT '', (at_ns - ?1) / ?2, count(*) FROM stops GROUP BY 2";

/// A failed attempt: no response, or a non-2xx other than 429.
const FAILED_ATTEMPT: &str =
    "(a.status IS NULL OR (a.status <> 429 AND (a.status < 200 OR a.status > 299)))";

fn attempt_counts_sql() -> String {
    format!(
        "SELECT m.account, (a.at_ns - ?1) / ?2,
                count(CASE WHEN a.status = 429 THEN 1 END),
                count(CASE WHEN {FAILED_ATTEMPT} AND EXISTS
                    (SELECT 1 FROM attempts later WHERE later.seq = a.seq AND later.id > a.id)
                    THEN 1 END),
                count(CASE WHEN {FAILED_ATTEMPT} THEN 1 END)
         FROM attempts a JOIN messages m ON m.seq = a.seq GROUP BY 1, 2"
    )
}

const QUOTA_RANGE: &str = "
    SELECT m.account, (a.at_ns - ?1) / ?2, min(a.rl_remaining), max(a.rl_remaining), max(a.rl_limit)
    FROM attempts a JOIN messages m ON m.seq = a.seq
    WHERE a.rl_remaining IS NOT NULL GROUP BY 1, 2";

// SQLite takes a bare column from the row that holds the single max().
const QUOTA_LAST: &str = "
    SELECT m.account, (a.at_ns - ?1) / ?2, max(a.at_ns), a.rl_remaining
    FROM attempts a JOIN messages m ON m.seq = a.seq
    WHERE a.rl_remaining IS NOT NULL GROUP BY 1, 2";

impl SqliteStore {
    /// Runs `read` in one read transaction: every query in it sees the
    /// journal as it was when the first one ran, even while a sender writes.
    pub fn snapshot<T>(
        &self,
        read: impl FnOnce(&SqliteStore) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let tx = self
            .conn()
            .unchecked_transaction()
            .map_err(sql(self, "starting a read transaction"))?;
        let result = read(self);
        // A read transaction has nothing to keep: rolling back only ends it.
        tx.rollback()
            .map_err(sql(self, "ending a read transaction"))?;
        result
    }

    /// The first and last planned, attempted or sent time of any message
    /// that is not skipped; `None` for an empty campaign.
    pub fn activity_span(&self) -> Result<Option<Span>, JournalError> {
        let row = self
            .conn()
            .query_row(SPAN, [], |row| {
                (0..7)
                    .map(|i| row.get::<_, Option<i64>>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(sql(self, "reading the campaign's time span"))?;
        let first = [row[0], row[2], row[5]].into_iter().flatten().min();
        let last = [row[1], row[3], row[4], row[6]].into_iter().flatten().max();
        Ok(span(first, last))
    }

    /// Every account's series over `buckets`, sorted by account name.
    /// Stops recorded per bucket, for every account's chart.
    pub fn stops_per_bucket(&self, buckets: &Buckets) -> Result<Vec<u32>, JournalError> {
        let mut stops = vec![0; buckets.count];
        for_each_bucket(self.conn(), STOPS, buckets, |_, index, row| {
            stops[index] += row.get::<_, u32>(2)?;
            Ok(())
        })
        .map_err(sql(self, "reading the stops"))?;
        Ok(stops)
    }

    pub fn timelines(&self, buckets: &Buckets) -> Result<Vec<AccountTimeline>, JournalError> {
        let conn = self.conn();
        let err = || sql(self, "reading the timeline");
        let mut accounts: HashMap<String, AccountTimeline> = HashMap::new();
        let count = buckets.count;
        fn entry(
            accounts: &mut HashMap<String, AccountTimeline>,
            account: String,
            count: usize,
        ) -> &mut AccountTimeline {
            accounts
                .entry(account)
                .or_insert_with_key(|name| AccountTimeline::new(name.clone(), count))
        }
        for_each_bucket(conn, PLANNED, buckets, |account, index, row| {
            entry(&mut accounts, account, count).planned[index] = row.get(2)?;
            Ok(())
        })
        .map_err(err())?;
        for_each_bucket(conn, SENT, buckets, |account, index, row| {
            entry(&mut accounts, account, count).sent[index] = row.get(2)?;
            Ok(())
        })
        .map_err(err())?;
        for_each_bucket(conn, FOLLOW_UPS, buckets, |account, index, row| {
            entry(&mut accounts, account, count).follow_ups[index] = row.get(2)?;
            Ok(())
        })
        .map_err(err())?;
        for_each_bucket(
            conn,
            &attempt_counts_sql(),
            buckets,
            |account, index, row| {
                let timeline = entry(&mut accounts, account, count);
                timeline.throttled[index] += row.get::<_, u32>(2)?;
                timeline.retried[index] += row.get::<_, u32>(3)?;
                timeline.errors[index] += row.get::<_, u32>(4)? - row.get::<_, u32>(3)?;
                Ok(())
            },
        )
        .map_err(err())?;
        for_each_bucket(conn, QUOTA_RANGE, buckets, |account, index, row| {
            entry(&mut accounts, account, count).quota[index] = Some(QuotaBucket {
                min: row.get(2)?,
                max: row.get(3)?,
                last: row.get(2)?,
                limit: row.get(4)?,
            });
            Ok(())
        })
        .map_err(err())?;
        for_each_bucket(conn, QUOTA_LAST, buckets, |account, index, row| {
            if let Some(quota) = entry(&mut accounts, account, count).quota[index].as_mut() {
                quota.last = row.get(3)?;
            }
            Ok(())
        })
        .map_err(err())?;
        let mut timelines: Vec<AccountTimeline> = accounts.into_values().collect();
        timelines.sort_by(|a, b| a.account.cmp(&b.account));
        Ok(timelines)
    }
}

/// Runs a `(account, bucket, ...)` query with `?1 = start, ?2 = width` and
/// hands each row to `f` with its bucket clamped to the axis.
fn for_each_bucket(
    conn: &Connection,
    query: &str,
    buckets: &Buckets,
    mut f: impl FnMut(String, usize, &Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut select = conn.prepare_cached(query)?;
    let mut rows = select.query(params![buckets.start_ns, buckets.width_ns])?;
    while let Some(row) = rows.next()? {
        let index = buckets.clamp(row.get(1)?);
        f(row.get(0)?, index, row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn buckets_cover_the_span_with_at_most_the_count_asked() {
        let ten_minutes = at(600) - TimeDelta::nanoseconds(1);
        let buckets = Buckets::covering(at(0), ten_minutes, 600).unwrap();
        assert_eq!(buckets.count(), 600);
        assert_eq!(buckets.width(), TimeDelta::seconds(1));
        assert_eq!(buckets.end(), at(600));

        let buckets = Buckets::covering(at(0), at(3600), 600).unwrap();
        assert!(buckets.count() <= 600);
        assert!(buckets.end() > at(3600));
        assert_eq!(buckets.clamp(-3), 0);
        assert_eq!(buckets.clamp(10_000), buckets.count() - 1);

        assert_eq!(buckets.index_of(at(0)), Some(0));
        assert_eq!(buckets.index_of(at(3600)), Some(buckets.count() - 1));
        assert_eq!(buckets.index_of(at(-1)), None);
        assert_eq!(buckets.index_of(buckets.end()), None);

        let single = Buckets::covering(at(5), at(5), 600).unwrap();
        assert_eq!(single.count(), 1);
        assert_eq!(single.start(), at(5));
    }
}
