//! `--provider telegram`: the Telegram Bot API's `sendMessage`.
//!
//! Follows <https://core.telegram.org/bots/api#making-requests>,
//! <https://core.telegram.org/bots/api#sendmessage> and
//! <https://core.telegram.org/bots/api#responseparameters>: JSON (or form)
//! `{"chat_id", "text"}` on `POST /bot{TOKEN}/sendMessage`, the token in
//! the path. Every answer is `{"ok", ...}`: 200 `{"ok": true, "result":
//! Message}`; errors `{"ok": false, "error_code", "description"}` with the
//! same HTTP status: 401 `Unauthorized` for an unknown token, 404 `Not
//! Found` for a path without `bot`, 400 `Bad Request: chat not found`,
//! `chat_id is empty`, `message text is empty`, `message is too long`. A
//! throttle is 429 with `"parameters": {"retry_after": N}` in the body and
//! no rate-limit headers.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::rate_headers::ceil_secs;
use super::personality::{
    Call, Personality, Submission, Text, form_pairs, form_value, json_object, message_to, text,
};
use super::reply;

pub(crate) struct Telegram;

/// Telegram refuses longer texts.
const MAX_TEXT: usize = 4096;

fn error(status: StatusCode, description: &str) -> Reply {
    reply::json(
        status,
        &json!({"ok": false, "error_code": status.as_u16(), "description": description}),
    )
}

fn bad(description: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Bad Request: {description}"),
    )
}

/// `chat_id` is an integer or a string such as `@channelname`.
fn chat_id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(number) => Some(number.to_string()),
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => None,
    }
}

fn fields(call: &Call<'_>, body: &[u8]) -> Result<(Option<String>, Option<String>), Reply> {
    if call.is_form() {
        let pairs = form_pairs(body).map_err(|_| bad("can't parse request body"))?;
        let get = |name| form_value(&pairs, name).map(str::to_string);
        return Ok((get("chat_id"), get("text")));
    }
    let object = json_object(body).map_err(|_| bad("can't parse JSON object"))?;
    let message = match text(&object, "text") {
        Text::Given(message) => Some(message.to_string()),
        _ => None,
    };
    Ok((chat_id(object.get("chat_id")), message))
}

impl Personality for Telegram {
    fn paths(&self) -> &'static [&'static str] {
        // The route cannot say "bot" then a parameter inside one segment;
        // `authenticate` checks the prefix.
        &["/{bot_token}/sendMessage"]
    }

    fn shown_path(&self) -> &'static str {
        "/bot{TOKEN}/sendMessage"
    }

    fn auth_hint(&self) -> &'static str {
        "the token is in the path, after `bot`"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        let Some(token) = call
            .segment(0)
            .and_then(|segment| segment.strip_prefix("bot"))
        else {
            return Err(error(StatusCode::NOT_FOUND, "Not Found"));
        };
        shared
            .account_of(token)
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Unauthorized"))
    }

    fn parse(&self, call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let (chat, message) = fields(call, body)?;
        let Some(chat) = chat else {
            return Err(bad("chat_id is empty"));
        };
        let Some(message) = message else {
            return Err(bad("message text is empty"));
        };
        if message.chars().count() > MAX_TEXT {
            return Err(bad("message is too long"));
        }
        Ok(Submission::new(message_to(&chat, None, &message)))
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        bad("chat not found")
    }

    fn throttled(&self, retry_after: Duration) -> Reply {
        let seconds = ceil_secs(retry_after).max(1);
        reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {seconds}"),
                "parameters": {"retry_after": seconds}
            }),
        )
    }

    fn receipt(
        &self,
        _: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt {
        let chat = submission.recipient();
        let chat_value = chat.parse::<i64>().map_or_else(
            |_| json!({"id": chat, "type": "channel"}),
            |id| json!({"id": id, "type": "private"}),
        );
        let reply = reply::json(
            StatusCode::OK,
            &json!({
                "ok": true,
                "result": {
                    "message_id": sequence,
                    "date": reply::since_epoch(now).as_secs(),
                    "chat": chat_value,
                    "text": submission.message.body
                }
            }),
        );
        Receipt {
            id: sequence.to_string(),
            reply,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn parse(form: bool, body: &str) -> Result<Submission, Reply> {
        let mut headers = HeaderMap::new();
        let kind = if form {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        let call = Call {
            path: "/bot1:abc/sendMessage",
            query: None,
            headers: &headers,
        };
        Telegram.parse(&call, body.as_bytes())
    }

    fn description(reply: &Reply) -> String {
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(value["ok"], false);
        assert_eq!(value["error_code"], reply.status.as_u16());
        value["description"].as_str().unwrap().to_string()
    }

    #[test]
    fn chat_ids_are_numbers_or_names() {
        assert_eq!(
            parse(false, r#"{"chat_id":-100123,"text":"Hi"}"#)
                .unwrap()
                .recipient(),
            "-100123"
        );
        assert_eq!(
            parse(false, r#"{"chat_id":"@news","text":"Hi"}"#)
                .unwrap()
                .recipient(),
            "@news"
        );
        assert_eq!(
            parse(true, "chat_id=42&text=Hi+there")
                .unwrap()
                .message
                .body,
            "Hi there"
        );
    }

    #[test]
    fn bad_requests_describe_the_problem() {
        assert_eq!(
            description(&parse(false, r#"{"text":"Hi"}"#).unwrap_err()),
            "Bad Request: chat_id is empty"
        );
        assert_eq!(
            description(&parse(false, r#"{"chat_id":1}"#).unwrap_err()),
            "Bad Request: message text is empty"
        );
        let long = json!({"chat_id": 1, "text": "x".repeat(MAX_TEXT + 1)}).to_string();
        assert_eq!(
            description(&parse(false, &long).unwrap_err()),
            "Bad Request: message is too long"
        );
        assert!(description(&parse(false, "{").unwrap_err()).starts_with("Bad Request"));
    }

    #[test]
    fn throttles_put_retry_after_in_the_body() {
        let reply = Telegram.throttled(Duration::from_millis(4200));
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(value["parameters"]["retry_after"], 5);
        assert_eq!(value["description"], "Too Many Requests: retry after 5");
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    }

    #[test]
    fn the_message_id_counts_up() {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/bot1:abc/sendMessage",
            query: None,
            headers: &headers,
        };
        let submission = parse(false, r#"{"chat_id":42,"text":"Hi"}"#).unwrap();
        let receipt = Telegram.receipt(&call, &submission, 9, SystemTime::now());
        let value: Value = serde_json::from_str(&receipt.reply.body).unwrap();
        assert_eq!(receipt.id, "9");
        assert_eq!(value["result"]["message_id"], 9);
        assert_eq!(value["result"]["chat"]["id"], 42);
    }
}
