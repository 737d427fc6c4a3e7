//! `--provider discord`: Discord webhooks and bot channel messages.
//!
//! Follows <https://docs.discord.com/developers/resources/webhook#execute-webhook>,
//! <https://docs.discord.com/developers/resources/message#create-message>,
//! the rate-limit page <https://docs.discord.com/developers/topics/rate-limits>
//! and the JSON error codes (10003 unknown channel, 10015 unknown webhook,
//! 50006 empty message, 50027 invalid webhook token, 50035 invalid form
//! body, 50109 invalid JSON). Two endpoints:
//!
//! - webhook: `POST /api/webhooks/{webhook_id}/{webhook_token}` with JSON
//!   `{"content"}`; the token in the path is the credential; 200 with the
//!   message object when `?wait=true`, else 204 with no body;
//! - bot: `POST /api/v10/channels/{channel_id}/messages` with
//!   `Authorization: Bot TOKEN`; 200 with the message object.
//!
//! Every answer carries `X-RateLimit-Limit`, `-Remaining`, `-Reset` (Unix
//! time, fractional), `-Reset-After` (seconds, fractional) and `-Bucket`; a
//! 429 adds `Retry-After`, `X-RateLimit-Scope: user` and the JSON body
//! `{"message", "retry_after": seconds as a float, "global": false}`. The
//! recorded recipient is the webhook id or the channel id.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::rate_headers::ceil_secs;
use super::personality::{
    Call, Personality, Submission, Text, json_object, message_to, scheme_token, text,
};
use super::reply;

pub(crate) struct DiscordWebhook;
pub(crate) struct DiscordBot;

/// Discord refuses longer `content`.
const MAX_CONTENT: usize = 2000;
/// The first second of 2015, where Discord's snowflake clock starts.
const DISCORD_EPOCH_MS: u128 = 1_420_070_400_000;

fn error(status: StatusCode, code: u32, message: &str) -> Reply {
    reply::json(status, &json!({"message": message, "code": code}))
}

/// The message text of a webhook or bot request, recorded for `recipient`.
fn parse_content(recipient: &str, body: &[u8]) -> Result<Submission, Reply> {
    let object = json_object(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    })?;
    let Text::Given(content) = text(&object, "content") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    };
    if content.chars().count() > MAX_CONTENT {
        return Err(reply::json(
            StatusCode::BAD_REQUEST,
            &json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {"content": {"_errors": [{
                    "code": "BASE_TYPE_MAX_LENGTH",
                    "message": "Must be 2000 or fewer in length."
                }]}}
            }),
        ));
    }
    Ok(Submission::new(message_to(recipient, None, content)))
}

/// A snowflake: milliseconds since 2015 above 22 bits of sequence.
fn snowflake(sequence: u64, now: SystemTime) -> String {
    let millis = reply::since_epoch(now)
        .as_millis()
        .saturating_sub(DISCORD_EPOCH_MS);
    ((millis << 22) | u128::from(sequence & 0x3f_ffff)).to_string()
}

fn message_object(
    id: &str,
    channel_id: &str,
    webhook_id: Option<&str>,
    content: &str,
    now: SystemTime,
) -> serde_json::Value {
    json!({
        "id": id,
        "type": 0,
        "channel_id": channel_id,
        "webhook_id": webhook_id,
        "content": content,
        "timestamp": DateTime::<Utc>::from(now).to_rfc3339_opts(SecondsFormat::Micros, false),
        "tts": false,
        "mention_everyone": false,
        "attachments": [],
        "embeds": []
    })
}

fn throttled(retry_after: Duration) -> Reply {
    let seconds = (retry_after.as_secs_f64() * 1000.0).ceil() / 1000.0;
    reply::json(
        StatusCode::TOO_MANY_REQUESTS,
        &json!({"message": "You are being rate limited.", "retry_after": seconds, "global": false}),
    )
}

fn seconds_3(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn rate_headers(
    bucket: &'static str,
    headers: &mut HeaderMap,
    quota: &Quota,
    retry_after: Option<Duration>,
    now: SystemTime,
) {
    let set = |headers: &mut HeaderMap, name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    let reset_at = reply::since_epoch(now).saturating_add(quota.reset);
    set(headers, "x-ratelimit-limit", quota.limit.to_string());
    set(
        headers,
        "x-ratelimit-remaining",
        quota.remaining.to_string(),
    );
    set(headers, "x-ratelimit-reset", seconds_3(reset_at));
    set(headers, "x-ratelimit-reset-after", seconds_3(quota.reset));
    set(headers, "x-ratelimit-bucket", bucket.to_string());
    if let Some(delay) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(ceil_secs(delay)));
        set(headers, "x-ratelimit-scope", "user".to_string());
    }
}

