//! The IMAP session: connect (implicit TLS, `STARTTLS` or, on loopback,
//! none), log in (password or XOAUTH2), and fetch what the classifier needs
//! of the messages that arrived since the campaign started.
//!
//! Only headers are fetched (`BODY.PEEK[HEADER]`), and for a message whose
//! header says it may be a bounce, the start of its text
//! (`BODY.PEEK[TEXT]<0.65536>`, where a delivery status notification keeps
//! its report). `PEEK` leaves the `\Seen` flag alone and the mailbox is
//! opened with `EXAMINE` (read-only), so reading the inbox marks nothing
//! read and changes nothing in it.
//!
//! TLS is rustls with aws-lc-rs and the platform's trust store, as the
//! SMTP channel's, plus the `root_certificate` if set.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Client;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use super::classify::needs_body;
use super::settings::ImapSettings;
use super::stream::Stream;
use crate::channel::smtp::{AuthMethod, TlsMode};
use crate::send::api::Token;

/// How much of a possible bounce's text is read: a report's
/// `message/delivery-status` part comes early, the returned copy after.
const BOUNCE_TEXT_BYTES: u32 = 65_536;

/// INTERNALDATE has whole seconds and is the server's clock: a message is
/// counted as arriving after `since` when it is at most this much earlier.
const CLOCK_LEEWAY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Why the inbox could not be read. The messages say what to check; none
/// contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImapError {
    /// No IMAP conversation: refused, DNS, TLS, timeout.
    #[error("cannot reach the IMAP server {server}: {detail}")]
    Unreachable { server: String, detail: String },
    /// The server refused the login.
    #[error("the IMAP server {server} refused the login of {username}: {detail}")]
    Login {
        server: String,
        username: String,
        detail: String,
    },
    /// Logged in, but the mailbox or a command failed.
    #[error("the IMAP server {server}: {detail}")]
    Command { server: String, detail: String },
}

impl ImapError {
    /// What to check, for the warning.
    pub fn hint(&self) -> &'static str {
        match self {
            ImapError::Unreachable { .. } => {
                "check `imap.host`, `imap.port` and `imap.tls`, and that the server is up"
            }
            ImapError::Login { .. } => {
                "check `imap.username` and the password or token variable (`imap.password_env`, \
                 `imap.token_env`, else the account's `token_env`); Gmail needs an app password \
                 or an OAuth token with IMAP access"
            }
            ImapError::Command { .. } => "check `imap.mailbox`",
        }
    }
}

/// One message as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    /// When the server received it.
    pub arrived: Option<DateTime<Utc>>,
    pub header: Vec<u8>,
    /// The start of the text, for possible bounces only.
    pub body: Option<Vec<u8>>,
}

/// A logged-in session with the mailbox examined.
pub struct Session {
    inner: async_imap::Session<Stream>,
    server: String,
    timeout: Duration,
    /// The mailbox's UIDVALIDITY: UIDs seen before mean nothing if it changes.
    pub uid_validity: Option<u32>,
}

/// Connect, secure, log in with `secret` and examine the mailbox.
pub async fn open(
    settings: &ImapSettings,
    secret: &Token,
    timeout: Duration,
) -> Result<Session, ImapError> {
    let server = settings.label();
    let unreachable = |detail: String| ImapError::Unreachable {
        server: server.clone(),
        detail,
    };
    let within = |what: &'static str| {
        let server = server.clone();
        move |_| ImapError::Unreachable {
            server,
            detail: format!(
                "no answer to {what} within {}",
                humantime::format_duration(timeout)
            ),
        }
    };
    let host = settings.host.trim_matches(['[', ']']);
    let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, settings.port)))
        .await
        .map_err(within("the connection"))?
        .map_err(|error| unreachable(error.to_string()))?;
    let stream = match settings.tls {
        TlsMode::Tls => {
            let tls = tokio::time::timeout(timeout, secure(settings, tcp))
                .await
                .map_err(within("the TLS handshake"))??;
            Stream::Tls(Box::new(tls))
        }
        TlsMode::Starttls | TlsMode::None => Stream::Plain(tcp),
    };
    let mut client = Client::new(stream);
    tokio::time::timeout(timeout, client.read_response())
        .await
        .map_err(within("the greeting"))?
        .map_err(|error| unreachable(error.to_string()))?
        .ok_or_else(|| {
            unreachable("the server closed the connection before its greeting".into())
        })?;
    if settings.tls == TlsMode::Starttls {
        tokio::time::timeout(timeout, client.run_command_and_check_ok("STARTTLS", None))
            .await
            .map_err(within("STARTTLS"))?
            .map_err(|error| {
                unreachable(format!(
                    "STARTTLS failed ({error}); outreach does not log in in the clear. \
                     Use `tls = \"tls\"` if the server speaks TLS on port 993"
                ))
            })?;
        let Stream::Plain(tcp) = client.into_inner() else {
            unreachable!("STARTTLS starts from a plain connection")
        };
        let tls = tokio::time::timeout(timeout, secure(settings, tcp))
            .await
            .map_err(within("the TLS handshake"))??;
        client = Client::new(Stream::Tls(Box::new(tls)));
    }
    let login = async {
        match settings.auth {
            AuthMethod::Xoauth2 => {
                let auth = Xoauth2 {
                    initial: Some(format!(
                        "user={}\x01auth=Bearer {}\x01\x01",
                        settings.username,
                        secret.expose()
                    )),
                };
                client.authenticate("XOAUTH2", auth).await
            }
            _ => client.login(&settings.username, secret.expose()).await,
        }
    };
    let mut inner = tokio::time::timeout(timeout, login)
        .await
        .map_err(within("the login"))?
        .map_err(|(error, _client)| ImapError::Login {
            server: server.clone(),
            username: settings.username.clone(),
            detail: without_secret(&error.to_string(), secret),
        })?;
    let mailbox = tokio::time::timeout(timeout, inner.examine(&settings.mailbox))
        .await
        .map_err(within("EXAMINE"))?
        .map_err(|error| ImapError::Command {
            server: server.clone(),
            detail: format!("cannot open the mailbox `{}`: {error}", settings.mailbox),
        })?;
    Ok(Session {
        inner,
        server,
        timeout,
        uid_validity: mailbox.uid_validity,
    })
}

