//! The request each preset makes is the one its provider accepts (the
//! sandbox checks paths, credentials, headers such as `LinkedIn-Version`,
//! and the body's fields), each recipient gets exactly one message with the
//! text rendered for its row, and the provider's id comes back in the
//! `sent` event. A recipient the provider refuses fails with the
//! provider's own words, and the others are still sent.

use serde_json::Value;

use super::catalog::{DISCORD_WEBHOOK, Preset, Refusal, WEBHOOK_ID};
use super::harness::{
    ACCOUNT, ROOMY, TOKEN, TOKEN_ENV, Workdir, assert_recorded_once, message_ids, numbered,
    sandbox_config, sent_ids, start, stats,
};

/// Three recipients at 20/s, far below the sandbox's limit: exit 0.
async fn sends_each_recipient_once(preset: &Preset) {
    let sandbox = start(sandbox_config(preset, ROOMY)).await;
    let work = Workdir::new();
    let recipients = preset.recipients(3);
    work.preset_campaign(preset, &sandbox, &recipients);

    let out = work.send_with("20/s", TOKEN).run().await;

    out.expect_code(0).expect_stderr("Sent 3 of 3 messages");
    let messages = sandbox.messages();
    assert_recorded_once(preset, &messages, &numbered(&recipients), &out);
    // The id each `sent` event carries is the one the provider answered.
    assert_eq!(sent_ids(&out), message_ids(&messages), "{out}");
    assert_eq!(sandbox.stats(), stats(3, 0, 0, 0), "{out}");
    sandbox.shutdown().await;
}

mod sends_each_recipient_once {
    each_preset!(super::sends_each_recipient_once);
}

/// Four recipients, the third refused: it fails with the provider's words,
/// is not retried, the other three are sent, exit 3.
async fn fails_a_refused_recipient_and_sends_the_others(preset: &Preset) {
    let Refusal::Recipient {
        recipient: refused,
        words,
        ..
    } = preset.refusal
    else {
        panic!("{} refuses no single recipient", preset.name);
    };
    let sandbox = start(sandbox_config(preset, ROOMY)).await;
    let work = Workdir::new();
    let mut recipients = preset.recipients(3);
    recipients.insert(2, refused.to_string());
    work.preset_campaign(preset, &sandbox, &recipients);

    let out = work.send_with("20/s", TOKEN).run().await;

    out.expect_code(3)
        .expect_stderr("Sent 3 of 4 messages")
        .expect_stderr("failed      1");
    let failed = out.events("failed");
    assert_eq!(failed.len(), 1, "{out}");
    assert_eq!(failed[0]["recipient"], refused, "{out}");
    let reason = failed[0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains(words),
        "{}: the reason should carry {words:?}: {reason}",
        preset.name
    );
    assert!(
        out.events("retrying").is_empty(),
        "a refusal is final\n{out}"
    );
    let delivered: Vec<(usize, String)> = numbered(&recipients)
        .into_iter()
        .filter(|(_, recipient)| recipient != refused)
        .collect();
    assert_recorded_once(preset, &sandbox.messages(), &delivered, &out);
    assert_eq!(sandbox.stats(), stats(3, 0, 1, 0), "{out}");
    sandbox.shutdown().await;
}

mod fails_a_refused_recipient_and_sends_the_others {
    each_preset!(super::fails_a_refused_recipient_and_sends_the_others;
        linkedin LINKEDIN, sendgrid SENDGRID, mailgun MAILGUN, postmark POSTMARK,
        resend RESEND, twilio TWILIO, slack SLACK, discord_bot DISCORD_BOT,
        telegram TELEGRAM, webhook WEBHOOK);
}

/// A Discord webhook posts to its own channel, whatever the recipient: an
/// unknown webhook (404, code 10015) would refuse every message, so the
/// account stops at the first one and nothing is failed.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_discord_webhook_stops_the_account() {
    let preset = &DISCORD_WEBHOOK;
    let mut config = sandbox_config(preset, ROOMY);
    config.reject = vec![WEBHOOK_ID.to_string()];
    let sandbox = start(config).await;
    let work = Workdir::new();
    let recipients = preset.recipients(3);
    work.preset_campaign(preset, &sandbox, &recipients);

    let out = work.send_with("20/s", TOKEN).run().await;

    out.expect_code(1)
        .expect_stderr("Sent 0 of 3 messages")
        .expect_stderr(&format!("account `{ACCOUNT}` stopped"))
        .expect_stderr("404 Unknown Webhook")
        .expect_stderr(TOKEN_ENV);
    assert!(out.events("failed").is_empty(), "{out}");
    assert_eq!(out.events("account_stopped").len(), 1, "{out}");
    assert_eq!(out.finished()["pending"], Value::from(3), "{out}");
    assert!(sandbox.messages().is_empty());
    assert_eq!(sandbox.stats(), stats(0, 0, 1, 0), "{out}");
    sandbox.shutdown().await;
}
