//! What a provider's response means, decided by the spec's rules: pure, so
//! every preset's answers are tested from sample responses alone.
//!
//! In order:
//! 1. The first rule whose statuses and body conditions all match decides
//!    the class (Slack's HTTP 200 with `{"ok": false}`, Mailgun's 420).
//! 2. Without a matching rule, the status decides as for any HTTP API
//!    ([`ResponseClass::of_http_status`]).
//! 3. A throttled or transient response's wait is read from the matching
//!    rule's `wait` sources, else `response.wait`: the first that reads.
//! 4. A sent response's message id is read from `response.message_id`.
//! 5. A response not sent is described by `response.error` (the provider's
//!    words, e.g. `channel_not_found`), else by the status's reason phrase.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::compile::ResolvedSpec;
use super::rules::{Condition, Rule, Source, Test};
use super::wait::find_wait;
use crate::send::api::{ResponseClass, http_reason_phrase};

/// Provider error texts longer than this are cut (the body excerpt keeps
/// the rest).
const DETAIL_CHARS: usize = 200;

/// What a response means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub class: ResponseClass,
    /// When to try again, for a throttled or transient response that says.
    pub wait: Option<DateTime<Utc>>,
    /// The provider's id for a sent message.
    pub message_id: Option<String>,
    /// The provider's error in words, else the status's reason phrase.
    pub detail: String,
}

