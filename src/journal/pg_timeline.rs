//! The HTML report's time-bucketed series for a campaign in PostgreSQL:
//! the same views as [`timeline`](super::timeline) for SQLite, aggregated
//! in SQL into the same [`Buckets`], every query limited to one campaign.
//!
//! The SQL differs from SQLite's where the dialects do: the last quota of a
//! bucket is a `DISTINCT ON` (SQLite takes a bare column beside `max()`),
//! and counts are BIGINT.

use std::collections::HashMap;

use postgres::Row;

use crate::journal::error::JournalError;
use crate::journal::pg::Ctx;
use crate::journal::pg_conn::Session;
use crate::journal::timeline::{AccountTimeline, Buckets, QuotaBucket, Span, span};

const SPAN: &str = "
    SELECT min(planned_at_ns), max(planned_at_ns), min(sent_at_ns), max(sent_at_ns),
           max(last_attempt_at_ns),
           (SELECT min(at_ns) FROM attempts WHERE campaign = $1),
           (SELECT max(at_ns) FROM attempts WHERE campaign = $1)
    FROM messages WHERE campaign = $1 AND state <> 'skipped'";

const PLANNED: &str = "
    SELECT account, (planned_at_ns - $1) / $2, count(*) FROM messages
    WHERE campaign = $3 AND state <> 'skipped' GROUP BY 1, 2";

const SENT: &str = "
    SELECT account, (sent_at_ns - $1) / $2, count(*) FROM messages
    WHERE campaign = $3 AND state = 'sent' GROUP BY 1, 2";

const FOLLOW_UPS: &str = "
    SELECT account, (sent_at_ns - $1) / $2, count(*) FROM messages
    WHERE campaign = $3 AND state = 'sent' AND step > 1 GROUP BY 1, 2";

const STOPS: &str = "
    SELECT ''::text, (at_ns - $1) / $2, count(*) FROM stops WHERE campaign = $3 GROUP BY 2";

/// Per bucket: 429s, failed attempts the message tried again, all failed
/// attempts (no response, or a non-2xx other than 429).
const ATTEMPTS: &str = "
    SELECT m.account, (a.at_ns - $1) / $2,
           count(*) FILTER (WHERE a.status = 429),
           count(*) FILTER (WHERE (a.status IS NULL OR (a.status <> 429
                                   AND (a.status < 200 OR a.status > 299)))
                              AND EXISTS (SELECT 1 FROM attempts later
                                          WHERE later.campaign = a.campaign
                                            AND later.seq = a.seq AND later.id > a.id)),
           count(*) FILTER (WHERE a.status IS NULL OR (a.status <> 429
                                   AND (a.status < 200 OR a.status > 299)))
    FROM attempts a JOIN messages m ON m.campaign = a.campaign AND m.seq = a.seq
    WHERE a.campaign = $3 GROUP BY 1, 2";

const QUOTA_RANGE: &str = "
    SELECT m.account, (a.at_ns - $1) / $2, min(a.rl_remaining), max(a.rl_remaining),
           max(a.rl_limit)
    FROM attempts a JOIN messages m ON m.campaign = a.campaign AND m.seq = a.seq
    WHERE a.campaign = $3 AND a.rl_remaining IS NOT NULL GROUP BY 1, 2";

/// The `Remaining` of each bucket's latest response.
const QUOTA_LAST: &str = "
    SELECT DISTINCT ON (account, bucket) account, bucket, rl_remaining FROM (
        SELECT m.account, (a.at_ns - $1) / $2 AS bucket, a.at_ns, a.id, a.rl_remaining
        FROM attempts a JOIN messages m ON m.campaign = a.campaign AND m.seq = a.seq
        WHERE a.campaign = $3 AND a.rl_remaining IS NOT NULL) AS q
    ORDER BY account, bucket, at_ns DESC, id DESC";

/// See [`SqliteStore::activity_span`](super::SqliteStore::activity_span).
pub fn activity_span(session: &mut Session, ctx: &Ctx) -> Result<Option<Span>, JournalError> {
    let row = session
        .client
        .query_one(SPAN, &[&ctx.campaign])
        .map_err(ctx.pg("reading the campaign's time span"))?;
    let ns = |i: usize| row.get::<_, Option<i64>>(i);
    let first = [ns(0), ns(2), ns(5)].into_iter().flatten().min();
    let last = [ns(1), ns(3), ns(4), ns(6)].into_iter().flatten().max();
    Ok(span(first, last))
}

