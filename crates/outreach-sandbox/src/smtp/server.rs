//! [`SmtpSandbox`]: the running SMTP server and the handle callers hold.
//!
//! The accept loop is the HTTP sandbox's, for SMTP: every connection is a
//! task in one `JoinSet`, so stopping is a message to the loop, which closes
//! the listener (freeing the port), tells each connection to say 421 and
//! close, and waits for them, briefly. All of it runs on the caller's tokio
//! runtime: no thread is started, so none can outlive the sandbox.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use mailin::{AuthMechanism, SessionBuilder};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::connection;
use super::ledger::{SmtpShared, SmtpStats};
use super::settings::SmtpConfig;
use super::tls;
use crate::ledger::AcceptedMessage;
use crate::message_log::MessageLog;

/// The name in the greeting and the EHLO reply.
const SERVER_NAME: &str = "sandbox.localhost";
/// How long [`SmtpSandbox::shutdown`] waits for connections to close.
const GRACE: Duration = Duration::from_secs(2);

/// A running SMTP sandbox bound to 127.0.0.1. Dropping it stops the server too.
pub struct SmtpSandbox {
    addr: SocketAddr,
    shared: Arc<SmtpShared>,
    certificate_pem: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SmtpSandbox {
    /// Bind 127.0.0.1:`config.port` (0 picks a free port), generate the
    /// STARTTLS certificate (and write it to `config.cert_out`), and start
    /// serving. Must be called inside a tokio runtime.
    pub async fn start(config: SmtpConfig) -> anyhow::Result<SmtpSandbox> {
        SmtpSandbox::start_with_log(config, MessageLog::new()).await
    }

    /// As [`SmtpSandbox::start`], recording messages in `log`: pass
    /// `Sandbox::message_log()` so the HTTP sandbox lists e-mails too.
    pub async fn start_with_log(
        config: SmtpConfig,
        log: MessageLog,
    ) -> anyhow::Result<SmtpSandbox> {
        config.validate()?;
        let certificate = tls::generate()?;
        if let Some(path) = &config.cert_out {
            tokio::fs::write(path, &certificate.pem)
                .await
                .with_context(|| {
                    format!(
                        "cannot write the certificate to {}; check --smtp-cert-out",
                        path.display()
                    )
                })?;
        }
        let port = config.port;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| {
                format!("cannot listen on 127.0.0.1:{port}; try another --smtp-port")
            })?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let builder = Arc::new(session_builder(&config));
        let shared = Arc::new(SmtpShared::new(config, log));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            builder,
            Arc::clone(&shared),
            certificate.acceptor,
            stop_rx,
        ));
        Ok(SmtpSandbox {
            addr,
            shared,
            certificate_pem: certificate.pem,
            stop,
            task,
        })
    }

    /// The bound address, always on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SmtpConfig {
        &self.shared.config
    }

    /// The STARTTLS certificate (PEM), valid for `localhost` and
    /// `127.0.0.1`, for a client to trust as its root.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Every message received over SMTP so far, oldest first (a shared log
    /// also holds the HTTP API's messages; they are left out here).
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.shared
            .log()
            .messages()
            .into_iter()
            .filter(|message| message.smtp.is_some())
            .collect()
    }

    /// The counters so far.
    pub fn stats(&self) -> SmtpStats {
        self.shared.stats()
    }

    /// Stop accepting and free the port, close every connection (those
    /// waiting for a command get `421 4.3.2`), wait up to 2 s for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl std::fmt::Debug for SmtpSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config's Debug redacts passwords.
        f.debug_struct("SmtpSandbox")
            .field("addr", &self.addr)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

fn session_builder(config: &SmtpConfig) -> SessionBuilder {
    let mut builder = SessionBuilder::new(SERVER_NAME);
    builder.enable_start_tls();
    if config.requires_auth() {
        builder
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login)
            // A local test server: clients configured with `tls = "none"`
            // must be able to log in too.
            .insecure_enable_plaintext_auth();
    }
    builder
}

async fn accept_loop(
    listener: TcpListener,
    builder: Arc<SessionBuilder>,
    shared: Arc<SmtpShared>,
    acceptor: TlsAcceptor,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let (close, close_rx) = watch::channel(());
    loop {
        tokio::select! {
            // A send or a dropped `SmtpSandbox`: either way, stop.
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection::serve(
                        stream,
                        Arc::clone(&builder),
                        Arc::clone(&shared),
                        acceptor.clone(),
                        close_rx.clone(),
                    ));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("smtp sandbox: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    drop(close);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, drain).await.is_err() {
        connections.shutdown().await;
    }
}
