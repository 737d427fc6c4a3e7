//! `outreach report --format html`: pages for finished, running,
//! interrupted, empty and 100,000-message campaigns, built from journals
//! written through the library, checked for well-formed markup, the
//! expected numbers, escaping, self-containment and size.
//!
//! Set `OUTREACH_KEEP_REPORTS=DIR` to keep every page made here (to look at
//! them in a browser).

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use chrono::{DateTime, TimeDelta, Utc};
use outreach::account::Account;
use outreach::journal::*;
use outreach::options::CampaignFlags;
use outreach::output::html::{self, Settings};
use outreach::state::saved::{SavedOptions, SavedRetry};
use outreach::throttle::BackoffPolicy;
use tempfile::TempDir;

/// A fixed instant plus `secs`.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000 + secs, 0).unwrap()
}

fn options(accounts: &[&str]) -> String {
    let saved = SavedOptions {
        flags: CampaignFlags {
            csv: "/data/people.csv".into(),
            ..CampaignFlags::default()
        },
        accounts: accounts
            .iter()
            .map(|name| Account {
                name: name.to_string(),
                rate: "60/h".parse().unwrap(),
                daily_cap: None,
                token_env: format!("{}_TOKEN", name.to_uppercase()),
                channel: Default::default(),
                warmup: None,
            })
            .collect(),
        windows: "mon-sun 00:00-24:00".parse().unwrap(),
        timezone: "Europe/Berlin".into(),
        jitter: 0.0,
        seed: blake3::hash(b"seed").to_hex().to_string(),
        endpoint: Some("sandbox".into()),
        retry: SavedRetry::new(&BackoffPolicy::default(), Duration::from_secs(30)),
        suppress: Vec::new(),
        steps: Vec::new(),
        per_domain_daily_cap: None,
    };
    serde_json::to_string(&saved).unwrap()
}

fn meta(accounts: &[&str]) -> CampaignMeta {
    CampaignMeta {
        campaign_id: "c-2026-report".into(),
        created_at: t(-60),
        csv_path: "/data/people.csv".into(),
        fingerprint: "f".repeat(64),
        inputs: vec![],
        options_json: options(accounts),
        tool_version: "0.1.0".into(),
    }
}

/// `n` messages round-robin over `accounts`, each account one per `spacing`
/// seconds.
fn plan(n: u64, accounts: &[&str], spacing: i64) -> Vec<NewMessage> {
    (0..n)
        .map(|seq| {
            let account = accounts[(seq % accounts.len() as u64) as usize];
            let slot = (seq / accounts.len() as u64) as i64;
            NewMessage {
                seq,
                line: seq + 2,
                recipient: format!("urn:li:person:{seq:06}"),
                account: account.into(),
                subject: None,
                body: format!("Hello {seq}"),
                idempotency_key: format!("k-{seq}"),
                planned_at: t(slot * spacing),
                row_digest: format!("{seq:064x}"),
                timezone: None,
                html: None,
                fields: Default::default(),
                sequence: Default::default(),
            }
        })
        .collect()
}

/// What happens to one message.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Sent,
    /// A 429 first (with reset 30 s later), then sent.
    Throttled,
    /// A timeout first, retried 5 s later, then sent.
    Retried,
    /// HTTP 400, final.
    Rejected,
    /// A timeout on the last attempt: maybe delivered.
    Uncertain,
    /// Claimed, no answer yet (running), or a crash (interrupted).
    InFlight,
}