/// See [`SqliteStore::stops_per_bucket`](super::SqliteStore::stops_per_bucket).
pub fn stops_per_bucket(
    session: &mut Session,
    ctx: &Ctx,
    buckets: &Buckets,
) -> Result<Vec<u32>, JournalError> {
    let mut stops = vec![0; buckets.count()];
    for_each_bucket(session, ctx, STOPS, buckets, |_, index, row| {
        stops[index] += count(row, 2);
    })
    .map_err(ctx.pg("reading the stops"))?;
    Ok(stops)
}

/// See [`SqliteStore::timelines`](super::SqliteStore::timelines).
pub fn timelines(
    session: &mut Session,
    ctx: &Ctx,
    buckets: &Buckets,
) -> Result<Vec<AccountTimeline>, JournalError> {
    let err = || ctx.pg("reading the timeline");
    let count_of = buckets.count();
    let mut accounts: HashMap<String, AccountTimeline> = HashMap::new();
    fn entry(
        accounts: &mut HashMap<String, AccountTimeline>,
        account: String,
        count: usize,
    ) -> &mut AccountTimeline {
        accounts
            .entry(account)
            .or_insert_with_key(|name| AccountTimeline::new(name.clone(), count))
    }
    for_each_bucket(session, ctx, PLANNED, buckets, |account, index, row| {
        entry(&mut accounts, account, count_of).planned[index] = count(row, 2);
    })
    .map_err(err())?;
    for_each_bucket(session, ctx, SENT, buckets, |account, index, row| {
        entry(&mut accounts, account, count_of).sent[index] = count(row, 2);
    })
    .map_err(err())?;
    for_each_bucket(session, ctx, FOLLOW_UPS, buckets, |account, index, row| {
        entry(&mut accounts, account, count_of).follow_ups[index] = count(row, 2);
    })
    .map_err(err())?;
    for_each_bucket(session, ctx, ATTEMPTS, buckets, |account, index, row| {
        let timeline = entry(&mut accounts, account, count_of);
        timeline.throttled[index] += count(row, 2);
        timeline.retried[index] += count(row, 3);
        timeline.errors[index] += count(row, 4) - count(row, 3);
    })
    .map_err(err())?;
    for_each_bucket(session, ctx, QUOTA_RANGE, buckets, |account, index, row| {
        entry(&mut accounts, account, count_of).quota[index] = Some(QuotaBucket {
            min: count(row, 2),
            max: count(row, 3),
            last: count(row, 2),
            limit: row.get::<_, Option<i64>>(4).map(|v| v as u32),
        });
    })
    .map_err(err())?;
    for_each_bucket(session, ctx, QUOTA_LAST, buckets, |account, index, row| {
        if let Some(quota) = entry(&mut accounts, account, count_of).quota[index].as_mut() {
            quota.last = count(row, 2);
        }
    })
    .map_err(err())?;
    let mut timelines: Vec<AccountTimeline> = accounts.into_values().collect();
    timelines.sort_by(|a, b| a.account.cmp(&b.account));
    Ok(timelines)
}

/// A BIGINT count (or quota) as the series keep it.
fn count(row: &Row, index: usize) -> u32 {
    u32::try_from(row.get::<_, i64>(index)).unwrap_or(u32::MAX)
}

/// Runs an `(account, bucket, ...)` query with `$1 = start, $2 = width,
/// $3 = campaign` and hands each row to `f` with its bucket clamped to the
/// axis.
fn for_each_bucket(
    session: &mut Session,
    ctx: &Ctx,
    query: &'static str,
    buckets: &Buckets,
    mut f: impl FnMut(String, usize, &Row),
) -> Result<(), postgres::Error> {
    let statement = session.statement(query)?;
    let rows = session.client.query(
        &statement,
        &[&buckets.start_ns(), &buckets.width_ns(), &ctx.campaign],
    )?;
    for row in &rows {
        let index = buckets.clamp(row.get(1));
        f(row.get(0), index, row);
    }
    Ok(())
}
