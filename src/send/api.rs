//! The messaging API as the executor sees it: one request, one response.
//!
//! [`MessageApi`] is the seam: the real implementation posts JSON with
//! reqwest; tests can put anything behind it. Tokens live in [`Token`], whose
//! `Debug` is redacted so no log line or panic message can leak one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Serialize;

/// A bearer token. Never printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(secret: String) -> Token {
        Token(secret)
    }

    /// The secret itself, for a channel that must place it in a request (a
    /// header, a URL path, Basic credentials) or hand it to its protocol (the
    /// SMTP password or XOAUTH2 token). Never print, log or store what this
    /// returns; a channel that shows a request shows it redacted.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    fn header(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// An account's channel and token, resolved at the edge, and where the token
/// came from (for messages; never the value).
#[derive(Clone)]
pub struct AccountChannel {
    /// The account it belongs to: channels are looked up by name.
    pub account: String,
    pub api: std::sync::Arc<dyn MessageApi>,
    pub token: Token,
    /// e.g. `$OUTREACH_TOKEN_ALICE` or `the embedded sandbox`.
    pub source: String,
}

/// The JSON body of `POST /v2/messages`, as in the rate-limit article.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessagePayload {
    pub recipients: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
}

/// One message to send, whatever the channel.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Recipient, subject and text body (also today's JSON request body).
    pub payload: MessagePayload,
    /// The HTML body, when the campaign has an HTML template (e-mail).
    pub html: Option<String>,
    /// The CSV row's values by column, for channels whose request is a
    /// template over them (empty when the channel needs none).
    pub fields: std::collections::BTreeMap<String, String>,
    /// The same on every attempt and resume: the HTTP `Idempotency-Key`,
    /// the e-mail `Message-ID`.
    pub idempotency_key: String,
}

/// What a response means, decided by the channel that understood it: an
/// HTTP status, a provider's `{"ok": false}` body or an SMTP reply code all
/// become one of these, so the executor has one set of rules for every
/// channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseClass {
    /// Taken by the server.
    Sent,
    /// Too many requests (HTTP 429, Mailgun's 420, SMTP 421/452): not taken;
    /// the account waits (the hint in the headers, else backoff) and retries.
    Throttled,
    /// The credentials were refused (HTTP 401/403, SMTP 530/535): the
    /// account stops, the message stays pending.
    AuthRefused,
    /// Worth another try with backoff (HTTP 408/5xx, SMTP 4xx).
    /// `maybe_delivered`: the server may have taken it anyway.
    Transient { maybe_delivered: bool },
    /// Never for this recipient (HTTP 4xx, SMTP 5xx for the address).
    Permanent,
}

impl ResponseClass {
    /// Today's rules for a plain HTTP status.
    pub fn of_http_status(status: u16) -> ResponseClass {
        match status {
            200..=299 => ResponseClass::Sent,
            429 => ResponseClass::Throttled,
            401 | 403 => ResponseClass::AuthRefused,
            // A gateway may have passed the request on before failing.
            500 | 502 | 504 => ResponseClass::Transient {
                maybe_delivered: true,
            },
            408 | 500..=599 => ResponseClass::Transient {
                maybe_delivered: false,
            },
            _ => ResponseClass::Permanent,
        }
    }
}

/// The standard phrase of an HTTP status, for messages.
pub fn http_reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("")
}

/// What came back.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The HTTP status, or the SMTP reply code.
    pub status: u16,
    /// What `status` and the body mean.
    pub class: ResponseClass,
    /// The status in words for messages (`Too Many Requests`), if it has any.
    pub status_text: String,
    /// Rate-limit signals: the response's headers, plus any wait the channel
    /// found elsewhere (a JSON body, an SMTP reply) as `Retry-After`.
    pub headers: HeaderMap,
    /// The start of the body, for failure reasons.
    pub body_excerpt: String,
    /// The message id from a JSON `{"id": ...}` body, if any.
    pub message_id: Option<String>,
}

