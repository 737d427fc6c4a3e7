//! Benchmarks of `outreach plan`, stage by stage, on 100,000 generated rows
//! (the same shape as benches/gen_recipients.py writes):
//!
//! - `csv_bytes`: the csv crate alone, one reused `ByteRecord` (the floor);
//! - `recipient_table`: [`RecipientTable::from_bytes`] (csv, line numbers,
//!   UTF-8 check, every cell copied into one shared buffer, blake3 of the file);
//! - `campaign_load`: [`Campaign::load`] (the table, then every row's facts,
//!   duplicates, accounts, and one render of every message to validate it, on
//!   every core);
//! - `schedule`: [`Campaign::plan`] (slots for every message, sorted);
//! - `render_all`: rendering every message once more on one thread (what the
//!   output does, per core);
//! - `write_json`: the JSON Lines output of a planned campaign, to a sink
//!   (rendering on every core).
//!
//! The end-to-end timing of the binary on 1,000,000 rows is benches/plan.sh.
//! Run: `cargo bench --bench plan`; figures are in docs/performance.md.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use chrono::{DateTime, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use outreach::campaign::Campaign;
use outreach::input::RecipientTable;
use outreach::options::{self, CampaignFlags};
use outreach::output::schedule::write_json;

const ROWS: usize = 100_000;

const FIRST_NAMES: [&str; 16] = [
    "Ann", "Bob", "Zoë", "José", "Łukasz", "Anaïs", "Mei", "Omar", "Priya", "Sven", "Chidi",
    "Hana", "Mateo", "Olga", "Kai", "Lena",
];
const COMPANIES: [&str; 11] = [
    "\"Acme, Inc.\"",
    "Tyrell Corporation",
    "Stark Industries",
    "Initech",
    "Globex",
    "Umbrella",
    "Wayne Enterprises",
    "Hooli",
    "Cyberdyne",
    "Soylent",
    "Aperture Science",
];
const TEMPLATE: &str = "Subject: {{ first_name }}, a quick question{% if company %} about {{ company }}{% endif %}\n\n\
Hi {{ first_name }},\n\n\
I came across your work{% if company %} at {{ company }}{% endif %} and would love to compare notes on how your team runs outreach without tripping rate limits.\n\n\
Would a 15-minute call next week work?\n\nBest,\nSam\n";

/// The CSV benches/gen_recipients.py writes for `rows` rows.
fn csv_text(rows: usize) -> String {
    let mut text = String::from("recipient,first_name,company,account,priority\n");
    for i in 0..rows {
        let company = if i % 7 == 6 {
            ""
        } else {
            COMPANIES[i % COMPANIES.len()]
        };
        let priority = if i % 10 == 0 {
            (1 + (i / 10) % 5).to_string()
        } else {
            String::new()
        };
        let name = FIRST_NAMES[(i * 7) % FIRST_NAMES.len()];
        writeln!(text, "urn:li:person:{i:08x},{name},{company},,{priority}").unwrap();
    }
    text
}

fn load(dir: &Path) -> Campaign {
    let flags = CampaignFlags {
        csv: dir.join("big.csv"),
        template: Some(dir.join("t.txt")),
        rate: Some("100/s".into()),
        timezone: Some("UTC".into()),
        start: Some("2026-01-05T09:00:00Z".into()),
        ..CampaignFlags::default()
    };
    let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let spec = options::resolve(&flags, now, dir, chrono_tz::UTC).unwrap();
    Campaign::load(spec).unwrap()
}

fn plan_stages(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let text = csv_text(ROWS);
    std::fs::write(dir.path().join("big.csv"), &text).unwrap();
    std::fs::write(dir.path().join("t.txt"), TEMPLATE).unwrap();
    let bytes = text.as_bytes();

    let mut group = c.benchmark_group("plan_100k");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("csv_bytes", |b| {
        b.iter(|| {
            let mut reader = csv::Reader::from_reader(bytes);
            let mut record = csv::ByteRecord::new();
            let mut rows = 0usize;
            while reader.read_byte_record(&mut record).unwrap() {
                rows += 1;
            }
            rows
        });
    });
    group.bench_function("recipient_table", |b| {
        b.iter(|| RecipientTable::from_bytes(Path::new("big.csv"), bytes, "recipient").unwrap());
    });
    group.bench_function("campaign_load", |b| b.iter(|| load(dir.path())));

    let campaign = load(dir.path());
    group.bench_function("schedule", |b| b.iter(|| campaign.plan()));
    group.bench_function("render_all", |b| {
        b.iter(|| {
            let mut renderer = campaign.renderer();
            for message in &campaign.messages {
                black_box(renderer.render(message).unwrap());
            }
        });
    });
    let slots = campaign.plan();
    group.bench_function("write_json", |b| {
        b.iter(|| write_json(&mut std::io::sink(), &campaign, &slots).unwrap());
    });
    group.finish();
}

criterion_group!(benches, plan_stages);
criterion_main!(benches);
