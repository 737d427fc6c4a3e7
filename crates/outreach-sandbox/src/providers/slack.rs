//! `--provider slack`: Slack's `chat.postMessage`.
//!
//! Follows <https://docs.slack.dev/reference/methods/chat.postMessage> and
//! <https://docs.slack.dev/apis/web-api/rate-limits>: JSON (or form)
//! `{"channel", "text"}` on `POST /api/chat.postMessage` with a bearer
//! token. Slack reports nearly every error as HTTP 200 with
//! `{"ok": false, "error": CODE}`: `not_authed` (no token), `invalid_auth`
//! (a bad one), `channel_not_found`, `no_text`, `msg_too_long`,
//! `invalid_json`. Only a throttle is an HTTP error: 429 with `Retry-After`
//! in seconds (the body, `{"ok": false, "error": "ratelimited"}`, is what
//! Slack's SDKs report). Success is 200 `{"ok": true, "channel", "ts",
//! "message"}`; `ts` is the message id.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::rate_headers::ceil_secs;
use super::super::request::bearer_token;
use super::personality::{
    Call, Personality, Submission, Text, form_pairs, form_value, json_object, message_to, text,
};
use super::reply;

pub(crate) struct Slack;

/// Slack truncates longer texts and refuses those over this many characters.
const MAX_TEXT: usize = 40_000;

fn failed(error: &str) -> Reply {
    reply::json(StatusCode::OK, &json!({"ok": false, "error": error}))
}

/// The channel and the text, or the blocks standing in for it.
fn fields(call: &Call<'_>, body: &[u8]) -> Result<(Option<String>, Option<String>), Reply> {
    if call.is_form() {
        let pairs = form_pairs(body).map_err(|_| failed("invalid_form_data"))?;
        let get = |name| form_value(&pairs, name).map(str::to_string);
        return Ok((get("channel"), get("text").or_else(|| get("blocks"))));
    }
    let object = json_object(body).map_err(|_| failed("invalid_json"))?;
    let channel = match text(&object, "channel") {
        Text::Given(channel) => Some(channel.to_string()),
        _ => None,
    };
    let message = match (text(&object, "text"), object.get("blocks")) {
        (Text::Given(text), _) => Some(text.to_string()),
        (_, Some(Value::Array(blocks))) if !blocks.is_empty() => {
            Some(Value::Array(blocks.clone()).to_string())
        }
        _ => None,
    };
    Ok((channel, message))
}

impl Personality for Slack {
    fn paths(&self) -> &'static [&'static str] {
        &["/api/chat.postMessage"]
    }

    fn shown_path(&self) -> &'static str {
        "/api/chat.postMessage"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Bearer TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        let Some(token) = bearer_token(call.headers) else {
            return Err(failed("not_authed"));
        };
        shared
            .account_of(token)
            .ok_or_else(|| failed("invalid_auth"))
    }

    fn parse(&self, call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let (channel, message) = fields(call, body)?;
        let Some(channel) = channel else {
            return Err(failed("channel_not_found"));
        };
        let Some(message) = message else {
            return Err(failed("no_text"));
        };
        if message.chars().count() > MAX_TEXT {
            return Err(failed("msg_too_long"));
        }
        Ok(Submission::new(message_to(&channel, None, &message)))
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        failed("channel_not_found")
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"ok": false, "error": "ratelimited"}),
        )
    }

    fn receipt(
        &self,
        _: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt {
        // Slack's ts is seconds.micros and unique per channel; the sequence
        // in the fraction keeps it unique in the sandbox.
        let ts = format!(
            "{}.{:06}",
            reply::since_epoch(now).as_secs(),
            sequence % 1_000_000
        );
        let reply = reply::json(
            StatusCode::OK,
            &json!({
                "ok": true,
                "channel": submission.recipient(),
                "ts": ts,
                "message": {
                    "type": "message",
                    "subtype": "bot_message",
                    "text": submission.message.body,
                    "ts": ts,
                    "bot_id": "B0SANDBOX"
                }
            }),
        );
        Receipt { id: ts, reply }
    }

    fn rate_headers(
        &self,
        headers: &mut HeaderMap,
        _quota: &Quota,
        retry_after: Option<Duration>,
        _now: SystemTime,
    ) {
        if let Some(delay) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(ceil_secs(delay)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(content_type: &'static str, body: &str) -> Result<Submission, Reply> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        let call = Call {
            path: "/api/chat.postMessage",
            query: None,
            headers: &headers,
        };
        Slack.parse(&call, body.as_bytes())
    }

    fn error_of(reply: &Reply) -> String {
        assert_eq!(reply.status, StatusCode::OK, "Slack errors are HTTP 200");
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(value["ok"], false);
        value["error"].as_str().unwrap().to_string()
    }

    #[test]
    fn json_and_form_bodies() {
        let json = parse(
            "application/json; charset=utf-8",
            r#"{"channel":"C123","text":"Hi"}"#,
        )
        .unwrap();
        assert_eq!(
            (json.recipient(), json.message.body.as_str()),
            ("C123", "Hi")
        );
        let form = parse(
            "application/x-www-form-urlencoded",
            "channel=C123&text=Hi+there",
        )
        .unwrap();
        assert_eq!(form.message.body, "Hi there");
        let blocks = parse(
            "application/json",
            r#"{"channel":"C1","blocks":[{"type":"divider"}]}"#,
        )
        .unwrap();
        assert!(blocks.message.body.contains("divider"));
    }

    #[test]
    fn errors_are_http_200_with_a_code() {
        let json = "application/json";
        assert_eq!(error_of(&parse(json, "{").unwrap_err()), "invalid_json");
        assert_eq!(
            error_of(&parse(json, r#"{"text":"x"}"#).unwrap_err()),
            "channel_not_found"
        );
        assert_eq!(
            error_of(&parse(json, r#"{"channel":"C1"}"#).unwrap_err()),
            "no_text"
        );
        let long = json!({"channel": "C1", "text": "x".repeat(MAX_TEXT + 1)}).to_string();
        assert_eq!(error_of(&parse(json, &long).unwrap_err()), "msg_too_long");
        let headers = HeaderMap::new();
        let call = Call {
            path: "/api/chat.postMessage",
            query: None,
            headers: &headers,
        };
        assert_eq!(
            error_of(&Slack.rejected(&call, "C0GONE")),
            "channel_not_found"
        );
        assert_eq!(
            Slack.throttled(Duration::from_secs(1)).status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn ts_is_the_id_and_is_unique() {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/api/chat.postMessage",
            query: None,
            headers: &headers,
        };
        let submission = parse("application/json", r#"{"channel":"C1","text":"Hi"}"#).unwrap();
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_714_564_800);
        let first = Slack.receipt(&call, &submission, 1, now);
        let second = Slack.receipt(&call, &submission, 2, now);
        assert_eq!(first.id, "1714564800.000001");
        assert_ne!(first.id, second.id);
        let value: Value = serde_json::from_str(&first.reply.body).unwrap();
        assert_eq!(
            (value["ok"].as_bool(), value["ts"].as_str()),
            (Some(true), Some("1714564800.000001"))
        );
        assert_eq!(value["channel"], "C1");
    }
}
