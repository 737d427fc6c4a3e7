//! The lease statements against a journal transaction running beside them,
//! on real connections: a renewal must wait for a claim's share lock, never
//! deadlock with it (a deadlock aborted the renewal, and with it the whole
//! worker, in the kill -9 test's first runs).

use std::sync::mpsc;
use std::time::Duration;

use outreach::journal::pg_lease;

use crate::harness::{Shared, TestSchema, roomy_config, start};

const HOLDER: &str = "test-worker";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_waits_for_a_claims_share_lock_instead_of_deadlocking() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = crate::harness::GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, 2, 1);
    shared
        .send_detached(&sandbox.url(), "10/s")
        .run()
        .await
        .expect_code(0);
    shared.db.execute(&format!(
        "UPDATE accounts SET lease_holder = '{HOLDER}', fence = 1,
             lease_until_ns = (extract(epoch FROM clock_timestamp()) * 1e9)::bigint + 60000000000"
    ));
    let url = shared.db.url_text.clone();

    // A journal transaction as the writer makes one: the claim's share lock
    // on the later account's row, then (a send's rate-limit figures) an
    // update of the earlier one.
    let (locked_tx, locked) = mpsc::channel();
    let journal_url = url.clone();
    let journal = std::thread::spawn(move || -> Result<(), postgres::Error> {
        let mut client = postgres::Client::connect(&journal_url, postgres::NoTls)?;
        let mut tx = client.transaction()?;
        tx.query(
            "SELECT 1 FROM accounts WHERE account = 'acct01' FOR SHARE",
            &[],
        )?;
        locked_tx.send(()).expect("signal");
        std::thread::sleep(Duration::from_millis(300));
        tx.execute(
            "UPDATE accounts SET throttled = throttled + 1 WHERE account = 'acct00'",
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
