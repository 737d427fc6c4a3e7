//! `--provider sendgrid`: SendGrid's v3 Mail Send.
//!
//! Follows <https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send>,
//! its errors page (`{"errors": [{"field", "message"}]}`,
//! <https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/errors>)
//! and its rate-limit page (`X-RateLimit-Limit`, `-Remaining` and `-Reset`
//! as a Unix time on every response, 429 when exhausted,
//! <https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits>).
//! Success is 202 with an empty body and the id in `X-Message-Id`. SendGrid
//! has no idempotency key: a repeated request is a second e-mail.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::rate_headers::{self, HeaderDialect};
use super::super::request::MessageRequest;
use super::personality::{Call, Personality, Submission, Text, bearer_account, json_object, text};
use super::reply;

pub(crate) struct SendGrid;

/// SendGrid's error envelope with one error.
fn error(status: StatusCode, field: Option<&str>, message: &str) -> Reply {
    reply::json(
        status,
        &json!({"errors": [{"field": field, "message": message}]}),
    )
}

fn bad(field: &str, message: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, Some(field), message)
}

/// An address as SendGrid checks it: something, `@`, something with a dot.
fn is_address(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

fn recipients(object: &Map<String, Value>) -> Result<Vec<String>, Reply> {
    const TO_REQUIRED: &str = "The to array is required for all personalization objects, and must have at least one email object with a valid email address.";
    let personalizations = match object.get("personalizations") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => {
            return Err(bad(
                "personalizations",
                "The personalizations field is required and must have at least one personalization.",
            ));
        }
    };
    let mut all = Vec::new();
    for (p, personalization) in personalizations.iter().enumerate() {
        let to = personalization.get("to").and_then(Value::as_array);
        let Some(to) = to.filter(|to| !to.is_empty()) else {
            return Err(bad(&format!("personalizations.{p}.to"), TO_REQUIRED));
        };
        for (t, entry) in to.iter().enumerate() {
            let email = entry.get("email").and_then(Value::as_str).unwrap_or("");
            if !is_address(email) {
                return Err(bad(
                    &format!("personalizations.{p}.to.{t}.email"),
                    "Does not contain a valid address.",
                ));
            }
            all.push(email.to_string());
        }
    }
    Ok(all)
}

/// The text/plain value, or the first other value when there is none.
fn content(object: &Map<String, Value>) -> Result<String, Reply> {
    let blocks = match object.get("content") {
        Some(Value::Array(blocks)) if !blocks.is_empty() => blocks,
        _ => {
            return Err(bad(
                "content",
                "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.",
            ));
        }
    };
    let mut values = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        let value = block.get("value").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() {
            return Err(bad(
                &format!("content.{index}.type"),
                "The content type cannot contain ';', or CRLF characters, and must be at least one character in length.",
            ));
        }
        if value.is_empty() {
            return Err(bad(
                &format!("content.{index}.value"),
                "The content value must be a string at least one character in length.",
            ));
        }
        if kind.eq_ignore_ascii_case("text/plain") && index > 0 {
            return Err(bad(
                &format!("content.{index}.type"),
                "If present, text/plain content must be first, followed by text/html, followed by any other content.",
            ));
        }
        values.push(value.to_string());
    }
    Ok(values.swap_remove(0))
}

