//! Every preset's request for one sample message: method, URL, headers and
//! the exact body, as the provider's documentation shows them.

use proptest::prelude::*;

use super::get;
use crate::channel::http::request::{PreparedRequest, prepare};
use crate::channel::http::test_support::{SECRET, message, settings, token, with_html};
use crate::send::api::OutgoingMessage;

fn build(name: &str, pairs: &[(&str, &str)], message: &OutgoingMessage) -> PreparedRequest {
    let spec = get(name).unwrap().with_settings(&settings(pairs)).unwrap();
    prepare(&spec, message, &token()).unwrap()
}

/// Headers as sorted `name: value` lines.
fn headers(request: &PreparedRequest) -> Vec<String> {
    let mut lines: Vec<String> = request
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
        .collect();
    lines.sort();
    lines
}

fn body(request: &PreparedRequest) -> &str {
    std::str::from_utf8(request.body()).unwrap()
}

fn line(text: &str) -> String {
    text.replace("SECRET", SECRET)
}

#[test]
fn linkedin() {
    let message = message("urn:li:person:12345");
    let first = build("linkedin", &[], &message);
    assert_eq!(first.method().as_str(), "POST");
    assert_eq!(first.url().as_str(), "https://api.linkedin.com/v2/messages");
    assert_eq!(
        headers(&first),
        [
            "authorization: Bearer s3cret-T0KEN",
            "content-type: application/json",
            "idempotency-key: idem-42",
            "linkedin-version: 202411",
            "x-restli-protocol-version: 2.0.0",
        ]
    );
    assert_eq!(
        body(&first),
        r#"{"recipients":["urn:li:person:12345"],"subject":"Hello","body":"Hi Ada,\nsee you \"soon\"."}"#
    );
    // Byte for byte what outreach's own API client sends, subject or not.
    let mut bare = message.clone();
    bare.payload.subject = None;
    bare.payload.body = "Grüße, \u{1F600} <b>&</b>\t\u{7}".into();
    for message in [message, bare] {
        let sent = build("linkedin", &[], &message);
        assert_eq!(
            body(&sent),
            serde_json::to_string(&message.payload).unwrap()
        );
    }
    let versioned = request_with_version();
    assert!(headers(&versioned).contains(&"linkedin-version: 202501".to_string()));
}

fn request_with_version() -> PreparedRequest {
    build(
        "linkedin",
        &[
            ("version", "202501"),
            ("base_url", "http://127.0.0.1:8080/"),
        ],
        &message("urn:li:person:1"),
    )
}

#[test]
fn base_url_replaces_the_host() {
    let request = request_with_version();
    assert_eq!(request.url().as_str(), "http://127.0.0.1:8080/v2/messages");
}

#[test]
fn sendgrid() {
    let pairs = [("from_email", "you@example.com"), ("from_name", "Alice")];
    let request = build("sendgrid", &pairs, &message("ada@example.com"));
    assert_eq!(
        request.url().as_str(),
        "https://api.sendgrid.com/v3/mail/send"
    );
    assert_eq!(
        headers(&request),
        [
            "authorization: Bearer s3cret-T0KEN",
            "content-type: application/json",
        ]
    );
    assert_eq!(
        body(&request),
        r#"{"personalizations": [{"to": [{"email": "ada@example.com"}]}], "from": {"email": "you@example.com", "name": "Alice"}, "subject": "Hello", "content": [{"type": "text/plain", "value": "Hi Ada,\nsee you \"soon\"."}]}"#
    );
    let html = build(
        "sendgrid",
        &[("from_email", "you@example.com")],
        &with_html(message("ada@example.com")),
    );
    assert_eq!(
        body(&html),
        r#"{"personalizations": [{"to": [{"email": "ada@example.com"}]}], "from": {"email": "you@example.com"}, "subject": "Hello", "content": [{"type": "text/plain", "value": "Hi Ada,\nsee you \"soon\"."}, {"type": "text/html", "value": "<p>Hi Ada</p>"}]}"#
    );
}