impl Personality for DiscordWebhook {
    fn paths(&self) -> &'static [&'static str] {
        &["/api/webhooks/{webhook_id}/{webhook_token}"]
    }

    fn shown_path(&self) -> &'static str {
        "/api/webhooks/{webhook_id}/{TOKEN}?wait=true"
    }

    fn auth_hint(&self) -> &'static str {
        "the token is the webhook token in the path"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        call.segment(3)
            .and_then(|token| shared.account_of(token))
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, 50027, "Invalid Webhook Token"))
    }

    fn parse(&self, call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        parse_content(call.segment(2).unwrap_or(""), body)
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
    }

    fn throttled(&self, retry_after: Duration) -> Reply {
        throttled(retry_after)
    }

    fn receipt(
        &self,
        call: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt {
        let id = snowflake(sequence, now);
        let wait = call
            .query_param("wait")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let reply = if wait {
            let webhook = submission.recipient();
            let object = message_object(&id, webhook, Some(webhook), &submission.message.body, now);
            reply::json(StatusCode::OK, &object)
        } else {
            reply::empty(StatusCode::NO_CONTENT)
        };
        Receipt { id, reply }
    }

    fn rate_headers(
        &self,
        headers: &mut HeaderMap,
        quota: &Quota,
        retry_after: Option<Duration>,
        now: SystemTime,
    ) {
        rate_headers("sandbox-webhook", headers, quota, retry_after, now);
    }
}

impl Personality for DiscordBot {
    fn paths(&self) -> &'static [&'static str] {
        &["/api/v10/channels/{channel_id}/messages"]
    }

    fn shown_path(&self) -> &'static str {
        "/api/v10/channels/{channel_id}/messages"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Bot TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        scheme_token(call.headers, "Bot")
            .and_then(|token| shared.account_of(token))
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"))
    }

    fn parse(&self, call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        parse_content(call.segment(3).unwrap_or(""), body)
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        error(StatusCode::NOT_FOUND, 10003, "Unknown Channel")
    }

    fn throttled(&self, retry_after: Duration) -> Reply {
        throttled(retry_after)
    }

    fn receipt(
        &self,
        _: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt {
        let id = snowflake(sequence, now);
        let object = message_object(
            &id,
            submission.recipient(),
            None,
            &submission.message.body,
            now,
        );
        Receipt {
            id,
            reply: reply::json(StatusCode::OK, &object),
        }
    }

    fn rate_headers(
        &self,
        headers: &mut HeaderMap,
        quota: &Quota,
        retry_after: Option<Duration>,
        now: SystemTime,
    ) {
        rate_headers("sandbox-bot", headers, quota, retry_after, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::time::UNIX_EPOCH;

    fn code(reply: &Reply) -> u64 {
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        value["code"].as_u64().unwrap()
    }

    #[test]
    fn content_is_required_and_bounded() {
        assert_eq!(
            parse_content("C1", br#"{"content":"Hi"}"#)
                .unwrap()
                .recipient(),
            "C1"
        );
        assert_eq!(code(&parse_content("C1", b"{").unwrap_err()), 50109);
        assert_eq!(
            code(&parse_content("C1", br#"{"content":""}"#).unwrap_err()),
            50006
        );
        let long = json!({"content": "x".repeat(MAX_CONTENT + 1)}).to_string();
        assert_eq!(
            code(&parse_content("C1", long.as_bytes()).unwrap_err()),
            50035
        );
    }

    #[test]
    fn webhooks_answer_204_unless_asked_to_wait() {
        let headers = HeaderMap::new();
        let submission = parse_content("123", br#"{"content":"Hi"}"#).unwrap();
        let now = SystemTime::now();
        let plain = Call {
            path: "/api/webhooks/123/tok",
            query: None,
            headers: &headers,
        };
        assert_eq!(
            DiscordWebhook
                .receipt(&plain, &submission, 1, now)
                .reply
                .status,
            StatusCode::NO_CONTENT
        );
        let wait = Call {
            query: Some("wait=true"),
            ..plain
        };
        let receipt = DiscordWebhook.receipt(&wait, &submission, 2, now);
        let value: Value = serde_json::from_str(&receipt.reply.body).unwrap();
        assert_eq!(value["id"], receipt.id.as_str());
        assert_eq!(value["webhook_id"], "123");
        assert_eq!(value["content"], "Hi");
    }

    #[test]
    fn snowflakes_grow_with_time_and_sequence() {
        let t = UNIX_EPOCH + Duration::from_millis(1_714_564_800_000);
        let a: u128 = snowflake(1, t).parse().unwrap();
        let b: u128 = snowflake(2, t).parse().unwrap();
        let c: u128 = snowflake(1, t + Duration::from_millis(1)).parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(a >> 22, 1_714_564_800_000 - DISCORD_EPOCH_MS);
    }

    #[test]
    fn throttles_carry_a_float_retry_after_and_headers() {
        let reply = throttled(Duration::from_millis(1500));
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(value["retry_after"], 1.5);
        assert_eq!(value["global"], false);
        let quota = Quota {
            limit: 5,
            window: Duration::from_secs(2),
            remaining: 0,
            reset: Duration::from_millis(1500),
        };
        let mut headers = HeaderMap::new();
        let now = UNIX_EPOCH + Duration::from_millis(1_714_564_800_250);
        DiscordBot.rate_headers(&mut headers, &quota, Some(Duration::from_millis(1500)), now);
        assert_eq!(headers["x-ratelimit-limit"], "5");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(headers["x-ratelimit-reset"], "1714564801.750");
        assert_eq!(headers["x-ratelimit-reset-after"], "1.500");
        assert_eq!(headers["x-ratelimit-bucket"], "sandbox-bot");
        assert_eq!(headers["x-ratelimit-scope"], "user");
        assert_eq!(headers[header::RETRY_AFTER], "2");
    }
}
