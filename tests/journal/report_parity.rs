//! The HTML report reads the same numbers from either store: one campaign
//! (two accounts, a follow-up step, sends, 429s, a used-up quota, retried
//! and final failures, an uncertain message, stops) is written to SQLite
//! and to PostgreSQL with the same calls, and the gathered `HtmlReport`s
//! are compared, all but the journal's name.

use outreach::output::html::{self, HtmlReport};

use super::*;

fn rl(limit: u32, remaining: u32, reset: Option<i64>) -> Option<RateLimitSnapshot> {
    Some(RateLimitSnapshot {
        limit: Some(limit),
        remaining: Some(remaining),
        reset_at: reset.map(t),
    })
}

fn attempt(
    seq: u64,
    at: i64,
    status: Option<u16>,
    rate: Option<RateLimitSnapshot>,
) -> JournalUpdate {
    JournalUpdate::Attempt(AttemptRecord {
        seq,
        at: t(at),
        status,
        rate_limit: rate,
        error: status.is_none().then(|| "connection reset".to_string()),
    })
}

fn outcome(seq: u64, outcome: Outcome) -> JournalUpdate {
    JournalUpdate::Outcome { seq, outcome }
}

/// The same history, written through the trait, for either store.
fn build<S: CampaignStore + StopStore>(store: &mut S) {
    let mut planned = plan(12, &["alice", "bob"]);
    // Two follow-ups (step 2) of the first two messages.
    for (seq, previous) in [(10u64, 0u64), (11, 1)] {
        planned[seq as usize].sequence = SequencePlace {
            step: 2,
            previous: Some(previous),
            priority: 0,
        };
    }
    store.create_campaign(&meta(), &planned).unwrap();
    let failed = |reason: &str, status| Outcome::Failed {
        reason: reason.into(),
        status,
    };
    let steps: Vec<(u64, Vec<JournalUpdate>)> = vec![
        // Sent at once, with the quota going down.
        (
            0,
            vec![
                attempt(0, 3, Some(200), rl(10, 9, None)),
                outcome(
                    0,
                    Outcome::Sent {
                        at: t(3),
                        api_message_id: None,
                    },
                ),
            ],
        ),
        (
            1,
            vec![
                attempt(1, 14, Some(200), rl(10, 8, None)),
                outcome(
                    1,
                    Outcome::Sent {
                        at: t(14),
                        api_message_id: None,
                    },
                ),
            ],
        ),
        // A 429, then sent after the announced reset.
        (
            2,
            vec![
                attempt(2, 25, Some(429), rl(10, 0, Some(40))),
                attempt(2, 41, Some(202), rl(10, 9, None)),
                outcome(
                    2,
                    Outcome::Sent {
                        at: t(41),
                        api_message_id: None,
                    },
                ),
            ],
        ),
        // The quota used up by a success.
        (
            3,
            vec![
                attempt(3, 33, Some(200), rl(10, 0, Some(90))),
                outcome(
                    3,
                    Outcome::Sent {
                        at: t(33),
                        api_message_id: None,
                    },
                ),
            ],
        ),
        // A transport error retried, then a 500 that is final.
        (
            4,
            vec![
                attempt(4, 45, None, None),
                attempt(4, 47, Some(500), None),
                outcome(4, failed("server error 500", Some(500))),
            ],
        ),
        (
            5,
            vec![
                attempt(5, 52, Some(400), None),
                outcome(5, failed("bad request: no such user", Some(400))),
            ],
        ),
        (
            6,
            vec![
                attempt(6, 61, Some(400), None),
                outcome(6, failed("bad request: no such user", Some(400))),
            ],
        ),
        // No answer: nobody knows.
        (
            7,
            vec![
                attempt(7, 72, None, None),
                outcome(
                    7,
                    Outcome::Uncertain {
                        reason: "timed out".into(),
                    },
                ),
            ],
        ),
        (
            10,
            vec![
                attempt(10, 120, Some(200), rl(10, 7, None)),
                outcome(
                    10,
                    Outcome::Sent {
                        at: t(121),
                        api_message_id: None,
                    },
                ),
            ],
        ),
    ];
    for (seq, updates) in steps {
        store.mark_in_flight(&[seq], t(seq as i64 * 10)).unwrap();
        assert!(store.record(&updates).unwrap().is_empty());
    }
    store
        .stop(&StopRequest {
            targets: vec![StopTarget::Recipient("person-8@example.com".into())],
            reason: "replied".into(),
            source: "outreach stop".into(),
            at: t(85),
        })
        .unwrap();
    store
        .stop(&StopRequest {
            targets: vec![StopTarget::Recipient("person-9@example.com".into())],
            reason: "unsubscribed".into(),
            source: "outreach stop".into(),
            at: t(95),
        })
        .unwrap();
}

