//! The client side of the SMTP tests: lettre transports set up the way an
//! SMTP account would be, and a raw session for replies lettre hides.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use outreach_sandbox::smtp::{SmtpConfig, SmtpSandbox};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

pub type Client = AsyncSmtpTransport<Tokio1Executor>;

pub async fn start(config: SmtpConfig) -> SmtpSandbox {
    SmtpSandbox::start(SmtpConfig {
        quiet: true,
        ..config
    })
    .await
    .expect("the SMTP sandbox starts")
}

pub fn builder(smtp: &SmtpSandbox) -> lettre::transport::smtp::AsyncSmtpTransportBuilder {
    Client::builder_dangerous("127.0.0.1")
        .port(smtp.addr().port())
        .timeout(Some(Duration::from_secs(5)))
}

pub fn plain(smtp: &SmtpSandbox) -> Client {
    builder(smtp).build()
}

/// STARTTLS required, trusting only `pem`.
pub fn starttls(smtp: &SmtpSandbox, pem: &str) -> Client {
    let certificate = Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    let parameters = TlsParameters::builder("localhost".to_string())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(certificate)
        .build_rustls()
        .expect("TLS parameters");
    builder(smtp).tls(Tls::Required(parameters)).build()
}

pub fn login(smtp: &SmtpSandbox, user: &str, password: &str, mechanism: Mechanism) -> Client {
    builder(smtp)
        .credentials(Credentials::new(user.to_string(), password.to_string()))
        .authentication(vec![mechanism])
        .build()
}

pub fn email(to: &str, key: &str) -> Message {
    Message::builder()
        .from("Ada Lovelace <Ada@Outreach.test>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject(format!("Hello {to}"))
        .message_id(Some(format!("<{key}@outreach.test>")))
        .header(ContentType::TEXT_PLAIN)
        .body(format!("Hi {to},\n.a line starting with a dot\n"))
        .unwrap()
}

/// The reply code of a refused send, e.g. "421".
pub fn code(error: &SmtpError) -> String {
    error
        .status()
        .map_or_else(|| format!("no code: {error}"), |code| code.to_string())
}

pub async fn send(client: &Client, to: &str, key: &str) -> Result<String, SmtpError> {
    let response = client.send(email(to, key)).await?;
    Ok(format!(
        "{} {}",
        response.code(),
        response.message().collect::<Vec<_>>().join(" ")
    ))
}

/// A hand-driven session, to check replies a library client hides.
pub struct RawSession {
    stream: BufReader<TcpStream>,
}

impl RawSession {
    pub async fn open(smtp: &SmtpSandbox) -> RawSession {
        let stream = TcpStream::connect(smtp.addr()).await.unwrap();
        let mut session = RawSession {
            stream: BufReader::new(stream),
        };
        assert!(session.reply().await.starts_with("220 "));
        session
    }

    /// One reply, all its lines.
    pub async fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(5), self.stream.read_line(&mut line))
                    .await
                    .expect("a reply within 5 s")
                    .unwrap();
            reply.push_str(&line);
            // The last line of a reply has a space after the code.
            if read == 0 || line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    }

    pub async fn command(&mut self, command: &str) -> String {
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }
}