impl Session {
    /// Messages that arrived at or after `since` (less [`CLOCK_LEEWAY`])
    /// whose UID is not in `seen`, oldest first.
    pub async fn fetch_since(
        &mut self,
        since: DateTime<Utc>,
        seen: &HashSet<u32>,
    ) -> Result<Vec<Fetched>, ImapError> {
        // SEARCH SINCE is a date in the server's zone: a day early, then
        // filtered by the exact arrival time.
        let day = (since - chrono::TimeDelta::days(1)).format("%-d-%b-%Y");
        let (server, timeout) = (self.server.clone(), self.timeout);
        let uids = tokio::time::timeout(timeout, self.inner.uid_search(format!("SINCE {day}")))
            .await
            .map_err(|_| command_timeout(&server, "SEARCH", timeout))?
            .map_err(|error| ImapError::Command {
                server,
                detail: format!("SEARCH failed: {error}"),
            })?;
        let mut uids: Vec<u32> = uids.into_iter().filter(|uid| !seen.contains(uid)).collect();
        uids.sort_unstable();
        let mut fetched = Vec::new();
        for chunk in uids.chunks(200) {
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let query = "(UID INTERNALDATE BODY.PEEK[HEADER])";
            let timeout = self.timeout;
            let server = self.server.clone();
            let rows = tokio::time::timeout(timeout, async {
                let stream = self.inner.uid_fetch(&set, query).await?;
                stream.try_collect::<Vec<_>>().await
            })
            .await
            .map_err(|_| command_timeout(&server, "FETCH", timeout))?
            .map_err(|error| ImapError::Command {
                server,
                detail: format!("FETCH failed: {error}"),
            })?;
            for row in rows {
                let Some(uid) = row.uid else { continue };
                let arrived = row.internal_date().map(|date| date.with_timezone(&Utc));
                if arrived.is_some_and(|at| at < since - CLOCK_LEEWAY) {
                    continue;
                }
                let header = row.header().unwrap_or_default().to_vec();
                fetched.push(Fetched {
                    uid,
                    arrived,
                    header,
                    body: None,
                });
            }
        }
        for message in fetched.iter_mut().filter(|m| needs_body(&m.header)) {
            message.body = self.text_start(message.uid).await?;
        }
        fetched.sort_by_key(|message| message.uid);
        Ok(fetched)
    }

    /// The first [`BOUNCE_TEXT_BYTES`] of a message's text.
    async fn text_start(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let query = format!("(UID BODY.PEEK[TEXT]<0.{BOUNCE_TEXT_BYTES}>)");
        let timeout = self.timeout;
        let server = self.server.clone();
        let rows = tokio::time::timeout(timeout, async {
            let stream = self.inner.uid_fetch(uid.to_string(), &query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await
        .map_err(|_| command_timeout(&server, "FETCH", timeout))?
        .map_err(|error| ImapError::Command {
            server,
            detail: format!("FETCH of a report's text failed: {error}"),
        })?;
        Ok(rows
            .iter()
            .find(|row| row.uid == Some(uid))
            .and_then(|row| row.text())
            .map(<[u8]>::to_vec))
    }

    /// Log out politely; a failure here changes nothing.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.inner.logout()).await;
    }
}

fn command_timeout(server: &str, what: &str, timeout: Duration) -> ImapError {
    ImapError::Unreachable {
        server: server.to_string(),
        detail: format!(
            "no answer to {what} within {}",
            humantime::format_duration(timeout)
        ),
    }
}

/// A server's error text with the secret blanked, should it ever echo it.
fn without_secret(text: &str, secret: &Token) -> String {
    let secret = secret.expose();
    if secret.len() >= 4 {
        text.replace(secret, "[redacted]")
    } else {
        text.to_string()
    }
}

/// TLS over `tcp` to the configured host.
async fn secure(
    settings: &ImapSettings,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let server = settings.label();
    let problem = |detail: String| ImapError::Unreachable {
        server: server.clone(),
        detail,
    };
    let config = tls_config(settings).map_err(problem)?;
    let name = ServerName::try_from(settings.host.trim_matches(['[', ']']).to_string()).map_err(
        |error| {
            problem(format!(
                "`{}` is not a TLS server name: {error}",
                settings.host
            ))
        },
    )?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|error| problem(format!("TLS handshake failed: {error}")))
}

/// rustls (aws-lc-rs) with the platform's roots and `root_certificate`.
fn tls_config(settings: &ImapSettings) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut extra = Vec::new();
    if let Some(path) = &settings.root_certificate {
        let pem = std::fs::read(path).map_err(|error| {
            format!(
                "cannot read `imap.root_certificate` {}: {error}",
                path.display()
            )
        })?;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            extra.push(certificate.map_err(|error| {
                format!(
                    "`imap.root_certificate` {} is not a PEM certificate: {error}",
                    path.display()
                )
            })?);
        }
    }
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(|error| format!("cannot set up TLS: {error}"))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// `AUTHENTICATE XOAUTH2`: the initial response, then an empty answer to
/// the error challenge a refusing server sends before its NO.
struct Xoauth2 {
    initial: Option<String>,
}

impl async_imap::Authenticator for Xoauth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.initial.take().unwrap_or_default()
    }
}
