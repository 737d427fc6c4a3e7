//! `--provider resend`: Resend's e-mails API.
//!
//! Follows <https://resend.com/docs/api-reference/emails/send-email>, the
//! error list <https://resend.com/docs/api-reference/errors>, the rate-limit
//! page <https://resend.com/docs/api-reference/rate-limit> and the
//! idempotency page <https://resend.com/docs/dashboard/emails/idempotency-keys>:
//! JSON `{"from", "to" (a string or up to 50), "subject", "text" and/or
//! "html"}` on `POST /emails` with a bearer key; 200 `{"id"}`; errors as
//! `{"statusCode", "message", "name"}` (401 `missing_api_key`, 403
//! `invalid_api_key`, 422 `missing_required_field` / `validation_error`);
//! `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (seconds)
//! on every answer and `retry-after` on a 429. `Idempotency-Key` (1-256
//! characters) is honoured: the same key and body get the first response
//! again, the same key with another body gets 409 `invalid_idempotent_request`.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::rate_headers::ceil_secs;
use super::super::request::{ApiError, MessageRequest, bearer_token};
use super::personality::{Call, Idempotency, Personality, Submission, Text, json_object, text};
use super::reply;

pub(crate) struct Resend;

/// Resend's longest idempotency key.
const MAX_KEY: usize = 256;

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

fn error(status: StatusCode, name: &str, message: &str) -> Reply {
    reply::json(
        status,
        &json!({"statusCode": status.as_u16(), "message": message, "name": name}),
    )
}

fn missing(field: &str) -> Reply {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_required_field",
        &format!("Missing `{field}` field."),
    )
}

fn invalid_to() -> Reply {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
        "Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.",
    )
}

/// `to` is one address or an array of up to 50.
fn recipients(to: Option<&Value>) -> Result<Vec<String>, Reply> {
    let list: Vec<String> = match to {
        None | Some(Value::Null) => return Err(missing("to")),
        Some(Value::String(one)) => vec![one.trim().to_string()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(invalid_to)?,
        Some(_) => return Err(invalid_to()),
    };
    if list.is_empty() || list.iter().all(String::is_empty) {
        return Err(missing("to"));
    }
    if list.len() > 50 {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            "Too many recipients: `to` takes at most 50 addresses.",
        ));
    }
    if list.iter().any(|address| !address.contains('@')) {
        return Err(invalid_to());
    }
    Ok(list)
}