/// Records each `(message, fate)` as the executor would: claims, attempts
/// with quota headers (`limit` per account, refilled at each 429 reset),
/// outcomes; `late` seconds after plan. Batched so 100,000 messages take
/// seconds, not an fsync each.
fn simulate(store: &mut SqliteStore, work: &[(&NewMessage, Fate)], limit: u32, headers: &[&str]) {
    use std::collections::HashMap;
    let mut clock: HashMap<String, (DateTime<Utc>, u32)> = HashMap::new();
    let mut batch = Vec::new();
    for &(message, fate) in work {
        let (now, used) = clock
            .entry(message.account.clone())
            .or_insert((message.planned_at, 0));
        *now = (*now).max(message.planned_at + TimeDelta::seconds(2));
        let with_headers = headers.contains(&message.account.as_str());
        let snapshot = |used: u32, at: DateTime<Utc>| {
            with_headers.then_some(RateLimitSnapshot {
                limit: Some(limit),
                remaining: Some(limit.saturating_sub(used)),
                reset_at: Some(at + TimeDelta::seconds(30)),
            })
        };
        let seq = message.seq;
        let attempt = |at, status, rate_limit, error: Option<&str>| {
            JournalUpdate::Attempt(AttemptRecord {
                seq,
                at,
                status,
                rate_limit,
                error: error.map(str::to_string),
            })
        };
        batch.push(JournalUpdate::InFlight { seq, at: *now });
        match fate {
            Fate::Throttled | Fate::Retried => {
                let (status, error, wait) = if fate == Fate::Throttled {
                    (Some(429), "HTTP 429: slow down", 30)
                } else {
                    (None, "timed out after 30s", 5)
                };
                batch.push(attempt(*now, status, snapshot(*used, *now), Some(error)));
                batch.push(JournalUpdate::Outcome {
                    seq,
                    outcome: Outcome::BackToPending,
                });
                *now += TimeDelta::seconds(wait);
                if fate == Fate::Throttled {
                    *used = 0;
                }
                batch.push(JournalUpdate::InFlight { seq, at: *now });
            }
            _ => {}
        }
        match fate {
            Fate::InFlight => {}
            Fate::Rejected => {
                batch.push(attempt(*now, Some(400), snapshot(*used, *now), Some("bad")));
                batch.push(JournalUpdate::Outcome {
                    seq,
                    outcome: Outcome::Failed {
                        reason: "HTTP 400: <b>invalid</b> recipient & \"more\" (after 1 attempt)"
                            .into(),
                        status: Some(400),
                    },
                });
            }
            Fate::Uncertain => {
                batch.push(attempt(*now, None, None, Some("timed out after 30s")));
                batch.push(JournalUpdate::Outcome {
                    seq,
                    outcome: Outcome::Uncertain {
                        reason: "timed out after 30s (after 3 attempts)".into(),
                    },
                });
            }
            _ => {
                *used += 1;
                batch.push(attempt(*now, Some(202), snapshot(*used, *now), None));
                batch.push(JournalUpdate::Outcome {
                    seq,
                    outcome: Outcome::Sent {
                        at: *now,
                        api_message_id: Some(format!("m-{seq}")),
                    },
                });
                if with_headers && *used >= limit {
                    // Remaining: 0: the account waits for the reset.
                    *now += TimeDelta::seconds(30);
                    *used = 0;
                }
            }
        }
        *now += TimeDelta::seconds(1);
        if batch.len() >= 4_000 {
            store.record(&batch).unwrap();
            batch.clear();
        }
    }
    store.record(&batch).unwrap();
}

/// The fate of message `seq` in the mixed campaigns below.
fn mixed(seq: u64) -> Fate {
    match seq % 50 {
        7 => Fate::Throttled,
        13 => Fate::Retried,
        21 => Fate::Rejected,
        33 if seq % 100 == 33 => Fate::Uncertain,
        _ => Fate::Sent,
    }
}

struct Journal {
    _dir: TempDir,
    path: PathBuf,
}

fn journal(name: &str) -> Journal {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.outreach.db"));
    Journal { _dir: dir, path }
}

fn page(path: &Path, now: DateTime<Utc>, name: &str) -> String {
    let store = SqliteStore::open_read_only(path).unwrap();
    let settings = Settings::new(chrono_tz::Europe::Berlin, now);
    let html = html::render(&html::gather(&store, &settings).unwrap(), &settings);
    if let Some(dir) = std::env::var_os("OUTREACH_KEEP_REPORTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.html")), &html).unwrap();
    }
    check_markup(&html);
    check_self_contained(&html);
    html
}

// ------------------------------------------------------------ markup checks

const VOID: [&str; 4] = ["meta", "br", "hr", "img"];

