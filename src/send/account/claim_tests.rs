//! What an account does when its journal answers a claim with "already in
//! flight", and when a claim's commit comes back after the time it recorded.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

use crate::account::Account;
use crate::send::account::AccountWork;
use crate::send::account::Job;
use crate::send::api::{
    ApiFuture, ApiResponse, MessageApi, OutgoingMessage, ResponseClass, Token, TransportError,
};
use crate::send::clock::Clock;
use crate::send::events::MemorySink;
use crate::send::executor::{ExecSettings, RunContext, execute};
use crate::send::recorder::{
    AttemptInfo, ClaimInFlight, ClaimsFuture, Outcome, RecordFuture, Recorder,
};

fn start() -> DateTime<Utc> {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

fn job(seq: u64, at: DateTime<Utc>) -> Job {
    Job::for_tests(seq, format!("r{seq}@example.test"), at)
}

/// Counts requests; answers each as `lose` says.
struct Server {
    requests: AtomicUsize,
    lose_answers: bool,
}

impl MessageApi for Server {
    fn send<'a>(&'a self, _: &'a Token, _: &'a OutgoingMessage) -> ApiFuture<'a> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let lose = self.lose_answers;
        Box::pin(async move {
            if lose {
                return Err(TransportError::Interrupted("connection reset".into()));
            }
            Ok(ApiResponse {
                status: 201,
                class: ResponseClass::Sent,
                status_text: "Created".into(),
                headers: Default::default(),
                body_excerpt: String::new(),
                message_id: None,
            })
        })
    }

    fn preview(&self, _: &OutgoingMessage) -> String {
        "counts requests".into()
    }

    fn repeats_safely(&self) -> bool {
        true
    }
}

/// A journal whose claims answer from a script: the first `granted` claims
/// of each message are granted, the later ones find it in flight; and the
/// first claim's commit takes `commit`.
struct ScriptedJournal {
    granted: usize,
    /// Refusals say the lease was lost, not that the message is in flight.
    lease_lost: bool,
    commit: TimeDelta,
    clock: Clock,
    claims: Mutex<Vec<(u64, DateTime<Utc>)>>,
    outcomes: Mutex<Vec<(u64, Outcome)>>,
}

impl Recorder for ScriptedJournal {
    fn before_send(&self, seq: u64, at: DateTime<Utc>) -> RecordFuture<'_> {
        Box::pin(async move {
            let earlier = {
                let mut claims = self.claims.lock().unwrap();
                let earlier = claims.iter().filter(|(s, _)| *s == seq).count();
                claims.push((seq, at));
                earlier
            };
            if earlier == 0
                && let Ok(commit) = self.commit.to_std()
            {
                tokio::time::sleep(commit).await;
            }
            if earlier < self.granted {
                Ok(())
            } else if self.lease_lost {
                Err(crate::journal::JournalError::LeaseLost { seq }.into())
            } else {
                Err(ClaimInFlight { seq }.into())
            }
        })
    }

    fn before_send_many<'a>(&'a self, claims: &'a [(u64, DateTime<Utc>)]) -> ClaimsFuture<'a> {
        Box::pin(async move {
            let mut results = Vec::new();
            for &(seq, at) in claims {
                results.push(self.before_send(seq, at).await);
            }
            results
        })
    }

    fn attempt(&self, _: AttemptInfo) {}

    fn outcome(&self, seq: u64, outcome: Outcome) {
        self.outcomes.lock().unwrap().push((seq, outcome));
    }

    fn flush(&self) -> RecordFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

async fn run(
    server: Arc<Server>,
    journal: Arc<ScriptedJournal>,
    jobs: Vec<Job>,
) -> crate::send::executor::RunReport {
    let (context, _stop) = RunContext::new(
        journal.clock,
        journal.clone(),
        Arc::new(MemorySink::default()),
        ExecSettings::for_tests(3),
    );
    let work = AccountWork {
        rules: Account::new("default", "10/s".parse().unwrap()),
        api: server,
        token: Token::new("t".into()),
        token_source: "$OUTREACH_TOKEN".into(),
        jobs,
        history: Vec::new(),
    };
    execute(context, vec![work]).await
}

fn journal(granted: usize, commit_ms: i64) -> Arc<ScriptedJournal> {
    Arc::new(ScriptedJournal {
        granted,
        lease_lost: false,
        commit: TimeDelta::milliseconds(commit_ms),
        clock: Clock::starting_at(start()),
        claims: Mutex::new(Vec::new()),
        outcomes: Mutex::new(Vec::new()),
    })
}

/// A first claim that finds its message in flight found someone else's
/// claim: the message is not sent, and the run stops with the reason.
#[tokio::test(start_paused = true)]
async fn a_first_claim_finding_its_message_in_flight_sends_nothing() {
    let server = Arc::new(Server {
        requests: AtomicUsize::new(0),
        lose_answers: false,
    });
    let report = run(server.clone(), journal(0, 1), vec![job(0, start())]).await;
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    assert_eq!(report.sent(), 0);
    let fatal = report.fatal.expect("the run stops");
    assert!(fatal.contains("already in flight"), "{fatal}");
}

/// A retry of a request that may have arrived finds the message still in
/// flight from its own first claim: that claim holds, and the retries go.
#[tokio::test(start_paused = true)]
async fn a_retry_finding_its_own_claim_in_flight_goes_on() {
    let server = Arc::new(Server {
        requests: AtomicUsize::new(0),
        lose_answers: true,
    });
    let report = run(server.clone(), journal(1, 1), vec![job(0, start())]).await;
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
    assert_eq!(report.uncertain(), 1);
    assert_eq!(report.fatal, None);
}

/// A claim whose commit comes back after the time it recorded (here 2 s,
/// beyond the lead and the slack) is given back and made again, so the
/// time on record is never earlier than the request.
#[tokio::test(start_paused = true)]
async fn a_claim_that_commits_too_late_is_made_again_before_the_request() {
    let server = Arc::new(Server {
        requests: AtomicUsize::new(0),
        lose_answers: false,
    });
    let journal = journal(usize::MAX, 2_000);
    let report = run(server.clone(), journal.clone(), vec![job(0, start())]).await;
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    assert_eq!(report.sent(), 1);
    let claims = journal.claims.lock().unwrap().clone();
    assert!(claims.len() >= 2, "claimed again: {claims:?}");
    let outcomes = journal.outcomes.lock().unwrap();
    assert!(
        matches!(outcomes.first(), Some((0, Outcome::BackToPending))),
        "the late claim is given back first: {outcomes:?}"
    );
}

/// A claim refused because the worker's lease was lost stops the run with
/// that said in its report, so the worker does not hold the account back.
#[tokio::test(start_paused = true)]
async fn a_lost_lease_is_reported_as_such() {
    let server = Arc::new(Server {
        requests: AtomicUsize::new(0),
        lose_answers: false,
    });
    let journal = Arc::new(ScriptedJournal {
        lease_lost: true,
        ..Arc::into_inner(journal(0, 1)).unwrap()
    });
    let report = run(server.clone(), journal, vec![job(0, start())]).await;
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    assert!(report.lease_lost);
    assert!(report.fatal.is_some());

    let other = run(server.clone(), self::journal(0, 1), vec![job(0, start())]).await;
    assert!(!other.lease_lost, "a refusal for another reason");
}
