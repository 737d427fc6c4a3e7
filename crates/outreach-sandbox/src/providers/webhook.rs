//! `--provider webhook`: the generic JSON webhook preset's receiving end.
//!
//! There is no provider to follow here: this is the shape the `webhook`
//! preset sends, `{"recipient", "subject", "body", "idempotency_key"}` with
//! an `Idempotency-Key` header, accepted on any path so that a preset's
//! `url` can be any path under the sandbox. The sandbox always wants a
//! bearer token (the preset sends one when the account has a `token_env`).
//! Answers use the sandbox's own error shape; success is 200 `{"id"}`; a
//! throttle is 429 with `Retry-After` in seconds; a refused recipient is 422.
//! `Idempotency-Key` is honoured as by the default API.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::rate_headers::ceil_secs;
use super::super::request::{ApiError, MessageRequest};
use super::personality::{
    Call, Idempotency, Personality, Submission, Text, bearer_account, json_object, text,
};
use super::reply;

pub(crate) struct Webhook;

fn invalid(message: String) -> Reply {
    reply::api_error(&ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        message,
    ))
}

fn required<'a>(field: Text<'a>, name: &str) -> Result<&'a str, Reply> {
    match field {
        Text::Given(value) => Ok(value),
        Text::Missing => Err(invalid(format!(
            "`{name}` is missing; expected a non-empty string"
        ))),
        Text::Blank => Err(invalid(format!(
            "`{name}` is empty; expected a non-empty string"
        ))),
        Text::Wrong(kind) => Err(invalid(format!("`{name}` must be a string, got {kind}"))),
    }
}

impl Personality for Webhook {
    fn paths(&self) -> &'static [&'static str] {
        &["/", "/{*path}"]
    }

    fn shown_path(&self) -> &'static str {
        "/{any path}"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Bearer TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        bearer_account(call, shared).ok_or_else(|| {
            let mut reply = reply::api_error(&ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or unknown bearer token; send `Authorization: Bearer <token>` with a token printed at sandbox start",
            ));
            reply.headers.push((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sandbox\""),
            ));
            reply
        })
    }

    fn parse(&self, _call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let object = json_object(body).map_err(|why| {
            reply::api_error(&ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", why))
        })?;
        let recipient = required(text(&object, "recipient"), "recipient")?;
        let body = required(text(&object, "body"), "body")?;
        let subject = match object.get("subject") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(subject)) => Some(subject.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "`subject` must be a string when present, got {}",
                    super::super::request::kind(other)
                )));
            }
        };
        Ok(Submission::new(MessageRequest {
            recipients: vec![recipient.to_string()],
            subject,
            body: body.to_string(),
        }))
    }

    fn rejected(&self, _call: &Call<'_>, recipient: &str) -> Reply {
        reply::api_error(&ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected_recipient",
            format!(
                "the sandbox refuses recipient `{recipient}` (--reject, or it contains \"invalid\")"
            ),
        ))
    }

    fn throttled(&self, retry_after: Duration) -> Reply {
        reply::api_error(&ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "rate limit exceeded for this token; retry in {} s",
                ceil_secs(retry_after)
            ),
        ))
    }

    fn receipt(&self, _: &Call<'_>, _: &Submission, sequence: u64, _: SystemTime) -> Receipt {
        let id = format!("msg_{sequence:06}");
        let reply = reply::json(StatusCode::OK, &json!({ "id": id }));
        Receipt { id, reply }
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

    fn idempotency(&self) -> Idempotency {
        Idempotency::Replay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(body: Value) -> Result<Submission, Reply> {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/hooks/outreach",
            query: None,
            headers: &headers,
        };
        Webhook.parse(&call, body.to_string().as_bytes())
    }

    #[test]
    fn the_preset_shape_is_accepted() {
        let submission = parse(json!({
            "recipient": "ada@example.com", "subject": "Hi", "body": "Hello", "idempotency_key": "k1"
        }))
        .unwrap();
        assert_eq!(submission.recipient(), "ada@example.com");
        assert_eq!(submission.message.subject.as_deref(), Some("Hi"));
        assert_eq!(
            parse(json!({"recipient": "a", "body": "b"}))
                .unwrap()
                .message
                .subject,
            None
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"body": "b"}), "`recipient` is missing"),
            (
                json!({"recipient": " ", "body": "b"}),
                "`recipient` is empty",
            ),
            (
                json!({"recipient": "a", "body": 3}),
                "`body` must be a string, got a number",
            ),
            (
                json!({"recipient": "a", "body": "b", "subject": []}),
                "`subject` must be a string",
            ),
        ];
        for (body, expected) in cases {
            let reply = parse(body.clone()).unwrap_err();
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(reply.body.contains(expected), "{body}: {}", reply.body);
        }
    }
}
