//! Benchmarks of the do-not-contact lists (issue 13: "checking 100,000
//! suppression patterns before each send costs < 1 ms per send"), on a list
//! of 100,000 entries: 60% addresses, 20% `*@domain`, 20% bare `domain`.
//!
//! Where a list is checked, and what each benchmark measures:
//! - `find`: [`Matcher::find`], one recipient against the whole list: what
//!   planning does for every row, and what a re-read does for every
//!   recipient still to be sent. Hits and misses, addresses, domains,
//!   subdomains and ids.
//! - `load`: [`suppress::load`] of the 100,000-line file: read, parse, hash.
//!   Once at planning, and again on every change while a campaign runs.
//! - `changed`: what a change of the list costs a running campaign: the
//!   [`Watch`] re-reads it and matches every recipient still to be sent
//!   (10,000 and 100,000 of them; 1% on the list) into stop requests.
//! - `unchanged`: the once-a-second look at a list that did not change (a
//!   `stat`).
//! - `claim`: the check the journal makes when a message is claimed, right
//!   before it is sent, with no stops recorded and with the 100,000 entries
//!   recorded as stops (as `outreach stop` would): 2,000 claims of
//!   recipients on no list, one sender, the journal on `CARGO_TARGET_TMPDIR`
//!   (a real disk: every claim pays its commit).
//!
//! Run: `cargo bench --bench suppress`; figures are in docs/performance.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use outreach::journal::{
    CampaignMeta, CampaignStore, JournalHandle, NewMessage, SqliteStore, StopRequest,
};
use outreach::stop::list::{Matcher, parse_entries};
use outreach::stop::suppress::{self, Watch};
use tempfile::TempDir;

const ENTRIES: usize = 100_000;

/// The list: `ENTRIES` lines, a header comment, 60% addresses, 20%
/// `*@domain`, 20% bare domains, in a deterministic mix.
fn list_text() -> String {
    let mut text = String::from("# do not contact\n");
    for i in 0..ENTRIES {
        let line = match i % 5 {
            0 => format!("*@blocked{i}.example.org\n"),
            1 => format!("domain{i}.example.net\n"),
            _ => format!("Person.{i}@Company{}.example.com\n", i % 20_000),
        };
        text.push_str(&line);
    }
    text
}

fn scratch() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn write_list(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("dnc.csv");
    std::fs::write(&path, list_text()).unwrap();
    path
}

/// `n` recipients of a campaign, 1% of them on the list (every 100th is an
/// address the list names; the rest are on no list).
fn recipients(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 100 == 0 {
                // Lines 2, 3, 4 of every 5 are addresses.
                let j = (i * 5 / 100) % ENTRIES / 5 * 5 + 2;
                format!("person.{j}@company{}.example.com", j % 20_000)
            } else {
                format!("someone-{i}@elsewhere.example.com")
            }
        })
        .collect()
}

fn find(c: &mut Criterion) {
    let mut matcher = Matcher::default();
    matcher.add("dnc.csv", &parse_entries(&list_text()));
    let cases = [
        ("miss_address", "someone@elsewhere.example.com", false),
        (
            "miss_deep_subdomain",
            "a@x.y.z.w.elsewhere.example.com",
            false,
        ),
        ("miss_id", "+15550100", false),
        ("hit_address", "PERSON.99997@company19997.example.com", true),
        ("hit_star_domain", "anyone@blocked50000.example.org", true),
        (
            "hit_bare_domain_subdomain",
            "a@eu.mail.domain50001.example.net",
            true,
        ),
    ];
    let mut group = c.benchmark_group("find");
    group.throughput(Throughput::Elements(1));
    for (name, recipient, hit) in cases {
        assert_eq!(matcher.find(recipient).is_some(), hit, "{recipient}");
        group.bench_function(name, |b| {
            b.iter(|| matcher.find(black_box(recipient)).is_some())
        });
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let dir = scratch();
    let path = write_list(&dir);
    let lists = [path];
    let mut group = c.benchmark_group("load");
    group
        .sample_size(20)
        .throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("100000_entries", |b| {
        b.iter(|| {
            let matcher = suppress::load(&lists).unwrap();
            assert!(!matcher.is_empty());
            matcher
        })
    });
    group.finish();
}

fn changed(c: &mut Criterion) {
    let dir = scratch();
    let lists = vec![write_list(&dir)];
    let mut group = c.benchmark_group("changed");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for n in [10_000usize, 100_000] {
        let pending = recipients(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_pending"), |b| {
            b.iter_batched(
                || Watch::new(lists.clone(), pending.clone()),
                |mut watch| {
                    // What `changes()` does once it sees a new stamp.
                    let requests = watch.check_now();
                    let stopped: usize = requests.iter().map(|r| r.targets.len()).sum();
                    assert_eq!(stopped, n / 100);
                    (watch, requests)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn unchanged(c: &mut Criterion) {
    let dir = scratch();
    let lists = vec![write_list(&dir)];
    let mut watch = Watch::new(lists, recipients(10_000));
    let mut group = c.benchmark_group("unchanged");
    group.bench_function("poll", |b| {
        b.iter(|| {
            let requests = watch.changes();
            assert!(requests.is_empty());
        })
    });
    group.finish();
}

// --- the journal's check at claim time -----------------------------------

const CLAIMS: u64 = 2_000;

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

fn messages() -> Vec<NewMessage> {
    (0..CLAIMS)
        .map(|seq| NewMessage {
            seq,
            line: seq + 2,
            recipient: format!("someone-{seq}@mail.elsewhere.example.com"),
            account: "alice".into(),
            subject: Some("Hello".into()),
            body: format!("Hi {seq}"),
            idempotency_key: format!("key-{seq}"),
            planned_at: t(seq as i64),
            row_digest: format!("{seq:064}"),
            timezone: None,
            html: None,
            fields: Default::default(),
            sequence: Default::default(),
        })
        .collect()
}

/// The list's entries as one stop (`outreach stop` of the whole list).
fn list_as_stop() -> StopRequest {
    let targets = parse_entries(&list_text())
        .into_iter()
        .map(|entry| entry.target)
        .collect();
    StopRequest {
        targets,
        reason: "do not contact".into(),
        source: "bench".into(),
        at: t(0),
    }
}

fn journal(dir: &Path, stops: Option<&StopRequest>) -> SqliteStore {
    let path = dir.join("bench.journal");
    let _ = std::fs::remove_file(&path);
    let mut store = SqliteStore::create(&path).unwrap();
    store.create_campaign(&meta(), &messages()).unwrap();
    if let Some(stop) = stops {
        let report = store.stop(stop).unwrap();
        assert_eq!(
            report.messages_stopped(),
            0,
            "no recipient of the bench is listed"
        );
    }
    store
}

/// Claims every message, one after the other; the time of the claims alone.
fn claim_all(store: SqliteStore) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let journal = JournalHandle::spawn(store).unwrap();
        let start = Instant::now();
        for seq in 0..CLAIMS {
            journal.begin_send(seq, t(seq as i64)).await.unwrap();
        }
        let elapsed = start.elapsed();
        journal.close().await.unwrap();
        elapsed
    })
}

fn claim(c: &mut Criterion) {
    let stop = list_as_stop();
    let mut group = c.benchmark_group("claim");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(CLAIMS));
    for (name, stops) in [("no_stops", None), ("100000_stops", Some(&stop))] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = scratch();
                    total += claim_all(journal(dir.path(), stops));
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, find, load, changed, unchanged, claim);
criterion_main!(benches);
