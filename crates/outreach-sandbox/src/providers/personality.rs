//! What a provider personality is, and the helpers that read its requests.
//!
//! A personality answers the questions the pipeline asks in order: whose
//! credentials are these, is the body well-formed, how is a refused
//! recipient, a throttle or a success told, and which rate-limit headers go
//! on every answer. Everything here is pure: the pipeline passes the request,
//! the quota and `now` in, so each provider's answers are unit-tested
//! without a server.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::super::ledger::{Receipt, Reply, Shared};
use super::super::limiter::Quota;
use super::super::request::{ApiError, MAX_IDEMPOTENCY_KEY, MessageRequest, bearer_token, kind};
use super::reply;

/// How a provider treats the `Idempotency-Key` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// The provider does not document one: every request is a new message.
    Ignored,
    /// A repeated key gets the first response again; the body is not compared.
    Replay,
    /// As `Replay`, but the same key with a different body is refused.
    ReplayOrConflict,
}

/// The parts of a request a personality reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

impl<'a> Call<'a> {
    /// The `index`-th path segment (0 is the first after the leading `/`).
    pub fn segment(&self, index: usize) -> Option<&'a str> {
        self.path.trim_start_matches('/').split('/').nth(index)
    }

    /// The value of a query parameter, if present (not percent-decoded:
    /// the parameters read here are flags such as `wait=true`).
    pub fn query_param(&self, name: &str) -> Option<&'a str> {
        self.query?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// Whether the body is declared form-encoded rather than JSON.
    pub fn is_form(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
    }
}

/// A well-formed message: what the ledger records, plus the request values
/// the provider's success response echoes back (a `From` number, a domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Submission {
    pub message: MessageRequest,
    pub echo: Vec<(&'static str, String)>,
}

impl Submission {
    pub fn new(message: MessageRequest) -> Submission {
        Submission {
            message,
            echo: Vec::new(),
        }
    }

    pub fn echoing(mut self, name: &'static str, value: impl Into<String>) -> Submission {
        self.echo.push((name, value.into()));
        self
    }

    /// An echoed value, empty when absent.
    pub fn echoed(&self, name: &str) -> &str {
        self.echo
            .iter()
            .find_map(|(key, value)| (*key == name).then_some(value.as_str()))
            .unwrap_or("")
    }

    /// The first recipient (every provider here has at least one).
    pub fn recipient(&self) -> &str {
        self.message.recipients.first().map_or("", String::as_str)
    }
}

/// One provider's way of speaking. Implementations are unit structs.
pub(crate) trait Personality: Sync {
    /// The axum route patterns answered with `POST`.
    fn paths(&self) -> &'static [&'static str];
    /// The path as the banner shows it, placeholders in braces.
    fn shown_path(&self) -> &'static str;
    /// Where the token goes, as the banner shows it.
    fn auth_hint(&self) -> &'static str;
    /// The account whose token this is, or the provider's auth failure.
    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply>;
    /// Check the body; a malformed request gets the provider's 4xx.
    fn parse(&self, call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply>;
    /// The provider's permanent failure for a recipient it will not deliver to.
    fn rejected(&self, call: &Call<'_>, recipient: &str) -> Reply;
    /// The provider's answer when over the limit.
    fn throttled(&self, retry_after: Duration) -> Reply;
    /// Name and answer an accepted message; `sequence` counts from 1.
    fn receipt(
        &self,
        call: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt;
    /// Rate-limit headers for every answer after authentication;
    /// `retry_after` is set on throttles only. Default: none.
    fn rate_headers(
        &self,
        _headers: &mut HeaderMap,
        _quota: &Quota,
        _retry_after: Option<Duration>,
        _now: SystemTime,
    ) {
    }
    fn idempotency(&self) -> Idempotency {
        Idempotency::Ignored
    }
    /// The longest `Idempotency-Key` accepted.
    fn max_idempotency_key(&self) -> usize {
        MAX_IDEMPOTENCY_KEY
    }
    /// A malformed `Idempotency-Key` (only asked when keys are honoured).
    fn invalid_idempotency_key(&self, error: &ApiError) -> Reply {
        reply::api_error(error)
    }
    /// The same key with a different body (only for `ReplayOrConflict`).
    fn key_conflict(&self) -> Reply {
        reply::api_error(&ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different body",
        ))
    }
}

/// The account of a request's bearer token.
pub(crate) fn bearer_account(call: &Call<'_>, shared: &Shared) -> Option<usize> {
    bearer_token(call.headers).and_then(|token| shared.account_of(token))
}

/// The user and password of `Authorization: Basic`, if well-formed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The value of `Authorization` after a scheme such as `Bot`.
pub(crate) fn scheme_token<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, token) = value.trim().split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// A form-encoded body as name/value pairs, repeats kept in order.
pub(crate) fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    serde_urlencoded::from_bytes(body)
        .map_err(|error| format!("the body is not form-encoded (name=value&...): {error}"))
}