#[test]
fn mailgun() {
    let pairs = [
        ("domain", "mg.example.com"),
        ("from", "Alice <alice@mg.example.com>"),
    ];
    let request = build("mailgun", &pairs, &message("ada@example.com"));
    assert_eq!(
        request.url().as_str(),
        "https://api.mailgun.net/v3/mg.example.com/messages"
    );
    assert_eq!(
        headers(&request),
        [
            // base64("api:s3cret-T0KEN")
            "authorization: Basic YXBpOnMzY3JldC1UMEtFTg==",
            "content-type: application/x-www-form-urlencoded",
        ]
    );
    assert_eq!(
        body(&request),
        "from=Alice+%3Calice%40mg.example.com%3E&subject=Hello&text=Hi+Ada%2C%0Asee+you+%22soon%22.&to=ada%40example.com"
    );
    let html = build("mailgun", &pairs, &with_html(message("ada@example.com")));
    assert_eq!(
        body(&html),
        "from=Alice+%3Calice%40mg.example.com%3E&html=%3Cp%3EHi+Ada%3C%2Fp%3E&subject=Hello&text=Hi+Ada%2C%0Asee+you+%22soon%22.&to=ada%40example.com"
    );
    let eu = build(
        "mailgun",
        &[
            pairs[0],
            pairs[1],
            ("base_url", "https://api.eu.mailgun.net"),
        ],
        &message("a@b.test"),
    );
    assert_eq!(
        eu.url().as_str(),
        "https://api.eu.mailgun.net/v3/mg.example.com/messages"
    );
}

#[test]
fn postmark() {
    let pairs = [("from", "Alice <alice@example.com>")];
    let request = build("postmark", &pairs, &message("ada@example.com"));
    assert_eq!(request.url().as_str(), "https://api.postmarkapp.com/email");
    assert_eq!(
        headers(&request),
        [
            "accept: application/json",
            "content-type: application/json",
            &line("x-postmark-server-token: SECRET"),
        ]
    );
    assert_eq!(
        body(&request),
        r#"{"From": "Alice <alice@example.com>", "To": "ada@example.com", "Subject": "Hello", "TextBody": "Hi Ada,\nsee you \"soon\".", "MessageStream": "outbound"}"#
    );
    let html = build(
        "postmark",
        &[pairs[0], ("message_stream", "broadcast")],
        &with_html(message("ada@example.com")),
    );
    assert_eq!(
        body(&html),
        r#"{"From": "Alice <alice@example.com>", "To": "ada@example.com", "Subject": "Hello", "TextBody": "Hi Ada,\nsee you \"soon\".", "HtmlBody": "<p>Hi Ada</p>", "MessageStream": "broadcast"}"#
    );
}

#[test]
fn resend() {
    let pairs = [("from", "Alice <alice@example.com>")];
    let request = build("resend", &pairs, &with_html(message("ada@example.com")));
    assert_eq!(request.url().as_str(), "https://api.resend.com/emails");
    assert_eq!(
        headers(&request),
        [
            "authorization: Bearer s3cret-T0KEN",
            "content-type: application/json",
            "idempotency-key: idem-42",
        ]
    );
    assert_eq!(
        body(&request),
        r#"{"from": "Alice <alice@example.com>", "to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada,\nsee you \"soon\".", "html": "<p>Hi Ada</p>"}"#
    );
}

