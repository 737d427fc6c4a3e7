//! Every preset's reading of sample responses shaped as its provider
//! documents them: success (with the message id), throttle (with the wait),
//! permanent failure and refused credentials. The e-mail providers here,
//! the messaging ones in `chat_response_tests.rs`.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::get;
use crate::channel::http::response::{Classified, classify};
use crate::channel::http::test_support::{now, settings};
use crate::send::api::ResponseClass::{self, *};

/// Settings each preset needs to resolve.
pub(super) fn needed(name: &str) -> Vec<(&'static str, &'static str)> {
    match name {
        "sendgrid" => vec![("from_email", "a@b.test")],
        "mailgun" => vec![("domain", "mg.test"), ("from", "a@mg.test")],
        "postmark" | "resend" => vec![("from", "a@b.test")],
        "twilio" => vec![("account_sid", "AC1"), ("from", "+1555")],
        "discord-webhook" => vec![("webhook_id", "1")],
        "webhook" => vec![("url", "https://h.test/")],
        _ => vec![],
    }
}

pub(super) fn answer(name: &str, status: u16, headers: &[(&str, &str)], body: &str) -> Classified {
    let spec = get(name)
        .unwrap()
        .with_settings(&settings(&needed(name)))
        .unwrap();
    let mut map = HeaderMap::new();
    for (header, value) in headers {
        map.append(
            HeaderName::from_bytes(header.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    classify(&spec, status, &map, body.as_bytes(), now())
}

pub(super) fn class(name: &str, status: u16, body: &str) -> ResponseClass {
    answer(name, status, &[], body).class
}

pub(super) fn after(seconds: f64) -> Option<DateTime<Utc>> {
    Some(now() + TimeDelta::milliseconds((seconds * 1000.0) as i64))
}

pub(super) const MAYBE: ResponseClass = Transient {
    maybe_delivered: true,
};
pub(super) const NOT_TAKEN: ResponseClass = Transient {
    maybe_delivered: false,
};

#[test]
fn sendgrid() {
    let sent = answer("sendgrid", 202, &[("X-Message-Id", "W8fq3V8kT1m")], "");
    assert_eq!(
        (sent.class, sent.message_id.as_deref()),
        (Sent, Some("W8fq3V8kT1m"))
    );
    // 2024-06-01T12:02:00Z is 1717243320.
    let throttled = answer(
        "sendgrid",
        429,
        &[
            ("X-RateLimit-Limit", "600"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1717243320"),
        ],
        r#"{"errors": [{"field": null, "message": "too many requests"}]}"#,
    );
    assert_eq!((throttled.class, throttled.wait), (Throttled, after(120.0)));
    let bad = answer(
        "sendgrid",
        400,
        &[],
        r#"{"errors": [{"message": "Does not contain a valid address.", "field": "personalizations.0.to.0.email"}]}"#,
    );
    assert_eq!(
        (bad.class, bad.detail.as_str()),
        (Permanent, "Does not contain a valid address.")
    );
    assert_eq!(
        class(
            "sendgrid",
            401,
            r#"{"errors": [{"message": "Permission denied, wrong credentials"}]}"#
        ),
        AuthRefused
    );
    assert_eq!(
        class(
            "sendgrid",
            403,
            r#"{"errors": [{"message": "The from address does not match a verified Sender Identity."}]}"#
        ),
        AuthRefused
    );
}

#[test]
fn mailgun() {
    let sent = answer(
        "mailgun",
        200,
        &[],
        r#"{"id": "<20240601120000.1.ABC@mg.test>", "message": "Queued. Thank you."}"#,
    );
    assert_eq!(sent.class, Sent);
    assert_eq!(
        sent.message_id.as_deref(),
        Some("<20240601120000.1.ABC@mg.test>")
    );
    assert_eq!(class("mailgun", 420, ""), Throttled);
    let limited = answer(
        "mailgun",
        429,
        &[("Retry-After", "5")],
        r#"{"message": "rate limited"}"#,
    );
    assert_eq!(
        (limited.class, limited.detail.as_str()),
        (Throttled, "rate limited")
    );
    assert_eq!(class("mailgun", 401, "Forbidden"), AuthRefused);
    assert_eq!(class("mailgun", 403, ""), AuthRefused);
    let bad = answer(
        "mailgun",
        400,
        &[],
        r#"{"message": "to parameter is not a valid address. please check documentation"}"#,
    );
    assert_eq!(bad.class, Permanent);
    assert!(
        bad.detail
            .starts_with("to parameter is not a valid address")
    );
}

#[test]
fn postmark() {
    let sent = answer(
        "postmark",
        200,
        &[],
        r#"{"To": "a@b.test", "SubmittedAt": "2024-06-01T12:00:00Z", "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "ErrorCode": 0, "Message": "OK"}"#,
    );
    assert_eq!(sent.class, Sent);
    assert_eq!(
        sent.message_id.as_deref(),
        Some("b7bc2f4a-e38e-4336-af7d-e6c392c2f817")
    );
    assert_eq!(
        class(
            "postmark",
            429,
            r#"{"ErrorCode": 429, "Message": "Rate limit exceeded"}"#
        ),
        Throttled
    );
    let inactive = answer(
        "postmark",
        422,
        &[],
        r#"{"ErrorCode": 406, "Message": "You tried to send to recipient(s) that have been marked as inactive."}"#,
    );
    assert_eq!(inactive.class, Permanent);
    assert!(inactive.detail.contains("marked as inactive"));
    assert_eq!(
        class(
            "postmark",
            422,
            r#"{"ErrorCode": 300, "Message": "Invalid 'To' address"}"#
        ),
        Permanent
    );
    // The account's problems stop the account rather than fail every message.
    for code in [10, 400, 401, 405, 412, 413] {
        let body = format!(r#"{{"ErrorCode": {code}, "Message": "account problem"}}"#);
        assert_eq!(class("postmark", 422, &body), AuthRefused, "{code}");
    }
    assert_eq!(
        class(
            "postmark",
            401,
            r#"{"ErrorCode": 10, "Message": "No Account or Server API tokens were supplied"}"#
        ),
        AuthRefused
    );
}

#[test]
fn resend() {
    let sent = answer(
        "resend",
        200,
        &[],
        r#"{"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}"#,
    );
    assert_eq!(
        sent.message_id.as_deref(),
        Some("49a3999c-0ce1-4ea6-ab68-afcd6dc2e794")
    );
    let throttled = answer(
        "resend",
        429,
        &[
            ("ratelimit-limit", "2"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "1"),
            ("retry-after", "1"),
        ],
        r#"{"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests. You can only make 2 requests per second."}"#,
    );
    assert_eq!((throttled.class, throttled.wait), (Throttled, after(1.0)));
    let in_flight = answer(
        "resend",
        409,
        &[],
        r#"{"statusCode": 409, "name": "concurrent_idempotent_requests", "message": "Same idempotency key used while original request is still in progress."}"#,
    );
    assert_eq!(in_flight.class, MAYBE);
    let reused = answer(
        "resend",
        409,
        &[],
        r#"{"statusCode": 409, "name": "invalid_idempotent_request", "message": "Same idempotency key used with a different request payload."}"#,
    );
    assert_eq!(
        (reused.class, reused.detail.as_str()),
        (
            Permanent,
            "Same idempotency key used with a different request payload."
        )
    );
    assert_eq!(
        class(
            "resend",
            422,
            r#"{"name": "validation_error", "message": "Invalid `to` field."}"#
        ),
        Permanent
    );
    assert_eq!(
        class("resend", 401, r#"{"name": "missing_api_key"}"#),
        AuthRefused
    );
    assert_eq!(
        class("resend", 403, r#"{"name": "invalid_api_key"}"#),
        AuthRefused
    );
}
