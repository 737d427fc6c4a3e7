//! A provider limit lower than the campaign's rate: each provider says
//! "too many" its own way (Mailgun's 420, Slack's 429 with `Retry-After`,
//! Telegram's `parameters.retry_after` in the body, Discord's float
//! `retry_after`, Postmark's and Twilio's bare 429), the run reports it as
//! `throttled` and pauses, and every message still goes exactly once.
//!
//! Providers that put the remaining quota on every answer (SendGrid,
//! Resend, Discord) let a lone sender pause before it is ever refused; their
//! "too many" is reached when two accounts share one key, each counting only
//! its own requests. LinkedIn's quotas are daily: its 429 pauses the account
//! until the next 00:00 UTC, so that run is stopped with SIGTERM and keeps
//! the rest pending.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, TimeDelta, Utc};
use serde_json::Value;

use super::catalog::{LINKEDIN, Limits, Preset};
use super::harness::{
    ACCOUNT, Outcome, TOKEN, Workdir, assert_recorded_once, numbered, sandbox_config, start,
};

/// The sandbox's limit: two messages in any second.
const LIMIT: &str = "2/1s";
/// The campaign's rate, five times the limit.
const RATE: &str = "10/s";
const MESSAGES: usize = 5;

/// One account, five messages at five times the provider's limit.
async fn every_message_goes_once_despite_a_lower_limit(preset: &Preset) {
    let sandbox = start(sandbox_config(preset, LIMIT)).await;
    let work = Workdir::new();
    let recipients = preset.recipients(MESSAGES);
    work.preset_campaign(preset, &sandbox, &recipients);

    let out = work.send_with(RATE, TOKEN).run().await;

    out.expect_code(0)
        .expect_stderr(&format!("Sent {MESSAGES} of {MESSAGES} messages"));
    assert_recorded_once(preset, &sandbox.messages(), &numbered(&recipients), &out);
    let throttled = out.events("throttled");
    // Every "too many" the provider sent, and nothing else, is a throttle.
    assert_eq!(throttled.len() as u64, sandbox.stats().throttled, "{out}");
    match preset.limits {
        Limits::Quota => {
            // The answers count down the quota: the account pauses at 0
            // until the reset, and is never refused.
            assert!(throttled.is_empty(), "{out}");
            let paused = out.events("account_paused");
            assert!(!paused.is_empty(), "{out}");
            for event in paused {
                assert_eq!(
                    event["reason"], "the quota is used up until the reset",
                    "{out}"
                );
            }
        }
        Limits::Wait => {
            // Told when to come back, the account waits that long: at most
            // one refusal per full second.
            assert_throttles_answered(&out, "headers");
            assert!(throttled.len() <= 3, "{out}");
        }
        Limits::Bare => assert_throttles_answered(&out, "backoff"),
        Limits::Daily => panic!("{}: see the LinkedIn test", preset.name),
    }
    sandbox.shutdown().await;
}

mod every_message_goes_once_despite_a_lower_limit {
    each_preset!(super::every_message_goes_once_despite_a_lower_limit;
        sendgrid SENDGRID, mailgun MAILGUN, postmark POSTMARK, resend RESEND,
        twilio TWILIO, slack SLACK, discord_webhook DISCORD_WEBHOOK,
        discord_bot DISCORD_BOT, telegram TELEGRAM, webhook WEBHOOK);
}

/// Two accounts sharing one key, six messages between them: each reads
/// only its own answers, so one of them runs into the provider's "too
/// many", reads the wait from it and still sends each message once.
async fn a_shared_key_meets_the_providers_throttle(preset: &Preset) {
    let sandbox = start(sandbox_config(preset, LIMIT)).await;
    let work = Workdir::new();
    let recipients = preset.recipients(6);
    work.preset_campaign_for(preset, &sandbox, &recipients, &[ACCOUNT, "bob"]);

    let out = work.send_with(RATE, TOKEN).run().await;

    out.expect_code(0).expect_stderr("Sent 6 of 6 messages");
    // The sandbox knows the one key as ACCOUNT's, whoever sent.
    assert_recorded_once(preset, &sandbox.messages(), &numbered(&recipients), &out);
    let throttled = out.events("throttled");
    assert!(!throttled.is_empty(), "{out}");
    assert_eq!(throttled.len() as u64, sandbox.stats().throttled, "{out}");
    assert_throttles_answered(&out, "headers");
    sandbox.shutdown().await;
}

