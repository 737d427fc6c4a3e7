//! Library-level tests of the campaign journal. The conformance suite
//! (`journal/conformance.rs`: lifecycle, state transitions, reads, the
//! group-commit writer, scale) runs against both stores, SQLite and
//! PostgreSQL; then what is particular to each: SQLite's files (every
//! bad-state error, with the file's bytes checked unchanged, atomic
//! creation, upgrades) and PostgreSQL's database (campaign names, the
//! writer lock, schema versions). A process killed mid-send is tested
//! against both.
//!
//! The PostgreSQL half needs `OUTREACH_TEST_DATABASE_URL` (each test gets a
//! schema of its own); without it those tests skip with one line saying so.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use outreach::journal::*;
use tempfile::TempDir;

#[allow(unused_imports)]
mod common;
#[path = "journal/conformance.rs"]
mod conformance;
#[path = "journal/report_parity.rs"]
mod report_parity;

use common::postgres::TestSchema;

/// A fixed instant plus `secs`, so tests compare exact times.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 123_456_789).unwrap()
}

fn meta() -> CampaignMeta {
    CampaignMeta {
        campaign_id: "c-1".into(),
        created_at: t(0),
        csv_path: "people.csv".into(),
        fingerprint: "f".repeat(64),
        inputs: vec![
            InputDigest {
                path: "people.csv".into(),
                blake3: "a".repeat(64),
            },
            InputDigest {
                path: "hello.txt".into(),
                blake3: "b".repeat(64),
            },
        ],
        options_json: r#"{"rate":"20/h"}"#.into(),
        tool_version: "0.1.0".into(),
    }
}

fn message(seq: u64, account: &str) -> NewMessage {
    NewMessage {
        seq,
        line: seq + 2,
        recipient: format!("person-{seq}@example.com"),
        account: account.into(),
        subject: seq.is_multiple_of(2).then(|| format!("Hello {seq}")),
        body: format!(
            "Hi person {seq}, this is a message body of realistic length. {}",
            "x".repeat(200)
        ),
        idempotency_key: format!("c-1-{seq}"),
        planned_at: t(seq as i64 * 10),
        row_digest: format!("{seq:064x}"),
        timezone: None,
        html: None,
        fields: Default::default(),
        sequence: Default::default(),
    }
}

/// `n` messages spread round-robin over `accounts`.
fn plan(n: u64, accounts: &[&str]) -> Vec<NewMessage> {
    (0..n)
        .map(|seq| message(seq, accounts[seq as usize % accounts.len()]))
        .collect()
}

fn sent(seq: u64, at: DateTime<Utc>) -> JournalUpdate {
    JournalUpdate::Outcome {
        seq,
        outcome: Outcome::Sent {
            at,
            api_message_id: Some(format!("api-{seq}")),
        },
    }
}

/// Where a test's journal lives, for either store.
pub trait Fixture: Sized {
    type Store: CampaignStore + 'static;
    /// Whether this store's tests can run here.
    fn available() -> bool;
    /// An empty place for one journal.
    fn new() -> Self;
    /// A new store, before `create_campaign`.
    fn create(&self) -> Self::Store;
    /// The campaign, opened for sending (writer lock taken).
    fn open(&self) -> Self::Store;
    /// The campaign, opened read-only.
    fn reader(&self) -> Self::Store;
    /// Whether a writer holds the campaign's lock now.
    fn lock_held(&self) -> bool;

    /// A journal holding `plan(n, accounts)`, closed again.
    fn with_plan(n: u64, accounts: &[&str]) -> Self {
        let fixture = Self::new();
        fixture
            .create()
            .create_campaign(&meta(), &plan(n, accounts))
            .unwrap();
        fixture
    }
}

pub struct SqliteFixture {
    _dir: TempDir,
    path: PathBuf,
}

impl SqliteFixture {
    fn lock_path(&self) -> PathBuf {
        JournalLock::lock_path(&self.path)
    }
}

impl Fixture for SqliteFixture {
    type Store = SqliteStore;

    fn available() -> bool {
        true
    }

