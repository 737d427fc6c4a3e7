//! [`SmtpChannel`]: one account's e-mail over SMTP, behind the executor's
//! [`MessageApi`] seam.
//!
//! One session per account, held open and reused for every message, so a
//! campaign pays for connecting, TLS and login once instead of per message.
//! The account's task sends one message at a time, so the session is never
//! shared by two transactions (a lock makes sure).
//!
//! What each outcome becomes:
//!
//! | what happened | result |
//! |---|---|
//! | a reply to the message or to any step | `ApiResponse` (class: [`replies`](super::replies)) |
//! | refused connection, DNS, TLS handshake, no greeting, no login offered | `TransportError::Unreachable` (not delivered) |
//! | connection lost / no reply before the message content was sent | retried once on a new session if the old one was reused (a server drops idle sessions); else `Unreachable` |
//! | connection lost after the content was sent, before the reply | `TransportError::Interrupted` (maybe delivered: uncertain, never resent silently) |
//! | no reply to the content in time | `TransportError::Timeout` (maybe delivered) |
//!
//! After any negative reply the session is closed (QUIT) and the next
//! message opens a new one. Servers differ in what state a refused
//! transaction leaves behind (some expect `RSET`, some mishandle it, some
//! hang up anyway); a new session is always right, and costs one login per
//! refusal, which is rare next to the messages that go through.
//!
//! A channel serves one account: its session is logged in with the token the
//! first message brought, and every message carries that account's `From`.

use std::fmt;
use std::time::Duration;

use chrono::Utc;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use reqwest::header::HeaderMap;
use tokio::sync::Mutex;

use super::message::{EmailError, SenderHeaders, build_email};
use super::replies::{Reply, Stage, classify, code_phrase, status_text};
use super::session::{OpenFailure, SessionSetup};
use super::settings::{SmtpSettings, SmtpSettingsError};
use super::transaction::{TransactionFailure, deliver};
use crate::send::api::{
    ApiFuture, ApiResponse, MessageApi, OutgoingMessage, ResponseClass, Token, TransportError,
};

/// How many bytes of the server's text are kept as the failure reason.
const EXCERPT_BYTES: usize = 300;

/// The code given to a message refused by outreach itself before anything
/// was sent (a recipient that is not an address): 553, "mailbox name not
/// allowed", which is what a server would answer, so the message fails as a
/// permanent failure for this recipient. The text says it was local.
const LOCAL_REFUSAL_CODE: u16 = 553;

/// E-mail over SMTP for one account.
pub struct SmtpChannel {
    setup: SessionSetup,
    sender: SenderHeaders,
    /// The open session, if any; `None` after a failure or before the first
    /// message.
    session: Mutex<Option<AsyncSmtpConnection>>,
}

