//! Resend honours `Idempotency-Key`: the same key with the same body gets
//! the first answer again and sends nothing. A message whose answer was
//! lost is `uncertain`; `resume --resend-uncertain` sends it again with
//! the key from the journal, byte for byte the same request, and Resend
//! replays instead of e-mailing the recipient twice.

use outreach::journal::{CampaignStore, MessageState, SqliteStore};
use outreach::sandbox::{FaultDice, FaultRates};

use super::catalog::RESEND;
use super::harness::{
    ROOMY, STATE, TOKEN, Workdir, assert_recorded_once, numbered, sandbox_config, start,
};

const MESSAGES: usize = 4;
const DROP_RATE: f64 = 0.25;

/// The first seed whose first [`MESSAGES`] requests lose exactly one
/// answer, and which one: the faults are a pure function of the seed.
fn seed_dropping_one() -> (u64, usize) {
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate: DROP_RATE,
        latency: None,
    };
    (0..1_000)
        .find_map(|seed| {
            let dice = FaultDice::new(rates, seed);
            let drops: Vec<usize> = (0..MESSAGES).filter(|_| dice.draw().drop).collect();
            (drops.len() == 1).then(|| (seed, drops[0]))
        })
        .expect("a seed in 0..1000 drops exactly one of the first answers")
}

#[tokio::test(flavor = "multi_thread")]
async fn resend_replays_a_resent_uncertain_message_instead_of_sending_it_twice() {
    let preset = &RESEND;
    let (seed, lost) = seed_dropping_one();
    let mut config = sandbox_config(preset, ROOMY);
    config.drop_rate = DROP_RATE;
    config.seed = seed;
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = preset.recipients(MESSAGES);
    work.preset_campaign(preset, &sandbox, &recipients);

    // One attempt: the lost answer makes the message uncertain at once.
    let out = work
        .send_with("20/s", TOKEN)
        .opt("--retry-attempts", "1")
        .run()
        .await;

    out.expect_code(3).expect_stderr("uncertain   1");
    let uncertain = out.events("uncertain");
    assert_eq!(uncertain.len(), 1, "{out}");
    assert_eq!(
        uncertain[0]["recipient"],
        recipients[lost].as_str(),
        "{out}"
    );
    // Resend did send it: only the answer was lost.
    let messages = sandbox.messages();
    assert_recorded_once(preset, &messages, &numbered(&recipients), &out);
    let key = journal_key(&work, &recipients[lost]);
    let first = messages
        .iter()
        .find(|m| m.recipients == [recipients[lost].clone()])
        .expect("the lost answer's message");
    assert_eq!(first.idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(sandbox.stats().dropped, 1);

    let again = work
        .resume_with(TOKEN)
        .flag("--resend-uncertain")
        .run()
        .await;

    again.expect_code(0);
    let sent = again.events("sent");
    assert_eq!(sent.len(), 1, "{again}");
    assert_eq!(sent[0]["recipient"], recipients[lost].as_str(), "{again}");
    // The first answer again, with the first message's id.
    assert_eq!(sent[0]["message_id"], first.id.as_str(), "{again}");
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.replayed), (4, 1), "{stats:?}");
    assert_recorded_once(preset, &sandbox.messages(), &numbered(&recipients), &again);
    assert_eq!(
        journal_key(&work, &recipients[lost]),
        key,
        "the key is kept"
    );
    sandbox.shutdown().await;
}

/// The Idempotency-Key the journal holds for `recipient`'s message.
fn journal_key(work: &Workdir, recipient: &str) -> String {
    let store = SqliteStore::open_read_only(work.path().join(STATE)).expect("open the journal");
    let all = [
        MessageState::Pending,
        MessageState::InFlight,
        MessageState::Sent,
        MessageState::Failed,
        MessageState::Uncertain,
        MessageState::Skipped,
    ];
    store
        .messages_in_state(&all)
        .expect("read the journal")
        .into_iter()
        .find(|m| m.message.recipient == recipient)
        .map(|m| m.message.idempotency_key)
        .unwrap_or_else(|| panic!("no message to {recipient} in the journal"))
}