/// The first non-blank value of a form field.
pub(crate) fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, value)| key == name && !value.trim().is_empty())
        .map(|(_, value)| value.as_str())
}

/// A JSON body that must be an object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "the body must be a JSON object, got {}",
            kind(&other)
        )),
        Err(error) => Err(format!("the body is not valid JSON: {error}")),
    }
}

/// A field that should be a non-blank string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text<'a> {
    Missing,
    Blank,
    /// Present but not a string: the JSON kind, e.g. "a number".
    Wrong(&'static str),
    Given(&'a str),
}

/// Read `name` from a JSON object as a non-blank string.
pub(crate) fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Text<'a> {
    match object.get(name) {
        None | Some(Value::Null) => Text::Missing,
        Some(Value::String(value)) if value.trim().is_empty() => Text::Blank,
        Some(Value::String(value)) => Text::Given(value),
        Some(other) => Text::Wrong(kind(other)),
    }
}

/// A message with one recipient.
pub(crate) fn message_to(recipient: &str, subject: Option<&str>, body: &str) -> MessageRequest {
    MessageRequest {
        recipients: vec![recipient.to_string()],
        subject: subject.map(str::to_string),
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn calls_read_segments_query_and_content_type() {
        let form = headers(&[(
            "content-type",
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        )]);
        let call = Call {
            path: "/api/webhooks/123/tok",
            query: Some("wait=true&thread_id"),
            headers: &form,
        };
        assert_eq!(call.segment(0), Some("api"));
        assert_eq!(call.segment(3), Some("tok"));
        assert_eq!(call.segment(4), None);
        assert_eq!(call.query_param("wait"), Some("true"));
        assert_eq!(call.query_param("thread_id"), Some(""));
        assert_eq!(call.query_param("nope"), None);
        assert!(call.is_form());
        let json = headers(&[("content-type", "application/json")]);
        assert!(
            !Call {
                headers: &json,
                ..call
            }
            .is_form()
        );
    }

    #[test]
    fn basic_credentials_decode_user_and_password() {
        // "api:key-123" and "AC1:tok:en" (a colon in the password is kept).
        let given = |value: &'static str| basic_credentials(&headers(&[("authorization", value)]));
        assert_eq!(
            given("Basic YXBpOmtleS0xMjM="),
            Some(("api".into(), "key-123".into()))
        );
        assert_eq!(
            given("basic QUMxOnRvazplbg=="),
            Some(("AC1".into(), "tok:en".into()))
        );
        assert_eq!(given("Basic !!!"), None);
        assert_eq!(given("Bearer YXBpOmtleS0xMjM="), None);
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn scheme_tokens_need_their_scheme() {
        let map = headers(&[("authorization", "Bot abc.def")]);
        assert_eq!(scheme_token(&map, "bot"), Some("abc.def"));
        assert_eq!(scheme_token(&map, "Bearer"), None);
    }

    #[test]
    fn forms_keep_repeats_and_skip_blank_values() {
        let pairs = form_pairs(b"to=a%40x.io&to=b%40x.io&text=Hi+there&subject=").unwrap();
        assert_eq!(pairs.len(), 4);
        assert_eq!(form_value(&pairs, "to"), Some("a@x.io"));
        assert_eq!(form_value(&pairs, "text"), Some("Hi there"));
        assert_eq!(form_value(&pairs, "subject"), None);
    }

    #[test]
    fn json_objects_and_text_fields() {
        assert!(json_object(b"[1]").unwrap_err().contains("got an array"));
        assert!(json_object(b"{").unwrap_err().contains("not valid JSON"));
        let object = json_object(br#"{"a":"x","b":" ","c":3,"d":null}"#).unwrap();
        assert_eq!(text(&object, "a"), Text::Given("x"));
        assert_eq!(text(&object, "b"), Text::Blank);
        assert_eq!(text(&object, "c"), Text::Wrong("a number"));
        assert_eq!(text(&object, "d"), Text::Missing);
        assert_eq!(text(&object, "e"), Text::Missing);
    }

    #[test]
    fn submissions_echo_by_name() {
        let submission =
            Submission::new(message_to("+15550001", None, "Hi")).echoing("from", "+1555");
        assert_eq!(submission.echoed("from"), "+1555");
        assert_eq!(submission.echoed("to"), "");
        assert_eq!(submission.recipient(), "+15550001");
    }
}
