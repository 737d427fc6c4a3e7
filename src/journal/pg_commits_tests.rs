//! Commit markers and reconnecting against a real PostgreSQL (the server in
//! `OUTREACH_TEST_DATABASE_URL`, a schema of each test's own): the
//! decision with the marker present and absent, a batch replayed after its
//! connection was really lost, and a writer lock taken by someone else
//! meanwhile. Without the variable these tests say so and pass, unless
//! `OUTREACH_REQUIRE_POSTGRES=1`.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use super::*;
use crate::journal::pg::PgStore;
use crate::journal::pg_url::DbUrl;
use crate::journal::store::CampaignStore;
use crate::journal::{CampaignMeta, MessageState, NewMessage};

/// A schema of the test's own, dropped at the end.
struct Scratch {
    server: String,
    schema: String,
    url: DbUrl,
}

impl Scratch {
    fn new() -> Option<Scratch> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let Ok(server) = std::env::var("OUTREACH_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("OUTREACH_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "OUTREACH_REQUIRE_POSTGRES=1 but OUTREACH_TEST_DATABASE_URL is not set"
            );
            eprintln!("note: skipped: OUTREACH_TEST_DATABASE_URL is not set");
            return None;
        };
        let schema = format!(
            "outreach_u_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(&server, &format!("CREATE SCHEMA {schema}"));
        let url = DbUrl::parse(&server).unwrap().with_schema(&schema);
        Some(Scratch {
            server,
            schema,
            url,
        })
    }

    /// A campaign of `n` pending messages, its store holding the writer lock.
    fn campaign(&self, n: u64) -> PgStore {
        let mut store = PgStore::create(&self.url, "c").unwrap();
        let meta = CampaignMeta {
            campaign_id: "c".into(),
            created_at: t(0),
            csv_path: "c.csv".into(),
            fingerprint: "f".into(),
            inputs: vec![],
            options_json: "{}".into(),
            tool_version: "test".into(),
        };
        let messages: Vec<NewMessage> = (0..n).map(message).collect();
        store.create_campaign(&meta, &messages).unwrap();
        store
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        admin(
            &self.server,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        );
    }
}

fn admin(url: &str, sql: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client.batch_execute(sql).unwrap();
}

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn message(seq: u64) -> NewMessage {
    NewMessage {
        seq,
        line: seq + 2,
        recipient: format!("p{seq}@example.test"),
        account: "main".into(),
        subject: None,
        body: format!("hello {seq}"),
        idempotency_key: format!("k-{seq}"),
        planned_at: t(seq as i64),
        row_digest: format!("{seq:064x}"),
        timezone: None,
        html: None,
        fields: Default::default(),
        sequence: Default::default(),
    }
}

fn claim(seq: u64) -> JournalUpdate {
    JournalUpdate::InFlight { seq, at: t(50) }
}

fn state(store: &PgStore, seq: u64) -> MessageState {
    let stored = store
        .messages_in_state(&[
            MessageState::Pending,
            MessageState::InFlight,
            MessageState::Sent,
        ])
        .unwrap();
    stored.iter().find(|m| m.message.seq == seq).unwrap().state
}

fn markers(store: &PgStore) -> Vec<(String, i64)> {
    store
        .read(|session, _| {
            Ok(session
                .client
                .query("SELECT holder, batch FROM commits ORDER BY batch", &[])
                .unwrap()
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })
        .unwrap()
}

fn marker(store: &PgStore, batch: i64) -> Marker {
    Marker {
        holder: store.holder.clone(),
        batch,
    }
}

/// Runs `f` on the store's connection with its campaign.
fn on_session<R: Send + 'static>(
    store: &PgStore,
    f: impl FnOnce(&mut Session, &Ctx) -> R + Send + 'static,
) -> R {
    let ctx = store.ctx().unwrap();
    store.conn.run(move |session| f(session, &ctx))
}

