//! `--provider postmark`: Postmark's single-e-mail API.
//!
//! Follows <https://postmarkapp.com/developer/api/email-api> and the error
//! codes of <https://postmarkapp.com/developer/api/overview#error-codes>:
//! JSON `{"From", "To", "Subject", "TextBody" and/or "HtmlBody",
//! "MessageStream"}` on `POST /email` with `X-Postmark-Server-Token`;
//! 200 `{"To", "SubmittedAt", "MessageID", "ErrorCode": 0, "Message": "OK"}`;
//! 401 `{"ErrorCode": 10}` for a missing or bad token; 422 with an
//! `ErrorCode` for a request it will not send (300 invalid request, 402
//! invalid JSON, 406 inactive recipient); 429 when over the rate limit,
//! with no rate-limit headers. `To` may list several addresses, comma-separated.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::request::MessageRequest;
use super::personality::{Call, Personality, Submission, Text, json_object, text};
use super::reply;

pub(crate) struct Postmark;

const TOKEN_HEADER: &str = "x-postmark-server-token";

fn error(status: StatusCode, code: u16, message: &str) -> Reply {
    reply::json(status, &json!({"ErrorCode": code, "Message": message}))
}

fn invalid(message: &str) -> Reply {
    error(StatusCode::UNPROCESSABLE_ENTITY, 300, message)
}

fn given<'a>(field: Text<'a>) -> Option<&'a str> {
    match field {
        Text::Given(value) => Some(value),
        _ => None,
    }
}

impl Personality for Postmark {
    fn paths(&self) -> &'static [&'static str] {
        &["/email"]
    }

    fn shown_path(&self) -> &'static str {
        "/email"
    }

    fn auth_hint(&self) -> &'static str {
        "X-Postmark-Server-Token: TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        let Some(token) = call.headers.get(TOKEN_HEADER) else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                10,
                "No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token.",
            ));
        };
        token
            .to_str()
            .ok()
            .and_then(|token| shared.account_of(token.trim()))
            .ok_or_else(|| {
                error(
                    StatusCode::UNAUTHORIZED,
                    10,
                    "The Server API token you provided in the X-Postmark-Server-Token header is not valid.",
                )
            })
    }

    fn parse(&self, _call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let object = json_object(body).map_err(|why| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                402,
                &format!("Received invalid JSON input: {why}"),
            )
        })?;
        let Some(from) = given(text(&object, "From")) else {
            return Err(invalid("Invalid 'From' address: ''."));
        };
        if !from.contains('@') {
            return Err(invalid(&format!("Invalid 'From' address: '{from}'.")));
        }
        let to = given(text(&object, "To")).unwrap_or("");
        let recipients: Vec<String> = to
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(str::to_string)
            .collect();
        if recipients.is_empty() {
            return Err(invalid("Zero recipients specified"));
        }
        if let Some(bad) = recipients.iter().find(|address| !address.contains('@')) {
            return Err(invalid(&format!(
                "Error parsing 'To': Illegal email address '{bad}'."
            )));
        }
        let Some(body) = given(text(&object, "TextBody")).or(given(text(&object, "HtmlBody")))
        else {
            return Err(invalid(
                "Provide either email TextBody or HtmlBody or both.",
            ));
        };
        let subject = given(text(&object, "Subject")).map(str::to_string);
        Ok(Submission::new(MessageRequest {
            recipients,
            subject,
            body: body.to_string(),
        })
        .echoing("To", to))
    }

    fn rejected(&self, _call: &Call<'_>, recipient: &str) -> Reply {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            406,
            &format!(
                "You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: {recipient}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."
            ),
        )
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            429,
            "Rate limit exceeded: too many requests for this server token, slow down.",
        )
    }

    fn receipt(
        &self,
        _: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt {
        let id = reply::uuid_like(sequence);
        let submitted = DateTime::<Utc>::from(now).to_rfc3339_opts(SecondsFormat::Millis, true);
        let reply = reply::json(
            StatusCode::OK,
            &json!({
                "To": submission.echoed("To"),
                "SubmittedAt": submitted,
                "MessageID": id,
                "ErrorCode": 0,
                "Message": "OK"
            }),
        );
        Receipt { id, reply }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use serde_json::Value;

    fn parse(body: Value) -> Result<Submission, Reply> {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/email",
            query: None,
            headers: &headers,
        };
        Postmark.parse(&call, body.to_string().as_bytes())
    }

    fn code(reply: &Reply) -> u64 {
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        value["ErrorCode"].as_u64().unwrap()
    }

    #[test]
    fn accepts_a_full_request_and_lists_every_to() {
        let submission = parse(json!({
            "From": "me@x.io", "To": "a@x.io, b@x.io", "Subject": "Hi",
            "TextBody": "Hello", "HtmlBody": "<p>Hello</p>", "MessageStream": "outbound"
        }))
        .unwrap();
        assert_eq!(submission.message.recipients, ["a@x.io", "b@x.io"]);
        assert_eq!(submission.message.body, "Hello");
        assert_eq!(submission.echoed("To"), "a@x.io, b@x.io");
    }

    #[test]
    fn refusals_are_422_with_postmark_codes() {
        let cases = [
            (json!({"To": "a@x.io", "TextBody": "b"}), 300, "From"),
            (
                json!({"From": "me@x.io", "TextBody": "b"}),
                300,
                "Zero recipients",
            ),
            (
                json!({"From": "me@x.io", "To": "nobody", "TextBody": "b"}),
                300,
                "Illegal email",
            ),
            (
                json!({"From": "me@x.io", "To": "a@x.io"}),
                300,
                "TextBody or HtmlBody",
            ),
        ];
        for (body, expected_code, expected_text) in cases {
            let reply = parse(body.clone()).unwrap_err();
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(code(&reply), expected_code, "{body}");
            assert!(reply.body.contains(expected_text), "{body}: {}", reply.body);
        }
        let headers = HeaderMap::new();
        let call = Call {
            path: "/email",
            query: None,
            headers: &headers,
        };
        let broken = Postmark.parse(&call, b"{").unwrap_err();
        assert_eq!(code(&broken), 402);
        let inactive = Postmark.rejected(&call, "gone@x.io");
        assert_eq!((inactive.status.as_u16(), code(&inactive)), (422, 406));
        assert!(inactive.body.contains("gone@x.io"));
    }

    #[test]
    fn success_reports_error_code_zero() {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/email",
            query: None,
            headers: &headers,
        };
        let submission =
            parse(json!({"From": "me@x.io", "To": "a@x.io", "TextBody": "b"})).unwrap();
        let receipt = Postmark.receipt(&call, &submission, 1, SystemTime::now());
        let value: Value = serde_json::from_str(&receipt.reply.body).unwrap();
        assert_eq!(value["ErrorCode"], 0);
        assert_eq!(value["MessageID"], receipt.id.as_str());
        assert_eq!(value["To"], "a@x.io");
    }
}
