//! `per_domain_daily_cap` across workers: the cap is the campaign's, shared
//! by every account, and accounts run in different workers (or in different
//! runs of one worker) cannot see each other's sends in memory. So a
//! worker's claim of a message to a capped domain counts, in the same
//! transaction, what the database holds for that domain and day (sent, in
//! flight or uncertain) and is refused when the day is full. Claims for one
//! domain take a transaction-scoped advisory lock first, so two workers
//! cannot both take the last place.

use chrono::{DateTime, Days, Utc};
use chrono_tz::Tz;
use postgres::Transaction;

use crate::journal::error::JournalError;
use crate::journal::pg::Ctx;
use crate::journal::sqlite::{from_ns, to_ns};
use crate::plan::domain_cap::domain_of;
use crate::window::start_of_day;

/// The campaign's `per_domain_daily_cap` and the zone its days are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainRule {
    pub cap: u32,
    pub zone: Tz,
}

const COUNT_TODAY: &str = "
    SELECT count(*) FROM messages
    WHERE campaign = $1 AND seq <> $2 AND recipient LIKE '%@%'
        AND lower(regexp_replace(btrim(recipient), '^.*@', '')) = $3
        AND ((state = 'sent' AND sent_at_ns >= $4 AND sent_at_ns < $5)
            OR (state IN ('in_flight', 'uncertain')
                AND last_attempt_at_ns >= $4 AND last_attempt_at_ns < $5))";

/// Whether `recipient`'s domain already has `rule.cap` messages on the day
/// (in `rule.zone`) of `at_ns`, counting every worker's. Holds the domain's
/// lock until the transaction ends, so a claim made after this check is
/// counted by the next one.
pub(crate) fn domain_full(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    rule: DomainRule,
    seq: i64,
    recipient: &str,
    at_ns: i64,
) -> Result<bool, JournalError> {
    let Some(domain) = domain_of(recipient) else {
        return Ok(false);
    };
    let (start, end) = day_bounds(rule.zone, from_ns(at_ns));
    let key = format!("outreach-domain:{}:{domain}", ctx.campaign);
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .map_err(ctx.pg("counting a domain's messages"))?;
    let count: i64 = tx
        .query_one(
            COUNT_TODAY,
            &[&ctx.campaign, &seq, &domain, &to_ns(start)?, &to_ns(end)?],
        )
        .map_err(ctx.pg("counting a domain's messages"))?
        .get(0);
    Ok(count >= i64::from(rule.cap))
}

/// The day of `at` in `zone`, as [start, end) instants.
fn day_bounds(zone: Tz, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = at.with_timezone(&zone).date_naive();
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    (start_of_day(&zone, day), start_of_day(&zone, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_the_calendar_day_of_the_campaigns_zone() {
        let zone: Tz = "America/New_York".parse().unwrap();
        // 03:00 UTC on 2 December is still 1 December in New York.
        let at: DateTime<Utc> = "2026-12-02T03:00:00Z".parse().unwrap();
        let (start, end) = day_bounds(zone, at);
        assert_eq!(
            start,
            "2026-12-01T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            end,
            "2026-12-02T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
