//! When nobody knows whether a message arrived. SMTP has no idempotency
//! key, so such a message is never resent silently: it is `uncertain` until
//! the user asks for `resume --resend-uncertain`, which sends it with the
//! same Message-ID, so the receiver can tell it is the same message.

use std::time::{Duration, Instant};

use outreach::sandbox::smtp::SmtpConfig;
use outreach::sandbox::{FaultDice, FaultRates};

use crate::harness::{
    Running, Security, Workdir, arrivals, counts, envelope, received_recipients, roomy, smtp,
    sorted, to,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_dropped_after_data_is_uncertain_and_resent_only_on_request() {
    // The server records r02's message, then hangs up without a reply.
    let sandbox = smtp(SmtpConfig {
        drop: vec!["r02@*".parse().expect("pattern")],
        ..roomy()
    })
    .await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(&sandbox, Security::Plain, 4, "");
    let lost = "r02@example.test";

    let out = work.send().opt("--rate", "20/s").run().await;

    out.expect_code(3)
        .expect_stderr("Sent 3 of 4 messages")
        .expect_stderr("uncertain   1");
    let uncertain = out.events("uncertain");
    assert_eq!(uncertain.len(), 1, "{out}");
    assert_eq!(uncertain[0]["recipient"], lost);
    let reason = uncertain[0]["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("connection lost before a response") && reason.contains("not resent"),
        "{reason}"
    );
    // One attempt, no retry: the server has it exactly once.
    let attempts = out
        .events("sending")
        .iter()
        .filter(|e| e["recipient"] == lost)
        .count();
    assert_eq!(attempts, 1, "{out}");
    assert!(out.events("retrying").is_empty(), "{out}");
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients),
        "{out}"
    );
    let stats = sandbox.stats();
    assert_eq!((stats.dropped, stats.duplicates), (1, 0));
    assert_eq!(work.states()[lost], "uncertain");

    // A plain resume leaves it alone.
    let resumed = work.resume().run().await;
    resumed
        .expect_code(3)
        .expect_stderr("Nothing left to send: 3 sent, 0 failed, 1 uncertain");
    assert_eq!(to(&sandbox.messages(), lost).len(), 1);

    // On request it goes again, with the same Message-ID: the server sees
    // a duplicate of the first. (The server drops this one too, so it is
    // uncertain again.)
    let resent = work.resume().flag("--resend-uncertain").run().await;
    resent.expect_code(3);
    let messages = sandbox.messages();
    let both = to(&messages, lost);
    assert_eq!(both.len(), 2, "{resent}");
    let (first, second) = (envelope(both[0]), envelope(both[1]));
    assert!(first.message_id.is_some());
    assert_eq!(second.message_id, first.message_id);
    assert_eq!(second.duplicate_of.as_deref(), Some(both[0].id.as_str()));
    assert_eq!(sandbox.stats().duplicates, 1);
    // Nobody else was sent anything twice.
    let arrived = arrivals(&messages);
    assert!(
        arrived.iter().all(|(r, n)| *n == 1 || r == lost),
        "{arrived:?}"
    );
    sandbox.shutdown().await;
}

/// The sandbox's latency before it answers `MAIL FROM`: shorter than the
/// 500 ms between sends, so each message is alone in flight.
const LATENCY: Duration = Duration::from_millis(400);
/// The fourth message's delay is at least this long, so once its `sending`
/// event is seen it is still waiting for that reply when the kill lands.
const SHORTEST_DELAY: Duration = Duration::from_millis(200);
const KILL_RECIPIENTS: usize = 8;

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_campaign_then_resume_delivers_each_recipient_at_most_once() {
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate: 0.0,
        latency: Some(LATENCY),
    };
    // The first seed whose fourth draw (the fourth MAIL FROM) waits long.
    let fourth_delay = |seed: u64| {
        let dice = FaultDice::new(rates, seed);
        (0..4).map(|_| dice.draw().delay).last()
    };
    let seed = (0..)
        .find(|seed| fourth_delay(*seed).is_some_and(|delay| delay >= SHORTEST_DELAY))
        .expect("a seed");
    let sandbox = smtp(SmtpConfig {
        latency: rates.latency,
        seed,
        ..roomy()
    })
    .await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(&sandbox, Security::Plain, KILL_RECIPIENTS, "");
    let in_flight = recipients[3].clone();

    // 2 per second: each message alone in flight, its reply in 150-400 ms.
    let mut running = work.send().opt("--rate", "2/s").spawn();
    assert!(
        fourth_in_flight(&running).await,
        "the fourth message was never seen in flight"
    );
    assert!(running.kill9(), "the run ended before the kill");
    let killed = running.wait().await;
    assert_eq!(killed.code, None, "killed by a signal\n{killed}");
    // It was waiting for the reply to MAIL FROM: nothing of it arrived.
    assert_eq!(sandbox.messages().len(), 3, "{killed}");

    let resumed = work.resume().opt("--rate", "20/s").run().await;

    resumed
        .expect_code(3)
        .expect_stderr("were in flight when the last run stopped");
    let messages = sandbox.messages();
    let arrived = arrivals(&messages);
    let states = work.states();
    assert_eq!(states[&in_flight], "uncertain", "{resumed}");
    for recipient in &recipients {
        let times = arrived.get(recipient).copied().unwrap_or(0);
        match states[recipient].as_str() {
            "sent" => assert_eq!(times, 1, "{recipient}\n{resumed}"),
            "uncertain" => assert_eq!(times, 0, "{recipient}\n{resumed}"),
            other => panic!("{recipient} is `{other}`\n{resumed}"),
        }
    }
    let [total, pending, in_flight_now, sent, failed, uncertain] = counts(&work.status());
    assert_eq!((total, pending, in_flight_now, failed), (8, 0, 0, 0));
    assert_eq!(sent + uncertain, 8);
    assert_eq!(sandbox.stats().duplicates, 0);

    // The uncertain ones had not arrived: resending them delivers each once.
    let resent = work
        .resume()
        .opt("--rate", "20/s")
        .flag("--resend-uncertain")
        .run()
        .await;
    resent.expect_code(0);
    assert_eq!(
        received_recipients(&sandbox.messages()),
        sorted(&recipients),
        "{resent}"
    );
    assert_eq!(sandbox.stats().duplicates, 0);
    sandbox.shutdown().await;
}

/// Wait until the run has sent three messages and started the fourth; false
/// after the deadline (or if it went past that point unseen).
async fn fourth_in_flight(running: &Running) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let events = running.events_so_far();
        let count = |kind: &str| events.iter().filter(|e| e["event"] == kind).count();
        match (count("sent"), count("sending")) {
            (3, 4) => return true,
            (sent, _) if sent > 3 => return false,
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    false
}