    fn new() -> SqliteFixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campaign.journal");
        SqliteFixture { _dir: dir, path }
    }

    fn create(&self) -> SqliteStore {
        SqliteStore::create(&self.path).unwrap()
    }

    fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path).unwrap()
    }

    fn reader(&self) -> SqliteStore {
        SqliteStore::open_read_only(&self.path).unwrap()
    }

    fn lock_held(&self) -> bool {
        self.lock_path().exists()
    }
}

/// The campaign `people` in a schema of the test's own.
pub struct PgFixture {
    schema: TestSchema,
}

const CAMPAIGN: &str = "people";

impl Fixture for PgFixture {
    type Store = PgStore;

    fn available() -> bool {
        common::postgres::server().is_some()
    }

    fn new() -> PgFixture {
        PgFixture {
            schema: TestSchema::create().expect("PostgreSQL is available"),
        }
    }

    fn create(&self) -> PgStore {
        PgStore::create(&self.schema.url, CAMPAIGN).unwrap()
    }

    fn open(&self) -> PgStore {
        // A writer that just closed lets go of its lock with its session.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match PgStore::open(&self.schema.url, CAMPAIGN) {
                Err(JournalError::CampaignBusy { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other.unwrap(),
            }
        }
    }

    fn reader(&self) -> PgStore {
        PgStore::open_read_only(&self.schema.url, CAMPAIGN).unwrap()
    }

    fn lock_held(&self) -> bool {
        self.reader().sender_running().unwrap()
    }
}

fn states(store: &impl CampaignStore) -> Vec<(u64, MessageState)> {
    let mut all = Vec::new();
    store
        .report_rows(&mut |row| {
            all.push((row.seq, row.state));
            Ok(())
        })
        .unwrap();
    all
}

/// Instantiates the conformance suite for one store: one `#[test]` per
/// function, skipped (by `Fixture::available`) where the store cannot run.
macro_rules! conformance {
    ($fixture:ty;
     sync { $($module:ident { $($name:ident),* $(,)? })* }
     async { $($amodule:ident { $($aname:ident),* $(,)? })* }
     multi_thread { $($mmodule:ident { $($mname:ident),* $(,)? })* }
    ) => {
        $(mod $module { $(
            #[test]
            fn $name() {
                if <$fixture as $crate::Fixture>::available() {
                    $crate::conformance::$module::$name::<$fixture>();
                }
            }
        )* })*
        $(mod $amodule { $(
            #[tokio::test]
            async fn $aname() {
                if <$fixture as $crate::Fixture>::available() {
                    $crate::conformance::$amodule::$aname::<$fixture>().await;
                }
            }
        )* })*
        $(mod $mmodule { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $mname() {
                if <$fixture as $crate::Fixture>::available() {
                    $crate::conformance::writer::$mname::<$fixture>().await;
                }
            }
        )* })*
    };
}

macro_rules! whole_suite {
    ($fixture:ty) => {
        conformance! {
            $fixture;
            sync {
                lifecycle {
                    create_then_reopen_returns_the_same_campaign_and_plan,
                    html_bodies_and_row_fields_round_trip,
                    a_campaign_is_created_once,
                    a_reader_sees_commits_while_the_writer_holds_the_lock,
                    a_read_only_store_refuses_writes,
                    a_failed_creation_rolls_back_and_can_be_retried,
                    adding_messages_needs_a_campaign_and_fresh_seqs,
                    steps_round_trip_and_previous_steps_tell_what_became_of_them,
                }
                transitions {
                    claims_refuse_non_pending_messages,
                    attempts_count_requests_except_those_answered_429,
                    outcomes_move_in_flight_messages,
                    an_outcome_for_a_message_not_in_flight_fails_the_whole_batch,
                    recovery_makes_in_flight_messages_uncertain,
                    manual_state_changes_never_touch_sent_messages,
                    a_start_now_shift_moves_only_pending_messages,
                    skipping_refuses_sent_messages_and_is_idempotent,
                    a_skip_records_its_reason_before_an_earlier_failure,
                    rerender_changes_only_pending_messages,
                    sends_since_counts_sent_in_flight_and_uncertain_messages_of_one_account,
                }
                reading {
                    summary_counts_states_and_keeps_each_accounts_latest_word,
                    report_rows_stream_every_message_in_seq_order,
                    a_failing_callback_stops_the_stream_with_its_error,
                    row_digests_and_attempt_history,
                    messages_in_several_states_come_in_seq_order,
                    many_messages_are_read_in_two_halves_and_come_back_whole_and_in_order,
                }
                scale {
                    a_hundred_thousand_messages,
                }
            }
            async {
                writer {
                    concurrent_claims_share_one_commit,
                    a_claim_is_committed_before_begin_send_returns,
                    claims_queued_together_are_durable_together_and_a_given_back_claim_can_be_retaken,
                    a_write_error_stops_sending_but_keeps_good_outcomes,
                    close_releases_the_lock_and_later_calls_fail,
                    outcomes_wait_for_company_but_never_hold_up_a_claim,
                    an_outcome_alone_commits_when_the_wait_is_over,
                }
            }
            multi_thread {
                writer_threads {
                    eight_senders_record_every_message_durably,
                }
            }
        }
    };
}