/// The other process's view: ends the store's server process, as a
/// failover or a network cut does, and waits until it is gone (each look
/// its own transaction: one transaction sees one snapshot of the activity).
fn lose_connection(scratch: &Scratch, store: &PgStore) {
    let pid = on_session(store, |session, _| session.backend())
        .unwrap()
        .pid;
    let mut client = postgres::Client::connect(&scratch.server, postgres::NoTls).unwrap();
    client
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    let gone_by = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)",
            &[&pid],
        )
        .unwrap()
        .get::<_, bool>(0)
    {
        assert!(std::time::Instant::now() < gone_by, "backend {pid} lingers");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_commit_whose_marker_is_there_committed_and_keeps_its_refusals() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let mut store = scratch.campaign(2);
    store.record(&[claim(1)]).unwrap();
    // The batch commits, but say its answer was lost: the marker decides.
    let batch = vec![claim(0), claim(1)];
    let mark = marker(&store, 7);
    let refusals = {
        let mark = mark.clone();
        on_session(&store, move |session, ctx| {
            write::record(session, ctx, &batch, &mark).map_err(|_| "record failed")
        })
        .unwrap()
    };
    let settled = {
        let mark = mark.clone();
        on_session(&store, move |session, ctx| settle(session, &mark, ctx)).unwrap()
    };
    assert_eq!(settled, Settled::Committed);
    // What the caller is told is what the transaction found.
    assert_eq!(
        refusals,
        vec![Refusal::not_claimable(1, Some(MessageState::InFlight))]
    );
    assert_eq!(state(&store, 0), MessageState::InFlight);
    // The holder's older markers are gone: one row per holder at most.
    assert_eq!(markers(&store), vec![(store.holder.to_string(), 7)]);
}

#[test]
fn a_commit_whose_marker_is_absent_rolled_back_and_is_replayed_once() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let store = scratch.campaign(2);
    let mark = marker(&store, 3);
    // The batch's transaction never committed (its connection went first).
    {
        let mark = mark.clone();
        on_session(&store, move |session, ctx| {
            let statement = Marker::prepare(session).unwrap();
            let mut tx = session.client.transaction().unwrap();
            tx.execute("UPDATE messages SET state = 'in_flight' WHERE seq = 0", &[])
                .unwrap();
            mark.insert(&mut tx, &statement, ctx).unwrap();
            tx.rollback().unwrap();
        });
    }
    let settled = {
        let mark = mark.clone();
        on_session(&store, move |session, ctx| settle(session, &mark, ctx)).unwrap()
    };
    assert_eq!(settled, Settled::Replay);
    assert_eq!(state(&store, 0), MessageState::Pending);
    // The replay, under the same marker, claims it once.
    let refusals = on_session(&store, move |session, ctx| {
        write::record(session, ctx, &[claim(0)], &mark).map_err(|_| "record failed")
    })
    .unwrap();
    assert!(refusals.is_empty());
    assert_eq!(state(&store, 0), MessageState::InFlight);
    assert_eq!(markers(&store), vec![(store.holder.to_string(), 3)]);
}

#[test]
fn a_batch_whose_connection_is_lost_is_written_after_reconnecting() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let mut store = scratch.campaign(3);
    store.record(&[claim(0)]).unwrap();
    lose_connection(&scratch, &store);
    // The next batch finds the connection gone, connects again, takes the
    // writer lock again and writes the batch once.
    let refusals = store.record(&[claim(0), claim(1)]).unwrap();
    assert_eq!(
        refusals,
        vec![Refusal::not_claimable(0, Some(MessageState::InFlight))]
    );
    assert_eq!(state(&store, 1), MessageState::InFlight);
    assert_eq!(state(&store, 2), MessageState::Pending);
    // Reads of a sending store come back too.
    lose_connection(&scratch, &store);
    assert_eq!(state(&store, 2), MessageState::Pending);
    // The writer lock is held again: a second sender is refused.
    let other = PgStore::open(&scratch.url, "c").unwrap_err();
    assert!(
        matches!(other, JournalError::CampaignBusy { .. }),
        "{other}"
    );
}

#[test]
fn a_writer_lock_taken_meanwhile_by_someone_else_is_fatal() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let mut store = scratch.campaign(2);
    lose_connection(&scratch, &store);
    let other = PgStore::open(&scratch.url, "c").unwrap();
    let error = store.record(&[claim(0)]).unwrap_err();
    assert!(
        matches!(error, JournalError::CampaignBusy { .. }),
        "{error}"
    );
    assert_eq!(state(&other, 0), MessageState::Pending);
}
