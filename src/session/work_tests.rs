//! Tests of `session::work`: jobs from journal rows, pairing by account
//! name, and replanning after an interruption.

use super::*;
use crate::journal::MessageState;
use crate::send::api::Token;
use chrono::TimeZone;
use std::time::Duration;

fn account(name: &str, rate: &str) -> Account {
    Account {
        name: name.into(),
        rate: rate.parse().unwrap(),
        daily_cap: None,
        token_env: format!("{}_TOKEN", name.to_uppercase()),
        channel: Default::default(),
        warmup: None,
    }
}

fn token(name: &str) -> AccountChannel {
    // Never called: these tests only build work.
    let api = crate::send::api::HttpApi::new("http://127.0.0.1:9/", Duration::from_secs(1));
    AccountChannel {
        account: name.into(),
        api: std::sync::Arc::new(api.unwrap()),
        token: Token::new(format!("secret-{name}")),
        source: format!("${}_TOKEN", name.to_uppercase()),
    }
}

fn message(seq: u64, account: &str, at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        seq,
        line: seq + 2,
        recipient: format!("r{seq}@example.test"),
        account: account.into(),
        subject: Some("Hi".into()),
        body: format!("body {seq}"),
        idempotency_key: format!("key-{seq}"),
        planned_at: at,
        row_digest: String::new(),
        timezone: Some("Europe/Berlin".into()),
        html: None,
        fields: Default::default(),
        sequence: Default::default(),
    }
}

fn pending(message: NewMessage) -> StoredMessage {
    StoredMessage {
        message,
        state: MessageState::Pending,
        attempts: 0,
        last_attempt_at: None,
        last_status: None,
        sent_at: None,
        api_message_id: None,
        failure_reason: None,
    }
}

/// Always open, in UTC, no jitter.
fn utc_pacing<'a>(accounts: &'a [Account], windows: &'a WindowSet) -> Pacing<'a> {
    Pacing {
        accounts,
        windows,
        timezone: chrono_tz::UTC,
        jitter: 0.0,
        seed: [0; 32],
        steps: &[],
        domain_cap: None,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
}

#[test]
fn a_job_carries_its_message_unchanged() {
    let job = job(message(7, "a", t0()), Ready::First);
    assert_eq!(job.seq, 7);
    assert_eq!(job.recipient, "r7@example.test");
    assert_eq!(job.message.payload.recipients, vec!["r7@example.test"]);
    assert_eq!(job.message.payload.body, "body 7");
    assert_eq!(job.message.idempotency_key, "key-7");
    assert_eq!(job.planned_at, t0());
    assert_eq!(job.timezone, Some(chrono_tz::Europe::Berlin));
}

#[test]
fn new_work_pairs_messages_and_tokens_with_accounts_by_name() {
    let accounts = [account("a", "10/h"), account("b", "10/h")];
    // Tokens in the other order: pairing must not depend on position.
    let tokens = [token("b"), token("a")];
    let messages = vec![
        message(0, "b", t0()),
        message(1, "a", t0()),
        message(2, "b", t0()),
    ];
    let work = work_from_new(&accounts, messages, &tokens, &[]);
    assert_eq!(work.len(), 2);
    assert_eq!(work[0].rules.name, "a");
    assert_eq!(work[0].token_source, "$A_TOKEN");
    let seqs = |w: &AccountWork| w.jobs.iter().map(|j| j.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&work[0]), vec![1]);
    assert_eq!(seqs(&work[1]), vec![0, 2]);
}