/// A small well-formedness check: every element closes in order (void and
/// `/>` elements aside), `<style>` is raw text, no stray `<` or `&` in text.
fn check_markup(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n"), "doctype first");
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = &html["<!DOCTYPE html>\n".len()..];
    let context = |rest: &str| rest.chars().take(120).collect::<String>();
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        rest = &rest[open..];
        let close = tag_end(rest).unwrap_or_else(|| panic!("unclosed tag: {}", context(rest)));
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name, "</{name}> closes <{top}>: {}", context(rest));
            continue;
        }
        let name_end = tag
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(tag.len());
        let name = &tag[..name_end];
        assert!(
            !name.is_empty(),
            "`<` that starts no tag: <{}",
            context(tag)
        );
        if tag.ends_with('/') || VOID.contains(&name) {
            continue;
        }
        if name == "style" {
            let end = rest.find("</style>").expect("style closes");
            rest = &rest[end + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

/// The `>` ending the tag at the start of `text`, outside quoted values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn check_text(text: &str) {
    assert!(!text.contains('>'), "unescaped `>` in text: {text}");
    for (i, _) in text.match_indices('&') {
        let entity: String = text[i + 1..].chars().take_while(|&c| c != ';').collect();
        assert!(
            matches!(entity.as_str(), "amp" | "lt" | "gt" | "quot" | "#39"),
            "bare `&` in text: {}",
            &text[i..]
        );
    }
}

fn check_self_contained(html: &str) {
    for needle in [
        "http://", "https://", "<script", "<link", "<img", "url(", "@import", "src=",
    ] {
        assert!(!html.contains(needle), "the page references `{needle}`");
    }
}

/// The cells of the row of `table` whose `data-account` is `account`
/// (`""`: the totals row), tags stripped.
fn row(html: &str, table: &str, account: &str) -> Vec<String> {
    let table_at = html.find(&format!("id=\"{table}\"")).expect("table exists");
    let table_html = &html[table_at..table_at + html[table_at..].find("</table>").unwrap()];
    let start = table_html
        .find(&format!("<tr data-account=\"{account}\">"))
        .unwrap_or_else(|| panic!("no row {account:?} in {table}"));
    let row_html = &table_html[start..start + table_html[start..].find("</tr>").unwrap()];
    row_html
        .split("<td")
        .skip(1)
        .map(|cell| {
            let content = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
            content.to_string()
        })
        .collect()
}

/// `[messages, sent, failed, uncertain, skipped, pending, in flight]`.
fn state_counts(html: &str, account: &str) -> Vec<String> {
    row(html, "states", account)[2..].to_vec()
}

// ------------------------------------------------------------ campaigns

const ACCOUNTS: [&str; 3] = ["alice", "bob", "carol&co"];

/// 300 messages over three accounts (carol&co's server sends no rate-limit
/// headers), two of them skipped, the rest sent with 429s, retries,
/// rejections and timeouts mixed in.
fn finished() -> Journal {
    let journal = journal("finished");
    let mut messages = plan(300, &ACCOUNTS, 20);
    messages[21].recipient = "<script>alert(\"x\")</script>&co".into();
    let mut store = SqliteStore::create(&journal.path).unwrap();
    store.create_campaign(&meta(&ACCOUNTS), &messages).unwrap();
    assert_eq!(store.skip_messages(&[298, 299]).unwrap(), 2);
    let work: Vec<_> = messages[..298].iter().map(|m| (m, mixed(m.seq))).collect();
    simulate(&mut store, &work, 10, &["alice", "bob"]);
    journal
}

#[test]
fn a_finished_campaign_shows_counts_charts_and_failures() {
    let journal = finished();
    let html = page(&journal.path, t(86_400), "finished");

    assert!(html.contains("<span class=\"badge done\">finished</span>"));
    // messages, sent, failed, uncertain, skipped, pending, in flight
    assert_eq!(
        state_counts(&html, ""),
        ["300", "289", "6", "3", "2", "0", "0"]
    );
    assert_eq!(
        state_counts(&html, "alice"),
        ["100", "97", "2", "1", "0", "0", "0"]
    );
    assert_eq!(
        state_counts(&html, "bob"),
        ["100", "96", "2", "1", "1", "0", "0"]
    );
    assert_eq!(
        state_counts(&html, "carol&amp;co"),
        ["100", "96", "2", "1", "1", "0", "0"]
    );
    assert_eq!(row(&html, "states", "alice")[1], "60/h", "the saved rate");
    let timing = row(&html, "timing", "");
    assert_eq!(timing[1], "6", "429s: {timing:?}");
    assert_ne!(timing[2], "0ms", "time throttled: {timing:?}");
    assert!(timing[6].starts_with('+'), "finished late: {timing:?}");

    // One chart per account, each with both lines, marks and its pauses.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 3);
    assert_eq!(html.matches("<polyline class=\"planned\"").count(), 3);
    assert_eq!(html.matches("<polyline class=\"sent\"").count(), 3);
    assert!(html.contains("<g class=\"mark-throttled\""));
    assert!(html.contains("<g class=\"mark-retried\""));
    assert!(html.contains("<g class=\"mark-failed\""));
    // Its final errors include uncertain messages, which may have arrived.
    assert!(
        !html.contains("given up"),
        "an uncertain message is not given up"
    );
    assert!(html.contains("<g class=\"pause-throttled\""));
    assert!(html.contains("<g class=\"pause-quota\""));
    assert!(html.contains("<g class=\"quota-band\""));
    assert!(
        html.contains("quota: the server sent no rate-limit headers"),
        "carol&co"
    );
    assert!(
        !html.contains("report time"),
        "a finished campaign has no now line"
    );

    // Reasons and recipients, escaped.
    let reasons = row_texts(&html, "reasons");
    assert!(
        reasons.iter().any(|r| r
            .contains("&lt;b&gt;invalid&lt;/b&gt; recipient &amp; &quot;more&quot;")
            && r.ends_with("<td class=\"num\">6</td>")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("timed out after 30s (after 3 attempts)"))
    );
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;co"));
    assert!(!html.contains("<script"));
    for seq in [21, 33, 71, 121, 133, 171, 221, 233, 271] {
        assert!(
            html.contains(&format!(
                "<tr class=\"{}\"><td class=\"num\">{seq}</td>",
                mixed(seq).state_name()
            )),
            "seq {seq} listed"
        );
    }
    assert_eq!(row_texts(&html, "problems").len(), 9 + 1, "header + 9 rows");
}

trait StateName {
    fn state_name(self) -> &'static str;
}

impl StateName for Fate {
    fn state_name(self) -> &'static str {
        match self {
            Fate::Rejected => "failed",
            Fate::Uncertain => "uncertain",
            _ => "sent",
        }
    }
}