fn gather<S: ReportStore>(store: &S) -> HtmlReport {
    let mut settings = html::Settings::new(chrono_tz::UTC, t(500));
    settings.max_buckets = 40;
    settings.max_reasons = 1;
    let mut report = html::gather(store, &settings).unwrap();
    report.journal.clear();
    report
}

#[test]
fn the_html_report_shows_the_same_numbers_from_either_store() {
    if !PgFixture::available() {
        return;
    }
    let sqlite = SqliteFixture::new();
    build(&mut sqlite.create());
    let pg = PgFixture::new();
    build(&mut pg.create());
    let from_sqlite = sqlite.reader();
    let from_pg = pg.reader();
    let (a, b) = (gather(&from_sqlite), gather(&from_pg));

    // What the page shows is there at all ...
    let axis = a.axis.expect("a campaign with messages has an axis");
    assert_eq!(a.timelines.len(), 2);
    let sum = |f: fn(&AccountTimeline) -> &Vec<u32>| -> u32 {
        a.timelines.iter().flat_map(|t| f(t).iter()).sum()
    };
    assert_eq!(sum(|t| &t.sent), 5);
    assert_eq!(sum(|t| &t.follow_ups), 1);
    assert_eq!(sum(|t| &t.throttled), 1);
    assert_eq!(sum(|t| &t.retried), 1);
    assert_eq!(sum(|t| &t.errors), 4, "500, two 400s, the timeout");
    assert_eq!(
        sum(|t| &t.planned),
        10,
        "the two stopped messages are left out"
    );
    assert_eq!(a.stop_marks.iter().sum::<u32>(), 2);
    assert_eq!(a.stop_marks.len(), axis.count());
    assert_eq!(
        a.pauses.len(),
        2,
        "the 429 and the used-up quota: {:?}",
        a.pauses
    );
    assert_eq!(
        a.pauses[0].until,
        Some(t(40)),
        "the reset came before the next attempt"
    );
    assert_eq!(a.delays.len(), 2);
    assert_eq!(
        a.reasons.top.len(),
        2,
        "one reason per state: {:?}",
        a.reasons
    );
    assert_eq!(a.reasons.other_failed, 1);
    assert_eq!(a.problems.len(), 4);
    assert_eq!(a.stopped.len(), 2);
    assert!(
        a.timelines
            .iter()
            .any(|t| t.quota.iter().flatten().any(|q| q.last == 0)),
        "a bucket ends with the quota used up"
    );

    // ... and the same from PostgreSQL, field by field.
    assert_eq!(a.meta, b.meta);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.axis, b.axis);
    assert_eq!(a.timelines, b.timelines);
    assert_eq!(a.pauses, b.pauses);
    assert_eq!(a.delays, b.delays);
    assert_eq!(a.reasons, b.reasons);
    assert_eq!(a.problems, b.problems);
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.stopped, b.stopped);
    assert_eq!(a.stop_marks, b.stop_marks);
    assert_eq!(a.rates, b.rates);
    let steps = ReportStore::step_counts(&from_sqlite).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps, ReportStore::step_counts(&from_pg).unwrap());
    assert!(b.journal.is_empty() && gather_name(&from_pg).contains("campaign `people`"));
}

fn gather_name<S: ReportStore>(store: &S) -> String {
    store.journal_name()
}

#[test]
fn a_postgres_snapshot_ends_its_transaction_even_when_a_read_fails() {
    if !PgFixture::available() {
        return;
    }
    let pg = PgFixture::with_plan(3, &["alice"]);
    let reader = pg.reader();
    let failed: Result<(), JournalError> = reader.snapshot(|store| {
        store.summary()?;
        Err(JournalError::NoCampaign {
            path: "a failing read".into(),
        })
    });
    assert!(failed.is_err());
    // The session is out of the transaction: a new snapshot sees new commits.
    let mut writer = pg.open();
    writer.mark_in_flight(&[0], t(1)).unwrap();
    let seen = reader
        .snapshot(|store| Ok(store.summary()?.counts.in_flight))
        .unwrap();
    assert_eq!(seen, 1);
}