mod a_shared_key_meets_the_providers_throttle {
    each_preset!(super::a_shared_key_meets_the_providers_throttle;
        sendgrid SENDGRID, resend RESEND, discord_webhook DISCORD_WEBHOOK,
        discord_bot DISCORD_BOT);
}

/// Each throttle's wait came from `source` and paused its account until
/// then; none waited for nothing.
#[track_caller]
fn assert_throttles_answered(out: &Outcome, source: &str) {
    let throttled = out.events("throttled");
    assert!(!throttled.is_empty(), "{out}");
    for event in &throttled {
        assert_eq!(event["source"], source, "{event}\n{out}");
        assert!(event["wait_ms"].as_i64().expect("wait_ms") >= 0, "{event}");
        let paused = out
            .events("account_paused")
            .into_iter()
            .any(|p| p["account"] == event["account"] && p["until"] == event["until"]);
        assert!(paused, "no pause until {}\n{out}", event["until"]);
    }
}

/// LinkedIn sends no rate-limit headers and resets its daily quotas at
/// 00:00 UTC: the 429 pauses the account until then. SIGTERM stops the
/// paused run at once (exit 130) and the journal keeps every unsent
/// message pending for `resume`.
#[tokio::test(flavor = "multi_thread")]
async fn linkedin_waits_for_the_next_midnight_utc_and_sigterm_keeps_the_rest_pending() {
    let preset = &LINKEDIN;
    let sandbox = start(sandbox_config(preset, LIMIT)).await;
    let work = Workdir::new();
    let recipients = preset.recipients(MESSAGES);
    work.preset_campaign(preset, &sandbox, &recipients);

    let running = work.send_with(RATE, TOKEN).spawn();
    let paused = running
        .wait_for_event("account_paused", Duration::from_secs(10))
        .await;
    running.signal("TERM");
    let out = running.wait().await;
    assert!(paused, "the account never paused\n{out}");

    out.expect_code(130);
    let throttled = out.events("throttled");
    assert_eq!(throttled.len(), 1, "{out}");
    assert_eq!(throttled[0]["status"], 429, "{out}");
    let until = time(throttled[0], "until");
    let midnight = next_midnight_utc(time(throttled[0], "ts"));
    // The wait reaches the executor in whole seconds, rounded up: never
    // before the reset, at most a second after it.
    assert!(
        until >= midnight && until < midnight + TimeDelta::seconds(2),
        "paused until {until}, the next reset is {midnight}\n{out}"
    );
    let pauses = out.events("account_paused");
    assert!(
        pauses.iter().any(|p| p["until"] == throttled[0]["until"]),
        "{out}"
    );
    let first_two: Vec<(usize, String)> = numbered(&recipients).into_iter().take(2).collect();
    assert_recorded_once(preset, &sandbox.messages(), &first_two, &out);
    assert_eq!(sandbox.stats().throttled, 1, "{out}");

    let status = work.status();
    let count = |key: &str| status[key].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        (
            count("sent"),
            count("pending"),
            count("uncertain"),
            count("failed")
        ),
        (2, 3, 0, 0),
        "{status}"
    );
    assert_eq!(status["sender"], "stopped", "{status}");
    sandbox.shutdown().await;
}

/// 00:00 UTC of the day after `at`.
fn next_midnight_utc(at: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = at.date_naive() + Days::new(1);
    tomorrow.and_time(NaiveTime::MIN).and_utc()
}

/// A timestamp field of an event.
#[track_caller]
fn time(event: &Value, field: &str) -> DateTime<Utc> {
    event[field]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("no RFC 3339 `{field}` in {event}"))
}

#[test]
fn the_next_midnight_is_the_start_of_the_following_day() {
    let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        next_midnight_utc(at("2024-12-31T23:59:59.999Z")),
        at("2025-01-01T00:00:00Z")
    );
    assert_eq!(
        next_midnight_utc(at("2024-05-01T00:00:00Z")),
        at("2024-05-02T00:00:00Z")
    );
}