/// The `<tr>` elements of `table`, as markup.
fn row_texts(html: &str, table: &str) -> Vec<String> {
    let table_at = html.find(&format!("id=\"{table}\"")).expect("table exists");
    let table_html = &html[table_at..table_at + html[table_at..].find("</table>").unwrap()];
    table_html
        .split("<tr")
        .skip(1)
        .map(|row| row[..row.find("</tr>").unwrap()].to_string())
        .collect()
}

/// Half of a 300-message campaign done, seq 150 in flight.
fn half_done(journal: &Journal) -> SqliteStore {
    let messages = plan(300, &ACCOUNTS, 20);
    let mut store = SqliteStore::create(&journal.path).unwrap();
    store.create_campaign(&meta(&ACCOUNTS), &messages).unwrap();
    let mut work: Vec<_> = messages[..150].iter().map(|m| (m, mixed(m.seq))).collect();
    work.push((&messages[150], Fate::InFlight));
    simulate(&mut store, &work, 10, &["alice", "bob"]);
    store
}

#[test]
fn a_running_campaign_reads_while_the_sender_writes() {
    let journal = journal("running");
    let mut writer = half_done(&journal);
    // The sender holds the lock and keeps writing; the report opens read-only.
    let html = page(&journal.path, t(1_100), "running");
    assert!(
        html.contains("<span class=\"badge open\">not finished</span> 149 pending, 1 in flight")
    );
    assert_eq!(
        state_counts(&html, ""),
        ["300", "145", "3", "2", "0", "149", "1"]
    );
    assert!(html.contains("report time"), "the now line is drawn");
    assert!(row(&html, "timing", "")[5].ends_with(", so far"));
    assert_eq!(row(&html, "timing", "")[6], "—", "no end before the end");

    writer
        .record(&[JournalUpdate::Outcome {
            seq: 150,
            outcome: Outcome::Sent {
                at: t(1_010),
                api_message_id: None,
            },
        }])
        .unwrap();
    let html = page(&journal.path, t(1_100), "running-later");
    assert_eq!(
        state_counts(&html, ""),
        ["300", "146", "3", "2", "0", "149", "0"]
    );
}

