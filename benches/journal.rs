//! Benchmarks of the campaign journal, on a real disk (CARGO_TARGET_TMPDIR),
//! so every commit pays its fsync:
//!
//! - `create_campaign`: storing a whole plan in one transaction (10k to 1M);
//! - `begin_send`: the full send path through `JournalHandle` (claim, then
//!   attempt and outcome), with 1 and 8 concurrent senders;
//! - `summary` and `load_pending` on a 1,000,000-message journal, half sent;
//! - `postgres_begin_send`: the same send path with the PostgreSQL store, when
//!   `OUTREACH_TEST_DATABASE_URL` names a server (a schema of its own,
//!   dropped afterwards).
//!
//! Run: `cargo bench --bench journal`; figures are in docs/journal.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use outreach::journal::{
    AttemptRecord, CampaignMeta, CampaignStore, JournalHandle, JournalUpdate, MessageState,
    NewMessage, Outcome, RateLimitSnapshot, SqliteStore,
};
use outreach::journal::{DbUrl, PgStore};
use tempfile::TempDir;

const ACCOUNTS: [&str; 4] = ["alice", "bob", "carol", "dave"];

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn meta() -> CampaignMeta {
    CampaignMeta {
        campaign_id: "bench".into(),
        created_at: t(0),
        csv_path: "people.csv".into(),
        fingerprint: "f".repeat(64),
        inputs: Vec::new(),
        options_json: "{}".into(),
        tool_version: "bench".into(),
    }
}

/// `n` messages with a realistic ~300-byte body, round-robin over 4 accounts.
fn plan(n: u64) -> Vec<NewMessage> {
    (0..n)
        .map(|seq| NewMessage {
            seq,
            line: seq + 2,
            recipient: format!("person-{seq}@example.com"),
            account: ACCOUNTS[seq as usize % ACCOUNTS.len()].into(),
            subject: Some(format!("Quick question, person {seq}")),
            body: format!(
                "Hi person {seq},\n\nI came across your profile and wanted to reach out about \
                 a role that matches your experience. Would you be open to a short call this \
                 week? Happy to share details beforehand.\n\nBest regards,\nThe team {seq}"
            ),
            idempotency_key: blake3::hash(&seq.to_le_bytes()).to_hex().to_string(),
            planned_at: t(seq as i64 * 3),
            row_digest: blake3::hash(format!("row {seq}").as_bytes())
                .to_hex()
                .to_string(),
            timezone: None,
            html: None,
            fields: Default::default(),
            sequence: Default::default(),
        })
        .collect()
}

/// Wall and CPU time of `f`, printed: on a shared machine the CPU time (of
/// the whole process, all threads) says more than the wall time.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (wall, cpu) = (Instant::now(), process_cpu());
    let value = f();
    let wall = wall.elapsed();
    match (cpu, process_cpu()) {
        (Some(before), Some(after)) => {
            eprintln!("  {what}: wall {wall:.2?}, cpu {:.2?}", after - before)
        }
        _ => eprintln!("  {what}: wall {wall:.2?}"),
    }
    value
}

/// User + system time of this process, from /proc (Linux; 100 ticks/s).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn scratch() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn journal_path(dir: &TempDir) -> PathBuf {
    dir.path().join("bench.journal")
}

fn new_journal(path: &Path, messages: &[NewMessage]) -> SqliteStore {
    let mut store = SqliteStore::create(path).unwrap();
    store.create_campaign(&meta(), messages).unwrap();
    store
}

fn sent_updates(seq: u64) -> [JournalUpdate; 2] {
    [
        JournalUpdate::Attempt(AttemptRecord {
            seq,
            at: t(seq as i64),
            status: Some(201),
            rate_limit: Some(RateLimitSnapshot {
                limit: Some(50),
                remaining: Some(49),
                reset_at: Some(t(3600)),
            }),
            error: None,
        }),
        JournalUpdate::Outcome {
            seq,
            outcome: Outcome::Sent {
                at: t(seq as i64 + 1),
                api_message_id: Some(format!("msg-{seq}")),
            },
        },
    ]
}

