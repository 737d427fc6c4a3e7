//! `--provider linkedin`: LinkedIn-style messages.
//!
//! Follows LinkedIn's Messages API and its rate-limit page:
//! <https://learn.microsoft.com/en-us/linkedin/shared/integrations/communications/messages>
//! and <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits>.
//! The request is the sandbox's own payload (`recipients`, `subject`,
//! `body`) on `POST /v2/messages` with a bearer token and a `LinkedIn-Version:
//! YYYYMM` header; success is 201 with the id in the JSON body and in
//! `x-restli-id`. LinkedIn's limits are daily quotas that reset at 00:00 UTC
//! and its 429 carries no rate-limit header at all, so this personality
//! sends none, ever. Errors use LinkedIn's `{"status", "message"}` envelope.
//! LinkedIn does not document `Idempotency-Key` for messages; the sandbox
//! honours it as its default API does, so the key a preset sends is exercised.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use serde_json::json;

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::request::parse_message;
use super::personality::{Call, Idempotency, Personality, Submission, bearer_account};
use super::reply;

pub(crate) struct LinkedIn;

fn error(status: StatusCode, message: &str) -> Reply {
    reply::json(
        status,
        &json!({"status": status.as_u16(), "message": message}),
    )
}

/// `LinkedIn-Version` must be a year and month, `YYYYMM`.
fn version_problem(call: &Call<'_>) -> Option<Reply> {
    let Some(value) = call.headers.get("linkedin-version") else {
        return Some(reply::json(
            StatusCode::BAD_REQUEST,
            &json!({
                "status": 400,
                "code": "VERSION_MISSING",
                "message": "A version must be present. Add the LinkedIn-Version header (YYYYMM, e.g. 202411)."
            }),
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    let month = text.get(4..).and_then(|m| m.parse::<u8>().ok());
    let well_formed = text.len() == 6
        && text.bytes().all(|b| b.is_ascii_digit())
        && month.is_some_and(|m| (1..=12).contains(&m));
    (!well_formed).then(|| {
        reply::json(
            StatusCode::from_u16(426).unwrap_or(StatusCode::BAD_REQUEST),
            &json!({
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": format!("Requested version {text} is not active; LinkedIn-Version is YYYYMM, e.g. 202411.")
            }),
        )
    })
}

impl Personality for LinkedIn {
    fn paths(&self) -> &'static [&'static str] {
        &["/v2/messages"]
    }

    fn shown_path(&self) -> &'static str {
        "/v2/messages"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Bearer TOKEN, LinkedIn-Version: YYYYMM"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        bearer_account(call, shared).ok_or_else(|| {
            reply::json(
                StatusCode::UNAUTHORIZED,
                &json!({"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}),
            )
        })
    }

    fn parse(&self, call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        if let Some(problem) = version_problem(call) {
            return Err(problem);
        }
        parse_message(body)
            .map(Submission::new)
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e.message))
    }

    fn rejected(&self, _call: &Call<'_>, recipient: &str) -> Reply {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Recipient {recipient} cannot receive messages from this member"),
        )
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        )
    }

    fn receipt(&self, _: &Call<'_>, _: &Submission, sequence: u64, _: SystemTime) -> Receipt {
        let id = format!("msg_{sequence:06}");
        let reply = reply::with_header(
            reply::json(StatusCode::CREATED, &json!({ "id": id })),
            "x-restli-id",
            &id,
        );
        Receipt { id, reply }
    }

    fn idempotency(&self) -> Idempotency {
        Idempotency::Replay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn call_with(headers: &HeaderMap) -> Call<'_> {
        Call {
            path: "/v2/messages",
            query: None,
            headers,
        }
    }

    #[test]
    fn the_version_header_is_required_and_shaped() {
        let mut headers = HeaderMap::new();
        let body = br#"{"recipients":["urn:li:person:1"],"subject":"Hi","body":"Hello"}"#;
        let missing = LinkedIn.parse(&call_with(&headers), body).unwrap_err();
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert!(missing.body.contains("VERSION_MISSING"), "{}", missing.body);
        headers.insert("linkedin-version", HeaderValue::from_static("2024-11"));
        let wrong = LinkedIn.parse(&call_with(&headers), body).unwrap_err();
        assert_eq!(wrong.status.as_u16(), 426);
        headers.insert("linkedin-version", HeaderValue::from_static("202413"));
        assert!(LinkedIn.parse(&call_with(&headers), body).is_err());
        headers.insert("linkedin-version", HeaderValue::from_static("202411"));
        let ok = LinkedIn.parse(&call_with(&headers), body).unwrap();
        assert_eq!(ok.recipient(), "urn:li:person:1");
        let bad = LinkedIn
            .parse(&call_with(&headers), br#"{"recipients":[]}"#)
            .unwrap_err();
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("`recipients` is empty"), "{}", bad.body);
    }

    #[test]
    fn throttles_and_receipts() {
        let throttle = LinkedIn.throttled(Duration::from_secs(3));
        assert_eq!(throttle.status, StatusCode::TOO_MANY_REQUESTS);
        let mut headers = HeaderMap::new();
        let quota = crate::limiter::Quota {
            limit: 1,
            window: Duration::from_secs(1),
            remaining: 0,
            reset: Duration::from_secs(1),
        };
        LinkedIn.rate_headers(
            &mut headers,
            &quota,
            Some(Duration::from_secs(1)),
            SystemTime::now(),
        );
        assert!(headers.is_empty(), "LinkedIn sends no rate-limit headers");
        let headers = HeaderMap::new();
        let submission = Submission::new(super::super::personality::message_to("a", None, "b"));
        let receipt = LinkedIn.receipt(&call_with(&headers), &submission, 7, SystemTime::now());
        assert_eq!(receipt.id, "msg_000007");
        assert_eq!(receipt.reply.status, StatusCode::CREATED);
        assert!(
            receipt
                .reply
                .headers
                .iter()
                .any(|(n, v)| n == "x-restli-id" && v == "msg_000007")
        );
    }
}