mod sqlite {
    whole_suite!(crate::SqliteFixture);
}

mod postgres {
    whole_suite!(crate::PgFixture);
}

mod lifecycle_sqlite {
    use super::*;

    #[test]
    fn a_schema_1_journal_is_upgraded_on_open() {
        let fixture = SqliteFixture::with_plan(2, &["alice"]);
        {
            let conn = rusqlite::Connection::open(&fixture.path).unwrap();
            conn.execute_batch(
                "ALTER TABLE messages DROP COLUMN html;
                 ALTER TABLE messages DROP COLUMN fields_json;
                 DROP TABLE stops;
                 ALTER TABLE messages DROP COLUMN step;
                 ALTER TABLE messages DROP COLUMN previous_seq;
                 ALTER TABLE messages DROP COLUMN priority;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = fixture.open();
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        assert_eq!(pending.len(), 2);
        assert!(pending.iter().all(|m| m.message.html.is_none()
            && m.message.fields.is_empty()
            && m.message.sequence == outreach::journal::SequencePlace::default()));
        drop(store);
        let conn = rusqlite::Connection::open(&fixture.path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, schema::SCHEMA_VERSION);
    }

    #[test]
    fn create_refuses_an_existing_file_and_leaves_it_alone() {
        let fixture = SqliteFixture::new();
        fs::write(&fixture.path, b"precious").unwrap();
        let error = SqliteStore::create(&fixture.path).unwrap_err();
        assert!(
            matches!(error, JournalError::AlreadyExists { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("outreach resume"), "{error}");
        assert_eq!(fs::read(&fixture.path).unwrap(), b"precious");
    }

    #[test]
    fn the_journal_appears_only_with_its_whole_plan() {
        let fixture = SqliteFixture::new();
        let building = PathBuf::from(format!("{}.creating", fixture.path.display()));
        let mut store = SqliteStore::create(&fixture.path).unwrap();
        assert!(
            !fixture.path.exists(),
            "nothing at the path before the plan is in"
        );
        assert!(building.exists());
        store
            .create_campaign(&meta(), &plan(3, &["alice"]))
            .unwrap();
        assert!(fixture.path.exists());
        assert!(!building.exists());
        // The same store goes on working on the journal in place.
        store.mark_in_flight(&[0], t(1)).unwrap();
        drop(store);
        assert_eq!(fixture.open().summary().unwrap().counts.in_flight, 1);
    }

    #[test]
    fn an_interrupted_creation_leaves_nothing_behind() {
        let fixture = SqliteFixture::new();
        let building = PathBuf::from(format!("{}.creating", fixture.path.display()));
        drop(SqliteStore::create(&fixture.path).unwrap());
        assert!(!fixture.path.exists());
        assert!(!building.exists(), "an abandoned creation is removed");
        // A sidecar left by a process that died while creating is replaced.
        fs::write(&building, b"half a journal").unwrap();
        let mut store = SqliteStore::create(&fixture.path).unwrap();
        store
            .create_campaign(&meta(), &plan(2, &["alice"]))
            .unwrap();
        assert_eq!(store.campaign().unwrap(), Some(meta()));
        // A failed create_campaign (duplicate seq) rolls back; a retry works.
        let fixture = SqliteFixture::new();
        let mut store = SqliteStore::create(&fixture.path).unwrap();
        let error = store
            .create_campaign(&meta(), &[message(1, "alice"), message(1, "alice")])
            .unwrap_err();
        assert!(
            matches!(error, JournalError::DuplicateSeq { seq: 1 }),
            "{error:?}"
        );
        assert!(!fixture.path.exists());
        store
            .create_campaign(&meta(), &plan(2, &["alice"]))
            .unwrap();
        assert_eq!(states(&store).len(), 2);
    }
}

/// Every unusable file gives a typed error naming the path and the fix, and
/// is left byte for byte as it was, with no lock file created beside it.
mod bad_state {
    use super::*;

    fn assert_untouched(path: &Path, before: &[u8], error: &JournalError) {
        assert_eq!(fs::read(path).unwrap(), before, "{error}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "the message names the file: {error}"
        );
    }

    /// Opens `path` both ways; both must fail the same way without changing it.
    fn open_both_ways(path: &Path) -> JournalError {
        let before = fs::read(path).unwrap();
        let read_only = SqliteStore::open_read_only(path).unwrap_err();
        assert_untouched(path, &before, &read_only);
        let error = SqliteStore::open(path).unwrap_err();
        assert_untouched(path, &before, &error);
        assert_eq!(read_only.to_string(), error.to_string());
        assert!(
            !JournalLock::lock_path(path).exists(),
            "no lock file for a non-journal"
        );
        for suffix in ["-wal", "-shm"] {
            let sidecar = PathBuf::from(format!("{}{suffix}", path.display()));
            assert!(!sidecar.exists(), "{suffix} created beside it: {error}");
        }
        error
    }

    #[test]
    fn missing() {
        let fixture = SqliteFixture::new();
        let error = SqliteStore::open(&fixture.path).unwrap_err();
        assert!(matches!(error, JournalError::Missing { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("no journal at {}", fixture.path.display()))
        );
        assert!(!fixture.path.exists(), "opening never creates");
        assert!(matches!(
            SqliteStore::open_read_only(&fixture.path),
            Err(JournalError::Missing { .. })
        ));
    }

    #[test]
    fn empty_file() {
        let fixture = SqliteFixture::new();
        fs::write(&fixture.path, b"").unwrap();
        let error = open_both_ways(&fixture.path);
        assert!(matches!(error, JournalError::NotSqlite { .. }), "{error:?}");
        assert!(error.to_string().contains("the file is empty"), "{error}");
    }

    #[test]
    fn garbage_bytes() {
        let fixture = SqliteFixture::new();
        let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(&fixture.path, &garbage).unwrap();
        let error = open_both_ways(&fixture.path);
        assert!(matches!(error, JournalError::NotSqlite { .. }), "{error:?}");
        assert!(
            error.to_string().contains("not an SQLite database"),
            "{error}"
        );
        assert!(error.to_string().contains("left untouched"), "{error}");
    }

    #[test]
    fn a_foreign_sqlite_database() {
        let fixture = SqliteFixture::new();
        {
            let conn = rusqlite::Connection::open(&fixture.path).unwrap();
            conn.execute_batch("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('x');")
                .unwrap();
        }
        let error = open_both_ways(&fixture.path);
        assert!(matches!(error, JournalError::Foreign { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("an SQLite database but not an outreach journal"),
            "{error}"
        );
    }

    #[test]
    fn another_programs_application_id() {
        let fixture = SqliteFixture::new();
        {
            let conn = rusqlite::Connection::open(&fixture.path).unwrap();
            conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE t (x);")
                .unwrap();
        }
        let error = open_both_ways(&fixture.path);
        assert!(
            error.to_string().contains("0x000004d2, another program's"),
            "{error}"
        );
    }

    #[test]
    fn a_newer_schema() {
        let fixture = SqliteFixture::with_plan(2, &["alice"]);
        {
            let conn = rusqlite::Connection::open(&fixture.path).unwrap();
            conn.pragma_update(None, "user_version", schema::SCHEMA_VERSION + 1)
                .unwrap();
        }
        // The writer that made it took its lock file with it.
        assert!(!fixture.lock_path().exists());
        let error = open_both_ways(&fixture.path);
        match &error {
            JournalError::NewerSchema {
                found, supported, ..
            } => {
                assert_eq!(*found, schema::SCHEMA_VERSION + 1);
                assert_eq!(*supported, schema::SCHEMA_VERSION);
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        assert!(error.to_string().contains("upgrade outreach"), "{error}");
    }

    #[test]
    fn a_damaged_journal() {
        let fixture = SqliteFixture::with_plan(2, &["alice"]);
        let mut bytes = fs::read(&fixture.path).unwrap();
        // Keep the 100-byte header (so it still says "outreach journal"),
        // wreck the rest of page 1, which holds the schema.
        let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        bytes[100..page_size].fill(0xA5);
        fs::write(&fixture.path, &bytes).unwrap();
        // The writer that made it took its lock file with it.
        assert!(!fixture.lock_path().exists());
        let error = open_both_ways(&fixture.path);
        assert!(matches!(error, JournalError::Corrupt { .. }), "{error:?}");
        assert!(error.to_string().contains("is damaged"), "{error}");
    }

    #[test]
    fn locked_by_another_sender() {
        let fixture = SqliteFixture::with_plan(2, &["alice"]);
        let _holder = fixture.open();
        let before = fs::read(&fixture.path).unwrap();
        let error = SqliteStore::open(&fixture.path).unwrap_err();
        assert_untouched(&fixture.path, &before, &error);
        match &error {
            JournalError::Locked { pid, .. } => assert_eq!(*pid, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(
            error.to_string().contains(&format!(
                "another `outreach send` or `outreach resume` (pid {})",
                std::process::id()
            )),
            "{error}"
        );
        // `status` still works meanwhile.
        let reader = SqliteStore::open_read_only(&fixture.path).unwrap();
        assert_eq!(reader.summary().unwrap().counts.total, 2);
    }
}

/// A sender process that dies without running any destructor (as with
/// kill -9 or a power cut) leaves its claims in flight and its lock free:
/// SQLite's lock file with the process, PostgreSQL's advisory lock with the
/// process's connection.
mod crash {
    use super::*;

    const CHILD_ENV: &str = "OUTREACH_JOURNAL_TEST_CRASH_CHILD";

    fn claim_and_die(mut store: impl CampaignStore) -> ! {
        store.mark_in_flight(&[0, 1, 2], t(10)).unwrap();
        store.record(&[sent(0, t(11))]).unwrap();
        std::process::abort();
    }

    fn run_child(test: &str, location: &str) {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test])
            .arg("--test-threads=1")
            .env(CHILD_ENV, location)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child must have died");
    }

    fn check(mut store: impl CampaignStore) {
        assert_eq!(store.recover_in_flight().unwrap(), 2);
        use MessageState::*;
        assert_eq!(
            states(&store),
            vec![(0, Sent), (1, Uncertain), (2, Uncertain), (3, Pending)]
        );
        assert_eq!(
            store.sends_since("alice", t(0), usize::MAX).unwrap(),
            vec![t(10), t(10), t(11)]
        );
    }

    #[test]
    fn a_killed_sender_leaves_uncertain_messages_and_no_lock() {
        if let Ok(path) = std::env::var(CHILD_ENV) {
            claim_and_die(SqliteStore::open(&path).unwrap());
        }
        let fixture = SqliteFixture::with_plan(4, &["alice"]);
        run_child(
            "crash::a_killed_sender_leaves_uncertain_messages_and_no_lock",
            &fixture.path.display().to_string(),
        );
        check(SqliteStore::open(&fixture.path).expect("the dead child's lock is gone"));
    }

    #[test]
    fn a_killed_postgres_sender_leaves_uncertain_messages_and_no_lock() {
        if let Ok(url) = std::env::var(CHILD_ENV) {
            claim_and_die(PgStore::open(&DbUrl::parse(&url).unwrap(), CAMPAIGN).unwrap());
        }
        if !PgFixture::available() {
            return;
        }
        let fixture = PgFixture::with_plan(4, &["alice"]);
        run_child(
            "crash::a_killed_postgres_sender_leaves_uncertain_messages_and_no_lock",
            &fixture.schema.url_text,
        );
        // `open` waits a moment for the server to notice the dead session.
        check(fixture.open());
    }
}

/// What only the PostgreSQL store has: campaign names in one database, and
/// stops racing claims through row locks.
mod postgres_only {
    use super::*;

    #[test]
    fn a_campaign_name_is_taken_once_and_appears_only_with_its_whole_plan() {
        if !PgFixture::available() {
            return;
        }
        let fixture = PgFixture::new();
        let url = &fixture.schema.url;
        let mut store = fixture.create();
        let error = PgStore::open_read_only(url, CAMPAIGN).unwrap_err();
        assert!(
            matches!(error, JournalError::NoSuchCampaign { .. }),
            "{error:?}"
        );
        store
            .create_campaign(&meta(), &plan(3, &["alice"]))
            .unwrap();
        drop(store);
        let error = PgStore::create(url, CAMPAIGN).unwrap_err();
        assert!(
            matches!(error, JournalError::CampaignNameTaken { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("--campaign"), "{error}");
        // Another name in the same database is another campaign.
        let mut other = PgStore::create(url, "other").unwrap();
        other.create_campaign(&meta(), &plan(2, &["bob"])).unwrap();
        let names: Vec<String> = PgStore::campaigns(url)
            .unwrap()
            .into_iter()
            .map(|listing| format!("{} {}", listing.name, listing.counts.total))
            .collect();
        assert_eq!(names, ["other 2", "people 3"]);
        let error = PgStore::open_read_only(url, "nope").unwrap_err();
        assert!(
            error.to_string().contains("its campaigns: other, people"),
            "{error}"
        );
    }

    #[test]
    fn one_writer_per_campaign_and_it_lets_go_when_dropped() {
        if !PgFixture::available() {
            return;
        }
        let fixture = PgFixture::with_plan(2, &["alice"]);
        let writer = PgStore::open(&fixture.schema.url, CAMPAIGN).unwrap();
        let error = PgStore::open(&fixture.schema.url, CAMPAIGN).unwrap_err();
        assert!(
            matches!(error, JournalError::CampaignBusy { .. }),
            "{error:?}"
        );
        assert!(fixture.lock_held());
        drop(writer);
        assert!(!fixture.lock_held(), "released at once");
        PgStore::open(&fixture.schema.url, CAMPAIGN).unwrap();
    }

    #[test]
    fn stops_racing_claims_never_lose_a_stop_nor_skip_a_claimed_message() {
        if !PgFixture::available() {
            return;
        }
        let fixture = PgFixture::with_plan(400, &["alice", "bob"]);
        let url = fixture.schema.url.clone();
        let claimer = std::thread::spawn({
            let url = url.clone();
            move || {
                let mut sender = PgStore::open(&url, CAMPAIGN).unwrap();
                let mut refused = Vec::new();
                for chunk in (0..400u64).collect::<Vec<_>>().chunks(8) {
                    refused.extend(sender.mark_in_flight(chunk, t(1)).unwrap());
                }
                refused
            }
        });
        let mut stopper = PgStore::open_for_stops(&url, CAMPAIGN).unwrap();
        let targets: Vec<StopTarget> = (0..400u64)
            .step_by(3)
            .map(|seq| StopTarget::Recipient(format!("person-{seq}@example.com")))
            .collect();
        let report = StopStore::stop(
            &mut stopper,
            &StopRequest {
                targets: targets.clone(),
                reason: "race".into(),
                source: "test".into(),
                at: t(2),
            },
        )
        .unwrap();
        let refused = claimer.join().unwrap();
        let final_states: std::collections::HashMap<u64, MessageState> =
            states(&fixture.reader()).into_iter().collect();
        for (target, outcome) in &report.targets {
            let StopTarget::Recipient(recipient) = target else {
                unreachable!()
            };
            let seq: u64 = recipient["person-".len()..recipient.len() - "@example.com".len()]
                .parse()
                .unwrap();
            let state = final_states[&seq];
            match state {
                MessageState::Skipped => assert_eq!(outcome.stopped, 1, "{seq}"),
                MessageState::InFlight => assert_eq!(outcome.in_flight, 1, "{seq}"),
                other => panic!("{seq} is {other}"),
            }
        }
        // A refused claim is a stopped person's; every other message went.
        for refusal in &refused {
            assert_eq!(refusal.state, Some(MessageState::Skipped), "{refusal:?}");
            assert_eq!(refusal.seq % 3, 0);
        }
        for (seq, state) in &final_states {
            if seq % 3 != 0 {
                assert_eq!(*state, MessageState::InFlight, "{seq}");
            }
        }
    }
}