impl Personality for SendGrid {
    fn paths(&self) -> &'static [&'static str] {
        &["/v3/mail/send"]
    }

    fn shown_path(&self) -> &'static str {
        "/v3/mail/send"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Bearer TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        bearer_account(call, shared).ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                None,
                "The provided authorization grant is invalid, expired, or revoked",
            )
        })
    }

    fn parse(&self, _call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let object = json_object(body).map_err(|why| error(StatusCode::BAD_REQUEST, None, &why))?;
        let recipients = recipients(&object)?;
        let from = object
            .get("from")
            .and_then(|from| from.get("email"))
            .and_then(Value::as_str);
        match from {
            None => {
                return Err(bad(
                    "from",
                    "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.",
                ));
            }
            Some(email) if !is_address(email) => {
                return Err(bad(
                    "from.email",
                    "The from email does not contain a valid address.",
                ));
            }
            Some(_) => {}
        }
        let subject = match text(&object, "subject") {
            Text::Given(subject) => subject.to_string(),
            _ => {
                return Err(bad(
                    "subject",
                    "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.",
                ));
            }
        };
        let body = content(&object)?;
        Ok(Submission::new(MessageRequest {
            recipients,
            subject: Some(subject),
            body,
        }))
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        bad(
            "personalizations.0.to.0.email",
            "Does not contain a valid address.",
        )
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        error(StatusCode::TOO_MANY_REQUESTS, None, "too many requests")
    }

    fn receipt(&self, _: &Call<'_>, _: &Submission, sequence: u64, _: SystemTime) -> Receipt {
        let id = format!("sandbox{sequence:016}");
        let reply = reply::with_header(reply::empty(StatusCode::ACCEPTED), "x-message-id", &id);
        Receipt { id, reply }
    }

    fn rate_headers(
        &self,
        headers: &mut HeaderMap,
        quota: &Quota,
        _retry_after: Option<Duration>,
        now: SystemTime,
    ) {
        // SendGrid's documented 429 has the three headers and no Retry-After.
        rate_headers::apply(headers, HeaderDialect::XRateLimitEpoch, quota, None, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Submission, Reply> {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/v3/mail/send",
            query: None,
            headers: &headers,
        };
        SendGrid.parse(&call, body.to_string().as_bytes())
    }

    fn full() -> Value {
        json!({
            "personalizations": [{"to": [{"email": "ada@example.com"}]}],
            "from": {"email": "me@example.com", "name": "Me"},
            "subject": "Hello",
            "content": [{"type": "text/plain", "value": "Hi Ada"}, {"type": "text/html", "value": "<p>Hi</p>"}]
        })
    }

    fn field_of(reply: &Reply) -> String {
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        value["errors"][0]["field"]
            .as_str()
            .unwrap_or("null")
            .to_string()
    }

    #[test]
    fn a_full_request_records_the_plain_text() {
        let submission = parse(full()).unwrap();
        assert_eq!(submission.message.recipients, ["ada@example.com"]);
        assert_eq!(submission.message.subject.as_deref(), Some("Hello"));
        assert_eq!(submission.message.body, "Hi Ada");
        let mut html_only = full();
        html_only["content"] = json!([{"type": "text/html", "value": "<p>Hi</p>"}]);
        assert_eq!(parse(html_only).unwrap().message.body, "<p>Hi</p>");
    }

    #[test]
    fn each_missing_part_names_its_field() {
        let cases: [(&str, Value); 7] = [
            ("personalizations", json!([])),
            ("personalizations.0.to", json!([{"to": []}])),
            (
                "personalizations.0.to.0.email",
                json!([{"to": [{"email": "nope"}]}]),
            ),
            ("from", Value::Null),
            ("subject", Value::Null),
            ("content", Value::Null),
            (
                "content.1.type",
                json!([{"type": "text/html", "value": "x"}, {"type": "text/plain", "value": "y"}]),
            ),
        ];
        for (field, value) in cases {
            let mut body = full();
            let key = field.split('.').next().unwrap_or(field);
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value;
            }
            let reply = parse(body).unwrap_err();
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{field}");
            assert_eq!(field_of(&reply), field);
        }
        assert_eq!(field_of(&parse(json!([1])).unwrap_err()), "null");
    }

    #[test]
    fn success_is_202_with_the_id_in_a_header() {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/v3/mail/send",
            query: None,
            headers: &headers,
        };
        let submission = parse(full()).unwrap();
        let receipt = SendGrid.receipt(&call, &submission, 3, SystemTime::now());
        assert_eq!(receipt.reply.status, StatusCode::ACCEPTED);
        assert!(receipt.reply.body.is_empty());
        assert!(
            receipt
                .reply
                .headers
                .iter()
                .any(|(n, v)| n == "x-message-id" && v == receipt.id.as_str())
        );
    }
}