#[test]
fn an_interrupted_campaign_shows_what_is_left_and_what_is_uncertain() {
    let journal = journal("interrupted");
    drop(half_done(&journal)); // killed: seq 150 stays in flight
    let two_days = t(2 * 86_400);
    let html = page(&journal.path, two_days, "interrupted");
    assert!(html.contains("149 pending, 1 in flight"));
    assert!(html.contains("before this report"), "says how long ago");
    assert!(!html.contains("report time"), "now is past the axis");

    // `resume` would first make the in-flight message uncertain.
    SqliteStore::open(&journal.path)
        .unwrap()
        .recover_in_flight()
        .unwrap();
    let html = page(&journal.path, two_days, "interrupted-recovered");
    assert_eq!(
        state_counts(&html, ""),
        ["300", "145", "3", "3", "0", "149", "0"]
    );
    assert!(html.contains(INTERRUPTED_REASON));
    assert!(html.contains("<tr class=\"uncertain\"><td class=\"num\">150</td>"));
}

#[test]
fn an_empty_journal_still_makes_a_page() {
    let journal = journal("empty");
    // A journal file without a campaign, as builds before atomic creation
    // could leave (SqliteStore::create alone no longer writes the path).
    let mut conn = rusqlite::Connection::open(&journal.path).unwrap();
    schema::migrate(&mut conn, &journal.path, 0).unwrap();
    drop(conn);
    let html = page(&journal.path, t(0), "empty");
    assert!(html.contains("The journal holds no messages yet."));
    assert!(!html.contains("<svg"));

    let journal = self::journal("no-messages");
    let mut store = SqliteStore::create(&journal.path).unwrap();
    store.create_campaign(&meta(&ACCOUNTS), &[]).unwrap();
    drop(store);
    let html = page(&journal.path, t(0), "no-messages");
    assert!(html.contains("The journal holds no messages yet."));
}

#[test]
fn a_single_message_gets_a_readable_axis() {
    let journal = journal("single");
    let messages = plan(1, &["alice"], 20);
    let mut store = SqliteStore::create(&journal.path).unwrap();
    store.create_campaign(&meta(&["alice"]), &messages).unwrap();
    simulate(&mut store, &[(&messages[0], Fate::Sent)], 10, &["alice"]);
    drop(store);
    let html = page(&journal.path, t(3_600), "single");
    assert_eq!(state_counts(&html, ""), ["1", "1", "0", "0", "0", "0", "0"]);
    assert!(html.contains("<text class=\"tick\""), "time ticks drawn");
}

