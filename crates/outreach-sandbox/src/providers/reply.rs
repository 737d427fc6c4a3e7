//! Building provider answers, and ids in each provider's style.
//!
//! Personalities describe an answer as a [`Reply`] (status, body, headers);
//! the pipeline turns it into an HTTP response and adds `Date` and the
//! provider's rate-limit headers. Ids are derived from the ledger's sequence
//! number and the time, never drawn at random, so a run is reproducible and
//! two messages never share an id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::super::ledger::Reply;
use super::super::request::ApiError;

/// A JSON answer.
pub(crate) fn json(status: StatusCode, value: &Value) -> Reply {
    Reply {
        status,
        body: value.to_string(),
        headers: vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
    }
}

/// A plain-text answer.
pub(crate) fn text(status: StatusCode, body: &str) -> Reply {
    Reply {
        status,
        body: body.to_string(),
        headers: vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
    }
}

/// An answer without a body (SendGrid's 202, Discord's 204).
pub(crate) fn empty(status: StatusCode) -> Reply {
    Reply {
        status,
        body: String::new(),
        headers: Vec::new(),
    }
}

/// The sandbox's own error shape, `{"error": code, "message": text}`.
pub(crate) fn api_error(error: &ApiError) -> Reply {
    Reply {
        status: error.status,
        body: error.body(),
        headers: vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
    }
}

/// Add a header to a reply. A value that is not a valid header (it cannot
/// happen for the ids built here) is left out rather than failing the answer.
pub(crate) fn with_header(mut reply: Reply, name: &'static str, value: &str) -> Reply {
    if let Ok(value) = HeaderValue::from_str(value) {
        reply.headers.push((HeaderName::from_static(name), value));
    }
    reply
}

/// Turn a reply into a response with a `Date` header.
pub(crate) fn into_response(reply: Reply, now: SystemTime) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    for (name, value) in reply.headers {
        headers.insert(name, value);
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        headers.insert(header::DATE, date);
    }
    response
}

/// Time since 1970, zero for a clock set before it.
pub(crate) fn since_epoch(now: SystemTime) -> Duration {
    now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// A UUID-shaped id (version 4 layout) numbered by `sequence`:
/// `00000000-0000-4000-8000-000000000001`.
pub(crate) fn uuid_like(sequence: u64) -> String {
    let low = sequence & 0xffff_ffff_ffff;
    let high = sequence >> 48;
    format!("{high:08x}-0000-4000-8000-{low:012x}")
}

/// A 34-character Twilio-style SID: `prefix` then 32 hex digits.
pub(crate) fn sid(prefix: &str, sequence: u64) -> String {
    format!("{prefix}{sequence:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_shaped_like_the_providers() {
        assert_eq!(uuid_like(1), "00000000-0000-4000-8000-000000000001");
        assert_eq!(uuid_like(1 << 48), "00000001-0000-4000-8000-000000000000");
        assert_eq!(sid("SM", 255).len(), 34);
        assert_eq!(sid("SM", 255), "SM000000000000000000000000000000ff");
        assert_ne!(uuid_like(2), uuid_like(3));
    }

    #[test]
    fn responses_carry_status_body_headers_and_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_714_564_800);
        let reply = with_header(
            json(StatusCode::ACCEPTED, &serde_json::json!({"a": 1})),
            "x-message-id",
            "abc",
        );
        let response = into_response(reply, now);
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let headers = response.headers();
        assert_eq!(headers["x-message-id"], "abc");
        assert_eq!(headers["date"], "Wed, 01 May 2024 12:00:00 GMT");
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        let bad = with_header(empty(StatusCode::OK), "x-bad", "line\nbreak");
        assert!(bad.headers.is_empty());
        assert_eq!(
            text(StatusCode::UNAUTHORIZED, "Forbidden").body,
            "Forbidden"
        );
    }
}
