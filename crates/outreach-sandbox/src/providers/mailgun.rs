//! `--provider mailgun`: Mailgun's messages API.
//!
//! Follows <https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/>
//! and the response-code page
//! <https://documentation.mailgun.com/docs/mailgun/quickstart-guide/responses>:
//! a form body (`from`, `to` repeatable or comma-separated, `subject`,
//! `text` and/or `html`) on `POST /v3/{domain}/messages` with Basic auth
//! `api:KEY`; 200 `{"id": "<...>", "message": "Queued. Thank you."}`; 400
//! `{"message": ...}` for a bad request. A bad key gets 401 with the plain
//! text `Forbidden`, as Mailgun answers (its docs now say 403; senders
//! treat both as an auth failure). Over the limit Mailgun's older API
//! answers 420, the current one 429: 420 by default, 429 with
//! `--mailgun-429`, both with `Retry-After`. Only form-urlencoded bodies are
//! read (Mailgun also takes multipart, which only attachments need).

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::rate_headers::ceil_secs;
use super::super::request::MessageRequest;
use super::personality::{
    Call, Personality, Submission, basic_credentials, form_pairs, form_value,
};
use super::reply;

/// Mailgun, with the status it answers when over the limit.
pub(crate) struct Mailgun {
    throttle_status: u16,
}

/// The default: the older 420 "Enhance Your Calm".
pub(crate) const MAILGUN: Mailgun = Mailgun {
    throttle_status: 420,
};
/// `--mailgun-429`.
pub(crate) const MAILGUN_429: Mailgun = Mailgun {
    throttle_status: 429,
};

fn bad(message: &str) -> Reply {
    reply::json(StatusCode::BAD_REQUEST, &json!({ "message": message }))
}

impl Personality for Mailgun {
    fn paths(&self) -> &'static [&'static str] {
        &["/v3/{domain}/messages"]
    }

    fn shown_path(&self) -> &'static str {
        "/v3/{domain}/messages"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Basic api:TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        basic_credentials(call.headers)
            .filter(|(user, _)| user == "api")
            .and_then(|(_, key)| shared.account_of(&key))
            .ok_or_else(|| reply::text(StatusCode::UNAUTHORIZED, "Forbidden"))
    }

    fn parse(&self, _call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        let pairs = form_pairs(body).map_err(|why| bad(&why))?;
        if form_value(&pairs, "from").is_none() {
            return Err(bad("from parameter is missing"));
        }
        let recipients: Vec<String> = pairs
            .iter()
            .filter(|(name, _)| name == "to")
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|to| !to.is_empty())
            .map(str::to_string)
            .collect();
        if recipients.is_empty() {
            return Err(bad("to parameter is missing"));
        }
        if recipients.iter().any(|to| !to.contains('@')) {
            return Err(bad(
                "to parameter is not a valid address. please check documentation",
            ));
        }
        let Some(subject) = form_value(&pairs, "subject") else {
            return Err(bad("subject parameter is missing"));
        };
        let Some(text) = form_value(&pairs, "text").or_else(|| form_value(&pairs, "html")) else {
            return Err(bad(
                "Need at least one of 'text' or 'html' parameters specified",
            ));
        };
        Ok(Submission::new(MessageRequest {
            recipients,
            subject: Some(subject.to_string()),
            body: text.to_string(),
        }))
    }

    fn rejected(&self, _call: &Call<'_>, _recipient: &str) -> Reply {
        bad("to parameter is not a valid address. please check documentation")
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        // 420 and 429 are both within 100..=999, so from_u16 cannot fail.
        let status =
            StatusCode::from_u16(self.throttle_status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        reply::json(
            status,
            &json!({"message": "Too many requests: the sending rate limit was exceeded, retry later"}),
        )
    }

    fn receipt(&self, call: &Call<'_>, _: &Submission, sequence: u64, now: SystemTime) -> Receipt {
        let domain = call.segment(1).unwrap_or("sandbox.test");
        let stamp = DateTime::<Utc>::from(now).format("%Y%m%d%H%M%S");
        let id = format!("<{stamp}.{sequence}@{domain}>");
        let reply = reply::json(
            StatusCode::OK,
            &json!({"id": id, "message": "Queued. Thank you."}),
        );
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Submission, Reply> {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/v3/mg.example.com/messages",
            query: None,
            headers: &headers,
        };
        MAILGUN.parse(&call, body.as_bytes())
    }

    #[test]
    fn recipients_repeat_or_are_comma_separated() {
        let submission =
            parse("from=me%40x.io&to=a%40x.io&to=b%40x.io%2C+c%40x.io&subject=Hi&text=Hello")
                .unwrap();
        assert_eq!(
            submission.message.recipients,
            ["a@x.io", "b@x.io", "c@x.io"]
        );
        assert_eq!(submission.message.body, "Hello");
        let html = parse("from=me%40x.io&to=a%40x.io&subject=Hi&html=%3Cp%3EHi%3C%2Fp%3E").unwrap();
        assert_eq!(html.message.body, "<p>Hi</p>");
    }

    #[test]
    fn each_missing_field_is_named() {
        let cases = [
            ("to=a%40x.io&subject=s&text=t", "from parameter is missing"),
            ("from=m%40x.io&subject=s&text=t", "to parameter is missing"),
            (
                "from=m%40x.io&to=nobody&subject=s&text=t",
                "not a valid address",
            ),
            (
                "from=m%40x.io&to=a%40x.io&text=t",
                "subject parameter is missing",
            ),
            (
                "from=m%40x.io&to=a%40x.io&subject=s",
                "Need at least one of 'text' or 'html'",
            ),
        ];
        for (body, expected) in cases {
            let reply = parse(body).unwrap_err();
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(reply.body.contains(expected), "{body}: {}", reply.body);
        }
    }

    #[test]
    fn throttle_status_is_420_or_429_with_retry_after() {
        assert_eq!(
            MAILGUN.throttled(Duration::from_secs(1)).status.as_u16(),
            420
        );
        assert_eq!(
            MAILGUN_429
                .throttled(Duration::from_secs(1))
                .status
                .as_u16(),
            429
        );
        let mut headers = HeaderMap::new();
        let quota = Quota {
            limit: 1,
            window: Duration::from_secs(1),
            remaining: 0,
            reset: Duration::ZERO,
        };
        MAILGUN.rate_headers(
            &mut headers,
            &quota,
            Some(Duration::from_millis(1500)),
            SystemTime::now(),
        );
        assert_eq!(headers[header::RETRY_AFTER], "2");
    }

    #[test]
    fn the_id_names_the_domain() {
        let headers = HeaderMap::new();
        let call = Call {
            path: "/v3/mg.example.com/messages",
            query: None,
            headers: &headers,
        };
        let submission = parse("from=m%40x.io&to=a%40x.io&subject=s&text=t").unwrap();
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_714_564_800);
        let receipt = MAILGUN.receipt(&call, &submission, 4, now);
        assert_eq!(receipt.id, "<20240501120000.4@mg.example.com>");
        assert!(receipt.reply.body.contains("Queued. Thank you."));
    }
}