#[test]
fn a_hundred_thousand_messages_stay_small() {
    let accounts = ["a1", "a2", "a3", "a4"];
    let journal = journal("big");
    let messages = plan(100_000, &accounts, 10);
    let mut store = SqliteStore::create(&journal.path).unwrap();
    store.create_campaign(&meta(&accounts), &messages).unwrap();
    // Shifted so every account gets its share of trouble.
    let fates: Vec<_> = messages
        .iter()
        .map(|m| (m, mixed(m.seq / 4 + m.seq % 4 * 11)))
        .collect();
    simulate(&mut store, &fates, 100, &["a1", "a2", "a3"]);
    drop(store);

    let started = std::time::Instant::now();
    let store = SqliteStore::open_read_only(&journal.path).unwrap();
    let settings = Settings::new(chrono_tz::Europe::Berlin, t(400_000));
    let report = html::gather(&store, &settings).unwrap();
    let gathered = started.elapsed();
    html::render(&report, &settings);
    eprintln!(
        "100,000 messages: read in {gathered:?}, rendered in {:?}",
        started.elapsed() - gathered
    );
    if let Some(dir) = std::env::var_os("OUTREACH_KEEP_REPORTS") {
        std::fs::copy(&journal.path, Path::new(&dir).join("big.outreach.db")).unwrap();
    }
    let html = page(&journal.path, t(400_000), "big");
    eprintln!("100,000 messages: {} bytes", html.len());
    assert!(html.len() < 3 * 1024 * 1024, "{} bytes", html.len());

    let count = |fate| fates.iter().filter(|(_, f)| *f == fate).count();
    let failed = count(Fate::Rejected);
    let uncertain = count(Fate::Uncertain);
    let sent = 100_000 - failed - uncertain;
    let group = |n: usize| html::markup::count(n as u64);
    assert_eq!(
        state_counts(&html, ""),
        [
            "100,000".to_string(),
            group(sent),
            group(failed),
            group(uncertain),
            "0".into(),
            "0".into(),
            "0".into()
        ]
    );
    assert_eq!(row(&html, "timing", "")[1], group(count(Fate::Throttled)));
    // The recipient list is capped, and says so.
    assert_eq!(row_texts(&html, "problems").len(), 500 + 1);
    assert!(html.contains(&format!("The first 500 of {}", group(failed + uncertain))));
    // Series are bucketed: no polyline has more than a point per slice.
    for line in html.split("<polyline").skip(1) {
        let points = line[..line.find("/>").unwrap()].matches(',').count();
        assert!(points <= 602, "{points} points");
    }
}

// ------------------------------------------------------------ the command

fn outreach() -> Command {
    Command::cargo_bin("outreach").unwrap()
}

#[test]
fn the_command_writes_beside_the_journal_or_where_told() {
    let journal = finished();
    let dir = journal.path.parent().unwrap();
    outreach()
        .args(["report", "--format", "html", "--state"])
        .arg(&journal.path)
        .assert()
        .success()
        .stdout("")
        .stderr(predicates::str::contains("finished.report.html"));
    let html = std::fs::read_to_string(dir.join("finished.report.html")).unwrap();
    check_markup(&html);
    assert_eq!(state_counts(&html, "")[1], "289");

    let out = outreach()
        .args(["report", "--format", "html", "--output", "-", "--state"])
        .arg(&journal.path)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.starts_with("<!DOCTYPE html>"));

    let csv = dir.join("r.csv");
    outreach()
        .args(["report", "--output"])
        .arg(&csv)
        .arg("--state")
        .arg(&journal.path)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("seq,line,recipient,account,state"),
        "{text:.80}"
    );
    assert_eq!(text.lines().count(), 301);
}

// ------------------------------------------------------------ the journal's read side

mod reads {
    use super::*;

    fn attempt(seq: u64, at: i64, status: Option<u16>, remaining: Option<u32>) -> JournalUpdate {
        JournalUpdate::Attempt(AttemptRecord {
            seq,
            at: t(at),
            status,
            rate_limit: remaining.map(|remaining| RateLimitSnapshot {
                limit: Some(2),
                remaining: Some(remaining),
                reset_at: Some(t(if at < 60 { 60 } else { 90 })),
            }),
            error: (status != Some(202)).then(|| "boom".to_string()),
        })
    }

    fn claim(seq: u64, at: i64) -> JournalUpdate {
        JournalUpdate::InFlight { seq, at: t(at) }
    }

    fn outcome(seq: u64, outcome: Outcome) -> JournalUpdate {
        JournalUpdate::Outcome { seq, outcome }
    }

    fn sent(seq: u64, at: i64) -> JournalUpdate {
        outcome(
            seq,
            Outcome::Sent {
                at: t(at),
                api_message_id: None,
            },
        )
    }