/// Classifies one response by `spec`'s rules. `now` is when it arrived.
pub fn classify(
    spec: &ResolvedSpec,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Classified {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let json = json.as_ref();
    let rules = &spec.response;
    let rule = rules.rules.iter().find(|rule| rule.matches(status, json));
    let class = rule.map_or_else(|| ResponseClass::of_http_status(status), |rule| rule.class);
    let wait = match class {
        ResponseClass::Throttled | ResponseClass::Transient { .. } => {
            let waits = rule
                .and_then(|rule| rule.wait.as_deref())
                .unwrap_or(&rules.wait);
            find_wait(waits, headers, json, now)
        }
        _ => None,
    };
    let message_id = match class {
        ResponseClass::Sent => first_text(&rules.message_id, headers, json),
        _ => None,
    };
    let detail = match class {
        ResponseClass::Sent => None,
        _ => first_text(&rules.error, headers, json),
    }
    .map(|text| cut(&text))
    .unwrap_or_else(|| http_reason_phrase(status).to_string());
    Classified {
        class,
        wait,
        message_id,
        detail,
    }
}

impl Rule {
    fn matches(&self, status: u16, json: Option<&serde_json::Value>) -> bool {
        let status_matches = self.statuses.is_empty()
            || self
                .statuses
                .iter()
                .any(|(low, high)| (*low..=*high).contains(&status));
        status_matches
            && self
                .conditions
                .iter()
                .all(|condition| condition.holds(json))
    }
}

impl Condition {
    /// A body that is not JSON, or has nothing at the pointer, satisfies
    /// only `exists = false`.
    fn holds(&self, json: Option<&serde_json::Value>) -> bool {
        let value = json.and_then(|json| json.pointer(&self.pointer));
        match (&self.test, value) {
            (Test::Exists(expected), value) => value.is_some() == *expected,
            (_, None) => false,
            (Test::Equals(expected), Some(value)) => value == expected,
            (Test::NotEquals(expected), Some(value)) => value != expected,
            (Test::OneOf(expected), Some(value)) => expected.contains(value),
        }
    }
}

/// The first of `sources` present in the response, as text.
fn first_text(
    sources: &[Source],
    headers: &HeaderMap,
    json: Option<&serde_json::Value>,
) -> Option<String> {
    sources.iter().find_map(|source| {
        let text = match source {
            Source::Header(name) => headers.get(name)?.to_str().ok()?.trim().to_string(),
            Source::Pointer(pointer) => match json?.pointer(pointer)? {
                serde_json::Value::Null => return None,
                serde_json::Value::String(text) => text.trim().to_string(),
                other => other.to_string(),
            },
        };
        (!text.is_empty()).then_some(text)
    })
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(DETAIL_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::http::test_support::{now, resolve};
    use chrono::TimeDelta;
    use reqwest::header::{HeaderName, HeaderValue};

    const SPEC: &str = r#"
        url = "https://x.test/"
        auth = { kind = "none" }
        [response]
        message_id = [{ pointer = "/result/id" }, { header = "X-Id" }]
        error = [{ pointer = "/error" }, { pointer = "/description" }]
        wait = [{ pointer = "/retry_after" }]
        [[response.rules]]
        status = [200]
        body = [{ pointer = "/ok", equals = false }, { pointer = "/error", in = ["invalid_auth"] }]
        class = "auth_refused"
        [[response.rules]]
        status = ["2xx"]
        body = [{ pointer = "/ok", not_equals = true }]
        class = "permanent"
        [[response.rules]]
        status = [420]
        class = "throttled"
        wait = [{ header = "X-Reset", unit = "epoch_seconds" }, { until = "next_utc_midnight" }]
        [[response.rules]]
        body = [{ pointer = "/partial", exists = true }]
        class = "transient"
        maybe_delivered = true
    "#;

    fn classify_json(status: u16, headers: &[(&str, &str)], body: &str) -> Classified {
        let spec = resolve(SPEC, &[]);
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        classify(&spec, status, &map, body.as_bytes(), now())
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let auth = classify_json(200, &[], r#"{"ok": false, "error": "invalid_auth"}"#);
        assert_eq!(auth.class, ResponseClass::AuthRefused);
        assert_eq!(auth.detail, "invalid_auth");
        let other = classify_json(200, &[], r#"{"ok": false, "error": "channel_not_found"}"#);
        assert_eq!(other.class, ResponseClass::Permanent);
        assert_eq!(other.detail, "channel_not_found");
        assert_eq!(other.message_id, None);
    }

    #[test]
    fn without_a_rule_the_status_decides() {
        let sent = classify_json(201, &[("X-Id", "m-7")], r#"{"ok": true}"#);
        assert_eq!(sent.class, ResponseClass::Sent);
        assert_eq!(sent.message_id.as_deref(), Some("m-7"));
        assert_eq!(sent.detail, "Created");
        let sent = classify_json(200, &[], r#"{"ok": true, "result": {"id": 42}}"#);
        assert_eq!(sent.message_id.as_deref(), Some("42"));
        // A body that is not JSON meets no body condition.
        assert_eq!(classify_json(200, &[], "OK").class, ResponseClass::Sent);
        assert_eq!(classify_json(404, &[], "").class, ResponseClass::Permanent);
        assert_eq!(classify_json(404, &[], "").detail, "Not Found");
        let busy = classify_json(503, &[], r#"{"retry_after": 1.5}"#);
        assert_eq!(
            busy.class,
            ResponseClass::Transient {
                maybe_delivered: false
            }
        );
        assert_eq!(busy.wait, Some(now() + TimeDelta::milliseconds(1500)));
    }

    #[test]
    fn a_rule_wait_replaces_the_default() {
        // 2024-06-01T12:02:00Z is 1717243320.
        let throttled = classify_json(420, &[("X-Reset", "1717243320")], r#"{"retry_after": 9}"#);
        assert_eq!(throttled.class, ResponseClass::Throttled);
        assert_eq!(throttled.wait, Some(now() + TimeDelta::seconds(120)));
        let daily = classify_json(420, &[], "");
        assert_eq!(daily.wait, Some(now() + TimeDelta::hours(12)));
        assert_eq!(daily.detail, "");
        let plain = classify_json(
            429,
            &[],
            r#"{"retry_after": 9, "description": "slow down"}"#,
        );
        assert_eq!(plain.wait, Some(now() + TimeDelta::seconds(9)));
        assert_eq!(plain.detail, "slow down");
    }

    #[test]
    fn exists_and_maybe_delivered() {
        let partial = classify_json(500, &[], r#"{"partial": null}"#);
        assert_eq!(
            partial.class,
            ResponseClass::Transient {
                maybe_delivered: true
            }
        );
        // No wait is read for a sent, permanent or refused response.
        let refused = classify_json(401, &[], r#"{"retry_after": 5}"#);
        assert_eq!(
            (refused.class, refused.wait),
            (ResponseClass::AuthRefused, None)
        );
    }

    #[test]
    fn long_details_are_cut() {
        let long = "x".repeat(500);
        let classified = classify_json(400, &[], &format!(r#"{{"error": "{long}"}}"#));
        assert_eq!(classified.detail.chars().count(), DETAIL_CHARS + 3);
    }
}
