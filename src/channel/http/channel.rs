//! [`HttpChannel`]: a declared HTTP API behind the executor's
//! [`MessageApi`] seam. It prepares the request the spec declares, sends it
//! with reqwest exactly as [`crate::send::api::HttpApi`] does (same
//! timeouts, same reading of a request that got no answer), and classifies
//! the answer by the spec's rules.
//!
//! A wait the rules found outside the headers (Telegram's
//! `parameters.retry_after`, LinkedIn's next 00:00 UTC) reaches the
//! executor as a `Retry-After` header in whole seconds, rounded up, added
//! only when the response has none of its own: the executor reads every
//! wait from the headers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use super::compile::ResolvedSpec;
use super::error::ChannelError;
use super::request::{PreparedRequest, prepare};
use super::response::classify;
use super::wait::retry_after_seconds;
use crate::send::api::{
    ApiFuture, ApiResponse, MessageApi, OutgoingMessage, ResponseClass, Token, TransportError,
    USER_AGENT, root_cause,
};

/// How many bytes of a response body are kept for failure reasons (as
/// `HttpApi` keeps).
const EXCERPT_BYTES: usize = 300;

/// A declared HTTP API as a [`MessageApi`].
#[derive(Debug)]
pub struct HttpChannel {
    spec: ResolvedSpec,
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpChannel {
    /// A channel sending what `spec` declares; `timeout` bounds each
    /// request (connecting within at most 10 s of it).
    pub fn new(spec: ResolvedSpec, timeout: Duration) -> anyhow::Result<HttpChannel> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(4)
            .build()?;
        Ok(HttpChannel {
            spec,
            client,
            timeout,
        })
    }

    pub fn spec(&self) -> &ResolvedSpec {
        &self.spec
    }

    /// The request `message` becomes, for `send --dry-run --show-request`
    /// (print it with `Display`: the secret is redacted).
    pub fn prepare(
        &self,
        message: &OutgoingMessage,
        secret: &Token,
    ) -> Result<PreparedRequest, ChannelError> {
        prepare(&self.spec, message, secret)
    }

    /// The request `message` becomes, ready for reqwest; `Err` holds the
    /// answer for a message no request can be made of (public for the
    /// channel benchmark).
    pub fn request(
        &self,
        secret: &Token,
        message: &OutgoingMessage,
    ) -> Result<Result<reqwest::Request, ApiResponse>, TransportError> {
        let request = match prepare(&self.spec, message, secret) {
            Ok(request) => request,
            Err(ChannelError::BadSecret { .. }) => return Err(TransportError::BadToken),
            // Nothing was sent, and this message can never be: it fails on
            // its own, as a permanent refusal would.
            Err(error) => return Ok(Err(not_sent(error))),
        };
        let (method, url, headers, body) = request.into_parts();
        // A `reqwest::Request` made whole: the builder's `headers()` would
        // copy the map into the request's one by one.
        let mut outgoing = reqwest::Request::new(method, url);
        *outgoing.headers_mut() = headers;
        *outgoing.body_mut() = Some(body.into());
        Ok(Ok(outgoing))
    }

    async fn post(
        &self,
        secret: &Token,
        message: &OutgoingMessage,
    ) -> Result<ApiResponse, TransportError> {
        let outgoing = match self.request(secret, message)? {
            Ok(outgoing) => outgoing,
            Err(not_sent) => return Ok(not_sent),
        };
        let response = self
            .client
            .execute(outgoing)
            .await
            .map_err(|error| self.transport_error(error))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.transport_error(error))?;
        Ok(self.read_answer(status, headers, &bytes, Utc::now()))
    }

    /// What the provider's answer means, by the spec's rules (public for
    /// the channel benchmark).
    pub fn read_answer(
        &self,
        status: u16,
        mut headers: HeaderMap,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> ApiResponse {
        let classified = classify(&self.spec, status, &headers, bytes, now);
        if let Some(until) = classified.wait
            && !headers.contains_key(RETRY_AFTER)
        {
            headers.insert(
                RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(until, now)),
            );
        }
        let excerpt = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]);
        ApiResponse {
            status,
            class: classified.class,
            status_text: classified.detail,
            headers,
            body_excerpt: excerpt.trim().to_string(),
            message_id: classified.message_id,
        }
    }

    /// A request that got no response, as `HttpApi` reads it: never with
    /// the URL (it may hold the secret), only the kind of failure.
    fn transport_error(&self, error: reqwest::Error) -> TransportError {
        // The host is read before the URL (it may hold the secret) goes.
        let host = error.url().map(host_and_port).unwrap_or_default();
        let error = error.without_url();
        if error.is_timeout() {
            TransportError::Timeout(self.timeout)
        } else if error.is_connect() {
            TransportError::Unreachable {
                host,
                cause: root_cause(&error),
            }
        } else {
            TransportError::Interrupted(root_cause(&error))
        }
    }
}

/// The answer for a message no request could be made of.
fn not_sent(error: ChannelError) -> ApiResponse {
    ApiResponse {
        status: 0,
        class: ResponseClass::Permanent,
        status_text: "not sent".to_string(),
        headers: Default::default(),
        body_excerpt: error.to_string(),
        message_id: None,
    }
}

/// `host:port` for "could not connect to ..." (no path: it may hold the
/// secret).
fn host_and_port(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

impl MessageApi for HttpChannel {
    fn send<'a>(&'a self, token: &'a Token, message: &'a OutgoingMessage) -> ApiFuture<'a> {
        Box::pin(self.post(token, message))
    }

    fn repeats_safely(&self) -> bool {
        self.spec().idempotent
    }

    fn preview(&self, message: &OutgoingMessage) -> String {
        // A stand-in secret: the redaction replaces it wherever it lands.
        let stand_in = Token::new("outreach-preview-secret".to_string());
        match self.prepare(message, &stand_in) {
            Ok(request) => request.redacted(),
            Err(error) => format!("(this message cannot become a request: {error})\n"),
        }
    }
}
