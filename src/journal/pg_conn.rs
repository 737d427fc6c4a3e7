//! One connection to PostgreSQL, on a thread of its own.
//!
//! The store's callers are synchronous, and some of them run inside a tokio
//! runtime (`send` creates its journal inside `block_on`). The `postgres`
//! crate's client drives a small runtime of its own with `block_on` on the
//! calling thread, which panics inside another runtime. So the client lives
//! on a dedicated thread, and every call ships a closure there and waits
//! for its answer on a plain channel: a blocking wait, as an SQLite commit
//! is, and safe from any thread. docs/design.md ("The PostgreSQL store runs
//! on a thread of its own") says why this and not an async store.
//!
//! Connecting happens on that thread too, and an unreachable server is
//! reported with its host and port and what to check, never with the
//! password (see [`DbUrl`]). The session keeps what it needs to connect
//! again ([`Session::reopen`]): a sending run rides out a lost connection
//! (`pg_reconnect`) on this same thread.

use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use std::collections::HashMap;

use postgres::config::Host;
use postgres::{Client, Statement};

use crate::journal::error::JournalError;
use crate::journal::pg_url::{CertCheck, DbUrl};

/// How long a connection attempt may take when the URL does not say
/// (`connect_timeout=SECONDS`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The client and its prepared statements, kept on the connection's thread.
pub(crate) struct Session {
    pub(crate) client: Client,
    statements: HashMap<&'static str, Statement>,
    /// How to connect again.
    config: postgres::Config,
    check: CertCheck,
    /// `HOST:PORT`, for what is said about the connection.
    endpoint: String,
    /// The server process behind `client`, when it could be asked.
    backend: Option<Backend>,
}

/// One server process (backend), told apart from a later one that reuses
/// its pid by when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backend {
    pub(crate) pid: i32,
    pub(crate) started_us: i64,
}

/// This session's server process.
const WHO_AM_I: &str = "SELECT pid, (extract(epoch FROM backend_start) * 1000000)::bigint
     FROM pg_stat_activity WHERE pid = pg_backend_pid()";

impl Session {
    fn open(config: postgres::Config, check: CertCheck) -> Result<Session, postgres::Error> {
        let client = config.connect(tls_connector(check))?;
        let endpoint = endpoint(&config);
        let mut session = Session {
            client,
            statements: HashMap::new(),
            config,
            check,
            endpoint,
            backend: None,
        };
        session.backend = session.who_am_i();
        Ok(session)
    }

    fn who_am_i(&mut self) -> Option<Backend> {
        let row = self.client.query_opt(WHO_AM_I, &[]).ok()??;
        Some(Backend {
            pid: row.get(0),
            started_us: row.get(1),
        })
    }

    /// The server process behind the connection, when it could be asked.
    #[cfg(test)]
    pub(crate) fn backend(&self) -> Option<Backend> {
        self.backend
    }

    /// `HOST:PORT` of the server (several, comma-separated, when the URL
    /// names several).
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Opens a new connection in place of the current one (which is lost),
    /// forgetting the prepared statements, which lived on the server.
    /// Returns the server process of the connection replaced, if known.
    pub(crate) fn reopen(&mut self) -> Result<Option<Backend>, postgres::Error> {
        let client = self.config.connect(tls_connector(self.check))?;
        let old = std::mem::replace(&mut self.client, client);
        // Closing says goodbye to a server that may never answer: not here.
        let _ = std::thread::Builder::new()
            .name("outreach-postgres-close".into())
            .spawn(move || drop(old));
        self.statements.clear();
        let previous = self.backend.take();
        self.backend = self.who_am_i();
        Ok(previous)
    }

    /// `sql` prepared once per session: the send path runs the same few
    /// statements for every message, and preparing costs a round trip.
    pub(crate) fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// A PostgreSQL session owned by its own thread. Dropping it closes the
/// session (and with it any advisory lock it holds).
pub(crate) struct PgConn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConn")
    }
}

impl PgConn {
    /// Connects to `url` on a new thread; fails with
    /// [`JournalError::Unreachable`] when no session can be opened.
    pub(crate) fn connect(url: &DbUrl) -> Result<PgConn, JournalError> {
        let mut config = url.config()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let check = url.cert_check();
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, connected) = mpsc::channel::<Result<(), postgres::Error>>();
        let thread = std::thread::Builder::new()
            .name("outreach-postgres".into())
            .spawn(move || {
                let mut session = match Session::open(config, check) {
                    Ok(session) => {
                        let _ = ready.send(Ok(()));
                        session
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                while let Ok(job) = queue.recv() {
                    job(&mut session);
                }
            })
            .map_err(|source| JournalError::Io {
                path: url.redacted().into(),
                action: "starting the database thread",
                source,
            })?;
        let outcome = connected.recv().unwrap_or_else(|_| {
            // The thread died before answering: only a panic does that.
            std::panic::resume_unwind(Box::new("the database thread panicked while connecting"))
        });
        match outcome {
            Ok(()) => Ok(PgConn {
                jobs: Some(jobs),
                thread: Some(thread),
            }),
            Err(source) => {
                let _ = thread.join();
                Err(unreachable(url, source))
            }
        }
    }

    /// Runs `job` on the connection's thread without waiting for it (a
    /// listener's loop); later calls wait until it returns.
    pub(crate) fn spawn(&self, job: impl FnOnce(&mut Session) + Send + 'static) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Box::new(job));
        }
    }

    /// Runs `job` with the client on the connection's thread and returns
    /// its result. A panic in `job` is passed on to the caller.
    pub(crate) fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> R + Send + 'static,
    ) -> R {
        let (answer, result) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(session)));
            let _ = answer.send(outcome);
        });
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            panic!("the database thread has stopped");
        }
        match result.recv() {
            Ok(Ok(value)) => value,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => panic!("the database thread has stopped"),
        }
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// rustls, with the provider reqwest and lettre use. Under
/// `sslmode=verify-full` the certificate and host name are verified against
/// the platform's trust store; under `prefer` (the default) and `require`,
/// as with libpq, the connection is encrypted without checking who answers
/// (the handshake's signatures are still checked).
fn tls_connector(check: CertCheck) -> tokio_postgres_rustls::MakeRustlsConnect {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default protocol versions");
    let client = match check {
        CertCheck::Verify => builder.with_platform_verifier().map_or_else(
            // No usable trust store: nothing verifies, so the
            // connection fails with the certificate named.
            |_| {
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("aws-lc-rs supports the default protocol versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            },
            |builder| builder.with_no_client_auth(),
        ),
        CertCheck::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    tokio_postgres_rustls::MakeRustlsConnect::new(client)
}

/// libpq's `sslmode=require`: any certificate, signatures still checked.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `HOST:PORT` of each server `config` names.
fn endpoint(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
        })
        .collect();
    if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(", ")
    }
}

/// The error for a session that could not be opened, naming where and what
/// to check.
fn unreachable(url: &DbUrl, source: postgres::Error) -> JournalError {
    let host = url
        .config()
        .map_or_else(|_| "?".to_string(), |config| endpoint(&config));
    JournalError::Unreachable {
        url: url.redacted(),
        host,
        source,
    }
}