/// The request did not produce a response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The request never reached the server (refused, DNS, TLS handshake):
    /// the message was certainly not taken.
    #[error("could not connect to {host}: {cause}")]
    Unreachable { host: String, cause: String },
    /// Sent, but the connection failed before a response: the server may have
    /// accepted the message.
    #[error("connection lost before a response: {0}")]
    Interrupted(String),
    #[error("token for this account is not a valid header value")]
    BadToken,
}

impl TransportError {
    /// Whether the server may have received and accepted the message.
    pub fn maybe_delivered(&self) -> bool {
        matches!(
            self,
            TransportError::Timeout(_) | TransportError::Interrupted(_)
        )
    }
}

/// A boxed future, so the trait stays object-safe.
pub type ApiFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ApiResponse, TransportError>> + Send + 'a>>;

/// Sends one message.
pub trait MessageApi: Send + Sync {
    fn send<'a>(&'a self, token: &'a Token, message: &'a OutgoingMessage) -> ApiFuture<'a>;

    /// Whether the server can tell a resend from a new message (an
    /// Idempotency-Key it honours), so a request that may have been taken
    /// can be retried within the run. Without that (SMTP: a Message-ID is
    /// only a hint to the recipient's mail client) such a message ends
    /// `uncertain` after its first attempt, and only
    /// `resume --resend-uncertain` sends it again.
    fn resends_are_recognised(&self) -> bool {
        true
    }

    /// The exact request (or e-mail) `send` would make for `message`, for
    /// `send --dry-run --show-request`; secrets appear as `[redacted]`.
    fn preview(&self, message: &OutgoingMessage) -> String;
}

/// The real API over HTTP(S), with rustls.
#[derive(Debug, Clone)]
pub struct HttpApi {
    client: reqwest::Client,
    endpoint: String,
    /// `host:port`, for errors that must say which server is unreachable.
    host: String,
    timeout: Duration,
}

/// The endpoint as it may be printed: scheme, host, port and path, without
/// user info or query (either may hold a secret).
pub fn endpoint_label(endpoint: &str) -> String {
    match reqwest::Url::parse(endpoint) {
        Ok(url) => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}{}",
                url.scheme(),
                url.host_str().unwrap_or(""),
                url.path()
            )
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

/// `host:port` of an endpoint (the port the scheme implies if none is given).
fn host_and_port(endpoint: &str) -> String {
    match reqwest::Url::parse(endpoint) {
        Ok(url) => match url.port_or_known_default() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_string(),
        },
        Err(_) => "(not a URL)".to_string(),
    }
}

/// `outreach/0.1.0`.
pub const USER_AGENT: &str = concat!("outreach/", env!("CARGO_PKG_VERSION"));

/// How many bytes of an error body are kept as the failure reason.
const EXCERPT_BYTES: usize = 300;

