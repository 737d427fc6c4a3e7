//! What `status` shows of the workers of a campaign in PostgreSQL: per
//! account, who holds its lease (`alice  held by host-a:1234:9f2c (lease 8s
//! left, fence 3)`, `free`, `free, next due 14:05:00`, `lease expired 3s
//! ago (was host-b:...)`), and the live workers with how many accounts each
//! holds. Pure: [`Holders`] in (read by `journal::pg_holders` with the
//! database's clock), text or JSON out; every time is compared with the
//! database's `now`, never this machine's.

use std::io::{self, Write};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::journal::pg_holders::{AccountLease, Holders, LIVE_WITHIN, LiveWorker};
use crate::output::text::{human_duration, pad};

/// Where one account's lease stands at the database's `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease<'a> {
    Held {
        holder: &'a str,
        left: TimeDelta,
        fence: i64,
    },
    Expired {
        ago: TimeDelta,
        was: &'a str,
    },
    Free,
}

pub fn lease_of(account: &AccountLease, now: DateTime<Utc>) -> Lease<'_> {
    match (&account.holder, account.lease_until) {
        (Some(holder), Some(until)) if until > now => Lease::Held {
            holder,
            left: until - now,
            fence: account.fence,
        },
        (Some(was), Some(until)) => Lease::Expired {
            ago: now - until,
            was,
        },
        _ => Lease::Free,
    }
}

/// When the account's next message is due, if later than `now`.
fn next_due(account: &AccountLease, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    account.not_before.filter(|due| *due > now)
}

/// `14:05:00` today, `Tue 2026-12-01 09:00` further away.
fn due_text(due: DateTime<Utc>, now: DateTime<Utc>, zone: &Tz) -> String {
    let local = due.with_timezone(zone);
    if due - now < TimeDelta::hours(12) {
        local.format("%H:%M:%S").to_string()
    } else {
        local.format("%a %Y-%m-%d %H:%M").to_string()
    }
}

/// One account's lease as a person reads it.
pub fn lease_text(account: &AccountLease, now: DateTime<Utc>, zone: &Tz) -> String {
    let due = next_due(account, now).map(|due| format!(", next due {}", due_text(due, now, zone)));
    let due = due.unwrap_or_default();
    match lease_of(account, now) {
        Lease::Held {
            holder,
            left,
            fence,
        } => format!(
            "held by {holder} (lease {} left, fence {fence})",
            human_duration(left)
        ),
        Lease::Expired { ago, was } => {
            format!("lease expired {} ago (was {was}){due}", human_duration(ago))
        }
        Lease::Free => format!("free{due}"),
    }
}

fn worker_text(worker: &LiveWorker, now: DateTime<Utc>) -> String {
    let accounts = if worker.holds == 1 {
        "account"
    } else {
        "accounts"
    };
    format!(
        "on {}, pid {}, seen {} ago, holds {} {accounts}",
        worker.host,
        worker.pid,
        human_duration(now - worker.seen_at),
        worker.holds
    )
}

