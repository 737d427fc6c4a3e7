//! A worker killed mid-send: its first requests go to a server that takes
//! them and never answers, so when it is killed each account has exactly
//! one message in flight. Another worker (pointed at the sandbox) takes the
//! accounts over once the lease runs out: the messages left in flight are
//! `uncertain`, with the takeover as the reason; with `--resend-uncertain`
//! on a channel that drops repeats (the default `api` channel) they are
//! sent again instead, with the same Idempotency-Key.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::harness::{CAMPAIGN, GATE, Shared, TestSchema, arrivals, roomy_config, start};

const ACCOUNTS: usize = 2;
const EACH: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_killed_worker_left_in_flight_is_uncertain_after_the_takeover() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, ACCOUNTS, EACH);
    let hole = kill_mid_send(&shared).await;

    let taker = shared
        .worker("1s")
        .flag("--until-idle")
        .opt("--endpoint", &sandbox.url())
        .run()
        .await;
    taker
        .expect_code(0)
        .expect_stderr("took over account `acct00` of campaign `data`: 1 message(s) its last worker left in flight are uncertain")
        .expect_stderr("took over account `acct01`");

    let messages = shared.messages();
    let uncertain: Vec<_> = messages.iter().filter(|m| m.state == "uncertain").collect();
    assert_eq!(uncertain.len(), ACCOUNTS, "{messages:?}");
    for message in &uncertain {
        let reason = message.reason.as_deref().unwrap_or_default();
        assert!(reason.contains("lease expired"), "{message:?}");
        assert!(hole.keys().contains(&message.key), "{message:?} never left");
    }
    let arrived = arrivals(&sandbox.messages());
    for message in &messages {
        let expected = usize::from(message.state == "sent");
        assert_eq!(
            arrived.get(&message.recipient).copied().unwrap_or(0),
            expected,
            "{message:?}"
        );
    }
    assert_eq!(arrived.len(), ACCOUNTS * EACH - ACCOUNTS);

    // The report shows why.
    let report = shared
        .work
        .cmd(&["report", "--campaign", CAMPAIGN, "--format", "csv"])
        .opt("--state", &shared.db.url_text)
        .run()
        .await;
    report.expect_code(0);
    let lines: Vec<&str> = report
        .stdout
        .lines()
        .filter(|l| l.contains(",uncertain,"))
        .collect();
    assert_eq!(lines.len(), ACCOUNTS, "{report}");
    assert!(
        lines.iter().all(|l| l.contains("lease expired")),
        "{report}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_uncertain_sends_them_again_with_the_same_idempotency_key() {
    let Some(db) = TestSchema::create() else {
        return;
    };
    let _gate = GATE.read().await;
    let sandbox = start(roomy_config()).await;
    let shared = Shared::new(db, ACCOUNTS, EACH);
    let hole = kill_mid_send(&shared).await;

    let taker = shared
        .worker("1s")
        .flag("--until-idle")
        .flag("--resend-uncertain")
        .opt("--endpoint", &sandbox.url())
        .run()
        .await;
    taker
        .expect_code(0)
        .expect_stderr("1 pending again (--resend-uncertain)");

    let counts = shared.counts();
    assert_eq!(
        counts.get("sent"),
        Some(&(ACCOUNTS * EACH)),
        "{counts:?}\n{taker}"
    );
    let received = sandbox.messages();
    let arrived = arrivals(&received);
    assert_eq!(
        arrived.keys().cloned().collect::<Vec<_>>(),
        shared.recipients()
    );
    assert!(arrived.values().all(|n| *n == 1), "{arrived:?}");
    // The ones the killed worker had sent into the void went again with
    // the very key they had then.
    let again: BTreeSet<String> = received
        .iter()
        .filter_map(|m| m.idempotency_key.clone())
        .filter(|key| hole.keys().contains(key))
        .collect();
    assert_eq!(again, hole.keys(), "{taker}");
    sandbox.shutdown().await;
}

/// Records `shared`'s campaign for a server that never answers, starts a
/// worker, and kills it with kill -9 once each account has its first
/// message in flight there.
async fn kill_mid_send(shared: &Shared) -> BlackHole {
    let hole = BlackHole::start().await;
    shared
        .send_detached(&hole.url, "5/s")
        .opt("--timeout", "30s")
        .run()
        .await
        .expect_code(0);
    let mut victim = shared.worker("1s").spawn();
    let in_flight = |shared: &Shared| {
        hole.keys().len() == ACCOUNTS && shared.counts().get("in_flight") == Some(&ACCOUNTS)
    };
    assert!(
        shared.wait_for(Duration::from_secs(20), in_flight).await,
        "never had one message per account in flight: {:?}",
        shared.counts()
    );
    assert!(victim.kill9(), "the worker was still running");
    let _ = victim.wait().await;
    hole
}

/// A server that reads requests and never answers them.
struct BlackHole {
    url: String,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl BlackHole {
    async fn start() -> BlackHole {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/v2/messages",
            listener.local_addr().expect("addr")
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    while let Ok(n @ 1..) = socket.read(&mut buffer).await {
                        kept.lock().unwrap().extend_from_slice(&buffer[..n]);
                    }
                });
            }
        });
        BlackHole { url, seen }
    }

    /// The Idempotency-Keys of the requests it has read.
    fn keys(&self) -> BTreeSet<String> {
        let seen = String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned();
        seen.lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"))
            .map(|(_, value)| value.trim().to_string())
            .collect()
    }
}