impl HttpApi {
    pub fn new(endpoint: &str, timeout: Duration) -> anyhow::Result<HttpApi> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(4)
            .build()?;
        Ok(HttpApi {
            client,
            endpoint: endpoint.to_string(),
            host: host_and_port(endpoint),
            timeout,
        })
    }

    async fn post(
        &self,
        token: &Token,
        message: &OutgoingMessage,
    ) -> Result<ApiResponse, TransportError> {
        let authorization = token.header().ok_or(TransportError::BadToken)?;
        let response = self
            .client
            .post(&self.endpoint)
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &message.idempotency_key)
            .json(&message.payload)
            .send()
            .await
            .map_err(|error| self.classify(error))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.classify(error))?;
        let message_id = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|json| match json.get("id")? {
                serde_json::Value::String(id) => Some(id.clone()),
                other => Some(other.to_string()),
            });
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]);
        Ok(ApiResponse {
            status,
            class: ResponseClass::of_http_status(status),
            status_text: http_reason_phrase(status).to_string(),
            headers,
            body_excerpt: text.trim().to_string(),
            message_id,
        })
    }

    fn classify(&self, error: reqwest::Error) -> TransportError {
        // Never include the URL's query or any header: only the error kind.
        let error = error.without_url();
        if error.is_timeout() {
            TransportError::Timeout(self.timeout)
        } else if error.is_connect() {
            TransportError::Unreachable {
                host: self.host.clone(),
                cause: root_cause(&error),
            }
        } else {
            TransportError::Interrupted(root_cause(&error))
        }
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

impl MessageApi for HttpApi {
    fn send<'a>(&'a self, token: &'a Token, message: &'a OutgoingMessage) -> ApiFuture<'a> {
        Box::pin(self.post(token, message))
    }

    fn preview(&self, message: &OutgoingMessage) -> String {
        let body = serde_json::to_string_pretty(&message.payload)
            .unwrap_or_else(|error| format!("(cannot show the body: {error})"));
        format!(
            "POST {}\nAuthorization: Bearer [redacted]\nContent-Type: application/json\n\
             Idempotency-Key: {}\nUser-Agent: {USER_AGENT}\n\n{body}\n",
            endpoint_label(&self.endpoint),
            message.idempotency_key
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_never_printed() {
        let token = Token::new("s3cret".into());
        assert_eq!(format!("{token:?}"), "Token([redacted])");
        assert!(token.header().unwrap().is_sensitive());
    }

    #[test]
    fn endpoints_print_without_secrets() {
        assert_eq!(
            endpoint_label("https://user:pw@api.example.com/v2/messages?key=s3cret"),
            "https://api.example.com/v2/messages"
        );
        assert_eq!(
            endpoint_label("http://127.0.0.1:9/v2/messages"),
            "http://127.0.0.1:9/v2/messages"
        );
        assert_eq!(
            host_and_port("https://api.example.com/v2"),
            "api.example.com:443"
        );
        assert_eq!(host_and_port("http://127.0.0.1:9/x"), "127.0.0.1:9");
    }

    #[test]
    fn the_preview_shows_the_request_without_the_token() {
        let api = HttpApi::new(
            "https://api.example.test/v2/messages?key=s3cret",
            Duration::from_secs(1),
        )
        .unwrap();
        let message = OutgoingMessage {
            payload: MessagePayload {
                recipients: vec!["urn:li:person:1".into()],
                subject: Some("Hi".into()),
                body: "Hello".into(),
            },
            html: None,
            fields: Default::default(),
            idempotency_key: "outreach-abc".into(),
        };
        let preview = api.preview(&message);
        assert!(
            preview.starts_with("POST https://api.example.test/v2/messages\n"),
            "{preview}"
        );
        assert!(
            preview.contains("Authorization: Bearer [redacted]"),
            "{preview}"
        );
        assert!(
            preview.contains("Idempotency-Key: outreach-abc"),
            "{preview}"
        );
        assert!(preview.contains("\"body\": \"Hello\""), "{preview}");
        assert!(!preview.contains("s3cret"), "{preview}");
    }

    #[test]
    fn http_statuses_keep_their_meaning() {
        use ResponseClass::*;
        assert_eq!(ResponseClass::of_http_status(201), Sent);
        assert_eq!(ResponseClass::of_http_status(429), Throttled);
        assert_eq!(ResponseClass::of_http_status(403), AuthRefused);
        assert_eq!(
            ResponseClass::of_http_status(502),
            Transient {
                maybe_delivered: true
            }
        );
        assert_eq!(
            ResponseClass::of_http_status(503),
            Transient {
                maybe_delivered: false
            }
        );
        assert_eq!(
            ResponseClass::of_http_status(408),
            Transient {
                maybe_delivered: false
            }
        );
        assert_eq!(ResponseClass::of_http_status(422), Permanent);
        assert_eq!(ResponseClass::of_http_status(302), Permanent);
    }

    #[test]
    fn payload_matches_the_article() {
        let payload = MessagePayload {
            recipients: vec!["urn:li:person:12345".into()],
            subject: Some("Hello!".into()),
            body: "This is a test message.".into(),
        };
        assert_eq!(
            serde_json::to_string(&payload).unwrap(),
            r#"{"recipients":["urn:li:person:12345"],"subject":"Hello!","body":"This is a test message."}"#
        );
    }
}