/// The `workers` and `leases` blocks of `status`.
pub fn write_leases(out: &mut dyn Write, holders: &Holders, zone: &Tz) -> io::Result<()> {
    let now = holders.now;
    let live = human_duration(LIVE_WITHIN);
    if holders.workers.is_empty() {
        writeln!(out, "\nWorkers: none live (none seen in the last {live})")?;
    } else {
        writeln!(out, "\nWorkers (live: seen in the last {live}):")?;
        let width = column_width(holders.workers.iter().map(|w| w.id.as_str()));
        for worker in &holders.workers {
            let line = format!("  {}  {}", pad(&worker.id, width), worker_text(worker, now));
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    if holders.accounts.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nLeases:")?;
    let width = column_width(holders.accounts.iter().map(|a| a.account.as_str()));
    for account in &holders.accounts {
        writeln!(
            out,
            "  {}  {}",
            pad(&account.account, width),
            lease_text(account, now, zone)
        )?;
    }
    Ok(())
}

fn column_width<'a>(cells: impl Iterator<Item = &'a str>) -> usize {
    cells.map(|cell| cell.chars().count()).max().unwrap_or(0)
}

/// The same for `status --json`: `leases`, `workers` and `db_now`.
pub fn leases_json(holders: &Holders) -> Value {
    let now = holders.now;
    let leases: Vec<Value> = holders
        .accounts
        .iter()
        .map(|account| {
            let (state, left_ms, expired_ms) = match lease_of(account, now) {
                Lease::Held { left, .. } => ("held", Some(left.num_milliseconds()), None),
                Lease::Expired { ago, .. } => ("expired", None, Some(ago.num_milliseconds())),
                Lease::Free => ("free", None, None),
            };
            json!({
                "account": account.account,
                "lease": state,
                "holder": account.holder,
                "lease_until": account.lease_until,
                "lease_left_ms": left_ms,
                "expired_ago_ms": expired_ms,
                "fence": account.fence,
                "next_due": next_due(account, now),
            })
        })
        .collect();
    let workers: Vec<Value> = holders
        .workers
        .iter()
        .map(|worker| {
            json!({
                "id": worker.id,
                "host": worker.host,
                "pid": worker.pid,
                "seen_at": worker.seen_at,
                "holds": worker.holds,
            })
        })
        .collect();
    json!({ "db_now": now, "leases": leases, "workers": workers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    fn account(
        name: &str,
        holder: Option<&str>,
        until: Option<i64>,
        due: Option<i64>,
    ) -> AccountLease {
        AccountLease {
            account: name.into(),
            holder: holder.map(Into::into),
            lease_until: until.map(t),
            fence: 3,
            not_before: due.map(t),
        }
    }

    #[test]
    fn each_lease_reads_as_held_free_due_or_expired() {
        let zone: Tz = "UTC".parse().unwrap();
        let now = t(0);
        let text = |a: &AccountLease| lease_text(a, now, &zone);
        assert_eq!(
            text(&account("alice", Some("host-a:1234:9f2c"), Some(8), None)),
            "held by host-a:1234:9f2c (lease 8s left, fence 3)"
        );
        assert_eq!(text(&account("bob", None, None, None)), "free");
        assert_eq!(text(&account("bob", None, None, Some(-5))), "free");
        let due = account("bob", None, None, Some(300));
        let expected = format!("free, next due {}", t(300).format("%H:%M:%S"));
        assert_eq!(text(&due), expected);
        assert_eq!(
            text(&account("carol", Some("host-b:77:0001"), Some(-3), None)),
            "lease expired 3s ago (was host-b:77:0001)"
        );
    }

    #[test]
    fn a_lease_ends_exactly_at_its_time_on_the_database_clock() {
        let alice = account("alice", Some("w"), Some(10), None);
        assert!(matches!(lease_of(&alice, t(9)), Lease::Held { .. }));
        assert!(matches!(lease_of(&alice, t(10)), Lease::Expired { .. }));
    }

    fn holders() -> Holders {
        Holders {
            now: t(0),
            accounts: vec![
                account("alice", Some("host-a:1:aa"), Some(8), None),
                account("bob", None, None, None),
            ],
            workers: vec![LiveWorker {
                id: "host-a:1:aa".into(),
                host: "host-a".into(),
                pid: 1,
                seen_at: t(-2),
                holds: 1,
            }],
        }
    }

    #[test]
    fn the_blocks_list_live_workers_then_every_account() {
        let zone: Tz = "UTC".parse().unwrap();
        let mut out = Vec::new();
        write_leases(&mut out, &holders(), &zone).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\nWorkers (live: seen in the last 30s):\n  host-a:1:aa  on host-a, pid 1, seen 2s ago, holds 1 account\n\
             \nLeases:\n  alice  held by host-a:1:aa (lease 8s left, fence 3)\n  bob    free\n"
        );
        let value = leases_json(&holders());
        assert_eq!(value["leases"][0]["lease"], "held");
        assert_eq!(value["leases"][0]["lease_left_ms"], 8000);
        assert_eq!(value["leases"][1]["lease"], "free");
        assert_eq!(value["workers"][0]["holds"], 1);
    }
}
