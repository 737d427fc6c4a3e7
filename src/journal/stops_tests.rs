//! Stops in a real journal file: what a stop skips and reports, and how it
//! orders with claims made through another connection (a running sender).

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::journal::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn message(seq: u64, recipient: &str) -> NewMessage {
    NewMessage {
        seq,
        line: seq + 2,
        recipient: recipient.into(),
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

fn journal(recipients: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.outreach.db");
    let mut store = SqliteStore::create(&path).unwrap();
    let meta = CampaignMeta {
        campaign_id: "c".into(),
        created_at: t(0),
        csv_path: "people.csv".into(),
        fingerprint: "f".into(),
        inputs: vec![],
        options_json: "{}".into(),
        tool_version: "test".into(),
    };
    let messages: Vec<NewMessage> = recipients
        .iter()
        .enumerate()
        .map(|(seq, recipient)| message(seq as u64, recipient))
        .collect();
    store.create_campaign(&meta, &messages).unwrap();
    (dir, path)
}

fn stop_of(targets: Vec<StopTarget>, reason: &str) -> StopRequest {
    StopRequest {
        targets,
        reason: reason.into(),
        source: "outreach stop".into(),
        at: t(100),
    }
}

fn person(recipient: &str) -> StopTarget {
    StopTarget::Recipient(recipient.into())
}

fn state_and_reason(store: &SqliteStore, seq: u64) -> (MessageState, Option<String>) {
    let all = store.messages_in_state(&MessageState::ALL).unwrap();
    let found = all.into_iter().find(|m| m.message.seq == seq).unwrap();
    (found.state, found.failure_reason)
}

#[test]
fn a_stop_skips_what_has_not_gone_and_counts_the_rest() {
    let (_dir, path) = journal(&[
        "ann@acme.com",
        "ANN@acme.com",
        "bob@acme.com",
        "bob@acme.com",
        "cy@other.org",
    ]);
    let mut sender = SqliteStore::open(&path).unwrap();
    // Bob: one sent, one in flight.
    sender.mark_in_flight(&[2, 3], t(1)).unwrap();
    sender
        .record(&[JournalUpdate::Outcome {
            seq: 2,
            outcome: Outcome::Sent {
                at: t(2),
                api_message_id: None,
            },
        }])
        .unwrap();
    let mut stopper = SqliteStore::open_for_stops(&path).unwrap();
    let report = stopper
        .stop(&stop_of(
            vec![
                person("Ann@ACME.com"),
                person("bob@acme.com"),
                person("zed"),
            ],
            "asked to",
        ))
        .unwrap();
    let outcomes: Vec<&TargetOutcome> = report.targets.iter().map(|(_, o)| o).collect();
    assert_eq!(outcomes[0].stopped, 2, "both spellings of Ann");
    assert_eq!((outcomes[1].already_sent, outcomes[1].in_flight), (1, 1));
    assert!(outcomes[2].is_unknown());
    assert_eq!(report.unknown().collect::<Vec<_>>(), [&person("zed")]);
    assert_eq!(
        state_and_reason(&stopper, 0),
        (MessageState::Skipped, Some("stopped: asked to".into()))
    );
    assert_eq!(state_and_reason(&stopper, 4).0, MessageState::Pending);
    let stops = stopper.stops().unwrap();
    assert_eq!(stops.len(), 3);
    assert_eq!(stops[0].0, person("ann@acme.com"));
    assert_eq!(stops[0].2, "outreach stop");
}

#[test]
fn failed_and_uncertain_messages_of_a_stopped_person_are_skipped_too() {
    let (_dir, path) = journal(&["a@x.io", "b@x.io"]);
    let mut store = SqliteStore::open(&path).unwrap();
    store.mark_in_flight(&[0, 1], t(1)).unwrap();
    store
        .record(&[
            JournalUpdate::Outcome {
                seq: 0,
                outcome: Outcome::Failed {
                    reason: "HTTP 400".into(),
                    status: Some(400),
                },
            },
            JournalUpdate::Outcome {
                seq: 1,
                outcome: Outcome::Uncertain {
                    reason: "timeout".into(),
                },
            },
        ])
        .unwrap();
    let report = store
        .stop(&stop_of(vec![StopTarget::Domain("x.io".into())], "bounced"))
        .unwrap();
    assert_eq!(report.messages_stopped(), 2);
    assert_eq!(
        state_and_reason(&store, 0),
        (
            MessageState::Skipped,
            Some("stopped: bounced (before: HTTP 400)".into())
        )
    );
    // --retry-failed has nothing left to retry for them.
    assert_eq!(
        store
            .set_state_where(MessageState::Failed, MessageState::Pending)
            .unwrap(),
        0
    );
}

#[test]
fn a_domain_stop_covers_subdomains_but_not_lookalikes() {
    let (_dir, path) = journal(&["a@acme.com", "b@eu.ACME.com", "c@notacme.com", "acme.com"]);
    let mut store = SqliteStore::open(&path).unwrap();
    let report = store
        .stop(&stop_of(
            vec![StopTarget::Domain("*@Acme.com".into())],
            "company asked",
        ))
        .unwrap();
    assert_eq!(report.targets[0].1.stopped, 2);
    assert_eq!(state_and_reason(&store, 2).0, MessageState::Pending);
    assert_eq!(
        state_and_reason(&store, 3).0,
        MessageState::Pending,
        "an id, not an address"
    );
}

#[test]
fn a_message_in_flight_at_the_stop_that_comes_back_is_never_claimed_again() {
    let (_dir, path) = journal(&["a@x.io", "b@y.io"]);
    let mut sender = SqliteStore::open(&path).unwrap();
    sender.mark_in_flight(&[0], t(1)).unwrap();
    let mut stopper = SqliteStore::open_for_stops(&path).unwrap();
    let report = stopper
        .stop(&stop_of(vec![person("a@x.io")], "replied"))
        .unwrap();
    assert_eq!(report.targets[0].1.in_flight, 1);
    // A 429: the server did not take it, so it is pending again...
    sender
        .record(&[JournalUpdate::Outcome {
            seq: 0,
            outcome: Outcome::BackToPending,
        }])
        .unwrap();
    // ...and its next claim finds the stop.
    let refusals = sender.mark_in_flight(&[0, 1], t(2)).unwrap();
    assert_eq!(
        refusals,
        [Refusal::not_claimable(0, Some(MessageState::Skipped))]
    );
    assert_eq!(
        state_and_reason(&sender, 0),
        (MessageState::Skipped, Some("stopped: replied".into()))
    );
    assert_eq!(state_and_reason(&sender, 1).0, MessageState::InFlight);
}

#[test]
fn a_stops_only_store_writes_nothing_else() {
    let (_dir, path) = journal(&["a@x.io"]);
    let mut stopper = SqliteStore::open_for_stops(&path).unwrap();
    let error = stopper.mark_in_flight(&[0], t(1)).unwrap_err();
    assert!(matches!(error, JournalError::ReadOnly { .. }), "{error:?}");
}

/// A sender claims every message while another connection stops some of
/// their recipients: each stopped message either was claimed first (and the
/// stop reported it in flight) or is skipped and was never claimed. None is
/// both, none is neither.
#[test]
fn a_stop_racing_claims_is_never_lost_and_never_duplicated() {
    for round in 0..5 {
        let recipients: Vec<String> = (0..200).map(|i| format!("p{i}@x.io")).collect();
        let names: Vec<&str> = recipients.iter().map(String::as_str).collect();
        let (_dir, path) = journal(&names);
        let claimer_path = path.clone();
        let claimer = std::thread::spawn(move || {
            let mut sender = SqliteStore::open(&claimer_path).unwrap();
            let mut granted = Vec::new();
            for seq in 0..200u64 {
                if sender.mark_in_flight(&[seq], t(1)).unwrap().is_empty() {
                    granted.push(seq);
                }
            }
            granted
        });
        let stopped: Vec<u64> = (0..200).filter(|i| i % 7 == round).collect();
        let mut stopper = SqliteStore::open_for_stops(&path).unwrap();
        let mut in_flight_at_stop = 0;
        let mut skipped_by_stop = 0;
        for &seq in &stopped {
            let report = stopper
                .stop(&stop_of(vec![person(&format!("P{seq}@x.io"))], "race"))
                .unwrap();
            in_flight_at_stop += report.targets[0].1.in_flight;
            skipped_by_stop += report.targets[0].1.stopped;
        }
        let granted = claimer.join().unwrap();
        let claimed_stopped = stopped.iter().filter(|s| granted.contains(s)).count() as u64;
        assert_eq!(claimed_stopped, in_flight_at_stop, "round {round}");
        assert_eq!(
            skipped_by_stop + in_flight_at_stop,
            stopped.len() as u64,
            "round {round}"
        );
        let store = SqliteStore::open_read_only(&path).unwrap();
        let skipped = store.messages_in_state(&[MessageState::Skipped]).unwrap();
        assert_eq!(skipped.len() as u64, skipped_by_stop);
        assert!(skipped.iter().all(|m| !granted.contains(&m.message.seq)));
        assert_eq!(granted.len() + skipped.len(), 200);
    }
}
