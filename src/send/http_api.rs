//! [`HttpApi`]: the `api` channel, the messages API of the rate-limit
//! article (`POST {"recipients","subject","body"}` with a Bearer token and
//! an `Idempotency-Key`), over reqwest with rustls.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use super::api::{
    ApiFuture, ApiResponse, MessageApi, OutgoingMessage, ResponseClass, Token, TransportError,
    http_reason_phrase, root_cause,
};

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

    /// The request `message` becomes: what [`MessageApi::send`] sends
    /// (public for the channel benchmark).
    pub fn request(
        &self,
        token: &Token,
        message: &OutgoingMessage,
    ) -> Result<reqwest::Request, TransportError> {
        let authorization = token.header().ok_or(TransportError::BadToken)?;
        self.client
            .post(&self.endpoint)
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &message.idempotency_key)
            .json(&message.payload)
            .build()
            .map_err(|error| self.classify(error))
    }

    async fn post(
        &self,
        token: &Token,
        message: &OutgoingMessage,
    ) -> Result<ApiResponse, TransportError> {
        let request = self.request(token, message)?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|error| self.classify(error))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.classify(error))?;
        Ok(read_answer(status, headers, &bytes))
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

/// What the API answered (public for the channel benchmark).
pub fn read_answer(status: u16, headers: HeaderMap, bytes: &[u8]) -> ApiResponse {
    let message_id = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|json| match json.get("id")? {
            serde_json::Value::String(id) => Some(id.clone()),
            other => Some(other.to_string()),
        });
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]);
    ApiResponse {
        status,
        class: ResponseClass::of_http_status(status),
        status_text: http_reason_phrase(status).to_string(),
        headers,
        body_excerpt: text.trim().to_string(),
        message_id,
    }
}

impl MessageApi for HttpApi {
    fn send<'a>(&'a self, token: &'a Token, message: &'a OutgoingMessage) -> ApiFuture<'a> {
        Box::pin(self.post(token, message))
    }

    /// The messages API of the rate-limit article honours `Idempotency-Key`.
    fn repeats_safely(&self) -> bool {
        true
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
    use crate::send::api::MessagePayload;

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
}