impl fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("server", &self.setup.label())
            .field("from", &self.sender.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpChannel {
    /// A channel for the settings under `[smtp]`; errors name `smtp.<key>`.
    /// Nothing is connected until the first message.
    pub fn new(
        settings: &SmtpSettings,
        timeout: Duration,
    ) -> Result<SmtpChannel, SmtpSettingsError> {
        SmtpChannel::with_config_key(settings, "smtp", timeout)
    }

    /// As [`new`](Self::new), for settings found at `prefix` in the config
    /// (`accounts.alice.smtp`), which errors name.
    pub fn with_config_key(
        settings: &SmtpSettings,
        prefix: &str,
        timeout: Duration,
    ) -> Result<SmtpChannel, SmtpSettingsError> {
        let sender = settings.validate(prefix)?;
        let setup = SessionSetup::new(settings, timeout).map_err(|error| SmtpSettingsError {
            key: format!("{prefix}.{}", error.key),
            problem: error.problem,
        })?;
        Ok(SmtpChannel {
            setup,
            sender,
            session: Mutex::new(None),
        })
    }

    /// `host:port`, for messages.
    pub fn server_label(&self) -> String {
        self.setup.label()
    }

    /// End the session politely (QUIT), if one is open.
    pub async fn close(&self) {
        if let Some(mut connection) = self.session.lock().await.take() {
            quit(&mut connection, self.setup.timeout).await;
        }
    }

    async fn send_one(
        &self,
        token: &Token,
        message: &OutgoingMessage,
    ) -> Result<ApiResponse, TransportError> {
        let email = match build_email(&self.sender, message, Utc::now()) {
            Ok(email) => email,
            Err(error) => return Ok(refused_locally(&error)),
        };
        let mut session = self.session.lock().await;
        let mut reused = session.is_some();
        loop {
            let connection = match session.as_mut() {
                Some(connection) => connection,
                None => match self.setup.open(token).await {
                    Ok(connection) => session.insert(connection),
                    Err(OpenFailure::Refused { reply, stage }) => {
                        return Ok(answer(&reply, stage, &email.message_id));
                    }
                    Err(OpenFailure::Unreachable(cause)) => return Err(self.unreachable(cause)),
                },
            };
            let outcome = deliver(connection, &email, self.setup.timeout).await;
            if let Err(failure) = &outcome
                && let Some(mut finished) = session.take()
            {
                // A server that replied is there to hear QUIT; a broken or
                // silent connection is just dropped (closed), not waited on.
                if matches!(failure, TransactionFailure::Refused { .. }) {
                    quit(&mut finished, self.setup.timeout).await;
                }
            }
            return match outcome {
                Ok(reply) => Ok(answer(&reply, Stage::Content, &email.message_id)),
                Err(TransactionFailure::Refused { reply, stage }) => {
                    Ok(answer(&reply, stage, &email.message_id))
                }
                Err(TransactionFailure::NotSent { .. }) if reused => {
                    // A held session the server dropped while idle (or a
                    // half-open one): nothing was sent, so try a new one.
                    reused = false;
                    continue;
                }
                Err(TransactionFailure::NotSent { cause }) => Err(self.unreachable(format!(
                    "the session failed before the message was sent ({cause})"
                ))),
                Err(TransactionFailure::Interrupted { cause }) => Err(TransportError::Interrupted(
                    format!("{}: {cause}", self.setup.label()),
                )),
                Err(TransactionFailure::TimedOut) => {
                    Err(TransportError::Timeout(self.setup.timeout))
                }
            };
        }
    }

    fn unreachable(&self, cause: String) -> TransportError {
        TransportError::Unreachable {
            host: self.setup.label(),
            cause,
        }
    }
}

impl MessageApi for SmtpChannel {
    fn send<'a>(&'a self, token: &'a Token, message: &'a OutgoingMessage) -> ApiFuture<'a> {
        Box::pin(self.send_one(token, message))
    }

    /// The envelope and the e-mail as it would go out; the password is
    /// never part of either.
    fn preview(&self, message: &OutgoingMessage) -> String {
        match build_email(&self.sender, message, Utc::now()) {
            Ok(email) => {
                let recipients: Vec<String> = email
                    .recipients
                    .iter()
                    .map(|to| format!("RCPT TO:<{to}>"))
                    .collect();
                format!(
                    "SMTP {} (login: [redacted])\nMAIL FROM:<{}>\n{}\n\n{}\n",
                    self.setup.label(),
                    email.from,
                    recipients.join("\n"),
                    String::from_utf8_lossy(&email.formatted).replace("\r\n", "\n")
                )
            }
            Err(error) => format!("(this message cannot become an e-mail: {error})\n"),
        }
    }

    /// SMTP has no idempotency key: a message whose reply was lost is
    /// `uncertain` at once, never resent within the run.
    fn resends_are_recognised(&self) -> bool {
        false
    }
}

/// QUIT and close, ignoring errors: the session is over either way.
async fn quit(connection: &mut AsyncSmtpConnection, timeout: Duration) {
    // `abort` sends QUIT unless the connection already failed, then closes.
    let _ = tokio::time::timeout(timeout, connection.abort()).await;
}

/// The response for a server's reply at `stage`.
fn answer(reply: &Reply, stage: Stage, message_id: &str) -> ApiResponse {
    ApiResponse {
        status: reply.code,
        class: classify(reply, stage),
        status_text: status_text(reply),
        headers: HeaderMap::new(),
        body_excerpt: excerpt(&reply.text),
        message_id: Some(message_id.to_string()),
    }
}

fn refused_locally(error: &EmailError) -> ApiResponse {
    ApiResponse {
        status: LOCAL_REFUSAL_CODE,
        class: ResponseClass::Permanent,
        status_text: code_phrase(LOCAL_REFUSAL_CODE).to_string(),
        headers: HeaderMap::new(),
        body_excerpt: format!("not sent, refused by outreach: {error}"),
        message_id: None,
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.len() <= EXCERPT_BYTES {
        return text.to_string();
    }
    let mut end = EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
