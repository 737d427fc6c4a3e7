//! The lease statements on real connections: a renewal beside a journal
//! transaction must wait for a claim's share lock, never deadlock with it
//! (a deadlock aborted the renewal, and with it the whole worker, in the
//! kill -9 test's first runs); a lease that ran out gives its account back
//! without pausing it (a late renewal paused accounts for 30 s, and
//! `--until-idle` workers then left their messages pending).

use std::sync::mpsc;
use std::time::Duration;

use outreach::journal::pg_lease;
use outreach::sandbox::Sandbox;

use crate::harness::{Shared, TestSchema, roomy_config, start};

const HOLDER: &str = "test-worker";

/// A campaign of `accounts` accounts, one message each, recorded for
/// workers (`send --detach`) against a sandbox of its own.
async fn recorded(db: TestSchema, accounts: usize) -> (Shared, Sandbox) {
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, accounts, 1);
    shared
        .send_detached(&sandbox.url(), "10/s")
        .run()
        .await
        .expect_code(0);
    (shared, sandbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_waits_for_a_claims_share_lock_instead_of_deadlocking() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = crate::harness::GATE.read().await;
    let (shared, sandbox) = recorded(db, 2).await;
    shared.db.execute(&format!(
        "UPDATE accounts SET lease_holder = '{HOLDER}', fence = 1,
             lease_until_ns = (extract(epoch FROM clock_timestamp()) * 1e9)::bigint + 60000000000"
    ));
    let url = shared.db.url_text.clone();

    // A journal transaction as the writer makes one: the claim's key-share
    // lock on the later account's row, then (a send's rate-limit figures) an
    // update of the earlier account's statistics (their own table since
    // schema 4, so a renewal never waits for them).
    let (locked_tx, locked) = mpsc::channel();
    let journal_url = url.clone();
    let journal = std::thread::spawn(move || -> Result<(), postgres::Error> {
        let mut client = postgres::Client::connect(&journal_url, postgres::NoTls)?;
        let mut tx = client.transaction()?;
        tx.query(
            "SELECT 1 FROM accounts WHERE account = 'acct01' FOR KEY SHARE",
            &[],
        )?;
        locked_tx.send(()).expect("signal");
        std::thread::sleep(Duration::from_millis(300));
        tx.execute(
            "INSERT INTO account_stats (campaign, account, throttled)
             SELECT campaign, account, 1 FROM accounts WHERE account = 'acct00'
             ON CONFLICT (campaign, account) DO UPDATE SET throttled = account_stats.throttled + 1",
            &[],
        )?;
        tx.commit()
    });
    locked
        .recv()
        .expect("the journal transaction locks its row");
    let renewal = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        pg_lease::renew(&mut client, "test", HOLDER, 60_000_000_000)
    });
    let journal = journal.join().expect("journal thread");
    let renewed = renewal.join().expect("renewal thread");

    assert!(
        journal.is_ok(),
        "the journal transaction failed: {journal:?}"
    );
    let renewed = renewed.expect("the renewal succeeds");
    let mut accounts: Vec<&str> = renewed
        .iter()
        .map(|(_, account, _)| account.as_str())
        .collect();
    accounts.sort();
    assert_eq!(accounts, ["acct00", "acct01"], "{renewed:?}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_running_lease_pauses_the_account_it_gives_back() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = crate::harness::GATE.read().await;
    let (shared, sandbox) = recorded(db, 2).await;
    // acct00's lease runs for a minute more; acct01's ran out a second ago.
    shared.db.execute(&format!(
        "UPDATE accounts SET lease_holder = '{HOLDER}', fence = 1,
             lease_until_ns = (extract(epoch FROM clock_timestamp()) * 1e9)::bigint
                 + CASE account WHEN 'acct00' THEN 60000000000 ELSE -1000000000 END"
    ));
    let campaign: i64 = shared.query("SELECT id FROM campaigns")[0].get(0);
    let url = shared.db.url_text.clone();
    let later = i64::MAX / 2;
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        for account in ["acct00", "acct01"] {
            pg_lease::release(
                &mut client,
                "test",
                (campaign, account, 1),
                HOLDER,
                Some(later),
            )
            .expect("release");
        }
    })
    .join()
    .expect("release thread");

    let rows =
        shared.query("SELECT account, lease_holder, not_before_ns FROM accounts ORDER BY account");
    let rows: Vec<(String, Option<String>, Option<i64>)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        rows,
        [
            ("acct00".to_string(), None, Some(later)),
            ("acct01".to_string(), None, None),
        ]
    );
    sandbox.shutdown().await;
}

/// Seen in the outage test: a worker's leases ran out while the database
/// was away, and when it came back the worker leased the same accounts
/// again and started a second run of each beside the first, which was
/// still waiting for its claim. The second run's new fence let the first
/// one's claims through, and both sent the same message. `acquire` now
/// skips the accounts its caller still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_does_not_lease_again_an_account_it_still_runs() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = crate::harness::GATE.read().await;
    let (shared, sandbox) = recorded(db, 3).await;
    // Every lease of this holder ran out a second ago.
    shared.db.execute(&format!(
        "UPDATE accounts SET lease_holder = '{HOLDER}', fence = 1,
             lease_until_ns = (extract(epoch FROM clock_timestamp()) * 1e9)::bigint - 1000000000"
    ));
    let campaign: i64 = shared.query("SELECT id FROM campaigns")[0].get(0);
    let url = shared.db.url_text.clone();
    let leased = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let running = vec!["acct00".to_string(), "acct02".to_string()];
        pg_lease::acquire(
            &mut client,
            "test",
            pg_lease::LeaseRequest {
                campaign,
                holder: HOLDER,
                want: 10,
                ttl_ns: 60_000_000_000,
                resend: &|_| false,
                running: &running,
            },
        )
        .expect("acquire")
    })
    .join()
    .expect("acquire thread");

    let accounts: Vec<(&str, i64)> = leased
        .iter()
        .map(|lease| (lease.account.as_str(), lease.fence))
        .collect();
    assert_eq!(accounts, [("acct01", 2)], "only the account not running");
    let fences: Vec<(String, i64)> = shared
        .query("SELECT account, fence FROM accounts ORDER BY account")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        fences,
        [
            ("acct00".to_string(), 1),
            ("acct01".to_string(), 2),
            ("acct02".to_string(), 1),
        ],
        "the fences of the accounts still running are untouched"
    );
    sandbox.shutdown().await;
}