impl Personality for Resend {
    fn paths(&self) -> &'static [&'static str] {
        &["/emails"]
    }

    fn shown_path(&self) -> &'static str {
        "/emails"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Bearer TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        let Some(token) = bearer_token(call.headers) else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "Missing API key in the authorization header. Include the following header Authorization: Bearer YOUR_API_KEY in the request.",
            ));
        };
        shared.account_of(token).ok_or_else(|| {
            error(
                StatusCode::FORBIDDEN,
                "invalid_api_key",
                "API key is invalid",
            )
        })
    }

    fn parse(&self, _call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let object = json_object(body)
            .map_err(|why| error(StatusCode::BAD_REQUEST, "validation_error", &why))?;
        let Text::Given(from) = text(&object, "from") else {
            return Err(missing("from"));
        };
        if !from.contains('@') {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                "Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.",
            ));
        }
        let recipients = recipients(object.get("to"))?;
        let Text::Given(subject) = text(&object, "subject") else {
            return Err(missing("subject"));
        };
        let body = match (text(&object, "text"), text(&object, "html")) {
            (Text::Given(body), _) | (_, Text::Given(body)) => body,
            _ => return Err(missing("text` or `html")),
        };
        Ok(Submission::new(MessageRequest {
            recipients,
            subject: Some(subject.to_string()),
            body: body.to_string(),
        }))
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        invalid_to()
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "Too many requests. You can only make a limited number of requests per second. See rate limit response headers for more information.",
        )
    }

    fn receipt(&self, _: &Call<'_>, _: &Submission, sequence: u64, _: SystemTime) -> Receipt {
        let id = reply::uuid_like(sequence);
        let reply = reply::json(StatusCode::OK, &json!({ "id": id }));
        Receipt { id, reply }
    }

    fn rate_headers(
        &self,
        headers: &mut HeaderMap,
        quota: &Quota,
        retry_after: Option<Duration>,
        _now: SystemTime,
    ) {
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(quota.limit));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(quota.remaining));
        headers.insert(RATELIMIT_RESET, HeaderValue::from(ceil_secs(quota.reset)));
        if let Some(delay) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(ceil_secs(delay)));
        }
    }

    fn idempotency(&self) -> Idempotency {
        Idempotency::ReplayOrConflict
    }

    fn max_idempotency_key(&self) -> usize {
        MAX_KEY
    }

    fn invalid_idempotency_key(&self, _error: &ApiError) -> Reply {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "The key must be between 1-256 chars.",
        )
    }

    fn key_conflict(&self) -> Reply {
        error(
            StatusCode::CONFLICT,
            "invalid_idempotent_request",
            "Same idempotency key used with a different request payload.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Submission, Reply> {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/emails",
            query: None,
            headers: &headers,
        };
        Resend.parse(&call, body.to_string().as_bytes())
    }

    fn name(reply: &Reply) -> String {
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(value["statusCode"], reply.status.as_u16());
        value["name"].as_str().unwrap().to_string()
    }

    #[test]
    fn to_is_a_string_or_an_array() {
        let one =
            parse(json!({"from": "me@x.io", "to": "a@x.io", "subject": "s", "text": "t"})).unwrap();
        assert_eq!(one.message.recipients, ["a@x.io"]);
        let many = parse(json!({"from": "me@x.io", "to": ["a@x.io", "b@x.io"], "subject": "s", "html": "<b>t</b>"})).unwrap();
        assert_eq!(many.message.recipients, ["a@x.io", "b@x.io"]);
        assert_eq!(many.message.body, "<b>t</b>");
    }

    #[test]
    fn refusals_have_resend_names() {
        let cases = [
            (
                json!({"to": "a@x.io", "subject": "s", "text": "t"}),
                422,
                "missing_required_field",
            ),
            (
                json!({"from": "me@x.io", "subject": "s", "text": "t"}),
                422,
                "missing_required_field",
            ),
            (
                json!({"from": "me@x.io", "to": [1], "subject": "s", "text": "t"}),
                422,
                "validation_error",
            ),
            (
                json!({"from": "me@x.io", "to": "nobody", "subject": "s", "text": "t"}),
                422,
                "validation_error",
            ),
            (
                json!({"from": "me@x.io", "to": "a@x.io", "text": "t"}),
                422,
                "missing_required_field",
            ),
            (
                json!({"from": "me@x.io", "to": "a@x.io", "subject": "s"}),
                422,
                "missing_required_field",
            ),
            (json!([1]), 400, "validation_error"),
        ];
        for (body, status, expected) in cases {
            let reply = parse(body.clone()).unwrap_err();
            assert_eq!(reply.status.as_u16(), status, "{body}");
            assert_eq!(name(&reply), expected, "{body}");
        }
        assert_eq!(name(&Resend.key_conflict()), "invalid_idempotent_request");
        assert_eq!(Resend.key_conflict().status, StatusCode::CONFLICT);
    }

    #[test]
    fn ietf_headers_on_every_answer_and_retry_after_on_429() {
        let quota = Quota {
            limit: 2,
            window: Duration::from_secs(1),
            remaining: 0,
            reset: Duration::from_millis(400),
        };
        let mut headers = HeaderMap::new();
        Resend.rate_headers(&mut headers, &quota, None, SystemTime::now());
        assert_eq!(headers["ratelimit-limit"], "2");
        assert_eq!(headers["ratelimit-remaining"], "0");
        assert_eq!(headers["ratelimit-reset"], "1");
        assert!(!headers.contains_key(header::RETRY_AFTER));
        Resend.rate_headers(
            &mut headers,
            &quota,
            Some(Duration::from_millis(400)),
            SystemTime::now(),
        );
        assert_eq!(headers[header::RETRY_AFTER], "1");
    }
}