#[test]
fn twilio() {
    let pairs = [("account_sid", "AC123"), ("from", "+15550100")];
    let request = build("twilio", &pairs, &message("+15550123"));
    assert_eq!(
        request.url().as_str(),
        "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    );
    assert_eq!(
        headers(&request),
        [
            // base64("AC123:s3cret-T0KEN")
            "authorization: Basic QUMxMjM6czNjcmV0LVQwS0VO",
            "content-type: application/x-www-form-urlencoded",
        ]
    );
    assert_eq!(
        body(&request),
        "Body=Hi+Ada%2C%0Asee+you+%22soon%22.&From=%2B15550100&To=%2B15550123"
    );
    let service = build(
        "twilio",
        &[pairs[0], ("messaging_service_sid", "MG9")],
        &message("+15550123"),
    );
    assert_eq!(
        body(&service),
        "Body=Hi+Ada%2C%0Asee+you+%22soon%22.&MessagingServiceSid=MG9&To=%2B15550123"
    );
}

#[test]
fn slack() {
    let request = build("slack", &[], &message("C0123456"));
    assert_eq!(
        request.url().as_str(),
        "https://slack.com/api/chat.postMessage"
    );
    assert_eq!(
        headers(&request),
        [
            "authorization: Bearer s3cret-T0KEN",
            "content-type: application/json; charset=utf-8",
        ]
    );
    assert_eq!(
        body(&request),
        r#"{"channel": "C0123456", "text": "Hi Ada,\nsee you \"soon\"."}"#
    );
}

#[test]
fn discord_webhook() {
    let request = build(
        "discord-webhook",
        &[("webhook_id", "1111")],
        &message("anyone"),
    );
    assert_eq!(
        request.url().as_str(),
        line("https://discord.com/api/webhooks/1111/SECRET?wait=true")
    );
    assert_eq!(headers(&request), ["content-type: application/json"]);
    assert_eq!(
        body(&request),
        r#"{"content": "Hi Ada,\nsee you \"soon\"."}"#
    );
    assert!(
        request
            .redacted()
            .starts_with("POST https://discord.com/api/webhooks/1111/[redacted]?wait=true\n")
    );
}

#[test]
fn discord_bot() {
    let request = build("discord-bot", &[], &message("2222"));
    assert_eq!(
        request.url().as_str(),
        "https://discord.com/api/v10/channels/2222/messages"
    );
    assert_eq!(
        headers(&request),
        [
            &line("authorization: Bot SECRET"),
            "content-type: application/json",
            "user-agent: DiscordBot (outreach, 0.1)",
        ]
    );
    assert_eq!(
        body(&request),
        r#"{"content": "Hi Ada,\nsee you \"soon\"."}"#
    );
}

#[test]
fn telegram() {
    let request = build("telegram", &[], &message("-100123"));
    assert_eq!(
        request.url().as_str(),
        line("https://api.telegram.org/botSECRET/sendMessage")
    );
    assert_eq!(headers(&request), ["content-type: application/json"]);
    assert_eq!(
        body(&request),
        r#"{"chat_id": "-100123", "text": "Hi Ada,\nsee you \"soon\"."}"#
    );
    assert_eq!(
        request.redacted(),
        "POST https://api.telegram.org/bot[redacted]/sendMessage\nContent-Type: application/json\n\n{\"chat_id\": \"-100123\", \"text\": \"Hi Ada,\\nsee you \\\"soon\\\".\"}\n"
    );
}

#[test]
fn webhook() {
    let pairs = [("url", "https://hooks.example.com/outreach")];
    let request = build("webhook", &pairs, &message("ada@example.com"));
    assert_eq!(request.url().as_str(), "https://hooks.example.com/outreach");
    assert_eq!(
        headers(&request),
        [
            "authorization: Bearer s3cret-T0KEN",
            "content-type: application/json",
            "idempotency-key: idem-42",
        ]
    );
    assert_eq!(
        body(&request),
        r#"{"recipient": "ada@example.com", "subject": "Hello", "body": "Hi Ada,\nsee you \"soon\".", "idempotency_key": "idem-42"}"#
    );
}

/// A preset's name, the settings it needs, and where the text goes.
type JsonPreset = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// Each JSON preset, with the settings it needs and where the text goes.
const JSON_PRESETS: [JsonPreset; 9] = [
    ("linkedin", &[], "/body"),
    (
        "sendgrid",
        &[("from_email", "a@b.test")],
        "/content/0/value",
    ),
    ("postmark", &[("from", "a@b.test")], "/TextBody"),
    ("resend", &[("from", "a@b.test")], "/text"),
    ("slack", &[], "/text"),
    ("discord-webhook", &[("webhook_id", "1")], "/content"),
    ("discord-bot", &[], "/content"),
    ("telegram", &[], "/text"),
    ("webhook", &[("url", "https://h.test/")], "/body"),
];

proptest! {
    /// Whatever a message says, every JSON preset's body stays JSON and
    /// carries exactly that text.
    #[test]
    fn no_text_breaks_a_preset_body(text in any::<String>(), subject in "\\PC{0,30}") {
        for (name, pairs, pointer) in JSON_PRESETS {
            let mut message = message("ada@example.com");
            message.payload.body = text.clone();
            message.payload.subject = Some(subject.clone());
            let request = build(name, pairs, &message);
            let json: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
            prop_assert_eq!(json.pointer(pointer).and_then(|v| v.as_str()), Some(text.as_str()), "{}", name);
        }
    }
}
