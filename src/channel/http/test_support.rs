//! What the HTTP channel's tests share: a sample message, specs from TOML
//! text, a fixed clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::compile::ResolvedSpec;
use super::spec::HttpSpec;
use crate::send::api::{MessagePayload, OutgoingMessage, Token};

pub(crate) const SECRET: &str = "s3cret-T0KEN";

pub(crate) fn token() -> Token {
    Token::new(SECRET.to_string())
}

/// A message with a subject, a text body and no HTML.
pub(crate) fn message(recipient: &str) -> OutgoingMessage {
    OutgoingMessage {
        payload: MessagePayload {
            recipients: vec![recipient.to_string()],
            subject: Some("Hello".to_string()),
            body: "Hi Ada,\nsee you \"soon\".".to_string(),
        },
        html: None,
        fields: [("company".to_string(), "Acme & Co".to_string())].into(),
        idempotency_key: "idem-42".to_string(),
    }
}

pub(crate) fn with_html(mut message: OutgoingMessage) -> OutgoingMessage {
    message.html = Some("<p>Hi Ada</p>".to_string());
    message
}

pub(crate) fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

pub(crate) fn resolve(text: &str, pairs: &[(&str, &str)]) -> ResolvedSpec {
    HttpSpec::from_toml(text)
        .unwrap()
        .with_settings(&settings(pairs))
        .unwrap()
}

/// 2024-06-01T12:00:00Z.
pub(crate) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-06-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}
