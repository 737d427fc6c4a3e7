//! The API's request and error shapes: parsing a message, naming what is wrong.
//!
//! A sandbox earns its keep by being stricter and clearer than the real API:
//! a malformed request gets a 400 whose `message` says which field is wrong
//! and how, so a template or client bug shows up on the first try. Everything
//! here is pure and tested without a server.

use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A well-formed `POST /v2/messages` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRequest {
    pub recipients: Vec<String>,
    /// `None` when the field is absent or `null`.
    pub subject: Option<String>,
    pub body: String,
}

/// An error response: a status and the JSON `{"error": code, "message": text}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.code, "message": self.message }).to_string()
    }
}

/// Parse and check a message body.
pub fn parse_message(bytes: &[u8]) -> Result<MessageRequest, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the request body is not valid JSON: {error}"),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(ApiError::invalid(format!(
            "the request body must be a JSON object with `recipients` and `body`, got {}",
            kind(&value)
        )));
    };
    let recipients = match object.get("recipients") {
        None => {
            return Err(ApiError::invalid(
                "`recipients` is missing; expected a non-empty array of strings",
            ));
        }
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(ApiError::invalid(
                "`recipients` is empty; give at least one recipient",
            ));
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) if !text.trim().is_empty() => Ok(text.clone()),
                Value::String(_) => Err(ApiError::invalid(format!(
                    "`recipients[{index}]` is an empty string"
                ))),
                other => Err(ApiError::invalid(format!(
                    "`recipients[{index}]` must be a string, got {}",
                    kind(other)
                ))),
            })
            .collect::<Result<Vec<String>, ApiError>>()?,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`recipients` must be an array of strings, got {}",
                kind(other)
            )));
        }
    };
    let subject = match object.get("subject") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`subject` must be a string when present, got {}",
                kind(other)
            )));
        }
    };
    let body = match object.get("body") {
        None => {
            return Err(ApiError::invalid(
                "`body` is missing; expected a non-empty string",
            ));
        }
        Some(Value::String(text)) if text.trim().is_empty() => {
            return Err(ApiError::invalid(
                "`body` is empty; expected a non-empty string",
            ));
        }
        Some(Value::String(text)) => text.clone(),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`body` must be a string, got {}",
                kind(other)
            )));
        }
    };
    Ok(MessageRequest {
        recipients,
        subject,
        body,
    })
}

/// How a JSON value is named in error messages: "a string", "null"...
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The longest `Idempotency-Key` accepted, as in common payment APIs.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The `Idempotency-Key` of a request: `Ok(None)` when absent.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    idempotency_key_up_to(headers, MAX_IDEMPOTENCY_KEY)
}

/// As [`idempotency_key`], for an API whose longest key is `max` characters.
pub fn idempotency_key_up_to(headers: &HeaderMap, max: usize) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("the Idempotency-Key header {why}"),
        )
    };
    let key = value
        .to_str()
        .map_err(|_| invalid("must be visible ASCII"))?
        .trim();
    if key.is_empty() {
        return Err(invalid("is empty"));
    }
    if key.len() > max {
        return Err(invalid(&format!("is longer than {max} characters")));
    }
    Ok(Some(key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn error(body: &str) -> ApiError {
        parse_message(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn accepts_a_full_message_and_an_absent_or_empty_subject() {
        let full =
            parse_message(br#"{"recipients":["a@x.io","b@x.io"],"subject":"Hi","body":"Hello"}"#);
        assert_eq!(
            full,
            Ok(MessageRequest {
                recipients: vec!["a@x.io".into(), "b@x.io".into()],
                subject: Some("Hi".into()),
                body: "Hello".into(),
            })
        );
        let absent = parse_message(br#"{"recipients":["a"],"body":"b"}"#).unwrap();
        assert_eq!(absent.subject, None);
        let null = parse_message(br#"{"recipients":["a"],"subject":null,"body":"b"}"#).unwrap();
        assert_eq!(null.subject, None);
        let empty = parse_message(br#"{"recipients":["a"],"subject":"","body":"b"}"#).unwrap();
        assert_eq!(empty.subject, Some(String::new()));
    }

    #[test]
    fn malformed_json_is_invalid_json() {
        let e = error("{not json");
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        assert!(
            e.message.starts_with("the request body is not valid JSON"),
            "{}",
            e.message
        );
        assert_eq!(error("").code, "invalid_json");
    }

    #[test]
    fn each_field_error_names_the_field() {
        let cases = [
            (r#"[1,2]"#, "must be a JSON object"),
            (r#"{"body":"b"}"#, "`recipients` is missing"),
            (r#"{"recipients":[],"body":"b"}"#, "`recipients` is empty"),
            (
                r#"{"recipients":"a@x.io","body":"b"}"#,
                "`recipients` must be an array of strings, got a string",
            ),
            (
                r#"{"recipients":["a",3],"body":"b"}"#,
                "`recipients[1]` must be a string, got a number",
            ),
            (
                r#"{"recipients":[" "],"body":"b"}"#,
                "`recipients[0]` is an empty string",
            ),
            (r#"{"recipients":["a"]}"#, "`body` is missing"),
            (r#"{"recipients":["a"],"body":""}"#, "`body` is empty"),
            (
                r#"{"recipients":["a"],"body":{"x":1}}"#,
                "`body` must be a string, got an object",
            ),
            (
                r#"{"recipients":["a"],"subject":5,"body":"b"}"#,
                "`subject` must be a string when present",
            ),
        ];
        for (body, expected) in cases {
            let e = error(body);
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, "invalid_request"),
                "{body}"
            );
            assert!(e.message.contains(expected), "{body}: {}", e.message);
        }
    }

    #[test]
    fn error_body_is_json_with_code_and_message() {
        let e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "no \"token\"");
        let value: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": "unauthorized", "message": "no \"token\""})
        );
    }

    #[test]
    fn bearer_tokens() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            bearer_token(&headers).map(str::to_string)
        };
        assert_eq!(with("Bearer abc"), Some("abc".into()));
        assert_eq!(with("bearer  abc "), Some("abc".into()));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(with("abc"), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn idempotency_keys() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("idempotency-key", HeaderValue::from_str(value).unwrap());
            idempotency_key(&headers)
        };
        assert_eq!(idempotency_key(&HeaderMap::new()), Ok(None));
        assert_eq!(with("k-1"), Ok(Some("k-1".into())));
        assert_eq!(with(" ").unwrap_err().code, "invalid_idempotency_key");
        assert!(with(&"k".repeat(256)).is_err());
        assert!(with(&"k".repeat(255)).is_ok());
    }
}