#[test]
fn replanning_counts_each_accounts_own_history() {
    // `b` sent 2 of its 2/h in the last minutes; `a` sent nothing.
    let accounts = [account("a", "2/h"), account("b", "2/h")];
    let now = t0();
    let mut history = History::new();
    history.insert(
        "b".into(),
        vec![
            now - chrono::TimeDelta::minutes(10),
            now - chrono::TimeDelta::minutes(5),
        ],
    );
    let windows = WindowSet::always();
    let pacing = utc_pacing(&accounts, &windows);
    let pending = vec![pending(message(0, "a", now)), pending(message(1, "b", now))];
    let work = replan(
        pending,
        &pacing,
        &history,
        &[token("a"), token("b")],
        &PreviousSteps::new(),
        now,
    )
    .unwrap();
    let a = &work[0].jobs[0];
    let b = &work[1].jobs[0];
    assert_eq!(a.seq, 0);
    assert!(
        a.planned_at < now + chrono::TimeDelta::minutes(1),
        "{}",
        a.planned_at
    );
    // b waits until its oldest send leaves the rolling hour.
    assert!(
        b.planned_at >= now + chrono::TimeDelta::minutes(50),
        "{}",
        b.planned_at
    );
    assert_eq!(work[1].history.len(), 2);
}

#[test]
fn a_message_of_an_unknown_account_is_refused_with_its_line() {
    let accounts = [account("a", "10/h")];
    let windows = WindowSet::always();
    let pacing = utc_pacing(&accounts, &windows);
    let error = replan(
        vec![pending(message(3, "gone", t0()))],
        &pacing,
        &History::new(),
        &[token("a")],
        &PreviousSteps::new(),
        t0(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "message 3 (line 5) belongs to account `gone`, which this campaign does not have"
    );
}

/// A pending follow-up `seq`: step `step`, after the message `previous`.
fn follow_up(seq: u64, previous: u64, step: u32) -> StoredMessage {
    let mut stored = pending(message(seq, "a", t0()));
    stored.message.sequence.step = step;
    stored.message.sequence.previous = Some(previous);
    stored
}

#[test]
fn resumed_follow_ups_are_due_after_the_real_send_or_wait_for_a_pending_step() {
    let accounts = [account("a", "60/h")];
    let windows = WindowSet::always();
    let after = Some(StepDelay::Elapsed(3_600_000));
    let steps = [
        Step {
            template: None,
            after: None,
        },
        Step {
            template: Some("f.txt".into()),
            after,
        },
        Step {
            template: Some("g.txt".into()),
            after,
        },
    ];
    let pacing = Pacing {
        steps: &steps,
        ..utc_pacing(&accounts, &windows)
    };
    let sent_at = t0() - chrono::TimeDelta::minutes(20);
    let mut previous = PreviousSteps::new();
    // seq 0 was sent 20 minutes ago; seq 1 is uncertain.
    previous.insert(
        0,
        PreviousStep {
            seq: 0,
            state: MessageState::Sent,
            sent_at: Some(sent_at),
        },
    );
    previous.insert(
        1,
        PreviousStep {
            seq: 1,
            state: MessageState::Uncertain,
            sent_at: None,
        },
    );
    let pending_messages = vec![
        pending(message(2, "a", t0())), // a first message, still pending
        follow_up(3, 0, 2),             // due 60 min after seq 0's send
        follow_up(4, 1, 2),             // its step is uncertain: left out
        follow_up(5, 4, 3),             // follows one left out: left out
        follow_up(6, 2, 2),             // waits for seq 2 in this run
    ];
    let work = replan(
        pending_messages,
        &pacing,
        &History::new(),
        &[token("a")],
        &previous,
        t0(),
    )
    .unwrap();
    let jobs = &work[0].jobs;
    let ready: Vec<(u64, Ready)> = jobs.iter().map(|job| (job.seq, job.ready)).collect();
    assert!(ready.contains(&(2, Ready::First)), "{ready:?}");
    assert!(
        ready.contains(&(3, Ready::Due(sent_at + chrono::TimeDelta::hours(1)))),
        "{ready:?}"
    );
    assert!(
        ready.contains(&(
            6,
            Ready::After {
                previous: 2,
                delay: StepDelay::Elapsed(3_600_000)
            }
        )),
        "{ready:?}"
    );
    assert_eq!(
        jobs.len(),
        3,
        "4 and 5 wait for a step that did not go: {ready:?}"
    );
}