    /// One account, five messages planned 10 s apart: quota used up at 10 s
    /// (reset at 60 s), a 429 at 60 s (reset 90 s) then a timeout at 75 s and
    /// a send at 80 s, a 400 at 85 s, and a header-less 429 at 90 s.
    fn story() -> (Journal, SqliteStore) {
        let journal = journal("story");
        let messages = plan(5, &["a"], 10);
        let mut store = SqliteStore::create(&journal.path).unwrap();
        store.create_campaign(&meta(&["a"]), &messages).unwrap();
        store
            .record(&[
                claim(0, 0),
                attempt(0, 0, Some(202), Some(1)),
                sent(0, 0),
                claim(1, 10),
                attempt(1, 10, Some(202), Some(0)),
                sent(1, 10),
                claim(2, 60),
                attempt(2, 60, Some(429), Some(0)),
                outcome(2, Outcome::BackToPending),
                claim(2, 75),
                attempt(2, 75, None, None),
                outcome(2, Outcome::BackToPending),
                claim(2, 80),
                attempt(2, 80, Some(202), Some(1)),
                sent(2, 80),
                claim(3, 85),
                attempt(3, 85, Some(400), Some(1)),
                outcome(
                    3,
                    Outcome::Failed {
                        reason: "HTTP 400".into(),
                        status: Some(400),
                    },
                ),
                claim(4, 90),
                attempt(4, 90, Some(429), None),
                outcome(4, Outcome::BackToPending),
            ])
            .unwrap();
        drop(store);
        let store = SqliteStore::open_read_only(&journal.path).unwrap();
        (journal, store)
    }

    #[test]
    fn pauses_run_from_a_429_or_empty_quota_to_the_next_attempt_or_reset() {
        let (_journal, store) = story();
        let pause = |from, until: Option<i64>, cause| Pause {
            account: "a".into(),
            from: t(from),
            until: until.map(t),
            cause,
        };
        assert_eq!(
            store.pauses().unwrap(),
            [
                pause(10, Some(60), PauseCause::QuotaUsedUp),
                pause(60, Some(75), PauseCause::Throttled),
                pause(90, None, PauseCause::Throttled),
            ]
        );
    }

    #[test]
    fn series_are_counted_per_time_slice() {
        let (_journal, store) = story();
        assert_eq!(
            store.activity_span().unwrap(),
            Some(Span {
                first: t(0),
                last: t(90)
            })
        );
        let buckets = Buckets::covering(t(0), t(100) - TimeDelta::nanoseconds(1), 10).unwrap();
        assert_eq!(buckets.count(), 10);
        assert_eq!(buckets.width(), TimeDelta::seconds(10));
        let timelines = store.timelines(&buckets).unwrap();
        assert_eq!(timelines.len(), 1);
        let a = &timelines[0];
        assert_eq!(a.account, "a");
        assert_eq!(a.planned, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
        assert_eq!(a.sent, [1, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(a.throttled, [0, 0, 0, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(a.retried, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(a.errors, [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        let quota = |min, max, last| {
            Some(QuotaBucket {
                min,
                max,
                last,
                limit: Some(2),
            })
        };
        assert_eq!(
            a.quota,
            [
                quota(1, 1, 1),
                quota(0, 0, 0),
                None,
                None,
                None,
                None,
                quota(0, 0, 0),
                None,
                quota(1, 1, 1),
                None
            ]
        );
    }

    #[test]
    fn delays_and_spans_per_account() {
        let (_journal, store) = story();
        let delays = store.account_delays().unwrap();
        assert_eq!(
            delays,
            [AccountDelays {
                account: "a".into(),
                planned: Some(Span {
                    first: t(0),
                    last: t(40)
                }),
                attempted: Some(Span {
                    first: t(0),
                    last: t(90)
                }),
                sent: Some(Span {
                    first: t(0),
                    last: t(80)
                }),
                delays: vec![TimeDelta::zero(), TimeDelta::zero(), TimeDelta::seconds(60)],
            }]
        );
    }

    #[test]
    fn problems_are_listed_and_reasons_capped() {
        let (_journal, store) = story();
        let problems = store.problem_messages(10).unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].seq, 3);
        assert_eq!(problems[0].reason.as_deref(), Some("HTTP 400"));
        assert_eq!(problems[0].last_status, Some(400));
        assert_eq!(problems[0].last_attempt_at, Some(t(85)));
        assert_eq!(store.problem_reasons(5).unwrap().top.len(), 1);
        let capped = store.problem_reasons(0).unwrap();
        assert!(capped.top.is_empty());
        assert_eq!(capped.other_failed, 1);
        assert_eq!(store.problem_messages(0).unwrap(), []);
    }
}