fn create_campaign(c: &mut Criterion) {
    let mut group = c.benchmark_group("create_campaign");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for n in [10_000u64, 100_000, 1_000_000] {
        let messages = plan(n);
        group.throughput(Throughput::Elements(n));
        if n == 1_000_000 {
            group.measurement_time(Duration::from_secs(40));
        }
        group.bench_function(n.to_string(), |b| {
            b.iter_batched(
                || {
                    let dir = scratch();
                    let store = SqliteStore::create(journal_path(&dir)).unwrap();
                    (dir, store)
                },
                |(dir, mut store)| {
                    store.create_campaign(&meta(), &messages).unwrap();
                    (dir, store)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
    let messages = plan(1_000_000);
    let dir = scratch();
    let mut store = SqliteStore::create(journal_path(&dir)).unwrap();
    timed("one create_campaign of 1,000,000", || {
        store.create_campaign(&meta(), &messages).unwrap()
    });
}

/// Sends `n` messages through the writer with `senders` concurrent tasks:
/// claim (durable), then attempt and outcome; returns the time until all is
/// durable.
fn send_all(store: impl CampaignStore + 'static, n: u64, senders: u64) -> Duration {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let journal = JournalHandle::spawn(store).unwrap();
        let start = Instant::now();
        let cpu = process_cpu();
        let tasks: Vec<_> = (0..senders)
            .map(|sender| {
                let journal = journal.clone();
                tokio::spawn(async move {
                    for seq in (sender..n).step_by(senders as usize) {
                        journal.begin_send(seq, t(seq as i64)).await.unwrap();
                        let [attempt, outcome] = sent_updates(seq);
                        journal.record(attempt);
                        journal.record(outcome);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        journal.flush().await.unwrap();
        let elapsed = start.elapsed();
        let cpu = match (process_cpu(), cpu) {
            (Some(after), Some(before)) => format!("{:.2?}", after - before),
            _ => "?".to_string(),
        };
        let stats = journal.stats();
        eprintln!(
            "  {senders} sender(s): {n} messages in {elapsed:.2?} (cpu {cpu}), \
             {} commits ({:.1} claims per commit)",
            stats.commits,
            stats.claims as f64 / stats.commits as f64
        );
        journal.close().await.unwrap();
        elapsed
    })
}

fn begin_send(c: &mut Criterion) {
    const N: u64 = 10_000;
    let messages = plan(N);
    let mut group = c.benchmark_group("begin_send");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(N));
    for senders in [1u64, 8] {
        group.bench_function(format!("{senders}_senders"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = scratch();
                    let store = new_journal(&journal_path(&dir), &messages);
                    total += send_all(store, N, senders);
                }
                total
            });
        });
    }
    group.finish();
}

/// 1,000,000 messages, the first half sent (each with an attempt row).
fn half_sent_journal(dir: &TempDir) -> SqliteStore {
    const N: u64 = 1_000_000;
    let mut store = new_journal(&journal_path(dir), &plan(N));
    let half: Vec<u64> = (0..N / 2).collect();
    store.mark_in_flight(&half, t(0)).unwrap();
    let updates: Vec<JournalUpdate> = half.iter().flat_map(|&seq| sent_updates(seq)).collect();
    store.record(&updates).unwrap();
    store
}

fn big_journal_reads(c: &mut Criterion) {
    let dir = scratch();
    let setup = Instant::now();
    let store = half_sent_journal(&dir);
    eprintln!(
        "  built the 1,000,000-message journal in {:.1?}",
        setup.elapsed()
    );
    let mut group = c.benchmark_group("million");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("summary", |b| {
        b.iter(|| {
            let summary = store.summary().unwrap();
            assert_eq!(summary.counts.sent, 500_000);
            summary
        });
    });
    group.throughput(Throughput::Elements(500_000));
    group.bench_function("load_pending", |b| {
        b.iter(|| {
            let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
            assert_eq!(pending.len(), 500_000);
            pending
        });
    });
    group.bench_function("report_rows", |b| {
        b.iter(|| {
            let mut rows = 0u64;
            store
                .report_rows(&mut |_| {
                    rows += 1;
                    Ok(())
                })
                .unwrap();
            rows
        });
    });
    group.finish();
    timed("one summary", || store.summary().unwrap());
    timed("one load of the pending half", || {
        store.messages_in_state(&[MessageState::Pending]).unwrap()
    });
    timed("read-only open + summary", || {
        let reader = SqliteStore::open_read_only(journal_path(&dir)).unwrap();
        reader.summary().unwrap()
    });
}

/// A schema of the bench's own on the server in `OUTREACH_TEST_DATABASE_URL`,
/// dropped when done.
struct PgScratch {
    server: String,
    schema: String,
}

impl PgScratch {
    fn new(server: &str, n: usize) -> PgScratch {
        let schema = format!("outreach_bench_{}_{n}", std::process::id());
        let mut client = postgres::Client::connect(server, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .unwrap();
        PgScratch {
            server: server.to_string(),
            schema,
        }
    }

    fn store(&self, messages: &[NewMessage]) -> PgStore {
        let url = DbUrl::parse(&self.server)
            .unwrap()
            .with_schema(&self.schema);
        let mut store = PgStore::create(&url, "bench").unwrap();
        store.create_campaign(&meta(), messages).unwrap();
        store
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// The send path with the PostgreSQL store: each run takes seconds (a commit
/// is a few round trips and the server's WAL flush), so it is measured once
/// per configuration and printed, not sampled by criterion.
fn postgres_begin_send(_c: &mut Criterion) {
    let Ok(server) = std::env::var("OUTREACH_TEST_DATABASE_URL") else {
        eprintln!("postgres_begin_send skipped: OUTREACH_TEST_DATABASE_URL is not set");
        return;
    };
    const N: u64 = 10_000;
    let messages = plan(N);
    eprintln!("postgres_begin_send ({N} messages: durable claim, then attempt and outcome):");
    for (run, senders) in [1u64, 8, 32].into_iter().enumerate() {
        let scratch = PgScratch::new(&server, run + 1);
        let elapsed = send_all(scratch.store(&messages), N, senders);
        eprintln!(
            "  {senders} sender(s): {:.0} messages/s",
            N as f64 / elapsed.as_secs_f64()
        );
    }
    let scratch = PgScratch::new(&server, 0);
    let mut store = PgStore::create(
        &DbUrl::parse(&server).unwrap().with_schema(&scratch.schema),
        "bench",
    )
    .unwrap();
    let big = plan(100_000);
    timed("one PostgreSQL create_campaign of 100,000", || {
        store.create_campaign(&meta(), &big).unwrap()
    });
}

criterion_group!(
    benches,
    create_campaign,
    begin_send,
    big_journal_reads,
    postgres_begin_send
);
criterion_main!(benches);
