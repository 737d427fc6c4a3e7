//! The messaging presets' reading of sample responses (helpers and the
//! e-mail providers in `response_tests.rs`).

use super::response_tests::{MAYBE, NOT_TAKEN, after, answer, class};
use crate::send::api::ResponseClass::*;

#[test]
fn linkedin() {
    let sent = answer("linkedin", 201, &[], r#"{"id": "msg-1"}"#);
    assert_eq!(
        (sent.class, sent.message_id.as_deref()),
        (Sent, Some("msg-1"))
    );
    let by_header = answer("linkedin", 201, &[("x-restli-id", "urn:li:message:9")], "");
    assert_eq!(by_header.message_id.as_deref(), Some("urn:li:message:9"));
    // The daily quota: no headers, so the next 00:00 UTC (now is 12:00).
    let quota = answer(
        "linkedin",
        429,
        &[],
        r#"{"status": 429, "message": "Resource level throttle limit for calls to this resource is reached"}"#,
    );
    assert_eq!(quota.class, Throttled);
    assert_eq!(quota.wait, after(12.0 * 3600.0));
    assert!(quota.detail.starts_with("Resource level throttle"));
    // A Retry-After, when LinkedIn sends one, wins.
    let hinted = answer("linkedin", 429, &[("Retry-After", "30")], "");
    assert_eq!(hinted.wait, after(30.0));
    let dated = answer(
        "linkedin",
        429,
        &[("Retry-After", "Sat, 01 Jun 2024 12:01:00 GMT")],
        "",
    );
    assert_eq!(dated.wait, after(60.0));
    assert_eq!(class("linkedin", 401, ""), AuthRefused);
    assert_eq!(class("linkedin", 403, ""), AuthRefused);
    assert_eq!(class("linkedin", 422, ""), Permanent);
    assert_eq!(class("linkedin", 502, ""), MAYBE);
}

#[test]
fn twilio() {
    let sent = answer(
        "twilio",
        201,
        &[],
        r#"{"sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued"}"#,
    );
    assert_eq!(
        (sent.class, sent.message_id.as_deref()),
        (Sent, Some("SM1f0e8ae6ade43cb3c0ce4525424e404f"))
    );
    let throttled = answer(
        "twilio",
        429,
        &[],
        r#"{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}"#,
    );
    assert_eq!(
        (throttled.class, throttled.detail.as_str()),
        (Throttled, "Too Many Requests")
    );
    let bad = answer(
        "twilio",
        400,
        &[],
        r#"{"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.", "status": 400}"#,
    );
    assert_eq!(bad.class, Permanent);
    assert!(bad.detail.contains("not a valid phone number"));
    assert_eq!(
        class(
            "twilio",
            401,
            r#"{"code": 20003, "message": "Authenticate", "status": 401}"#
        ),
        AuthRefused
    );
}

#[test]
fn slack() {
    let sent = answer(
        "slack",
        200,
        &[],
        r#"{"ok": true, "channel": "C0123456", "ts": "1503435956.000247", "message": {"text": "hi"}}"#,
    );
    assert_eq!(
        (sent.class, sent.message_id.as_deref()),
        (Sent, Some("1503435956.000247"))
    );
    // Errors arrive as HTTP 200.
    let auth = answer(
        "slack",
        200,
        &[],
        r#"{"ok": false, "error": "invalid_auth"}"#,
    );
    assert_eq!(
        (auth.class, auth.detail.as_str()),
        (AuthRefused, "invalid_auth")
    );
    for error in [
        "not_authed",
        "token_revoked",
        "account_inactive",
        "missing_scope",
    ] {
        let body = format!(r#"{{"ok": false, "error": "{error}"}}"#);
        assert_eq!(class("slack", 200, &body), AuthRefused, "{error}");
    }
    let missing = answer(
        "slack",
        200,
        &[],
        r#"{"ok": false, "error": "channel_not_found"}"#,
    );
    assert_eq!(
        (missing.class, missing.detail.as_str()),
        (Permanent, "channel_not_found")
    );
    assert_eq!(
        class("slack", 200, r#"{"ok": false, "error": "not_in_channel"}"#),
        Permanent
    );
    assert_eq!(
        class("slack", 200, r#"{"ok": false, "error": "internal_error"}"#),
        MAYBE
    );
    assert_eq!(
        class(
            "slack",
            200,
            r#"{"ok": false, "error": "service_unavailable"}"#
        ),
        NOT_TAKEN
    );
    // HTTP 429 with Retry-After (read by the executor from the headers).
    let limited = answer(
        "slack",
        429,
        &[("Retry-After", "30")],
        r#"{"ok": false, "error": "ratelimited"}"#,
    );
    assert_eq!(
        (limited.class, limited.detail.as_str()),
        (Throttled, "ratelimited")
    );
    assert_eq!(
        class("slack", 200, r#"{"ok": false, "error": "ratelimited"}"#),
        Throttled
    );
}

#[test]
fn discord_webhook() {
    let sent = answer(
        "discord-webhook",
        200,
        &[],
        r#"{"id": "1180000000000000001", "content": "hi"}"#,
    );
    assert_eq!(
        (sent.class, sent.message_id.as_deref()),
        (Sent, Some("1180000000000000001"))
    );
    assert_eq!(class("discord-webhook", 204, ""), Sent);
    // A float retry_after in the body, more precise than the headers.
    let limited = answer(
        "discord-webhook",
        429,
        &[
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1717243201.75"),
            ("X-RateLimit-Reset-After", "1.750"),
            ("X-RateLimit-Bucket", "abcd1234"),
        ],
        r#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#,
    );
    assert_eq!((limited.class, limited.wait), (Throttled, after(1.5)));
    let headers_only = answer(
        "discord-webhook",
        429,
        &[("X-RateLimit-Reset-After", "0.25")],
        "",
    );
    assert_eq!(headers_only.wait, after(0.25));
    // The webhook itself is wrong: every message would fail.
    assert_eq!(
        class(
            "discord-webhook",
            401,
            r#"{"message": "Invalid Webhook Token", "code": 50027}"#
        ),
        AuthRefused
    );
    assert_eq!(
        class(
            "discord-webhook",
            404,
            r#"{"message": "Unknown Webhook", "code": 10015}"#
        ),
        AuthRefused
    );
    assert_eq!(
        class(
            "discord-webhook",
            400,
            r#"{"message": "Cannot send an empty message", "code": 50006}"#
        ),
        Permanent
    );
}

#[test]
fn discord_bot() {
    assert_eq!(
        answer("discord-bot", 200, &[], r#"{"id": "42"}"#)
            .message_id
            .as_deref(),
        Some("42")
    );
    let limited = answer(
        "discord-bot",
        429,
        &[],
        r#"{"message": "You are being rate limited.", "retry_after": 0.337, "global": true}"#,
    );
    assert_eq!((limited.class, limited.wait), (Throttled, after(0.337)));
    assert_eq!(
        class(
            "discord-bot",
            401,
            r#"{"message": "401: Unauthorized", "code": 0}"#
        ),
        AuthRefused
    );
    // One channel the bot may not post to: that message fails, the bot goes on.
    let denied = answer(
        "discord-bot",
        403,
        &[],
        r#"{"message": "Missing Permissions", "code": 50013}"#,
    );
    assert_eq!(
        (denied.class, denied.detail.as_str()),
        (Permanent, "Missing Permissions")
    );
    assert_eq!(
        class(
            "discord-bot",
            404,
            r#"{"message": "Unknown Channel", "code": 10003}"#
        ),
        Permanent
    );
}

#[test]
fn telegram() {
    let sent = answer(
        "telegram",
        200,
        &[],
        r#"{"ok": true, "result": {"message_id": 123, "chat": {"id": 42}, "text": "hi"}}"#,
    );
    assert_eq!(
        (sent.class, sent.message_id.as_deref()),
        (Sent, Some("123"))
    );
    let limited = answer(
        "telegram",
        429,
        &[],
        r#"{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 5", "parameters": {"retry_after": 5}}"#,
    );
    assert_eq!((limited.class, limited.wait), (Throttled, after(5.0)));
    assert_eq!(limited.detail, "Too Many Requests: retry after 5");
    let missing = answer(
        "telegram",
        400,
        &[],
        r#"{"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}"#,
    );
    assert_eq!(
        (missing.class, missing.detail.as_str()),
        (Permanent, "Bad Request: chat not found")
    );
    assert_eq!(
        class(
            "telegram",
            403,
            r#"{"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}"#
        ),
        Permanent
    );
    assert_eq!(
        class(
            "telegram",
            401,
            r#"{"ok": false, "error_code": 401, "description": "Unauthorized"}"#
        ),
        AuthRefused
    );
    assert_eq!(
        class(
            "telegram",
            404,
            r#"{"ok": false, "error_code": 404, "description": "Not Found"}"#
        ),
        AuthRefused
    );
}

#[test]
fn webhook() {
    assert_eq!(class("webhook", 204, ""), Sent);
    assert_eq!(
        answer("webhook", 200, &[], r#"{"id": "7"}"#)
            .message_id
            .as_deref(),
        Some("7")
    );
    assert_eq!(class("webhook", 429, ""), Throttled);
    let refused = answer("webhook", 422, &[], r#"{"error": "unknown recipient"}"#);
    assert_eq!(
        (refused.class, refused.detail.as_str()),
        (Permanent, "unknown recipient")
    );
    assert_eq!(class("webhook", 401, ""), AuthRefused);
    assert_eq!(class("webhook", 503, ""), NOT_TAKEN);
    assert_eq!(class("webhook", 408, ""), NOT_TAKEN);
}
