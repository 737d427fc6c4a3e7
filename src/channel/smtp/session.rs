//! Opening an SMTP session: connect, TLS (implicit or `STARTTLS`), `EHLO`,
//! login. The result is a connection ready for transactions, or why not.
//!
//! Nothing of a message has been sent while a session opens, so every
//! failure here leaves the message certainly not delivered: either the
//! server's reply says what is wrong (a 535 is a refused login, a 421 a busy
//! server), or the server could not be reached at all (refused, DNS, TLS
//! handshake, no answer in time).
//!
//! `STARTTLS` is required in that mode: a server that does not offer it is
//! refused rather than spoken to in the clear, so a man in the middle who
//! strips the offer learns nothing.

use std::time::Duration;

use base64::Engine as _;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::replies::{Reply, Stage};
use super::settings::{AuthMethod, SmtpSettings, SmtpSettingsError, TlsMode};
use crate::send::api::Token;

/// Why a session could not be opened.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    /// The server answered with a negative reply.
    Refused { reply: Reply, stage: Stage },
    /// No usable session: nothing reached the server's mail system.
    Unreachable(String),
}

/// Everything needed to open a session, prepared once per account.
#[derive(Clone)]
pub(crate) struct SessionSetup {
    pub host: String,
    pub port: u16,
    tls: TlsMode,
    tls_parameters: Option<TlsParameters>,
    auth: AuthMethod,
    username: String,
    hello: ClientId,
    /// The longest wait for the connection and for each reply.
    pub timeout: Duration,
}

impl SessionSetup {
    /// Prepare from checked settings; reads `root_certificate`.
    pub fn new(
        settings: &SmtpSettings,
        timeout: Duration,
    ) -> Result<SessionSetup, SmtpSettingsError> {
        let tls_parameters = match settings.tls {
            TlsMode::None => None,
            TlsMode::Starttls | TlsMode::Tls => Some(tls_parameters(settings)?),
        };
        Ok(SessionSetup {
            host: settings.host.clone(),
            port: settings.port(),
            tls: settings.tls,
            tls_parameters,
            auth: settings.auth,
            username: settings.username.clone().unwrap_or_default(),
            hello: ClientId::default(),
            timeout,
        })
    }

    /// `host:port`, for messages.
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host.trim_matches(['[', ']']), self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Connect, secure and log in with `token` as the password or XOAUTH2
    /// access token.
    pub async fn open(&self, token: &Token) -> Result<AsyncSmtpConnection, OpenFailure> {
        let implicit_tls = match self.tls {
            TlsMode::Tls => self.tls_parameters.clone(),
            TlsMode::Starttls | TlsMode::None => None,
        };
        let host = self.host.trim_matches(['[', ']']);
        let connect = AsyncSmtpConnection::connect_tokio1(
            (host, self.port),
            Some(self.timeout),
            &self.hello,
            implicit_tls,
            None,
        );
        let mut connection = self
            .within("the connection", connect)
            .await?
            .map_err(|error| refused_or_unreachable(&error, Stage::Opening))?;
        if let (TlsMode::Starttls, Some(parameters)) = (self.tls, &self.tls_parameters) {
            if !connection.can_starttls() {
                let _ = tokio::time::timeout(self.timeout, connection.abort()).await;
                return Err(OpenFailure::Unreachable(format!(
                    "the server does not offer STARTTLS, and outreach does not send a login or a message in the clear; \
                     use `tls = \"tls\"` if it speaks TLS on port {}",
                    TlsMode::Tls.default_port()
                )));
            }
            self.within(
                "STARTTLS",
                connection.starttls(parameters.clone(), &self.hello),
            )
            .await?
            .map_err(|error| refused_or_unreachable(&error, Stage::Opening))?;
        }
        match self.auth {
            AuthMethod::None => {}
            AuthMethod::Password => {
                let credentials =
                    Credentials::new(self.username.clone(), token.expose().to_string());
                let login = connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials);
                self.within("AUTH", login).await?.map_err(|error| {
                    match Reply::from_error(&error) {
                        Some(reply) => OpenFailure::Refused {
                            reply,
                            stage: Stage::Login,
                        },
                        None if !connection_offers_password_login(&connection) => {
                            OpenFailure::Unreachable(
                                "the server offers no login by password (AUTH PLAIN or LOGIN) on this connection"
                                    .into(),
                            )
                        }
                        None => OpenFailure::Unreachable(error.to_string()),
                    }
                })?;
            }
            AuthMethod::Xoauth2 => self.login_xoauth2(&mut connection, token).await?,
        }
        Ok(connection)
    }

    /// `AUTH XOAUTH2` (Google's and Microsoft's SASL profile). lettre's own
    /// exchange cannot read a refusal: the server answers a bad token with a
    /// 334 error challenge that the client must acknowledge with an empty
    /// line before the final 5xx, so the exchange is driven here.
    async fn login_xoauth2(
        &self,
        connection: &mut AsyncSmtpConnection,
        token: &Token,
    ) -> Result<(), OpenFailure> {
        if !connection
            .server_info()
            .supports_auth_mechanism(Mechanism::Xoauth2)
        {
            return Err(OpenFailure::Unreachable(
                "the server does not offer AUTH XOAUTH2; use `auth = \"password\"`".into(),
            ));
        }
        let initial = base64::engine::general_purpose::STANDARD.encode(format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.username,
            token.expose()
        ));
        let login =
            |error: lettre::transport::smtp::Error| refused_or_unreachable(&error, Stage::Login);
        let answer = self
            .within(
                "AUTH",
                connection.command(format!("AUTH XOAUTH2 {initial}\r\n")),
            )
            .await?
            .map_err(login)?;
        if answer.has_code(334) {
            // The error challenge: acknowledge it to get the final reply.
            self.within("AUTH", connection.command("\r\n"))
                .await?
                .map_err(login)?;
        }
        Ok(())
    }

    async fn within<T>(
        &self,
        waiting_for: &str,
        future: impl Future<Output = T>,
    ) -> Result<T, OpenFailure> {
        tokio::time::timeout(self.timeout, future)
            .await
            .map_err(|_| {
                OpenFailure::Unreachable(format!(
                    "no answer to {waiting_for} within {}",
                    humantime::format_duration(self.timeout)
                ))
            })
    }
}

fn connection_offers_password_login(connection: &AsyncSmtpConnection) -> bool {
    let info = connection.server_info();
    info.supports_auth_mechanism(Mechanism::Plain) || info.supports_auth_mechanism(Mechanism::Login)
}

fn refused_or_unreachable(error: &lettre::transport::smtp::Error, stage: Stage) -> OpenFailure {
    match Reply::from_error(error) {
        Some(reply) => OpenFailure::Refused { reply, stage },
        None => OpenFailure::Unreachable(error.to_string()),
    }
}

/// rustls with the platform's trust store, plus `root_certificate` if set.
fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SmtpSettingsError> {
    let host = settings.host.trim_matches(['[', ']']).to_string();
    let mut builder = TlsParameters::builder(host);
    if let Some(path) = &settings.root_certificate {
        let problem = |problem: String| SmtpSettingsError {
            key: "root_certificate".into(),
            problem: format!("{}: {problem}", path.display()),
        };
        let pem = std::fs::read(path).map_err(|error| problem(error.to_string()))?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|error| problem(format!("not a PEM certificate ({error})")))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|error| SmtpSettingsError {
        key: "tls".into(),
        problem: format!("cannot set up TLS: {error}"),
    })
}
